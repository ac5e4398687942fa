"""The moves: where whale ``i`` goes next, given the population (every WOA equation is here).

A move strategy is a callable ``moves(pop, i, config, rng) -> Step`` on the unit cube. ``X*`` is
the leader's position (:meth:`~optuna_whale.core.fold.Population.leader_position`), ``X_i``
whale ``i``'s incumbent, ``X_r`` a random other whale, and ``a``, ``l_-`` the schedule's
coefficients (:mod:`optuna_whale.core.schedule`, (S1), (S2)).

Whale moves (default; shift-invariant, coefficients drawn per dimension ``j``)
-----------------------------------------------------------------------------
::

    A_j = a (2 r_j - 1),  C_j = 2 r'_j,  l_j = (l_- - 1) r''_j + 1,  r, r', r'' ~ U(0, 1)   (W1)
    p <  0.5, |A_0| >= 1 :  X' = X_r - A ⊙ |C ⊙ (X_r - X_i)|          search for prey      (W2)
    p <  0.5, |A_0| <  1 :  X' = X* - A ⊙ |C ⊙ (X* - X_i)|            encircling prey      (W3)
    p >= 0.5             :  X' = X* + |X* - X_i| ⊙ e^(b l) ⊙ cos(2 π l)   bubble-net spiral (W4)

``A_0 = a (2 r_0 - 1)`` is one scalar draw per move that keeps the canonical odds of exploring
(``1 - 1/a`` while ``a > 1``). Only differences of positions appear, so a shifted problem gives
a shifted search (no centre bias). When ``X_i`` is the reference itself the difference would
vanish, so a random partner ``X_r`` stands in for ``X_i``. With probability ``p_e``
(``eigen_probability``) a move is taken in the eigenbasis ``B`` of the covariance of the elite
(the best ``max(2d, N_c)`` evaluations of the cycle)::

    D -> B f(B^T D)      (f: the per-coordinate operation of (W2)-(W4))                  (W5)

so that on a rotated, ill-conditioned valley the per-coordinate draws follow the valley's axes.
``B`` is computed once per population snapshot; above ``EIGEN_DEGENERATE_MAX_DIM`` cube
dimensions an elite of no more points than dimensions (a rank-deficient covariance) moves on
the axes instead (:func:`eigenbasis`).
Points that leave the cube are reflected, never clipped (clipping piles points onto the bounds
and flatters problems whose optimum is on a bound)::

    reflect(x) = y if y <= 1 else 2 - y,   y = x mod 2                                   (W6)

Canonical whale moves (Mirjalili & Lewis 2016)
---------------------------------------------
``A = 2 a r_1 - a``, ``C = 2 r_2``, ``p``, ``l`` are one scalar per move; in the problem's own
coordinates ``Z`` (the box ``native_lower``/``native_upper``, where the centre bias lives)::

    search:    Z' = Z_r - A |C Z_r - Z_i|                                               (W7)
    encircle:  Z' = Z* - A |C Z* - Z_i|                                                 (W8)
    spiral:    Z' = |Z* - Z_i| e^(b l) cos(2 π l) + Z*                                   (W9)

and the result is clipped to the box.

Categorical resampling (default variant, spaces with categorical parameters)
--------------------------------------------------------------------------
A categorical with ``k`` choices takes ``k`` one-hot coordinates and its value is their argmax.
Once the whales agree on a choice, difference moves never leave it, so after every move each
categorical block is, with probability ``1 / n_params``, set to the vertex of another choice
drawn uniformly (the usual mutation of mixed-variable evolutionary algorithms); the screen
then judges the candidate like any other::

    with prob. 1 / n_params:  X'_b = e_c,  c ~ U({0 .. k-1} minus {argmax X'_b})         (C1)

Ablation moves (the same machinery, other moves)
-----------------------------------------------
With ``D = X* - X_i`` (a partner standing in as above) and the frame ``B`` chosen as in (W5)::

    gaussian:  X' = X* + B (s ⊙ z),  s = (a / 2) |B^T D|,  z ~ N(0, I)                   (A1)
    de:        V  = X_i + F (X* - X_i) + F (X_r1 - X_r2),  F = 0.5       (current-to-best/1)
               X' = X_i + B (m ⊙ B^T (V - X_i)),  m_j ~ Bernoulli(0.9), one j forced      (A2)
    uniform:   X' ~ U(0, 1)^d                                                            (A3)

Local candidates (constrained studies at one or two parameters)
---------------------------------------------------------------
With ``X_b`` the best point of the ranked set (the constrained order of (G6)) and ``s`` the
per-coordinate standard deviation of the ranked points, extra candidates beside a whale's
moves, judged by the same screen::

    local:     X' = reflect(X_b + lambda_L s ⊙ z),  z ~ N(0, I),  lambda_L = 0.2         (L1)

``(a / 2) |D_j|`` is the mean absolute step of (W3), so (A1) keeps the whale's schedule and
scale and drops only its shape; (A2) is differential evolution's binomial crossover around the
whale; (A3) leaves everything to the surrogate screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from optuna_whale.core.records import Frame
from optuna_whale.core.schedule import coefficients

if TYPE_CHECKING:
    from optuna_whale.core.fold import Population
    from optuna_whale.core.settings import Config

__all__ = [
    "MOVE_KINDS",
    "CanonicalWhaleMoves",
    "DifferentialMoves",
    "GaussianMoves",
    "Moves",
    "Step",
    "UniformMoves",
    "WhaleMoves",
    "EIGEN_DEGENERATE_MAX_DIM",
    "cached_eigenbasis",
    "eigenbasis",
    "local_steps",
    "reflect",
    "resample_categoricals",
]


#: Largest cube dimension at which (W5) decomposes the elite's covariance even when the elite
#: has no more points than dimensions (rank-deficient); above it such an elite moves on the axes.
EIGEN_DEGENERATE_MAX_DIM = 32

#: Every move name a proposal can carry: the initial design, a restart's design, and the moves.
MOVE_KINDS = ("init", "restart", "search", "encircle", "spiral", "gaussian", "de", "uniform", "local")


class Step(NamedTuple):
    """A drawn move: the new position, the move's name, and the frame it was drawn in."""

    x: np.ndarray
    move: str
    frame: Frame


