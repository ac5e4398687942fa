"""Run (problem, sampler, seed) studies in a storage: parallel, resumable, with progress.

Each run is one Optuna study named ``"{problem}|{sampler}|seed{seed}"`` in the given storage
(SQLite by default, any Optuna URL), so any run can be opened in optuna-dashboard; the study's
user attrs name the problem, the sampler and its settings. A run whose study already holds
``n_trials`` COMPLETE or PRUNED trials is never redone (failed trials are retried, not
counted); a run that was killed continues where it stopped (its stale RUNNING trials are marked
FAIL first), or, with ``checkpoint="run"``, restarts (see :func:`execute`); its wall and
sampler seconds add up over the parts. The sampler's own time (inside its methods) is
recorded per trial in the trial user attr ``sampler_ms`` (the time spent in the sampler since
the previous trial's objective returned: that trial's ``after_trial``, this trial's
``before_trial`` and its sampling) and in total in the study user attr ``sampler_seconds``.
Storage URLs are opened by :func:`open_storage` (SQLite, any SQLAlchemy URL, ``redis://`` as a
journal storage) and only ever shown through :func:`redact_url` (no password in logs or reports).

Studies use ``NopPruner``: the harness compares samplers, and Optuna's default ``MedianPruner``
would read an objective's reports against the study direction (the compression suite reports
validation *accuracy* in a study that minimises the error, so it pruned the best trials).
A problem's ``metadata`` (e.g. the compression task's size budget and baseline) is stored in the
study user attr ``problem_metadata``; a record carries it, and per trial the model metrics that
the compression objective stores as user attrs (``metrics``: accuracy, bytes, MACs, ... and
``feasible``, all constraints <= 0), when the trials have them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import sqlite3
import time
import urllib.parse
import warnings
from collections.abc import Callable
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


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


def _userinfo(url: str) -> tuple[str, str, str | None, str] | None:
    """``(scheme://, user, password, rest after the @)`` read conservatively: the userinfo ends
    at the *last* ``@`` and the password starts at its first ``:``, so a password holding any
    of ``@ : / ? # [`` is wholly inside it (over-masking a malformed URL, never leaking).
    None for text without ``scheme://...@``."""
    match = _SCHEME.match(url)
    if match is None or match.group(1).lower().startswith("sqlite"):
        return None  # not a URL, or a SQLite file (a path, never a user or password)
    rest = url[match.end():]
    at = rest.rfind("@")
    if at < 0:
        return None
    info, tail = rest[:at], rest[at + 1:]
    user, colon, password = info.partition(":")
    return match.group(0), user, password if colon else None, tail


def _password_as_read(url: str) -> str | None:
    """The password as the library that opens ``url`` reads it (percent-decoded): SQLAlchemy's
    ``make_url`` for RDB URLs, ``urllib`` (as redis-py does) for ``redis://``; "" if it cannot
    read one."""
    if url.lower().startswith(("redis", "rediss", "unix")):
        try:
            password = urllib.parse.urlsplit(url).password
        except ValueError:
            return ""
        return None if password is None else urllib.parse.unquote(password)
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password
    except Exception:
        return ""


def password_is_ambiguous(url: str) -> bool:
    """Does ``url`` hold a password that the library opening it reads differently from the
    text between the userinfo's first ``:`` and its last ``@`` (a raw ``@``, or for redis a raw
    ``/ ? # [``: such characters must be percent-encoded)? Such a URL is refused by
    :func:`open_storage`, so no driver error can echo a piece of the password."""
    parts = _userinfo(url)
    if parts is None or parts[2] is None:
        return False
    return _password_as_read(url) != urllib.parse.unquote(parts[2])


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (``scheme://user:***@host/...``), for every
    place a storage URL is written (terminal, logs, reports). Never raises.

    RDB URLs are read by SQLAlchemy's own parser (``make_url``, the one that opens them) and
    rendered with ``hide_password=True``; when its password and the conservative reading of
    :func:`_userinfo` disagree (a raw ``@`` in the password), or for other schemes (``redis://``,
    read by ``urllib`` in redis-py), everything from the first ``:`` of the userinfo to its last
    ``@`` is masked. Text that is not a URL (a file path) is returned unchanged."""
    parts = _userinfo(url)
    if parts is None:
        return url
    scheme, user, password, tail = parts
    masked = url if password is None else f"{scheme}{user}:***@{tail}"
    if password is None or scheme.lower().startswith(("redis", "rediss", "unix")) or password_is_ambiguous(url):
        return masked
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # pragma: no cover - make_url read it in password_is_ambiguous
        return masked


def redact_text(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error message) with every spelling of ``url``'s password
    (as written, percent-decoded, percent-encoded, as SQLAlchemy reads it) replaced by ``***``."""
    parts = _userinfo(url)
    secrets: set[str] = set()
    if parts is not None and parts[2]:
        raw = parts[2]
        secrets |= {raw, urllib.parse.unquote(raw), urllib.parse.quote(raw, safe=""), urllib.parse.quote(raw)}
        try:
            from sqlalchemy.engine import make_url

            secrets.add(str(make_url(url).password or ""))
        except Exception:
            pass
    text = text.replace(url, redact_url(url))
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def storage_url(url: str) -> str:
    """The URL that opens ``url``: ``postgresql://`` (which SQLAlchemy >= 2.1 maps to psycopg 3)
    becomes ``postgresql+psycopg2://`` when only psycopg2 is installed; others unchanged."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def _counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials that count toward a run's ``n_trials``: COMPLETE and PRUNED (not FAIL)."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


CHECKPOINTS = ("run", "trial")


def open_storage(url: str, connect_timeout: float | None = None) -> optuna.storages.BaseStorage:
    """The storage for ``url`` (release it with :func:`release_storage`).

    ``sqlite:`` files get ``journal_mode=WAL`` and ``synchronous=NORMAL`` (measured here: half
    the time per trial of the defaults, and concurrent readers); ``redis://`` and ``rediss://``
    URLs open a ``JournalStorage`` on ``JournalRedisBackend(url)``'s logs (Optuna's RedisStorage is
gone; its snapshots, which Optuna unpickles, are neither read nor written);
    other URLs an ``RDBStorage`` through :func:`storage_url`, with ``connect_timeout`` seconds
    for PostgreSQL and MySQL when given (an unreachable host fails fast)."""
    if password_is_ambiguous(url):
        raise ValueError(
            "the password in the storage URL must be percent-encoded (write @ as %40, / as %2F, ? as %3F, "
            "# as %23, [ as %5B, % as %25): as written, the URL's parser reads a different password and host"
        )
    if url.startswith(("redis://", "rediss://", "unix://")):
        from optuna.storages.journal import JournalStorage

        return JournalStorage(_RedisJournal(url))
    if not url.startswith("sqlite"):
        kwargs: dict[str, Any] = {}
        if connect_timeout is not None and url.startswith(("postgresql", "mysql")):
            kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": int(math.ceil(connect_timeout))}}
        return optuna.storages.RDBStorage(storage_url(url), **kwargs)
    from sqlalchemy import event

    storage = optuna.storages.RDBStorage(url)

    @event.listens_for(storage.engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # switching the mode takes a lock without waiting for it ("database is locked" while
        # another process writes): only a file not in WAL yet is switched, retried for 10 s
        for attempt in range(100):
            try:
                if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.1)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # reconnect with the pragmas
    with storage.engine.connect():  # switch the file now, while this process may be alone on it
        pass
    return storage


class _RedisJournal(optuna.storages.journal.BaseJournalBackend):
    """``JournalRedisBackend(url)``'s JSON logs (same keys, so optuna-dashboard reads the same
    studies) without its snapshots: Optuna's JournalStorage unpickles a snapshot read from
    Redis, and nothing read back from a storage is unpickled here (the studies are replayed
    from the logs)."""

    def __init__(self, url: str) -> None:
        from optuna.storages.journal import JournalRedisBackend

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._logs = JournalRedisBackend(url)

    def read_logs(self, log_number_from: int) -> Any:
        return self._logs.read_logs(log_number_from)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self._logs.append_logs(logs)


def release_storage(storage: optuna.storages.BaseStorage | str) -> None:
    """Close the pooled connections of a storage built by :func:`open_storage` (a no-op for
    other storages)."""
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()


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


class RunFailed(RuntimeError):
    """A run stopped because its trials kept failing (see :data:`MAX_CONSECUTIVE_FAILURES`)."""


#: a run stops with :class:`RunFailed` after this many failed trials in a row (an objective that
#: always fails must not loop for ever; a failed trial is retried, it does not count)
MAX_CONSECUTIVE_FAILURES = 10


def execute(
    spec: RunSpec, storage: str, checkpoint: str = "trial", max_failures: int = MAX_CONSECUTIVE_FAILURES
) -> dict[str, Any]:
    """Run (or resume) one study and return its record.

    A run is done when its study holds ``n_trials`` *counted* trials (COMPLETE or PRUNED): a
    trial that fails (an exception in the objective or the sampler, a NaN value, a RUNNING
    trial left by a killed run) is retried, not counted; after ``max_failures`` failed trials
    in a row the run stops with :class:`RunFailed` naming the last error. The study user attrs
    ``wall_seconds`` and ``sampler_seconds`` add up every part of a resumed run (they are
    written after each trial).

    ``checkpoint="trial"``: every trial is written to ``storage`` as it runs (watchable live; a
    killed run continues from its last finished trial). ``checkpoint="run"``: the run is
    optimised in memory and copied into ``storage`` when finished (about 10x less storage time
    on SQLite; a killed run restarts from its first trial). Either way a finished run is never
    redone, and a partial study is continued in place.
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {checkpoint!r}.")
    if max_failures < 1:
        raise ValueError(f"max_failures must be >= 1, got {max_failures}.")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    target = open_storage(storage)
    try:
        return _execute(spec, target, checkpoint, max_failures)
    finally:
        release_storage(target)


