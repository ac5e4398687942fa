"""Learning-curve extrapolation (optuna_whale.curves) and WhalePruner(rule="extrapolate")."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from optuna_whale import WhalePruner
from optuna_whale.curves import FAMILIES, extrapolate

optuna.logging.set_verbosity(optuna.logging.ERROR)
DIST = {"x": FloatDistribution(0, 1)}
STEPS = np.arange(60)

#: the tolerance: 2 % of the curve's total change from its first to its last value
TOLERANCE = 0.02

KNOWN = {
    "pow3": 0.1 + 0.9 * (STEPS + 1.0) ** -0.7,
    "log-power": 0.05 + 1.0 * (1.0 + np.log(STEPS + 1.0)) ** -1.5,
    "exp": 0.2 + 0.8 * np.exp(-4.0 * (STEPS + 1.0) / 60.0),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_final_value_recovered_from_the_first_third(family: str) -> None:
    curve = KNOWN[family]
    pred = extrapolate(STEPS[:20].tolist(), curve[:20].tolist(), horizon_step=59)
    change = abs(curve[0] - curve[-1])
    assert abs(pred.value - curve[-1]) <= TOLERANCE * change
    assert max(pred.weights, key=pred.weights.__getitem__) == family  # the true family wins
    # the last value seen is outside the tolerance: the test needs the extrapolation
    assert abs(curve[19] - curve[-1]) > 1.5 * TOLERANCE * change


def test_noisy_curve_with_completed_curves_of_the_study() -> None:
    rng = np.random.default_rng(0)
    truth = 0.1 + 0.9 * (STEPS + 1.0) ** -0.7
    noisy = truth + rng.normal(0.0, 0.01, STEPS.size)
    params = rng.uniform([0.5, 0.4], [1.2, 1.0], (30, 2))
    history = np.array([0.1 + a * (STEPS + 1.0) ** -b for a, b in params])
    pred = extrapolate(STEPS[:20].tolist(), noisy[:20].tolist(), 59, history, STEPS.tolist())
    assert abs(pred.value - truth[-1]) <= TOLERANCE * (truth[0] - truth[-1])
    assert pred.weights["pow3"] > 0.5  # the completed curves were all pow3
    assert 0.0 < pred.sigma < 0.1


def test_edge_cases_and_bad_input() -> None:
    assert extrapolate([0, 1], [1.0, 0.5], 10).sigma == math.inf  # (E0): no shape from 2 points
    done = extrapolate([0, 1, 2, 3], [1.0, 0.5, 0.4, 0.35], 3)
    assert (done.value, done.sigma) == (0.35, 0.0)
    with pytest.raises(ValueError, match="equal length"):
        extrapolate([0, 1], [1.0], 5)
    with pytest.raises(ValueError, match="finite"):
        extrapolate([0, 1, 2], [1.0, float("nan"), 0.5], 5)


def add_curve(study: optuna.Study, curve: list[float]) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 0.5}, distributions=DIST, value=curve[-1], intermediate_values=dict(enumerate(curve))
        )
    )


def run_curve(study: optuna.Study, curve: list[float]) -> tuple[bool, int]:
    trial = study.ask(DIST)
    for step, v in enumerate(curve):
        trial.report(v, step)
        if trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
            return True, step
    study.tell(trial, curve[-1])
    return False, len(curve) - 1


def _study(rule: str, optimism: float) -> optuna.Study:
    """Completed curves that converge fast to 0.6-0.75 (pow3 with exponent 1)."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, rule=rule, optimism=optimism))
    x = np.arange(1, 31, dtype=float)
    for c in (0.6, 0.65, 0.7, 0.75):
        add_curve(study, (c + 0.4 / x).tolist())
    return study


def test_a_slow_starter_that_ends_best_is_kept() -> None:
    """Curves cross: 0.3 + 2 x^-0.6 starts at 2.3 (worst of all at every early step) and ends at
    0.56, below every completed trial. The extrapolation keeps it; the same-step rule cuts it."""
    x = np.arange(1, 31, dtype=float)
    slow = (0.3 + 2.0 * x**-0.6).tolist()
    assert slow[-1] < 0.6 and slow[0] > 1.0
    assert run_curve(_study("extrapolate", 0.5), slow) == (False, 29)
    pruned, step = run_curve(_study("gain", 0.0), slow)
    assert pruned and step == 0


def test_a_curve_heading_for_a_worse_end_is_pruned_early() -> None:
    x = np.arange(1, 31, dtype=float)
    study = _study("extrapolate", 0.5)
    pruned, step = run_curve(study, (0.9 + 1.0 * x**-0.6).tolist())  # ends at 0.96
    assert pruned and step <= 10
    reason = study.trials[-1].user_attrs["whale_prune_reason"]
    assert "predicted final value" in reason


def test_extrapolate_rule_keeps_the_conventions() -> None:
    x = np.arange(1, 11, dtype=float)
    bad = (2.0 + x**-0.5).tolist()
    # first trial, startup
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=0, rule="extrapolate"))
    assert run_curve(study, bad) == (False, 9)
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=2, rule="extrapolate"))
    add_curve(study, (0.5 + 0.5 / x).tolist())
    assert run_curve(study, bad) == (False, 9)
    # warm-up and interval: first check at step 4, then 6
    study = optuna.create_study(
        pruner=WhalePruner(n_startup_trials=1, rule="extrapolate", n_warmup_steps=4, interval_steps=2)
    )
    add_curve(study, (0.5 + 0.5 / x).tolist())
    assert run_curve(study, bad) == (True, 4)
    # NaN at a checked step prunes
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, rule="extrapolate"))
    add_curve(study, (0.5 + 0.5 / x).tolist())
    assert run_curve(study, [1.0, float("nan"), 1.0]) == (True, 1)
    with pytest.raises(ValueError, match="rule"):
        WhalePruner(rule="lcpfn")
    with pytest.raises(ValueError, match="history"):
        WhalePruner(history=1)


def test_maximize_direction() -> None:
    x = np.arange(1, 31, dtype=float)
    study = optuna.create_study(direction="maximize", pruner=WhalePruner(n_startup_trials=1, rule="extrapolate"))
    for c in (0.6, 0.65, 0.7):
        add_curve(study, (-(c + 0.4 / x)).tolist())
    assert run_curve(study, (-(0.3 + 2.0 * x**-0.6)).tolist()) == (False, 29)
    pruned, _ = run_curve(study, (-(0.9 + 1.0 * x**-0.6)).tolist())
    assert pruned


def test_same_pruner_in_two_studies_does_not_mix_their_curves() -> None:
    x = np.arange(1, 31, dtype=float)
    pruner = WhalePruner(n_startup_trials=1, rule="extrapolate")
    first = optuna.create_study(pruner=pruner)
    add_curve(first, (5.0 + 0.4 / x).tolist())  # a bad curve cached under trial id 0
    assert run_curve(first, (0.6 + 0.4 / x).tolist())[0] is False
    second = optuna.create_study(pruner=pruner)
    add_curve(second, (0.6 + 0.4 / x).tolist())
    assert run_curve(second, (3.0 + 0.4 / x).tolist())[0] is True
