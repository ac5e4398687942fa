"""Every public transform returns a model that runs, or refuses up front; the caller's model is
never changed (weights, dtype, train/eval mode of every submodule)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from optuna_whale.compression import CompressionParams, apply_compression, measure
from optuna_whale.compression.lowrank import factorizable_layers, factorize
from optuna_whale.compression.models import weights_read_by_parent
from optuna_whale.compression.quantization import CastInputs, available_choices, quantize
from optuna_whale.compression.structured import prunable_layers, structured_prune
from optuna_whale.compression.training import TrainConfig, evaluate, logits
from optuna_whale.compression.unstructured import magnitude_prune

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
TOL = {torch.float32: 1e-4, torch.float64: 1e-9, torch.float16: 2e-2, torch.bfloat16: 1e-1}


class ConvAttnNet(nn.Module):
    """conv -> tokens -> multi-head self-attention (residual) -> fc1 -> fc2; 1x4x4 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(x)).flatten(2).transpose(1, 2)
        a, _ = self.attn(h, h, h, need_weights=False)
        return self.fc2(self.drop(F.relu(self.fc1((h + a).mean(1)))))


class EncoderNet(nn.Module):
    """A TransformerEncoderLayer (fast path in eval mode) and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.enc(x).mean(1))


def _supported(dtype: torch.dtype) -> bool:
    try:
        with torch.no_grad():
            ConvAttnNet().to(dtype)(torch.zeros(1, 1, 4, 4, dtype=dtype))
    except RuntimeError:
        return False
    return True


def _model(dtype: torch.dtype) -> tuple[nn.Module, torch.Tensor]:
    """The model in a mixed mode (train at the top, dropout frozen in eval) and example inputs."""
    if not _supported(dtype):
        pytest.skip(f"{dtype} does not run on this CPU")
    torch.manual_seed(0)
    model = ConvAttnNet().to(dtype).train()
    model.drop.eval()
    return model, torch.randn(6, 1, 4, 4, dtype=dtype)


def _snapshot(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, bool]]:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state, {n: m.training for n, m in model.named_modules()}


def _assert_untouched(model: nn.Module, snap: tuple[dict[str, torch.Tensor], dict[str, bool]]) -> None:
    state, modes = snap
    now = model.state_dict()
    assert list(now) == list(state)
    for k, v in state.items():
        assert now[k].dtype == v.dtype, k
        assert torch.equal(now[k], v), k
    assert {n: m.training for n, m in model.named_modules()} == modes


def _apply(model: nn.Module, x: torch.Tensor, quantization: str) -> nn.Module:
    y = torch.arange(len(x)) % 3
    params = CompressionParams(prune={"conv": 0.5, "fc1": 0.5}, rank={"fc1": 0.25},
                               quantization=quantization, lr=1e-3, finetune_epochs=1)
    final, _ = apply_compression(params, (x, y), (x, y), x, model=model,
                                 train_config=TrainConfig(batch_size=4))
    return final


TRANSFORMS: dict[str, Callable[[nn.Module, torch.Tensor], nn.Module]] = {
    "structured_prune": lambda m, x: structured_prune(m, x, {n: 0.5 for n in prunable_layers(m)}),
    "magnitude_prune": lambda m, x: magnitude_prune(m, 0.5),
    "factorize": lambda m, x: factorize(m, ranks={n: 2 for n in factorizable_layers(m)}),
    **{f"quantize:{q}": functools.partial(lambda q, m, x: quantize(m, q), q) for q in available_choices()},
    "apply_compression:none": lambda m, x: _apply(m, x, "none"),
    "apply_compression:dynamic_int8": lambda m, x: _apply(m, x, "dynamic_int8"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_runs_and_leaves_the_model_alone(name: str, dtype: torch.dtype) -> None:
    # the contract allows a clear ValueError/TypeError up front instead; for these layers and
    # dtypes none is needed, so none is accepted here (refusals: the out_proj tests below)
    model, x = _model(dtype)
    snap = _snapshot(model)
    out = TRANSFORMS[name](model, x)
    with torch.no_grad():
        y = out(x)
    assert y.shape == (6, 3) and torch.isfinite(y.float()).all()
    _assert_untouched(model, snap)


def test_factorize_refuses_attention_out_proj_up_front() -> None:
    model, x = _model(torch.float32)
    snap = _snapshot(model)
    assert "attn.out_proj" in weights_read_by_parent(model)
    assert factorizable_layers(model) == ["conv", "fc1", "fc2"]
    with pytest.raises(ValueError, match="layer 'attn.out_proj' cannot be replaced by factors "
                       "\\(nn.MultiheadAttention reads out_proj.weight directly\\); "
                       "allowed: \\['conv', 'fc1', 'fc2'\\]"):
        factorize(model, ranks={"attn.out_proj": 2})
    with pytest.raises(ValueError, match="rank layer 'attn.out_proj' cannot be replaced"):
        apply_compression(CompressionParams(rank={"attn.out_proj": 0.25}), (x, x), (x, x), x, model=model)
    _assert_untouched(model, snap)


def test_transformer_encoder_layer_linears_are_refused_and_stay_float_under_int8() -> None:
    torch.manual_seed(0)
    model, x = EncoderNet().eval(), torch.randn(2, 5, 8)
    assert factorizable_layers(model) == ["fc"]
    with pytest.raises(ValueError, match="'enc.linear1' cannot be replaced by factors "
                       "\\(nn.TransformerEncoderLayer's fast path reads linear1.weight directly\\)"):
        factorize(model, ranks={"enc.linear1": 2})
    q = quantize(model, "dynamic_int8")
    with torch.no_grad():  # the fast path: eval mode, no grad
        assert q(x).shape == (2, 3)
    assert isinstance(q.enc.linear1, nn.Linear) and not isinstance(q.fc, nn.Linear)


class ReadsWeight(nn.Module):
    """A custom module that uses its child's weight without calling the child."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.linear(x, self.proj.weight))


