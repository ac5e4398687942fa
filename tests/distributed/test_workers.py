"""Many worker processes, one population: PostgreSQL, MariaDB, Journal file and Journal Redis.

These tests use the real servers on 127.0.0.1 (URLs from OPTUNA_WHALE_*_URL); a test skips,
loudly, only when its server cannot be reached at all.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale._testing import KINDS, cleanup, make_storage, server_reachable
from optuna_whale.storage import read_tag, tag_size

from ._worker import expected_state

WORKER = Path(__file__).with_name("_worker.py")
ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _require(kind: str) -> None:
    if not server_reachable(kind):
        pytest.skip(f"LOUD SKIP: the {kind} server is not reachable; start it (see .ci/run)")


@pytest.fixture
def place(tmp_path: Path, request: pytest.FixtureRequest):  # noqa: ANN201
    kind = request.param
    _require(kind)
    name = f"whale-test-{uuid.uuid4().hex[:10]}"
    where = str(tmp_path / "journal.log") if kind == "journal-file" else name
    optuna.create_study(study_name=name, storage=make_storage(kind, where))
    yield kind, where, name
    cleanup(kind, where, name)


def _spawn(kind: str, where: str, name: str, seed: int, trials: int, total: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.distributed._worker", "--kind", kind, "--where", where,
         "--study", name, "--trials", str(trials), "--seed", str(seed), "--total", str(total), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def _population_json(study: optuna.Study) -> list:
    pop = WhaleSampler().population(study)
    return [pop.cycle, pop.numbers.tolist(), pop.values.tolist(), pop.n_finished]


def _slot_overlaps(trials: list[optuna.trial.FrozenTrial]) -> int:
    """Trials that started while another live trial held the same (cycle, slot)."""
    tagged = [(t, read_tag(t)) for t in trials if read_tag(t) is not None and t.datetime_complete]
    bad = 0
    for t, tag in tagged:
        for u, other in tagged:
            same = u.number != t.number and (other.cycle, other.slot) == (tag.cycle, tag.slot)  # type: ignore[union-attr]
            if same and u.datetime_start < t.datetime_start < u.datetime_complete:  # type: ignore[operator]
                bad += 1
                break
    return bad


@pytest.mark.parametrize("place", KINDS, indirect=True)
def test_four_processes_one_population(place: tuple[str, str, str]) -> None:
    kind, where, name = place
    procs = [_spawn(kind, where, name, seed, 10, 40, "--sleep", "0.05") for seed in range(4)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    study = optuna.load_study(study_name=name, storage=make_storage(kind, where))
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(40)), "a trial was lost or duplicated"
    for t in trials:
        assert t.state == expected_state(t.number), (t.number, t.state)
    # every worker's live (incrementally cached) population equals a fresh rebuild
    fresh = _population_json(study)
    views = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert all(v == fresh for v in views)
    # and a fresh process rebuilds the same
    code = (
        "import json, optuna; from optuna_whale import WhaleSampler;"
        "from optuna_whale._testing import make_storage;"
        f"s = optuna.load_study(study_name={name!r}, storage=make_storage({kind!r}, {where!r}));"
        "p = WhaleSampler().population(s);"
        "print(json.dumps([p.cycle, p.numbers.tolist(), p.values.tolist(), p.n_finished]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == fresh
    # the slot rule: with 4 workers and >= 4 slots, a live slot is rarely shared (only races)
    assert _slot_overlaps(trials) <= len(trials) // 4


def test_sigkilled_worker_heartbeat_retry_same_slot(tmp_path: Path) -> None:
    kind = "postgres"
    _require(kind)
    name = f"whale-kill-{uuid.uuid4().hex[:10]}"
    optuna.create_study(study_name=name, storage=make_storage(kind, ""))
    marker = tmp_path / "hung.json"
    try:
        victim = _spawn(kind, "", name, 0, 12, 0, "--sleep", "0.3", "--heartbeat",
                        "--hang-at", "3", "--marker", str(marker))
        others = [_spawn(kind, "", name, s, 12, 0, "--sleep", "0.3", "--heartbeat") for s in (1, 2, 3)]
        deadline = time.time() + 120
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the victim never reached its hanging trial"
        time.sleep(0.2)
        hung = json.loads(marker.read_text())
        os.kill(hung["pid"], signal.SIGKILL)
        victim.wait(timeout=30)
        outs = [p.communicate(timeout=240) for p in others]
        assert all(p.returncode == 0 for p in others), [o[1][-2000:] for o in outs]
        storage = make_storage(kind, "", heartbeat_interval=1, grace_period=2,
                               heartbeat_stale_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=1))
        study = optuna.load_study(study_name=name, storage=storage, sampler=WhaleSampler(seed=9))
        time.sleep(3)  # past the grace period: whoever looks next fails the stale trial
        optuna.storages.fail_stale_trials(study)
        waiting = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.WAITING]
        if waiting:  # the retry was queued after the other workers stopped: run it here
            from ._worker import make_objective

            study.optimize(make_objective(0.0, None, None), n_trials=len(waiting), catch=(RuntimeError,))
        trials = study.get_trials(deepcopy=False)
        killed = trials[hung["number"]]
        assert killed.state == TrialState.FAIL
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == hung["number"]]
        assert len(retries) == 1
        retry = retries[0]
        assert retry.params == killed.params
        # the retry carries the killed trial's tag: it lands in the same slot of the same cycle
        tag_retry, tag_killed = read_tag(retry), read_tag(killed)
        assert tag_retry is not None and tag_killed is not None
        assert (tag_retry.slot, tag_retry.cycle) == (tag_killed.slot, tag_killed.cycle)
        assert retry.state == expected_state(retry.number)
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        for t in trials:
            if t.number != killed.number:
                assert t.state == expected_state(t.number), (t.number, t.state)
        pop = WhaleSampler().population(study)
        assert pop.running.sum() == 0
        assert killed.number not in pop.numbers.tolist()
    finally:
        cleanup(kind, "", name)


@pytest.mark.parametrize("place", ["journal-file", "postgres"], indirect=True)
def test_restart_continues_the_same_cycle(place: tuple[str, str, str]) -> None:
    kind, where, name = place
    first = [_spawn(kind, where, name, s, 12, 24) for s in range(2)]
    assert all(p.wait(timeout=240) == 0 for p in first)
    study = optuna.load_study(study_name=name, storage=make_storage(kind, where))
    before = WhaleSampler().population(study)
    assert before.occupied.all()
    second = [_spawn(kind, where, name, s, 3, 30) for s in (7, 8)]
    assert all(p.wait(timeout=240) == 0 for p in second)
    study = optuna.load_study(study_name=name, storage=make_storage(kind, where))
    new = [t for t in study.get_trials(deepcopy=False) if t.number >= 24]
    assert len(new) == 6
    for t in new:
        tag = read_tag(t)
        assert tag is not None and tag.cycle == before.cycle
        assert tag.move in ("search", "encircle", "spiral")  # no fresh initial design
        assert tag.generation >= before.generation - 1e-9


def test_n_jobs_8_threads_on_postgres() -> None:
    kind = "postgres"
    _require(kind)
    name = f"whale-threads-{uuid.uuid4().hex[:10]}"
    try:
        sampler = WhaleSampler(seed=0)
        study = optuna.create_study(study_name=name, storage=make_storage(kind, ""), sampler=sampler)
        from ._worker import make_objective

        study.optimize(make_objective(0.02, None, None), n_trials=48, n_jobs=8, catch=(RuntimeError,))
        trials = study.get_trials(deepcopy=False)
        assert sorted(t.number for t in trials) == list(range(48))
        for t in trials:
            assert t.state == expected_state(t.number)
        (live,) = sampler._cache.values()
        live.sync(study._storage.get_all_trials(study._study_id, deepcopy=False))
        pop = live.snapshot()
        assert [pop.cycle, pop.numbers.tolist(), pop.values.tolist(), pop.n_finished] == _population_json(study)
    finally:
        cleanup(kind, "", name)


def test_attrs_per_trial_are_small_and_bounded() -> None:
    """Bytes the sampler adds to a trial depend on the cube's dimension only, not on trial count."""
    sizes: dict[int, Counter] = {}
    for dim in (4, 50):
        study = optuna.create_study(sampler=WhaleSampler(seed=0))
        study.optimize(lambda t, d=dim: sum(t.suggest_float(f"x{i}", 0, 1) for i in range(d)), n_trials=300)
        tags = [read_tag(t) for t in study.trials]
        moves = [tag for tag in tags if tag is not None and tag.move not in ("init", "restart")]
        per_trial = [tag_size(tag) for tag in moves]
        sizes[dim] = Counter(per_trial)
        early, late = sum(per_trial[:20]) / 20, sum(per_trial[-20:]) / 20
        # only the digits of the parent's number and of the generation grow (log10 of trials);
        # the rest varies with the lengths of the floats' decimal representations
        assert late <= 1.06 * early + 4
        bound = 200 + 24 * dim  # JSON keys and small fields + at most 24 characters per float
        assert max(per_trial) <= bound, (dim, max(per_trial))
    print({d: max(c) for d, c in sizes.items()}, "bytes per trial at d=4 and d=50")
    assert math.isfinite(max(sizes[4]))
