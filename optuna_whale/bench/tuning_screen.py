"""Screening runs on the tuning sets: quick before/after checks of one sampler setting.

BBOB (``dim > 0``): instances 1-3 (or any of the tuning instances 1-5), seed 0, budget ``50 d``. HPOBench (``dim == 0``): the
:data:`TUNING_DATASETS`, the given seeds, 100 trials. Categorical BBOB (``categorical = k > 0``,
the tuning set of moves on nominal parameters, NASBench201's kind of space): each coordinate
takes one of ``k`` levels ``-4 + 8 (j + 1/2) / k`` as an unordered choice, budget ``20 d``, regret
against the best of the ``k^d`` grid points (:func:`categorical_bbob`). :func:`run` is one (problem, replicate)
run, :func:`summarise` the per-problem figures; ``benchmarks/tuning_screen.py`` is the command
line and ``benchmarks/results/tuning/README.md`` the log of what was tried. A setting worth
keeping is confirmed with the harness (``benchmarks/compare.py``) on the held-out problems.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from optuna_whale.bench.problems import Problem, ProblemSpec
from optuna_whale.bench.samplers import make_sampler
from optuna_whale.bench.stats import auc, rankdata_rows, regret_curve

#: HPOBench datasets of the tuning set (the others are held out for the final table)
TUNING_DATASETS = ("car", "phoneme", "vehicle", "australian")
#: one run: (BBOB function or HPOBench dataset, dim (0: HPOBench), instance or seed,
#: WhaleSampler keyword arguments, "" for WhaleSampler or a harness sampler name, BBOB seed,
#: levels of categorical BBOB (0: continuous))
Job = tuple[Any, int, int, dict[str, Any], str, int, int]


#: budgets at which :func:`run` also reads the regret, as fractions of the run's trials
#: (BBOB 10 d / 20 d / 50 d; HPOBench 20 / 40 / 100 trials)
BUDGET_FRACTIONS = (0.2, 0.4, 1.0)
#: one run's result: (problem, replicate, final regret, AUC, regrets at BUDGET_FRACTIONS)
Result = tuple[Any, int, float, float, tuple[float, ...]]


def jobs(
    dim: int, functions: list[int], seeds: list[int], whale: dict[str, Any], other: str = "",
    instances: list[int] | None = None, seed: int = 0, categorical: int = 0,
) -> list[Job]:
    """BBOB functions x ``instances`` (default 1-3; the tuning instances are 1-5) at
    ``dim > 0`` with sampler seed ``seed`` (``categorical`` levels per coordinate, 0: continuous),
    else the tuning datasets x ``seeds``."""
    if categorical < 0 or categorical == 1 or (categorical and dim <= 0):
        raise ValueError(f"categorical must be 0 or at least 2 levels, with dim > 0; got {categorical} at dim {dim}.")
    if instances is not None and (not instances or max(instances) > 5 or min(instances) < 1):
        raise ValueError(f"tuning instances must lie in 1-5 (6-10 are held out), got {instances}.")
    problems: list[Any] = list(functions) if dim > 0 else list(TUNING_DATASETS)
    replicates = (instances or [1, 2, 3]) if dim > 0 else seeds
    return [(p, dim, r, whale, other, seed, categorical) for p in problems for r in replicates]


def categorical_bbob(function: int, dim: int, instance: int, levels: int) -> Problem:
    """A BBOB problem whose ``dim`` coordinates are each an unordered choice among ``levels``
    values ``-4 + 8 (j + 1/2) / levels`` (categorical parameters ``x0 .. x{d-1}`` with choices
    ``0 .. levels-1``), its optimum the best of the ``levels^dim`` grid points."""
    from optuna.distributions import BaseDistribution, CategoricalDistribution

    base = ProblemSpec("bbob", function, dim, instance).build()
    grid = -4.0 + 8.0 * (np.arange(levels) + 0.5) / levels
    names = [f"x{i}" for i in range(dim)]

    def evaluate(params: dict[str, Any]) -> float:
        return base.evaluate({n: float(grid[params[n]]) for n in names})

    cells = np.stack(np.meshgrid(*[np.arange(levels)] * dim, indexing="ij"), -1).reshape(-1, dim)
    optimum = min(evaluate(dict(zip(names, (int(v) for v in c), strict=True))) for c in cells)
    space: dict[str, BaseDistribution] = {n: CategoricalDistribution(list(range(levels))) for n in names}
    return Problem(ProblemSpec("bbob", function, dim, instance), space, evaluate, optimum)


def run(job: Job) -> Result:
    """One run: ``(problem, replicate, final regret, mean log10 regret over the trials,
    regrets at BUDGET_FRACTIONS of the trials)``.

    The sampler is the harness's ``other`` if given, else ``WhaleSampler(seed, **whale)`` (the
    setting under test)."""
    from optuna_whale import WhaleSampler

    problem_id, dim, replicate, whale, other, bbob_seed, levels = job
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if levels:  # categorical BBOB: the replicate is the instance
        problem = categorical_bbob(problem_id, dim, replicate, levels)
        seed, n_trials = bbob_seed, 20 * dim
    elif dim > 0:  # BBOB: the replicate is the instance
        problem = ProblemSpec("bbob", problem_id, dim, replicate).build()
        seed, n_trials = bbob_seed, 50 * dim
    else:  # HPOBench: the replicate is the seed
        problem = ProblemSpec("hpobench", dataset=problem_id).build()
        seed, n_trials = replicate, 100
    sampler = make_sampler(other, seed) if other else WhaleSampler(seed=seed, **whale)
    study = optuna.create_study(sampler=sampler)
    study.optimize(problem.objective, n_trials=n_trials)
    curve = regret_curve([t.value for t in study.trials], problem.optimum)
    at = tuple(float(curve[max(1, round(f * n_trials)) - 1]) for f in BUDGET_FRACTIONS)
    return problem_id, replicate, float(curve[-1]), auc(curve), at


def summarise(results: list[Result], hpobench: bool) -> dict[Any, Any]:
    """Per problem (in order of first appearance): the median final regret over replicates, and
    on HPOBench ``{"median_regret": ..., "mean_auc": ...}``."""
    problems = list(dict.fromkeys(r[0] for r in results))
    medians = {p: float(np.median([r[2] for r in results if r[0] == p])) for p in problems}
    if not hpobench:
        return medians
    aucs = {p: float(np.mean([r[3] for r in results if r[0] == p])) for p in problems}
    return {p: {"median_regret": medians[p], "mean_auc": aucs[p]} for p in problems}


def summarise_budgets(results: list[Result]) -> dict[str, dict[str, float]]:
    """``{fraction: {problem: median regret over replicates at that fraction of the trials}}``
    (JSON keys are strings)."""
    problems = list(dict.fromkeys(r[0] for r in results))
    return {
        str(f): {str(p): float(np.median([r[4][j] for r in results if r[0] == p])) for p in problems}
        for j, f in enumerate(BUDGET_FRACTIONS)
    }


def mean_ranks(summaries: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean rank per configuration and budget over the problems all configurations ran
    (``summaries``: ``{tag: summarise_budgets(...)}``; ties share the average rank, and regrets
    at :func:`~optuna_whale.bench.stats.regret_curve`'s floor, BBOB's target, tie)."""
    tags = list(summaries)
    out: dict[str, dict[str, float]] = {t: {} for t in tags}
    for f in summaries[tags[0]]:
        problems = sorted(set.intersection(*(set(summaries[t][f]) for t in tags)))
        if not problems:
            continue
        ranks = [rankdata_rows({t: summaries[t][f][p] for t in tags}) for p in problems]
        for t in tags:
            out[t][f] = float(np.mean([r[t] for r in ranks]))
    return out


