"""The sampler registry: every name builds its sampler; the ``auto`` entry follows AutoSampler's rule."""

from __future__ import annotations

import optuna
import pytest

from optuna_whale import WhaleSampler
from optuna_whale.bench.samplers import NAMES, SAMPLERS, AutoRuleSampler, make_sampler, runs_at

optuna.logging.set_verbosity(optuna.logging.ERROR)


def test_every_name_builds_its_sampler() -> None:
    assert NAMES[: len(SAMPLERS)] == SAMPLERS and len(set(NAMES)) == len(NAMES)
    expected = {"whale": WhaleSampler, "canonical": WhaleSampler, "whale-nocp": WhaleSampler,
                "whale-gaussian": WhaleSampler, "whale-de": WhaleSampler, "whale-uniform": WhaleSampler,
                "random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler,
                "cmaes": optuna.samplers.CmaEsSampler, "gp": optuna.samplers.GPSampler,
                "qmc": optuna.samplers.QMCSampler, "nsga2": optuna.samplers.NSGAIISampler, "auto": AutoRuleSampler}
    assert set(expected) == set(NAMES)
    for name in NAMES:
        assert type(make_sampler(name, 3)) is expected[name], name
    assert make_sampler("whale-nocp", 0).settings["consider_pruned_trials"] is False  # type: ignore[attr-defined]
    assert make_sampler("canonical", 0).settings["variant"] == "canonical"  # type: ignore[attr-defined]
    for moves in ("gaussian", "de", "uniform"):
        assert make_sampler(f"whale-{moves}", 0).settings["moves"] == moves  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="whale, canonical, random, tpe, cmaes, gp, qmc, whale-gaussian, whale-de, "
                                         "whale-uniform, whale-nocp, auto, nsga2"):
        make_sampler("hebo", 0)
    assert not runs_at("auto", 500) and runs_at("auto", 50) and runs_at("tpe", 10**6)


def _chosen(study: optuna.Study) -> list[str]:
    return [t.system_attrs["auto:sampler"] for t in study.trials]


def test_auto_numeric_space_gp_then_cmaes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AutoRuleSampler, "GP_TRIALS", 4)
    study = optuna.create_study(sampler=make_sampler("auto", 0))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_int("k", 0, 5), n_trials=8)
    assert _chosen(study) == ["GPSampler"] * 4 + ["CmaEsSampler"] * 4


def test_auto_categorical_or_conditional_sends_to_tpe_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AutoRuleSampler, "GP_TRIALS", 2)
    study = optuna.create_study(sampler=make_sampler("auto", 0))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + (t.suggest_categorical("c", ["a", "b"]) == "a"),
                   n_trials=4)
    assert _chosen(study) == ["GPSampler"] + ["TPESampler"] * 3  # the first trial: no completed trial yet

    def conditional(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        return x**2 + (trial.suggest_float("y", 0, 1) if trial.number == 1 else 0.0)

    study = optuna.create_study(sampler=make_sampler("auto", 0))
    study.optimize(conditional, n_trials=3)
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)  # sticky, also past GP_TRIALS
    assert _chosen(study) == ["GPSampler", "GPSampler"] + ["TPESampler"] * 4


def test_auto_multi_objective_uses_tpe() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=make_sampler("auto", 0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)), n_trials=3)
    assert _chosen(study) == ["TPESampler"] * 3


def test_auto_is_reproducible_with_a_seed() -> None:
    def run() -> list[float]:
        study = optuna.create_study(sampler=make_sampler("auto", 7))
        study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=12)
        return [t.params["x"] for t in study.trials]

    assert run() == run()


def test_auto_is_gp_below_its_switch_on_numeric_spaces() -> None:
    """Below 250 trials on a numeric space the rule's GP delegate, seeded like the ``gp`` entry,
    proposes exactly what ``gp`` does: the small-budget BBOB tables need not run ``auto``."""
    def run(name: str) -> list[float]:
        study = optuna.create_study(sampler=make_sampler(name, 3))
        study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 0.3) ** 2 + t.suggest_float("y", 0, 1), n_trials=14)
        return [t.value for t in study.trials]

    assert run("auto") == run("gp")
