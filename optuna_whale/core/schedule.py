"""The budget-free schedule: cycles, their coefficients, their end, and their initial design.

Optuna never tells a sampler ``n_trials``, so WOA's coefficient ``a`` decays over a *cycle* of
``T`` generations instead of over the run. With ``g = E_c / N_c`` generations done in cycle
``c`` (``E_c`` finished evaluations, ``N_c`` whales)::

    a   = 2 (1 - min(g / T, 1))                  (2 -> 0 over a cycle)               (S1)
    l_- = -1 - min(g / T, 1)                     (-1 -> -2: the spiral's lower bound)  (S2)

Defaults, chosen on the BBOB tuning set (``benchmarks/results/tuning/README.md``), counting
``d`` parameters (a categorical counts once although it takes one coordinate per choice)::

    N_0 = min(max(10 + d, 2 d), 100)                                                   (S3)
    T   = max(10, ceil(50 d / N_0))              (a cycle lasts about 50 d evaluations)  (S4)
    S   = max(5, floor(T / 2))                   (stagnation generations)              (S5)
    N_c = min(round(N_0 growth^c), 8 N_0)        (growth 2 is the IPOP rule)            (S6)
    n_0 = d + 3 if d <= 2 (continuous, GP screen, one objective), else N_0  (cycle 0's design)  (S7)

A cycle ends (:func:`cycle_is_done`) when ``E_c >= T N_c`` (schedule done), or, in variants that
restart on stagnation, when the cycle's best has not improved for ``S N_c`` evaluations, or when
the incumbents have collapsed (spread below ``1e-9`` in every coordinate). The next cycle keeps
the best evaluation so far in slot 0 (:mod:`optuna_whale.core.fold`) and starts its other whales
from a fresh Latin hypercube over the whole cube (:func:`design_point`). Cycle 0 starts from a
Latin hypercube of ``n_0`` points (S7; ``initial_design``, default in
:func:`~optuna_whale.core.settings.default_initial_design`); its other ``N_0 - n_0`` slots are
filled by screened moves of the evaluated whales (:mod:`optuna_whale.core.propose`), so that
moves start after ``n_0`` trials. At one or two parameters the GP screen needs only 3 points,
and on the tuning sets the short design won at 10 d and 20 d trials and tied at 50 d; at three
or more parameters it lost at 50 d (the first cycle, about 50 d evaluations long, is then less
spread out), so there the design stays ``N_0``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from optuna_whale.core.fold import Population
    from optuna_whale.core.settings import Config

__all__ = [
    "coefficients",
    "cycle_is_done",
    "cycle_size",
    "default_cycle_generations",
    "default_population_size",
    "default_stagnation_generations",
    "design_point",
    "latin_hypercube",
]

_COLLAPSE_TOL = 1e-9
#: (S6): the population grows to at most this many times ``N_0``
MAX_GROWTH_FACTOR = 8


def default_population_size(n_params: int) -> int:
    """(S3); it beat 10 whales at d = 5, 10 and 20 and tied at d = 2 on the tuning set."""
    return int(min(max(10 + n_params, 2 * n_params), 100))


def default_cycle_generations(n_params: int, population_size: int) -> int:
    """(S4): one cycle lasts about ``50 d`` evaluations."""
    return max(10, math.ceil(50 * n_params / population_size))


def default_stagnation_generations(cycle_generations: int) -> int:
    """(S5)."""
    return max(5, cycle_generations // 2)


def cycle_size(population_size: int, growth: float, cycle: int) -> int:
    """(S6), computed without overflow for any cycle number."""
    if growth <= 1.0:
        return population_size
    cap = MAX_GROWTH_FACTOR * population_size
    # growth^c exceeds the cap once c >= log(8) / log(growth): stop before float overflow
    if cycle * math.log(growth) >= math.log(MAX_GROWTH_FACTOR) + 1.0:
        return cap
    return int(min(round(population_size * growth**cycle), cap))


def coefficients(generation: float, cycle_generations: int) -> tuple[float, float]:
    """``(a, l_-)`` at generation ``g`` of a cycle of ``T`` generations: (S1), (S2)."""
    frac = min(generation / cycle_generations, 1.0)
    return 2.0 * (1.0 - frac), -1.0 - frac


def cycle_is_done(pop: Population, config: Config) -> bool:
    """The one rule that ends a cycle (module docstring)."""
    if pop.n_finished >= config.cycle_generations * pop.size:
        return True
    if not config.variant.restarts_on_stagnation:
        return False
    if pop.n_since_improvement >= config.stagnation_generations * pop.size:
        return True
    occ = pop.occupied
    if occ.sum() == pop.size and pop.n_finished >= pop.size:
        spread = np.ptp(pop.positions[occ], axis=0)
        if np.all(spread < _COLLAPSE_TOL):
            return True
    return False


def latin_hypercube(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1]^dim``: one point per row/column stratum."""
    u = rng.random((n, dim))
    perms = np.argsort(rng.random((n, dim)), axis=0)
    return (perms + u) / n


def design_point(design_seed: int, cycle: int, size: int, slot: int, dim: int) -> np.ndarray:
    """Row ``slot`` of cycle ``cycle``'s Latin hypercube; every worker computes the same one."""
    rng = np.random.default_rng([design_seed, cycle, size, dim])
    return latin_hypercube(size, dim, rng)[slot]
