"""The compression benchmark: searches under a size/MAC budget against the best uniform ratio.

Protocol: ``benchmarks/compression.py --help``. :func:`run_image` and :func:`text_benchmark`
run the MNIST-5k and chatterbot parts into the ``results.json`` structure (``image``: the
baseline and, per budget ``"BYTESxMACS"``, the uniform reference and each sampler's search;
``text``: per split and pooled; ``commands``, ``settings`` and ``torch``, the version that ran
them), :func:`plot` draws ``pareto.png`` and :func:`report` writes the Markdown from that data
alone, so ``--report-only`` rebuilds it from a committed ``results.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import optuna
import torch

from optuna_whale.bench.samplers import make_sampler
from optuna_whale.compression import (
    Budget,
    CompressionSpace,
    applied_params,
    build_objective,
    measure,
    rebuild_model,
)
from optuna_whale.compression.data import DataSplits, load_chatterbot_topics, load_mnist5k
from optuna_whale.compression.models import SmallCNN, TextClassifier
from optuna_whale.compression.training import TrainConfig, evaluate, train_until_converged

#: the headline budget: >= 50x fewer bytes, >= 10x fewer MACs, at <= 1 pt test loss
TARGET_BUDGET = "50x10"
SAMPLERS = ("whale", "random", "tpe")


@dataclass(frozen=True)
class SearchSettings:
    """The benchmark's options (``benchmarks/compression.py --help`` describes each)."""

    samplers: tuple[str, ...] = ("whale", "random")
    trials: int = 150
    search_minutes: float = 15.0
    finetune_epochs: int = 12
    distill_alpha: float = 0.7
    distill_temperature: float = 4.0
    quantization: tuple[str, ...] = ("dynamic_int8", "fp16")
    uniform_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    recheck_top: int = 5
    recheck_seeds: int = 2
    text_trials: int = 60
    text_seeds: int = 5
    text_factor: float = 8.0
    text_patience: int = 10
    seed: int = 0
    threads: int = 1
    patience: int = 8
    max_epochs: int = 80

    def __post_init__(self) -> None:
        bad = [s for s in self.samplers if s not in SAMPLERS]
        if bad:
            raise ValueError(f"samplers must be from {SAMPLERS}, got {bad}.")

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SearchSettings:
        """The settings named in ``options`` (e.g. ``vars(args)``; other keys are ignored)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            v = options.get(f.name)
            if v is not None:
                values[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**values)


def _feasible(t: optuna.trial.FrozenTrial) -> bool:
    return t.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())


def pick(
    study: optuna.Study,
    splits: DataSplits,
    rebuild_kwargs: dict[str, Any],
    cfg: TrainConfig,
    top: int,
    extra_seeds: int,
) -> dict[str, Any] | None:
    """Recheck the ``top`` feasible trials with ``extra_seeds`` more fine-tune seeds; best mean val wins.

    Returns the pick's trial figures plus ``val_seeds`` / ``test_seeds`` (seed 0 = the trial's
    own model, rebuilt) and the rechecked candidates' mean validation accuracies.
    """
    ok = sorted((t for t in study.trials if _feasible(t)),
                key=lambda t: (-float(t.value), t.user_attrs["bytes"]))[:top]  # type: ignore[arg-type]
    if not ok:
        return None
    checked = []
    for t in ok:
        params = applied_params(t)
        vals, tests = [], []
        for s in range(extra_seeds + 1):
            final, _ = rebuild_model(params, splits.train, splits.val, splits.example_inputs,
                                     train_config=replace(cfg, seed=cfg.seed + s), **rebuild_kwargs)
            vals.append(evaluate(final, splits.val))
            tests.append(evaluate(final, splits.test))
        checked.append((statistics.mean(vals), t, vals, tests))
    mean_val, best, vals, tests = max(checked, key=lambda c: (c[0], -c[1].user_attrs["bytes"]))
    return {
        "number": best.number, **best.user_attrs, "search_params": best.params,
        "val_seeds": vals, "test_seeds": tests, "val_mean": mean_val,
        "test_mean": statistics.mean(tests), "test_sd": statistics.stdev(tests) if len(tests) > 1 else 0.0,
        "rechecked": [{"number": c[1].number, "trial_val": c[1].value, "val_mean": c[0]} for c in checked],
    }


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """Complete trials as JSON-able dicts."""
    return [{"number": t.number, "feasible": _feasible(t), **t.user_attrs, "search_params": t.params}
            for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def image_baseline(settings: SearchSettings) -> tuple[DataSplits, SmallCNN, dict[str, Any], TrainConfig]:
    """Converged fp32 baseline and its figures."""
    splits = load_mnist5k(seed=settings.seed)
    x0 = splits.example_inputs
    cfg = TrainConfig(lr=1e-3, batch_size=64, seed=settings.seed, num_threads=settings.threads)
    torch.manual_seed(settings.seed)
    base = SmallCNN(image_size=28, width=16, hidden=128)
    t0 = time.time()
    hist = train_until_converged(base, splits.train, splits.val, cfg, patience=settings.patience,
                                 max_epochs=settings.max_epochs, progress=True)
    base.eval()
    m = measure(base, splits.val, x0, with_latency=True)
    baseline = {**m.as_dict(), "test_accuracy": evaluate(base, splits.test), "best_epoch": hist.best_epoch,
                "epochs_trained": len(hist.val_accuracy), "train_seconds": time.time() - t0}
    print(f"baseline: val {m.accuracy:.4f} test {baseline['test_accuracy']:.4f} after "
          f"{len(hist.val_accuracy)} epochs (best {hist.best_epoch}), {m.bytes} bytes, {m.macs} MACs")
    return splits, base, baseline, cfg


def image_budget(settings: SearchSettings, splits: DataSplits, base: SmallCNN, baseline: dict[str, Any],
                 cfg: TrainConfig, bytes_factor: float, macs_factor: float) -> dict[str, Any]:
    """Uniform reference and searches at one budget."""
    x0 = splits.example_inputs
    budget = Budget(max_bytes=baseline["bytes"] / bytes_factor, max_macs=baseline["macs"] / macs_factor,
                    measure_latency=False)
    ft = settings.finetune_epochs
    tcfg = replace(cfg, distill_alpha=settings.distill_alpha, distill_temperature=settings.distill_temperature)
    space = CompressionSpace(
        prune_ratio=(0.0, 0.9), rank_layers=("conv2", "fc1"), rank_ratio=(0.05, 1.0),
        quantization=tuple(settings.quantization), lr=(3e-4, 1e-2), finetune_epochs=(ft, ft),
    )
    objective = build_objective(splits.train, splits.val, x0, space, budget, model=base,
                                train_config=tcfg, budget_repair="scale")
    rebuild_kwargs: dict[str, Any] = {"model": base}
    out: dict[str, Any] = {"bytes_factor": bytes_factor, "macs_factor": macs_factor,
                           "max_bytes": budget.max_bytes, "max_macs": budget.max_macs, "searches": {}}

    # uniform reference through the same objective; no pruner (an accuracy median rule would
    # stop the small, budget-meeting models first)
    uni = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    for q in settings.quantization:
        for lr in settings.uniform_lrs:
            uni.enqueue_trial({"prune_ratio:conv1": 0.0, "prune_ratio:conv2": 0.0, "prune_ratio:fc1": 0.0,
                               "rank_ratio:conv2": 1.0, "rank_ratio:fc1": 1.0, "quantization": q,
                               "lr": lr, "finetune_epochs": ft})
    t0 = time.time()
    uni.optimize(objective, n_trials=len(settings.quantization) * len(settings.uniform_lrs))
    best = pick(uni, splits, rebuild_kwargs, tcfg, settings.recheck_top, settings.recheck_seeds)
    out["uniform"] = {"seconds": time.time() - t0, "trials": trial_rows(uni), "best": best,
                      "n_trials": len(uni.trials), "n_feasible": sum(_feasible(t) for t in uni.trials)}
    print(f"uniform {bytes_factor}x{macs_factor}: {out['uniform']['seconds']:.0f} s, "
          f"pick val {best['val_mean'] if best else None}")

    for name in settings.samplers:
        study = optuna.create_study(direction="maximize", sampler=make_sampler(name, settings.seed),
                                    pruner=optuna.pruners.NopPruner())
        t1 = time.time()
        study.optimize(objective, n_trials=settings.trials, timeout=60 * settings.search_minutes,
                       show_progress_bar=True)
        search_secs = time.time() - t1
        best = pick(study, splits, rebuild_kwargs, tcfg, settings.recheck_top, settings.recheck_seeds)
        rows = trial_rows(study)
        out["searches"][name] = {
            "search_seconds": search_secs, "seconds": time.time() - t1, "n_trials": len(rows),
            "n_feasible": sum(1 for r in rows if r["feasible"]),
            "repair_status": {s: sum(1 for r in rows if r.get("repair_status") == s)
                              for s in ("within_budget", "repaired", "unreachable")},
            "best": best, "trials": rows,
        }
        print(f"{name} {bytes_factor}x{macs_factor}: {search_secs:.0f} s search, {len(rows)} trials, "
              f"pick val {best['val_mean'] if best else None}")
    return out


def text_split(settings: SearchSettings, seed: int) -> dict[str, Any]:
    """Baseline and WhaleSampler compression search on one chatterbot split."""
    splits = load_chatterbot_topics(seed=seed)
    vocab, classes = len(splits.meta["vocab"]), splits.meta["num_classes"]
    x0 = splits.example_inputs
    cfg = TrainConfig(lr=3e-3, batch_size=32, seed=seed, num_threads=settings.threads)
    torch.manual_seed(seed)
    base = TextClassifier(vocab, classes, embed_dim=64, hidden=64, kind="bag")
    hist = train_until_converged(base, splits.train, splits.val, cfg, patience=settings.text_patience,
                                 max_epochs=settings.max_epochs)
    base.eval()
    m = measure(base, splits.val, x0, with_latency=False)
    baseline = {**m.as_dict(), "test_accuracy": evaluate(base, splits.test), "vocab": vocab,
                "best_epoch": hist.best_epoch, "epochs_trained": len(hist.val_accuracy)}
    budget = Budget(max_bytes=m.bytes / settings.text_factor, measure_latency=False)
    space = CompressionSpace(
        prune_layers=("fc1",), prune_ratio=(0.0, 0.9), rank_layers=("embedding", "fc1"),
        rank_ratio=(0.05, 1.0), quantization=tuple(settings.quantization), lr=(1e-3, 3e-2),
        finetune_epochs=(2, 12),
    )
    tcfg = replace(cfg, distill_alpha=settings.distill_alpha, distill_temperature=settings.distill_temperature)
    objective = build_objective(splits.train, splits.val, x0, space, budget, model=base,
                                train_config=tcfg, budget_repair="scale_all")
    study = optuna.create_study(direction="maximize", sampler=make_sampler("whale", seed),
                                pruner=optuna.pruners.NopPruner())
    t0 = time.time()
    study.optimize(objective, n_trials=settings.text_trials)
    search_secs = time.time() - t0
    best = pick(study, splits, {"model": base}, tcfg, settings.recheck_top, settings.recheck_seeds)
    rows = trial_rows(study)
    # tuned reference: the uncompressed baseline given the same extra training (lr, 2-12 epochs,
    # self-distillation), the same sampler, half the trials and the same pick rule
    ref_space = CompressionSpace(prune_layers=(), quantization=("none",), lr=space.lr,
                                 finetune_epochs=space.finetune_epochs)
    ref_objective = build_objective(splits.train, splits.val, x0, ref_space, model=base, train_config=tcfg)
    ref_study = optuna.create_study(direction="maximize", sampler=make_sampler("whale", seed),
                                    pruner=optuna.pruners.NopPruner())
    ref_study.optimize(ref_objective, n_trials=max(2, settings.text_trials // 2))
    tuned = pick(ref_study, splits, {"model": base}, tcfg, settings.recheck_top, settings.recheck_seeds)
    print(f"text split {seed}: baseline val {m.accuracy:.4f} test {baseline['test_accuracy']:.4f}; "
          f"tuned uncompressed test {tuned['test_mean'] if tuned else None}; "
          f"pick val {best['val_mean'] if best else None} test {best['test_mean'] if best else None}")
    return {"seed": seed, "baseline": baseline, "tuned": tuned, "max_bytes": budget.max_bytes, "best": best,
            "search_seconds": search_secs, "seconds": time.time() - t0, "n_trials": len(rows),
            "n_feasible": sum(1 for r in rows if r["feasible"]), "n_test": len(splits.test[1]),
            "n_val": len(splits.val[1])}


def text_benchmark(settings: SearchSettings) -> dict[str, Any]:
    """Every text split, plus pooled figures."""
    per = [text_split(settings, s) for s in range(settings.seed, settings.seed + settings.text_seeds)]
    done = [p for p in per if p["best"] is not None]
    n_test = sum(p["n_test"] for p in done)
    pooled_base = sum(p["baseline"]["test_accuracy"] * p["n_test"] for p in done) / max(1, n_test)
    pooled_trial = sum(p["best"]["test_seeds"][0] * p["n_test"] for p in done) / max(1, n_test)
    pooled_mean = sum(p["best"]["test_mean"] * p["n_test"] for p in done) / max(1, n_test)
    losses = [100 * (p["baseline"]["test_accuracy"] - p["best"]["test_mean"]) for p in done]
    tuned = [p for p in done if p.get("tuned")]
    pooled_tuned = sum(p["tuned"]["test_mean"] * p["n_test"] for p in tuned) / max(1, n_test)
    tlosses = [100 * (p["tuned"]["test_mean"] - p["best"]["test_mean"]) for p in tuned]
    return {"splits": per, "pooled": {
        "n_test": n_test, "baseline_test": pooled_base, "pick_test_trial_model": pooled_trial,
        "pick_test_mean": pooled_mean, "tuned_test_mean": pooled_tuned if tuned else None,
        "loss_pt_mean": statistics.mean(losses) if losses else None,
        "loss_pt_se": statistics.stdev(losses) / len(losses) ** 0.5 if len(losses) > 1 else None,
        "loss_vs_tuned_pt_mean": statistics.mean(tlosses) if tlosses else None,
        "loss_vs_tuned_pt_se": statistics.stdev(tlosses) / len(tlosses) ** 0.5 if len(tlosses) > 1 else None,
        "x_fewer_bytes_min": min((p["baseline"]["bytes"] / p["best"]["bytes"] for p in done), default=None),
    }}


COLORS = {"whale": "tab:blue", "random": "tab:gray", "tpe": "tab:green"}


def plot(image: dict[str, Any], path: str) -> None:
    """One panel per budget: every trial's (bytes, val accuracy), uniform points, picks."""
    budgets = image["budgets"]
    if not budgets:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = image["baseline"]
    fig, axes = plt.subplots(1, len(budgets), figsize=(6.5 * len(budgets), 4.6), squeeze=False)
    for ax, (key, b) in zip(axes[0], sorted(budgets.items(), key=lambda kv: kv[1]["bytes_factor"]), strict=False):
        for name, s in b["searches"].items():
            pts = [(t["bytes"], t["accuracy"]) for t in s["trials"]]
            ax.scatter(*zip(*pts, strict=False), s=10, alpha=0.4, color=COLORS.get(name),
                       label=f"{name} trials ({len(pts)})")
            if s["best"]:
                ax.scatter([s["best"]["bytes"]], [s["best"]["val_mean"]], s=90, marker="D",
                           color=COLORS.get(name), edgecolors="k", label=f"{name} pick (mean of seeds)")
        uni = b["uniform"]["trials"]
        ax.scatter([u["bytes"] for u in uni], [u["accuracy"] for u in uni], marker="s", s=30,
                   color="tab:orange", label="uniform ratio trials")
        if b["uniform"]["best"]:
            ub = b["uniform"]["best"]
            ax.scatter([ub["bytes"]], [ub["val_mean"]], s=90, marker="D", color="tab:orange",
                       edgecolors="k", label="uniform pick (mean of seeds)")
        ax.axvline(b["max_bytes"], color="tab:red", ls="--", lw=1, label="bytes budget")
        ax.axhline(base["accuracy"], color="k", ls="-", lw=0.8, label="fp32 baseline val")
        ax.axhline(base["accuracy"] - 0.01, color="tab:green", ls=":", lw=1, label="baseline - 1 pt")
        ax.set_xscale("log")
        ax.set_xlabel("serialized state_dict bytes (log)")
        ax.set_ylabel("validation accuracy")
        ax.set_ylim(max(0.0, base["accuracy"] - 0.12), min(1.0, base["accuracy"] + 0.01))
        ax.set_title(f"MNIST-5k CNN, budget {key} (bytes x MACs fewer)")
        ax.legend(fontsize=6.5, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(results: dict[str, Any]) -> list[str]:
    """Headline lines: the target budget's picks and the pooled text figures."""
    out = ["## Summary", ""]
    image, text = results.get("image"), results.get("text")
    bud = (image or {}).get("budgets", {}).get(TARGET_BUDGET)
    if image and bud:
        b = image["baseline"]
        for name, r, secs in [("WhaleSampler search", (bud["searches"].get("whale") or {}).get("best"),
                               (bud["searches"].get("whale") or {}).get("seconds")),
                              ("random search", (bud["searches"].get("random") or {}).get("best"),
                               (bud["searches"].get("random") or {}).get("seconds")),
                              ("best uniform ratio", bud["uniform"]["best"], bud["uniform"]["seconds"])]:
            if r is not None:
                out.append(f"- MNIST-5k at {TARGET_BUDGET}, {name}: {b['bytes'] / r['bytes']:.1f}x fewer bytes, "
                           f"{b['macs'] / r['macs']:.1f}x fewer MACs, test {r['test_mean']:.4f} "
                           f"({100 * (b['test_accuracy'] - r['test_mean']):+.2f} pt loss, mean of "
                           f"{len(r['test_seeds'])} fine-tune seeds), validation {r['val_mean']:.4f}, "
                           f"{secs:.0f} s in all.")
        wb, ub = (bud["searches"].get("whale") or {}).get("best"), bud["uniform"]["best"]
        if wb is not None and ub is not None:
            d = wb["test_mean"] - ub["test_mean"]
            out.append(f"- WhaleSampler pick minus best uniform ratio: {100 * (wb['val_mean'] - ub['val_mean']):+.2f} pt "
                       f"validation, {100 * d:+.2f} pt test ({d * 750:+.1f} test images of 750). Both get the same budget repair, fine-tune epochs and distillation; "
                       "the uniform ratio also gets a quantization x lr grid. Validation and test agree in sign, "
                       "but the margin is a few images, about one to two fine-tune-seed sd: small.")
    if text and text["pooled"]["loss_pt_mean"] is not None:
        p = text["pooled"]
        vs = (f", {p['loss_vs_tuned_pt_mean']:+.2f} +- {p['loss_vs_tuned_pt_se']:.2f} pt against the "
              "uncompressed model given the same extra training" if p.get("loss_vs_tuned_pt_se") is not None else "")
        out.append(f"- Text model: every split's pick >= {p['x_fewer_bytes_min']:.1f}x fewer bytes; mean loss "
                   f"{p['loss_pt_mean']:+.2f} +- {p['loss_pt_se']:.2f} pt against the converged baseline{vs} "
                   f"(over {len(text['splits'])} splits, {p['n_test']} test utterances).")
    return out


def report(results: dict[str, Any]) -> str:
    """Markdown report from results.json contents."""
    image, text = results.get("image"), results.get("text")
    lines = ["# Compression benchmark (MNIST-5k CNN, chatterbot text model)", "",
             "Commands (in order, each part merged into `results.json`):", ""]
    lines += [f"    {c}" for c in results["commands"]]
    a = results["settings"]
    lines += ["", *summary(results), "", f"Machine: 2 shared CPU cores (other benchmarks running at the same time), "
              f"{a['threads']} torch thread, torch {results.get('torch', torch.__version__)}. Protocol: see the docstring of "
              "`benchmarks/compression.py`.", ""]
    if image:
        b = image["baseline"]
        lines += ["## MNIST-5k: baseline (converged)", "",
                  f"SmallCNN(28x28, width 16, hidden 128), Adam lr 1e-3, batch 64, stopped after "
                  f"{b['epochs_trained']} epochs (best epoch {b['best_epoch']}, patience {a['patience']}): "
                  f"val {b['accuracy']:.4f}, test {b['test_accuracy']:.4f} (750 images each), {b['bytes']} bytes, "
                  f"{b['macs']} MACs, {b['params']} params, latency {b['latency_ms']:.3f} ms / 64 images.", "",
                  f"Every trial: budget repair `scale`, {a['finetune_epochs']} fine-tune epochs distilled from the "
                  f"baseline (alpha {a['distill_alpha']}, T {a['distill_temperature']}), quantization in "
                  f"{a['quantization']}. Uniform reference: the smallest uniform ratio meeting the budget x "
                  f"{{{', '.join(a['quantization'])}}} x lr {{{', '.join(str(x) for x in a['uniform_lrs'])}}}. "
                  f"Pick = best mean validation accuracy among the top {a['recheck_top']} trials, each "
                  f"fine-tuned with {a['recheck_seeds'] + 1} seeds; *test (seeds)* = mean +- sd over those seeds, "
                  "*test (trial)* = the trial's own model. Loss = baseline test - test (seeds).", ""]
        for key, bud in sorted(image["budgets"].items(), key=lambda kv: kv[1]["bytes_factor"]):
            lines += [f"## MNIST-5k, budget {key}: bytes <= {bud['max_bytes']:.0f} ({bud['bytes_factor']:g}x fewer), "
                      f"MACs <= {bud['max_macs']:.0f} ({bud['macs_factor']:g}x fewer)", "",
                      "| method | trials | feasible | val (trial) | val (seeds) | test (trial) | test (seeds) | "
                      "loss (pt) | bytes | x fewer bytes | MACs | x fewer MACs | search s | total s |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

            def row(name: str, n: int, nf: int, r: dict[str, Any] | None, search_s: float, total_s: float,
                    base: dict[str, Any] = b) -> str:
                if r is None:
                    return f"| {name} | {n} | {nf} | - | - | - | - | - | - | - | - | - | {search_s:.0f} | {total_s:.0f} |"
                return (f"| {name} | {n} | {nf} | {r['accuracy']:.4f} | {r['val_mean']:.4f} | "
                        f"{r['test_seeds'][0]:.4f} | {r['test_mean']:.4f} +- {r['test_sd']:.4f} | "
                        f"{100 * (base['test_accuracy'] - r['test_mean']):.2f} | {r['bytes']} | "
                        f"{base['bytes'] / r['bytes']:.1f} | {r['macs']} | {base['macs'] / r['macs']:.1f} | "
                        f"{search_s:.0f} | {total_s:.0f} |")

            u = bud["uniform"]
            ratio = (f"{u['best']['applied_params']['prune_ratio:conv1']:.3f}, "
                     f"{u['best']['search_params']['quantization']}, lr {u['best']['search_params']['lr']:g}"
                     if u["best"] else "-")
            lines.append(row(f"best uniform ratio ({ratio})", u["n_trials"], u["n_feasible"], u["best"],
                             u["seconds"], u["seconds"]))
            for name, s in bud["searches"].items():
                lines.append(row(f"{name} search", s["n_trials"], s["n_feasible"], s["best"],
                                 s["search_seconds"], s["seconds"]))
            lines.append("")
            for name, s in bud["searches"].items():
                lines.append(f"{name}: repair status of the trials {s['repair_status']}.")
            lines.append("")
            for name, s in [("uniform", u), *bud["searches"].items()]:
                if s["best"]:
                    ap = {k: (round(v, 4) if isinstance(v, float) else v)
                          for k, v in s["best"]["applied_params"].items()}
                    lines += [f"{name} pick, trial #{s['best']['number']} (repair scale "
                              f"{s['best']['repair_scale']:.3f}): applied `{json.dumps(ap)}`", ""]
            wb, ub = bud["searches"].get("whale", {}).get("best"), u["best"]
            if wb is not None and key != TARGET_BUDGET:
                lines.append(f"(A tighter budget than the {TARGET_BUDGET} target, to see where the "
                             "search and the uniform ratio part.)")
            if wb is not None and key == TARGET_BUDGET:
                loss = 100 * (b["test_accuracy"] - wb["test_mean"])
                ok = (b["bytes"] / wb["bytes"] >= bud["bytes_factor"] and b["macs"] / wb["macs"] >= bud["macs_factor"]
                      and loss <= 1.0 and bud["searches"]["whale"]["seconds"] <= 15 * 60)
                lines.append(f"Target (>= {bud['bytes_factor']:g}x bytes, >= {bud['macs_factor']:g}x MACs, <= 1.0 pt "
                             f"test loss (seed mean), <= 15 min): {'met' if ok else 'NOT met'} by the WhaleSampler search.")
            for name, s in bud["searches"].items():
                if s["best"] is not None and ub is not None:
                    dv = 100 * (s["best"]["val_mean"] - ub["val_mean"])
                    dt = 100 * (s["best"]["test_mean"] - ub["test_mean"])
                    lines.append(f"{name} pick minus uniform pick: {dv:+.2f} pt validation, {dt:+.2f} pt test "
                                 "(seed means; one test image = 0.13 pt).")
            lines.append("")
        lines += ["![Accuracy vs bytes](pareto.png)", ""]
    if text:
        p = text["pooled"]
        lines += ["## Text model (chatterbot utterance -> topic)", "",
                  f"Per split: baseline EmbeddingBag(64, mean) -> fc1(64) -> fc2, Adam lr 3e-3, batch 32, until "
                  f"validation accuracy stalls {a['text_patience']} epochs; then {a['text_trials']} WhaleSampler trials "
                  f"compressing the trained baseline (budget repair `scale_all`, SVD embedding/fc1, fc1 pruning, "
                  f"quantization, lr, 2-12 epochs, distillation alpha {a['distill_alpha']}); budget bytes <= baseline / "
                  f"{a['text_factor']:g}. Pick and seeds as above.", "",
                  "*Tuned uncompressed*: the baseline itself given the same extra training (lr, 2-12 epochs, "
                  f"self-distillation; {max(2, a['text_trials'] // 2)} WhaleSampler trials, same pick rule), to "
                  "separate the effect of compression from that of the extra training.", "",
                  "| split | vocab | baseline val | baseline test | tuned uncompressed test (seeds) | pick val (seeds) | "
                  "pick test (trial) | pick test (seeds) | loss vs baseline (pt) | loss vs tuned (pt) | bytes | "
                  "x fewer bytes | feasible | seconds |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in text["splits"]:
            tb, tp, tt = s["baseline"], s["best"], s.get("tuned")
            tuned_cell = f"{tt['test_mean']:.4f} +- {tt['test_sd']:.4f}" if tt else "-"
            if tp is None:
                lines.append(f"| {s['seed']} | {tb['vocab']} | {tb['accuracy']:.4f} | {tb['test_accuracy']:.4f} | "
                             f"{tuned_cell} | - | - | - | - | - | - | - | {s['n_feasible']}/{s['n_trials']} | "
                             f"{s['seconds']:.0f} |")
                continue
            vs_tuned = f"{100 * (tt['test_mean'] - tp['test_mean']):.2f}" if tt else "-"
            lines.append(f"| {s['seed']} | {tb['vocab']} | {tb['accuracy']:.4f} | {tb['test_accuracy']:.4f} | "
                         f"{tuned_cell} | {tp['val_mean']:.4f} | {tp['test_seeds'][0]:.4f} | "
                         f"{tp['test_mean']:.4f} +- {tp['test_sd']:.4f} | "
                         f"{100 * (tb['test_accuracy'] - tp['test_mean']):.2f} | {vs_tuned} | {tp['bytes']} | "
                         f"{tb['bytes'] / tp['bytes']:.1f} | {s['n_feasible']}/{s['n_trials']} | {s['seconds']:.0f} |")
        if p["loss_pt_mean"] is not None:
            se = f" +- {p['loss_pt_se']:.2f} (standard error over splits)" if p["loss_pt_se"] is not None else ""
            ok = p["loss_pt_mean"] <= 1.0 and p["x_fewer_bytes_min"] >= a["text_factor"]
            lines += ["", f"Pooled over {p['n_test']} test utterances: baseline {p['baseline_test']:.4f}, pick "
                      f"{p['pick_test_mean']:.4f} (seed means; trial models {p['pick_test_trial_model']:.4f}); mean loss "
                      f"{p['loss_pt_mean']:.2f} pt{se}; every pick >= {p['x_fewer_bytes_min']:.1f}x fewer bytes. "
                      f"Target (>= {a['text_factor']:g}x, <= 1 pt): {'met' if ok else 'NOT met'}."]
            if p.get("loss_vs_tuned_pt_mean") is not None:
                tse = (f" +- {p['loss_vs_tuned_pt_se']:.2f}" if p.get("loss_vs_tuned_pt_se") is not None else "")
                lines += ["", f"Against the tuned uncompressed model (pooled {p['tuned_test_mean']:.4f}): mean loss "
                          f"{p['loss_vs_tuned_pt_mean']:.2f} pt{tse}; "
                          f"{'within' if p['loss_vs_tuned_pt_mean'] <= 1.0 else 'more than'} 1 pt."]
            lines.append("")
            for s in text["splits"]:
                if s["best"]:
                    ap = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s["best"]["applied_params"].items()}
                    lines.append(f"Split {s['seed']} pick, applied: `{json.dumps(ap)}`")
        lines.append("")
    return "\n".join(lines)


def run_image(
    image: dict[str, Any] | None, settings: SearchSettings, budgets: list[tuple[float, float]]
) -> dict[str, Any]:
    """The MNIST-5k part at each ``(bytes, MACs)`` factor of ``budgets``, merged into ``image``
    (a previous run's, or None): a budget run now replaces that budget's uniform reference and
    the searches of the samplers run now, and keeps the other samplers' searches; a baseline that
    differs from the previous one replaces every budget."""
    splits, base, baseline, cfg = image_baseline(settings)
    image = image or {"budgets": {}}
    old = image.get("baseline")
    if old is not None and (old["bytes"], old["accuracy"]) != (baseline["bytes"], baseline["accuracy"]):
        print("warning: the baseline differs from the merged results' baseline; replacing all budgets")
        image = {"budgets": {}}
    image["baseline"] = baseline
    for bf, mf in budgets:
        key = f"{bf:g}x{mf:g}"
        new = image_budget(settings, splits, base, baseline, cfg, bf, mf)
        kept = image["budgets"].get(key, {}).get("searches", {})
        new["searches"] = {**{k: v for k, v in kept.items() if k not in new["searches"]}, **new["searches"]}
        image["budgets"][key] = new
    return image


def write_outputs(results: dict[str, Any], out: str) -> str:
    """``pareto.png`` (when there is an image part) and ``report.md`` into ``out``; returns the report."""
    if results.get("image"):
        plot(results["image"], os.path.join(out, "pareto.png"))
    md = report(results)
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(md)
    return md
