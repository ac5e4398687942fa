"""Post-training quantization choices, with what is installed detected at run time.

Choices: ``none``; ``dynamic_int8`` (``torch.ao.quantization.quantize_dynamic`` on Linear
and LSTM: int8 weights, activations quantized per batch); ``fp16`` / ``bf16`` (weights
stored in half precision, inputs cast on the way in); ``torchao_int8_weight``
(``Int8WeightOnlyConfig``) and ``torchao_int8_dynamic``
(``Int8DynamicActivationInt8WeightConfig``) when torchao imports.

Dtypes: ``dynamic_int8`` computes in float32, torchao in float32, float16 or bfloat16. A model
with other floating parameters (float64; float16/bfloat16 for ``dynamic_int8``) is converted to
float32 in the copy and wrapped in ``CastInputs(..., torch.float32)``, so it takes its own
inputs and returns float32. Linear layers whose parent reads their ``.weight`` directly
(``models.weights_read_by_parent``, e.g. ``nn.TransformerEncoderLayer.linear1``) stay float
under ``dynamic_int8``, whose modules have no weight tensor.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from optuna_whale.compression.models import weights_read_by_parent

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


class _TorchaoEnumNotice(logging.Filter):
    """Drop torch's notice that a torchao Enum is registered with ``register_constant()``.

    Importing torchao 0.18 under torch >= 2.14 logs, once per process, "<enum
    'KernelPreference'> is an Enum subclass ... Calling register_constant() on Enum subclasses
    is deprecated": torchao's own registration, nothing a user of these helpers can act on.
    Every other record of the logger (also this notice for non-torchao classes) passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        cls = args[0] if args else None
        return not (
            isinstance(record.msg, str)
            and "register_constant() on Enum subclasses is deprecated" in record.msg
            and str(getattr(cls, "__module__", "")).startswith("torchao")
        )


_TORCHAO_NOTICE_FILTER = _TorchaoEnumNotice()


class _TorchaoCudaKernels(logging.Filter):
    """On a CPU build of torch, drop torchao's "Failed to load .../torchao/_C*.so" warnings:
    those libraries are its CUDA kernels (mxfp8, cutlass), which a CPU build cannot load by
    design and the CPU choices of this module never use. Any other record passes, and on a CUDA
    build of torch these warnings pass too (there they mean something)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            torch.version.cuda is None
            and message.startswith("Failed to load ")
            and "torchao/_C" in message
        )


_TORCHAO_CUDA_FILTER = _TorchaoCudaKernels()


def quiet_torchao_import_notice() -> None:
    """Install (idempotent) the filters for torchao's import-time notices on the loggers that
    emit them (``torch.utils._pytree``, ``torchao``); called before every torchao import of
    this package."""
    logging.getLogger("torch.utils._pytree").addFilter(_TORCHAO_NOTICE_FILTER)
    logging.getLogger("torchao").addFilter(_TORCHAO_CUDA_FILTER)


def _has_torchao() -> str | None:
    quiet_torchao_import_notice()
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


# Floating parameter dtypes each int8 choice computes in; other models are run in float32.
NATIVE_DTYPES: dict[str, tuple[torch.dtype, ...]] = {
    "dynamic_int8": (torch.float32,),
    "torchao_int8_weight": (torch.float32, torch.float16, torch.bfloat16),
    "torchao_int8_dynamic": (torch.float32, torch.float16, torch.bfloat16),
}


def _cast_floats(obj: Any, dtype: torch.dtype) -> Any:
    """``obj`` with every floating tensor (also inside tuples, lists and dicts) cast to ``dtype``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(_cast_floats(o, dtype) for o in obj)
    if isinstance(obj, dict):
        return {k: _cast_floats(v, dtype) for k, v in obj.items()}
    return obj


class CastInputs(nn.Module):
    """Wrap a model that computes in ``dtype``: floating inputs are cast to ``dtype``, floating
    outputs to float32 (tensors also inside tuples, lists and dicts)."""

    def __init__(self, model: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = self.model(*_cast_floats(args, self.dtype), **_cast_floats(kwargs, self.dtype))
        return _cast_floats(out, torch.float32)


def floating_dtypes(model: nn.Module) -> set[torch.dtype]:
    """The dtypes of ``model``'s floating parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return {t.dtype for t in tensors if t.is_floating_point()}


def _dynamic_int8(model: nn.Module) -> nn.Module:
    """``quantize_dynamic`` (qint8) of the Linear/LSTM layers of ``model`` (in place, float32)."""
    keep = weights_read_by_parent(model)
    spec: dict[str | type[nn.Module], Any] = {
        name: torch.ao.quantization.default_dynamic_qconfig
        for name, m in model.named_modules()
        if type(m) in (nn.Linear, nn.LSTM) and name not in keep
    }
    with torch_ao_deprecations():
        q: nn.Module = torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8)
    return q


def quantize(
    model: nn.Module, choice: str, example_inputs: torch.Tensor | None = None
) -> nn.Module:
    """Return a quantized copy of ``model`` in eval mode for ``choice``; ``model`` is never changed.

    Any floating dtype is accepted (module docstring). With ``example_inputs`` the result is run
    once (no grad) and a ValueError names the choice if that fails.
    """
    if choice not in QUANTIZATION_CHOICES:
        raise ValueError(f"quantization={choice!r} is unknown; allowed: {list(QUANTIZATION_CHOICES)}")
    reason = availability()[choice]
    if reason is not None:
        raise QuantizationUnavailableError(f"quantization={choice!r} is unavailable: {reason}")
    out = _quantized_copy(model, choice)
    if example_inputs is not None:
        try:
            with torch.no_grad():
                out(example_inputs)
        except Exception as exc:
            raise ValueError(
                f"quantization={choice!r} gives a model that does not run on example_inputs of "
                f"shape {tuple(example_inputs.shape)} and dtype {example_inputs.dtype}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return out


def _quantized_copy(model: nn.Module, choice: str) -> nn.Module:
    out = copy.deepcopy(model).eval()
    if choice == "none":
        return out
    if choice in ("fp16", "bf16"):
        dtype = torch.float16 if choice == "fp16" else torch.bfloat16
        return CastInputs(out.to(dtype), dtype)
    cast = not floating_dtypes(out) <= set(NATIVE_DTYPES[choice])
    if cast:
        out = out.float()
    if choice == "dynamic_int8":
        q = _dynamic_int8(out)
        return CastInputs(q, torch.float32) if cast else q
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
    return CastInputs(out, torch.float32) if cast else out
