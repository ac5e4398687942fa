"""Surrogate screening: draw ``K`` candidate moves, keep the one a cheap model ranks best.

Two models of the *ranks* of the cycle's best evaluations are available (``screen_model``).
The default, ``"gp"``, is a Gaussian process on the ranks, and a candidate's score is its
negative expected improvement (EI) over the best rank: the design of surrogate-assisted
evolutionary algorithms that pre-screen offspring by EI (Emmerich, Giannakoglou & Naujoks 2006),
with the process of Rasmussen & Williams (2006) and the EI of Jones, Schonlau & Welch (1998)::

    y_i  = sqrt(12) (i - (n - 1) / 2) / n,   i = 0 (best) .. n - 1  (centred ranks, unit variance)  (G1)
    k(z, z') = exp(-||z - z'||^2 / (2 l^2)),   K = k(Z, Z) + sigma_n^2 I,   sigma_n^2 = 1e-2         (G2)
    l    = argmax_{l in sqrt(d) {1/4, 1/2, 1, 2, 4}}  -y' K^-1 y / 2 - log|K| / 2   (R&W eq. 2.30)   (G3)
    mu(z) = k(z, Z) K^-1 y,   sigma^2(z) = 1 + sigma_n^2 - k(z, Z) K^-1 k(Z, z)     (R&W eq. 2.25-26) (G4)
    EI(z) = (y_0 - mu) Phi(u) + sigma phi(u),   u = (y_0 - mu) / sigma,   score = -EI(z)           (G5)

with ``z`` the standardised position of (Q2) below and the same ``n`` points (Q4). It needs three
points. Expected improvement rather than the predicted mean: a candidate far from the data has
a large ``sigma``, so ``K = 8`` candidates can be screened without the over-exploitation that
made ``K = 8`` worse than 4 for a mean-only model (tuning log). The kernel has one length scale,
fitted by the marginal likelihood over five values (five Cholesky factorisations of at most
``400 x 400``; about 130 points at d = 10), so that a trial's overhead stays in milliseconds.
On the tuning sets the GP with EI and 8 candidates beat the quadratic with 4 at d = 5 and 10 at
every budget and at d = 2 at 10 d and 20 d trials, lost at d = 2 at 50 d; in constrained
studies (G6-G7) found better feasible values than (Q5-Q6) on more functions at d = 2 and 5, with
fewer trials feasible (``benchmarks/results/tuning/README.md``).

The other model, ``"quadratic"`` (the default before the GP), is a ridge-regularised quadratic::

    q(z) = w_0 + sum_j w_j z_j + sum_{j <= k} w_jk z_j z_k       (d <= 10; above: z_j^2 only)  (Q1)
    z    = (x - x_best) / s,   s = per-coordinate spread of the ranked points              (Q2)
    w    = argmin sum_i (q(z_i) - i / n)^2 + 1e-3 n ||w||^2,   i = 0 (best) .. n - 1       (Q3)
    n    = min(2 #terms, 400) best evaluations of the cycle, best first                    (Q4)

In a constrained study the ranks are those of the constrained order (O1-O3 of
:mod:`optuna_whale.core.records`: feasible by value, then infeasible by violation), and the
violation is modelled from the cycle's ``n`` newest evaluations, feasible or not (the ranked
points are nearly all feasible once the search has found the feasible region). With the GP, a
second process of the same form (G2-G4) fits their largest constraint values ``c_i = max_k
c_ik`` (negative inside the feasible region, so a feasible point tells how far inside it lies),
in a signed log scale and standardised to zero mean and unit variance (``m`` and ``s`` undone in
the prediction), and a candidate's score is its expected feasible improvement, EI times the
probability of feasibility (Schonlau, Welch & Jones 1998; Gardner et al. 2014)::

    t_i = sign(c_i) log(1 + |c_i| / median_j |c_j|)     (monotone, t <= 0 iff c <= 0)      (G6a)
    PF(z) = Phi(-mu_t(z) / sigma_t(z))                                                         (G6)
    score(x) = -EI(z) PF(z)                                                                     (G7)

With two or more constraints, given for each of the ``n`` points (the same number at each),
each constraint ``k`` gets its own process of that form, fitted to its own ``t_ik`` by (G6a)
(per constraint: its median, mean and spread; the factorisations of (G2) are shared, and (G3)
picks each one's length scale), and PF is the product over the constraints, taken as
independent as in Gardner et al. (2014) and Optuna's GPSampler::

    PF(z) = prod_k Phi(-mu_tk(z) / sigma_tk(z))                                                (G6b)

A single process on ``max_k c_ik`` has to fit the kinks where the largest constraint changes;
on the constrained tuning set one process per constraint found better feasible values with
more trials feasible (tuning log). A constraint with the same value at every point says
nothing about where the boundary lies and is left out.
(Without the largest constraint values, :meth:`~optuna_whale.core.optimizer.WhaleOptimizer.tell`
called with a violation only, the violations ``V_i >= 0`` stand in for ``c_i``: 0 on every
feasible point, so PF is about 1/2 there, a weight that orders candidates. The signed values
found better feasible values with more trials feasible on the tuning set: see the tuning log.)
With the quadratic, the violation is a second ridge quadratic on the same features, and a
candidate's score adds its predicted violation, weighted on the scale of the ranks (a predicted
violation of ``max V`` costs ``lambda_V`` times the whole rank range)::

    v(z) = u_0 + sum_j u_j z_j + sum_{j <= k} u_jk z_j z_k,  fitted like (Q3) to V_i / max V  (Q5)
    score(x) = q(z) + lambda_V max(0, v(z)),   lambda_V = 3                                (Q6)

(On the tuning set ``lambda_V = 3`` kept more trials feasible than 1 and found better values;
ranking a predicted violation behind every predicted-feasible candidate, ``lambda_V = inf``,
kept still more trials feasible but found worse values: see the tuning log.)

Only the order of values matters (invariant to monotone transformations of the objective and to
shifts). The quadratic needs ``n >= d + 3`` evaluations, the GP 3; until then the first
candidate is taken.
Screening adds no evaluation: it only chooses among moves the strategy would have made. It is
used for single-objective studies (with several objectives every move is taken as drawn, and
the fold keeps no ranked points).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "FULL_QUADRATIC_MAX_DIM", "SCREEN_MODELS", "gp_surrogate", "quadratic_features", "rank_surrogate",
    "ranked_size", "screen_surrogate",
]

#: The rank models (``screen_model``): a Gaussian process scored by expected improvement (G1-G5),
#: the default, or the ridge quadratic of (Q1)-(Q3)
SCREEN_MODELS = ("gp", "quadratic")
#: ``sigma_n^2`` of (G2): the ranks are exact, a small nugget keeps ``K`` well conditioned
GP_NOISE = 1e-2
#: the length scales of (G3), in units of ``sqrt(d)`` standardised spreads
GP_LENGTH_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)

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
    return screen_surrogate(ranked, model="quadratic")


def _frame(ranked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q2)'s ``x_best`` and per-coordinate spread ``s`` of the ranked points (best first)."""
    return ranked[0], ranked.std(axis=0) + 1e-12


