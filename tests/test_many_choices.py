"""A categorical with many choices (a large cube): no ``d x d`` decomposition per move.

Speed itself is measured by ``benchmarks/overhead.py --categorical-choices``
(``benchmarks/results/categorical-choices/``); these tests pin the mechanism."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from optuna_whale import WhaleSampler
from optuna_whale.core import moves
from optuna_whale.core.moves import EIGEN_DEGENERATE_MAX_DIM, cached_eigenbasis, eigenbasis

optuna.logging.set_verbosity(optuna.logging.ERROR)


def test_rank_deficient_elite_in_a_large_cube_moves_on_the_axes() -> None:
    rng = np.random.default_rng(0)
    dim = EIGEN_DEGENERATE_MAX_DIM + 68
    assert eigenbasis(rng.random((10, dim)), dim) is None
    assert eigenbasis(rng.random((dim, dim)), dim) is None  # k = d points span d - 1 directions
    full = eigenbasis(rng.random((dim + 1, dim)), dim)
    assert full is not None and full.shape == (dim, dim)
    # small cubes keep the decomposition whatever the elite (serial proposals unchanged)
    small = eigenbasis(rng.random((3, 10)), 10)
    assert small is not None and small.shape == (10, 10)


class _Pop:
    def __init__(self, elite: np.ndarray) -> None:
        self.elite = elite
        self.derived: dict[str, object] = {}


def test_the_eigenbasis_is_computed_once_per_population_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = np.linalg.eigh

    def counting(a: np.ndarray) -> object:
        calls.append(a.shape)
        return real(a)

    monkeypatch.setattr(moves.np.linalg, "eigh", counting)
    pop = _Pop(np.random.default_rng(1).random((30, 8)))
    first = cached_eigenbasis(pop, 8)  # type: ignore[arg-type]
    for _ in range(20):
        assert cached_eigenbasis(pop, 8) is first  # type: ignore[arg-type]
    assert len(calls) == 1


def test_one_categorical_of_1000_choices_decomposes_no_1000_x_1000_covariance(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = np.linalg.eigh

    def counting(a: np.ndarray) -> object:
        calls.append(a.shape)
        return real(a)

    monkeypatch.setattr(moves.np.linalg, "eigh", counting)
    choices = [f"c{i}" for i in range(1000)]
    worth = np.random.default_rng(0).random(1000)
    study = optuna.create_study(sampler=WhaleSampler(seed=0))
    study.optimize(lambda t: float(worth[choices.index(t.suggest_categorical("c", choices))]), n_trials=40)
    assert len(study.trials) == 40
    assert len({t.params["c"] for t in study.trials}) == 40  # no configuration tried twice
    assert calls == []
