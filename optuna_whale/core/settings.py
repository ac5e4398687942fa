"""One settings object: validated once, recorded in the study, resolved into the core's config.

:class:`WhaleSettings` holds what a user chooses (``None`` means "the default for this space");
:meth:`WhaleSettings.resolve` turns it into the :class:`Config` of one cube (the automatic
``N_0``, ``T``, ``S``, ``K`` and ``n_0`` filled in, the variant's policies attached), and
:meth:`WhaleSettings.as_json` is what the study records. ``WhaleSampler`` and
``WhaleOptimizer`` take the same fields as keyword arguments.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

from optuna_whale.core.schedule import (
    cycle_size,
    default_cycle_generations,
    default_population_size,
    default_stagnation_generations,
)
from optuna_whale.core.screen import SCREEN_MODELS
from optuna_whale.core.variants import MOVES, VARIANTS, Variant, variant_for

__all__ = ["Config", "WhaleSettings"]

#: Default screened candidates (``benchmarks/results/tuning/README.md``): with the GP's expected
#: improvement 8 (one or two continuous parameters or a discrete space: :data:`WIDE_SCREEN`;
#: constrained studies: :data:`CONSTRAINED_SCREEN` on continuous spaces); with the quadratic, 4 on
#: continuous spaces (on the BBOB tuning set 4 beat 1 and 8: its mean-only score over-exploits)
#: and 8 on discrete ones (on the HPOBench tuning set, where tried configurations are dropped
#: before screening, 8 beat 4 and 16).
SCREEN_CANDIDATES = {("gp", False): 8, ("gp", True): 8, ("quadratic", False): 4, ("quadratic", True): 8}
#: With the GP on a continuous space of at most ``LOW_DIM_PARAMS`` parameters, or on a discrete
#: space, ``WIDE_SCREEN`` candidates while no trial has been infeasible: on the BBOB tuning set at
#: d = 2, 32 beat 8 at 10 d trials and tied at 50 d; at d = 3 and 5 it won at 10 d but lost at
#: 50 d, so 8 stays on continuous spaces there; on the categorical BBOB tuning set (five 5-way
#: choices) 32 beat 8 at 20 and 40 trials and tied at 100, and on the HPOBench tuning set it was
#: better at 20 and 40 trials; on the constrained tuning set at d = 2 it lost at 50 d, so
#: constrained studies take fewer.
LOW_DIM_PARAMS, WIDE_SCREEN = 2, 32
#: In a constrained study (from its first infeasible trial) on a continuous space,
#: ``CONSTRAINED_SCREEN`` candidates: on the constrained tuning set 16 beat 8 at d = 2 at 10 d,
#: 20 d and 50 d trials (32 lost at 50 d), at d = 5 at 5 d to 20 d trials (even at 50 d), and at
#: d = 10 at 10 d trials (even later).
CONSTRAINED_SCREEN = 16
#: In a constrained study (from its first infeasible trial) on a continuous space of at most
#: ``LOW_DIM_PARAMS`` parameters (one objective), ``LOCAL_CANDIDATES`` more candidates per
#: screened trial, drawn around the best point at ``LOCAL_SCALE`` times the ranked points'
#: spread (L1 in :mod:`optuna_whale.core.moves`): on the constrained tuning set at d = 2 they
#: lowered the AUC sum by 19 % and 13 % on two seeds (two runs of the default differ by 2 %) and
#: were better at 10 d to 50 d trials; at d = 5 better at 5 d and 10 d but a few functions worse
#: at 50 d on both seeds, at d = 10 within the noise, so they stay off there.
LOCAL_CANDIDATES, LOCAL_SCALE = 8, 0.2


#: With the GP on a continuous space of at most ``LOW_DIM_PARAMS`` parameters (one objective),
#: cycle 0 starts from a design of ``d + LOW_DIM_DESIGN_EXTRA`` points instead of ``N_0`` (S7):
#: on the BBOB tuning set at d = 2 it beat ``N_0`` at 10 d and 20 d trials on two seeds and tied
#: at 50 d, and on the constrained tuning set at d = 2 it was better at 5 d to 20 d trials with
#: more trials feasible; at d = 3, 5 and 10 it won at 10 d and lost at 50 d, so ``N_0`` stays.
LOW_DIM_DESIGN_EXTRA = 3


def _low_dim_continuous(model: str, discrete: bool, n_params: int, n_objectives: int) -> bool:
    """Whether a space gets the low-dimensional defaults: the GP screen, a continuous space of at
    most :data:`LOW_DIM_PARAMS` parameters, one objective."""
    return model == "gp" and not discrete and n_params <= LOW_DIM_PARAMS and n_objectives == 1


def default_local_candidates(model: str, discrete: bool, n_params: int, n_objectives: int) -> int:
    """The default number of (L1) candidates in a constrained study (:data:`LOCAL_CANDIDATES`)."""
    return LOCAL_CANDIDATES if _low_dim_continuous(model, discrete, n_params, n_objectives) else 0


def default_initial_design(model: str, discrete: bool, n_params: int, n_objectives: int, population: int) -> int:
    """The default ``initial_design`` ``n_0`` of a space (S7; :data:`LOW_DIM_DESIGN_EXTRA`)."""
    if _low_dim_continuous(model, discrete, n_params, n_objectives):
        return min(population, n_params + LOW_DIM_DESIGN_EXTRA)
    return population


def default_screen_candidates(model: str, discrete: bool, n_params: int, constrained: bool = False) -> int:
    """The default ``screen_candidates`` of a space (:data:`SCREEN_CANDIDATES`, :data:`WIDE_SCREEN`);
    ``constrained``: once a trial of the study was infeasible (:data:`CONSTRAINED_SCREEN`)."""
    if model == "gp" and constrained:
        return SCREEN_CANDIDATES[(model, discrete)] if discrete else CONSTRAINED_SCREEN
    if model == "gp" and (discrete or n_params <= LOW_DIM_PARAMS):
        return WIDE_SCREEN
    return SCREEN_CANDIDATES[(model, discrete)]


def _int(name: str, value: Any, minimum: int, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        none = " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be an integer >= {minimum}{none}, got {value!r}.")


def _real(name: str, value: Any, ok: bool, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not ok:
        raise ValueError(f"`{name}` must be {allowed}, got {value!r}.")


@dataclass(frozen=True)
class WhaleSettings:
    """The algorithm's settings (see ``WhaleSampler`` for each one's meaning)."""

    population_size: int | None = None
    variant: str = "default"
    moves: str = "whale"
    cycle_generations: int | None = None
    stagnation_generations: int | None = None
    eigen_probability: float = 0.5
    population_growth: float = 1.0
    spiral_b: float = 1.0
    avoid_duplicates: bool = True
    screen_candidates: int | None = None
    screen_model: str = "gp"
    initial_design: int | None = None

    def __post_init__(self) -> None:
        _int("population_size", self.population_size, 2, allow_none=True)
        _int("cycle_generations", self.cycle_generations, 1, allow_none=True)
        _int("stagnation_generations", self.stagnation_generations, 1, allow_none=True)
        _int("screen_candidates", self.screen_candidates, 1, allow_none=True)
        _int("initial_design", self.initial_design, 1, allow_none=True)
        if self.screen_model not in SCREEN_MODELS:
            raise ValueError(f"`screen_model` must be one of {SCREEN_MODELS}, got {self.screen_model!r}.")
        if self.variant not in VARIANTS:
            raise ValueError(f"`variant` must be one of {VARIANTS}, got {self.variant!r}.")
        if self.moves not in MOVES:
            raise ValueError(f"`moves` must be one of {tuple(MOVES)}, got {self.moves!r}.")
        if self.variant == "canonical" and self.moves != "whale":
            raise ValueError(
                f"`moves` must be 'whale' with variant='canonical' (the reference algorithm has "
                f"its own moves), got {self.moves!r}."
            )
        p = self.eigen_probability
        _real("eigen_probability", p, isinstance(p, numbers.Real) and 0 <= p <= 1, "in [0, 1]")
        g = self.population_growth
        _real("population_growth", g, isinstance(g, numbers.Real) and 1 <= g < 1e6, "in [1, 1e6)")
        b = self.spiral_b
        _real("spiral_b", b, isinstance(b, numbers.Real) and 0 < b < 100, "a number in (0, 100)")
        if not isinstance(self.avoid_duplicates, bool):
            raise ValueError(f"`avoid_duplicates` must be True or False, got {self.avoid_duplicates!r}.")
        for f in ("eigen_probability", "population_growth", "spiral_b"):
            object.__setattr__(self, f, float(getattr(self, f)))

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values (recorded in the study for optuna-dashboard)."""
        return asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def resolve(
        self,
        dim: int,
        n_params: int | None = None,
        n_objectives: int = 1,
        native_lower: tuple[float, ...] | None = None,
        native_upper: tuple[float, ...] | None = None,
        discrete: bool = False,
        categorical_blocks: tuple[tuple[int, int], ...] = (),
    ) -> Config:
        """The :class:`Config` of a ``dim``-dimensional cube behind ``n_params`` parameters
        (default ``dim``): (S3)-(S5) of :mod:`optuna_whale.core.schedule` count parameters, not
        one-hot coordinates (6 five-way choices give 16 whales, not the 60 of a 30-d cube).
        ``categorical_blocks`` are the ``(start, stop)`` coordinates of each one-hot block."""
        if dim < 1:
            raise ValueError(f"`dim` must be >= 1, got {dim}.")
        if n_objectives < 1:
            raise ValueError(f"`n_objectives` must be >= 1, got {n_objectives}.")
        if (native_lower is None) != (native_upper is None) or (
            native_lower is not None
            and native_upper is not None
            and (len(native_lower) != dim or len(native_upper) != dim)
        ):
            raise ValueError("`native_lower` and `native_upper` must be given together, of length dim.")
        size_dim = dim if n_params is None else max(1, min(n_params, dim))
        n = self.population_size or default_population_size(size_dim)
        t = self.cycle_generations or default_cycle_generations(size_dim, n)
        s = self.stagnation_generations or default_stagnation_generations(t)
        k = self.screen_candidates or default_screen_candidates(self.screen_model, discrete, size_dim)
        k_constrained = self.screen_candidates or default_screen_candidates(
            self.screen_model, discrete, size_dim, constrained=True
        )
        k_local = 0 if self.screen_candidates else default_local_candidates(
            self.screen_model, discrete, size_dim, n_objectives
        )
        n0 = self.initial_design or default_initial_design(self.screen_model, discrete, size_dim, n_objectives, n)
        return Config(
            dim=dim,
            population_size=n,
            cycle_generations=t,
            stagnation_generations=s,
            n_objectives=n_objectives,
            variant=variant_for(self.variant, self.moves),
            spiral_b=self.spiral_b,
            eigen_probability=self.eigen_probability,
            population_growth=self.population_growth,
            screen_candidates=k,
            screen_model=self.screen_model,
            constrained_screen_candidates=k_constrained,
            constrained_local_candidates=k_local,
            avoid_duplicates=self.avoid_duplicates,
            native_lower=native_lower,
            native_upper=native_upper,
            n_params=size_dim,
            categorical_blocks=tuple(categorical_blocks),
            initial_design=min(n0, n),
        )


