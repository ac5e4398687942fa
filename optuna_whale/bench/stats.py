"""Statistics on benchmark records: regret curves, AUC, ranks, paired tests, ECDF.

A record's ``problem_id`` is the unit of comparison; for BBOB it names (function, dimension)
and the instances and seeds run on it are its replicates, as in COCO.

* best-so-far regret ``r_n = min_{k<=n} f_k - f_opt`` (failed trials skipped), floored at
  :data:`REGRET_FLOOR` for logarithms;
* AUC: the mean of ``log10 r_n`` over ``n = 1..N`` (the normalised area under the log-regret
  best-so-far curve; lower is better);
* ranks: per problem and budget, samplers are ranked by their median regret over seeds (ties
  share the average rank), and ranks are averaged over the problems of a group;
  :func:`seed_ranks` instead ranks the runs of each (problem instance, seed) block and averages
  over blocks (the ``optuna-whale compare`` table: one problem, a few seeds);
* pairwise tests: Wilcoxon signed-rank on the per-problem medians of two samplers, Holm-corrected
  over all pairs (``scipy.stats.wilcoxon``);
* win/tie/loss of A vs B: per problem, a two-sided Mann-Whitney U test on the seeds' final
  regrets at level 0.05; significant -> the lower median wins, else tie;
* ECDF (COCO style): the fraction of (problem, target, seed) triples whose regret reached the
  target, against trials, with targets ``10^k`` for k in :data:`TARGET_EXPONENTS`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from optuna_whale.bench.samplers import SAMPLERS

REGRET_FLOOR = 1e-8
TARGET_EXPONENTS = tuple(range(2, -9, -1))


def regret_curve(values: Sequence[float | None], optimum: float) -> np.ndarray:
    """Best-so-far regret after each trial (inf until the first completed trial)."""
    v = np.array([np.inf if x is None else float(x) for x in values])
    best = np.minimum.accumulate(v) if len(v) else v
    return np.maximum(best - optimum, REGRET_FLOOR)


def auc(curve: np.ndarray) -> float:
    """Mean of log10 regret over the curve (inf entries count at the worst finite value)."""
    finite = curve[np.isfinite(curve)]
    if not finite.size:
        return float("inf")
    filled = np.where(np.isfinite(curve), curve, finite.max())
    return float(np.mean(np.log10(filled)))


def rankdata_rows(medians: dict[str, float]) -> dict[str, float]:
    names = list(medians)
    ranks = sps.rankdata([medians[n] for n in names])
    return {n: float(r) for n, r in zip(names, ranks, strict=True)}


def seed_ranks(records: list[dict[str, Any]]) -> dict[str, float]:
    """Mean rank of each sampler over the (problem instance, seed) blocks of ``records``.

    In a block the samplers are ranked by their run's best value (lowest first; ties share the
    average rank; a run without a completed trial ranks last); the ranks are averaged over blocks.
    """
    blocks: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for r in records:
        done = [float(v) for v in r["values"] if v is not None]
        key = (r.get("run_problem", r["problem_id"]), int(r.get("seed", 0)))
        blocks[key][r["sampler"]] = min(done) if done else float("inf")
    acc: dict[str, list[float]] = defaultdict(list)
    for row in blocks.values():
        for s, rk in rankdata_rows(row).items():
            acc[s].append(rk)
    return {s: float(np.mean(v)) for s, v in acc.items()}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[idx]))
        adjusted[idx] = running
    return adjusted.tolist()


def group_budgets(n_group: int, budgets: Sequence[int] | None, fractions: Sequence[float] | None) -> list[int]:
    """Budgets at which a group of ``n_group``-trial runs is ranked: the absolute ``budgets`` that
    fit, plus ``round(f * n_group)`` for each fraction ``f`` in (0, 1]; the final budget if none."""
    out = {int(b) for b in budgets or [] if 1 <= b <= n_group}
    for f in fractions or []:
        if not 0.0 < f <= 1.0:
            raise ValueError(f"budget fractions must be in (0, 1], got {f}.")
        out.add(max(1, round(f * n_group)))
    return sorted(out or {n_group})


def whale_behind(
    curves: dict[tuple[str, str], list[np.ndarray]], groups: dict[str, set[str]]
) -> dict[str, list[dict[str, Any]]]:
    """Per group, the problems where another sampler's median final regret is below
    WhaleSampler's: the best such sampler, both medians, their ratio and the two-sided
    Mann-Whitney p-value of the final regrets; largest ratio first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for g, pids in groups.items():
        rows: list[dict[str, Any]] = []
        for q in sorted(pids):
            if (q, "whale") not in curves:
                continue
            fw = [float(c[-1]) for c in curves[(q, "whale")]]
            others = {s: [float(c[-1]) for c in cs] for (p, s), cs in curves.items() if p == q and s != "whale"}
            if not others:
                continue
            best = min(others, key=lambda s: float(np.median(others[s])))
            mw, mb = float(np.median(fw)), float(np.median(others[best]))
            if mb >= mw:
                continue
            fb = others[best]
            p = 1.0 if np.allclose(fw, fb) or len(fw) < 2 or len(fb) < 2 else float(
                sps.mannwhitneyu(fw, fb, alternative="two-sided").pvalue
            )
            rows.append({"problem": q, "whale": mw, "best": best, "best_median": mb,
                         "ratio": mw / max(mb, 1e-300), "p": p})
        out[g] = sorted(rows, key=lambda r: -r["ratio"])
    return out


