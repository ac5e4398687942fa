"""Structured pruning that physically removes channels/neurons (torch-pruning MetaPruner).

For a layer with ``C`` output channels and ratio ``r`` torch-pruning keeps
``int(C * (1 - r))`` channels (here clamped to at least one); layers coupled by a
dependency (residual adds, depthwise convs, conv -> flatten -> Linear) are pruned together.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence

import torch
import torch_pruning as tp
from torch import nn

from optuna_whale.compression.models import final_linear_name

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


class StructuredPruningError(ValueError):
    """A layer or model that structured pruning cannot handle."""


def check_ratio(name: str, ratio: float) -> float:
    """Return ``float(ratio)`` if it lies in [0, 1), else raise naming ``name``."""
    r = float(ratio)
    if not 0.0 <= r < 1.0:
        raise ValueError(f"pruning ratio for {name!r} is {ratio}; allowed: 0 <= ratio < 1")
    return r


def out_channels(module: nn.Module) -> int:
    """Output channels (Conv2d) or features (Linear)."""
    if isinstance(module, nn.Conv2d):
        return int(module.out_channels)
    if isinstance(module, nn.Linear):
        return int(module.out_features)
    raise StructuredPruningError(f"{type(module).__name__} has no output channels to prune")


def kept_channels(channels: int, ratio: float) -> int:
    """Channels kept by torch-pruning: ``max(1, int(channels * (1 - ratio)))``."""
    return max(1, int(channels * (1.0 - ratio)))


def prunable_layers(model: nn.Module, ignored: Sequence[str] | None = None) -> list[str]:
    """Names of Conv2d/Linear layers (groups == 1 or depthwise), excluding the classifier head.

    ``ignored=None`` ignores the last ``nn.Linear`` only.
    """
    skip = set([final_linear_name(model)] if ignored is None else ignored)
    names = []
    for name, m in model.named_modules():
        if name in skip or not isinstance(m, PRUNABLE_TYPES):
            continue
        if isinstance(m, nn.Conv2d) and m.groups not in (1, m.in_channels):
            continue  # grouped (non-depthwise) convs are not offered
        if isinstance(m, nn.Conv2d) and m.groups > 1:
            continue  # depthwise: pruned through its producer's group
        names.append(name)
    return names


def structured_prune(
    model: nn.Module,
    example_inputs: torch.Tensor,
    ratios: Mapping[str, float],
    ignored: Sequence[str] | None = None,
    importance_p: int = 2,
) -> nn.Module:
    """Return a pruned deep copy of ``model`` (the input is never changed).

    ``ratios`` maps layer names to ratios in [0, 1); unnamed layers keep all channels.
    ``ignored=None`` protects the last Linear (the classifier's outputs must stay).
    Importance: group L``p`` magnitude (``tp.importance.GroupMagnitudeImportance``).
    """
    pruned = copy.deepcopy(model).eval()
    modules = dict(pruned.named_modules())
    ignored_names = [final_linear_name(pruned)] if ignored is None else list(ignored)
    for name in ignored_names:
        if name not in modules:
            raise StructuredPruningError(f"ignored layer {name!r} is not in the model")
    ratio_dict: dict[nn.Module, float] = {}
    for name, ratio in ratios.items():
        r = check_ratio(name, ratio)
        if name not in modules:
            raise StructuredPruningError(
                f"layer {name!r} is not in the model; prunable layers: "
                f"{prunable_layers(model, ignored_names)}"
            )
        m = modules[name]
        if not isinstance(m, PRUNABLE_TYPES):
            raise StructuredPruningError(
                f"layer {name!r} is a {type(m).__name__}; structured pruning handles "
                f"{[t.__name__ for t in PRUNABLE_TYPES]} only"
            )
        if name in ignored_names and r > 0:
            raise StructuredPruningError(f"layer {name!r} is ignored (classifier head) but has ratio {r}")
        if r == 0.0:
            continue
        c = out_channels(m)
        ratio_dict[m] = min(r, (c - 1) / c - 1e-9) if c > 1 else 0.0
    if not ratio_dict:
        return pruned
    try:
        with torch.no_grad():
            pruned(example_inputs)
    except Exception as exc:
        raise StructuredPruningError(
            f"the model cannot be run on example_inputs of shape {tuple(example_inputs.shape)}: {exc}"
        ) from exc
    # Parameters of modules torch-pruning has no handler for (e.g. EmbeddingBag) trigger an
    # "Unwrapped parameters" warning; those modules are listed as ignored, so that their weights
    # are never cut, and the warning is silenced on purpose.
    frozen = [m for m in pruned.modules() if isinstance(m, (nn.EmbeddingBag, nn.Embedding))]
    try:
        # torch-pruning traces the graph through autograd: also inside a caller's no_grad block
        with warnings.catch_warnings(), torch.enable_grad():
            warnings.filterwarnings("ignore", message="Unwrapped parameters detected")
            pruner = tp.pruner.MetaPruner(
                pruned,
                example_inputs,
                importance=tp.importance.GroupMagnitudeImportance(p=importance_p),
                pruning_ratio=0.0,
                pruning_ratio_dict=ratio_dict,
                ignored_layers=[modules[n] for n in ignored_names] + frozen,
            )
            pruner.step()
    except Exception as exc:
        raise StructuredPruningError(
            f"torch-pruning could not trace or prune the model (layers {sorted(ratios)}): {exc}"
        ) from exc
    try:
        with torch.no_grad():
            pruned(example_inputs)
    except Exception as exc:
        raise StructuredPruningError(
            f"the pruned model no longer runs; some layer in {sorted(ratios)} is coupled to an "
            f"operation torch-pruning cannot follow: {exc}"
        ) from exc
    return pruned


def count_macs_params(model: nn.Module, example_inputs: torch.Tensor) -> tuple[int, int]:
    """(MACs, params) for one forward of ``example_inputs[:1]`` (torch-pruning's counter)."""
    macs, params = tp.utils.count_ops_and_params(model, example_inputs[:1])
    return int(macs), int(params)
