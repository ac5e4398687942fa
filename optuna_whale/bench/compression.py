"""The compression task of :mod:`optuna_whale.compression` as a benchmark suite (``compression``).

Importing this module registers the suite (``compare.py --suite compression``). Its problems
are named by ``dataset``:

* ``digits``: :func:`optuna_whale.compression.tasks.digits_task` (small CNN on sklearn digits,
  trained once per worker process for 10 epochs, seed 0; size budget 10 % of the baseline);
* ``digits-tiny``: the same with a 1-epoch base model (for tests and smoke runs);
* ``mnist``: :func:`optuna_whale.compression.tasks.mnist_task` (the MNIST-5k CNN, 4 epochs;
  budget 10 %; about 1-3 s per trial);
* ``text``: :func:`optuna_whale.compression.tasks.text_task` (the chatterbot utterance -> topic
  EmbeddingBag model, 8 epochs; budget 12.5 %).

The value to minimise is the validation error ``1 - accuracy`` for a trial that meets the size
budget, and ``1 + (bytes / max_bytes - 1)`` (worse than any feasible trial) for one that does not.
The optimum is taken as 0 (perfect accuracy): the regret is the error, not the distance to a
known best, which this task does not have. The problem's ``metadata`` is the task's
(``max_bytes``, ``baseline`` figures, ...), so runs record the budget they were held to.
"""

from __future__ import annotations

import functools
from typing import Any

import optuna

from optuna_whale.bench.problems import Problem, ProblemSpec, register_suite

SUITE = "compression"
#: dataset -> (task function in optuna_whale.compression.tasks, base-model training epochs)
TASKS = {
    "digits": ("digits_task", 10),
    "digits-tiny": ("digits_task", 1),
    "mnist": ("mnist_task", 4),
    "text": ("text_task", 8),
}


def names() -> list[str]:
    """The problems of the suite."""
    return list(TASKS)


@functools.lru_cache(maxsize=4)
def _task(dataset: str) -> Any:
    from optuna_whale.compression import tasks

    function, epochs = TASKS[dataset]
    return getattr(tasks, function)(seed=0, train_epochs=epochs, threads=1)


def penalised_error(accuracy: float, size_bytes: float, max_bytes: float) -> float:
    """``1 - accuracy`` if ``size_bytes <= max_bytes`` else ``1 + size_bytes / max_bytes - 1``."""
    if size_bytes <= max_bytes:
        return 1.0 - float(accuracy)
    return 1.0 + (float(size_bytes) / float(max_bytes) - 1.0)


def build(spec: ProblemSpec) -> Problem:
    """The registered builder: a :class:`Problem` with a trial objective (no static space)."""
    if spec.dataset not in TASKS:
        raise ValueError(f"compression dataset must be one of {names()}, got {spec.dataset!r}.")
    task = _task(spec.dataset)
    max_bytes = float(task.metadata["max_bytes"])

    def trial_objective(trial: optuna.Trial) -> float:
        accuracy = task.objective(trial)
        return penalised_error(float(accuracy), float(trial.user_attrs["bytes"]), max_bytes)

    def evaluate(params: dict[str, Any]) -> float:
        raise NotImplementedError("the compression task is evaluated through its trial objective")

    return Problem(spec, {}, evaluate, 0.0, trial_objective=trial_objective, metadata=dict(task.metadata))


register_suite(SUITE, build, names)
