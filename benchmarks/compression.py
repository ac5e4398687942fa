"""Compression search on MNIST-5k (and the chatterbot text model) against honest baselines.

Protocol (image):
1. Baseline: ``SmallCNN(28x28, width 16, hidden 128)`` trained with Adam until validation
   accuracy has not improved for ``--patience`` epochs (best epoch restored): *converged*.
2. Budget: ``bytes <= baseline bytes / --bytes-factor`` and ``MACs <= baseline MACs /
   --macs-factor`` (``trial.set_constraint``; feasible when both hold).
3. Uniform reference: one ratio for conv1, conv2 and fc1 from ``--uniform-ratios``, fine-tuned
   for the search's largest epoch count at lr 3e-3, dynamic int8; the best feasible one (by
   validation accuracy) is "the best single uniform ratio".
4. Search: ``--trials`` trials of ``WhaleSampler`` (single objective: validation accuracy with
   the budget as constraints) over per-layer pruning ratios, rank ratios (conv2 Tucker-2,
   fc1 SVD), quantization, fine-tune lr and epochs.
5. Selection on validation, report on test: the best feasible trial is rebuilt and its test
   accuracy compared with the baseline's test accuracy.
Text: chatterbot utterance -> topic, EmbeddingBag classifier; baseline converged at embed/hidden
64; search from scratch over the width (embed = hidden), activation, fc1 pruning/rank and
quantization, embedding and fc1 rank (SVD); target >= ``--text-factor``x fewer bytes at <= 1 pt loss.

    python benchmarks/compression.py --quick
    nice -n 10 python benchmarks/compression.py --no-text --with-random  # committed image part
    nice -n 10 python benchmarks/compression.py --text-only  # committed text part (reuses the image part)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
import torch  # noqa: E402

from optuna_whale.compression import (  # noqa: E402
    Budget,
    CompressionParams,
    CompressionSpace,
    build_objective,
    measure,
    rebuild_model,
)
from optuna_whale.compression.data import load_chatterbot_topics, load_mnist5k  # noqa: E402
from optuna_whale.compression.models import SmallCNN, TextClassifier  # noqa: E402
from optuna_whale.compression.training import (  # noqa: E402
    TrainConfig,
    evaluate,
    train_until_converged,
)


def _feasible(t: optuna.trial.FrozenTrial) -> bool:
    return t.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())


def best_feasible(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """Highest validation accuracy among complete trials meeting every constraint."""
    ok = [t for t in study.trials if _feasible(t)]
    return max(ok, key=lambda t: (t.value, -t.user_attrs["bytes"])) if ok else None


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Non-dominated (bytes min, accuracy max) points, sorted by bytes."""
    front: list[tuple[float, float]] = []
    for b, a in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or a > front[-1][1]:
            front.append((b, a))
    return front


