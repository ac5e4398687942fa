"""A worker process for the multi-process tests: optimise one study in a shared Journal file."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage

from optuna_whale import WhaleSampler


def objective(trial: optuna.Trial) -> float:
    x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
    k = trial.suggest_int("k", 0, 4)
    if trial.number % 11 == 5:
        raise RuntimeError("deliberate failure")
    return float(((x - 1.5) ** 2).sum() + k)


if __name__ == "__main__":
    path, name, n_trials, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    total = int(sys.argv[5])
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = JournalStorage(JournalFileBackend(path))
    sampler = WhaleSampler(seed=seed)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    study.optimize(objective, n_trials=n_trials, catch=(RuntimeError,))
    # wait for the other workers, then print the population this worker's live cache holds
    deadline = time.time() + 120
    while time.time() < deadline:
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        if len(trials) >= total and all(t.state.is_finished() for t in trials):
            break
        time.sleep(0.2)
    (live,) = sampler._cache.values()
    live.sync(storage.get_all_trials(study._study_id, deepcopy=False))
    pop = live.snapshot()
    print(json.dumps([pop.cycle, pop.numbers.tolist(), pop.values.tolist(), pop.n_finished]))
