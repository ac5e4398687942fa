from __future__ import annotations

import optuna
import pytest
import torch

from optuna_whale.compression import (
    Budget,
    CompressionParams,
    CompressionSpace,
    build_objective,
    load_compressed,
    rebuild_model,
    save_compressed,
)
from optuna_whale.compression.measure import state_dict_bytes
from optuna_whale.compression.models import SmallCNN
from optuna_whale.compression.quantization import QuantizationUnavailableError
from optuna_whale.compression.training import TrainConfig, evaluate

ATTRS = {"accuracy", "bytes", "sparse_bytes", "macs", "params", "nonzero_params", "latency_ms"}
SPACE = CompressionSpace(
    rank_layers=("fc1",), quantization=("none", "dynamic_int8", "fp16"), finetune_epochs=(0, 1)
)
CFG = TrainConfig(batch_size=128, seed=0, num_threads=1)


def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    from optuna_whale import WhaleSampler

    return WhaleSampler(seed=seed, population_size=4)


def test_whale_end_to_end_single_objective(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    base_bytes = state_dict_bytes(trained_cnn)
    budget = Budget(max_bytes=0.3 * base_bytes, measure_latency=False)
    obj = build_objective(digits.train, digits.val, digits.example_inputs, SPACE, budget,
                          model=trained_cnn, train_config=CFG)
    study = optuna.create_study(direction="maximize", sampler=_sampler(0))
    study.optimize(obj, n_trials=5)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 5
    for t in done:
        assert set(t.user_attrs) >= ATTRS
        assert t.value == t.user_attrs["accuracy"]
        assert list(t.constraints.values()) == [t.user_attrs["constraint:bytes"]]
        assert t.user_attrs["constraint:bytes"] == pytest.approx(t.user_attrs["bytes"] / budget.max_bytes - 1)
        assert {"prune_ratio:conv1", "prune_ratio:conv2", "prune_ratio:fc1", "rank_ratio:fc1",
                "quantization", "lr", "finetune_epochs"} == set(t.params)
        assert 0 < t.user_attrs["nonzero_params"] <= t.user_attrs["params"]
        if t.params["finetune_epochs"] == 1:
            assert list(t.intermediate_values) == [1]
    # the trained model was never changed
    assert trained_cnn.fc1.out_features == 32


def test_multi_objective_returns_accuracy_and_bytes(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    obj = build_objective(digits.train, digits.val, digits.example_inputs, SPACE,
                          Budget(measure_latency=False), model=trained_cnn, train_config=CFG,
                          multi_objective=True)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(obj, n_trials=2)
    for t in study.trials:
        assert t.values == [t.user_attrs["accuracy"], float(t.user_attrs["bytes"])]


def test_from_scratch_searches_width_and_activation(digits) -> None:  # type: ignore[no-untyped-def]
    space = CompressionSpace(widths=(4, 6), activations=("relu", "gelu"), train_epochs=2,
                             finetune_epochs=(0, 0), quantization=("none",), lr=(1e-2, 1e-2),
                             prune_ratio=(0.0, 0.3))

    def factory(width: int = 4, activation: str = "relu") -> SmallCNN:
        torch.manual_seed(0)
        return SmallCNN(width=width, hidden=16, activation=activation)

    obj = build_objective(digits.train, digits.val, digits.example_inputs, space,
                          Budget(measure_latency=False), model_factory=factory, train_config=CFG)
    study = optuna.create_study(direction="maximize", sampler=_sampler(1))
    study.optimize(obj, n_trials=2)
    t = study.trials[0]
    assert t.params["width"] in (4, 6) and t.params["activation"] in ("relu", "gelu")
    assert list(t.intermediate_values) == [1, 2]
    assert t.user_attrs["accuracy"] > 0.3  # trained (chance is 0.1)


def test_rebuild_save_and_load_roundtrip(trained_cnn, digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    obj = build_objective(digits.train, digits.val, digits.example_inputs, SPACE,
                          Budget(measure_latency=False), model=trained_cnn, train_config=CFG)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"prune_ratio:conv1": 0.25, "prune_ratio:conv2": 0.5,
                         "prune_ratio:fc1": 0.5, "rank_ratio:fc1": 0.5,
                         "quantization": "dynamic_int8", "lr": 2e-3, "finetune_epochs": 1})
    study.optimize(obj, n_trials=1)
    best = study.best_trial
    final, float_model = rebuild_model(best, digits.train, digits.val, digits.example_inputs,
                                       model=trained_cnn, train_config=CFG)
    assert evaluate(final, digits.val) == best.user_attrs["accuracy"]  # deterministic rebuild
    assert state_dict_bytes(final) == best.user_attrs["bytes"]
    save_compressed(str(tmp_path), final, CompressionParams.from_dict(best.params))
    loaded = load_compressed(str(tmp_path), digits.example_inputs, model=SmallCNN(width=8, hidden=32))
    x = digits.val[0][:32]
    assert torch.equal(loaded(x), final(x))


def test_space_and_param_errors(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    args = (digits.train, digits.val, digits.example_inputs)
    with pytest.raises(ValueError, match="prune_ratio\\[1\\]' is 1.0; allowed: 0 <= ratio < 1"):
        build_objective(*args, CompressionSpace(prune_ratio=(0.0, 1.0)), model=trained_cnn)
    with pytest.raises(ValueError, match="quantization choice 'int2' is unknown; allowed"):
        build_objective(*args, CompressionSpace(quantization=("int2",)), model=trained_cnn)
    with pytest.raises(ValueError, match="rank_ratio=\\(0.0, 1.0\\); allowed: 0 < low <= high <= 1"):
        build_objective(*args, CompressionSpace(rank_ratio=(0.0, 1.0)), model=trained_cnn)
    with pytest.raises(ValueError, match="prune layer 'act1' is not prunable; allowed: \\['conv1'"):
        build_objective(*args, CompressionSpace(prune_layers=("act1",)), model=trained_cnn)
    with pytest.raises(ValueError, match="rank layer 'pool2' is a MaxPool2d; factorization handles Linear, "
                       "Conv2d, Embedding and EmbeddingBag; allowed: \\['conv1', 'conv2', 'fc1', 'fc2'\\]"):
        build_objective(*args, CompressionSpace(rank_layers=("pool2",)), model=trained_cnn)
    with pytest.raises(ValueError, match="activation 'swish' is unknown"):
        build_objective(*args, CompressionSpace(activations=("swish",)), model=trained_cnn)
    with pytest.raises(ValueError, match="exactly one of model"):
        build_objective(*args, CompressionSpace())
    with pytest.raises(ValueError, match="parameter 'depth' is unknown"):
        CompressionParams.from_dict({"depth": 3})


def test_unavailable_quantization_in_space(trained_cnn, digits, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from optuna_whale.compression import quantization as Q

    monkeypatch.setattr(Q, "_has_torchao", lambda: "torchao is not importable: test")
    with pytest.raises(QuantizationUnavailableError, match="'torchao_int8_dynamic' is unavailable"):
        build_objective(digits.train, digits.val, digits.example_inputs,
                        CompressionSpace(quantization=("none", "torchao_int8_dynamic")), model=trained_cnn)


def _mo_objective(trained_cnn, digits):  # type: ignore[no-untyped-def]
    space = CompressionSpace(rank_layers=("fc1",), quantization=("none", "dynamic_int8"), finetune_epochs=(2, 2))
    return build_objective(digits.train, digits.val, digits.example_inputs, space,
                           Budget(measure_latency=False), model=trained_cnn, train_config=CFG,
                           multi_objective=True)


def test_multi_objective_declares_bytes_and_reports_from_step_0(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    from optuna_whale.multiobjective_pruning import declared_values, intermediate_vectors

    # Optuna's default pruner (MedianPruner) cannot judge vectors: the curve is stored, nothing is pruned
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(_mo_objective(trained_cnn, digits), n_trials=2)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert declared_values(t) == {1: t.values[1]}  # the bytes, declared before fine-tuning, were exact
        objectives, steps, rows = intermediate_vectors(t)
        assert objectives == [0] and steps == [0, 1, 2]
        assert rows[-1][0] == t.values[0]


def test_multi_objective_whale_pruner_stops_a_dominated_trial_before_fine_tuning(trained_cnn, digits) -> None:  # type: ignore[no-untyped-def]
    from optuna_whale import WhalePruner
    from optuna_whale.multiobjective_pruning import intermediate_vectors

    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=2),
                                pruner=WhalePruner(n_startup_trials=1, optimism=0.0))
    # a completed trial that dominates every compressed model: accuracy 1 at 1 byte
    study.add_trial(optuna.trial.create_trial(
        values=[1.0, 1.0],
        user_attrs={"whale_intermediate_values": {"objectives": [0], "steps": [0, 1, 2], "values": [[0.5], [0.9], [1.0]]}},
    ))
    study.optimize(_mo_objective(trained_cnn, digits), n_trials=2)
    for t in study.trials[1:]:
        assert t.state == optuna.trial.TrialState.PRUNED
        assert intermediate_vectors(t)[1] == [0]  # stopped before its first epoch
        assert "dominated by the front" in t.user_attrs["whale_prune_reason"]
