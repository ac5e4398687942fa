"""Run (problem, sampler, seed) studies in a storage: parallel, resumable, with progress.

Each run is one Optuna study named ``"{problem}|{sampler}|seed{seed}"`` in the given storage
(SQLite by default, any Optuna URL), so any run can be opened in optuna-dashboard; the study's
user attrs name the problem, the sampler and its settings. A run whose study already holds
``n_trials`` finished trials is never redone; a run that was killed continues where it stopped
(its stale RUNNING trials are marked FAIL first), or, with ``checkpoint="run"``, restarts (see
:func:`execute`). The sampler's own time (inside its methods) is
recorded per trial in the trial user attr ``sampler_ms`` (the time spent in the sampler since
the previous trial's objective returned: that trial's ``after_trial``, this trial's
``before_trial`` and its sampling) and in total in the study user attr ``sampler_seconds``.
Storage URLs are only ever shown through :func:`redact_url` (no password in logs or reports).

Studies use ``NopPruner``: the harness compares samplers, and Optuna's default ``MedianPruner``
would read an objective's reports against the study direction (the compression suite reports
validation *accuracy* in a study that minimises the error, so it pruned the best trials).
A problem's ``metadata`` (e.g. the compression task's size budget and baseline) is stored in the
study user attr ``problem_metadata``; a record carries it, and per trial the model metrics that
the compression objective stores as user attrs (``metrics``: accuracy, bytes, MACs, ... and
``feasible``, all constraints <= 0), when the trials have them.
"""

from __future__ import annotations

import math
import time
import urllib.parse
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from optuna_whale.bench.problems import ProblemSpec
from optuna_whale.bench.samplers import make_sampler

_TIMED = ("infer_relative_search_space", "sample_relative", "sample_independent", "before_trial", "after_trial")
#: trial user attrs copied into a record's ``metrics`` (written by the compression objective)
METRIC_ATTRS = ("accuracy", "bytes", "macs", "params", "nonzero_params", "sparse_bytes", "latency_ms")


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


def redact_url(url: str) -> str:
    """``scheme://user:***@host/db`` for a URL with a password; other URLs unchanged."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


CHECKPOINTS = ("run", "trial")


def open_storage(url: str) -> optuna.storages.BaseStorage | str:
    """The storage for ``url``; SQLite files get ``journal_mode=WAL`` and ``synchronous=NORMAL``
    (measured here: half the time per trial of the defaults, and concurrent readers)."""
    if not url.startswith("sqlite"):
        return url
    from sqlalchemy import event

    storage = optuna.storages.RDBStorage(url)

    @event.listens_for(storage.engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # reconnect with the pragmas
    return storage


def close_storage(url: str) -> None:
    """Leave a SQLite file as one self-contained file: checkpoint the WAL and return to the
    default rollback journal (no ``-wal``/``-shm`` files next to a committed result)."""
    if not url.startswith("sqlite"):
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    except sqlalchemy.exc.OperationalError:
        pass  # another process still has the file open: it stays in WAL mode, which is valid
    finally:
        engine.dispose()


def _load(name: str, storage: optuna.storages.BaseStorage | str) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def _release(storage: optuna.storages.BaseStorage | str) -> None:
    """Close the pooled connections of a storage built by :func:`open_storage`."""
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()


def execute(spec: RunSpec, storage: str, checkpoint: str = "trial") -> dict[str, Any]:
    """Run (or resume) one study and return its record.

    ``checkpoint="trial"``: every trial is written to ``storage`` as it runs (watchable live; a
    killed run continues from its last finished trial). ``checkpoint="run"``: the run is
    optimised in memory and copied into ``storage`` when finished (about 10x less storage time
    on SQLite; a killed run restarts from its first trial). Either way a run whose study holds
    ``n_trials`` finished trials is never redone, and a partial study is continued in place.
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {checkpoint!r}.")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    target = open_storage(storage)
    try:
        return _execute(spec, target, checkpoint)
    finally:
        _release(target)


