"""The runner's accounting and stopping: failed trials are retried, not counted; an always
failing objective stops with a clear error; the wall time of a resumed run counts every part;
Ctrl-C with several jobs stops at once and the same call resumes."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from optuna_whale.bench.problems import Problem, ProblemSpec, register_suite
from optuna_whale.bench.runner import RunFailed, RunSpec, execute

optuna.logging.set_verbosity(optuna.logging.ERROR)
ROOT = Path(__file__).resolve().parents[2]
#: how the toy objective behaves, per dataset name (set by each test)
BEHAVIOUR: dict[str, Any] = {}


def _build(spec: ProblemSpec) -> Problem:
    how = BEHAVIOUR[spec.dataset]

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(how.get("sleep", 0.0))
        if trial.number in how.get("interrupt_at", ()):
            raise KeyboardInterrupt  # as a Ctrl-C in the middle of the trial
        if how.get("fail") == "always":
            raise ValueError("the toy objective always fails")
        if trial.number % 3 == 1 and how.get("fail") == "nan":
            return math.nan  # Optuna marks the trial FAIL
        return x

    return Problem(spec, {"x": FloatDistribution(0.0, 1.0)}, lambda p: p["x"], 0.0, trial_objective=objective)


register_suite("runner-toy", _build, lambda: sorted(BEHAVIOUR))


def _spec(dataset: str, n_trials: int, **how: Any) -> RunSpec:
    BEHAVIOUR[dataset] = how
    return RunSpec(ProblemSpec("runner-toy", dataset=dataset), "random", 0, n_trials)


def test_failed_trials_are_retried_not_counted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    spec = _spec("nan", 6, fail="nan")
    rec = execute(spec, url)
    trials = optuna.load_study(study_name=spec.study_name, storage=url).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 6 and len(trials) > 6  # trials 1, 4, 7 returned NaN
    assert rec["failed_trials"] == len(trials) - 6 > 0
    assert rec["values"] == [t.value for t in complete] and None not in rec["values"]
    assert execute(spec, url)["values"] == rec["values"]  # finished: nothing more
    assert len(optuna.load_study(study_name=spec.study_name, storage=url).trials) == len(trials)


def test_an_always_failing_objective_stops_with_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    spec = _spec("always", 5, fail="always")
    with pytest.raises(RunFailed, match=r"4 trials failed in a row \(last: ValueError: the toy objective always fails\)"):
        execute(spec, url, max_failures=4)
    trials = optuna.load_study(study_name=spec.study_name, storage=url).trials
    assert [t.state for t in trials] == [TrialState.FAIL] * 4
    with pytest.raises(ValueError, match="max_failures"):
        execute(spec, url, max_failures=0)


def test_wall_seconds_of_a_resumed_run_count_every_part(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    spec = _spec("interrupted", 6, sleep=0.1, interrupt_at=(3,))
    with pytest.raises(KeyboardInterrupt):
        execute(spec, url)  # stopped in its 4th trial, after 3 finished trials (0.35 s and more)
    first = optuna.load_study(study_name=spec.study_name, storage=url).user_attrs["wall_seconds"]
    assert first >= 0.35
    BEHAVIOUR["interrupted"] = {"sleep": 0.1}
    rec = execute(spec, url)  # 3 more trials: 0.3 s and more
    trials = optuna.load_study(study_name=spec.study_name, storage=url).trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 6 and trials[3].state == TrialState.FAIL
    assert rec["wall_seconds"] >= first + 0.3  # both parts (before: only the resumed one)
    assert rec["sampler_seconds"] > 0


SCRIPT = textwrap.dedent("""
    import sys, time
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna_whale.bench.problems import Problem, ProblemSpec, register_suite
    from optuna_whale.bench.runner import RunSpec, run_all

    def build(spec):
        def objective(trial):
            x = trial.suggest_float("x", 0.0, 1.0)
            time.sleep(0.2)
            with open(sys.argv[3], "a") as f:  # progress the test reads without touching SQLite
                f.write("trial\\n")
            return x
        return Problem(spec, {"x": FloatDistribution(0.0, 1.0)}, lambda p: p["x"], 0.0, trial_objective=objective)

    register_suite("slow", build, lambda: ["a"])
    specs = [RunSpec(ProblemSpec("slow", dataset="a"), "random", seed, 6) for seed in range(int(sys.argv[2]))]
    try:
        run_all(specs, sys.argv[1], jobs=2, progress=False)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print("done", flush=True)
