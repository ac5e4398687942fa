"""optuna_whale.report / declare / should_prune and WhalePruner's multi-objective rule (M1-M4)."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

import optuna_whale
from optuna_whale import WhalePruner, WhaleSampler
from optuna_whale.multiobjective_pruning import (
    ATTR_DECLARED,
    ATTR_INTERMEDIATE,
    intermediate_vectors,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)
DIST = {"x": FloatDistribution(0, 1)}
X = np.arange(1, 21, dtype=float)


def acc_curve(final: float) -> list[float]:
    """An accuracy curve rising to ``final`` (pow3 shape)."""
    return (final - 0.6 * X**-0.8 + 0.6 * 20**-0.8).tolist()


def run(study: optuna.Study, curve: list[float], size: float) -> tuple[bool, int]:
    """Declare the size, report the accuracy curve; (pruned?, last step)."""
    trial = study.ask(DIST)
    optuna_whale.declare(trial, {1: size})
    for step, acc in enumerate(curve):
        optuna_whale.report(trial, {0: acc}, step)
        if optuna_whale.should_prune(trial):
            study.tell(trial, state=TrialState.PRUNED)
            return True, step
    study.tell(trial, [curve[-1], size])
    return False, len(curve) - 1


def front_study(**kwargs: object) -> optuna.Study:
    """Completed (accuracy, bytes): (0.95, 100), (0.90, 50), (0.80, 20): the front."""
    pruner = WhalePruner(**{"n_startup_trials": 1, "rule": "extrapolate", **kwargs})  # type: ignore[arg-type]
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=pruner)
    for final, size in ((0.95, 100.0), (0.90, 50.0), (0.80, 20.0)):
        assert run(study, acc_curve(final), size) == (False, 19)  # not pruned: all on the front
    return study


def test_dominated_predicted_vector_is_pruned_early() -> None:
    """200 bytes heading for 0.70 accuracy: (0.95, 100) dominates it long before the end."""
    study = front_study()
    pruned, step = run(study, acc_curve(0.70), 200.0)
    assert pruned and step <= 6
    reason = study.trials[-1].user_attrs["whale_prune_reason"]
    assert "dominated by the front" in reason


def test_not_dominated_vectors_are_kept() -> None:
    study = front_study()
    # the smallest model of all: nothing can dominate it, however poor its accuracy
    assert run(study, acc_curve(0.50), 10.0) == (False, 19)
    # as large as the best, but heading for a better accuracy than it
    assert run(study, acc_curve(0.97), 100.0) == (False, 19)
    # a slow starter that ends on the front: worse than every front member at each early step
    slow = (0.93 - 0.9 * X**-0.5 + 0.9 * 20**-0.5).tolist()
    assert slow[0] < min(acc_curve(f)[0] for f in (0.95, 0.90, 0.80)) and slow[-1] > 0.90
    assert run(study, slow, 60.0) == (False, 19)


def test_margin_keeps_a_trial_that_is_only_slightly_dominated() -> None:
    # 110 bytes heading for 0.93: dominated by (0.95, 100) by 0.02 of the accuracy range 0.15
    # (13 %) and 10 bytes of the size range 80 (12.5 %): pruned without margin, kept with 15 %
    assert run(front_study(optimism=0.0), acc_curve(0.93), 110.0)[0] is True
    assert run(front_study(optimism=0.0, margin=0.15), acc_curve(0.93), 110.0) == (False, 19)


def test_gain_rule_in_multi_objective() -> None:
    study = front_study(rule="gain", optimism=1.0)
    pruned, _ = run(study, acc_curve(0.5), 200.0)
    assert pruned
    assert run(front_study(rule="gain", optimism=1.0), acc_curve(0.97), 100.0) == (False, 19)


def test_conventions_first_trial_startup_warmup_interval_nan() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=WhalePruner(n_startup_trials=0))
    assert run(study, acc_curve(0.1), 500.0) == (False, 19)  # the first trial is never pruned
    study = front_study(n_startup_trials=4)  # three complete trials: not yet
    assert run(study, acc_curve(0.70), 200.0) == (False, 19)
    study = front_study(n_warmup_steps=8, interval_steps=4)  # checked at 8, 12, 16
    pruned, step = run(study, acc_curve(0.70), 200.0)
    assert pruned and step == 8
    study = front_study()
    trial = study.ask(DIST)
    optuna_whale.declare(trial, [None, 10.0])
    optuna_whale.report(trial, [0.5, None], 0)
    optuna_whale.report(trial, [float("nan"), None], 1)
    assert optuna_whale.should_prune(trial)
    assert "NaN" in study._storage.get_trial(trial._trial_id).user_attrs["whale_prune_reason"]
    assert intermediate_vectors(study._storage.get_trial(trial._trial_id))[2][1][0] != 0.5


def test_attrs_are_plain_json_and_steps_are_ordered() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=WhalePruner())
    trial = study.ask(DIST)
    optuna_whale.declare(trial, {1: 1234})
    optuna_whale.report(trial, {0: 0.5}, 3)
    optuna_whale.report(trial, {0: float("nan")}, 1)
    optuna_whale.report(trial, {0: 0.7}, 3)  # a step reported again replaces it
    attrs = study._storage.get_trial(trial._trial_id).user_attrs
    json.dumps(attrs, allow_nan=False)  # plain JSON: no NaN token, nothing pickled
    assert attrs[ATTR_DECLARED] == {"1": 1234.0}
    assert attrs[ATTR_INTERMEDIATE] == {"objectives": [0], "steps": [1, 3], "values": [[None], [0.7]]}
    objectives, steps, values = intermediate_vectors(study._storage.get_trial(trial._trial_id))
    assert objectives == [0] and steps == [1, 3] and math.isnan(values[0][0]) and values[1] == [0.7]


def test_clear_errors() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=WhalePruner())
    trial = study.ask(DIST)
    with pytest.raises(ValueError, match="one entry per objective"):
        optuna_whale.report(trial, [0.5], 0)
    with pytest.raises(ValueError, match="objective index"):
        optuna_whale.report(trial, {2: 0.5}, 0)
    with pytest.raises(ValueError, match="step"):
        optuna_whale.report(trial, {0: 0.5}, -1)
    optuna_whale.report(trial, {0: 0.5}, 0)
    with pytest.raises(ValueError, match="same objectives"):
        optuna_whale.report(trial, {0: 0.5, 1: 3.0}, 1)
    with pytest.raises(ValueError, match="already reported"):
        optuna_whale.declare(trial, {0: 1.0})
    with pytest.raises(ValueError, match=r"objective\(s\) \[1\]"):
        optuna_whale.should_prune(trial)  # objective 1: neither reported nor declared
    with pytest.raises(ValueError, match="finite"):
        optuna_whale.declare(trial, {1: float("inf")})
    with pytest.raises(TypeError, match="trial"):
        optuna_whale.report(study.trials[0], {0: 0.5}, 0)  # type: ignore[arg-type]
    median = optuna.create_study(directions=["maximize", "minimize"], pruner=optuna.pruners.MedianPruner())
    t = median.ask(DIST)
    optuna_whale.report(t, [0.5, 2.0], 0)
    with pytest.raises(ValueError, match="WhalePruner"):
        optuna_whale.should_prune(t)
    single = optuna.create_study()
    with pytest.raises(ValueError, match="single-objective"):
        optuna_whale.declare(single.ask(DIST), {0: 1.0})


def test_nop_pruner_never_prunes_and_single_objective_delegates() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=optuna.pruners.NopPruner())
    t = study.ask(DIST)
    optuna_whale.report(t, [0.5, 2.0], 0)
    assert optuna_whale.should_prune(t) is False
    single = optuna.create_study(pruner=WhalePruner(n_startup_trials=1))
    single.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions=DIST, value=1.0,
                                               intermediate_values={0: 1.0, 1: 1.0}))
    t = single.ask(DIST)
    optuna_whale.report(t, 5.0, 0)  # goes to trial.report
    assert single._storage.get_trial(t._trial_id).intermediate_values == {0: 5.0}
    assert optuna_whale.should_prune(t) is True


def toy(trial: optuna.Trial) -> tuple[float, float]:
    """Two objectives: accuracy-like curve of (x, y), size known up front."""
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    size = 10.0 + 90.0 * x
    optuna_whale.declare(trial, {1: size})
    final = 0.5 + 0.45 * x - 0.4 * (y - 0.3) ** 2
    acc = final
    for step in range(10):
        acc = final - 0.4 / (step + 1) + 0.04
        optuna_whale.report(trial, {0: acc}, step)
        if optuna_whale.should_prune(trial):
            raise optuna.TrialPruned()
    return acc, size


@pytest.mark.parametrize(
    "sampler",
    [
        lambda: WhaleSampler(seed=0),
        lambda: optuna.samplers.NSGAIISampler(seed=0, population_size=10),
        lambda: optuna.samplers.TPESampler(seed=0),
    ],
    ids=["whale", "nsga2", "tpe"],
)
def test_works_with_whale_nsga2_and_tpe(sampler) -> None:  # type: ignore[no-untyped-def]
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=sampler(), pruner=WhalePruner(rule="extrapolate")
    )
    study.optimize(toy, n_trials=40)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.PRUNED) >= 3
    assert states.count(TrialState.COMPLETE) >= 10
    assert study.best_trials


@pytest.mark.parametrize("dims", [2, 3])
def test_front_matches_brute_force_with_ties(dims: int) -> None:
    from optuna_whale.pruner import _non_dominated

    rng = np.random.default_rng(dims)
    for _ in range(200):
        points = rng.integers(0, 5, (int(rng.integers(1, 30)), dims)).astype(float)  # many ties
        brute = [k for k, p in enumerate(points)
                 if not (np.all(points <= p, axis=1) & np.any(points < p, axis=1)).any()]
        assert _non_dominated(points).tolist() == brute