def image_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    splits = load_mnist5k(seed=args.seed)
    x0 = splits.example_inputs
    cfg = TrainConfig(lr=1e-3, batch_size=64, seed=args.seed, num_threads=args.threads)
    torch.manual_seed(args.seed)
    base = SmallCNN(image_size=28, width=16, hidden=128)
    t0 = time.time()
    hist = train_until_converged(base, splits.train, splits.val, cfg, patience=args.patience,
                                 max_epochs=args.max_epochs, progress=True)
    base.eval()
    base_m = measure(base, splits.val, x0, with_latency=True)
    base_test = evaluate(base, splits.test)
    baseline = {**base_m.as_dict(), "test_accuracy": base_test, "best_epoch": hist.best_epoch,
                "epochs_trained": len(hist.val_accuracy), "train_seconds": time.time() - t0}
    print(f"baseline: val {base_m.accuracy:.4f} test {base_test:.4f} after {len(hist.val_accuracy)} "
          f"epochs (best {hist.best_epoch}), {base_m.bytes} bytes, {base_m.macs} MACs")
    budget = Budget(max_bytes=base_m.bytes / args.bytes_factor,
                    max_macs=base_m.macs / args.macs_factor, measure_latency=False)
    ft_hi = args.max_finetune
    space = CompressionSpace(
        prune_ratio=(0.0, 0.95), rank_layers=("conv2", "fc1"), rank_ratio=(0.05, 1.0),
        quantization=("none", "dynamic_int8", "fp16"), lr=(3e-4, 1e-2), finetune_epochs=(1, ft_hi),
    )
    objective = build_objective(splits.train, splits.val, x0, space, budget, model=base,
                                train_config=cfg)

    def test_of(params: CompressionParams) -> dict[str, Any]:
        final, float_model = rebuild_model(params, splits.train, splits.val, x0, model=base,
                                           train_config=cfg)
        m = measure(final, splits.test, x0, float_model, with_latency=True)
        return {**m.as_dict(), "test_accuracy": m.accuracy}

    # uniform reference, scored with the same objective (same budget, same measurements)
    # no pruner: a median rule on accuracy would stop the small (budget-meeting) models first
    uni_study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    for r in args.uniform_ratios:
        uni_study.enqueue_trial({"prune_ratio:conv1": r, "prune_ratio:conv2": r, "prune_ratio:fc1": r,
                                 "rank_ratio:conv2": 1.0, "rank_ratio:fc1": 1.0,
                                 "quantization": "dynamic_int8", "lr": 3e-3, "finetune_epochs": ft_hi})
    t1 = time.time()
    uni_study.optimize(objective, n_trials=len(args.uniform_ratios), show_progress_bar=True)
    uniform_seconds = time.time() - t1
    uni_best = best_feasible(uni_study)

    results: dict[str, Any] = {"baseline": baseline, "budget": {"max_bytes": budget.max_bytes,
                               "max_macs": budget.max_macs}, "uniform": [], "searches": {}}
    for t in uni_study.trials:
        results["uniform"].append({"ratio": t.params["prune_ratio:conv1"], "feasible": _feasible(t),
                                   **t.user_attrs})
    results["uniform_best"] = (
        {"ratio": uni_best.params["prune_ratio:conv1"], **test_of(CompressionParams.from_dict(uni_best.params))}
        if uni_best else None
    )
    results["uniform_seconds"] = uniform_seconds

    samplers: dict[str, optuna.samplers.BaseSampler] = {}
    from optuna_whale import WhaleSampler

    samplers["whale"] = WhaleSampler(seed=args.seed)
    if args.with_random:
        samplers["random"] = optuna.samplers.RandomSampler(seed=args.seed)
    for name, sampler in samplers.items():
        study = optuna.create_study(direction="maximize", sampler=sampler,
                                    pruner=optuna.pruners.NopPruner())
        t2 = time.time()
        study.optimize(objective, n_trials=args.trials, show_progress_bar=True)
        secs = time.time() - t2
        best = best_feasible(study)
        trials = [{"number": t.number, "feasible": _feasible(t), **t.user_attrs, "search_params": t.params}
                  for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        results["searches"][name] = {
            "seconds": secs,
            "n_feasible": sum(1 for t in trials if t["feasible"]),
            "best": ({"number": best.number, **best.user_attrs, "search_params": best.params,
                      **{"test_" + k: v for k, v in test_of(CompressionParams.from_dict(best.params)).items()
                         if k in ("accuracy",)}} if best else None),
            "trials": trials,
        }
        print(f"{name}: {secs:.0f} s, best feasible {best.value if best else None}")
    return results


def text_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    splits = load_chatterbot_topics(seed=args.seed)
    vocab, classes = len(splits.meta["vocab"]), splits.meta["num_classes"]
    x0 = splits.example_inputs
    cfg = TrainConfig(lr=3e-3, batch_size=32, seed=args.seed, num_threads=args.threads)

    def factory(width: int = 64, activation: str = "relu") -> TextClassifier:
        torch.manual_seed(args.seed)
        return TextClassifier(vocab, classes, embed_dim=width, hidden=width, kind="bag",
                              activation=activation)

    base = factory()
    hist = train_until_converged(base, splits.train, splits.val, cfg, patience=args.patience,
                                 max_epochs=args.max_epochs, progress=True)
    base.eval()
    base_m = measure(base, splits.val, x0, with_latency=False)
    baseline = {**base_m.as_dict(), "test_accuracy": evaluate(base, splits.test),
                "best_epoch": hist.best_epoch, "epochs_trained": len(hist.val_accuracy)}
    budget = Budget(max_bytes=base_m.bytes / args.text_factor, measure_latency=False)
    space = CompressionSpace(
        prune_layers=("fc1",), prune_ratio=(0.0, 0.9), rank_layers=("embedding", "fc1"),
        quantization=("none", "dynamic_int8", "fp16"), lr=(1e-3, 2e-2), finetune_epochs=(0, 2),
        widths=(8, 16, 32, 64), activations=("relu", "gelu", "tanh"),
        train_epochs=max(3, hist.best_epoch),
    )
    objective = build_objective(splits.train, splits.val, x0, space, budget, model_factory=factory,
                                train_config=cfg)
    from optuna_whale import WhaleSampler

    study = optuna.create_study(direction="maximize", sampler=WhaleSampler(seed=args.seed),
                                pruner=optuna.pruners.NopPruner())
    t0 = time.time()
    study.optimize(objective, n_trials=args.text_trials, show_progress_bar=True)
    best = best_feasible(study)
    out: dict[str, Any] = {"baseline": baseline, "max_bytes": budget.max_bytes,
                           "seconds": time.time() - t0, "best": None,
                           "n_feasible": sum(1 for t in study.trials if _feasible(t))}
    if best is not None:
        final, _ = rebuild_model(best, splits.train, splits.val, x0, model_factory=factory,
                                 train_epochs=space.train_epochs, train_config=cfg)
        out["best"] = {**best.user_attrs, "search_params": best.params,
                       "test_accuracy": evaluate(final, splits.test)}
    return out


def plot(results: dict[str, Any], path: str) -> None:
    base = results["baseline"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"whale": "tab:blue", "random": "tab:gray"}
    for name, s in results["searches"].items():
        pts = [(t["bytes"], t["accuracy"]) for t in s["trials"] if "bytes" in t]
        feas = [(t["bytes"], t["accuracy"]) for t in s["trials"] if t["feasible"]]
        ax.scatter(*zip(*pts, strict=False), s=12, alpha=0.35, color=colors.get(name), label=f"{name} trials")
        if feas:
            ax.scatter(*zip(*feas, strict=False), s=22, color=colors.get(name), edgecolors="k",
                       label=f"{name} feasible")
        front = pareto(pts)
        ax.step(*zip(*front, strict=False), where="post", color=colors.get(name), label=f"{name} Pareto front")
    uni = [u for u in results["uniform"] if "bytes" in u]
    ax.scatter([u["bytes"] for u in uni], [u["accuracy"] for u in uni], marker="s", color="tab:orange",
               label="uniform ratio + int8")
    ax.scatter([base["bytes"]], [base["accuracy"]], marker="*", s=150, color="k", label="fp32 baseline")
    ax.axvline(results["budget"]["max_bytes"], color="tab:red", ls="--", lw=1, label="bytes budget")
    ax.axhline(base["accuracy"] - 0.01, color="tab:green", ls=":", lw=1, label="baseline - 1 pt")
    ax.set_xscale("log")
    ax.set_xlabel("serialized state_dict bytes (log)")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(max(0.0, base["accuracy"] - 0.15), min(1.0, base["accuracy"] + 0.02))
    ax.set_title("MNIST-5k CNN compression: accuracy vs bytes")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(results: dict[str, Any], text: dict[str, Any] | None, args: argparse.Namespace) -> str:
    b = results["baseline"]
    lines = ["# Compression benchmark (MNIST-5k CNN, chatterbot text model)", "",
             f"Command: `{args.command}`", "",
             f"Machine: 2 shared CPU cores, {args.threads} torch thread(s), torch {torch.__version__}.",
             "Selection on the validation split; accuracies below marked *test* are on the held-out "
             "test split (750 images). Ratios are relative to the converged fp32 baseline.", "",
             "## Baseline (converged)", "",
             f"SmallCNN(28x28, width 16, hidden 128), Adam lr 1e-3, batch 64, stopped after "
             f"{b['epochs_trained']} epochs (best epoch {b['best_epoch']}, patience {args.patience}): "
             f"val {b['accuracy']:.4f}, test {b['test_accuracy']:.4f}, {b['bytes']} bytes, "
             f"{b['macs']} MACs, {b['params']} params, latency {b['latency_ms']:.3f} ms / 64 images.",
             "", f"Budget: bytes <= {results['budget']['max_bytes']:.0f} ({args.bytes_factor}x fewer), "
             f"MACs <= {results['budget']['max_macs']:.0f} ({args.macs_factor}x fewer).", "",
             "## Results", "",
             "| method | trials | feasible | val acc | test acc | test loss (pt) | bytes | x fewer bytes | MACs | x fewer MACs | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def row(name: str, n: int, nf: int, r: dict[str, Any] | None, secs: float) -> str:
        if r is None:
            return f"| {name} | {n} | {nf} | - | - | - | - | - | - | - | {secs:.0f} |"
        return (f"| {name} | {n} | {nf} | {r['accuracy']:.4f} | {r['test_accuracy']:.4f} | "
                f"{100 * (b['test_accuracy'] - r['test_accuracy']):.2f} | {r['bytes']} | "
                f"{b['bytes'] / r['bytes']:.1f} | {r['macs']} | {b['macs'] / r['macs']:.1f} | {secs:.0f} |")

    ub = results["uniform_best"]
    nuf = sum(1 for u in results["uniform"] if u["feasible"])
    ub_row = None
    if ub is not None:
        uval = next(u for u in results["uniform"] if u["ratio"] == ub["ratio"])
        ub_row = {**ub, "accuracy": uval["accuracy"]}
    lines.append(row(f"best uniform ratio ({ub['ratio'] if ub else '-'})", len(results["uniform"]), nuf,
                     ub_row, results["uniform_seconds"]))
    for name, s in results["searches"].items():
        best = s["best"]
        r = None if best is None else {**best, "test_accuracy": best["test_accuracy"]}
        lines.append(row(f"{name} search", len(s["trials"]), s["n_feasible"], r, s["seconds"]))
    lines += ["", "Uniform ratios tried (dynamic int8, "
              f"{args.max_finetune} fine-tune epochs at lr 3e-3):", "",
              "| ratio | val acc | bytes | MACs | feasible |", "|---|---|---|---|---|"]
    for u in results["uniform"]:
        if "bytes" in u:
            lines.append(f"| {u['ratio']} | {u['accuracy']:.4f} | {u['bytes']} | {u['macs']} | {u['feasible']} |")
    for name, s in results["searches"].items():
        if s["best"] is not None:
            lines += ["", f"Best feasible {name} trial #{s['best']['number']}: `{json.dumps(s['best']['search_params'])}`"]
    wb = results["searches"].get("whale", {}).get("best")
    if wb is not None:
        loss = 100 * (b["test_accuracy"] - wb["test_accuracy"])
        ok = (b["bytes"] / wb["bytes"] >= args.bytes_factor and b["macs"] / wb["macs"] >= args.macs_factor
              and loss <= 1.0)
        lines += ["", f"Target (>= {args.bytes_factor}x bytes, >= {args.macs_factor}x MACs, <= 1.0 pt test loss): "
                  f"{'met' if ok else 'NOT met'} by the WhaleSampler search."]
    if text is not None:
        tb = text["baseline"]
        lines += ["", "## Text model (chatterbot utterance -> topic)", "",
                  f"Baseline EmbeddingBag(64) + fc(64): {tb['epochs_trained']} epochs (best {tb['best_epoch']}), "
                  f"val {tb['accuracy']:.4f}, test {tb['test_accuracy']:.4f}, {tb['bytes']} bytes. "
                  f"Budget bytes <= {text['max_bytes']:.0f} ({args.text_factor}x fewer); "
                  f"{args.text_trials} WhaleSampler trials from scratch, {text['seconds']:.0f} s, "
                  f"{text['n_feasible']} feasible."]
        tbest = text["best"]
        if tbest is None:
            lines.append("No feasible trial.")
        else:
            loss = 100 * (tb["test_accuracy"] - tbest["test_accuracy"])
            lines += [f"Best feasible: val {tbest['accuracy']:.4f}, test {tbest['test_accuracy']:.4f} "
                      f"({loss:.2f} pt test loss), {tbest['bytes']} bytes "
                      f"({tb['bytes'] / tbest['bytes']:.1f}x fewer); params `{json.dumps(tbest['search_params'])}`."]
    lines += ["", "![Pareto front](pareto.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--text-trials", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--max-epochs", type=int, default=80)
    p.add_argument("--max-finetune", type=int, default=4)
    p.add_argument("--bytes-factor", type=float, default=50.0)
    p.add_argument("--macs-factor", type=float, default=10.0)
    p.add_argument("--text-factor", type=float, default=8.0)
    p.add_argument("--uniform-ratios", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    p.add_argument("--with-random", action="store_true", help="also run RandomSampler as a reference")
    p.add_argument("--no-text", action="store_true")
    p.add_argument("--text-only", action="store_true",
                   help="rerun only the text part; the image part is read from OUT/results.json")
    p.add_argument("--quick", action="store_true", help="tiny run to check the script works")
    p.add_argument("--out", default=None,
                   help="results directory (default benchmarks/results/compression; "
                        "with --quick a temporary directory)")
    args = p.parse_args(argv)
    if args.out is None:
        import tempfile

        args.out = (os.path.join(tempfile.gettempdir(), "optuna_whale_compression_quick")
                    if args.quick else "benchmarks/results/compression")
    if args.quick:
        args.trials, args.text_trials, args.max_epochs, args.patience = 4, 3, 3, 1
        args.max_finetune, args.uniform_ratios = 1, [0.5, 0.9]
    import sys

    args.command = "python " + " ".join(sys.argv)
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.makedirs(args.out, exist_ok=True)
    if args.text_only:
        with open(os.path.join(args.out, "results.json")) as fh:
            old = json.load(fh)
        results = old["image"]
        args.command = old["args"]["command"] + " && " + args.command
    else:
        results = image_benchmark(args)
    text = None if args.no_text else text_benchmark(args)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"image": results, "text": text, "args": {k: v for k, v in vars(args).items()}},
                  fh, indent=1, default=str)
    plot(results, os.path.join(args.out, "pareto.png"))
    md = report(results, text, args)
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(md)
    print(md)


if __name__ == "__main__":
    main()
