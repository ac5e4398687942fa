"""The compared samplers, by name, each with Optuna's defaults and a seed."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna

#: GPSampler's cost grows cubically with the number of trials; above this many trials it is
#: skipped. Measured here: about 60 s for 100 trials at d = 2 on a loaded 2-core machine, and
#: about 3 minutes for 200 trials at d = 5, so with budget 50 d it runs at d = 2 only.
GP_MAX_TRIALS = 100

SAMPLERS = ("whale", "canonical", "random", "tpe", "cmaes", "gp", "qmc")
#: WhaleSampler with its moves replaced, everything else equal (the ablation of the whale moves)
ABLATION = ("whale-gaussian", "whale-de", "whale-uniform")


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """A sampler by name. Optuna's ExperimentalWarning (QMCSampler, GPSampler options) is
    silenced on purpose: the benchmark uses these samplers knowingly."""
    from optuna_whale import WhaleSampler

    factories: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "whale": lambda: WhaleSampler(seed=seed),
        "canonical": lambda: WhaleSampler(seed=seed, variant="canonical"),
        "whale-gaussian": lambda: WhaleSampler(seed=seed, moves="gaussian"),
        "whale-de": lambda: WhaleSampler(seed=seed, moves="de"),
        "whale-uniform": lambda: WhaleSampler(seed=seed, moves="uniform"),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }
    if name not in factories:
        raise ValueError(f"sampler must be one of {SAMPLERS + ABLATION}, got {name!r}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factories[name]()


def runs_at(name: str, n_trials: int, gp_max_trials: int = GP_MAX_TRIALS) -> bool:
    """Whether ``name`` is run at this budget (GPSampler only up to ``gp_max_trials``)."""
    return not (name == "gp" and n_trials > gp_max_trials)
