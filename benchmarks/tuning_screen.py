"""Screening runs on the BBOB tuning set (issue 8 discipline): instances 1-3, seed 0, budget 50 d.

Quick before/after checks of a WhaleSampler setting against CMA-ES, in 2 processes; prints the
median regret over the instances per function and writes ``OUT/TAG-dD.json``. Confirm anything
kept with ``benchmarks/compare.py`` (the harness); the log of what was tried is
``benchmarks/results/tuning/README.md``.

    python benchmarks/tuning_screen.py base 10
    python benchmarks/tuning_screen.py k4 10 --whale '{"screen_candidates": 4}'
    python benchmarks/tuning_screen.py cmaes 10 --cmaes --functions 1,8,15
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


def run(job: tuple[int, int, int, dict[str, Any], bool]) -> tuple[int, int, float]:
    from optuna_whale import WhaleSampler
    from optuna_whale.bench.problems import ProblemSpec

    function, dim, instance, kwargs, cmaes = job
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = ProblemSpec("bbob", function, dim, instance).build()
    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.CmaEsSampler(seed=0, warn_independent_sampling=False) if cmaes else WhaleSampler(seed=0, **kwargs)
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(problem.objective, n_trials=50 * dim)
    return function, instance, max(problem.regret(study.best_value), 1e-8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tag", help="name of this configuration (file name of the result)")
    parser.add_argument("dim", type=int, help="BBOB dimension")
    parser.add_argument("--whale", default="{}", help="WhaleSampler keyword arguments as JSON")
    parser.add_argument("--cmaes", action="store_true", help="run CmaEsSampler instead")
    parser.add_argument("--functions", default="1-24", help="e.g. 1-24 or 1,8,15")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tuning/screens"))
    args = parser.parse_args()
    from optuna_whale.bench.problems import parse_range

    functions = parse_range(args.functions)
    jobs = [(f, args.dim, i, json.loads(args.whale), args.cmaes) for f in functions for i in (1, 2, 3)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(tqdm(pool.map(run, jobs), total=len(jobs), desc=args.tag))
    medians = {f: float(np.median([r for g, _, r in results if g == f])) for f in functions}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.tag}-d{args.dim}.json").write_text(json.dumps(medians, indent=1))
    print(args.tag, args.dim, " ".join(f"f{f}:{v:.3g}" for f, v in medians.items()))


if __name__ == "__main__":
    main()
