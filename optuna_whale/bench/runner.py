"""Run (problem, sampler, seed) studies in a storage: parallel, resumable, with progress.

Each run is one Optuna study named ``"{problem}|{sampler}|seed{seed}"`` in the given storage
(SQLite by default, any Optuna URL), so any run can be opened in optuna-dashboard; the study's
user attrs name the problem, the sampler and its settings. A run whose study already holds
``n_trials`` finished trials is never redone; a run that was killed continues where it stopped
(its stale RUNNING trials are marked FAIL first). The sampler's own time (inside its methods) is
accumulated in the study user attr ``sampler_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from optuna_whale.bench.problems import ProblemSpec
from optuna_whale.bench.samplers import make_sampler

_TIMED = ("infer_relative_search_space", "sample_relative", "sample_independent", "before_trial", "after_trial")


@dataclass(frozen=True)
class RunSpec:
    problem: ProblemSpec
    sampler: str
    seed: int
    n_trials: int

    @property
    def study_name(self) -> str:
        return f"{self.problem.id}|{self.sampler}|seed{self.seed}"


class SamplerTimer:
    """Adds up the time spent in a sampler's methods (wraps its bound methods)."""

    def __init__(self, sampler: optuna.samplers.BaseSampler) -> None:
        self.seconds = 0.0
        for name in _TIMED:
            setattr(sampler, name, self._wrap(getattr(sampler, name)))

    def _wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def execute(spec: RunSpec, storage: str) -> dict[str, Any]:
    """Run (or resume) one study and return its record."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problem = spec.problem.build()
    sampler = make_sampler(spec.sampler, spec.seed)
    timer = SamplerTimer(sampler)
    study = optuna.create_study(study_name=spec.study_name, storage=storage, sampler=sampler, load_if_exists=True)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # left by a killed run
    attrs = study.user_attrs
    if "problem" not in attrs:
        study.set_user_attr("problem", spec.problem.id)
        study.set_user_attr("sampler", spec.sampler)
        study.set_user_attr("sampler_class", type(sampler).__name__)
        settings = getattr(sampler, "settings", None)
        if settings is not None:
            study.set_user_attr("sampler_settings", settings)
        study.set_user_attr("seed", spec.seed)
        study.set_user_attr("optimum", problem.optimum)
    remaining = spec.n_trials - len(_finished(study))
    t0 = time.perf_counter()
    if remaining > 0:
        study.optimize(problem.objective, n_trials=remaining)
        study.set_user_attr("sampler_seconds", float(attrs.get("sampler_seconds", 0.0)) + timer.seconds)
        study.set_user_attr("wall_seconds", float(attrs.get("wall_seconds", 0.0)) + time.perf_counter() - t0)
    return record(study, spec, problem.optimum)


def record(study: optuna.Study, spec: RunSpec, optimum: float) -> dict[str, Any]:
    trials = sorted(_finished(study), key=lambda t: t.number)[: spec.n_trials]
    values = [t.value if t.state == TrialState.COMPLETE and t.value is not None else None for t in trials]
    attrs = study.user_attrs
    return {
        **asdict(spec),
        "problem_id": spec.problem.key,
        "run_problem": spec.problem.id,
        "group": spec.problem.group,
        "optimum": optimum,
        "values": values,
        "sampler_seconds": attrs.get("sampler_seconds", 0.0),
        "wall_seconds": attrs.get("wall_seconds", 0.0),
    }


def run_all(specs: list[RunSpec], storage: str, jobs: int = 1, progress: bool = True) -> list[dict[str, Any]]:
    """Run every spec (in ``jobs`` processes), showing a progress bar; returns the records."""
    from tqdm import tqdm

    out: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), desc="runs", disable=not progress)
    if jobs <= 1:
        for spec in specs:
            out.append(execute(spec, storage))
            bar.update()
    else:
        if storage.startswith("sqlite"):
            # create the schema once, before the workers race to do it
            optuna.storages.RDBStorage(storage)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(execute, spec, storage) for spec in specs]
            for fut in as_completed(futures):
                out.append(fut.result())
                bar.update()
    bar.close()
    return out
