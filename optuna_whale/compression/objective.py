"""Build an Optuna objective that compresses (and optionally first trains) a torch model.

Pipeline, always in this order (``apply_compression``):

1. from scratch only: ``model_factory(width=..., activation=...)`` trained for
   ``space.train_epochs`` epochs at the suggested ``lr`` (reports at steps 1..train_epochs);
2. structured pruning (``structured_prune``) with the per-layer ``prune_ratio:<layer>``;
3. low-rank factorization (``factorize``) of the ``rank_ratio:<layer>`` layers, rank
   ``max(1, round(ratio * full rank))`` of the pruned layer (``rank_from_ratio``); a layer is
   left as it is when the ratio is 1 or the factorization would not store fewer weights
   (``saves_parameters``);
4. fine-tuning for ``finetune_epochs`` epochs at ``lr`` (reports continue the step count;
   with two objectives the bytes are declared first (``optuna_whale.declare``) and, for a
   trained ``model``, step 0 reports the compressed model's accuracy before fine-tuning, so
   :class:`~optuna_whale.WhalePruner` can prune there (rule M1-M4);
   with ``TrainConfig.distill_alpha > 0`` distilled from the uncompressed model of step 1);
5. quantization (``quantize``) with ``quantization``;
6. measurement (``measure``) on the validation split.

Single objective (``objective=``): ``"accuracy"`` (default, maximize validation accuracy) or
``"val_loss"`` (minimize the validation cross-entropy, mean nats per example: a finer measure
than accuracy on a small validation split, where models tie on a count of images). Two
objectives: (accuracy, bytes) with directions (maximize, minimize). Every trial's value is its
real metric, within the budget or not: the budget is a constraint, never a penalty.

Constraints (``record``, feasible when <= 0): ``bytes / max_bytes - 1`` and, with
``max_macs``, ``macs / max_macs - 1``, in that order. They are stored once, as the list in the
trial system attr ``constraints``: Optuna 5 reads that list as the trial's constraints
(``FrozenTrial.constraints == {"0": bytes, "1": macs}``; its samplers, ``study.best_trial``
and WhaleSampler use them) and optuna-dashboard 0.21 reads only that list (it greys
infeasible trials in its plots), while ``trial.set_constraint``'s per-name attrs are invisible
to the dashboard and, written beside the list, would count every constraint twice. The names
and values are also user attrs for the dashboard's trial table: ``constraint:bytes``,
``constraint:macs`` and ``feasible`` (1 if every constraint is <= 0, else 0).
Measured figures are trial user attrs: accuracy, val_loss, bytes, sparse_bytes, macs, params,
nonzero_params, latency_ms.

Budget repair (``budget_repair="scale"`` or ``"scale_all"``, before step 1). A suggestion whose
compressed model would exceed the budget is pulled onto it by scaling every suggested keep
ratio ``k_i = 1 - r_i`` (pruned layers ``i``) by one common factor ``s``; ``"scale_all"`` also
scales the rank ratios ``q_j < 1`` (a rank ratio of exactly 1 means "not factorized" and stays):

    r_i(s) = 1 - s * (1 - r_i),   q_j(s) = s * q_j,
    s* = max { s in [s_min, 1] : B(s) <= max_bytes and M(s) <= max_macs }

where ``B(s)``/``M(s)`` are the bytes/MACs of the pruned, factorized and quantized model built
from the architecture alone (no training: sizes do not depend on weight values) and
``s_min = 1e-6`` leaves one channel per pruned layer (and rank 1). Kept channels
``max(1, int(C_i * s * k_i))`` and the ranks ``max(1, round(q_j(s) * full rank))`` do not grow
as ``s`` falls, so ``B`` and ``M`` are non-increasing in ``s`` and ``s*`` is found by bisection
(``REPAIR_ITERATIONS`` halvings, about 16 size measurements, under a second for small models;
the returned scale always meets the budget even where monotonicity would fail).
The shape of the suggestion (the relative keep ratios, quantization, lr) is kept; only its
scale moves, so a uniform suggestion stays uniform. Quantization, lr and epochs are not
changed. If even ``s_min`` misses the budget the trial runs at ``s_min`` and stays infeasible.
The suggested values remain the trial's params; the applied ones are the user attrs
``applied_params`` (``to_dict`` form), ``repair_scale`` (``s*``) and ``repair_status``
(``within_budget`` / ``repaired`` / ``unreachable``). Repair is deterministic, so
``rebuild_model(trial, ..., budget=..., budget_repair=...)`` rebuilds the same model, and
``applied_params(trial)`` gives what to pass to ``save_compressed``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import optuna
import torch
from torch import nn

from optuna_whale.compression.data import Split
from optuna_whale.compression.lowrank import (
    check_factorizable,
    factorize,
    rank_from_ratio,
    saves_parameters,
)
from optuna_whale.compression.measure import CompressionResult, measure, state_dict_bytes
from optuna_whale.compression.models import ACTIVATIONS
from optuna_whale.compression.quantization import (
    QUANTIZATION_CHOICES,
    QuantizationUnavailableError,
    availability,
    quantize,
)
from optuna_whale.compression.structured import (
    check_ratio,
    count_macs_params,
    prunable_layers,
    structured_prune,
)
from optuna_whale.compression.training import TrainConfig, evaluate, report_and_check, train_inplace
from optuna_whale.multiobjective_pruning import declare

ModelFactory = Callable[..., nn.Module]


@dataclass
class CompressionSpace:
    """What a trial suggests.

    ``prune_layers=None`` means every prunable layer except the classifier head.
    A rank ratio of 1 (``rank_ratio[1]``) means "do not factorize"; ``widths`` and
    ``activations`` are searched only when training from scratch (empty = not searched).
    """

    prune_layers: Sequence[str] | None = None
    prune_ratio: tuple[float, float] = (0.0, 0.9)
    rank_layers: Sequence[str] = ()
    rank_ratio: tuple[float, float] = (0.05, 1.0)
    quantization: Sequence[str] = ("none", "dynamic_int8")
    lr: tuple[float, float] = (1e-4, 1e-2)
    finetune_epochs: tuple[int, int] = (1, 3)
    widths: Sequence[int] = ()
    activations: Sequence[str] = ()
    train_epochs: int = 5

    def validate(self) -> None:
        """Raise ValueError naming the field and allowed values for any bad setting."""
        lo, hi = self.prune_ratio
        check_ratio("prune_ratio[0]", lo)
        check_ratio("prune_ratio[1]", hi)
        if lo > hi:
            raise ValueError(f"prune_ratio={self.prune_ratio} must have low <= high")
        rlo, rhi = self.rank_ratio
        if not 0.0 < rlo <= rhi <= 1.0:
            raise ValueError(f"rank_ratio={self.rank_ratio}; allowed: 0 < low <= high <= 1")
        if not self.quantization:
            raise ValueError(f"quantization is empty; allowed: {list(QUANTIZATION_CHOICES)}")
        av = availability()
        for q in self.quantization:
            if q not in QUANTIZATION_CHOICES:
                raise ValueError(f"quantization choice {q!r} is unknown; allowed: {list(QUANTIZATION_CHOICES)}")
            if av[q] is not None:
                raise QuantizationUnavailableError(f"quantization choice {q!r} is unavailable: {av[q]}")
        if not 0 < self.lr[0] <= self.lr[1]:
            raise ValueError(f"lr={self.lr}; allowed: 0 < low <= high")
        if not 0 <= self.finetune_epochs[0] <= self.finetune_epochs[1]:
            raise ValueError(f"finetune_epochs={self.finetune_epochs}; allowed: 0 <= low <= high")
        for a in self.activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"activation {a!r} is unknown; allowed: {sorted(ACTIVATIONS)}")
        if any(int(w) < 1 for w in self.widths):
            raise ValueError(f"widths={list(self.widths)} must all be >= 1")


@dataclass
class Budget:
    """Hard limits (``None`` = none) recorded as constraints; ``latency`` toggles timing."""

    max_bytes: float | None = None
    max_macs: float | None = None
    measure_latency: bool = True


@dataclass
class CompressionParams:
    """One trial's choices (``to_dict``/``from_dict`` use the Optuna parameter names)."""

    prune: dict[str, float] = field(default_factory=dict)
    rank: dict[str, float] = field(default_factory=dict)
    quantization: str = "none"
    lr: float = 1e-3
    finetune_epochs: int = 0
    arch: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: ``prune_ratio:<layer>``, ``rank_ratio:<layer>``, ``quantization``, ..."""
        d: dict[str, Any] = {f"prune_ratio:{k}": v for k, v in self.prune.items()}
        d.update({f"rank_ratio:{k}": v for k, v in self.rank.items()})
        d.update(quantization=self.quantization, lr=self.lr, finetune_epochs=self.finetune_epochs)
        d.update(self.arch)
        return d

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> CompressionParams:
        """Inverse of ``to_dict`` (e.g. ``study.best_trial.params``)."""
        out = cls()
        for k, v in params.items():
            if k.startswith("prune_ratio:"):
                out.prune[k.split(":", 1)[1]] = float(v)
            elif k.startswith("rank_ratio:"):
                out.rank[k.split(":", 1)[1]] = float(v)
            elif k == "quantization":
                out.quantization = str(v)
            elif k == "lr":
                out.lr = float(v)
            elif k == "finetune_epochs":
                out.finetune_epochs = int(v)
            elif k in ("width", "activation"):
                out.arch[k] = v
            else:
                raise ValueError(
                    f"parameter {k!r} is unknown; allowed: prune_ratio:<layer>, rank_ratio:<layer>, "
                    "quantization, lr, finetune_epochs, width, activation"
                )
        return out


def suggest_params(
    trial: optuna.Trial, space: CompressionSpace, prune_layers: Sequence[str], from_scratch: bool
) -> CompressionParams:
    """Suggest one ``CompressionParams`` from ``space`` (parameter names as in ``to_dict``)."""
    p = CompressionParams()
    if from_scratch and space.widths:
        p.arch["width"] = trial.suggest_categorical("width", [int(w) for w in space.widths])
    if from_scratch and space.activations:
        p.arch["activation"] = trial.suggest_categorical("activation", list(space.activations))
    for name in prune_layers:
        p.prune[name] = trial.suggest_float(f"prune_ratio:{name}", *space.prune_ratio)
    for name in space.rank_layers:
        p.rank[name] = trial.suggest_float(f"rank_ratio:{name}", *space.rank_ratio)
    p.quantization = str(trial.suggest_categorical("quantization", list(space.quantization)))
    p.lr = trial.suggest_float("lr", *space.lr, log=True)
    p.finetune_epochs = trial.suggest_int("finetune_epochs", *space.finetune_epochs)
    return p


def _base_model(
    model: nn.Module | None, model_factory: ModelFactory | None, arch: Mapping[str, Any]
) -> nn.Module:
    if (model is None) == (model_factory is None):
        raise ValueError("give exactly one of model (trained) or model_factory (from scratch)")
    if model_factory is not None:
        return model_factory(**arch)
    assert model is not None
    return model


def apply_compression(
    params: CompressionParams,
    train: Split,
    val: Split,
    example_inputs: torch.Tensor,
    model: nn.Module | None = None,
    model_factory: ModelFactory | None = None,
    train_epochs: int = 0,
    train_config: TrainConfig | None = None,
    trial: optuna.Trial | None = None,
) -> tuple[nn.Module, nn.Module]:
    """Run the documented pipeline; return (final model, float model before quantization).

    ``model`` is never changed, its train/eval modes included (every step works on a copy).
    ``train_config`` gives batch size, optimizer, seed and threads; its ``lr``/``epochs`` are
    replaced by ``params``. Rank layers are checked before any work (ValueError naming the layer
    and the allowed ones); factorized and quantized models are run once on ``example_inputs``
    and a ValueError says which step gave a model that does not run. Both returned models are in
    eval mode.
    """
    cfg = train_config or TrainConfig()
    base = _base_model(model, model_factory, params.arch)
    for name in params.rank:
        check_factorizable(base, name, "rank layer")
    step = 0
    if model_factory is not None and train_epochs > 0:
        train_inplace(base, train, val, replace(cfg, epochs=train_epochs, lr=params.lr), trial)
        step = train_epochs
    work = _prune_and_factorize(base, params, example_inputs)
    if trial is not None and step == 0 and params.finetune_epochs > 0 and len(trial.study.directions) > 1:
        # several objectives: step 0 is the compressed model before fine-tuning (one validation
        # pass), so a pruner can stop a hopeless configuration before its first epoch
        acc = evaluate(work, val)
        if report_and_check(trial, acc, 0):
            raise optuna.TrialPruned(f"pruned at step 0, before fine-tuning (val acc {acc:.4f})")
    if params.finetune_epochs > 0:
        ft = replace(cfg, epochs=params.finetune_epochs, lr=params.lr, seed=cfg.seed + 1)
        teacher = base if cfg.distill_alpha > 0 else None
        train_inplace(work, train, val, ft, trial, step_offset=step, teacher=teacher)
    work.eval()
    return quantize(work, params.quantization, example_inputs), work


def _prune_and_factorize(
    base: nn.Module, params: CompressionParams, example_inputs: torch.Tensor
) -> nn.Module:
    """Steps 2-3 of the pipeline on a copy of ``base``."""
    work = structured_prune(base, example_inputs, params.prune)
    modules = dict(work.named_modules())
    ranks: dict[str, int | tuple[int, int]] = {}
    for name, ratio in params.rank.items():
        if name not in modules:
            raise ValueError(f"rank layer {name!r} is not in the model")
        if ratio < 1.0:
            rank = rank_from_ratio(modules[name], ratio, name)
            if saves_parameters(modules[name], rank):
                ranks[name] = rank
    if ranks:
        work = factorize(work, ranks=ranks, example_inputs=example_inputs)
    return work


BUDGET_REPAIRS = ("none", "scale", "scale_all")
REPAIR_ITERATIONS = 14
REPAIR_MIN_SCALE = 1e-6


@dataclass
class RepairResult:
    """Outcome of ``repair_to_budget``: applied params, scale ``s*`` and the size there."""

    params: CompressionParams
    scale: float
    bytes: int
    macs: int
    status: str  # "within_budget", "repaired" or "unreachable"
    measurements: int


def scale_params(params: CompressionParams, scale: float, ranks: bool = False) -> CompressionParams:
    """``r_i(s) = 1 - s * (1 - r_i)`` for every pruned layer; with ``ranks`` also ``q_j(s) = s * q_j``
    for rank ratios below 1. ``s`` in (0, 1]; everything else is copied."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale={scale}; allowed: 0 < scale <= 1")
    if scale == 1.0:
        return replace(params, prune=dict(params.prune), rank=dict(params.rank))
    prune = {k: 1.0 - scale * (1.0 - float(r)) for k, r in params.prune.items()}
    rank = {k: (scale * float(q) if ranks and q < 1.0 else float(q)) for k, q in params.rank.items()}
    return replace(params, prune=prune, rank=rank)


