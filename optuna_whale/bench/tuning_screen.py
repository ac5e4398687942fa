"""Screening runs on the tuning sets: quick before/after checks of one sampler setting.

BBOB (``dim > 0``): instances 1-3, seed 0, budget ``50 d``. HPOBench (``dim == 0``): the
:data:`TUNING_DATASETS`, the given seeds, 100 trials. :func:`run` is one (problem, replicate)
run, :func:`summarise` the per-problem figures; ``benchmarks/tuning_screen.py`` is the command
line and ``benchmarks/results/tuning/README.md`` the log of what was tried. A setting worth
keeping is confirmed with the harness (``benchmarks/compare.py``) on the held-out problems.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from optuna_whale.bench.problems import ProblemSpec
from optuna_whale.bench.samplers import make_sampler
from optuna_whale.bench.stats import auc, regret_curve

#: HPOBench datasets of the tuning set (the others are held out for the final table)
TUNING_DATASETS = ("car", "phoneme", "vehicle", "australian")
#: one run: (BBOB function or HPOBench dataset, dim (0: HPOBench), instance or seed,
#: WhaleSampler keyword arguments, "" for WhaleSampler or a harness sampler name)
Job = tuple[Any, int, int, dict[str, Any], str]


def jobs(dim: int, functions: list[int], seeds: list[int], whale: dict[str, Any], other: str = "") -> list[Job]:
    """BBOB functions x instances 1-3 at ``dim > 0``, else the tuning datasets x ``seeds``."""
    problems: list[Any] = list(functions) if dim > 0 else list(TUNING_DATASETS)
    replicates = [1, 2, 3] if dim > 0 else seeds
    return [(p, dim, r, whale, other) for p in problems for r in replicates]


def run(job: Job) -> tuple[Any, int, float, float]:
    """One run: ``(problem, replicate, final regret, mean log10 regret over the trials)``.

    The sampler is the harness's ``other`` if given, else ``WhaleSampler(seed, **whale)`` (the
    setting under test)."""
    from optuna_whale import WhaleSampler

    problem_id, dim, replicate, whale, other = job
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if dim > 0:  # BBOB: the replicate is the instance, the seed is 0
        problem = ProblemSpec("bbob", problem_id, dim, replicate).build()
        seed, n_trials = 0, 50 * dim
    else:  # HPOBench: the replicate is the seed
        problem = ProblemSpec("hpobench", dataset=problem_id).build()
        seed, n_trials = replicate, 100
    sampler = make_sampler(other, seed) if other else WhaleSampler(seed=seed, **whale)
    study = optuna.create_study(sampler=sampler)
    study.optimize(problem.objective, n_trials=n_trials)
    curve = regret_curve([t.value for t in study.trials], problem.optimum)
    return problem_id, replicate, float(curve[-1]), auc(curve)


def summarise(results: list[tuple[Any, int, float, float]], hpobench: bool) -> dict[Any, Any]:
    """Per problem (in order of first appearance): the median final regret over replicates, and
    on HPOBench ``{"median_regret": ..., "mean_auc": ...}``."""
    problems = list(dict.fromkeys(p for p, _, _, _ in results))
    medians = {p: float(np.median([r for q, _, r, _ in results if q == p])) for p in problems}
    if not hpobench:
        return medians
    aucs = {p: float(np.mean([a for q, _, _, a in results if q == p])) for p in problems}
    return {p: {"median_regret": medians[p], "mean_auc": aucs[p]} for p in problems}
