"""Multi-objective head-to-head: WhaleSampler vs NSGA-II, TPE, GP and random search.

Problems come from packages: the ``bbob-biobj`` suite of coco-experiment (``cocoex``), search
box ``[-5, 5]^d`` (COCO's region of interest), and, with ``--compression``, the compression task
of :mod:`optuna_whale.compression` as (accuracy, bytes).

Hypervolume. For a bbob-biobj problem the objectives are normalised as
``f' = (f - ideal) / (nadir - ideal)``, where ``nadir`` is COCO's ``largest_fvalues_of_interest``
and ``ideal`` is the per-objective minimum over every evaluation of every run of that problem
(all samplers, all seeds: the same normalisation for everyone). The reference point is
``(1, 1)``: points beyond the nadir add nothing, as in COCO. HV is computed with
``optuna._hypervolume.compute_hypervolume`` on the non-dominated set of the first ``n`` trials.

Compression (``--suite compression``, results in ``<out>/compression`` by default). Two
objectives per trial: maximize validation accuracy, minimize serialized bytes (``torch.save`` of
the state_dict), from :func:`optuna_whale.compression.build_objective` with
``multi_objective=True`` and no budget. Problems (``--problems name:trials,...``): ``digits``
(``SmallCNN(8x8, width 16, hidden 64)`` on sklearn digits, trained 10 epochs at lr 3e-3) and
``mnist5k`` (``SmallCNN(28x28, width 16, hidden 128)`` on MNIST-5k, trained until validation
accuracy stalls 4 epochs); the base model is trained once per process with seed 0, so every
run compresses the same model and only the sampler seed differs. Search space: pruning ratios of
conv1, conv2 and fc1 in [0, 0.95], fc1 rank ratio in [0.05, 1], quantization in {none,
dynamic_int8, fp16}, fine-tune lr in [3e-4, 1e-2] (log), 1-2 fine-tune epochs. NSGA-II runs with ``--nsga2-population`` (default 10) so that 40-60 trials
make several generations (with Optuna's default 50 it would stay in its random first
generation, identical to RandomSampler with the same seed). Hypervolume: a
trial is the point ``(1 - accuracy, log10(bytes / baseline bytes))`` (both minimized) and the
reference point is ``(1, 0)``: accuracy 0 and the uncompressed baseline's size. The HV is then the
area under the best-accuracy-vs-log-size staircase, in accuracy x decades of compression (e.g.
0.9 accuracy held from 1x down to 100x fewer bytes is worth 1.8); points at or above the
baseline's size add nothing. HV is tabulated at half and all of each problem's trials.

Every (problem, sampler, seed) run is appended to ``runs.jsonl`` in the output folder as soon as
it finishes; a rerun skips the runs already there (resumable), ``--jobs`` runs them in parallel
processes, and a progress bar counts them.

    python benchmarks/multiobjective.py --quick                   # minutes: d=2, 2 seeds
    python benchmarks/multiobjective.py --dims 2,5,10 --seeds 5   # the committed run
    python benchmarks/multiobjective.py --suite compression --quick
    python benchmarks/multiobjective.py --suite compression --problems digits:60,mnist5k:40 \
        --seeds 5 --samplers whale,nsga2,tpe,random --jobs 1      # the committed compression run
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from tqdm import tqdm

DEFAULT_FUNCTIONS = "1,2,6,10,20,46"
SAMPLERS = ("whale", "nsga2", "tpe", "gp", "random")


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """NSGA-II here; the others from the harness (``optuna_whale.bench.samplers``)."""
    from optuna_whale.bench.samplers import make_sampler as harness_sampler

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose from {SAMPLERS}")
    return harness_sampler(name, seed)


def _biobj_problem(function: int, dim: int, instance: int) -> Any:
    import cocoex

    suite = cocoex.Suite(
        "bbob-biobj", f"instances: {instance}", f"dimensions: {dim} function_indices: {function}"
    )
    return suite.get_problem_by_function_dimension_instance(function, dim, instance)


COMPRESSION_PROBLEMS = ("digits", "mnist5k")


@functools.lru_cache(maxsize=2)
def compression_problem(name: str) -> tuple[Any, dict[str, Any]]:
    """(two-objective ``objective(trial) -> (accuracy, bytes)``, baseline figures), built once per process."""
    import torch

    from optuna_whale.compression import CompressionSpace, build_objective, measure
    from optuna_whale.compression.data import load_digits, load_mnist5k
    from optuna_whale.compression.models import SmallCNN
    from optuna_whale.compression.training import TrainConfig, train_inplace, train_until_converged

    torch.set_num_threads(1)
    torch.manual_seed(0)
    if name == "digits":
        splits = load_digits(seed=0)
        model = SmallCNN(image_size=8, width=16, hidden=64)
        cfg = TrainConfig(epochs=10, lr=3e-3, batch_size=64, seed=0, num_threads=1)
        train_inplace(model, splits.train, splits.val, cfg)
    elif name == "mnist5k":
        splits = load_mnist5k(seed=0)
        model = SmallCNN(image_size=28, width=16, hidden=128)
        cfg = TrainConfig(lr=1e-3, batch_size=64, seed=0, num_threads=1)
        train_until_converged(model, splits.train, splits.val, cfg, patience=4, max_epochs=40)
    else:
        raise ValueError(f"unknown compression problem {name!r}; choose from {COMPRESSION_PROBLEMS}")
    model.eval()
    base = measure(model, splits.val, splits.example_inputs, with_latency=False)
    space = CompressionSpace(
        prune_ratio=(0.0, 0.95), rank_layers=("fc1",), quantization=("none", "dynamic_int8", "fp16"),
        lr=(3e-4, 1e-2), finetune_epochs=(1, 2),
    )
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space, model=model,
                                train_config=cfg, multi_objective=True)
    return objective, {"accuracy": base.accuracy, "bytes": base.bytes, "macs": base.macs}


def run_compression(spec: dict[str, Any]) -> dict[str, Any]:
    """One two-objective compression study; values are (accuracy, bytes) in trial order."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    objective, baseline = compression_problem(spec["problem"])
    sampler = (optuna.samplers.NSGAIISampler(seed=spec["seed"], population_size=spec["nsga2_population"])
               if spec["sampler"] == "nsga2" else make_sampler(spec["sampler"], spec["seed"]))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=spec["trials"])
    elapsed = time.perf_counter() - t0
    return {**spec, "values": [list(t.values) for t in study.trials], "baseline": baseline,
            "seconds": elapsed}


