"""The compression task of :mod:`optuna_whale.compression` as a benchmark suite (``compression``).

Importing this module registers the suite (``compare.py --suite compression``). Its problems
are named by ``dataset``:

* ``digits``: :func:`optuna_whale.compression.tasks.digits_task` (small CNN on sklearn digits,
  trained once per worker process for 10 epochs, seed 0; size budget 10 % of the baseline);
* ``digits-tiny``: the same with a 1-epoch base model (for tests and smoke runs).

The value to minimise is the validation error ``1 - accuracy`` for a trial that meets the size
budget, and ``1 + (bytes / max_bytes - 1)`` (worse than any feasible trial) for one that does not.
The optimum is taken as 0 (perfect accuracy): the regret is the error, not the distance to a
known best, which this task does not have. One trial costs about 1-3 s.
"""

from __future__ import annotations

import functools
from typing import Any

import optuna

from optuna_whale.bench.problems import Problem, ProblemSpec, register_suite

SUITE = "compression"
TRAIN_EPOCHS = {"digits": 10, "digits-tiny": 1}


def names() -> list[str]:
    """The problems of the suite."""
    return list(TRAIN_EPOCHS)


@functools.lru_cache(maxsize=4)
def _task(dataset: str) -> Any:
    from optuna_whale.compression.tasks import digits_task

    return digits_task(seed=0, train_epochs=TRAIN_EPOCHS[dataset], threads=1)


def penalised_error(accuracy: float, size_bytes: float, max_bytes: float) -> float:
    """``1 - accuracy`` if ``size_bytes <= max_bytes`` else ``1 + size_bytes / max_bytes - 1``."""
    if size_bytes <= max_bytes:
        return 1.0 - float(accuracy)
    return 1.0 + (float(size_bytes) / float(max_bytes) - 1.0)


def build(spec: ProblemSpec) -> Problem:
    """The registered builder: a :class:`Problem` with a trial objective (no static space)."""
    if spec.dataset not in TRAIN_EPOCHS:
        raise ValueError(f"compression dataset must be one of {names()}, got {spec.dataset!r}.")
    task = _task(spec.dataset)
    max_bytes = float(task.metadata["max_bytes"])

    def trial_objective(trial: optuna.Trial) -> float:
        accuracy = task.objective(trial)
        return penalised_error(float(accuracy), float(trial.user_attrs["bytes"]), max_bytes)

    def evaluate(params: dict[str, Any]) -> float:
        raise NotImplementedError("the compression task is evaluated through its trial objective")

    return Problem(spec, {}, evaluate, 0.0, trial_objective=trial_objective)


register_suite(SUITE, build, names)