""")


def _states(url: str) -> dict[str, list[TrialState]]:
    storage = optuna.storages.RDBStorage(url)
    try:
        return {name: [t.state for t in optuna.load_study(study_name=name, storage=storage).trials]
                for name in optuna.get_all_study_names(storage)}
    finally:
        storage.engine.dispose()


@pytest.mark.parametrize("runs", [6, 3])
def test_ctrl_c_with_two_jobs_stops_at_once_and_resumes(
    tmp_path: Path, runs: int, interruptible: Callable[[], None]
) -> None:
    """SIGINT to the parent of 2 worker processes: queued runs never start, the workers' trials
    end within a second, finished trials are kept, the same call completes every run. With 3
    runs a worker is idle (waiting for work) when the signal comes."""
    script, db = tmp_path / "slow.py", tmp_path / "s.db"
    script.write_text(SCRIPT)
    url = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    progress = tmp_path / "progress.txt"
    cmd = [sys.executable, str(script), url, str(runs), str(progress)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=interruptible)
    deadline = time.monotonic() + 60
    started = 3 if runs == 6 else 13  # with 3 runs: the first two finished, the last one running
    # the objective's own progress file, not the SQLite file, whose read can wait on the
    # writers' lock
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if progress.exists() and len(progress.read_text().splitlines()) >= started:
            break
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130 and stdout == "interrupted\n", (stdout, stderr)
    # prompt, not timed to the second: a worker whose interrupt Python dropped exits after its
    # 2 s grace period, and SQLite writes at exit can wait on a lock (5.3 s seen once in a full
    # suite); a hang would last until the 30 s timeout above, and queued runs that still ran
    # (the bug this guards) are caught by the study count below
    assert elapsed < 10.0, elapsed
    assert "Traceback" not in stderr, stderr
    after = _states(url)
    time.sleep(0.5)
    assert _states(url) == after  # no worker is left running
    # trials end as FAIL; rarely (a KeyboardInterrupt raised inside a garbage-collector callback
    # is dropped by Python) the worker exits after its grace period and leaves its trial
    # RUNNING: at most one per worker, and the rerun closes it
    assert sum(states.count(TrialState.RUNNING) for states in after.values()) <= 2
    if runs == 6:
        assert len(after) == 2  # seeds 2..5 were queued: never started
    kept = {name: [t.params for t in optuna.load_study(study_name=name, storage=url).trials
                   if t.state == TrialState.COMPLETE] for name in after}

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert rerun.returncode == 0 and rerun.stdout == "done\n", rerun.stderr
    final = _states(url)
    assert len(final) == runs and all(s.count(TrialState.COMPLETE) == 6 for s in final.values())
    assert all(TrialState.RUNNING not in s for s in final.values())
    for name, params in kept.items():  # finished trials were kept, not redone
        trials = optuna.load_study(study_name=name, storage=url).trials
        assert [t.params for t in trials if t.state == TrialState.COMPLETE][: len(params)] == params


def test_a_stopping_worker_mutes_sqlalchemys_error_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop interrupt can land inside SQLAlchemy's cursor cleanup, which logs "Error closing
    cursor" with a traceback (seen on Ctrl-C with 2 jobs): a stopping worker mutes that log."""
    from optuna_whale.bench import runner

    pool_logger = logging.getLogger("sqlalchemy.pool.impl.QueuePool")
    root = logging.getLogger("sqlalchemy")
    level = root.level
    previous = signal.getsignal(signal.SIGALRM)
    monkeypatch.setattr(runner, "_IN_RUN", True)
    assert pool_logger.isEnabledFor(logging.ERROR)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner._worker_stop(signal.SIGTERM, None)
        assert not pool_logger.isEnabledFor(logging.ERROR)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)  # the grace timer would exit this process
        signal.signal(signal.SIGALRM, previous)
        root.setLevel(level)