def _done(study: optuna.Study, n_trials: int) -> bool:
    return len(_counted(study)) >= n_trials and "optimum" in study.user_attrs


def _execute(spec: RunSpec, target: optuna.storages.BaseStorage, checkpoint: str, max_failures: int) -> dict[str, Any]:
    existing = _load(spec.study_name, target)
    if existing is not None and _done(existing, spec.n_trials):
        return record(existing, spec, float(existing.user_attrs["optimum"]))
    in_memory = checkpoint == "run" and existing is None
    problem = spec.problem.build()
    sampler = make_sampler(spec.sampler, spec.seed)
    timer = SamplerTimer(sampler)
    where: optuna.storages.BaseStorage = optuna.storages.InMemoryStorage() if in_memory else target
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
    # the parts of a resumed run add up (written after every trial, so a killed part counts too)
    wall_before = float(attrs.get("wall_seconds", 0.0))
    sampler_before = float(attrs.get("sampler_seconds", 0.0))
    t0 = time.perf_counter()

    def save_times() -> None:
        study.set_user_attr("sampler_seconds", sampler_before + timer.seconds)
        study.set_user_attr("wall_seconds", wall_before + time.perf_counter() - t0)

    mark = [0.0]
    last_error: list[str] = [""]
    streak = [0]

    def objective(trial: optuna.Trial) -> float:
        # relative sampling is lazy (first suggest): measure after the objective's suggests
        try:
            return problem.objective(trial)
        except Exception as exc:
            last_error[0] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            trial.set_user_attr("sampler_ms", 1e3 * (timer.seconds - mark[0]))
            mark[0] = timer.seconds

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == TrialState.FAIL:
            streak[0] += 1
            if not last_error[0]:
                last_error[0] = "the objective returned NaN or a value Optuna rejects"
            if streak[0] >= max_failures:
                study.stop()
        else:
            streak[0] = 0
            last_error[0] = ""
        save_times()

    try:
        while (left := spec.n_trials - len(_counted(study))) > 0:
            with warnings.catch_warnings():
                # known and intended: CmaEsSampler ignores the constraints that the compression task sets
                warnings.filterwarnings("ignore", message="Constraints have been set, but")
                study.optimize(objective, n_trials=left, callbacks=[after_trial], catch=(Exception,))
            if streak[0] >= max_failures:
                raise RunFailed(
                    f"run {spec.study_name}: {streak[0]} trials failed in a row (last: {last_error[0]}); "
                    f"stopped with {len(_counted(study))} of {spec.n_trials} trials done"
                )
    finally:
        with contextlib.suppress(Exception):  # also on Ctrl-C: the time spent so far counts
            save_times()
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


