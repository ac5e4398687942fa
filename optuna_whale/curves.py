"""Learning-curve extrapolation (numpy only): where a partial curve is going.

A curve is a sequence of values ``y_1..y_n`` at steps ``x_1 < .. < x_n`` (``x = step + 1``,
so the first step is 1); the *horizon* ``T`` is the step + 1 of the last value of a full curve.

Families (each is linear in ``(c, a)`` for a fixed shape ``theta``)
--------------------------------------------------------------------
    (F1) pow3:      y(x) = c + a * x ** (-theta)                 theta in [0.05, 3]
    (F2) log-power: y(x) = c + a * (1 + ln x) ** (-theta)        theta in [0.1, 6]
    (F3) exp:       y(x) = c + a * exp(-theta * x / T)           theta in [0.1, 30]

(pow3 and log-power are the three-parameter power law and a logarithmic decay of Domhan,
Springenberg & Hutter, IJCAI 2015; exp is their exponential family.)

Fit (variable projection). For every ``theta`` of a fixed log-spaced grid ``Theta_f`` the
least-squares ``(c, a)`` has a closed form; the fit of family ``f`` is the ``theta`` of least
sum of squares. With ``phi = phi_theta(x)`` and sample means ``<.>`` over the ``n`` points:

    (E1) a = (<phi y> - <phi><y>) / (<phi^2> - <phi>^2),  c = <y> - a <phi>
    (E2) S_f = min_theta sum_i (y_i - c - a phi_i)^2
    (E3) yhat_f = c + a * phi_theta(T)                      (the family's predicted final value)

Weights from the completed curves. For each completed curve ``j`` of the study (at most
``history``, the most recent), fit each family on the same prefix (the values up to the step the
running trial has reached) and measure its extrapolation error to the completed curve's value at
the horizon:

    (E4) MSE_f = mean_j (yhat_f^(j) - y_j(T))^2
    (E5) w_f = (1 / (MSE_f + eps)) / sum_g (1 / (MSE_g + eps))     eps = 1e-12 * (1 + scale^2)

and with no completed curve (or the prefix shorter than 3 points) ``w_f = 1/3`` and ``MSE_f`` is
replaced by the family's own fit residual ``S_f / max(n - 2, 1)``. The prediction is the
weighted mixture, its uncertainty the mixture's standard deviation:

    (E6) yhat = sum_f w_f yhat_f
    (E7) sigma^2 = sum_f w_f (MSE_f + (yhat_f - yhat)^2)

``sigma`` is therefore an empirical error of this extrapolator on this study's own curves at
this prefix length (plus the disagreement between families), not a Bayesian posterior.
A curve that already reached the horizon is its own prediction (``sigma = 0``); with fewer than
3 points nothing is known about the shape:

    (E0) n < 3:  yhat = y_n,  sigma = inf

Cost: ``O((m + 1) * G * n)`` for ``m`` history curves, ``G`` grid points (72 in all) and ``n``
prefix points, done as matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["FAMILIES", "Prediction", "extrapolate", "fit_families"]

#: family name -> (shape function phi(x, theta, T), grid of theta)
FAMILIES: tuple[str, ...] = ("pow3", "log-power", "exp")
_GRIDS = {
    "pow3": np.geomspace(0.05, 3.0, 24),
    "log-power": np.geomspace(0.1, 6.0, 24),
    "exp": np.geomspace(0.1, 30.0, 24),
}


def _phi(family: str, x: np.ndarray, horizon: float) -> np.ndarray:
    """``phi_theta(x)`` for every theta of the family's grid: shape (G, len(x))."""
    theta = _GRIDS[family][:, None]
    if family == "pow3":
        return x[None, :] ** (-theta)  # (F1)
    if family == "log-power":
        return (1.0 + np.log(x[None, :])) ** (-theta)  # (F2)
    return np.exp(-theta * x[None, :] / horizon)  # (F3)


@dataclass(frozen=True)
class Prediction:
    """Predicted value at the horizon, its uncertainty and the family weights (E6, E7, E5)."""

    value: float
    sigma: float
    weights: dict[str, float]