def _execute(spec: RunSpec, target: optuna.storages.BaseStorage | str, checkpoint: str) -> dict[str, Any]:
    existing = _load(spec.study_name, target)
    if existing is not None and len(_finished(existing)) >= spec.n_trials and "optimum" in existing.user_attrs:
        return record(existing, spec, float(existing.user_attrs["optimum"]))
    in_memory = checkpoint == "run" and existing is None
    problem = spec.problem.build()
    sampler = make_sampler(spec.sampler, spec.seed)
    timer = SamplerTimer(sampler)
    where: optuna.storages.BaseStorage | str = optuna.storages.InMemoryStorage() if in_memory else target
    study = optuna.create_study(
        study_name=spec.study_name, storage=where, sampler=sampler, pruner=optuna.pruners.NopPruner(),
        load_if_exists=True,
    )
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # left by a killed run
    attrs = study.user_attrs
    if "problem" not in attrs:
        study.set_user_attr("problem", spec.problem.id)
        study.set_user_attr("suite", spec.problem.suite)
        study.set_user_attr("direction", problem.direction)
        study.set_user_attr("sampler", spec.sampler)
        study.set_user_attr("sampler_class", type(sampler).__name__)
        settings = getattr(sampler, "settings", None)
        if settings is not None:
            study.set_user_attr("sampler_settings", settings)
        study.set_user_attr("seed", spec.seed)
        study.set_user_attr("n_trials", spec.n_trials)
        if problem.metadata:
            study.set_user_attr("problem_metadata", _json_safe(problem.metadata))
    remaining = spec.n_trials - len(_finished(study))
    t0 = time.perf_counter()
    if remaining > 0:
        mark = [0.0]

        def objective(trial: optuna.Trial) -> float:
            # relative sampling is lazy (first suggest): measure after the objective's suggests
            try:
                return problem.objective(trial)
            finally:
                trial.set_user_attr("sampler_ms", 1e3 * (timer.seconds - mark[0]))
                mark[0] = timer.seconds

        with warnings.catch_warnings():
            # known and intended: CmaEsSampler ignores the constraints that the compression task sets
            warnings.filterwarnings("ignore", message="Constraints have been set, but")
            study.optimize(objective, n_trials=remaining)
        study.set_user_attr("sampler_seconds", float(attrs.get("sampler_seconds", 0.0)) + timer.seconds)
        study.set_user_attr("wall_seconds", float(attrs.get("wall_seconds", 0.0)) + time.perf_counter() - t0)
    # "optimum" last: its presence marks a complete study (also for a copy interrupted midway)
    study.set_user_attr("optimum", problem.optimum)
    if in_memory:
        copy_finished_study(study, target)
        study = optuna.load_study(study_name=spec.study_name, storage=target)
    return record(study, spec, problem.optimum)


def copy_finished_study(study: optuna.Study, target: optuna.storages.BaseStorage | str) -> None:
    """Copy ``study`` (finished, in memory) into ``target`` under the same name.

    Into an RDB storage the trials go in one transaction through Optuna's own ORM models: the
    same rows ``optuna.copy_study`` writes, about 20x faster (``copy_study`` issues several
    queries per parameter and commits per trial: 4-8 s for a 500-trial study on SQLite here,
    most of a benchmark run). Other storages use ``optuna.copy_study``.
    """
    if isinstance(target, str):
        target = optuna.storages.get_storage(target)
    if not isinstance(target, optuna.storages.RDBStorage):
        optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage, to_storage=target)
        return
    import json

    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    study_id = target.create_new_study(study.directions, study.study_name)
    for key, value in study._storage.get_study_system_attrs(study._study_id).items():
        target.set_study_system_attr(study_id, key, value)
    with _create_scoped_session(target.scoped_session) as session:
        for t in study.get_trials(deepcopy=False):
            row = models.TrialModel(
                study_id=study_id, number=t.number, state=t.state,
                datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
            )
            for objective, value in enumerate(t.values or ()):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                row.values.append(models.TrialValueModel(objective=objective, value=stored, value_type=kind))
            for name, value in t.params.items():
                dist = t.distributions[name]
                row.params.append(models.TrialParamModel(
                    param_name=name, param_value=dist.to_internal_repr(value),
                    distribution_json=distribution_to_json(dist),
                ))
            for step, value in t.intermediate_values.items():
                stored_iv, kind_iv = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
                row.intermediate_values.append(models.TrialIntermediateValueModel(
                    step=step, intermediate_value=stored_iv, intermediate_value_type=kind_iv,
                ))
            for key, value in t.user_attrs.items():
                row.user_attributes.append(models.TrialUserAttributeModel(key=key, value_json=json.dumps(value)))
            for key, value in t.system_attrs.items():
                row.system_attributes.append(models.TrialSystemAttributeModel(key=key, value_json=json.dumps(value)))
            session.add(row)
    # study user attrs last: "optimum" marks a complete study (see _execute)
    attrs = study.user_attrs
    for key in sorted(attrs, key=lambda k: k == "optimum"):
        target.set_study_user_attr(study_id, key, attrs[key])


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats dropped from dicts (None in lists): standard JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if not (isinstance(v, float) and not math.isfinite(v))}
    if isinstance(value, list | tuple):
        return [None if isinstance(v, float) and not math.isfinite(v) else _json_safe(v) for v in value]
    return value