def compare_runs(before: list[dict[str, Any]], after: list[dict[str, Any]], ratio: float = 1.5,
                 auc_margin: float = 0.1, fraction: float = 1.0) -> dict[str, dict[str, float]]:
    """Before/after on the same problems (harness records, ``runs.jsonl``), per group (e.g.
    ``bbob-constrained d=2``): per problem the median over instances and seeds of the final
    regret and of the AUC of the log10 regret curve (feasible trials only), then how many
    problems ``after`` is better / worse on (final regret by a factor ``ratio``, AUC by
    ``auc_margin`` decades), the sums of the AUCs and the median feasible fraction of the trials.
    With ``fraction`` < 1 each run counts only its first ``round(fraction n)`` trials (at least
    one): the comparison at a smaller budget.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"`fraction` must be in (0, 1], got {fraction!r}.")
    from optuna_whale.bench.report import feasible_share, feasible_values

    def per_problem(records: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float, float]]:
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for r in records:
            n = max(1, int(round(fraction * len(r["values"]))))
            r = {**r, "values": r["values"][:n], **({"feasible": r["feasible"][:n]} if r.get("feasible") else {})}
            curve = regret_curve(feasible_values(r), r["optimum"])
            share = feasible_share(r)
            frac = 1.0 if share is None else share
            runs.setdefault((r["group"], r["problem_id"]), []).append((float(curve[-1]), auc(curve), frac))
        return {k: tuple(float(np.median(col)) for col in zip(*v, strict=True)) for k, v in runs.items()}  # type: ignore[misc]

    a, b = per_problem(before), per_problem(after)
    out: dict[str, dict[str, float]] = {}
    for group in sorted({g for g, _ in a}):
        keys = sorted(k for k in a if k[0] == group and k in b)
        if not keys:
            continue
        row = dict(problems=len(keys), final_better=0, final_worse=0, auc_better=0, auc_worse=0)
        for k in keys:
            (fa, aa, _), (fb, ab, _) = a[k], b[k]
            row["final_better"] += fb * ratio < fa
            row["final_worse"] += fa * ratio < fb
            row["auc_better"] += ab < aa - auc_margin
            row["auc_worse"] += aa < ab - auc_margin
        out[group] = {
            **{k: float(v) for k, v in row.items()},
            "sum_auc_before": float(sum(a[k][1] for k in keys)),
            "sum_auc_after": float(sum(b[k][1] for k in keys)),
            "feasible_before": float(np.median([a[k][2] for k in keys])),
            "feasible_after": float(np.median([b[k][2] for k in keys])),
        }
    return out
