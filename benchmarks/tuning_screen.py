"""Screening runs on the tuning sets (issue 8 discipline).

BBOB (``DIM`` > 0): instances 1-3, seed 0, budget 50 d. HPOBench (``DIM`` = 0): the tuning
datasets car, phoneme, vehicle, australian, seeds 0-9, 100 trials. Quick before/after checks of
a WhaleSampler setting (or CMA-ES / TPE), in 2 processes; prints the median regret over the
instances (seeds) per problem, and for HPOBench also the mean AUC of the log10 regret curve,
and writes ``OUT/TAG-dD.json``. Confirm anything kept with ``benchmarks/compare.py`` (the
harness); the log of what was tried is ``benchmarks/results/tuning/README.md``.

    python benchmarks/tuning_screen.py base 10
    python benchmarks/tuning_screen.py k4 10 --whale '{"screen_candidates": 4}'
    python benchmarks/tuning_screen.py cmaes 10 --cmaes --functions 1,8,15
    python benchmarks/tuning_screen.py k8 0 --whale '{"screen_candidates": 8}'
    python benchmarks/tuning_screen.py tpe 0 --tpe
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from tqdm import tqdm

#: HPOBench datasets of the tuning set (the others are held out for the final table)
TUNING_DATASETS = ("car", "phoneme", "vehicle", "australian")


def run(job: tuple[Any, int, int, dict[str, Any], str]) -> tuple[Any, int, float, float]:
    """One run: ``(problem, replicate, final regret, mean log10 regret over the trials)``."""
    from optuna_whale import WhaleSampler
    from optuna_whale.bench.problems import ProblemSpec
    from optuna_whale.bench.stats import auc, regret_curve

    problem_id, dim, replicate, kwargs, other = job
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if dim > 0:  # BBOB: the replicate is the instance, the seed is 0
        problem = ProblemSpec("bbob", problem_id, dim, replicate).build()
        seed, n_trials = 0, 50 * dim
    else:  # HPOBench: the replicate is the seed
        problem = ProblemSpec("hpobench", dataset=problem_id).build()
        seed, n_trials = replicate, 100
    sampler: optuna.samplers.BaseSampler
    if other == "cmaes":
        sampler = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    elif other == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = WhaleSampler(seed=seed, **kwargs)
    study = optuna.create_study(sampler=sampler)
    study.optimize(problem.objective, n_trials=n_trials)
    curve = regret_curve([t.value for t in study.trials], problem.optimum)
    return problem_id, replicate, float(curve[-1]), auc(curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tag", help="name of this configuration (file name of the result)")
    parser.add_argument("dim", type=int, help="BBOB dimension; 0: the HPOBench tuning datasets")
    parser.add_argument("--whale", default="{}", help="WhaleSampler keyword arguments as JSON")
    parser.add_argument("--cmaes", action="store_true", help="run CmaEsSampler instead")
    parser.add_argument("--tpe", action="store_true", help="run TPESampler instead")
    parser.add_argument("--functions", default="1-24", help="BBOB functions, e.g. 1-24 or 1,8,15")
    parser.add_argument("--seeds", default="0-9", help="HPOBench seeds, e.g. 0-9 (default) or 10-19")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tuning/screens"))
    args = parser.parse_args()
    from optuna_whale.bench.problems import parse_range

    other = "cmaes" if args.cmaes else "tpe" if args.tpe else ""
    kwargs = json.loads(args.whale)
    problems: list[Any]
    if args.dim > 0:
        problems, replicates = parse_range(args.functions), [1, 2, 3]
    else:
        problems, replicates = list(TUNING_DATASETS), parse_range(args.seeds)
    jobs = [(p, args.dim, r, kwargs, other) for p in problems for r in replicates]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(tqdm(pool.map(run, jobs), total=len(jobs), desc=args.tag))
    medians = {p: float(np.median([r for q, _, r, _ in results if q == p])) for p in problems}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.dim > 0:
        (args.out / f"{args.tag}-d{args.dim}.json").write_text(json.dumps(medians, indent=1))
        print(args.tag, args.dim, " ".join(f"f{f}:{v:.3g}" for f, v in medians.items()))
        return
    aucs = {p: float(np.mean([a for q, _, _, a in results if q == p])) for p in problems}
    out = {p: {"median_regret": medians[p], "mean_auc": aucs[p]} for p in problems}
    suffix = "" if args.seeds == "0-9" else f"-s{args.seeds}"
    (args.out / f"{args.tag}-hpobench{suffix}.json").write_text(json.dumps(out, indent=1))
    print(args.tag, "hpobench", " ".join(f"{p}:{medians[p]:.3g}/{aucs[p]:.2f}" for p in problems),
          f"sum AUC {sum(aucs.values()):.2f}")


if __name__ == "__main__":
    main()