def trial_metrics(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The :data:`METRIC_ATTRS` user attrs of a trial (finite ones), its ``number`` and
    ``feasible`` (complete, every constraint <= 0); empty if the trial has none of the attrs."""
    found = {k: trial.user_attrs[k] for k in METRIC_ATTRS if k in trial.user_attrs}
    if not found:
        return {}
    out: dict[str, Any] = _json_safe(found)
    out["number"] = trial.number
    out["feasible"] = trial.state == TrialState.COMPLETE and all(float(c) <= 0.0 for c in trial.constraints.values())
    return out


def record(study: optuna.Study, spec: RunSpec, optimum: float) -> dict[str, Any]:
    """One run as plain JSON-able data (the runs.jsonl line): spec, per-trial values, times and,
    where the trials have them, per-trial model metrics and the problem's metadata."""
    trials = sorted(_finished(study), key=lambda t: t.number)[: spec.n_trials]
    values = [t.value if t.state == TrialState.COMPLETE and t.value is not None else None for t in trials]
    # None where unknown (runs recorded before per-trial timing), so JSON stays standard
    sampler_ms = [t.user_attrs.get("sampler_ms") for t in trials]
    trial_seconds = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        if t.datetime_complete is not None and t.datetime_start is not None
        else None
        for t in trials
    ]
    attrs = study.user_attrs
    metrics = [trial_metrics(t) for t in trials]
    extra: dict[str, Any] = {"metrics": metrics} if any(metrics) else {}
    if "problem_metadata" in attrs:
        extra["problem_metadata"] = attrs["problem_metadata"]
    return {
        **asdict(spec),
        "problem_id": spec.problem.key,
        "run_problem": spec.problem.id,
        "group": spec.problem.group,
        "optimum": optimum,
        "values": values,
        "sampler_ms": sampler_ms,
        "trial_seconds": trial_seconds,
        "sampler_seconds": attrs.get("sampler_seconds", 0.0),
        "wall_seconds": attrs.get("wall_seconds", 0.0),
        **extra,
    }


def finished_records(specs: list[RunSpec], storage: str) -> list[dict[str, Any]]:
    """The records of the ``specs`` whose study holds ``n_trials`` finished trials (nothing is
    run; used to report on a run that is still going or was stopped)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    target = open_storage(storage)
    out: list[dict[str, Any]] = []
    try:
        names = set(optuna.get_all_study_names(target))
        for spec in specs:
            if spec.study_name not in names:
                continue
            study = optuna.load_study(study_name=spec.study_name, storage=target)
            optimum = study.user_attrs.get("optimum")
            if optimum is not None and len(_finished(study)) >= spec.n_trials:
                out.append(record(study, spec, float(optimum)))
    finally:
        _release(target)
    return out


def run_all(
    specs: list[RunSpec], storage: str, jobs: int = 1, progress: bool = True, checkpoint: str = "trial"
) -> list[dict[str, Any]]:
    """Run every spec (in ``jobs`` processes; see :func:`execute` for ``checkpoint``), showing a
    progress bar; returns the records."""
    from tqdm import tqdm

    out: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), desc="runs", disable=not progress)
    if jobs <= 1:
        for spec in specs:
            out.append(execute(spec, storage, checkpoint))
            bar.update()
    else:
        if storage.startswith("sqlite"):
            # create the schema (and switch to WAL) once, before the workers race to do it
            _release(open_storage(storage))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(execute, spec, storage, checkpoint) for spec in specs]
            for fut in as_completed(futures):
                out.append(fut.result())
                bar.update()
    bar.close()
    close_storage(storage)
    return out
