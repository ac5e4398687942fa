from __future__ import annotations

import copy

import optuna
import pytest
import torch

from optuna_whale.compression import (
    Budget,
    CompressionParams,
    CompressionSpace,
    applied_params,
    apply_compression,
    build_objective,
    compressed_size,
    rebuild_model,
    repair_to_budget,
)
from optuna_whale.compression.measure import state_dict_bytes
from optuna_whale.compression.objective import scale_params
from optuna_whale.compression.structured import count_macs_params
from optuna_whale.compression.training import TrainConfig, evaluate, train_inplace

CFG = TrainConfig(batch_size=128, seed=0, num_threads=1)
FULL = CompressionParams(prune={"conv1": 0.0, "conv2": 0.0, "fc1": 0.0}, rank={"fc1": 1.0},
                         quantization="none", lr=3e-3, finetune_epochs=0)


def test_scale_params_rule() -> None:
    p = CompressionParams(prune={"a": 0.2, "b": 0.6}, rank={"c": 0.5, "d": 1.0})
    s = scale_params(p, 0.5)
    assert s.prune == pytest.approx({"a": 0.6, "b": 0.8})  # 1 - 0.5 * (1 - r)
    assert s.rank == {"c": 0.5, "d": 1.0}  # ranks kept by "scale"
    s_all = scale_params(p, 0.5, ranks=True)
    assert s_all.rank == {"c": 0.25, "d": 1.0}  # a ratio of 1 means "not factorized" and stays
    assert scale_params(p, 1.0).prune == p.prune
    with pytest.raises(ValueError, match="allowed: 0 < scale <= 1"):
        scale_params(p, 0.0)