def compression_points(values: np.ndarray, base_bytes: float) -> np.ndarray:
    """(accuracy, bytes) -> minimized ``(1 - accuracy, log10(bytes / base_bytes))``."""
    return np.column_stack([1.0 - values[:, 0], np.log10(values[:, 1] / base_bytes)])


def compression_hv_curve(values: np.ndarray, base_bytes: float, checkpoints: list[int]) -> list[float]:
    """HV (reference ``(1, 0)``, see the module docstring) of the first ``n`` trials for each ``n``."""
    from optuna._hypervolume import compute_hypervolume

    pts_all = compression_points(values, base_bytes)
    out = []
    for n in checkpoints:
        pts = pts_all[:n]
        pts = pts[(pts[:, 0] < 1.0) & (pts[:, 1] < 0.0)]
        out.append(float(compute_hypervolume(pts, np.array([1.0, 0.0]))) if len(pts) else 0.0)
    return out


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """One study; returns its objective values in trial order and the sampler time."""
    if spec.get("suite") == "compression":
        return run_compression(spec)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = _biobj_problem(spec["function"], spec["dim"], spec["instance"])
    dim = spec["dim"]

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(dim)])
        f = problem(x)
        return float(f[0]), float(f[1])

    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=make_sampler(spec["sampler"], spec["seed"])
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=spec["trials"])
    elapsed = time.perf_counter() - t0
    return {
        **spec,
        "values": [list(t.values) for t in study.trials],
        "nadir": [float(v) for v in problem.largest_fvalues_of_interest],
        "seconds": elapsed,
    }