def compressed_size(
    params: CompressionParams, template: nn.Module, example_inputs: torch.Tensor
) -> tuple[int, int]:
    """(bytes, MACs) of ``template`` pruned, factorized and quantized by ``params``, untrained.

    Bytes as ``measure`` counts them (serialized state_dict of the quantized model), MACs of the
    float model; neither depends on the weight values, so no training is needed.
    """
    work = _prune_and_factorize(template, params, example_inputs).eval()
    macs, _ = count_macs_params(work, example_inputs)
    return state_dict_bytes(quantize(work, params.quantization)), macs


def _fits(size: tuple[int, int], budget: Budget) -> bool:
    b, m = size
    return (budget.max_bytes is None or b <= budget.max_bytes) and (
        budget.max_macs is None or m <= budget.max_macs
    )


def repair_to_budget(
    params: CompressionParams,
    template: nn.Module,
    example_inputs: torch.Tensor,
    budget: Budget,
    ranks: bool = False,
    iterations: int = REPAIR_ITERATIONS,
) -> RepairResult:
    """Scale the keep ratios (with ``ranks``: also the rank ratios) by the largest ``s`` that
    meets ``budget``.

    See the module docstring for the rule. ``template`` gives the architecture (its weights are
    irrelevant and it is never changed). Deterministic: same params, same result.
    """
    if budget.max_bytes is None and budget.max_macs is None:
        raise ValueError("budget repair needs Budget.max_bytes or Budget.max_macs")
    n = 1

    def at(scale: float) -> CompressionParams:
        return scale_params(params, scale, ranks)

    scalable = bool(params.prune) or (ranks and any(q < 1.0 for q in params.rank.values()))
    size = compressed_size(params, template, example_inputs)
    if _fits(size, budget) or not scalable:
        status = "within_budget" if _fits(size, budget) else "unreachable"
        return RepairResult(params, 1.0, size[0], size[1], status, n)
    lo, hi = REPAIR_MIN_SCALE, 1.0
    lo_size = compressed_size(at(lo), template, example_inputs)
    n += 1
    if not _fits(lo_size, budget):
        return RepairResult(at(lo), lo, lo_size[0], lo_size[1], "unreachable", n)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        mid_size = compressed_size(at(mid), template, example_inputs)
        n += 1
        if _fits(mid_size, budget):
            lo, lo_size = mid, mid_size
        else:
            hi = mid
    return RepairResult(at(lo), lo, lo_size[0], lo_size[1], "repaired", n)


