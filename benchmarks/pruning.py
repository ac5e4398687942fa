"""Pruners head-to-head on real learning curves: epochs spent vs best value found.

Tasks (all offline):
* ``digits``, ``breast_cancer``, ``wine``: an sklearn ``MLPClassifier`` trained epoch by epoch
  with ``partial_fit`` on the dataset that ships with scikit-learn (hidden width, learning rate,
  L2 penalty and batch size searched); the step is the epoch, the value the validation error.
* ``synthetic``: a learning-curve family with a known ranking,
  ``v(x, e) = q(x) + c(x) / (e + 1)`` with ``q`` the final quality and ``c`` a per-point
  convergence speed that does not depend on ``q``.

Pruners: none, MedianPruner, SuccessiveHalvingPruner, HyperbandPruner, WhalePruner (Optuna
defaults, WhalePruner defaults). WilcoxonPruner is left out: it needs per-instance evaluations as
steps, not epochs. Each pruner runs with WhaleSampler and TPESampler, several seeds; we record the
epochs spent (sum of reported steps) and the best validation error after the budget of trials.

    python benchmarks/pruning.py --quick
    python benchmarks/pruning.py --out benchmarks/results/pruning        # the committed run
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from tqdm import tqdm

PRUNERS = ("none", "median", "halving", "hyperband", "whale")
SAMPLERS = ("whale", "tpe")
TASKS = ("digits", "breast_cancer", "wine", "synthetic")


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    from optuna_whale import WhalePruner

    return {
        "none": lambda: optuna.pruners.NopPruner(),
        "median": lambda: optuna.pruners.MedianPruner(),
        "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs),
        "whale": lambda: WhalePruner(),
    }[name]()


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    from optuna_whale import WhaleSampler

    return WhaleSampler(seed=seed) if name == "whale" else optuna.samplers.TPESampler(seed=seed)


def make_objective(task: str, epochs: int, seed: int) -> Callable[[optuna.Trial], float]:
    if task == "synthetic":
        def synthetic(trial: optuna.Trial) -> float:
            x = np.array([trial.suggest_float(f"x{i}", -3, 3) for i in range(4)])
            quality = float(((x - 0.7) ** 2).sum())
            speed = 1.0 + 4.0 * (np.sin(3 * x).sum() ** 2) / 16
            value = np.inf
            for epoch in range(epochs):
                value = quality + speed / (epoch + 1)
                trial.report(value, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return value

        return synthetic

    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}[task]
    x, y = loader(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_va = scaler.transform(x_tr), scaler.transform(x_va)
    classes = np.unique(y)

    def mlp(trial: optuna.Trial) -> float:
        width = trial.suggest_int("width", 4, 128, log=True)
        lr = trial.suggest_float("lr", 1e-4, 3e-1, log=True)
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        batch = trial.suggest_categorical("batch", [16, 32, 64, 128])
        model = MLPClassifier(hidden_layer_sizes=(width,), learning_rate_init=lr, alpha=alpha, batch_size=batch, random_state=seed)
        rng = np.random.default_rng(seed)
        error = 1.0
        for epoch in range(epochs):
            order = rng.permutation(len(x_tr))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for start in range(0, len(order), batch):
                    idx = order[start : start + batch]
                    model.partial_fit(x_tr[idx], y_tr[idx], classes=classes)
            error = 1.0 - float(model.score(x_va, y_va))
            trial.report(error, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return error

    return mlp


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=make_sampler(spec["sampler"], spec["seed"]), pruner=make_pruner(spec["pruner"], spec["epochs"]))
    study.optimize(make_objective(spec["task"], spec["epochs"], spec["seed"]), n_trials=spec["trials"])
    curve = []  # (cumulative epochs, best complete value so far)
    spent, best = 0, float("inf")
    for t in study.trials:
        spent += len(t.intermediate_values)
        if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None:
            best = min(best, t.value)
        curve.append((spent, best))
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return {**spec, "epochs_spent": spent, "best": best, "pruned": pruned, "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="digits,breast_cancer,wine,synthetic", help=f"subset of {','.join(TASKS)}")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pruning"))
    parser.add_argument("--quick", action="store_true", help="synthetic + digits, 20 trials, 8 epochs, 1 seed")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.trials, args.epochs, args.seeds = "synthetic,digits", 20, 8, 1
    tasks = args.tasks.split(",")
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        parser.error(f"--tasks: unknown {bad}; choose from {','.join(TASKS)}")
    specs = [dict(task=t, sampler=s, pruner=p, seed=seed, trials=args.trials, epochs=args.epochs)
             for t in tasks for s in SAMPLERS for p in PRUNERS for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(tqdm(pool.map(run_one, specs), total=len(specs), desc="studies"))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    report(args, results, tasks)


def report(args: argparse.Namespace, results: list[dict[str, Any]], tasks: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups[(r["task"], r["sampler"], r["pruner"])].append(r)
    lines = [
        "# Pruners on real learning curves",
        "",
        f"Command: `python benchmarks/pruning.py --tasks {args.tasks} --trials {args.trials} --epochs {args.epochs} --seeds {args.seeds}`",
        "",
        f"{args.trials} trials of up to {args.epochs} epochs; medians over {args.seeds} seed(s). `epochs` = epochs trained in total "
        "(sum of reported steps); `saved` = 1 - epochs / epochs without pruning (same task and sampler); "
        "`best` = best validation error (synthetic: value) of the completed trials.",
        "",
        "| task | sampler | pruner | epochs | saved | best | pruned trials |",
        "|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict[str, float]] = {}
    for task in tasks:
        for sampler in SAMPLERS:
            base = float(np.median([r["epochs_spent"] for r in groups[(task, sampler, "none")]]))
            for pruner in PRUNERS:
                rs = groups[(task, sampler, pruner)]
                ep = float(np.median([r["epochs_spent"] for r in rs]))
                best = float(np.median([r["best"] for r in rs]))
                pr = float(np.median([r["pruned"] for r in rs]))
                summary[f"{task}/{sampler}/{pruner}"] = {"epochs": ep, "saved": 1 - ep / base, "best": best}
                lines.append(f"| {task} | {sampler} | {pruner} | {ep:.0f} | {1 - ep / base:.0%} | {best:.4g} | {pr:.0f} |")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    lines += ["", "Plot: `best_vs_epochs.png` (median best value against epochs spent, per task and sampler)."]
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    fig, axes = plt.subplots(len(tasks), len(SAMPLERS), figsize=(5 * len(SAMPLERS), 3.2 * len(tasks)), squeeze=False)
    for i, task in enumerate(tasks):
        for j, sampler in enumerate(SAMPLERS):
            ax = axes[i, j]
            for pruner in PRUNERS:
                rs = groups[(task, sampler, pruner)]
                grid = np.linspace(0, max(r["curve"][-1][0] for r in rs), 100)
                ys = []
                for r in rs:
                    xs_, bs = zip(*r["curve"], strict=True)
                    idx = np.searchsorted(np.array(xs_), grid, side="right") - 1
                    ys.append([bs[k] if k >= 0 else np.nan for k in idx])
                ax.plot(grid, np.nanmedian(np.array(ys, dtype=float), axis=0), label=pruner)
            ax.set_title(f"{task}, {sampler} sampler")
            ax.set_xlabel("epochs spent")
            ax.set_ylabel("best value")
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "best_vs_epochs.png", dpi=110)
    plt.close(fig)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
