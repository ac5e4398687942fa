"""One worker process of the distributed tests: optimise a shared study, then report its view.

Trial outcomes are decided by the trial number, so the test knows what every trial must end as:
``number % 11 == 5`` raises (FAIL), ``number % 13 == 7`` is pruned (PRUNED), others COMPLETE.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import optuna

from optuna_whale import WhaleSampler
from optuna_whale._testing import make_storage
from optuna_whale.core import Population


def expected_state(number: int) -> optuna.trial.TrialState:
    if number % 11 == 5:
        return optuna.trial.TrialState.FAIL
    if number % 13 == 7:
        return optuna.trial.TrialState.PRUNED
    return optuna.trial.TrialState.COMPLETE


def make_objective(
    sleep: float, hang_at: int | None, marker: str | None, times: dict[int, list[float]] | None = None
):  # noqa: ANN201
    """The test objective. ``times[number]`` gets ``[t0, t1, t_end]`` (``time.time()``): before
    the first suggest (the sampler reads the trials after ``t0``), after it (the whale tag is in
    the storage before ``t1``) and when the objective ends (the trial is finished after it)."""
    count = {"n": 0}

    def objective(trial: optuna.Trial) -> float:
        t0, t1 = time.time(), math.nan
        try:
            x0 = trial.suggest_float("x0", -5, 5)
            t1 = time.time()
            x = np.array([x0] + [trial.suggest_float(f"x{i}", -5, 5) for i in (1, 2)])
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
        finally:
            if times is not None:
                times[trial.number] = [t0, t1, time.time()]

    return objective


def population_view(pop: Population) -> list:
    """What two views of a population must agree on: cycle, and per slot the incumbent's trial
    number, value and position (``None`` for an empty slot), live trials, and the count."""
    positions = [p.tolist() if n >= 0 else None for p, n in zip(pop.positions, pop.numbers, strict=True)]
    values = [float(v) if n >= 0 else None for v, n in zip(pop.values, pop.numbers, strict=True)]
    return [pop.cycle, pop.numbers.tolist(), values, positions, pop.running.tolist(), pop.n_finished]


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
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    storage = make_storage(a.kind, a.where, **kwargs)
    sampler = WhaleSampler(seed=a.seed)
    study = optuna.load_study(study_name=a.study, storage=storage, sampler=sampler)
    times: dict[int, list[float]] = {}
    study.optimize(
        make_objective(a.sleep, a.hang_at, a.marker, times), n_trials=a.trials, catch=(RuntimeError,)
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
    print(json.dumps({"pop": population_view(pop), "times": times}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
