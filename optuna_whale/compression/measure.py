"""One result object for a (compressed) model: accuracy, size, MACs, latency."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from optuna_whale.compression.data import Split
from optuna_whale.compression.structured import count_macs_params
from optuna_whale.compression.training import eval_mode, evaluate, num_threads
from optuna_whale.compression.unstructured import nonzero_params, sparse_bytes


@dataclass
class CompressionResult:
    """Measured figures.

    ``bytes``: ``len`` of ``torch.save(model.state_dict())`` in memory.
    ``sparse_bytes``: computed by ``unstructured.sparse_bytes`` (fp32 values; a formula).
    ``macs``/``params``: torch-pruning's counter on the float model before quantization
    (quantization keeps MACs and parameter count). ``latency_ms``: median of
    ``torch.utils.benchmark.Timer.blocked_autorange`` for one batch, one thread (NaN if skipped).
    """

    accuracy: float
    params: int
    nonzero_params: int
    macs: int
    bytes: int
    sparse_bytes: int
    latency_ms: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON and trial user attrs)."""
        return asdict(self)


def state_dict_bytes(model: nn.Module) -> int:
    """Serialized size of ``model.state_dict()`` (``torch.save`` into a BytesIO)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def latency_ms(
    model: nn.Module, inputs: torch.Tensor, min_run_time: float = 0.2, threads: int = 1
) -> float:
    """Median milliseconds per ``model(inputs)`` in eval mode (``torch.utils.benchmark``,
    ``threads`` threads); each submodule's train/eval mode is restored."""
    from torch.utils import benchmark

    with eval_mode(model), torch.no_grad(), num_threads(threads):
        timer = benchmark.Timer(
            stmt="model(x)", globals={"model": model, "x": inputs}, num_threads=threads
        )
        return float(timer.blocked_autorange(min_run_time=min_run_time).median * 1e3)


def measure(
    model: nn.Module,
    data: Split,
    example_inputs: torch.Tensor,
    float_model: nn.Module | None = None,
    latency_batch: int = 64,
    with_latency: bool = True,
) -> CompressionResult:
    """Measure ``model`` in eval mode; MACs/params/nonzeros come from ``float_model`` (default
    ``model``). Neither model is changed: each submodule's train/eval mode is restored."""
    ref = model if float_model is None else float_model
    with eval_mode(model), eval_mode(ref):
        macs, params = count_macs_params(ref, example_inputs)
        lat = latency_ms(model, data[0][:latency_batch]) if with_latency else float("nan")
        return CompressionResult(
            accuracy=evaluate(model, data),
            params=params,
            nonzero_params=nonzero_params(ref),
            macs=macs,
            bytes=state_dict_bytes(model),
            sparse_bytes=sparse_bytes(ref),
            latency_ms=lat,
        )
