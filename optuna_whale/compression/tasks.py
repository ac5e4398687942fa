"""Embedded compression tasks for benchmark harnesses and the CLI.

``digits_task`` trains a small CNN on sklearn digits once (a few seconds), then returns a
single-objective objective (maximize validation accuracy) with the size budget as a
constraint (``bytes / max_bytes - 1 <= 0``); one trial costs about 1-3 s on one thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from optuna_whale.compression.data import load_digits
from optuna_whale.compression.measure import measure
from optuna_whale.compression.models import SmallCNN
from optuna_whale.compression.objective import Budget, CompressionSpace, build_objective
from optuna_whale.compression.training import TrainConfig, num_threads, train_inplace


@dataclass
class EmbeddedTask:
    """An objective plus what a harness needs to run and report it."""

    objective: Callable[[optuna.Trial], float | tuple[float, float]]
    directions: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)


def digits_task(
    seed: int = 0,
    width: int = 16,
    train_epochs: int = 10,
    size_fraction: float = 0.1,
    threads: int = 1,
) -> EmbeddedTask:
    """Compress a digits CNN under ``max_bytes = size_fraction * baseline bytes``.

    Search space: per-layer pruning ratios of conv1, conv2 and fc1 in [0, 0.9], the rank
    ratio of fc1 in [0.05, 1], quantization in {none, dynamic_int8, fp16}, fine-tune lr in
    [1e-4, 1e-2] (log) and 1-2 fine-tune epochs. ``metadata`` holds the baseline figures.
    """
    if not 0.0 < size_fraction <= 1.0:
        raise ValueError(f"size_fraction={size_fraction}; allowed: 0 < size_fraction <= 1")
    splits = load_digits(seed=seed)
    cfg = TrainConfig(epochs=train_epochs, lr=3e-3, batch_size=64, seed=seed, num_threads=threads)
    with num_threads(threads):
        model = SmallCNN(image_size=8, width=width)
        train_inplace(model, splits.train, splits.val, cfg)
        base = measure(model, splits.val, splits.example_inputs, with_latency=False)
    budget = Budget(max_bytes=size_fraction * base.bytes, measure_latency=False)
    space = CompressionSpace(
        rank_layers=("fc1",),
        quantization=("none", "dynamic_int8", "fp16"),
        finetune_epochs=(1, 2),
    )
    inner = build_objective(
        splits.train, splits.val, splits.example_inputs, space, budget,
        model=model, train_config=cfg,
    )

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        with num_threads(threads):
            return inner(trial)

    meta = {
        "name": "digits-compression",
        "baseline": base.as_dict(),
        "max_bytes": budget.max_bytes,
        "seed": seed,
        "constraint": "bytes / max_bytes - 1 <= 0",
        "reports": "validation accuracy after each fine-tune epoch (steps 1..2); an accuracy-"
        "median pruner stops the small, budget-meeting models first, so prefer NopPruner",
    }
    return EmbeddedTask(objective, ["maximize"], meta)
