"""Surrogate screening: draw ``K`` candidate moves, keep the one a cheap model ranks best.

The model is a ridge-regularised quadratic of the *ranks* of the cycle's best evaluations::

    q(z) = w_0 + sum_j w_j z_j + sum_{j <= k} w_jk z_j z_k       (d <= 10; above: z_j^2 only)  (Q1)
    z    = (x - x_best) / s,   s = per-coordinate spread of the ranked points              (Q2)
    w    = argmin sum_i (q(z_i) - i / n)^2 + 1e-3 n ||w||^2,   i = 0 (best) .. n - 1       (Q3)
    n    = min(2 #terms, 400) best evaluations of the cycle, best first                    (Q4)

In a constrained study the ranks are those of the constrained order (O1-O3 of
:mod:`optuna_whale.core.records`: feasible by value, then infeasible by violation), and the
violation itself is modelled by a second ridge quadratic on the same features, fitted to the
cycle's ``n`` newest evaluations, feasible or not (the ranked points are nearly all feasible
once the search has found the feasible region); a candidate's score adds its predicted
violation, weighted on the scale of the ranks (a predicted violation of ``max V`` costs
``lambda_V`` times the whole rank range)::

    v(z) = u_0 + sum_j u_j z_j + sum_{j <= k} u_jk z_j z_k,  fitted like (Q3) to V_i / max V  (Q5)
    score(x) = q(z) + lambda_V max(0, v(z)),   lambda_V = 3                                (Q6)

(On the tuning set ``lambda_V = 3`` kept more trials feasible than 1 and found better values;
ranking a predicted violation behind every predicted-feasible candidate, ``lambda_V = inf``,
kept still more trials feasible but found worse values: see the tuning log.)

Only the order of values matters (invariant to monotone transformations of the objective and to
shifts). It needs ``n >= d + 3`` evaluations; until then the first candidate is taken.
Screening adds no evaluation: it only chooses among moves the strategy would have made. It is
used for single-objective studies (with several objectives every move is taken as drawn, and
the fold keeps no ranked points).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FULL_QUADRATIC_MAX_DIM", "quadratic_features", "rank_surrogate", "ranked_size", "screen_surrogate"]

#: ``lambda_V`` of (Q6): weight of the predicted violation against the rank range
VIOLATION_WEIGHT = 3.0
#: Largest cube dimension with a full quadratic (66 terms at d = 10); above it the surrogate is
#: separable (``1 + 2 d`` terms) to keep a trial's overhead in milliseconds.
FULL_QUADRATIC_MAX_DIM = 10
_MAX_RANKED = 400


def n_terms(dim: int) -> int:
    """Terms of (Q1)."""
    return (dim + 1) * (dim + 2) // 2 if dim <= FULL_QUADRATIC_MAX_DIM else 1 + 2 * dim


def ranked_size(dim: int) -> int:
    """(Q4): how many of the cycle's best evaluations the surrogate is fitted to."""
    return min(2 * n_terms(dim), _MAX_RANKED)


def quadratic_features(z: np.ndarray) -> np.ndarray:
    """(Q1)'s features ``[1, z_j, z_j z_k (j <= k)]`` (full) or ``[1, z_j, z_j^2]`` (separable)."""
    d = z.shape[1]
    if d > FULL_QUADRATIC_MAX_DIM:
        return np.hstack([np.ones((z.shape[0], 1)), z, z * z])
    iu = np.triu_indices(d)
    quad = (z[:, :, None] * z[:, None, :])[:, iu[0], iu[1]]
    return np.hstack([np.ones((z.shape[0], 1)), z, quad])


def _ridge(phi: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """(Q3)'s ridge least squares, ``lam = 1e-3 n``; None where the system is singular."""
    lam = 1e-3 * phi.shape[0]
    # einsum rather than ``@``: these matrices are small, and BLAS threads on a busy machine
    # (other workers, other trials) cost far more than the arithmetic
    a = np.einsum("ij,ik->jk", phi, phi) + lam * np.eye(phi.shape[1])
    try:
        return np.linalg.solve(a, np.einsum("ij,i->j", phi, target))
    except np.linalg.LinAlgError:
        return None


def rank_surrogate(ranked: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model (Q1)-(Q3) fitted to ``ranked`` (positions sorted best first); it predicts a
    rank-like score, lower is better. None with fewer than ``d + 3`` points."""
    return screen_surrogate(ranked)


def screen_surrogate(
    ranked: np.ndarray, recent: np.ndarray | None = None, violations: np.ndarray | None = None
) -> Callable[[np.ndarray], np.ndarray] | None:
    """The screen's score, lower is better: (Q1)-(Q3) on ``ranked`` (sorted best first), plus
    (Q5)-(Q6) fitted to the points ``recent`` and their ``violations`` where some violation is
    positive. None with fewer than ``d + 3`` ranked points."""
    n, d = ranked.shape
    if n < d + 3:
        return None
    centre = ranked[0]
    scale = ranked.std(axis=0) + 1e-12  # (Q2)
    phi = quadratic_features((ranked - centre) / scale)
    w = _ridge(phi, np.arange(n, dtype=float) / n)  # (Q3)
    if w is None:
        return None
    u = None
    if recent is not None and violations is not None and violations.size >= d + 3 and np.max(violations) > 0:
        u = _ridge(quadratic_features((recent - centre) / scale), violations / np.max(violations))  # (Q5)

    def score(x: np.ndarray) -> np.ndarray:
        f = quadratic_features((np.atleast_2d(x) - centre) / scale)
        s = np.einsum("ij,j->i", f, w)
        if u is not None:
            s = s + VIOLATION_WEIGHT * np.maximum(np.einsum("ij,j->i", f, u), 0.0)  # (Q6)
        return s

    return score
