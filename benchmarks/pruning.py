"""Pruners head-to-head on real learning curves: best value against epochs spent.

Tasks (all offline):
* ``digits``, ``breast_cancer``, ``wine``: an sklearn ``MLPClassifier`` trained epoch by epoch
  (``fit`` with ``warm_start=True, max_iter=1``) on the dataset that ships with scikit-learn (hidden width, learning rate,
  L2 penalty and batch size searched); the step is the epoch, the value the validation error.
* ``compression``: the digits CNN of ``optuna_whale.compression`` (trained once per process),
  compressed by each trial (per-layer structured pruning ratios, low rank of ``fc1``) and
  fine-tuned for ``--epochs`` epochs at the suggested learning rate; the step is the fine-tune
  epoch, the value the validation accuracy (maximised; reported below as the error
  ``1 - accuracy``). No size budget: every trial is feasible, so only the curves decide.
  MNIST-5k is left out of the committed run for time (about 1 s per fine-tune epoch here).
* ``synthetic``: a learning-curve family with a known ranking,
  ``v(x, e) = q(x) + c(x) / (e + 1)`` with ``q`` the final quality and ``c`` a per-point
  convergence speed that does not depend on ``q``.

Pruners: none, MedianPruner, SuccessiveHalvingPruner, HyperbandPruner, WhalePruner (Optuna
defaults, WhalePruner defaults; ``--pruners 'none;median;whale;whale:optimism=0'`` picks a
subset, ``whale:k=v,...`` passes WhalePruner arguments). WilcoxonPruner is left out: it tests
paired per-instance evaluations (steps are instances in random order), which the epochs of one
run are not. Each pruner runs with each sampler of ``--samplers`` (WhaleSampler, optionally
``whale-nocp`` = ``WhaleSampler(consider_pruned_trials=False)``, TPESampler) and ``--seeds``
seeds from ``--seed-start``.

Protocol: every run gets the same *epoch budget* ``B = trials * epochs`` (what ``trials`` trials
cost without pruning) and stops once it has trained ``B`` epochs, so pruned runs try more
configurations. Per task and sampler, the quality target ``q*`` is the median over seeds of the
final best value without pruning; we report, as medians over seeds (with an even number of seeds
the upper of the two middle values, a value some run attained),

* ``E(q*)``: epochs trained until the best completed value first reaches ``q*`` (never: inf),
* ``saved = 1 - E_pruner(q*) / E_none(q*)`` (epochs saved at equal final quality),
* ``best@B``: the best value once the budget is spent (quality at equal epochs),

With this median (an order statistic), ``E(q*)`` is exactly where the median best-so-far curve
of the plot crosses the dotted line ``q*``: the k-th smallest first-hit time is the first epoch at
which k runs are at or below ``q*``. It is inf when more than half the seeds never reach ``q*``
(a pruner of exactly the no-pruning quality misses about half the time).

The same runs also give the *equal-trials* view (what Optuna users see when they keep
``n_trials`` and add a pruner): the first ``trials`` trials of each run (a sampler only sees the
past, so they are exactly the run with ``n_trials=trials``), their epochs ``E_n`` and their best
value ``best@n``; ``saved_n = 1 - E_n / E_n(none)``.

    python benchmarks/pruning.py --quick
    # committed (benchmarks/results/pruning, pruning-compression; tuning seeds 10-19: pruning-screen)
    python benchmarks/pruning.py --tasks digits,breast_cancer,wine,synthetic --seeds 10 \
        --samplers whale,whale-nocp,tpe --pruners 'none;median;halving;hyperband;whale;whale:optimism=0'
    python benchmarks/pruning.py --tasks compression --seeds 5 --out benchmarks/results/pruning-compression \
        --pruners 'none;median;halving;hyperband;whale;whale:optimism=0'
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from tqdm import tqdm

PRUNERS = ("none", "median", "halving", "hyperband", "whale")
#: whale = WhaleSampler() (pruned trials keep their slot at their last intermediate value),
#: whale-nocp = WhaleSampler(consider_pruned_trials=False) (a pruned trial frees its slot), tpe = TPESampler()
SAMPLERS = ("whale", "whale-nocp", "tpe")
DEFAULT_PRUNERS = ";".join(PRUNERS)
DEFAULT_SAMPLERS = "whale,tpe"
TASKS = ("digits", "breast_cancer", "wine", "compression", "synthetic")
#: tasks whose objective is maximised (an accuracy); the benchmark reports 1 - value
MAXIMIZED = ("compression",)


def parse_pruner(name: str) -> tuple[str, dict[str, float]]:
    """``"whale:optimism=0,patience=2"`` -> ``("whale", {"optimism": 0.0, "patience": 2})``."""
    base, _, args = name.partition(":")
    if base not in PRUNERS:
        raise ValueError(f"pruner {name!r}: unknown {base!r}; choose from {','.join(PRUNERS)}")
    kwargs: dict[str, float] = {}
    for item in filter(None, args.split(",")):
        key, _, value = item.partition("=")
        kwargs[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    if kwargs and base != "whale":
        raise ValueError(f"pruner {name!r}: arguments are only taken by whale")
    return base, kwargs


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    from optuna_whale import WhalePruner

    base, kwargs = parse_pruner(name)  # arguments only for whale (parse_pruner checks)
    return {
        "none": lambda: optuna.pruners.NopPruner(),
        "median": lambda: optuna.pruners.MedianPruner(),
        "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs),
        "whale": lambda: WhalePruner(**kwargs),  # type: ignore[arg-type]
    }[base]()


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    from optuna_whale import WhaleSampler

    if name == "whale":
        return WhaleSampler(seed=seed)
    if name == "whale-nocp":
        return WhaleSampler(seed=seed, consider_pruned_trials=False)
    return optuna.samplers.TPESampler(seed=seed)


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

    if task == "compression":
        return compression_objective(epochs, seed)

    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine}[task]
    x, y = loader(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_va = scaler.transform(x_tr), scaler.transform(x_va)

    def mlp(trial: optuna.Trial) -> float:
        width = trial.suggest_int("width", 4, 128, log=True)
        lr = trial.suggest_float("lr", 1e-4, 3e-1, log=True)
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        batch = trial.suggest_categorical("batch", [16, 32, 64, 128])
        # one epoch per call: sklearn's own minibatch loop (shuffled), warm-started from the last
        # epoch; much cheaper than a Python loop of partial_fit calls (Adam's moments restart
        # and the shuffle order repeats each epoch: random_state is re-read by every fit)
        model = MLPClassifier(
            hidden_layer_sizes=(width,), learning_rate_init=lr, alpha=alpha, batch_size=batch,
            max_iter=1, warm_start=True, shuffle=True, random_state=seed,
        )
        error = 1.0
        for epoch in range(epochs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning after every single epoch
                model.fit(x_tr, y_tr)
            error = 1.0 - float(model.score(x_va, y_va))
            trial.report(error, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return error

    return mlp


def compression_objective(epochs: int, seed: int) -> Callable[[optuna.Trial], float]:
    """Digits CNN, trained once, then compressed and fine-tuned ``epochs`` epochs per trial
    (accuracy reported after every fine-tune epoch; maximised)."""
    import torch

    from optuna_whale.compression import CompressionSpace, build_objective
    from optuna_whale.compression.data import load_digits
    from optuna_whale.compression.models import SmallCNN
    from optuna_whale.compression.training import TrainConfig, train_inplace

    torch.set_num_threads(1)
    splits = load_digits(seed=seed)
    cfg = TrainConfig(epochs=10, lr=3e-3, batch_size=64, seed=seed, num_threads=1)
    model = SmallCNN(image_size=8, width=16)
    train_inplace(model, splits.train, splits.val, cfg)
    space = CompressionSpace(
        prune_ratio=(0.0, 0.95), rank_layers=("fc1",), quantization=("none",),
        lr=(1e-4, 3e-2), finetune_epochs=(epochs, epochs),
    )
    inner = build_objective(splits.train, splits.val, splits.example_inputs, space, model=model, train_config=cfg)

    def objective(trial: optuna.Trial) -> float:
        return float(inner(trial))  # type: ignore[arg-type]

    return objective


class TimedPruner(optuna.pruners.BasePruner):
    """Wraps a pruner and adds up the wall time of its decisions (the pruner's overhead)."""

    def __init__(self, inner: optuna.pruners.BasePruner) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        start = time.perf_counter()
        try:
            return self.inner.prune(study, trial)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """One study that stops once it has trained ``spec["budget"]`` epochs."""
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    pruner = make_pruner(spec["pruner"], spec["epochs"])
    # HyperbandPruner is detected by its type (TPE filters trials by bracket): not wrapped, not timed
    timed = None if spec["pruner"] == "hyperband" else TimedPruner(pruner)
    sign = -1.0 if spec["task"] in MAXIMIZED else 1.0
    study = optuna.create_study(
        sampler=make_sampler(spec["sampler"], spec["seed"]),
        pruner=timed or pruner,
        direction="maximize" if sign < 0 else "minimize",
    )
    curve: list[tuple[int, float]] = []  # (cumulative epochs, best complete value so far)
    state = {"spent": 0, "best": math.inf}

    def account(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        state["spent"] += len(trial.intermediate_values)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            # maximised tasks are recorded as the error 1 - value (lower is better everywhere)
            state["best"] = min(state["best"], trial.value if sign > 0 else 1.0 - trial.value)
        curve.append((int(state["spent"]), float(state["best"])))
        if state["spent"] >= spec["budget"]:
            study.stop()

    objective = make_objective(spec["task"], spec["epochs"], spec["seed"])
    with threadpool_limits(1):  # two processes on two cores: no BLAS threads on top
        study.optimize(objective, n_trials=spec["max_trials"], callbacks=[account])
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    # WhaleSampler's user attr: trials that moved a whale (not an initial or restart point)
    moves = sum(t.user_attrs.get("whale_move") in ("search", "encircle", "spiral") for t in study.trials)
    overhead = {"pruner_seconds": timed.seconds, "pruner_calls": timed.calls} if timed else {}
    return {
        **spec,
        "epochs_spent": int(state["spent"]),
        "best": float(state["best"]),
        "trials_run": len(study.trials),
        "pruned": pruned,
        "woa_moves": moves,
        "curve": curve,
        **overhead,
    }


def finite_or_none(value: Any) -> Any:
    """JSON has no inf/NaN: non-finite floats become null (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def median(values: Any, axis: int | None = None) -> Any:
    """Median over seeds; with an even number of seeds the upper of the two middle values (a
    value some run attained: errors are multiples of 1 / n_validation, and the mean of two of
    them would demand the better one)."""
    return np.quantile(np.asarray(values, dtype=float), 0.5, axis=axis, method="higher")


def best_at(curve: list[tuple[int, float]], grid: np.ndarray) -> np.ndarray:
    """A run's best completed value after each number of epochs in ``grid`` (inf before the first)."""
    spent, best = (np.array(v, dtype=float) for v in zip(*curve, strict=True))
    idx = np.searchsorted(spent, grid, side="right") - 1
    return np.where(idx >= 0, best[np.maximum(idx, 0)], np.inf)


def epochs_to_reach(curve: list[tuple[int, float]], target: float) -> float:
    """Epochs spent when the best value first reached ``target`` (inf if it never did)."""
    return next((float(e) for e, b in curve if b <= target), math.inf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="digits,breast_cancer,wine,compression,synthetic", help=f"subset of {','.join(TASKS)}")
    parser.add_argument("--trials", type=int, default=24, help="budget = trials * epochs epochs per run")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of a trial that is not pruned")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samplers", default=DEFAULT_SAMPLERS, help=f"comma separated subset of {','.join(SAMPLERS)}")
    parser.add_argument("--seed-start", type=int, default=0, help="seeds are SEED_START .. SEED_START + SEEDS - 1")
    parser.add_argument(
        "--pruners", default=DEFAULT_PRUNERS,
        help="';'-separated subset of none,median,halving,hyperband,whale; whale takes WhalePruner arguments, "
        "e.g. 'none;median;whale;whale:optimism=0' (none and median are needed for the verdicts)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pruning"))
    parser.add_argument("--quick", action="store_true", help="synthetic + wine, 12 trials, 8 epochs, 1 seed")
    parser.add_argument("--report-only", action="store_true", help="rebuild report and plot from OUT/runs.jsonl")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.trials, args.epochs, args.seeds = "synthetic,wine", 12, 8, 1
    tasks = args.tasks.split(",")
    args.pruner_list = args.pruners.split(";")
    try:
        for name in args.pruner_list:
            parse_pruner(name)
    except ValueError as error:
        parser.error(f"--pruners: {error}")
    args.sampler_list = args.samplers.split(",")
    if not set(args.sampler_list) <= set(SAMPLERS):
        parser.error(f"--samplers: choose from {','.join(SAMPLERS)}, got {args.samplers!r}")
    if not {"none", "median"} <= set(args.pruner_list):
        parser.error("--pruners must include none and median (the verdicts compare with them)")
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        parser.error(f"--tasks: unknown {bad}; choose from {','.join(TASKS)}")
    for name in ("trials", "epochs", "seeds", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.report_only:
        results = [json.loads(line) for line in (args.out / "runs.jsonl").read_text().splitlines() if line]
        def inf(v: float | None) -> float:  # null in JSON was inf (no completed trial yet)
            return math.inf if v is None else v

        results = [{**r, "best": inf(r["best"]), "curve": [(e, inf(b)) for e, b in r["curve"]]} for r in results]
        report(args, results, tasks)
        return
    budget = args.trials * args.epochs
    specs = [
        dict(task=t, sampler=s, pruner=p, seed=seed, epochs=args.epochs, budget=budget, max_trials=20 * args.trials)
        for t in tasks
        for s in args.sampler_list
        for p in args.pruner_list
        for seed in range(args.seed_start, args.seed_start + args.seeds)
    ]
    results = []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, spec) for spec in specs]
        for future in tqdm(as_completed(futures), total=len(futures), desc="studies"):
            results.append(future.result())
    results.sort(key=lambda r: (r["task"], r["sampler"], r["pruner"], r["seed"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runs.jsonl").write_text("".join(json.dumps(finite_or_none(r)) + "\n" for r in results))
    report(args, results, tasks)


def first_trials(curve: list[tuple[int, float]], n: int) -> tuple[float, float]:
    """(epochs, best value) of a run's first ``n`` trials (the run with ``n_trials=n``)."""
    e, b = curve[min(n, len(curve)) - 1]
    return float(e), float(b)


def summarise(
    results: list[dict[str, Any]], tasks: list[str], n_trials: int, pruners: list[str], samplers: list[str]
) -> tuple[dict[str, dict[str, float]], dict[tuple[str, str, str], list[dict[str, Any]]]]:
    """Medians over seeds per task/sampler/pruner (see the module docstring for the measures)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups[(r["task"], r["sampler"], r["pruner"])].append(r)
    summary: dict[str, dict[str, float]] = {}
    for task in tasks:
        for sampler in samplers:
            target = float(median([r["best"] for r in groups[(task, sampler, "none")]]))
            e_none = float(median([epochs_to_reach(r["curve"], target) for r in groups[(task, sampler, "none")]]))
            for pruner in pruners:
                rs = groups[(task, sampler, pruner)]
                e_q = float(median([epochs_to_reach(r["curve"], target) for r in rs]))
                calls = sum(r.get("pruner_calls", 0) for r in rs)
                first_n = [first_trials(r["curve"], n_trials) for r in rs]
                summary[f"{task}/{sampler}/{pruner}"] = {
                    "target": target,
                    "epochs_to_target": e_q,
                    # n/a (inf) when either never reaches q*: the median over seeds may miss it
                    "saved": 1.0 - e_q / e_none if math.isfinite(e_q) and math.isfinite(e_none) else -math.inf,
                    "best_at_budget": float(median([r["best"] for r in rs])),
                    "trials": float(median([r["trials_run"] for r in rs])),
                    "pruned": float(median([r["pruned"] for r in rs])),
                    "woa_moves": float(median([r["woa_moves"] for r in rs])),
                    "epochs_n": float(median([e for e, _ in first_n])),
                    "best_n": float(median([b for _, b in first_n])),
                    "pruner_ms_per_call": 1e3 * sum(r.get("pruner_seconds", 0.0) for r in rs) / calls if calls else math.nan,
                }
    for task in tasks:
        for sampler in samplers:
            none = summary[f"{task}/{sampler}/none"]
            for pruner in pruners:
                m = summary[f"{task}/{sampler}/{pruner}"]
                m["saved_n"] = 1.0 - m["epochs_n"] / none["epochs_n"]
    return summary, groups


#: the target's four checks per view: (label, WhalePruner's value, reference pruner, key);
#: "saved" is checked against 40 %, the others as ``whale <= reference``
VIEWS = {
    "trials": [(">= 40 % fewer epochs", "saved_n", None), ("best@n <= none", "best_n", "none"),
               ("epochs <= median's", "epochs_n", "median"), ("best@n <= median's", "best_n", "median")],
    "epochs": [(">= 40 % fewer epochs to q*", "saved", None), ("best@B <= none", "best_at_budget", "none"),
               ("E(q*) <= median's", "epochs_to_target", "median"),
               ("best@B <= median's", "best_at_budget", "median")],
}


def verdict(
    task: str, sampler: str, summary: dict[str, dict[str, float]], view: str, pruner: str = "whale", epochs: int = 0
) -> str:
    """One line: does WhalePruner (``pruner``) meet the issue's target on this task and sampler?
    ``view``: ``"trials"`` (the first ``trials`` trials of each run) or ``"epochs"`` (equal epoch
    budget). A task whose ``q*`` the unpruned median curve reaches within the first trial
    (``epochs``) is flagged: there no pruner can save epochs to ``q*``."""
    whale = summary[f"{task}/{sampler}/{pruner}"]
    checks = {
        label: whale[key] >= 0.4 if ref is None else whale[key] <= summary[f"{task}/{sampler}/{ref}"][key]
        for label, key, ref in VIEWS[view]
    }
    text = ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in checks.items())
    label = "" if pruner == "whale" else f" ({pruner})"
    if view == "epochs" and summary[f"{task}/{sampler}/none"]["epochs_to_target"] <= epochs:
        text += " (uninformative: without pruning the first trial already reaches q*)"
    return f"- {task}, {sampler} sampler{label}: {text}"


def report(args: argparse.Namespace, results: list[dict[str, Any]], tasks: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pruners = args.pruner_list
    samplers = args.sampler_list
    summary, groups = summarise(results, tasks, args.trials, pruners, samplers)
    budget = args.trials * args.epochs
    lines = [
        "# Pruners on real learning curves",
        "",
        f"Command: `python benchmarks/pruning.py --tasks {args.tasks} --trials {args.trials} --epochs {args.epochs} "
        f"--seeds {args.seeds}"
        + (f" --seed-start {args.seed_start}" if args.seed_start else "")
        + (f" --pruners '{args.pruners}'" if args.pruners != DEFAULT_PRUNERS else "")
        + (f" --samplers {args.samplers}" if args.samplers != DEFAULT_SAMPLERS else "")
        + "`",
        "",
        f"Every run trains until it has spent B = {args.trials} x {args.epochs} = {budget} epochs (trials of up to "
        f"{args.epochs} epochs); medians over {args.seeds} seed(s) (even counts: the upper of the two middle "
        "values, one that a run attained). `q*` = median final best value without pruning "
        "(same task and sampler); `E(q*)` = epochs until the best completed value first reached `q*` (inf: never "
        "within B), median over seeds, which is where the median curve of `best_vs_epochs.png` crosses the "
        "dotted line; `saved` = 1 - E(q*) / E_none(q*); `best@B` = best validation error (synthetic: value) "
        "once B epochs are spent; `trials` = trials started within B.",
        "",
        "| task | sampler | pruner | q* | E(q*) | saved | best@B | trials | pruned | WOA moves | pruner ms/call |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for task in tasks:
        for sampler in samplers:
            for pruner in pruners:
                m = summary[f"{task}/{sampler}/{pruner}"]
                ms = m["pruner_ms_per_call"]
                saved = "n/a" if not math.isfinite(m["saved"]) else f"{m['saved']:.0%}"
                lines.append(
                    f"| {task} | {sampler} | {pruner} | {m['target']:.4g} | {m['epochs_to_target']:.0f} | {saved} | "
                    f"{m['best_at_budget']:.4g} | {m['trials']:.0f} | {m['pruned']:.0f} | {m['woa_moves']:.0f} | "
                    f"{'n/a' if math.isnan(ms) else f'{ms:.2f}'} |"
                )
            verdicts += [verdict(task, sampler, summary, "epochs", p, args.epochs) for p in pruners if p.startswith("whale")]
    lines += [
        "",
        f"## Equal trials: the first {args.trials} trials of each run",
        "",
        f"`E_n` = epochs trained by the first {args.trials} trials, `saved_n` = 1 - E_n / E_n(none), `best@n` = "
        "their best value (medians over seeds).",
        "",
        "| task | sampler | pruner | E_n | saved_n | best@n |",
        "|---|---|---|---|---|---|",
    ]
    verdicts_n = []
    for task in tasks:
        for sampler in samplers:
            for pruner in pruners:
                m = summary[f"{task}/{sampler}/{pruner}"]
                lines.append(f"| {task} | {sampler} | {pruner} | {m['epochs_n']:.0f} | {m['saved_n']:.0%} | {m['best_n']:.4g} |")
            verdicts_n += [verdict(task, sampler, summary, "trials", p) for p in pruners if p.startswith("whale")]
    lines += [
        "",
        "## WhalePruner against the issue's target, equal trials",
        "",
        *verdicts_n,
        "",
        "## WhalePruner against the issue's target, equal epochs",
        "",
        ">= 40 % fewer epochs than no pruning at equal final quality, and no worse than MedianPruner on "
        "either axis (epochs to reach q*, best value at equal epochs); medians over seeds:",
        "",
        *verdicts,
        "",
        "`WOA moves`: trials that moved a whale (search, encircle, spiral), the rest are initial or "
        "restart points. `whale`: WhaleSampler() keeps a pruned trial in its slot at its last intermediate value "
        "(`consider_pruned_trials=True`, the default); `whale-nocp`: WhaleSampler(consider_pruned_trials=False), "
        "where a pruned trial frees its slot and the slot is respawned by a move from another whale.",
        "",
        "`pruner ms/call`: mean wall time of one `prune` decision (Hyperband is not timed: samplers "
        "detect it by its type, so it cannot be wrapped).",
        "",
        "Plot: `best_vs_epochs.png` (median over seeds of the best value against epochs spent; the dotted line is q*).",
    ]
    (args.out / "summary.json").write_text(json.dumps(finite_or_none(summary), indent=1))
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    fig, axes = plt.subplots(len(tasks), len(samplers), figsize=(5 * len(samplers), 3.2 * len(tasks)), squeeze=False)
    grid = np.linspace(0, budget, 200)
    for i, task in enumerate(tasks):
        for j, sampler in enumerate(samplers):
            ax = axes[i, j]
            for pruner in pruners:
                # the same median as the tables (inf before the median run completed a trial: not drawn)
                middle = median(np.array([best_at(r["curve"], grid) for r in groups[(task, sampler, pruner)]]), axis=0)
                ax.plot(grid, np.where(np.isfinite(middle), middle, np.nan), label=pruner)
            ax.axhline(summary[f"{task}/{sampler}/none"]["target"], color="grey", ls=":", lw=1)
            ax.set_title(f"{task}, {sampler} sampler")
            ax.set_xlabel("epochs spent")
            ax.set_ylabel("best value")
            if task == "synthetic":  # errors of the MLP tasks reach 0: linear scale there
                ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "best_vs_epochs.png", dpi=110)
    plt.close(fig)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