def applied_params(trial: optuna.trial.FrozenTrial) -> CompressionParams:
    """The params a trial's model was built with: ``applied_params`` if repaired, else params."""
    return CompressionParams.from_dict(trial.user_attrs.get("applied_params", trial.params))


OBJECTIVES = ("accuracy", "val_loss")
#: what each objective is, for reports and plots
OBJECTIVE_LABELS = {"accuracy": "validation accuracy", "val_loss": "validation cross-entropy (nats per example)"}
#: the trial system attr that holds the constraint list (Optuna's legacy format, read by
#: ``FrozenTrial.constraints`` and by optuna-dashboard)
CONSTRAINTS_ATTR = "constraints"


@torch.no_grad()
def validation_loss(model: nn.Module, data: Split, batch_size: int = 512) -> float:
    """Mean cross-entropy (nats per example) of ``model`` (in eval mode) on ``data``."""
    model.eval()
    x, y = data
    total = 0.0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size]).float()
        total += float(nn.functional.cross_entropy(logits, y[i : i + batch_size], reduction="sum"))
    return total / max(1, len(x))


def budget_constraints(result: CompressionResult, budget: Budget) -> dict[str, float]:
    """``{"bytes": bytes / max_bytes - 1, "macs": macs / max_macs - 1}`` for the limits the
    budget sets (feasible when every value is <= 0); empty without limits."""
    out: dict[str, float] = {}
    if budget.max_bytes is not None:
        out["bytes"] = result.bytes / budget.max_bytes - 1.0
    if budget.max_macs is not None:
        out["macs"] = result.macs / budget.max_macs - 1.0
    return out


