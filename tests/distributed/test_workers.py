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
from optuna_whale._testing import KINDS, cleanup, make_storage, server_reachable, server_url
from optuna_whale.storage_layout import read_tag, tag_size

from ._worker import expected_state, population_view

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


def _population_json(study: optuna.Study, population_size: int | None = None) -> list:
    return population_view(WhaleSampler(population_size=population_size).population(study))


def _certain_sharers(trials: list[optuna.trial.FrozenTrial], times: dict[int, list[float]]) -> dict[int, int]:
    """For each trial ``t``, how many other trials of its ``(cycle, slot)`` it certainly saw live
    when it chose the slot: ``u``'s tag was in the storage before ``t`` read the trials
    (``t1_u < t0_t``) and ``u`` finished after ``t`` had chosen (``t_end_u > t1_t``)."""
    tags = {t.number: read_tag(t) for t in trials}
    out = {}
    for t in trials:
        tag = tags[t.number]
        if tag is None or t.number not in times:
            continue
        t0, t1, _ = times[t.number]
        out[t.number] = sum(
            1
            for u in trials
            if u.number != t.number
            and u.number in times
            and (other := tags[u.number]) is not None
            and (other.proposal.cycle, other.proposal.slot) == (tag.proposal.cycle, tag.proposal.slot)
            and times[u.number][1] < t0
            and times[u.number][2] > t1
        )
    return out


def _assert_slot_rule(study: optuna.Study, times: dict[int, list[float]], workers: int, n_slots: int) -> None:
    """The documented rule (``woa._choose_slot``): ``R`` workers on ``N`` slots put at most
    ``ceil(R / N)`` live trials on a slot, more only through a race (two picks before either tag
    was written), which the timing test above excludes."""
    sharers = _certain_sharers(study.get_trials(deepcopy=False), times)
    assert len(sharers) >= len(times) // 2, "too few tagged trials to check the rule"
    worst = max(sharers.values())
    assert worst + 1 <= math.ceil(workers / n_slots), (worst, workers, n_slots)


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
    # every worker's live (incrementally cached) population equals a fresh rebuild: cycle, and
    # per slot the incumbent's number, value and position, live trials, evaluation count
    fresh = _population_json(study)
    reports = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert all(r["pop"] == fresh for r in reports)
    times = {int(k): v for r in reports for k, v in r["times"].items()}
    assert sorted(times) == list(range(40))
    # and a fresh process rebuilds the same
    code = (
        "import json, optuna; from optuna_whale import WhaleSampler;"
        "from optuna_whale._testing import make_storage;"
        f"s = optuna.load_study(study_name={name!r}, storage=make_storage({kind!r}, {where!r}));"
        "from tests.distributed._worker import population_view;"
        "print(json.dumps(population_view(WhaleSampler().population(s))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == fresh
    _assert_slot_rule(study, times, workers=4, n_slots=WhaleSampler().population(study).size)
    if kind in ("postgres", "mysql"):
        _assert_rdb_bytes_are_the_tag_size(kind, study)


def _assert_rdb_bytes_are_the_tag_size(kind: str, study: optuna.Study) -> None:
    """The bytes the RDB really holds for the whale attrs of each trial (key + JSON value) are
    ``tag_size`` of its tag, and within the documented bound ``200 + 24 d`` (here d = 4)."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url(kind))
    query = sa.text(
        "SELECT a.trial_id, SUM(LENGTH(a.{k}) + LENGTH(a.value_json)) FROM {table} a "
        "JOIN trials t ON t.trial_id = a.trial_id WHERE t.study_id = :s AND a.{k} IN :keys GROUP BY a.trial_id"
    )
    stored: Counter = Counter()
    try:
        with engine.connect() as conn:
            for table, keys in (("trial_system_attributes", ["whale"]),
                                ("trial_user_attributes", ["whale_slot", "whale_move", "whale_cycle"])):
                q = sa.text(query.text.format(k="`key`" if kind == "mysql" else "key", table=table))
                q = q.bindparams(sa.bindparam("keys", expanding=True))
                for trial_id, size in conn.execute(q, {"s": study._study_id, "keys": keys}):
                    stored[trial_id] += int(size)
    finally:
        engine.dispose()
    tagged = [(t, read_tag(t)) for t in study.get_trials(deepcopy=False)]
    tagged = [(t, tag) for t, tag in tagged if tag is not None]
    assert tagged and len(stored) == len(tagged)
    for t, tag in tagged:
        assert stored[t._trial_id] == tag_size(tag) <= 200 + 24 * 4, (t.number, stored[t._trial_id])


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
                               heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1))
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
        assert (tag_retry.proposal.slot, tag_retry.proposal.cycle) == (tag_killed.proposal.slot, tag_killed.proposal.cycle)
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
        assert tag is not None and tag.proposal.cycle == before.cycle
        assert tag.proposal.move in ("search", "encircle", "spiral")  # no fresh initial design
        assert tag.proposal.generation >= round(before.generation, 4) - 1e-9  # the tag keeps 4 decimals


def test_n_jobs_8_threads_on_postgres() -> None:
    kind = "postgres"
    _require(kind)
    name = f"whale-threads-{uuid.uuid4().hex[:10]}"
    try:
        # 4 whales for 8 threads: the slot rule allows ceil(8 / 4) = 2 live trials per slot
        sampler = WhaleSampler(seed=0, population_size=4)
        study = optuna.create_study(study_name=name, storage=make_storage(kind, ""), sampler=sampler)
        from ._worker import make_objective

        times: dict[int, list[float]] = {}
        objective = make_objective(0.4, None, None, times)  # long enough for 8 to overlap
        study.optimize(objective, n_trials=48, n_jobs=8, catch=(RuntimeError,))
        trials = study.get_trials(deepcopy=False)
        assert sorted(t.number for t in trials) == list(range(48))
        for t in trials:
            assert t.state == expected_state(t.number)
        (live,) = sampler._cache.values()
        live.sync(study._storage.get_all_trials(study._study_id, deepcopy=False))
        pop = live.snapshot()
        assert pop.size == 4 and population_view(pop) == _population_json(study, population_size=4)
        _assert_slot_rule(study, times, workers=8, n_slots=4)
    finally:
        cleanup(kind, "", name)


def test_attrs_per_trial_are_small_and_bounded() -> None:
    """Bytes the sampler adds to a trial depend on the cube's dimension only, not on trial count."""
    sizes: dict[int, Counter] = {}
    for dim in (4, 50):
        study = optuna.create_study(sampler=WhaleSampler(seed=0))
        study.optimize(lambda t, d=dim: sum(t.suggest_float(f"x{i}", 0, 1) for i in range(d)), n_trials=300)
        tags = [read_tag(t) for t in study.trials]
        moves = [tag for tag in tags if tag is not None and tag.proposal.move not in ("init", "restart")]
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
