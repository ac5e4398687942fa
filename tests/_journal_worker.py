"""A worker process for the multi-process tests: optimise one study in a shared Journal file."""

from __future__ import annotations

import sys

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
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = JournalStorage(JournalFileBackend(path))
    study = optuna.load_study(study_name=name, storage=storage, sampler=WhaleSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials, catch=(RuntimeError,))