@lru_cache(maxsize=256)
def _design(x: tuple[float, ...], horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All families' ``phi`` stacked (shape ``(F * G, n)``), ``phi`` at the horizon, the means
    ``<phi>`` and the variances ``<phi^2> - <phi>^2`` (cached: a pruner asks for the same
    steps again and again)."""
    xs = np.asarray(x, dtype=float)
    phi = np.vstack([_phi(f, xs, horizon) for f in FAMILIES])
    at_t = np.concatenate([_phi(f, np.array([horizon]), horizon)[:, 0] for f in FAMILIES])
    mp = phi.mean(axis=1)
    vp = (phi * phi).mean(axis=1) - mp**2
    for a in (phi, at_t, mp, vp):
        a.setflags(write=False)
    return phi, at_t, mp, vp


def fit_families(x: np.ndarray, ys: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Fit every family to each row of ``ys`` (shape ``(m, n)``, values at steps + 1 ``x``).

    Returns ``(yhat, resid)``, each of shape ``(len(FAMILIES), m)``: the predicted value at
    ``horizon`` (E3) and the residual variance ``S_f / max(n - 2, 1)`` (E2).
    """
    ys = np.atleast_2d(np.asarray(ys, dtype=float))
    n = ys.shape[1]
    phi, at_t, mp, vp = _design(tuple(float(v) for v in np.asarray(x, dtype=float)), float(horizon))
    my = ys.mean(axis=1)  # (m,)
    vy = (ys * ys).mean(axis=1) - my**2
    cov = ys @ phi.T / n - my[:, None] * mp[None, :]  # (m, F*G): <phi y> - <phi><y>
    ok = vp > 1e-14
    a = np.where(ok[None, :], cov / np.where(ok, vp, 1.0)[None, :], 0.0)  # (E1)
    c = my[:, None] - a * mp[None, :]
    # S = n * (var(y) - a * cov) for the least-squares line in phi (E2)
    sse = np.maximum(n * (vy[:, None] - a * cov), 0.0)
    m, g = ys.shape[0], _GRIDS[FAMILIES[0]].size
    best = np.argmin(sse.reshape(m, len(FAMILIES), g), axis=2) + np.arange(len(FAMILIES)) * g  # (m, F)
    rows = np.arange(m)[:, None]
    yhat = c[rows, best] + a[rows, best] * at_t[best]  # (E3)
    resid = sse[rows, best] / max(n - 2, 1)
    return yhat.T, resid.T


def extrapolate(
    steps: Sequence[int],
    values: Sequence[float],
    horizon_step: int,
    history: np.ndarray | None = None,
    history_steps: Sequence[int] | None = None,
) -> Prediction:
    """Predict the value at ``horizon_step`` of the curve ``values`` reported at ``steps``.

    ``history`` (shape ``(m, H)``) holds completed curves on the common step grid
    ``history_steps`` (ascending, ending at ``horizon_step``; NaN where a curve did not report).
    Only completed curves with values at all the trial's steps and at the horizon weigh the
    families (E4, E5). Raises ``ValueError`` for empty or mismatched input.
    """
    s = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    if s.size == 0 or s.size != y.size:
        raise ValueError(f"steps and values must be non-empty and of equal length, got {s.size} and {y.size}")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite (NaN intermediate values are handled by the pruner)")
    if s[-1] >= horizon_step:
        return Prediction(float(y[-1]), 0.0, {f: 1.0 / len(FAMILIES) for f in FAMILIES})
    if s.size < 3:  # (E0) two points fit every family exactly: nothing known about the shape
        return Prediction(float(y[-1]), math.inf, {f: 1.0 / len(FAMILIES) for f in FAMILIES})
    x = s + 1.0
    horizon = float(horizon_step) + 1.0
    yhat, resid = fit_families(x, y[None, :], horizon)
    yhat_f, resid_f = yhat[:, 0], resid[:, 0]
    mse = resid_f
    if history is not None and history_steps is not None and len(history):
        grid = np.asarray(history_steps, dtype=float)
        cols = np.searchsorted(grid, s)
        inside = (cols < grid.size) & (grid[np.minimum(cols, grid.size - 1)] == s)
        if inside.all() and grid[-1] == horizon_step:
            sub = history[:, cols]
            final = history[:, -1]
            keep = np.all(np.isfinite(sub), axis=1) & np.isfinite(final)
            if keep.sum() >= 2:
                h_yhat, _ = fit_families(x, sub[keep], horizon)
                mse = np.mean((h_yhat - final[keep][None, :]) ** 2, axis=1)  # (E4)
    scale = float(np.max(np.abs(y))) if y.size else 1.0
    inv = 1.0 / (mse + 1e-12 * (1.0 + scale**2))
    w = inv / inv.sum()  # (E5)
    value = float(w @ yhat_f)  # (E6)
    sigma = float(np.sqrt(w @ (mse + (yhat_f - value) ** 2)))  # (E7)
    return Prediction(value, sigma, {f: float(v) for f, v in zip(FAMILIES, w, strict=True)})
