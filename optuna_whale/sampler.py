"""``WhaleSampler``: the Optuna adapter around the whale core (:mod:`optuna_whale.core`).

One trial's walk: the study's trials -> :class:`~optuna_whale.study_population.StudyPopulation`
(the fold) -> :func:`~optuna_whale.core.propose.next_proposal` (the algorithm) -> the trial's
tag (:mod:`optuna_whale.storage_layout`) -> the parameters (:class:`~optuna_whale.space.UnitCubeSpace`).
"""

from __future__ import annotations

import datetime
import json
import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna._deprecated import _DEPRECATION_WARNING_TEMPLATE
from optuna._warnings import optuna_warn
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.samplers._base import _process_constraints_after_trial
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.search_space import IntersectionSearchSpace
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.core import Population, Proposal, WhaleSettings, next_proposal
from optuna_whale.space import UnitCubeSpace
from optuna_whale.storage_layout import (
    STUDY_USER_SAMPLER,
    Tag,
    read_design_seed,
    read_tag,
    write_tag,
)
from optuna_whale.study_population import StudyPopulation

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

_D = WhaleSettings()  # the defaults, written once

#: Proposals one trial may make while another process's trial holds the slot it chose. 8, not
#: 4: with the GP screen a proposal takes milliseconds, the window between a trial's read and
#: its tag is wider, and six sampler instances on one SQLite study kept an overlap after 4
#: attempts in about one run in six (``tests/test_slot_claims.py``; none in 8 runs with 8).
MAX_CLAIM_ATTEMPTS = 8


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False, got {value!r}.")