def win_tie_loss(a: Sequence[float], b: Sequence[float]) -> int:
    """0 (win), 1 (tie) or 2 (loss) of the runs ``a`` against ``b`` (lower is better): a tie
    unless a two-sided Mann-Whitney test gives p < 0.05 (equal runs, or fewer than 2 on a side,
    are a tie); then the lower median wins."""
    if np.allclose(a, b) or len(a) < 2 or len(b) < 2:
        return 1
    if float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue) >= 0.05:
        return 1
    return 0 if np.median(a) < np.median(b) else 2


def summarise(
    records: list[dict[str, Any]],
    budgets: Sequence[int] | None = None,
    fractions: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Per-problem tables, ranks per group and budget, pairwise tests, W/T/L and ECDFs.

    Ranks are computed per group at :func:`group_budgets` (e.g. ``fractions=(0.25, 0.5, 1)``
    ranks each BBOB dimension at a quarter, half and all of its ``50 d`` trials).
    """
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    groups: dict[str, set[str]] = defaultdict(set)
    samplers: list[str] = []
    for r in records:
        by[(r["problem_id"], r["sampler"])].append(r)
        groups[r["group"]].add(r["problem_id"])
        if r["sampler"] not in samplers:
            samplers.append(r["sampler"])
    # a fixed column order (the harness's sampler list, then others by name), whatever the
    # order in which parallel runs finished
    samplers.sort(key=lambda name: (SAMPLERS.index(name) if name in SAMPLERS else len(SAMPLERS), name))
    n_max = max(len(r["values"]) for r in records)
    n_group = {g: max(len(r["values"]) for r in records if r["group"] == g) for g in groups}
    per_group_budgets = {g: group_budgets(n_group[g], budgets, fractions) for g in groups}
    curves = {k: [regret_curve(r["values"], r["optimum"]) for r in rs] for k, rs in by.items()}

    per_problem: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (pid, s), cs in curves.items():
        finals = np.array([c[-1] for c in cs])
        aucs = np.array([auc(c) for c in cs])
        with np.errstate(invalid="ignore"):  # a run without a feasible trial: mean inf, sd nan
            mean, sd = float(np.mean(finals)), float(np.std(finals))
            auc_mean, auc_sd = float(np.mean(aucs)), float(np.std(aucs))
        per_problem[pid][s] = {
            "median": float(np.median(finals)),
            "mean": mean,
            "sd": sd,
            "auc_mean": auc_mean,
            "auc_sd": auc_sd,
            "seeds": len(cs),
        }

    def at(c: np.ndarray, b: int) -> float:
        return float(c[min(b, len(c)) - 1])

    ranks: dict[str, dict[int, dict[str, float]]] = {}
    for g, pids in groups.items():
        ranks[g] = {}
        for b in per_group_budgets[g]:
            acc: dict[str, list[float]] = defaultdict(list)
            for pid in sorted(pids):
                meds = {s: float(np.median([at(c, b) for c in curves[(pid, s)]])) for s in samplers if (pid, s) in curves and len(curves[(pid, s)][0]) >= b}
                for s, rk in rankdata_rows(meds).items():
                    acc[s].append(rk)
            ranks[g][b] = {s: float(np.mean(v)) for s, v in acc.items()}

    pairwise: dict[str, list[dict[str, Any]]] = {}
    wtl: dict[str, dict[str, dict[str, list[int]]]] = {}
    for g, pids in groups.items():
        rows: list[dict[str, Any]] = []
        for i, a in enumerate(samplers):
            for b_ in samplers[i + 1 :]:
                common = [q for q in sorted(pids) if (q, a) in curves and (q, b_) in curves]
                if len(common) < 2:
                    continue
                xa = [per_problem[q][a]["median"] for q in common]
                xb = [per_problem[q][b_]["median"] for q in common]
                with np.errstate(invalid="ignore"):
                    diff = np.log10(xa) - np.log10(xb)
                # both unsolved (inf - inf): a tie, which the signed-rank test drops like any zero
                diff = np.where(np.isnan(diff), 0.0, diff)
                pval = 1.0 if np.allclose(diff, 0) else float(sps.wilcoxon(diff).pvalue)
                rows.append({"a": a, "b": b_, "n": len(common), "p": pval, "a_better": int(np.sum(diff < 0)), "b_better": int(np.sum(diff > 0))})
        for row, adj in zip(rows, holm([r["p"] for r in rows]), strict=True):
            row["p_holm"] = adj
        pairwise[g] = rows
        wtl[g] = {}
        for a in samplers:
            wtl[g][a] = {}
            for b_ in samplers:
                if a == b_:
                    continue
                counts = [0, 0, 0]
                for q in sorted(pids):
                    if (q, a) in curves and (q, b_) in curves:
                        counts[win_tie_loss([c[-1] for c in curves[(q, a)]], [c[-1] for c in curves[(q, b_)]])] += 1
                wtl[g][a][b_] = counts

    behind = whale_behind(curves, groups) if "whale" in samplers else {}

    ecdf: dict[str, dict[str, list[float]]] = {}
    targets = [10.0**k for k in TARGET_EXPONENTS]
    for g, pids in groups.items():
        ecdf[g] = {}
        for s in samplers:
            hits = np.zeros(n_max)
            total = 0
            for q in sorted(pids):
                for c in curves.get((q, s), []):
                    for tg in targets:
                        total += 1
                        reached = np.flatnonzero(c <= tg)
                        if reached.size:
                            hits[reached[0] :] += 1
            if total:
                ecdf[g][s] = (hits / total).tolist()
    return {
        "samplers": samplers,
        "groups": {g: sorted(p) for g, p in groups.items()},
        "budgets": per_group_budgets,
        "per_problem": per_problem,
        "ranks": ranks,
        "pairwise": pairwise,
        "wtl": wtl,
        "behind": behind,
        "ecdf": ecdf,
        "curves": {f"{k[0]}|{k[1]}": [c.tolist() for c in v] for k, v in curves.items()},
    }
