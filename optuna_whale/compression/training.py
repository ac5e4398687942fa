"""Training, fine-tuning and evaluation loops on ``(x, y)`` tensor splits.

Deterministic under ``TrainConfig.seed`` (own ``torch.Generator`` for init-free shuffling
and a seeded global RNG for dropout and the like); ``num_threads`` is applied with
``torch.set_num_threads`` for the duration of the call and restored after.
With a ``trial``, each epoch's validation accuracy is reported (``trial.report(acc, step)``;
in a multi-objective study ``optuna_whale.report``) and ``optuna.TrialPruned`` is raised when
the pruner says so (:func:`report_and_check`).

Float16/bfloat16 parameters are trained in float32 (master weights: the model is converted for
the run, inputs are cast to float32, and every tensor gets its own dtype back at the end, also
when the run stops early): Adam's ``eps`` underflows in float16, and bfloat16 loses updates
smaller than its resolution.

Knowledge distillation (``TrainConfig.distill_alpha > 0`` and a ``teacher`` given to
``train_inplace``): the loss is ``(1 - a) CE(z_s, y) + a T^2 KL(softmax(z_t / T) || softmax(z_s / T))``
with ``a = distill_alpha``, ``T = distill_temperature`` and teacher logits ``z_t`` computed once
per call (no augmentation, so they do not change between epochs).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import optuna
import torch
from torch import nn

from optuna_whale.compression.data import Split

OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass
class TrainConfig:
    """Loop settings; ``optimizer`` in ``OPTIMIZERS``."""

    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    num_threads: int | None = None
    distill_alpha: float = 0.0
    distill_temperature: float = 4.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise ValueError(f"distill_alpha={self.distill_alpha}; allowed: 0 <= alpha <= 1")
        if not self.distill_temperature > 0:
            raise ValueError(f"distill_temperature={self.distill_temperature} must be > 0")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is unknown; allowed: {list(OPTIMIZERS)}")
        if self.epochs < 0:
            raise ValueError(f"epochs={self.epochs} must be >= 0")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr} must be > 0")


@dataclass
class History:
    """Per-epoch validation accuracy; ``best_epoch`` counts from 1 (0 = before training)."""

    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_accuracy: float = float("nan")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule of ``model`` in eval mode; restore each one's own mode on exit."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


LOW_PRECISION: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16)


@contextmanager
def float32_master(model: nn.Module) -> Iterator[nn.Module]:
    """Yield ``model`` itself, or, if it has float16/bfloat16 parameters, the model converted
    to float32 in place behind a ``CastInputs`` wrapper; every converted tensor (same Parameter
    objects) gets its own dtype back on exit."""
    low = [
        (slots, name, t.dtype)
        for m in model.modules()
        for slots in (m._parameters, m._buffers)
        for name, t in slots.items()
        if t is not None and t.dtype in LOW_PRECISION
    ]
    if not any(p.dtype in LOW_PRECISION for p in model.parameters()):
        yield model
        return
    from optuna_whale.compression.quantization import CastInputs

    for slots, name, _ in low:
        t = slots[name]
        assert t is not None
        t.data = t.data.float()
    try:
        yield CastInputs(model, torch.float32)
    finally:
        for slots, name, dtype in low:
            t = slots[name]
            assert t is not None
            t.data = t.data.to(dtype)


@contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Temporarily ``torch.set_num_threads(n)`` (no-op for ``None``)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, batch_size: int = 512) -> float:
    """Top-1 accuracy of ``model`` in eval mode on ``data`` (each submodule's mode is restored)."""
    x, y = data
    correct = 0
    with eval_mode(model):
        for i in range(0, len(x), batch_size):
            correct += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return correct / max(1, len(x))


def report_and_check(trial: optuna.Trial, accuracy: float, step: int) -> bool:
    """Report ``accuracy`` at ``step`` and say whether to prune.

    Single objective: ``trial.report`` / ``trial.should_prune`` (any pruner). Several objectives
    (accuracy is objective 0): :func:`optuna_whale.report`, and
    :func:`optuna_whale.should_prune` only when the study's pruner is a
    :class:`~optuna_whale.WhalePruner` (Optuna's pruners compare single values; the curve is
    still stored for optuna-dashboard).
    """
    if len(trial.study.directions) == 1:
        trial.report(accuracy, step)
        return trial.should_prune()
    from optuna_whale.multiobjective_pruning import report, should_prune
    from optuna_whale.pruner import WhalePruner

    report(trial, {0: accuracy}, step)
    return isinstance(trial.study.pruner, WhalePruner) and should_prune(trial)


def _epoch(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer,
    batch_size: int, gen: torch.Generator, teacher_logits: torch.Tensor | None = None,
    alpha: float = 0.0, temperature: float = 4.0,
) -> None:
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), batch_size):
        idx = order[i : i + batch_size]
        opt.zero_grad()
        out = model(x[idx])
        loss = loss_fn(out, y[idx])
        if teacher_logits is not None and alpha > 0:
            kd = nn.functional.kl_div(
                nn.functional.log_softmax(out / temperature, dim=1),
                nn.functional.log_softmax(teacher_logits[idx] / temperature, dim=1),
                log_target=True, reduction="batchmean",
            )
            loss = (1.0 - alpha) * loss + alpha * temperature**2 * kd
        loss.backward()
        opt.step()


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """``model(x)`` in eval mode, batch by batch (each submodule's train/eval mode is restored)."""
    with eval_mode(model):
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def train_inplace(
    model: nn.Module,
    train: Split,
    val: Split,
    cfg: TrainConfig,
    trial: optuna.Trial | None = None,
    step_offset: int = 0,
    teacher: nn.Module | None = None,
) -> History:
    """Train ``model`` in place for ``cfg.epochs`` epochs (cross-entropy), reporting to ``trial``.

    The model is left in eval mode.
    Step ``step_offset + epoch`` (epoch from 1) carries the validation accuracy
    (:func:`report_and_check`: ``trial.report``, or in a multi-objective study
    :func:`optuna_whale.report` with accuracy as objective 0). With a ``teacher`` and
    ``cfg.distill_alpha > 0`` the loss includes distillation (module docstring).
    """
    hist = History()
    with num_threads(cfg.num_threads), float32_master(model) as net:
        soft = (
            logits(teacher, train[0]).float()
            if teacher is not None and cfg.distill_alpha > 0 else None
        )
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        opt = _optimizer(net, cfg)
        for epoch in range(1, cfg.epochs + 1):
            _epoch(net, train[0], train[1], opt, cfg.batch_size, gen, soft,
                   cfg.distill_alpha, cfg.distill_temperature)
            acc = evaluate(net, val)
            hist.val_accuracy.append(acc)
            if not acc <= hist.best_accuracy:  # also true while best is NaN
                hist.best_accuracy, hist.best_epoch = acc, epoch
            if trial is not None and report_and_check(trial, acc, step_offset + epoch):
                model.eval()
                raise optuna.TrialPruned(f"pruned at step {step_offset + epoch} (val acc {acc:.4f})")
    model.eval()
    return hist


