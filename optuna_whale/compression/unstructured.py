"""Unstructured magnitude pruning made permanent, and the sparse size as a computed figure.

Masks from ``torch.nn.utils.prune`` are removed right away (``prune.remove``), so the
result is a dense model with zeros: its ``state_dict`` has the dense size, and MACs do not
fall. The saving is reported by ``sparse_bytes`` (a formula, not a file size).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils import prune

WEIGHTED_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def _check_amount(name: str, amount: float) -> float:
    a = float(amount)
    if not 0.0 <= a < 1.0:
        raise ValueError(f"sparsity for {name!r} is {amount}; allowed: 0 <= sparsity < 1")
    return a


def magnitude_prune(
    model: nn.Module,
    amount: float | Mapping[str, float],
    scope: str = "layer",
) -> nn.Module:
    """Zero the smallest-|w| weights of Conv2d/Linear layers in a deep copy of ``model``.

    ``scope="layer"``: each layer loses ``amount`` (a float for all, or a name -> float
    mapping) of its own weights. ``scope="global"``: ``amount`` (a float) of all weights
    together, smallest magnitudes first.
    """
    if scope not in ("layer", "global"):
        raise ValueError(f"scope={scope!r} is unknown; allowed: ['layer', 'global']")
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    weighted = {n: m for n, m in modules.items() if isinstance(m, WEIGHTED_TYPES)}
    if scope == "global":
        if isinstance(amount, Mapping):
            raise ValueError("scope='global' takes one float amount, not a per-layer mapping")
        a = _check_amount("global", amount)
        params = [(m, "weight") for m in weighted.values()]
        if a > 0:
            prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=a)
            for m, p in params:
                prune.remove(m, p)
        return out
    per_layer = (
        dict(amount) if isinstance(amount, Mapping) else {n: float(amount) for n in weighted}
    )
    for name, a in per_layer.items():
        if name not in weighted:
            raise ValueError(
                f"layer {name!r} is not a Conv2d/Linear of the model; allowed: {sorted(weighted)}"
            )
        a = _check_amount(name, a)
        if a > 0:
            prune.l1_unstructured(weighted[name], "weight", amount=a)
            prune.remove(weighted[name], "weight")
    return out


def tensor_sparse_bits(t: torch.Tensor, value_bits: int) -> int:
    """Bits to store ``t``: the least of three encodings.

    dense = n * b; bitmask = n + nnz * b; coordinate list = nnz * (b + ceil(log2 n)).
    """
    n = t.numel()
    nnz = int(torch.count_nonzero(t))
    idx_bits = max(1, math.ceil(math.log2(max(n, 2))))
    return min(n * value_bits, n + nnz * value_bits, nnz * (value_bits + idx_bits))


def sparse_bytes(model: nn.Module, value_bits: int = 32) -> int:
    """Computed sparse size in bytes: ceil(sum over floating tensors of tensor_sparse_bits / 8).

    Covers parameters and floating buffers of the state dict; integer buffers count dense.
    """
    bits = 0
    for t in model.state_dict().values():
        if not isinstance(t, torch.Tensor):
            continue
        if t.is_floating_point():
            bits += tensor_sparse_bits(t, value_bits)
        else:
            bits += t.numel() * t.element_size() * 8
    return math.ceil(bits / 8)


def nonzero_params(model: nn.Module) -> int:
    """Number of non-zero entries over ``model.parameters()``."""
    return int(sum(int(torch.count_nonzero(p)) for p in model.parameters()))