class Moves(Protocol):
    """A move strategy: the new position of whale ``i``."""

    #: the move names it can produce (recorded in the trial's tag)
    kinds: tuple[str, ...]

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step: ...


def reflect(x: np.ndarray) -> np.ndarray:
    """(W6): fold ``x`` back into ``[0, 1]`` by reflection at the faces (period 2)."""
    y = np.mod(x, 2.0)
    return np.where(y > 1.0, 2.0 - y, y)


def eigenbasis(elite: np.ndarray, dim: int) -> np.ndarray | None:
    """``B`` of (W5): eigenvectors of the elite's covariance.

    None with fewer than 2 points, and None when the elite has no more points than dimensions
    and ``dim > EIGEN_DEGENERATE_MAX_DIM``: ``k <= d`` points span at most ``k - 1``
    directions, so at least ``d - k + 1`` eigenvectors are an arbitrary basis of the
    covariance's null space (chosen by round-off) that says nothing about the valley, while the
    ``d x d`` decomposition costs ``O(d^3)`` (seconds at one categorical of 1,000 choices); the
    move is then taken on the axes. Small spaces keep the decomposition in every case."""
    k = elite.shape[0]
    if k < 2 or (k <= dim and dim > EIGEN_DEGENERATE_MAX_DIM):
        return None
    centred = elite - elite.mean(axis=0)
    cov = centred.T @ centred / k
    cov += 1e-20 * np.eye(dim)
    if not np.all(np.isfinite(cov)):
        return None
    _, vecs = np.linalg.eigh(cov)
    return vecs


def cached_eigenbasis(pop: Population, dim: int) -> np.ndarray | None:
    """:func:`eigenbasis` of ``pop.elite``, computed once per population snapshot (every move and
    redraw of one proposal shares the snapshot, so a trial decomposes at most one covariance)."""
    key = f"eigenbasis:{dim}"
    if key not in pop.derived:
        pop.derived[key] = eigenbasis(pop.elite, dim)
    basis: np.ndarray | None = pop.derived[key]
    return basis


