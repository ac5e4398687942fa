"""The sampler registry: every sampler that the CLI, the harness and the benchmark scripts
compare is built here, by name, with a seed (:func:`make_sampler`).

``SAMPLERS`` names the single-objective samplers the harness compares by default (and orders
report rows); ``NAMES`` is every name :func:`make_sampler` accepts, ``SAMPLERS`` first.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

#: GPSampler's cost grows cubically with the number of trials; above this many trials it is
#: skipped. Measured here: about 60 s for 100 trials at d = 2 on a loaded 2-core machine, and
#: about 3 minutes for 200 trials at d = 5, so with budget 50 d it runs at d = 2 only.
GP_MAX_TRIALS = 100

#: compared by default (single objective), in report order
SAMPLERS = ("whale", "canonical", "random", "tpe", "cmaes", "gp", "qmc")
#: WhaleSampler with its moves replaced, everything else equal (the ablation of the whale moves)
ABLATION = ("whale-gaussian", "whale-de", "whale-uniform")
#: every name :func:`make_sampler` accepts
NAMES = (*SAMPLERS, *ABLATION, "whale-nocp", "auto", "nsga2")
#: one line per name (for ``--help`` texts)
DESCRIPTIONS = {
    "whale": "WhaleSampler()",
    "canonical": "WhaleSampler(variant='canonical')",
    "random": "RandomSampler",
    "tpe": "TPESampler",
    "cmaes": "CmaEsSampler",
    "gp": "GPSampler",
    "qmc": "QMCSampler",
    "whale-gaussian": "WhaleSampler(moves='gaussian')",
    "whale-de": "WhaleSampler(moves='de')",
    "whale-uniform": "WhaleSampler(moves='uniform')",
    "whale-nocp": "WhaleSampler(consider_pruned_trials=False)",
    "auto": "AutoSampler's rule (GP, then CMA-ES at 250 trials; TPE on categorical/conditional spaces)",
    "nsga2": "NSGAIISampler",
}


def make_sampler(name: str, seed: int) -> BaseSampler:
    """A new sampler of the registry by ``name`` (one of :data:`NAMES`), seeded with ``seed``;
    Optuna's samplers with their defaults. Optuna's ExperimentalWarning (QMCSampler, GPSampler
    options) is silenced on purpose: the benchmark uses these samplers knowingly."""
    from optuna_whale import WhaleSampler

    factories: dict[str, Callable[[], BaseSampler]] = {
        "whale": lambda: WhaleSampler(seed=seed),
        "canonical": lambda: WhaleSampler(seed=seed, variant="canonical"),
        "whale-gaussian": lambda: WhaleSampler(seed=seed, moves="gaussian"),
        "whale-de": lambda: WhaleSampler(seed=seed, moves="de"),
        "whale-uniform": lambda: WhaleSampler(seed=seed, moves="uniform"),
        "whale-nocp": lambda: WhaleSampler(seed=seed, consider_pruned_trials=False),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        "auto": lambda: AutoRuleSampler(seed=seed),
    }
    if name not in factories:
        raise ValueError(f"sampler must be one of {', '.join(NAMES)}; got {name!r}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factories[name]()


def runs_at(name: str, n_trials: int, gp_max_trials: int = GP_MAX_TRIALS) -> bool:
    """Whether ``name`` is run at this budget (GPSampler, also inside ``auto``, only up to
    ``gp_max_trials``)."""
    return not (name in ("gp", "auto") and n_trials > gp_max_trials)


class AutoRuleSampler(BaseSampler):
    """OptunaHub AutoSampler's published selection rule, delegating each trial to one of three
    Optuna samplers (the ``auto`` entry of the registry).

    Rule, decided in ``before_trial`` for every trial from the study's completed (and pruned)
    trials:

    * multi-objective study: TPESampler;
    * a categorical parameter in the intersection search space, or a conditional parameter
      (two completed/pruned trials with different parameter names): TPESampler, and TPE for
      every later trial (the choice is sticky, as in AutoSampler);
    * otherwise (a numeric space): GPSampler while fewer than :attr:`GP_TRIALS` (250) trials
      are complete, CmaEsSampler from then on.

    Differences from AutoSampler: CMA-ES starts from its own initial state (the centre of the
    space), *without* the warm start from the first 250 trials that AutoSampler gives it
    (``source_trials``); newer AutoSampler releases send multi-objective studies to GP and then
    NSGA-II, this rule keeps its earlier TPE; the delegates are created once (seeds derived from
    ``seed``) and shared by threads, so with ``n_jobs > 1`` the choice is per trial but the
    delegates' own thread-safety applies. The chosen sampler's class name is written to the
    trial system attr ``auto:sampler``.
    """

    GP_TRIALS = 250

    def __init__(self, seed: int | None = None) -> None:
        base = 0 if seed is None else seed
        derived: Sequence[int | None] = [None] * 3 if seed is None else [base, base + 1, base + 2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._gp = optuna.samplers.GPSampler(seed=derived[0])
            self._cmaes = optuna.samplers.CmaEsSampler(seed=derived[1], warn_independent_sampling=False)
            self._tpe = optuna.samplers.TPESampler(seed=derived[2])
        self._tpe_for_good = False
        self._current: BaseSampler = self._gp

    def choose(self, study: Study) -> BaseSampler:
        """The delegate that the rule picks for the next trial of ``study``."""
        if len(study.directions) > 1 or self._tpe_for_good:
            return self._tpe
        finished = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED), use_cache=True)
        if finished:
            names = {frozenset(t.params) for t in finished}
            space = optuna.search_space.intersection_search_space(finished)
            if len(names) > 1 or any(isinstance(d, CategoricalDistribution) for d in space.values()):
                self._tpe_for_good = True
                return self._tpe
        n_complete = sum(t.state == TrialState.COMPLETE for t in finished)
        return self._gp if n_complete < self.GP_TRIALS else self._cmaes

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._current = self.choose(study)
        study._storage.set_trial_system_attr(trial._trial_id, "auto:sampler", type(self._current).__name__)
        self._current.before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._current.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._current.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._current.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self._current.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        for sampler in (self._gp, self._cmaes, self._tpe):
            sampler.reseed_rng()
