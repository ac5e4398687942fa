from __future__ import annotations

import warnings

import pytest
import torch

from optuna_whale.compression import models as M
from optuna_whale.compression.measure import state_dict_bytes
from optuna_whale.compression.quantization import (
    QUANTIZATION_CHOICES,
    QuantizationUnavailableError,
    availability,
    available_choices,
    quantize,
)
from optuna_whale.compression.training import evaluate

# accuracy bound on digits: a quantized model may lose at most 2 points of validation accuracy
ACCURACY_BOUND = 0.02


@pytest.mark.parametrize("choice", ["dynamic_int8", "fp16", "bf16", "torchao_int8_weight"])
def test_bytes_fall_and_accuracy_within_bound(choice: str, trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    if choice not in available_choices():
        pytest.skip(f"{choice}: {availability()[choice]}")
    q = quantize(trained_cnn, choice)
    base_bytes = state_dict_bytes(trained_cnn)
    limit = 0.6 if choice in ("fp16", "bf16") else 0.5
    assert state_dict_bytes(q) < limit * base_bytes
    assert abs(evaluate(q, digits.val) - evaluate(trained_cnn, digits.val)) <= ACCURACY_BOUND
    assert isinstance(trained_cnn.fc1, torch.nn.Linear)  # input untouched


def test_dynamic_int8_on_lstm_text_model() -> None:
    m = M.TextClassifier(200, 5, embed_dim=16, hidden=32, kind="lstm").eval()
    q = quantize(m, "dynamic_int8")
    tokens = torch.randint(1, 200, (4, 7))
    assert q(tokens).shape == (4, 5)
    assert state_dict_bytes(q) < state_dict_bytes(m)


def test_deprecation_warnings_are_handled_not_leaked() -> None:
    m = M.MLP(16, hidden=(8,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantize(m, "dynamic_int8")
    assert not [w for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))]


def test_unknown_and_unavailable_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    m = M.MLP(16, hidden=(8,))
    with pytest.raises(ValueError, match="quantization='int3' is unknown; allowed: \\['none', 'dynamic_int8'"):
        quantize(m, "int3")
    from optuna_whale.compression import quantization as Q

    monkeypatch.setattr(Q, "_has_torchao", lambda: "torchao is not importable: test")
    with pytest.raises(QuantizationUnavailableError, match="'torchao_int8_weight' is unavailable: torchao is not importable"):
        quantize(m, "torchao_int8_weight")
    assert "torchao_int8_weight" not in Q.available_choices()
    assert set(availability()) == set(QUANTIZATION_CHOICES)


def test_torchao_cuda_kernel_warnings_are_dropped_only_on_a_cpu_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    import torch

    from optuna_whale.compression.quantization import _TORCHAO_CUDA_FILTER

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("torchao", logging.WARNING, __file__, 1, message, None, None)

    kernel = record("Failed to load /venv/site-packages/torchao/_C_mxfp8.so: Could not load this library")
    other = record("Failed to load /elsewhere/lib.so: missing")
    monkeypatch.setattr(torch.version, "cuda", None)
    assert not _TORCHAO_CUDA_FILTER.filter(kernel) and _TORCHAO_CUDA_FILTER.filter(other)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    assert _TORCHAO_CUDA_FILTER.filter(kernel)