def test_factorize_with_example_inputs_refuses_a_model_that_stops_running() -> None:
    model, x = ReadsWeight(), torch.randn(3, 4)
    with pytest.raises(ValueError, match="no longer runs after factorizing \\['proj'\\]"):
        factorize(model, ranks={"proj": 2}, example_inputs=x)
    with pytest.raises(ValueError, match="does not run on example_inputs of shape \\(3, 5\\) even before"):
        factorize(model, ranks={"proj": 2}, example_inputs=torch.randn(3, 5))
    assert factorize(model, ranks={"head": 1}, example_inputs=x)(x).shape == (3, 2)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=str)
def test_factorize_keeps_dtype_and_is_exact_at_full_rank(dtype: torch.dtype) -> None:
    model, x = _model(dtype)
    model.eval()
    full = factorize(model, ranks={"conv": (8, 1), "fc1": 8, "fc2": 3})
    assert {p.dtype for p in full.parameters()} == {dtype}
    with torch.no_grad():
        assert torch.allclose(full(x).double(), model(x).double(), atol=TOL[dtype], rtol=TOL[dtype])
    assert full.fc1[0].weight.dtype == dtype and full.conv[1].weight.dtype == dtype


def test_factorize_keeps_device_mode_and_frozen_weights() -> None:
    meta = nn.Sequential(nn.Linear(6, 5), nn.Conv2d(1, 4, 3)).to("meta")
    f = factorize(meta, ranks={"0": 2, "1": (2, 1)})
    assert {p.device.type for p in f.parameters()} == {"meta"}
    model = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 2)).eval()
    model[0].requires_grad_(False)
    f = factorize(model, ranks={"0": 2, "1": 1})
    assert not any(m.training for m in f.modules())
    assert [p.requires_grad for p in f[0].parameters()] == [False, False, False]
    assert all(p.requires_grad for p in f[1].parameters())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("choice", ["dynamic_int8", "torchao_int8_weight", "torchao_int8_dynamic"])