def test_repair_meets_the_budget_on_digits(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    x0 = digits.example_inputs
    base_bytes = state_dict_bytes(trained_cnn)
    base_macs, _ = count_macs_params(trained_cnn, x0)
    budget = Budget(max_bytes=0.15 * base_bytes, max_macs=0.3 * base_macs)
    b0, m0 = compressed_size(FULL, trained_cnn, x0)
    assert b0 > budget.max_bytes  # the suggestion is over budget
    rep = repair_to_budget(FULL, trained_cnn, x0, budget)
    assert rep.status == "repaired" and 0 < rep.scale < 1
    ratios = set(rep.params.prune.values())
    assert len(ratios) == 1 and ratios.pop() > 0  # a uniform suggestion stays uniform
    final, float_model = apply_compression(rep.params, digits.train, digits.val, x0, model=trained_cnn)
    assert state_dict_bytes(final) == rep.bytes <= budget.max_bytes
    assert count_macs_params(float_model, x0)[0] == rep.macs <= budget.max_macs
    # the scale is tight: a 5 % larger scale would break the budget
    bigger = compressed_size(scale_params(FULL, min(1.0, rep.scale * 1.05)), trained_cnn, x0)
    assert bigger[0] > budget.max_bytes or bigger[1] > budget.max_macs
    # within budget already: nothing changes
    ok = repair_to_budget(FULL, trained_cnn, x0, Budget(max_bytes=2 * base_bytes))
    assert ok.status == "within_budget" and ok.params == FULL and ok.scale == 1.0


def test_repair_is_deterministic_and_unreachable_is_reported(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    x0 = digits.example_inputs
    p = CompressionParams(prune={"conv1": 0.1, "conv2": 0.5, "fc1": 0.3}, rank={"fc1": 0.6},
                          quantization="dynamic_int8")
    budget = Budget(max_bytes=0.08 * state_dict_bytes(trained_cnn))
    a = repair_to_budget(p, trained_cnn, x0, budget)
    b = repair_to_budget(copy.deepcopy(p), copy.deepcopy(trained_cnn), x0, budget)
    assert a.params == b.params and a.scale == b.scale and a.bytes == b.bytes
    assert a.params.rank == p.rank and a.params.quantization == p.quantization
    # keep ratios shrink by one common factor
    keep = {k: (1 - a.params.prune[k]) / (1 - p.prune[k]) for k in p.prune}
    assert max(keep.values()) == pytest.approx(min(keep.values()))
    tiny = repair_to_budget(p, trained_cnn, x0, Budget(max_bytes=100))
    assert tiny.status == "unreachable" and tiny.bytes > 100
    with pytest.raises(ValueError, match="needs Budget.max_bytes or Budget.max_macs"):
        repair_to_budget(p, trained_cnn, x0, Budget())


def test_objective_with_repair_records_and_rebuilds(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    x0 = digits.example_inputs
    budget = Budget(max_bytes=0.15 * state_dict_bytes(trained_cnn), measure_latency=False)
    space = CompressionSpace(rank_layers=("fc1",), quantization=("none", "fp16"),
                             finetune_epochs=(0, 1))
    obj = build_objective(digits.train, digits.val, x0, space, budget, model=trained_cnn,
                          train_config=CFG, budget_repair="scale")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"prune_ratio:conv1": 0.0, "prune_ratio:conv2": 0.1, "prune_ratio:fc1": 0.2,
                         "rank_ratio:fc1": 1.0, "quantization": "none", "lr": 3e-3, "finetune_epochs": 1})
    study.optimize(obj, n_trials=4)
    for t in study.trials:
        assert t.user_attrs["repair_status"] in ("within_budget", "repaired")
        assert t.user_attrs["constraint:bytes"] <= 0 and t.user_attrs["feasible"] == 1  # every trial feasible
        assert set(t.params) == set(t.user_attrs["applied_params"])
    t = study.trials[0]
    assert t.params["prune_ratio:conv1"] == 0.0  # the suggestion stays the trial's params
    assert t.user_attrs["repair_status"] == "repaired"
    assert applied_params(t).prune["conv1"] > 0.0
    final, _ = rebuild_model(t, digits.train, digits.val, x0, model=trained_cnn, train_config=CFG,
                             budget=budget, budget_repair="scale")
    assert state_dict_bytes(final) == t.user_attrs["bytes"]
    assert evaluate(final, digits.val) == t.user_attrs["accuracy"]
    final2, _ = rebuild_model(applied_params(t), digits.train, digits.val, x0, model=trained_cnn,
                              train_config=CFG)
    assert evaluate(final2, digits.val) == t.user_attrs["accuracy"]


def test_scale_all_repairs_an_embedding_rank() -> None:
    from optuna_whale.compression.models import TextClassifier

    torch.manual_seed(0)
    model = TextClassifier(500, 4, embed_dim=32, hidden=32).eval()
    x0 = torch.randint(1, 500, (2, 6))
    p = CompressionParams(prune={"fc1": 0.0}, rank={"embedding": 0.9}, quantization="fp16")
    budget = Budget(max_bytes=state_dict_bytes(model) / 8)
    assert repair_to_budget(p, model, x0, budget).status != "repaired"  # pruning fc1 is not enough
    rep = repair_to_budget(p, model, x0, budget, ranks=True)
    assert rep.status == "repaired" and rep.bytes <= budget.max_bytes
    assert rep.params.rank["embedding"] < 0.9


def test_budget_repair_argument_errors(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    args = (digits.train, digits.val, digits.example_inputs, CompressionSpace())
    with pytest.raises(ValueError, match="budget_repair='grow' is unknown; allowed"):
        build_objective(*args, Budget(max_bytes=1e4), model=trained_cnn, budget_repair="grow")
    with pytest.raises(ValueError, match="needs a Budget with max_bytes or max_macs"):
        build_objective(*args, Budget(), model=trained_cnn, budget_repair="scale")


def test_distillation_config_and_effect(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="distill_alpha=1.5"):
        TrainConfig(distill_alpha=1.5)
    with pytest.raises(ValueError, match="distill_temperature=0"):
        TrainConfig(distill_temperature=0)
    cfg = TrainConfig(epochs=1, lr=3e-3, seed=0, num_threads=1)

    def run(c: TrainConfig, teacher: torch.nn.Module | None) -> torch.Tensor:
        m = copy.deepcopy(trained_cnn)
        train_inplace(m, digits.train, digits.val, c, teacher=teacher)
        return m.fc2.weight.detach().clone()

    plain = run(cfg, None)
    assert torch.equal(plain, run(cfg, trained_cnn))  # alpha 0: the teacher is ignored
    distilled = run(TrainConfig(epochs=1, lr=3e-3, seed=0, num_threads=1, distill_alpha=0.7), trained_cnn)
    assert not torch.equal(plain, distilled)
    assert not trained_cnn.training  # the teacher's mode is left as it was