def _violation_model(
    recent: np.ndarray | None, violations: np.ndarray | None, centre: np.ndarray, scale: np.ndarray
) -> np.ndarray | None:
    """(Q5)'s weights where some of the ``violations`` of the points ``recent`` is positive."""
    d = centre.size
    if recent is None or violations is None or violations.size < d + 3 or np.max(violations) <= 0:
        return None
    return _ridge(quadratic_features((recent - centre) / scale), violations / np.max(violations))  # (Q5)


def _normal_cdf(u: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.array([math.erf(t / math.sqrt(2.0)) for t in u.ravel()]).reshape(u.shape))


def rank_targets(n: int) -> np.ndarray:
    """(G1): the centred ranks of ``n`` points, best first, with unit variance."""
    return (np.arange(n, dtype=float) - (n - 1) / 2) / n * math.sqrt(12.0)


def _gp_predict(
    zc: np.ndarray, z: np.ndarray, ell: float, chol: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(G4) at standardised points ``zc``: the mean (one column per column of ``alpha``) and
    the standard deviation (the same for every column of one length scale)."""
    dz = zc[:, None, :] - z[None, :, :]
    ks = np.exp(-0.5 * np.einsum("ijk,ijk->ij", dz, dz) / ell**2)
    v = np.linalg.solve(chol, ks.T)
    var = 1.0 + GP_NOISE - np.einsum("ij,ij->j", v, v)  # (G4)
    return ks @ alpha, np.sqrt(np.maximum(var, 1e-12))


def fit_gp(z: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """(G2)-(G4) fitted to targets ``y`` (unit variance) at standardised points ``z``: a
    function of standardised points returning the predicted mean and standard deviation.
    ``y`` of shape ``(n, m)`` fits ``m`` processes at once, each with its own length scale (G3)
    but sharing the factorisations; the prediction is then ``(c, m)``. None where no length
    scale gives a factorisation."""
    n, d = z.shape
    diff = z[:, None, :] - z[None, :, :]
    sq = np.einsum("ijk,ijk->ij", diff, diff)
    fits: list[tuple[float, np.ndarray, np.ndarray]] = []
    width = 1 if y.ndim == 1 else y.shape[1]
    best, choice = np.full(width, -np.inf), np.full(width, -1)
    for ell in np.asarray(GP_LENGTH_SCALES) * math.sqrt(d):
        k = np.exp(-0.5 * sq / ell**2) + GP_NOISE * np.eye(n)  # (G2)
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            continue
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        fit = np.array([float(y @ alpha)]) if y.ndim == 1 else np.einsum("ij,ij->j", y, alpha)
        evidence = -0.5 * fit - float(np.log(np.diag(chol)).sum())  # (G3)
        better = evidence > best
        best[better], choice[better] = evidence[better], len(fits)
        fits.append((float(ell), chol, alpha))
    if not fits:
        return None
    if y.ndim == 1:
        ell, chol, alpha = fits[int(choice[0])]
        return lambda zc: _gp_predict(zc, z, ell, chol, alpha)
    used = [(fits[i], choice == i) for i in sorted(set(choice.tolist()))]

    def predict(zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, sd = np.empty((zc.shape[0], width)), np.empty((zc.shape[0], width))
        for (ell, chol, alpha), cols in used:
            mu[:, cols], s = _gp_predict(zc, z, ell, chol, alpha[:, cols])
            sd[:, cols] = s[:, None]
        return mu, sd

    return predict


def gp_surrogate(ranked: np.ndarray) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """The Gaussian process (G1)-(G4) fitted to ``ranked`` (positions sorted best first): a
    function of cube points returning the predicted mean and standard deviation of their
    rank (G1 units, lower is better). None with fewer than 3 points or no factorisation."""
    n = ranked.shape[0]
    if n < 3:
        return None
    centre, scale = _frame(ranked)  # (Q2)
    predict = fit_gp((ranked - centre) / scale, rank_targets(n))  # (G1)
    if predict is None:
        return None
    return lambda x: predict((np.atleast_2d(x) - centre) / scale)


def _constraint_scale(c: np.ndarray) -> tuple[np.ndarray, float, float] | None:
    """(G6a) of one constraint's values ``c`` (NaN already ``+inf``): the standardised ``t``,
    its mean ``m`` and spread ``s``; None where ``c`` is the same everywhere. An infinite value
    counts as twice the largest finite ``|c|``, with its sign."""
    finite = np.isfinite(c)
    big = float(np.max(np.abs(c[finite]))) if finite.any() else 0.0
    c = np.where(finite, c, np.sign(c) * (2.0 * big if big > 0 else 1.0))
    t = np.sign(c) * np.log1p(np.abs(c) / (float(np.median(np.abs(c))) + 1e-12))  # (G6a)
    m, s = float(t.mean()), float(t.std())
    if s == 0.0:
        return None
    return (t - m) / (s + 1e-12), m, s + 1e-12


def feasibility_gp(
    ranked: np.ndarray, recent: np.ndarray, constraints: np.ndarray
) -> Callable[[np.ndarray], np.ndarray] | None:
    """(G6): the probability that a cube point is feasible, from GPs on the signed constraint
    values (feasible iff ``<= 0``) of the points ``recent`` in the scale (G6a), in the frame (Q2)
    of the ``ranked`` points. ``constraints`` of shape ``(n,)`` or ``(n, 1)`` holds each point's
    largest value ``c_i``; of shape ``(n, m)``, each constraint ``c_ik`` gets its own process and
    PF is the product over them (G6b). A constraint with the same value at every point is left
    out (None where every one is)."""
    centre, scale = _frame(ranked)
    c = np.asarray(constraints, dtype=float).reshape(recent.shape[0], -1)
    scaled = [f for f in (_constraint_scale(c[:, k]) for k in range(c.shape[1])) if f is not None]
    if not scaled:
        return None
    one = len(scaled) == 1
    target = scaled[0][0] if one else np.column_stack([f[0] for f in scaled])
    m, s = np.array([f[1] for f in scaled]), np.array([f[2] for f in scaled])
    predict = fit_gp((recent - centre) / scale, target)
    if predict is None:
        return None

    def pf(x: np.ndarray) -> np.ndarray:
        mu, sd = predict((np.atleast_2d(x) - centre) / scale)  # (c,) for one process, else (c, m)
        p = _normal_cdf(-(m + s * mu) / (s * sd))  # (G6)
        return p if one else np.prod(p, axis=1)  # (G6b)

    return pf


def screen_surrogate(
    ranked: np.ndarray,
    recent: np.ndarray | None = None,
    violations: np.ndarray | None = None,
    model: str = "gp",
    constraints: np.ndarray | None = None,
) -> Callable[[np.ndarray], np.ndarray] | None:
    """The screen's score, lower is better: ``model`` (:data:`SCREEN_MODELS`) fitted to
    ``ranked`` (sorted best first), -EI (G5) for the GP, the quadratic's (Q1)-(Q3); where some
    of the ``violations`` of the points ``recent`` is positive, the GP's -EI times PF (G6-G7)
    of their signed ``constraints`` (``max_k c_k``; default: the violations), the quadratic's
    plus (Q5)-(Q6). None with too few ranked points (GP: 3, quadratic: d + 3)."""
    if model not in SCREEN_MODELS:
        raise ValueError(f"`screen_model` must be one of {SCREEN_MODELS}, got {model!r}.")
    n, d = ranked.shape
    if n < (3 if model == "gp" else d + 3):
        return None
    if model == "gp":
        return _gp_score(ranked, recent, violations, constraints)
    centre, scale = _frame(ranked)  # (Q2)
    w = _ridge(quadratic_features((ranked - centre) / scale), np.arange(n, dtype=float) / n)  # (Q3)
    if w is None:
        return None
    u = _violation_model(recent, violations, centre, scale)

    def score(x: np.ndarray) -> np.ndarray:
        f = quadratic_features((np.atleast_2d(x) - centre) / scale)
        s = np.einsum("ij,j->i", f, w)  # (Q1)
        if u is not None:
            s = s + VIOLATION_WEIGHT * np.maximum(np.einsum("ij,j->i", f, u), 0.0)  # (Q6)
        return s

    return score


def _gp_score(
    ranked: np.ndarray, recent: np.ndarray | None, violations: np.ndarray | None,
    constraints: np.ndarray | None = None,
) -> Callable[[np.ndarray], np.ndarray] | None:
    """-EI (G5), or -EI times PF (G6-G7) where some of the ``violations`` is positive."""
    gp = gp_surrogate(ranked)
    if gp is None:
        return None
    y_best = float(rank_targets(ranked.shape[0])[0])  # y_0 of (G1)
    pf = None
    if recent is not None and violations is not None and violations.size >= 3 and np.max(violations) > 0:
        pf = feasibility_gp(ranked, recent, violations if constraints is None else constraints)

    def score(x: np.ndarray) -> np.ndarray:
        mu, sd = gp(x)
        u = (y_best - mu) / sd
        ei = (y_best - mu) * _normal_cdf(u) + sd * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)  # (G5)
        return -ei if pf is None else -ei * pf(x)  # (G7)

    return score