def hypervolume_curve(values: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, checkpoints: list[int]) -> list[float]:
    """Normalised HV (reference (1, 1)) of the first ``n`` evaluations for each ``n``."""
    from optuna._hypervolume import compute_hypervolume

    scale = np.where(nadir > ideal, nadir - ideal, 1.0)
    norm = (values - ideal) / scale
    out = []
    for n in checkpoints:
        pts = norm[:n]
        pts = pts[(pts < 1.0).all(axis=1)]
        out.append(float(compute_hypervolume(pts, np.ones(2))) if len(pts) else 0.0)
    return out


def _parse_ints(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", default=DEFAULT_FUNCTIONS, help=f"bbob-biobj function ids 1-92 (default {DEFAULT_FUNCTIONS})")
    parser.add_argument("--dims", default="2,5,10", help="dimensions (default 2,5,10)")
    parser.add_argument("--instance", type=int, default=1, help="bbob-biobj instance id (default 1)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per (problem, sampler) (default 5)")
    parser.add_argument("--trials", type=int, default=300, help="trials per run (default 300)")
    parser.add_argument("--checkpoints", default="100,300", help="trial counts for the HV table (default 100,300)")
    parser.add_argument("--samplers", default=",".join(SAMPLERS), help=f"subset of {','.join(SAMPLERS)}")
    parser.add_argument("--gp-max-trials", type=int, default=100, help="GPSampler runs only this many trials (cubic cost; default 100)")
    parser.add_argument("--gp-max-dim", type=int, default=5, help="GPSampler only up to this dimension (default 5)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/multiobjective, with --suite compression "
                             "benchmarks/results/multiobjective/compression)")
    parser.add_argument("--quick", action="store_true", help="d=2, functions 1,10, 2 seeds, 100 trials "
                        "(compression: digits:8,mnist5k:6, 2 seeds)")
    parser.add_argument("--suite", choices=("bbob-biobj", "compression"), default="bbob-biobj",
                        help="problem family (default bbob-biobj)")
    parser.add_argument("--problems", default="digits:60,mnist5k:40",
                        help="compression suite: name:trials pairs (default digits:60,mnist5k:40)")
    parser.add_argument("--nsga2-population", type=int, default=10,
                        help="compression suite: NSGA-II population size (default 10; Optuna's 50 would "
                             "leave 40-60 trials in the random first generation)")
    args = parser.parse_args()
    if args.suite == "compression":
        main_compression(args)
        return
    if args.out is None:
        args.out = Path("benchmarks/results/multiobjective")
    if args.quick:
        args.functions, args.dims, args.seeds, args.trials, args.checkpoints = "1,10", "2", 2, 100, "50,100"
    samplers = args.samplers.split(",")
    bad = [s for s in samplers if s not in SAMPLERS]
    if bad:
        parser.error(f"--samplers: unknown {bad}; choose from {','.join(SAMPLERS)}")
    for name in ("seeds", "trials", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    checkpoints = sorted(_parse_ints(args.checkpoints))
    if checkpoints[-1] > args.trials:
        parser.error("--checkpoints must not exceed --trials")

    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "runs.jsonl"
    done = _finished_runs(runs_path, BIOBJ_KEY)
    specs = []
    for dim in _parse_ints(args.dims):
        for function in _parse_ints(args.functions):
            for sampler in samplers:
                if sampler == "gp" and dim > args.gp_max_dim:
                    continue
                trials = min(args.trials, args.gp_max_trials) if sampler == "gp" else args.trials
                for seed in range(args.seeds):
                    key = (function, dim, args.instance, sampler, seed, trials)
                    if key not in done:
                        specs.append(dict(zip(BIOBJ_KEY, key, strict=True)))
    _run_specs(specs, runs_path, done, BIOBJ_KEY, args.jobs)
    report(args, list(done.values()), samplers, checkpoints)


#: fields that identify a run in ``runs.jsonl`` (a rerun skips the runs already there)
BIOBJ_KEY = ("function", "dim", "instance", "sampler", "seed", "trials")
COMPRESSION_KEY = ("problem", "sampler", "seed", "trials")


def _run_key(rec: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(rec[f] for f in fields)


def _finished_runs(path: Path, fields: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The records already in ``path`` (JSON lines), by their key."""
    if not path.exists():
        return {}
    records = (json.loads(line) for line in path.read_text().splitlines())
    return {_run_key(rec, fields): rec for rec in records}


def _run_specs(
    specs: list[dict[str, Any]], path: Path, done: dict[tuple[Any, ...], dict[str, Any]],
    fields: tuple[str, ...], jobs: int,
) -> None:
    """Run ``specs`` in ``jobs`` processes, appending each record to ``path`` as it finishes
    (resumable) and to ``done``."""
    with ProcessPoolExecutor(max_workers=jobs) as pool, path.open("a") as sink:
        futures = [pool.submit(run_one, spec) for spec in specs]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="runs"):
            rec = fut.result()
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
            done[_run_key(rec, fields)] = rec


def _parse_problems(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(","):
        name, _, trials = part.partition(":")
        if name not in COMPRESSION_PROBLEMS or not trials.isdigit() or int(trials) < 2:
            raise ValueError(f"--problems: {part!r}; expected name:trials with name in {COMPRESSION_PROBLEMS}, trials >= 2")
        out[name] = int(trials)
    return out


def main_compression(args: argparse.Namespace) -> None:
    """Run (resumably) and report the compression suite."""
    if args.quick:
        args.problems, args.seeds = "digits:8,mnist5k:6", 2
        if args.out is None:
            import tempfile

            args.out = Path(tempfile.gettempdir()) / "optuna_whale_mo_compression_quick"
    if args.out is None:
        args.out = Path("benchmarks/results/multiobjective/compression")
    problems = _parse_problems(args.problems)
    samplers = args.samplers.split(",")
    bad = [s for s in samplers if s not in SAMPLERS]
    if bad:
        raise SystemExit(f"--samplers: unknown {bad}; choose from {','.join(SAMPLERS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "runs.jsonl"
    done = _finished_runs(runs_path, COMPRESSION_KEY)
    specs = [{"suite": "compression", "problem": prob, "sampler": s, "seed": seed, "trials": n,
              "nsga2_population": args.nsga2_population}
             for prob, n in problems.items() for s in samplers for seed in range(args.seeds)
             if (prob, s, seed, n) not in done]
    # problem-major order: each worker process trains a problem's base model once
    _run_specs(specs, runs_path, done, COMPRESSION_KEY, args.jobs)
    records = [r for k, r in done.items() if k[0] in problems and problems[k[0]] == k[3]
               and k[1] in samplers and k[2] < args.seeds]
    report_compression(args, records, samplers, problems)


def report_compression(args: argparse.Namespace, records: list[dict[str, Any]], samplers: list[str],
                       problems: dict[str, int]) -> None:
    """Markdown table of HV (median over seeds, ranks), best accuracy at size caps, plots, JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_problem[rec["problem"]].append(rec)
    lines = [
        "# Multi-objective benchmark: compression (accuracy vs bytes)", "",
        f"Command: `python benchmarks/multiobjective.py --suite compression --problems {args.problems} "
        f"--seeds {args.seeds} --samplers {','.join(samplers)} --nsga2-population {args.nsga2_population} "
        f"--jobs {args.jobs}`", "",
        "Two objectives per trial: validation accuracy (max) and serialized state_dict bytes (min) of the "
        "compressed model (structured pruning of conv1/conv2/fc1, fc1 low rank, quantization none/int8/fp16, "
        "1-2 fine-tune epochs; protocol in the docstring of `benchmarks/multiobjective.py`). Every run compresses "
        "the same trained base model; seeds are sampler seeds. Machine: 2 shared CPU cores with other "
        "benchmarks running, one torch thread, one run at a time.", "",
        "Hypervolume of `(1 - accuracy, log10(bytes / baseline bytes))` with reference point `(1, 0)` "
        "(accuracy 0, the uncompressed size): the area under the best-accuracy staircase over decades of "
        "compression (accuracy x decades; higher is better). Median over seeds, rank 1 = best (by median).", "",
    ]
    summary: dict[str, Any] = {}
    curves: dict[str, dict[str, np.ndarray]] = {}
    mean_ranks: dict[str, list[int]] = defaultdict(list)
    for prob, n in problems.items():
        recs = by_problem.get(prob, [])
        if not recs:
            continue
        base = recs[0]["baseline"]
        checkpoints = sorted({max(1, n // 2), n})
        grid = list(range(1, n + 1))
        curves[prob] = {}
        per: dict[str, list[list[float]]] = defaultdict(list)
        caps: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        secs: dict[str, list[float]] = defaultdict(list)
        for r in recs:
            vals = np.array(r["values"], dtype=float)
            per[r["sampler"]].append(compression_hv_curve(vals, base["bytes"], grid))
            secs[r["sampler"]].append(r["seconds"] / len(vals))
            for cap in (10, 50):
                ok = vals[vals[:, 1] <= base["bytes"] / cap]
                caps[r["sampler"]][cap].append(float(ok[:, 0].max()) if len(ok) else float("nan"))
        lines += [f"## {prob} (baseline val accuracy {base['accuracy']:.4f}, {base['bytes']} bytes; {n} trials x "
                  f"{args.seeds} seeds)", "",
                  "| sampler | " + " | ".join(f"HV at {c}" for c in checkpoints)
                  + " | best acc at <= 1/10 size | best acc at <= 1/50 size | seconds per trial |",
                  "|---|" + "---|" * (len(checkpoints) + 3)]
        med = {s: {c: float(np.median(np.array(per[s])[:, c - 1])) for c in checkpoints} for s in samplers if s in per}
        summary[prob] = {"baseline": base, "trials": n, "hv_median": med, "hv_all": {s: [c[-1] for c in per[s]] for s in per}}
        for s in samplers:
            if s not in per:
                continue
            arr = np.array(per[s])
            curves[prob][s] = arr
            cells = []
            for c in checkpoints:
                rank = 1 + sum(med[o][c] > med[s][c] for o in med)
                if c == n:
                    mean_ranks[s].append(rank)
                q1, q3 = np.quantile(arr[:, c - 1], [0.25, 0.75])
                cells.append(f"{med[s][c]:.3f} [{q1:.3f}, {q3:.3f}] ({rank})")
            cap_cells = [f"{np.nanmedian(caps[s][cap]):.4f}" if not all(math.isnan(v) for v in caps[s][cap]) else "-"
                         for cap in (10, 50)]
            lines.append(f"| {s} | " + " | ".join(cells) + " | " + " | ".join(cap_cells)
                         + f" | {np.median(secs[s]):.2f} |")
        lines += ["", "HV cells: median [quartiles] (rank). Best accuracy at a size cap: median over seeds of the "
                  "best validation accuracy among trials at most that fraction of the baseline's bytes (`-`: no "
                  "trial that small; the int8 state_dict alone has about 5 kB of overhead). Seconds per trial: "
                  "whole study / trials, i.e. mostly the objective.", ""]
    if mean_ranks:
        lines += ["Mean rank at the full trial count: "
                  + ", ".join(f"{s} {np.mean(v):.2f}" for s, v in mean_ranks.items()), ""]
    total = sum(r["seconds"] for r in records)
    lines += [f"Wall time: {total / 60:.1f} min of studies in all ({len(records)} runs, one at a time), plus "
              "training each base model once.", ""]
    lines += ["Plots: `hv_curves.png` (median and quartiles of HV vs trials), `fronts.png` (non-dominated "
              "trials of seed 0: validation accuracy vs bytes)."]
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    probs = list(curves)
    if not probs:
        return
    fig, axes = plt.subplots(1, len(probs), figsize=(5 * len(probs), 3.6), squeeze=False)
    for ax, prob in zip(axes[0], probs, strict=False):
        for s, arr in curves[prob].items():
            x = np.arange(1, arr.shape[1] + 1)
            ax.plot(x, np.median(arr, axis=0), label=s)
            ax.fill_between(x, np.quantile(arr, 0.25, axis=0), np.quantile(arr, 0.75, axis=0), alpha=0.2)
        ax.set_title(f"compression {prob}")
        ax.set_xlabel("trials")
        ax.set_ylabel("HV (accuracy x decades)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "hv_curves.png", dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, len(probs), figsize=(5 * len(probs), 3.6), squeeze=False)
    for ax, prob in zip(axes[0], probs, strict=False):
        base = by_problem[prob][0]["baseline"]
        for r in by_problem[prob]:
            if r["seed"] != 0:
                continue
            v = np.array(r["values"], dtype=float)
            order = np.lexsort((-v[:, 0], v[:, 1]))
            front, best = [], -1.0
            for i in order:
                if v[i, 0] > best:
                    front.append(v[i])
                    best = v[i, 0]
            f = np.array(front)
            ax.step(f[:, 1], f[:, 0], where="post", marker=".", ms=4, label=r["sampler"])
        ax.axvline(base["bytes"], color="k", lw=0.8, ls="--", label="baseline bytes")
        ax.set_xscale("log")
        ax.set_ylim(max(0.0, base["accuracy"] - 0.3), min(1.0, base["accuracy"] + 0.02))
        ax.set_xlabel("bytes (log)")
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"{prob} (seed 0)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "fronts.png", dpi=110)
    plt.close(fig)
    print("\n".join(lines))


def report(args: argparse.Namespace, records: list[dict[str, Any]], samplers: list[str], checkpoints: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wanted_f, wanted_d = set(_parse_ints(args.functions)), set(_parse_ints(args.dims))
    by_problem: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec["function"] in wanted_f and rec["dim"] in wanted_d and rec["instance"] == args.instance and rec["sampler"] in samplers and rec["seed"] < args.seeds:
            by_problem[(rec["function"], rec["dim"])].append(rec)
    grid = list(range(10, args.trials + 1, 10))
    table: dict[tuple[int, int], dict[str, dict[int, float]]] = {}
    curves: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    seconds: dict[str, list[float]] = defaultdict(list)
    for prob, recs in sorted(by_problem.items()):
        allv = np.concatenate([np.array(r["values"]) for r in recs])
        ideal = allv.min(axis=0)
        nadir = np.array(recs[0]["nadir"])
        per: dict[str, list[list[float]]] = defaultdict(list)
        for r in recs:
            vals = np.array(r["values"])
            pts = [n for n in grid if n <= len(vals)]
            per[r["sampler"]].append(hypervolume_curve(vals, ideal, nadir, pts))
            seconds[r["sampler"]].append(r["seconds"] / len(vals))
        table[prob], curves[prob] = {}, {}
        for s, cs in per.items():
            length = min(len(c) for c in cs)
            arr = np.array([c[:length] for c in cs])
            curves[prob][s] = arr
            table[prob][s] = {n: float(np.median(arr[:, grid.index(n)])) for n in checkpoints if grid.index(n) < length}

    lines = [
        "# Multi-objective benchmark (bbob-biobj)",
        "",
        f"Command: `python benchmarks/multiobjective.py --functions {args.functions} --dims {args.dims} "
        f"--instance {args.instance} --seeds {args.seeds} --trials {args.trials} --checkpoints {args.checkpoints} "
        f"--samplers {','.join(samplers)} --gp-max-trials {args.gp_max_trials} --gp-max-dim {args.gp_max_dim}`",
        "",
        "Normalised hypervolume (reference point = COCO's nadir, ideal = best value of each objective over all runs "
        "of the problem; higher is better), median over seeds. Rank 1 is best (per problem and budget, by median). "
        "GPSampler runs only up to its trial cap and dimension cap (`-` otherwise).",
        "",
    ]
    ranks: dict[int, dict[str, list[float]]] = {n: defaultdict(list) for n in checkpoints}
    wins: dict[int, list[int]] = {n: [0, 0, 0] for n in checkpoints}
    for n in checkpoints:
        lines += [f"## HV at {n} trials", "", "| problem | " + " | ".join(samplers) + " |", "|---|" + "---|" * len(samplers)]
        for prob, row in table.items():
            present = {s: row[s][n] for s in samplers if s in row and n in row[s]}
            order = sorted(present.values(), reverse=True)
            cells = []
            for s in samplers:
                if s in present:
                    rank = 1 + sum(v > present[s] for v in order)
                    ranks[n][s].append(rank)
                    cells.append(f"{present[s]:.4f} ({rank})")
                else:
                    cells.append("-")
            if "whale" in present and "nsga2" in present:
                w, g = present["whale"], present["nsga2"]
                wins[n][0 if w > g else (1 if w == g else 2)] += 1
            lines.append(f"| f{prob[0]} d={prob[1]} | " + " | ".join(cells) + " |")
        lines += ["", "Mean rank: " + ", ".join(f"{s} {np.mean(ranks[n][s]):.2f}" for s in samplers if ranks[n][s]), ""]
        lines += [f"WhaleSampler vs NSGA-II at {n} trials (by median HV): {wins[n][0]} wins, {wins[n][1]} ties, {wins[n][2]} losses.", ""]
    lines += ["## Sampler time", "", "| sampler | median seconds per trial (whole study / trials) |", "|---|---|"]
    for s in samplers:
        if seconds[s]:
            lines.append(f"| {s} | {np.median(seconds[s]):.4f} |")
    lines += ["", "Plots: `hv_curves.png` (median and quartiles of HV vs trials), `fronts.png` (first seed's non-dominated points).",
              "", "Compression problems (accuracy vs bytes, `--suite compression`): `compression/report.md`."]
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    (args.out / "summary.json").write_text(json.dumps({f"f{k[0]}_d{k[1]}": v for k, v in table.items()}, indent=1))

    probs = list(curves)
    if not probs:
        return
    cols = min(4, len(probs))
    rows = math.ceil(len(probs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, prob in zip(axes.flat, probs, strict=False):
        for s, arr in curves[prob].items():
            x = grid[: arr.shape[1]]
            ax.plot(x, np.median(arr, axis=0), label=s)
            ax.fill_between(x, np.quantile(arr, 0.25, axis=0), np.quantile(arr, 0.75, axis=0), alpha=0.2)
        ax.set_title(f"bbob-biobj f{prob[0]} d={prob[1]}")
        ax.set_xlabel("trials")
        ax.set_ylabel("normalised HV")
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(probs):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(args.out / "hv_curves.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, prob in zip(axes.flat, probs, strict=False):
        for r in by_problem[prob]:
            if r["seed"] != 0:
                continue
            v = np.array(r["values"])
            keep = [i for i in range(len(v)) if not any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(len(v)))]
            front = v[keep][np.argsort(v[keep][:, 0])]
            ax.plot(front[:, 0], front[:, 1], ".-", ms=3, label=r["sampler"])
        nadir = by_problem[prob][0]["nadir"]
        ax.set_xlim(right=nadir[0])
        ax.set_ylim(top=nadir[1])
        ax.set_title(f"f{prob[0]} d={prob[1]} (seed 0)")
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(probs):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(args.out / "fronts.png", dpi=110)
    plt.close(fig)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
