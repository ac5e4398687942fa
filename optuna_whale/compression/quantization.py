"""Post-training quantization choices, with what is installed detected at run time.

Choices: ``none``; ``dynamic_int8`` (``torch.ao.quantization.quantize_dynamic`` on Linear
and LSTM: int8 weights, activations quantized per batch); ``fp16`` / ``bf16`` (weights
stored in half precision, inputs cast on the way in); ``torchao_int8_weight``
(``Int8WeightOnlyConfig``) and ``torchao_int8_dynamic``
(``Int8DynamicActivationInt8WeightConfig``) when torchao imports.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

QUANTIZATION_CHOICES = (
    "none",
    "dynamic_int8",
    "fp16",
    "bf16",
    "torchao_int8_weight",
    "torchao_int8_dynamic",
)


class QuantizationUnavailableError(RuntimeError):
    """A known quantization choice that this installation cannot run."""


@contextmanager
def torch_ao_deprecations() -> Iterator[list[warnings.WarningMessage]]:
    """Record (not show) the deprecation warnings of ``torch.ao.quantization``.

    torch >= 2.10 warns that ``torch.ao.quantization`` moves to torchao; the eager dynamic
    path is still the fastest int8 option on CPU here, so it is used on purpose. The caught
    warnings are yielded so callers can log or test them.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        warnings.simplefilter("always", FutureWarning)
        warnings.filterwarnings("always", message=".*torch.ao.quantization.*")
        yield caught


def _has_torchao() -> str | None:
    try:
        import torchao.quantization  # noqa: F401
    except Exception as exc:  # torchao can fail at import on mismatched torch builds
        return f"torchao is not importable: {exc}"
    return None


def _qengine_reason() -> str | None:
    engines = torch.backends.quantized.supported_engines
    if not any(e in engines for e in ("x86", "fbgemm", "qnnpack")):
        return f"no int8 CPU engine (supported_engines={engines})"
    return None


def availability() -> dict[str, str | None]:
    """Choice -> ``None`` if available, else the reason it is not."""
    ao = _has_torchao()
    return {
        "none": None,
        "dynamic_int8": _qengine_reason(),
        "fp16": None,
        "bf16": None,
        "torchao_int8_weight": ao,
        "torchao_int8_dynamic": ao,
    }


def available_choices() -> list[str]:
    """The choices that run on this installation, in ``QUANTIZATION_CHOICES`` order."""
    av = availability()
    return [c for c in QUANTIZATION_CHOICES if av[c] is None]


class CastInputs(nn.Module):
    """Wrap a half-precision model: floating inputs are cast to ``dtype``, outputs to float32."""

    def __init__(self, model: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            x = x.to(self.dtype)
        out: torch.Tensor = self.model(x)
        return out.float()


def quantize(model: nn.Module, choice: str) -> nn.Module:
    """Return a quantized copy of ``model`` (the input is never changed) for ``choice``."""
    if choice not in QUANTIZATION_CHOICES:
        raise ValueError(f"quantization={choice!r} is unknown; allowed: {list(QUANTIZATION_CHOICES)}")
    reason = availability()[choice]
    if reason is not None:
        raise QuantizationUnavailableError(f"quantization={choice!r} is unavailable: {reason}")
    out = copy.deepcopy(model).eval()
    if choice == "none":
        return out
    if choice in ("fp16", "bf16"):
        dtype = torch.float16 if choice == "fp16" else torch.bfloat16
        return CastInputs(out.to(dtype), dtype)
    if choice == "dynamic_int8":
        with torch_ao_deprecations():
            q: nn.Module = torch.ao.quantization.quantize_dynamic(
                out, {nn.Linear, nn.LSTM}, dtype=torch.qint8
            )
        return q
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        quantize_,
    )

    config = (
        Int8WeightOnlyConfig()
        if choice == "torchao_int8_weight"
        else Int8DynamicActivationInt8WeightConfig()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        quantize_(out, config)
    return out
