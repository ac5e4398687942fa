"""The compression tasks: one registry (:data:`TASKS`) and the benchmark suite ``compression``.

:data:`TASKS` is the single table of the embedded compression tasks, read by the
``optuna-whale compare`` CLI (names, default trials, descriptions, expected time) and by the
harness (how to build each task). This module imports optuna and the harness's problem registry
only: torch is imported when a task is built, so the CLI stays light.

Importing this module registers the suite (``compare.py --suite compression``); its problems
are named by ``dataset`` (a :data:`TASKS` key). Every trial's value is the task's real metric
(the validation cross-entropy, minimised), within the size budget or not; the budget is the
trial's constraint ``bytes / max_bytes - 1 <= 0`` (feasible trials are those within it), so
the best of a run is its best *feasible* value. The optimum is taken as 0 (a perfect model):
the regret is the loss itself, not a distance to a known best, which this task does not have.
The problem's ``metadata`` is the task's (``objective``, ``max_bytes``, ``baseline`` figures,
...), so runs record what they were scored on and the budget they were held to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import optuna

from optuna_whale.bench.problems import Problem, ProblemSpec, register_suite

SUITE = "compression"


@dataclass(frozen=True)
class CompressionTask:
    """One registered task: ``builder`` (a function of :mod:`optuna_whale.compression.tasks`)
    called with ``seed=0, threads=1`` and ``settings``, the default trials per run and a
    one-line description for ``--help``."""

    name: str
    builder: str
    settings: dict[str, Any] = field(default_factory=dict)
    default_trials: int = 100
    description: str = ""


#: the default ``optuna-whale compare`` run (4 samplers x 3 seeds x 60 digits trials, --jobs 1),
#: measured with ``/usr/bin/time`` on 2 cores shared with other jobs: 295 s user + 4 s system
#: CPU time, 10 min 46 s wall at load average 6-10 (one job uses one core, so an idle machine
#: needs about the CPU time). At 100 trials the same run took 8.5 min of CPU time.
EXPECTED_TIME = ("about 5 minutes on a 2-core CPU (measured: 5.0 min of CPU time; 10 min 46 s of wall time while "
                 "other jobs kept both cores busy)")

TASKS: dict[str, CompressionTask] = {
    t.name: t
    for t in (
        CompressionTask(
            "digits", "digits_task",
            {"train_epochs": 10, "size_fraction": 0.1, "objective": "val_loss", "val_fraction": 0.15},
            60,
            "compress a CNN trained on sklearn digits to 10 % of its bytes; minimise the validation "
            "cross-entropy, a finer measure than accuracy on 270 images (about 0.25 s a trial)",
        ),
        CompressionTask(
            "digits-tiny", "digits_task", {"train_epochs": 1, "size_fraction": 0.1, "objective": "val_loss"},
            100, "the digits task with a 1-epoch base model (smoke tests)",
        ),
        CompressionTask(
            "mnist", "mnist_task", {"train_epochs": 4, "size_fraction": 0.1, "objective": "val_loss"},
            30, "compress the MNIST-5k CNN to 10 % of its bytes (about 1-3 s a trial)",
        ),
        CompressionTask(
            "text", "text_task", {"train_epochs": 8, "size_fraction": 0.125, "objective": "val_loss"},
            100, "compress the chatterbot utterance -> topic text model to 12.5 % of its bytes",
        ),
    )
}
#: name -> (default trials, description): the CLI's view of :data:`TASKS`
COMPRESSION_TASKS: dict[str, tuple[int, str]] = {n: (t.default_trials, t.description) for n, t in TASKS.items()}


def names() -> list[str]:
    """The problems of the suite."""
    return list(TASKS)


@functools.lru_cache(maxsize=4)
def build_task(dataset: str) -> Any:
    """The :class:`~optuna_whale.compression.tasks.EmbeddedTask` of a :data:`TASKS` entry
    (trained once per process); ValueError naming the allowed names otherwise."""
    if dataset not in TASKS:
        raise ValueError(f"compression task must be one of {names()}, got {dataset!r}.")
    from optuna_whale.compression import tasks

    entry = TASKS[dataset]
    return getattr(tasks, entry.builder)(seed=0, threads=1, **entry.settings)


def build(spec: ProblemSpec) -> Problem:
    """The registered builder: a :class:`Problem` whose trial objective is the task's own
    (the metric to minimise, the budget as a constraint; no static space)."""
    task = build_task(spec.dataset)
    if task.directions != ["minimize"]:
        raise ValueError(f"compression task {spec.dataset!r} must minimise its metric for the harness, "
                         f"got directions {task.directions}")

    def trial_objective(trial: optuna.Trial) -> float:
        return float(task.objective(trial))

    def evaluate(params: dict[str, Any]) -> float:
        raise NotImplementedError("the compression task is evaluated through its trial objective")

    return Problem(spec, {}, evaluate, 0.0, trial_objective=trial_objective, metadata=dict(task.metadata))


register_suite(SUITE, build, names)
