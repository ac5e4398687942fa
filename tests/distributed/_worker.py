"""One worker process of the distributed tests: optimise a shared study, then report its view.

Trial outcomes are decided by the trial number, so the test knows what every trial must end as:
``number % 11 == 5`` raises (FAIL), ``number % 13 == 7`` is pruned (PRUNED), others COMPLETE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import optuna

from optuna_whale import WhaleSampler
from optuna_whale._testing import make_storage


def expected_state(number: int) -> optuna.trial.TrialState:
    if number % 11 == 5:
        return optuna.trial.TrialState.FAIL
    if number % 13 == 7:
        return optuna.trial.TrialState.PRUNED
    return optuna.trial.TrialState.COMPLETE


def make_objective(sleep: float, hang_at: int | None, marker: str | None):  # noqa: ANN201
    count = {"n": 0}

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
        k = trial.suggest_int("k", 0, 4)
        count["n"] += 1
        if hang_at is not None and count["n"] == hang_at and marker:
            with open(marker, "w") as f:
                f.write(json.dumps({"pid": os.getpid(), "number": trial.number}))
            time.sleep(600)  # the test kills this process here
        time.sleep(sleep)
        value = float(((x - 1.5) ** 2).sum() + k)
        if trial.number % 11 == 5:
            raise RuntimeError("deliberate failure")
        if trial.number % 13 == 7:
            trial.report(value, 0)
            raise optuna.TrialPruned()
        return value

    return objective


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", required=True)
    p.add_argument("--where", default="")
    p.add_argument("--study", required=True)
    p.add_argument("--trials", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--total", type=int, default=0, help="wait until this many trials finished")
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--heartbeat", action="store_true")
    p.add_argument("--hang-at", type=int, default=None)
    p.add_argument("--marker", default=None)
    a = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    kwargs = {}
    if a.heartbeat:
        kwargs = dict(
            heartbeat_interval=1,
            grace_period=2,
            heartbeat_stale_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=1),
        )
    storage = make_storage(a.kind, a.where, **kwargs)
    sampler = WhaleSampler(seed=a.seed)
    study = optuna.load_study(study_name=a.study, storage=storage, sampler=sampler)
    study.optimize(
        make_objective(a.sleep, a.hang_at, a.marker), n_trials=a.trials, catch=(RuntimeError,)
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        if len(trials) >= a.total and all(t.state.is_finished() for t in trials):
            break
        time.sleep(0.2)
    trials = storage.get_all_trials(study._study_id, deepcopy=False)
    (live,) = sampler._cache.values()
    live.sync(trials)
    pop = live.snapshot()
    print(json.dumps([pop.cycle, pop.numbers.tolist(), pop.values.tolist(), pop.n_finished]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
