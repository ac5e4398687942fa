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

Every (problem, sampler, seed) run is appended to ``runs.jsonl`` in the output folder as soon as
it finishes; a rerun skips the runs already there (resumable), ``--jobs`` runs them in parallel
processes, and a progress bar counts them.

    python benchmarks/multiobjective.py --quick                   # minutes: d=2, 2 seeds
    python benchmarks/multiobjective.py --dims 2,5,10 --seeds 5   # the committed run
"""

from __future__ import annotations

import argparse
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
    if name == "whale":
        from optuna_whale import WhaleSampler

        return WhaleSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; choose from {SAMPLERS}")


def _biobj_problem(function: int, dim: int, instance: int) -> Any:
    import cocoex

    suite = cocoex.Suite(
        "bbob-biobj", f"instances: {instance}", f"dimensions: {dim} function_indices: {function}"
    )
    return suite.get_problem_by_function_dimension_instance(function, dim, instance)


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """One study; returns its objective values in trial order and the sampler time."""
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
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/multiobjective"), help="output folder")
    parser.add_argument("--quick", action="store_true", help="d=2, functions 1,10, 2 seeds, 100 trials")
    args = parser.parse_args()
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
    done: dict[tuple, dict[str, Any]] = {}
    if runs_path.exists():
        for line in runs_path.read_text().splitlines():
            rec = json.loads(line)
            done[(rec["function"], rec["dim"], rec["instance"], rec["sampler"], rec["seed"], rec["trials"])] = rec
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
                        specs.append(dict(zip(("function", "dim", "instance", "sampler", "seed", "trials"), key, strict=True)))
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, runs_path.open("a") as sink:
        futures = [pool.submit(run_one, s) for s in specs]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="runs"):
            rec = fut.result()
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
            done[(rec["function"], rec["dim"], rec["instance"], rec["sampler"], rec["seed"], rec["trials"])] = rec
    report(args, list(done.values()), samplers, checkpoints)


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
    lines += ["", "Plots: `hv_curves.png` (median and quartiles of HV vs trials), `fronts.png` (first seed's non-dominated points)."]
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