def test_int8_quantization_takes_any_float_dtype(choice: str, dtype: torch.dtype) -> None:
    if choice not in available_choices():
        pytest.skip(f"{choice} is unavailable")
    model, x = _model(dtype)
    model.eval()
    q = quantize(model, choice)
    with torch.no_grad():
        y, ref = q(x), model(x)
    assert y.shape == (6, 3)
    native = choice != "dynamic_int8" and dtype != torch.float64
    assert isinstance(q, CastInputs) != native
    assert y.dtype == (dtype if native else torch.float32)
    assert (y.double() - ref.double()).abs().max() < 0.1 * ref.double().abs().max() + 0.05
    assert next(model.parameters()).dtype == dtype


def test_quantize_with_example_inputs_names_the_choice_when_the_result_cannot_run() -> None:
    model = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(ValueError, match="quantization='fp16' gives a model that does not run on "
                       "example_inputs of shape \\(2, 5\\)"):
        quantize(model, "fp16", example_inputs=torch.randn(2, 5))


def test_measure_evaluate_and_logits_restore_every_submodule_mode(digits) -> None:  # type: ignore[no-untyped-def]
    from optuna_whale.compression.models import SmallCNN

    model = SmallCNN(width=4, hidden=8).train()
    model.act3 = nn.Sequential(nn.ReLU(), nn.Dropout(0.5))
    model.act3.eval()  # a frozen part inside a training model
    snap = _snapshot(model)
    val = (digits.val[0][:40], digits.val[1][:40])
    r = measure(model, val, digits.example_inputs, latency_batch=8)
    assert 0 <= r.accuracy <= 1
    _assert_untouched(model, snap)
    evaluate(model, val)
    logits(model, val[0])
    _assert_untouched(model, snap)


def test_structured_prune_inside_no_grad() -> None:
    model, x = _model(torch.float32)
    with torch.no_grad():
        pruned = structured_prune(model, x, {"fc1": 0.5})
        assert pruned.fc1.out_features == 8 and pruned(x).shape == (6, 3)


def test_torchao_import_notice_is_dropped_and_other_records_pass(caplog: pytest.LogCaptureFixture) -> None:
    assert "torchao_int8_weight" in available_choices()  # imports torchao, installs the filter
    from torchao.quantization.quantize_.common.kernel_preference import KernelPreference

    # the record exactly as torch.utils._pytree logs it when torchao registers its Enum
    notice = ("%s is an Enum subclass and is now natively supported by torch.compile as an opaque "
              "value type. Calling register_constant() on Enum subclasses is deprecated and will "
              "be an error in a future release.")
    log = logging.getLogger("torch.utils._pytree")
    with caplog.at_level(logging.WARNING):
        log.warning(notice, KernelPreference)
        log.warning(notice, int)  # the same notice for another class is not torchao's
        log.warning("something else")
    assert [r.getMessage()[:24] for r in caplog.records] == ["<class 'int'> is an Enum", "something else"]
    assert log.level == logging.NOTSET  # nothing else of this logger is hidden



@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_fine_tuning_learns_and_keeps_the_dtype(dtype: torch.dtype, digits) -> None:  # type: ignore[no-untyped-def]
    from optuna_whale.compression.models import SmallCNN
    from optuna_whale.compression.training import train_inplace

    torch.manual_seed(0)
    model = SmallCNN(width=4, hidden=16).to(dtype)
    params = list(model.parameters())
    data = (digits.train[0][:400].to(dtype), digits.train[1][:400])
    start = evaluate(model, data)
    train_inplace(model, data, data, TrainConfig(epochs=6, lr=1e-2, batch_size=32, seed=0))
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))  # same Parameters
    assert {p.dtype for p in model.parameters()} == {dtype}
    assert not model.training
    assert evaluate(model, data) > start + 0.3  # float16 Adam in place gave NaN weights (0.08)
