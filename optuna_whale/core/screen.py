"""Surrogate screening: draw ``K`` candidate moves, keep the one a cheap model ranks best.

The model is a ridge-regularised quadratic of the *ranks* of the cycle's best evaluations::

    q(z) = w_0 + sum_j w_j z_j + sum_{j <= k} w_jk z_j z_k       (d <= 10; above: z_j^2 only)  (Q1)
    z    = (x - x_best) / s,   s = per-coordinate spread of the ranked points              (Q2)
    w    = argmin sum_i (q(z_i) - i / n)^2 + 1e-3 n ||w||^2,   i = 0 (best) .. n - 1       (Q3)
    n    = min(2 #terms, 400) best evaluations of the cycle, best first                    (Q4)

Only the order of values matters (invariant to monotone transformations of the objective and to
shifts). It needs ``n >= d + 3`` evaluations; until then the first candidate is taken.
Screening adds no evaluation: it only chooses among moves the strategy would have made. It is
used for unconstrained single-objective studies only: a quadratic of the ranks cannot see a
feasibility boundary, so once any evaluation is infeasible (or with several objectives) every
move is taken as drawn (the fold then keeps no ranked points).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FULL_QUADRATIC_MAX_DIM", "quadratic_features", "rank_surrogate", "ranked_size"]

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


def rank_surrogate(ranked: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """The model (Q1)-(Q3) fitted to ``ranked`` (positions sorted best first); it predicts a
    rank-like score, lower is better. None with fewer than ``d + 3`` points."""
    n, d = ranked.shape
    if n < d + 3:
        return None
    centre = ranked[0]
    scale = ranked.std(axis=0) + 1e-12  # (Q2)
    phi = quadratic_features((ranked - centre) / scale)
    target = np.arange(n, dtype=float) / n
    lam = 1e-3 * n  # (Q3)
    # einsum rather than ``@``: these matrices are small, and BLAS threads on a busy machine
    # (other workers, other trials) cost far more than the arithmetic
    a = np.einsum("ij,ik->jk", phi, phi) + lam * np.eye(phi.shape[1])
    try:
        w = np.linalg.solve(a, np.einsum("ij,i->j", phi, target))
    except np.linalg.LinAlgError:
        return None
    return lambda x: np.einsum("ij,j->i", quadratic_features((np.atleast_2d(x) - centre) / scale), w)
