from __future__ import annotations

import optuna
import pytest
import torch

from optuna_whale.compression import models as M
from optuna_whale.compression.training import (
    TrainConfig,
    evaluate,
    train_inplace,
    train_until_converged,
)


def _fit(digits, seed: int) -> torch.nn.Module:  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    m = M.SmallCNN(width=4, hidden=16)
    train_inplace(m, digits.train, digits.val, TrainConfig(epochs=2, lr=1e-2, seed=seed, num_threads=1))
    return m


def test_deterministic_under_seed(digits) -> None:  # type: ignore[no-untyped-def]
    a, b = _fit(digits, 1), _fit(digits, 1)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=False):
        assert torch.equal(va, vb), ka
    assert evaluate(a, digits.val) > 0.5  # learns (chance is 0.1)


def test_num_threads_restored(digits) -> None:  # type: ignore[no-untyped-def]
    before = torch.get_num_threads()
    m = M.MLP(64, hidden=(8,))
    cfg = TrainConfig(epochs=1, num_threads=1)
    train_inplace(m, (digits.train[0][:64], digits.train[1][:64]), digits.val, cfg)
    assert torch.get_num_threads() == before


def test_reports_and_prunes(digits) -> None:  # type: ignore[no-untyped-def]
    class Always(optuna.pruners.BasePruner):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return True

    study = optuna.create_study(direction="maximize", pruner=Always())
    trial = study.ask()
    m = M.MLP(64, hidden=(8,))
    small = (digits.train[0][:64], digits.train[1][:64])
    with pytest.raises(optuna.TrialPruned, match="step 3"):
        train_inplace(m, small, digits.val, TrainConfig(epochs=2), trial=trial, step_offset=2)
    frozen = study._storage.get_trial(trial._trial_id)
    assert list(frozen.intermediate_values) == [3]


def test_converged_restores_best(digits) -> None:  # type: ignore[no-untyped-def]
    m = M.MLP(64, hidden=(16,))
    small = (digits.train[0][:200], digits.train[1][:200])
    h = train_until_converged(m, small, digits.val, TrainConfig(lr=1e-2), patience=2, max_epochs=6)
    assert evaluate(m, digits.val) == h.best_accuracy == max(h.val_accuracy)


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="optimizer='rmsprop' is unknown; allowed: \\['adam', 'adamw', 'sgd'\\]"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(batch_size=0)