def local_steps(ranked: np.ndarray, n: int, scale: float, rng: np.random.Generator) -> list[Step]:
    """(L1): ``n`` candidates around the best ranked point ``ranked[0]``, at ``scale`` times the
    ranked points' per-coordinate spread, reflected into the cube (W6)."""
    spread = ranked.std(axis=0) + 1e-12
    x = reflect(ranked[0] + scale * spread * rng.standard_normal((n, ranked.shape[1])))  # (L1)
    return [Step(row, "local", Frame.AXES) for row in x]


def resample_categoricals(x: np.ndarray, config: Config, rng: np.random.Generator) -> np.ndarray:
    """(C1) on every one-hot block of ``config.categorical_blocks``."""
    if not config.categorical_blocks:
        return x
    out = np.array(x, dtype=float)
    rate = 1.0 / max(config.n_params, 1)
    for start, stop in config.categorical_blocks:
        if stop - start > 1 and rng.random() < rate:
            current = int(np.argmax(out[start:stop]))
            choice = int(rng.integers(stop - start - 1))
            choice += choice >= current
            out[start:stop] = 0.0
            out[start + choice] = 1.0  # (C1)
    return out


def _partner(pop: Population, i: int, rng: np.random.Generator) -> int | None:
    others = np.flatnonzero(pop.occupied)
    others = others[others != i]
    if others.size == 0:
        return None
    return int(rng.choice(others))


class _Frame:
    """The coordinates of one move: the axes, or the elite's eigenbasis with probability ``p_e``."""

    def __init__(self, pop: Population, config: Config, rng: np.random.Generator) -> None:
        basis = None
        if config.eigen_probability > 0 and rng.random() < config.eigen_probability:
            basis = cached_eigenbasis(pop, config.dim)
        self.basis = basis
        self.kind = Frame.AXES if basis is None else Frame.EIGEN

    def local(self, v: np.ndarray) -> np.ndarray:
        return v if self.basis is None else self.basis.T @ v

    def global_(self, v: np.ndarray) -> np.ndarray:
        return v if self.basis is None else self.basis @ v


def _difference(
    pop: Population, ref: np.ndarray, x_i: np.ndarray, partner: int | None, rng: np.random.Generator
) -> np.ndarray:
    """``ref - X_i``; a partner stands in for ``X_i`` when ``X_i`` is ``ref`` itself."""
    diff = ref - x_i
    if np.max(np.abs(diff)) < 1e-15 and partner is not None:
        diff = pop.positions[partner] - x_i
    if np.max(np.abs(diff)) < 1e-15:
        diff = 1e-3 * rng.standard_normal(x_i.shape[0])
    return diff


class WhaleMoves:
    """(W1)-(W6): the default variant's shift-invariant whale moves."""

    kinds: tuple[str, ...] = ("search", "encircle", "spiral")

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step:
        d = config.dim
        a, l_low = coefficients(pop.generation, config.cycle_generations)  # (S1), (S2)
        x_star = pop.leader_position(rng)
        x_i = pop.positions[i]
        r = _partner(pop, i, rng)
        frame = _Frame(pop, config, rng)  # (W5)
        if rng.random() < 0.5:
            a0 = a * (2.0 * rng.random() - 1.0)
            if abs(a0) >= 1.0 and r is not None:
                ref, move = pop.positions[r], "search"
            else:
                ref, move = x_star, "encircle"
            big_a = a * (2.0 * rng.random(d) - 1.0)  # (W1)
            big_c = 2.0 * rng.random(d)
            diff = frame.local(_difference(pop, ref, x_i, r, rng))
            step = frame.global_(-big_a * np.abs(big_c * diff))  # (W2) / (W3)
            return Step(reflect(ref + step), move, frame.kind)
        ell = (l_low - 1.0) * rng.random(d) + 1.0  # (W1)
        spiral = np.exp(config.spiral_b * ell) * np.cos(2.0 * np.pi * ell)
        step = frame.global_(np.abs(frame.local(_difference(pop, x_star, x_i, r, rng))) * spiral)
        return Step(reflect(x_star + step), "spiral", frame.kind)  # (W4)