@dataclass(frozen=True)
class Config:
    """The settings of one cube, resolved (built by :meth:`WhaleSettings.resolve`)."""

    dim: int
    population_size: int
    cycle_generations: int
    stagnation_generations: int
    n_objectives: int
    variant: Variant
    spiral_b: float
    eigen_probability: float
    population_growth: float
    screen_candidates: int
    avoid_duplicates: bool
    screen_model: str = "gp"
    native_lower: tuple[float, ...] | None = None
    native_upper: tuple[float, ...] | None = None
    n_params: int = 0
    categorical_blocks: tuple[tuple[int, int], ...] = ()
    #: ``screen_candidates`` once a trial of the study was infeasible (the population then
    #: carries the feasibility model's points); 0: the same as ``screen_candidates``
    constrained_screen_candidates: int = 0
    #: (L1) candidates around the best point added to them in that case (0: none)
    constrained_local_candidates: int = 0
    #: ``n_0`` of (S7): design points of cycle 0 (its other slots get screened moves); 0: ``N_0``
    initial_design: int = 0

    @classmethod
    def for_cube(cls, dim: int, n_params: int | None = None, n_objectives: int = 1, **settings: Any) -> Config:
        """Shorthand: ``WhaleSettings(**settings).resolve(dim, n_params, n_objectives)``."""
        return WhaleSettings(**settings).resolve(dim, n_params, n_objectives)

    def cycle_size(self, cycle: int) -> int:
        """``N_c``, (S6)."""
        return cycle_size(self.population_size, self.population_growth, cycle)

    @property
    def multi_objective(self) -> bool:
        return self.n_objectives > 1

    def design_size(self, cycle: int, size: int) -> int:
        """Design points of cycle ``cycle`` of ``size`` whales: ``n_0`` in cycle 0 (S7), else all."""
        if cycle == 0 and self.initial_design:
            return min(self.initial_design, size)
        return size

    def candidates(self, constrained: bool) -> int:
        """Candidate moves per screened trial (``constrained``: a trial has been infeasible)."""
        if constrained and self.constrained_screen_candidates:
            return self.constrained_screen_candidates
        return self.screen_candidates

    @property
    def screening(self) -> bool:
        """Whether moves are screened at all (the surrogate itself may still be unavailable)."""
        return self.variant.screens and self.screen_candidates > 1