def set_constraints(trial: optuna.Trial, constraints: Mapping[str, float]) -> None:
    """Store ``constraints`` once, as the list in the trial system attr ``constraints`` (the
    module docstring says why), and as the user attrs ``constraint:<name>`` and ``feasible``.

    Nothing is written for no constraints (a trial without constraints is feasible). A trial
    without a storage (``FixedTrial``) gets ``trial.set_constraint`` per name instead. Raises ValueError for a NaN constraint (as ``trial.set_constraint`` does).
    """
    values = {str(k): float(v) for k, v in constraints.items()}
    if not values:
        return
    for name, value in values.items():
        if value != value:
            raise ValueError(f"constraint {name!r} is NaN; a constraint must be a number")
    storage = getattr(trial, "storage", None)
    if storage is not None and hasattr(trial, "_trial_id"):
        storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_ATTR, list(values.values()))
        cached = getattr(trial, "_cached_frozen_trial", None)  # as Trial.set_constraint keeps it
        if cached is not None:
            cached.system_attrs[CONSTRAINTS_ATTR] = list(values.values())
    else:
        for name, value in values.items():
            trial.set_constraint(name, value)
    for name, value in values.items():
        trial.set_user_attr(f"constraint:{name}", value)
    trial.set_user_attr("feasible", int(all(v <= 0.0 for v in values.values())))