def train_until_converged(
    model: nn.Module,
    train: Split,
    val: Split,
    cfg: TrainConfig,
    patience: int = 4,
    max_epochs: int = 60,
    lr_decay: float = 0.3,
    decay_patience: int | None = None,
    progress: bool = False,
) -> History:
    """Train in place until validation accuracy has not improved for ``patience`` epochs.

    One optimizer for the whole run; after ``decay_patience`` (default ``patience // 2``, at
    least 1) epochs without improvement the learning rate is multiplied by ``lr_decay``
    (reduce-on-plateau). The weights of the best epoch are restored at the end and the model
    is left in eval mode.
    """
    hist = History()
    decay_after = max(1, patience // 2) if decay_patience is None else decay_patience
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_epochs, desc="baseline epochs")
    with num_threads(cfg.num_threads), float32_master(model) as net:
        best_state = copy.deepcopy(model.state_dict())
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        opt = _optimizer(net, cfg)
        since_decay = 0
        for epoch in range(1, max_epochs + 1):
            _epoch(net, train[0], train[1], opt, cfg.batch_size, gen)
            acc = evaluate(net, val)
            hist.val_accuracy.append(acc)
            if not acc <= hist.best_accuracy:
                hist.best_accuracy, hist.best_epoch = acc, epoch
                best_state = copy.deepcopy(model.state_dict())
                since_decay = 0
            else:
                since_decay += 1
                if since_decay >= decay_after:
                    for g in opt.param_groups:
                        g["lr"] *= lr_decay
                    since_decay = 0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(val_acc=f"{acc:.4f}", best=f"{hist.best_accuracy:.4f}")
            if epoch - hist.best_epoch >= patience:
                break
        model.load_state_dict(best_state)
    if bar is not None:
        bar.close()
    model.eval()
    return hist
