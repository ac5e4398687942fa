"""Model-compression helpers for Optuna objectives (the ``compress`` extra).

Install with ``pip install "optuna-whale[compress]"``. Modules, one technique each:
``models``, ``data``, ``structured``, ``unstructured``, ``quantization``, ``lowrank``,
``training``, ``measure``, ``objective`` and ``tasks``.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
    import torch_pruning  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "optuna_whale.compression needs torch and torch-pruning, which come with the "
        "'compress' extra: pip install \"optuna-whale[compress]\" "
        f"(missing: {exc.name})"
    ) from exc

from optuna_whale.compression.measure import CompressionResult, measure
from optuna_whale.compression.objective import (
    BUDGET_REPAIRS,
    Budget,
    CompressionParams,
    CompressionSpace,
    RepairResult,
    applied_params,
    apply_compression,
    build_objective,
    compressed_size,
    load_compressed,
    rebuild_model,
    repair_to_budget,
    save_compressed,
)

__all__ = [
    "BUDGET_REPAIRS",
    "Budget",
    "CompressionParams",
    "CompressionResult",
    "CompressionSpace",
    "RepairResult",
    "applied_params",
    "apply_compression",
    "build_objective",
    "compressed_size",
    "load_compressed",
    "measure",
    "rebuild_model",
    "repair_to_budget",
    "save_compressed",
]