def record(
    trial: optuna.Trial, result: CompressionResult, budget: Budget, val_loss: float | None = None
) -> None:
    """Store ``result`` (and ``val_loss``) as user attrs and the budget as constraints
    (:func:`set_constraints`; <= 0 is feasible)."""
    for k, v in result.as_dict().items():
        trial.set_user_attr(k, v)
    if val_loss is not None:
        trial.set_user_attr("val_loss", float(val_loss))
    set_constraints(trial, budget_constraints(result, budget))


def directions(multi_objective: bool, objective: str = "accuracy") -> list[str]:
    """Study directions matching ``build_objective``."""
    _check_objective(objective)
    if multi_objective:
        return ["maximize", "minimize"]
    return ["maximize"] if objective == "accuracy" else ["minimize"]


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is unknown; allowed: {list(OBJECTIVES)}")


def build_objective(
    train: Split,
    val: Split,
    example_inputs: torch.Tensor,
    space: CompressionSpace,
    budget: Budget | None = None,
    model: nn.Module | None = None,
    model_factory: ModelFactory | None = None,
    train_config: TrainConfig | None = None,
    multi_objective: bool = False,
    budget_repair: str = "none",
    objective: str = "accuracy",
) -> Callable[[optuna.Trial], float | tuple[float, float]]:
    """Return ``objective(trial)``; see the module docstring for pipeline, values, attrs.

    Give ``model`` (trained; never changed) or ``model_factory`` (called with ``width`` /
    ``activation`` keyword arguments when those are searched, then trained from scratch).
    ``budget_repair``: ``"none"`` (default), ``"scale"`` or ``"scale_all"`` (budget repair,
    module docstring). ``objective``: ``"accuracy"`` (default) or ``"val_loss"`` (single
    objective only; :func:`directions` gives the study's direction). The fine-tune epochs are
    reported (``trial.report``, for pruners) as validation accuracy, so only with
    ``objective="accuracy"``: a pruner would read accuracy against a minimised loss.
    """
    _check_objective(objective)
    if multi_objective and objective != "accuracy":
        raise ValueError(f"objective={objective!r} with multi_objective=True; allowed: 'accuracy' "
                         "(the two objectives are accuracy and bytes)")
    space.validate()
    budget = budget or Budget()
    _check_repair(budget_repair, budget)
    probe = _base_model(model, model_factory, {})
    layers = list(space.prune_layers) if space.prune_layers is not None else prunable_layers(probe)
    allowed = prunable_layers(probe, ignored=[])
    for name in layers:
        if name not in allowed:
            raise ValueError(f"prune layer {name!r} is not prunable; allowed: {allowed}")
    for name in space.rank_layers:
        check_factorizable(probe, name, "rank layer")
    from_scratch = model_factory is not None

    report = multi_objective or objective == "accuracy"

    def run(trial: optuna.Trial) -> float | tuple[float, float]:
        params = suggest_params(trial, space, layers, from_scratch)
        if budget_repair != "none":
            rep = _repair(params, model, model_factory, example_inputs, budget, budget_repair)
            params = rep.params
            trial.set_user_attr("applied_params", params.to_dict())
            trial.set_user_attr("repair_scale", rep.scale)
            trial.set_user_attr("repair_status", rep.status)
        if multi_objective:
            # the bytes are known before any training: a pruner compares the trial's accuracy
            # curve with the Pareto front at this size (optuna_whale.declare, rule M1)
            with torch.random.fork_rng(devices=[]):  # a factory's initialisation draws no user randomness
                template = _base_model(model, model_factory, params.arch)
            declare(trial, {1: float(compressed_size(params, template, example_inputs)[0])})
        final, float_model = apply_compression(
            params, train, val, example_inputs, model=model, model_factory=model_factory,
            train_epochs=space.train_epochs if from_scratch else 0,
            train_config=train_config, trial=trial if report else None,
        )
        result = measure(final, val, example_inputs, float_model, with_latency=budget.measure_latency)
        loss = validation_loss(final, val)
        record(trial, result, budget, val_loss=loss)
        if multi_objective:
            return result.accuracy, float(result.bytes)
        return result.accuracy if objective == "accuracy" else loss

    return run