class WhaleSampler(BaseSampler):
    """Whale Optimization Algorithm sampler whose population lives in the study's storage.

    The algorithm (shift-invariant whale moves with per-dimension coefficients, greedy
    replacement, reflection, surrogate screening, a budget-free cycle schedule with restarts; or
    the canonical 2016 algorithm) is in :mod:`optuna_whale.core`, with its equations. Every
    sampled trial records its whale in the trial's system attrs (layout:
    :mod:`optuna_whale.storage_layout`), and the population is rebuilt from the study's trials
    at every ``sample_relative``: threads, processes and machines that share one storage continue
    one population, and a reloaded study resumes it. No worker ever waits for another: running
    trials hold their slot, failed ones free it.

    Single- and multi-objective studies (any number of objectives and directions) are supported,
    and so are constraints set with ``trial.set_constraint`` (or ``constraints_func``): feasible
    evaluations beat infeasible ones, then Pareto dominance (several objectives) or the value
    (one objective) decides.

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
        constraints_func: As in TPESampler, NSGAIISampler and GPSampler (deprecated there since
            Optuna 5.0, with the same FutureWarning here): called after each COMPLETE or PRUNED
            trial, it returns the trial's constraint values (feasible when all are <= 0), stored
            where ``FrozenTrial.constraints`` reads them. Prefer ``trial.set_constraint``.
        variant: ``"default"`` (the improved algorithm) or ``"canonical"`` (Mirjalili & Lewis
            2016 exactly, as a reference).
        moves: The default variant's move strategy: ``"whale"`` (the whale moves), or, to
            measure what they contribute, ``"gaussian"``, ``"de"`` (differential evolution) or
            ``"uniform"`` (screened random candidates), with everything else unchanged.
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
            categorical) do not propose a configuration that a finished or running trial already
            has: on a grid, a repeated configuration costs a trial and teaches nothing (for a
            deterministic objective). Set False when repeated evaluations of a noisy objective
            are wanted. Spaces with a continuous parameter, and the canonical variant, are never
            affected.
        screen_candidates: Moves drawn per trial; a surrogate fitted to the ranks of the cycle's
            best evaluations keeps the most promising one, in constrained studies with a model
            of the violation (1: no screening; default variant, single objective only).
            ``None``: 8, or 32 on a discrete space or a continuous space of one or two
            parameters while no trial was infeasible (from the first infeasible trial on: 16
            on a space with a continuous parameter, 8 on a discrete one); with
            ``screen_model="quadratic"`` 4 on a space with a continuous parameter, else 8
            (chosen on the tuning sets, ``benchmarks/results/tuning/README.md``).
        screen_model: The surrogate: ``"gp"``, a Gaussian process on the ranks whose expected
            improvement scores the candidates (with constraints: times the probability of
            feasibility, from one more GP per constraint, or on the largest constraint value
            where trials differ in their constraints), or ``"quadratic"``, a ridge
            quadratic of the ranks plus a quadratic penalty for the predicted violation (the
            default of earlier releases). Equations in ``optuna_whale/core/screen.py``.
        initial_design: Design points of the first cycle, ``n_0`` (>= 1; values above ``N_0``
            mean ``N_0``): its first ``n_0`` trials are a Latin hypercube, and its other
            ``N_0 - n_0`` whales enter by screened moves of the evaluated ones. ``None``:
            ``d + 3`` on a continuous space of one or two parameters with the GP screen and one
            objective, else ``N_0`` (chosen on the tuning sets). Later cycles start from a full
            Latin hypercube.
        stale_after: Seconds after its start at which a RUNNING trial stops holding its slot
            (it is not failed: its result still joins the population when it finishes). For
            storages without a heartbeat (Journal storages), where a killed worker's trial stays
            RUNNING for good. ``None`` (default): a running trial holds its slot until it
            finishes, however long; the sampler cannot know how long an objective runs, and a
            value below the longest live trial puts a second trial on that trial's slot. With an
            RDB storage prefer Optuna's heartbeat (``heartbeat_interval``), which fails such
            trials.

    Slot claims: in one process, reading the running trials, choosing the slot and writing the
    trial's tag is one step under the sampler's lock, so threads (``n_jobs``) never share a
    slot while a free one exists. Across processes, a trial re-reads the RUNNING trials after
    writing its tag; if another one holds the same cycle and slot, it proposes again (at most
    ``MAX_CLAIM_ATTEMPTS`` times; a proposal of the same slot again means no freer slot exists,
    and is kept) before any parameter is returned.
    """

    def __init__(
        self,
        *,
        population_size: int | None = _D.population_size,
        seed: int | None = None,
        n_startup_trials: int = 0,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        consider_pruned_trials: bool = True,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        variant: str = _D.variant,
        moves: str = _D.moves,
        cycle_generations: int | None = _D.cycle_generations,
        stagnation_generations: int | None = _D.stagnation_generations,
        eigen_probability: float = _D.eigen_probability,
        population_growth: float = _D.population_growth,
        spiral_b: float = _D.spiral_b,
        avoid_duplicates: bool = _D.avoid_duplicates,
        screen_candidates: int | None = _D.screen_candidates,
        screen_model: str = _D.screen_model,
        initial_design: int | None = _D.initial_design,
        stale_after: float | None = None,
    ) -> None:
        arguments = locals()
        self._settings = WhaleSettings(**{name: arguments[name] for name in WhaleSettings.names()})
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"`seed` must be an integer >= 0 or None, got {seed!r}.")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(f"`n_startup_trials` must be an integer >= 0, got {n_startup_trials!r}.")
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise ValueError(
                "`independent_sampler` must be an optuna.samplers.BaseSampler or None, "
                f"got {type(independent_sampler).__name__}."
            )
        _check_flag("warn_independent_sampling", warn_independent_sampling)
        _check_flag("consider_pruned_trials", consider_pruned_trials)
        if constraints_func is not None:
            if not callable(constraints_func):
                raise ValueError(f"`constraints_func` must be callable or None, got {constraints_func!r}.")
            msg = _DEPRECATION_WARNING_TEMPLATE.format(
                name="`constraints_func`", d_ver="5.0.0", r_ver="7.0.0"
            )
            optuna_warn(f"{msg} Use `optuna.trial.Trial.set_constraint` instead.", FutureWarning)
        if stale_after is not None and (
            isinstance(stale_after, bool)
            or not isinstance(stale_after, (int, float))
            or not math.isfinite(stale_after)
            or stale_after <= 0
        ):
            raise ValueError(f"`stale_after` must be a number of seconds > 0 or None, got {stale_after!r}.")
        self._stale_after = None if stale_after is None else float(stale_after)
        self._seed = seed
        self._n_startup_trials = n_startup_trials
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._warn_independent_sampling = warn_independent_sampling
        self._consider_pruned_trials = consider_pruned_trials
        self._constraints_func = constraints_func
        self._rng = LazyRandomState(seed)
        self._search_space = IntersectionSearchSpace(include_pruned=consider_pruned_trials)
        self._lock = threading.RLock()
        self._cache: dict[tuple[int, int, str], StudyPopulation] = {}
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

    @property
    def settings(self) -> dict[str, Any]:
        """The sampler's settings as JSON-ready values (for reports and the study's user attrs)."""
        return {
            **self._settings.as_json(),
            "seed": self._seed,
            "n_startup_trials": self._n_startup_trials,
            "independent_sampler": type(self._independent_sampler).__name__,
            "consider_pruned_trials": self._consider_pruned_trials,
            "constraints_func": self._constraints_func is not None,
            "stale_after": self._stale_after,
        }

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
        space = UnitCubeSpace(search_space)
        # One claim at a time in this process: the read of the running trials, the proposal and
        # the tag write are one step, so two threads never choose a slot from the same view.
        with self._lock:
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            if self._n_startup_trials > 0:
                n_done = sum(1 for t in trials if t.state == TrialState.COMPLETE)
                if n_done < self._n_startup_trials:
                    return {}
            population = self._study_population(study, space)
            stale_before = self._stale_before()
            population.sync(trials, current=trial.number, stale_before=stale_before)
            draw = int(self._rng.rng.randint(0, 2**31 - 1))
            if population.design_seed is None:
                population.design_seed = read_design_seed(study._storage, study._study_id, draw)
                self._describe_in_study(study)
            # parameters the trial already has (a partial enqueue, a retry) are what Optuna evaluates
            given = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
            held: tuple[int, int] | None = None  # a slot we claimed that another trial holds
            written: np.ndarray | None = None
            for attempt in range(MAX_CLAIM_ATTEMPTS):
                proposal = next_proposal(
                    population,
                    population.config,
                    np.random.default_rng([draw, trial.number] + ([attempt] if attempt else [])),
                    population.design_seed,
                    snap=space.snap if space.gridded else None,
                    tried=(lambda x: population.was_tried(space.decode(x))) if space.discrete else None,
                )
                x = space.pin(proposal.x, given)
                if x is None:  # a given value has no place in the cube: evaluated, never a whale's
                    return space.decode(proposal.x)
                claim = proposal.at_position(x)
                if written is not None and (claim.cycle, claim.slot) == held:
                    x = written  # the same slot again: no freer one (more live trials than whales)
                    break
                write_tag(study._storage, trial._trial_id, Tag(space.key, claim))
                written = x
                if isinstance(study._storage, InMemoryStorage):
                    break  # one process: the lock above is the whole claim
                # Another process may have claimed the same slot between our read and our write.
                # The claim is verified: a trial that sees its slot held by another running
                # trial re-reads the trials and moves before any parameter is returned.
                held = self._contested(study, trial, space.key, claim, stale_before)
                if held is None:
                    break
                trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
                population.sync(trials, current=trial.number, stale_before=stale_before)
        assert x is not None
        return space.decode(x)

    def _stale_before(self) -> datetime.datetime | None:
        """Start time before which a RUNNING trial no longer holds its slot (``stale_after``)."""
        if self._stale_after is None:
            return None
        return datetime.datetime.now() - datetime.timedelta(seconds=self._stale_after)

    @staticmethod
    def _contested(
        study: Study, trial: FrozenTrial, space_key: str, claim: Proposal,
        stale_before: datetime.datetime | None,
    ) -> tuple[int, int] | None:
        """``(cycle, slot)`` of ``claim`` if another RUNNING trial (not stale) holds the same
        slot, else None.

        Every trial reads after its own write, so of two trials that wrote the same slot at
        least the one that read last sees the other (both may see each other and both move):
        no two live trials keep a slot that they both saw contested."""
        for t in study._storage.get_all_trials(
            study._study_id, deepcopy=False, states=(TrialState.RUNNING,)
        ):
            if t.number == trial.number:
                continue
            if stale_before is not None and t.datetime_start is not None and t.datetime_start < stale_before:
                continue
            tag = read_tag(t)
            if (
                tag is not None
                and tag.space == space_key
                and (tag.proposal.cycle, tag.proposal.slot) == (claim.cycle, claim.slot)
            ):
                return (claim.cycle, claim.slot)
        return None

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
        if self._constraints_func is not None:
            _process_constraints_after_trial(self._constraints_func, study, trial, state)
        self._independent_sampler.after_trial(study, trial, state, values)

    # -- population ----------------------------------------------------------------------------

    def _describe_in_study(self, study: Study) -> None:
        """Name the sampler and its settings in a study user attr (``whale_sampler``, JSON) so
        optuna-dashboard shows them; written once, never overwritten."""
        if STUDY_USER_SAMPLER not in study._storage.get_study_user_attrs(study._study_id):
            settings = json.dumps({"sampler": type(self).__name__, **self.settings})
            study._storage.set_study_user_attr(study._study_id, STUDY_USER_SAMPLER, settings)

    def _new_population(self, study: Study, space: UnitCubeSpace) -> StudyPopulation:
        config = self._settings.resolve(
            space.dim,
            n_params=len(space),
            n_objectives=len(study.directions),
            native_lower=space.native_lower,
            native_upper=space.native_upper,
            discrete=space.discrete,
            categorical_blocks=space.categorical_blocks,
        )
        return StudyPopulation(
            config,
            space,
            study.directions,
            self._consider_pruned_trials,
            origin=(study._storage, study._study_id),
        )

    def _study_population(self, study: Study, space: UnitCubeSpace) -> StudyPopulation:
        key = (id(study._storage), study._study_id, space.key)
        population = self._cache.get(key)
        if population is None:
            if len(self._cache) > 8:
                self._cache.clear()
            population = self._cache[key] = self._new_population(study, space)
        return population

    def population(
        self, study: Study, search_space: dict[str, BaseDistribution] | None = None
    ) -> Population:
        """The current population of ``study``, rebuilt from its storage (nothing cached).

        ``search_space`` defaults to the relative search space inferred from the study.
        """
        if search_space is None:
            inferred = IntersectionSearchSpace(include_pruned=self._consider_pruned_trials)
            search_space = {n: d for n, d in inferred.calculate(study).items() if not d.single()}
        population = self._new_population(study, UnitCubeSpace(search_space))
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        population.sync(trials, stale_before=self._stale_before())
        return population.snapshot()