def _feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """Complete, with every constraint <= 0."""
    return trial.state == TrialState.COMPLETE and all(float(c) <= 0.0 for c in trial.constraints.values())


def trial_metrics(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The :data:`METRIC_ATTRS` user attrs of a trial (finite ones), its ``number`` and
    ``feasible`` (complete, every constraint <= 0); empty if the trial has none of the attrs."""
    found = {k: trial.user_attrs[k] for k in METRIC_ATTRS if k in trial.user_attrs}
    if not found:
        return {}
    out: dict[str, Any] = _json_safe(found)
    out["number"] = trial.number
    out["feasible"] = _feasible(trial)
    return out


def record(study: optuna.Study, spec: RunSpec, optimum: float) -> dict[str, Any]:
    """One run as plain JSON-able data (the runs.jsonl line): spec, per-trial values (of the
    first ``n_trials`` counted trials, COMPLETE or PRUNED; None for a pruned one), times, the
    number of failed (retried) trials and, where the trials have them, per-trial model metrics,
    per-trial feasibility (``feasible``: complete with every constraint <= 0) and the problem's
    metadata."""
    trials = sorted(_counted(study), key=lambda t: t.number)[: spec.n_trials]
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
    if any(t.constraints for t in trials):  # a constrained problem: which trials count for the best
        extra["feasible"] = [_feasible(t) for t in trials]
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
        "failed_trials": len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))),
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
            if optimum is not None and len(_counted(study)) >= spec.n_trials:
                out.append(record(study, spec, float(optimum)))
    finally:
        release_storage(target)
    return out


#: set in a worker process while it runs a spec (SIGTERM then ends the running trial)
_IN_RUN = False


def _worker_init() -> None:
    """Pool worker setup: a terminal's Ctrl-C (sent to the whole process group) is left to the
    parent, which stops the workers with SIGTERM (see :func:`_worker_stop`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


#: seconds a stopped worker has to end its trial and save its times before it exits anyway
_STOP_GRACE = 2.0


def _worker_stop(signum: int, frame: Any) -> None:
    """SIGTERM from the parent: end the running trial (KeyboardInterrupt: it ends as FAIL and the
    run's times are saved). Python drops an exception raised where it ignores them (a ``__del__``
    or a garbage-collector callback, e.g. inside SQLAlchemy), so a timer exits the worker after
    :data:`_STOP_GRACE` seconds whatever happened; a second SIGTERM exits at once.

    The interrupt can land inside SQLAlchemy's cursor cleanup, which then logs "Error closing
    cursor" with a traceback; that is the interrupt itself, so SQLAlchemy's error log is muted in
    this worker once it is stopping (the trial still ends as FAIL)."""
    if _IN_RUN and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0:
        logging.getLogger("sqlalchemy").setLevel(logging.CRITICAL)
        signal.signal(signal.SIGALRM, lambda s, f: os._exit(130))
        signal.setitimer(signal.ITIMER_REAL, _STOP_GRACE)
        raise KeyboardInterrupt
    os._exit(130 if _IN_RUN else 0)


def _worker_execute(job: tuple[RunSpec, str, str]) -> dict[str, Any]:
    global _IN_RUN
    _IN_RUN = True
    try:
        return execute(*job)
    except KeyboardInterrupt:
        os._exit(130)  # stopped by the parent: quietly (no traceback from the pool's worker loop)
    finally:
        _IN_RUN = False


def run_all(
    specs: list[RunSpec], storage: str, jobs: int = 1, progress: bool = True, checkpoint: str = "trial"
) -> list[dict[str, Any]]:
    """Run every spec (in ``jobs`` processes; see :func:`execute` for ``checkpoint``), showing a
    progress bar; returns the records in the order the runs finished.

    On Ctrl-C (KeyboardInterrupt in this process) or any error, runs that have not started are
    dropped and the worker processes are stopped at once (SIGTERM: their running trial ends as
    FAIL, their run's times are saved); finished runs stay in the storage, and calling again
    with the same specs resumes, as with ``jobs=1``. The exception is re-raised. The workers
    are ``multiprocessing.Pool`` processes (daemonic: an objective cannot start processes of
    its own there; run such a suite with ``jobs=1``).
    """
    import multiprocessing

    from tqdm import tqdm

    out: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), desc="runs", disable=not progress)
    try:
        if jobs <= 1:
            for spec in specs:
                out.append(execute(spec, storage, checkpoint))
                bar.update()
        else:
            if storage.startswith("sqlite"):
                # create the schema (and switch to WAL) once, before the workers race to do it
                release_storage(open_storage(storage))
            pool = multiprocessing.get_context().Pool(min(jobs, len(specs)) or 1, initializer=_worker_init)
            try:
                for rec in pool.imap_unordered(_worker_execute, [(s, storage, checkpoint) for s in specs]):
                    out.append(rec)
                    bar.update()
            except BaseException:
                pool.terminate()  # queued runs never start; running ones end now
                raise
            else:
                pool.close()
            finally:
                pool.join()
    finally:
        bar.close()
        close_storage(storage)
    return out