def _check_repair(budget_repair: str, budget: Budget | None) -> None:
    if budget_repair not in BUDGET_REPAIRS:
        raise ValueError(f"budget_repair={budget_repair!r} is unknown; allowed: {list(BUDGET_REPAIRS)}")
    if budget_repair != "none" and (
        budget is None or (budget.max_bytes is None and budget.max_macs is None)
    ):
        raise ValueError(f"budget_repair={budget_repair!r} needs a Budget with max_bytes or max_macs")


def _repair(
    params: CompressionParams,
    model: nn.Module | None,
    model_factory: ModelFactory | None,
    example_inputs: torch.Tensor,
    budget: Budget,
    budget_repair: str,
) -> RepairResult:
    # a fresh factory model serves as the template; the RNG is forked so that building it does
    # not shift the initialisation of the model trained afterwards
    with torch.random.fork_rng():
        template = _base_model(model, model_factory, params.arch)
    return repair_to_budget(params, template, example_inputs, budget,
                            ranks=budget_repair == "scale_all")


def rebuild_model(
    trial_or_params: optuna.trial.FrozenTrial | Mapping[str, Any] | CompressionParams,
    train: Split,
    val: Split,
    example_inputs: torch.Tensor,
    model: nn.Module | None = None,
    model_factory: ModelFactory | None = None,
    train_epochs: int = 0,
    train_config: TrainConfig | None = None,
    budget: Budget | None = None,
    budget_repair: str = "none",
) -> tuple[nn.Module, nn.Module]:
    """Re-run the pipeline for a trial's params (same seed -> same model on the same machine).

    For a study built with budget repair pass the same ``budget`` and
    ``budget_repair``: the suggested params are repaired again (deterministic), so the rebuilt
    model is the one the trial measured.
    """
    params = _as_params(trial_or_params)
    _check_repair(budget_repair, budget)
    if budget_repair != "none":
        assert budget is not None
        params = _repair(params, model, model_factory, example_inputs, budget, budget_repair).params
    return apply_compression(
        params, train, val, example_inputs, model=model, model_factory=model_factory,
        train_epochs=train_epochs if model_factory is not None else 0, train_config=train_config,
    )


