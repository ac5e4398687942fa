"""``WhaleSampler``: the Optuna adapter around the WOA core (:mod:`optuna_whale.woa`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.space import UnitCubeSpace
from optuna_whale.storage import (
    STUDY_USER_SAMPLER,
    StoredPopulation,
    TrialTag,
    read_design_seed,
    write_tag,
)
from optuna_whale.woa import (
    VARIANTS,
    Population,
    Proposal,
    WOAConfig,
    cycle_is_done,
    propose,
    reflect,
)

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["WhaleSampler"]

_logger = optuna.logging.get_logger(__name__)

_INDEPENDENT_WARNING = (
    "The parameter `{param}` in Trial#{number} is sampled independently using `{ind}` instead "
    "of `WhaleSampler`, potentially degrading the optimization performance. This fallback "
    "happened because the parameter is not in the relative search space (it is conditional, or "
    "its distribution changed). You can suppress this warning by setting "
    "`warn_independent_sampling` to `False` in the constructor of `WhaleSampler`."
)


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        none = " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be an integer >= {minimum}{none}, got {value!r}.")


def _pin_given_params(space: UnitCubeSpace, x: np.ndarray, trial: FrozenTrial) -> np.ndarray | None:
    """``x`` with the coordinates of parameters the trial already has replaced by their cells.

    A trial may reach ``sample_relative`` with some parameters of the space already given: a
    partial ``enqueue_trial`` (system attr ``fixed_params``) or the retry of a trial killed before
    it suggested all its parameters (Optuna's retry callbacks copy ``params``). Optuna uses
    the given values, so the tag must record them too, or the population would hold a point that
    was never evaluated. None when a given value cannot be encoded (then the trial is not tagged).
    """
    given = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
    given = {k: v for k, v in given.items() if k in space.distributions}
    if not given:
        return x
    pinned = np.array(x, dtype=float)
    for name, value in given.items():
        u = space._encode_one(space.distributions[name], value)
        if u is None:
            return None
        pinned[space._slices[name]] = u
    return pinned


#: Redraws of a proposal that decodes to an already tried configuration (``avoid_duplicates``).
_MAX_REDRAWS = 16


#: Default ``screen_candidates``: on the BBOB tuning set 4 beat 1 and 8 (8 over-exploits); on the
#: discrete HPOBench tuning set, where tried configurations are dropped before screening, 8 beat
#: 4 and 16 (``benchmarks/results/tuning/README.md``).
_CONTINUOUS_SCREEN_CANDIDATES = 4
_DISCRETE_SCREEN_CANDIDATES = 8


def _avoid_tried(
    proposal: Proposal,
    untried: Callable[[np.ndarray], bool],
    redraw: Callable[[], Proposal],
    rng: np.random.Generator,
) -> Proposal:
    """On a discrete space, a proposal whose configuration was tried (``untried(x)`` false) is
    redrawn (a fresh move, up to ``_MAX_REDRAWS`` times), then perturbed: ``x + U(-w, w)^d``
    reflected into the cube, with ``w = k / _MAX_REDRAWS`` growing to 1 over
    ``k = 1 .. _MAX_REDRAWS`` attempts (a converged population still finds the untried cells next
    to it). If every attempt was tried already (a nearly exhausted space), the last one is used."""
    for _ in range(_MAX_REDRAWS):
        if untried(proposal.x):
            return proposal
        proposal = redraw()
    base = proposal.x
    for k in range(1, _MAX_REDRAWS + 1):
        if untried(proposal.x):
            break
        w = k / _MAX_REDRAWS
        proposal = replace(proposal, x=reflect(base + rng.uniform(-w, w, size=base.shape)))
    return proposal


class WhaleSampler(BaseSampler):
    """Whale Optimization Algorithm sampler whose population lives in the study's storage.

    The algorithm (shift-invariant moves with per-dimension coefficients, greedy replacement,
    reflection, a budget-free cycle schedule with restarts; or the canonical 2016 algorithm) is
    in :mod:`optuna_whale.woa`, with its equations. Every sampled trial records its whale in the
    trial's system attrs (layout: :mod:`optuna_whale.storage`), and the population is rebuilt
    from the study's trials at every ``sample_relative``: threads, processes and machines that
    share one storage continue one population, and a reloaded study resumes it. No worker ever
    waits for another: running trials hold their slot, failed ones free it.

    Single- and multi-objective studies (any number of objectives and directions) are supported,
    and so are constraints set with ``trial.set_constraint`` (or the legacy ``constraints``
    list): feasible evaluations beat infeasible ones, then Pareto dominance (several objectives)
    or the value (one objective) decides; see :mod:`optuna_whale.woa`.

    Example::

        import optuna
        from optuna_whale import WhaleSampler

        def objective(trial):
            x = trial.suggest_float("x", -5, 5)
            y = trial.suggest_int("y", 0, 10)
            return (x - 1) ** 2 + (y - 3) ** 2

        study = optuna.create_study(sampler=WhaleSampler(seed=0))
        study.optimize(objective, n_trials=100)

    Args:
        population_size: Whales per cycle, ``N_0`` (>= 2). ``None`` chooses
            ``min(max(10 + d, 2 d), 100)`` for ``d`` parameters (a categorical counts once,
            although it takes one cube coordinate per choice).
        seed: Seed of the sampler's random numbers (and of the independent sampler).
        n_startup_trials: Trials sampled by ``independent_sampler`` before the whales start; they
            then join the population as evaluated points. The whales' own start is a Latin
            hypercube, so the default is 0.
        independent_sampler: Sampler for parameters outside the relative search space (and
            start-up trials). Defaults to :class:`~optuna.samplers.RandomSampler`.
        warn_independent_sampling: Warn (once per parameter) when a parameter falls back to
            ``independent_sampler`` after the first trial.
        consider_pruned_trials: Count a PRUNED trial as an evaluation at its last intermediate
            value (default; unlike CmaEsSampler's). ``False``: a pruned trial frees its slot
            like a failed trial, and with a pruner the population loses most of what its
            pruned trials showed (``benchmarks/results/pruning-screen``: worse best values at
            equal epochs).
        variant: ``"default"`` (the improved algorithm) or ``"canonical"`` (Mirjalili & Lewis
            2016 exactly, as a reference).
        cycle_generations: Generations ``T`` per cycle of the schedule (``None``: about ``50 d``
            evaluations per cycle).
        stagnation_generations: Restart after this many generations without improvement
            (``None``: ``max(5, T / 2)``). Not used by the canonical variant.
        eigen_probability: Probability that a move is drawn in the eigenbasis of the elite's
            covariance (default variant only).
        population_growth: Factor by which the population grows at each restart (1 keeps it;
            2 is the IPOP rule). At most 8 times ``N_0``.
        spiral_b: The spiral's shape constant ``b``.
        avoid_duplicates: On a *discrete* space (every parameter an int, a stepped float or a
            categorical) redraw a proposal while it decodes to a configuration
            that a finished or running trial already has: on a grid, a repeated configuration
            costs a trial and teaches nothing (for a deterministic objective). Set False when
            repeated evaluations of a noisy objective are wanted. Spaces with a continuous
            parameter, and the canonical variant, are never affected. A converged population
            that keeps landing on tried cells is perturbed towards untried ones nearby.
        screen_candidates: Moves drawn per trial; a quadratic surrogate fitted to the ranks of
            the cycle's best evaluations keeps the most promising one (1: no screening; default
            variant, single objective only). ``None`` (default): 8 on a discrete space, where
            moves that land on tried configurations are dropped before screening, else 4 (both
            chosen on the tuning sets, ``benchmarks/results/tuning/README.md``). Equations in
            :mod:`optuna_whale.woa`.
    """

    def __init__(
        self,
        *,
        population_size: int | None = None,
        seed: int | None = None,
        n_startup_trials: int = 0,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        consider_pruned_trials: bool = True,
        variant: str = "default",
        cycle_generations: int | None = None,
        stagnation_generations: int | None = None,
        eigen_probability: float = 0.5,
        population_growth: float = 1.0,
        spiral_b: float = 1.0,
        avoid_duplicates: bool = True,
        screen_candidates: int | None = None,
    ) -> None:
        _check_int("population_size", population_size, 2, allow_none=True)
        _check_int("seed", seed, 0, allow_none=True)
        _check_int("n_startup_trials", n_startup_trials, 0)
        _check_int("cycle_generations", cycle_generations, 1, allow_none=True)
        _check_int("stagnation_generations", stagnation_generations, 1, allow_none=True)
        if variant not in VARIANTS:
            raise ValueError(f"`variant` must be one of {VARIANTS}, got {variant!r}.")
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise ValueError(
                "`independent_sampler` must be an optuna.samplers.BaseSampler or None, "
                f"got {type(independent_sampler).__name__}."
            )
        for name, flag in (
            ("warn_independent_sampling", warn_independent_sampling),
            ("consider_pruned_trials", consider_pruned_trials),
            ("avoid_duplicates", avoid_duplicates),
        ):
            if not isinstance(flag, bool):
                raise ValueError(f"`{name}` must be True or False, got {flag!r}.")
        if not isinstance(eigen_probability, (int, float)) or not 0 <= eigen_probability <= 1:
            raise ValueError(f"`eigen_probability` must be in [0, 1], got {eigen_probability!r}.")
        if not isinstance(population_growth, (int, float)) or not population_growth >= 1:
            raise ValueError(f"`population_growth` must be >= 1, got {population_growth!r}.")
        if not isinstance(spiral_b, (int, float)) or not 0 < spiral_b < 100:
            raise ValueError(f"`spiral_b` must be a number in (0, 100), got {spiral_b!r}.")

        self._population_size = population_size
        self._seed = seed
        self._n_startup_trials = n_startup_trials
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._warn_independent_sampling = warn_independent_sampling
        self._consider_pruned_trials = consider_pruned_trials
        self._variant = variant
        self._cycle_generations = cycle_generations
        self._stagnation_generations = stagnation_generations
        self._eigen_probability = float(eigen_probability)
        self._population_growth = float(population_growth)
        self._spiral_b = float(spiral_b)
        self._avoid_duplicates = avoid_duplicates
        _check_int("screen_candidates", screen_candidates, 1, allow_none=True)
        self._screen_candidates = screen_candidates
        self._rng = LazyRandomState(seed)
        self._search_space = IntersectionSearchSpace(include_pruned=consider_pruned_trials)
        self._lock = threading.RLock()
        self._cache: dict[tuple[int, int, str], StoredPopulation] = {}
        self._warned_params: set[str] = set()

    # -- pickling: the cache and the lock are rebuilt, never shipped ------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # -- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-ready values (for reports and study user attrs)."""
        return {
            "population_size": self._population_size,
            "seed": self._seed,
            "n_startup_trials": self._n_startup_trials,
            "independent_sampler": type(self._independent_sampler).__name__,
            "consider_pruned_trials": self._consider_pruned_trials,
            "variant": self._variant,
            "cycle_generations": self._cycle_generations,
            "stagnation_generations": self._stagnation_generations,
            "eigen_probability": self._eigen_probability,
            "population_growth": self._population_growth,
            "spiral_b": self._spiral_b,
            "avoid_duplicates": self._avoid_duplicates,
            "screen_candidates": self._screen_candidates,
        }

    def config_for(self, space: UnitCubeSpace, n_objectives: int = 1) -> WOAConfig:
        """The core's configuration for a given cube and number of objectives."""
        return WOAConfig.create(
            space.dim,
            n_params=len(space),
            n_objectives=n_objectives,
            population_size=self._population_size,
            cycle_generations=self._cycle_generations,
            stagnation_generations=self._stagnation_generations,
            variant=self._variant,
            spiral_b=self._spiral_b,
            eigen_probability=self._eigen_probability,
            population_growth=self._population_growth,
            screen_candidates=self._screen_candidates_for(space),
            native_lower=space.native_lower,
            native_upper=space.native_upper,
        )

    def _screen_candidates_for(self, space: UnitCubeSpace) -> int:
        if self._screen_candidates is not None:
            return self._screen_candidates
        return _DISCRETE_SCREEN_CANDIDATES if space.discrete else _CONTINUOUS_SCREEN_CANDIDATES

    # -- BaseSampler API --------------------------------------------------------------------

    def reseed_rng(self) -> None:
        self._rng.rng.seed()
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {
            name: dist
            for name, dist in self._search_space.calculate(study).items()
            if not dist.single()
        }

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        search_space = {k: v for k, v in search_space.items() if not v.single()}
        if not search_space:
            return {}
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        if self._n_startup_trials > 0:
            n_done = sum(1 for t in trials if t.state == TrialState.COMPLETE)
            if n_done < self._n_startup_trials:
                return {}
        space = UnitCubeSpace(search_space)
        with self._lock:
            stored = self._stored_population(study, space)
            stored.sync(trials, exclude_number=trial.number)
            pop = stored.snapshot()
            if pop.occupied.any() and cycle_is_done(pop, stored.config):
                stored.start_cycle(pop.cycle + 1, trial.number)
                pop = stored.snapshot(pop.cycle + 1)
            draw = int(self._rng.rng.randint(0, 2**31 - 1))
            design_seed = stored.design_seed
            if design_seed is None:
                design_seed = read_design_seed(study._storage, study._study_id, draw)
                stored.design_seed = design_seed
                self._describe_in_study(study)
            rng = np.random.default_rng([draw, trial.number])
            # the canonical variant stays the textbook algorithm: its whales keep raw positions
            snap = space.snap if space.gridded and self._variant == "default" else None
            accept = None
            if self._avoid_duplicates and self._variant == "default" and space.discrete:
                def accept(p: np.ndarray) -> bool:  # the configuration was never tried
                    return not stored.seen(space.decode(p))

            def draw_proposal() -> Proposal:
                return propose(pop, stored.config, rng, design_seed, snap=snap, accept=accept)

            proposal = draw_proposal()
            if accept is not None:
                proposal = _avoid_tried(proposal, accept, draw_proposal, rng)
            if snap is not None:  # a whale sits where it was evaluated
                proposal = replace(proposal, x=snap(proposal.x))
        x = _pin_given_params(space, proposal.x, trial)
        if x is None:  # a given value has no place in the cube: evaluated, never a whale's
            return space.decode(proposal.x)
        tag = TrialTag(
            space=space.key,
            cycle=proposal.cycle,
            slot=proposal.slot,
            x=tuple(float(v) for v in x),
            move=proposal.move,
            generation=proposal.generation,
            parent=proposal.parent,
            basis=proposal.basis,
        )
        write_tag(study._storage, trial._trial_id, tag)
        return space.decode(x)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if (
            self._warn_independent_sampling
            and param_name not in self._warned_params
            and self._n_complete(study) >= max(1, self._n_startup_trials)
        ):
            self._warned_params.add(param_name)
            _logger.warning(
                _INDEPENDENT_WARNING.format(
                    param=param_name,
                    number=trial.number,
                    ind=type(self._independent_sampler).__name__,
                )
            )
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    @staticmethod
    def _n_complete(study: Study) -> int:
        """Completed trials: before the first one there is no relative search space at all, so
        independent sampling is expected and not worth a warning."""
        return len(study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True))

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)

    # -- population ----------------------------------------------------------------------------

    def _describe_in_study(self, study: Study) -> None:
        """Name the sampler and its settings in a study user attr (``whale_sampler``, JSON) so
        optuna-dashboard shows them; written once, never overwritten."""
        if STUDY_USER_SAMPLER not in study._storage.get_study_user_attrs(study._study_id):
            settings = json.dumps({"sampler": type(self).__name__, **self.settings})
            study._storage.set_study_user_attr(study._study_id, STUDY_USER_SAMPLER, settings)

    def _stored_population(self, study: Study, space: UnitCubeSpace) -> StoredPopulation:
        key = (id(study._storage), study._study_id, space.key)
        stored = self._cache.get(key)
        if stored is None:
            if len(self._cache) > 8:
                self._cache.clear()
            stored = StoredPopulation(
                self.config_for(space, len(study.directions)),
                space,
                study.directions,
                self._consider_pruned_trials,
            )
            self._cache[key] = stored
        return stored

    def population(
        self, study: Study, search_space: dict[str, BaseDistribution] | None = None
    ) -> Population:
        """The current population of ``study``, rebuilt from its storage (nothing cached).

        ``search_space`` defaults to the relative search space inferred from the study.
        """
        if search_space is None:
            search_space = {
                name: dist
                for name, dist in IntersectionSearchSpace(
                    include_pruned=self._consider_pruned_trials
                )
                .calculate(study)
                .items()
                if not dist.single()
            }
        space = UnitCubeSpace(search_space)
        stored = StoredPopulation(
            self.config_for(space, len(study.directions)),
            space,
            study.directions,
            self._consider_pruned_trials,
        )
        stored.sync(study._storage.get_all_trials(study._study_id, deepcopy=False))
        return stored.snapshot()
