"""Slot claims: no two live trials on one whale slot (threads, sampler instances, processes on
the real PostgreSQL), and ``stale_after`` frees the slot of a trial that never finishes."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale._testing import server_reachable, server_url
from optuna_whale.bench.distributed import EVALUATION_START, run_workers, slot_overlaps
from optuna_whale.storage_layout import read_tag

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _objective(trial: optuna.Trial) -> float:
    x = [trial.suggest_float(f"x{i}", -5, 5) for i in range(5)]
    trial.set_user_attr(EVALUATION_START, time.time())
    time.sleep(0.02)
    return float(sum(v * v for v in x))


def _postgres() -> str:
    if not server_reachable("postgres"):
        pytest.skip("LOUD SKIP: the PostgreSQL server is not reachable; start it (see .ci/run)")
    return server_url("postgres")


def _threads(url: str, trials: int) -> optuna.Study:
    study = optuna.create_study(study_name=f"whale-slots-{uuid.uuid4().hex[:10]}", storage=url,
                                sampler=WhaleSampler(seed=1))
    study.optimize(_objective, n_trials=trials, n_jobs=8)
    return study


def test_threads_on_sqlite_never_share_a_slot(tmp_path: Path) -> None:
    # 8 threads < 15 whales: a free slot always exists, so no two live trials may share one
    study = _threads(f"sqlite:///{tmp_path}/s.db", 160)
    assert len(study.trials) == 160
    assert slot_overlaps(study.get_trials(deepcopy=False)) == (0, 0)


def test_threads_on_postgres_never_share_a_slot() -> None:
    url = _postgres()
    study = _threads(url, 160)
    try:
        assert slot_overlaps(study.get_trials(deepcopy=False)) == (0, 0)
    finally:
        optuna.delete_study(study_name=study.study_name, storage=url)


def test_separate_sampler_instances_never_share_a_slot(tmp_path: Path) -> None:
    """Six samplers, each with its own lock (as in six processes), on one SQLite study: only the
    written-and-verified claim keeps them apart."""
    url = f"sqlite:///{tmp_path}/s.db"
    name = "whale-instances"
    optuna.create_study(study_name=name, storage=url)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            study = optuna.load_study(study_name=name, storage=url, sampler=WhaleSampler(seed=seed))
            study.optimize(_objective, n_trials=25)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    study = optuna.load_study(study_name=name, storage=url)
    assert len(study.trials) == 150
    assert slot_overlaps(study.get_trials(deepcopy=False)) == (0, 0)


def test_worker_processes_on_postgres_never_share_a_slot() -> None:
    url = _postgres()
    _, study = run_workers(url, "whale", 4, 100, 0.05, seed=3, mark_start=True)
    try:
        assert len(study.trials) == 100
        # before the verified claim: 36 pairs in 200 trials of 6 workers
        # (benchmarks/results/slot-overlap); after it, 1 pair in 400 trials: a stated bound of
        # 2 for the rare worker pairs that collide through every re-proposal
        pairs, identical = slot_overlaps(study.get_trials(deepcopy=False))
        assert pairs <= 2
        assert identical == 0
    finally:
        optuna.delete_study(study_name=study.study_name, storage=url)


# -- stale_after -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "60", [1]])
def test_stale_after_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match="stale_after"):
        WhaleSampler(stale_after=bad)  # type: ignore[arg-type]


def _slots_after_a_killed_worker(tmp_path: Path, stale_after: float | None) -> tuple[int, list[int]]:
    """A Journal study whose first trial was sampled and then its worker died (the trial stays
    RUNNING: Journal storages have no heartbeat); the slots of the next 4 trials."""
    storage = JournalStorage(JournalFileBackend(str(tmp_path / f"journal-{stale_after}.log")))
    space = {"x": optuna.distributions.FloatDistribution(-5, 5), "y": optuna.distributions.FloatDistribution(-5, 5)}
    study = optuna.create_study(storage=storage, sampler=WhaleSampler(seed=0, population_size=3, stale_after=stale_after))
    study.enqueue_trial({"x": 0.0, "y": 0.0})  # one evaluated trial makes the relative space
    study.tell(study.ask(space), 0.0)
    killed = study.ask(space)
    tag = read_tag(study._storage.get_trial(killed._trial_id))
    assert tag is not None
    time.sleep(0.3)
    slots = []
    for _ in range(4):
        t = study.ask(space)
        tag_t = read_tag(study._storage.get_trial(t._trial_id))
        assert tag_t is not None
        slots.append(tag_t.proposal.slot)
        study.tell(t, float(t.params["x"] ** 2 + t.params["y"] ** 2))
    assert study._storage.get_trial(killed._trial_id).state == TrialState.RUNNING
    return tag.proposal.slot, slots


def test_a_killed_workers_trial_holds_its_slot_without_stale_after(tmp_path: Path) -> None:
    held, slots = _slots_after_a_killed_worker(tmp_path, None)
    assert held not in slots


def test_stale_after_frees_the_slot_of_a_trial_that_never_finishes(tmp_path: Path) -> None:
    held, slots = _slots_after_a_killed_worker(tmp_path, 0.1)
    assert held in slots