def _as_params(obj: optuna.trial.FrozenTrial | Mapping[str, Any] | CompressionParams) -> CompressionParams:
    if isinstance(obj, CompressionParams):
        return obj
    if isinstance(obj, optuna.trial.FrozenTrial):
        return CompressionParams.from_dict(obj.params)
    return CompressionParams.from_dict(obj)


def save_compressed(directory: str, model: nn.Module, params: CompressionParams) -> None:
    """Write ``model.pt`` (state_dict only) and ``params.json`` into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(directory, "model.pt"))
    with open(os.path.join(directory, "params.json"), "w", encoding="utf-8") as fh:
        json.dump(asdict(params), fh, indent=2, sort_keys=True)


def load_compressed(
    directory: str,
    example_inputs: torch.Tensor,
    model: nn.Module | None = None,
    model_factory: ModelFactory | None = None,
) -> nn.Module:
    """Rebuild the architecture from ``params.json`` and load ``model.pt`` with weights_only=True.

    The structure is rebuilt without training (pruned shapes depend only on the ratios), so any
    model of the original architecture (or its factory) serves as the template.
    """
    with open(os.path.join(directory, "params.json"), encoding="utf-8") as fh:
        params = CompressionParams(**json.load(fh))
    skeleton_params = replace(params, finetune_epochs=0)
    empty = (example_inputs[:0], torch.zeros(0, dtype=torch.long))
    final, _ = apply_compression(
        skeleton_params, empty, empty, example_inputs, model=model, model_factory=model_factory
    )
    with warnings.catch_warnings():
        # quantized tensors still go through TypedStorage when loaded; harmless, silenced on purpose
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        state = torch.load(os.path.join(directory, "model.pt"), weights_only=True)
    final.load_state_dict(state)
    return final.eval()