class CanonicalWhaleMoves:
    """(W7)-(W9): Mirjalili & Lewis (2016) exactly, in the problem's own coordinates."""

    kinds: tuple[str, ...] = ("search", "encircle", "spiral")

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step:
        lo = np.zeros(config.dim) if config.native_lower is None else np.asarray(config.native_lower)
        hi = np.ones(config.dim) if config.native_upper is None else np.asarray(config.native_upper)
        width = hi - lo

        def native(x: np.ndarray) -> np.ndarray:
            return lo + x * width

        a, l_low = coefficients(pop.generation, config.cycle_generations)
        z_star = native(pop.leader_position(rng))
        z_i = native(pop.positions[i])
        r1, r2 = rng.random(), rng.random()
        big_a = 2.0 * a * r1 - a
        big_c = 2.0 * r2
        ell = (l_low - 1.0) * rng.random() + 1.0
        p = rng.random()
        if p < 0.5:
            if abs(big_a) >= 1.0:
                occ = np.flatnonzero(pop.occupied)
                z_r = native(pop.positions[int(rng.choice(occ))])
                z_new, move = z_r - big_a * np.abs(big_c * z_r - z_i), "search"  # (W7)
            else:
                z_new, move = z_star - big_a * np.abs(big_c * z_star - z_i), "encircle"  # (W8)
        else:
            dist = np.abs(z_star - z_i)
            z_new = dist * np.exp(config.spiral_b * ell) * np.cos(2.0 * np.pi * ell) + z_star  # (W9)
            move = "spiral"
        safe = np.where(width > 0, width, 1.0)
        return Step(np.clip((z_new - lo) / safe, 0.0, 1.0), move, Frame.AXES)


class GaussianMoves:
    """(A1): a Gaussian around the leader with the whale's schedule and scale."""

    kinds: tuple[str, ...] = ("gaussian",)

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step:
        a, _ = coefficients(pop.generation, config.cycle_generations)
        x_star = pop.leader_position(rng)
        x_i = pop.positions[i]
        r = _partner(pop, i, rng)
        frame = _Frame(pop, config, rng)
        scale = 0.5 * a * np.abs(frame.local(_difference(pop, x_star, x_i, r, rng)))
        step = frame.global_(scale * rng.standard_normal(config.dim))  # (A1)
        return Step(reflect(x_star + step), "gaussian", frame.kind)


class DifferentialMoves:
    """(A2): DE/current-to-best/1 with binomial crossover."""

    kinds: tuple[str, ...] = ("de",)
    weight = 0.5
    crossover = 0.9

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step:
        d = config.dim
        x_star = pop.leader_position(rng)
        x_i = pop.positions[i]
        others = np.flatnonzero(pop.occupied)
        others = others[others != i]
        frame = _Frame(pop, config, rng)
        mutant = x_i + self.weight * (x_star - x_i)
        if others.size >= 2:
            r1, r2 = rng.choice(others, size=2, replace=False)
            mutant = mutant + self.weight * (pop.positions[r1] - pop.positions[r2])
        mask = rng.random(d) < self.crossover
        mask[rng.integers(d)] = True
        delta = frame.global_(mask * frame.local(mutant - x_i))  # (A2)
        if np.max(np.abs(delta)) < 1e-15:  # a collapsed population: keep moving
            delta = 1e-3 * rng.standard_normal(d)
        return Step(reflect(x_i + delta), "de", frame.kind)


class UniformMoves:
    """(A3): uniform random candidates (everything is left to the screen)."""

    kinds: tuple[str, ...] = ("uniform",)

    def __call__(self, pop: Population, i: int, config: Config, rng: np.random.Generator) -> Step:
        return Step(rng.random(config.dim), "uniform", Frame.AXES)
