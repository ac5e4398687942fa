"""WhalePruner: Optuna's pruner conventions plus the population rule on constructed curves."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from optuna_whale import WhalePruner, WhaleSampler
from optuna_whale.core import Frame, Proposal
from optuna_whale.storage_layout import Tag, write_tag

optuna.logging.set_verbosity(optuna.logging.ERROR)
ROOT = Path(__file__).resolve().parents[1]
DIST = {"x": FloatDistribution(0, 1)}


def add_curve(study: optuna.Study, curve: list[float], final: float | None = None, x: float = 0.5) -> int:
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": x},
            distributions=DIST,
            value=curve[-1] if final is None else final,
            intermediate_values=dict(enumerate(curve)),
        )
    )
    return study.trials[-1].number


def run_curve(study: optuna.Study, curve: list[float], parent: int | None = None) -> tuple[bool, int]:
    """Report ``curve`` step by step; returns (pruned?, step at which it was pruned)."""
    trial = study.ask(DIST)
    if parent is not None:
        tag = Tag("s", Proposal(np.array([0.5]), 0, 0, "encircle", 1.0, parent=parent, frame=Frame.AXES))
        write_tag(study._storage, trial._trial_id, tag)
    for step, v in enumerate(curve):
        trial.report(v, step)
        if trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
            return True, step
    study.tell(trial, curve[-1])
    return False, len(curve) - 1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_startup_trials": -1}, "n_startup_trials"),
        ({"n_warmup_steps": -1}, "n_warmup_steps"),
        ({"interval_steps": 0}, "interval_steps"),
        ({"patience": 0}, "patience"),
        ({"population_size": 0}, "population_size"),
        ({"margin": -0.1}, "margin"),
        ({"margin": float("nan")}, "margin"),
        ({"interval_steps": 1.5}, "interval_steps"),
        ({"optimism": -1.0}, "optimism"),
        ({"optimism": float("inf")}, "optimism"),
        ({"optimism": True}, "optimism"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        WhalePruner(**kwargs)


def test_first_trial_is_never_pruned() -> None:
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=0))
    assert run_curve(study, [1e9, 1e9, 1e9]) == (False, 2)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_dominated_by_incumbent_and_leader_is_pruned_both_directions(direction: str) -> None:
    s = 1.0 if direction == "minimize" else -1.0
    study = optuna.create_study(direction=direction, pruner=WhalePruner(n_startup_trials=1))
    incumbent = add_curve(study, [s * 5, s * 4, s * 3])
    add_curve(study, [s * 4, s * 2, s * 1])  # the leader
    assert run_curve(study, [s * 9, s * 8, s * 7], parent=incumbent) == (True, 0)
    # better than its incumbent (but behind the leader): it can win the slot, so it runs on
    assert run_curve(study, [s * 4.5, s * 3.5, s * 2.5], parent=incumbent) == (False, 2)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert "incumbent" in pruned[0].user_attrs["whale_prune_reason"]


def test_behind_incumbent_but_ahead_of_leader_is_not_pruned() -> None:
    """The rule compares with the weaker of the two references."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1))
    add_curve(study, [10.0, 1.0, 0.1])  # leader: slow start, best final value
    incumbent = add_curve(study, [2.0, 1.5, 1.2])  # fast start, worse final value
    assert run_curve(study, [5.0, 1.1, 0.05], parent=incumbent) == (False, 2)


def _crossing_population(optimism: float) -> tuple[optuna.Study, int]:
    """Leader, a slow starter that finished second and the incumbent; two bad trials make n = 5,
    so the population P is the best k = 2 plus the incumbent. G(0) = 9.0 - 0.8, G(1) = 1.0."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, optimism=optimism))
    add_curve(study, [3.0, 1.0, 0.5])  # leader
    add_curve(study, [9.0, 1.5, 0.8])  # slow starter: gained 8.2 after step 0
    incumbent = add_curve(study, [4.0, 2.0, 1.0])
    add_curve(study, [20.0, 20.0, 20.0])
    add_curve(study, [20.0, 20.0, 20.0])
    return study, incumbent


def test_a_curve_that_crosses_its_incumbent_is_kept_by_the_remaining_gain() -> None:
    """Behind I and L at step 0, but the population has shown gains of 8.2 from there on: a
    crossing curve (it ends better than its incumbent) runs to the end with optimism = 1 and is
    cut at step 0 by the same-step rule (optimism = 0)."""
    crossing = [5.0, 1.8, 0.7]
    study, incumbent = _crossing_population(optimism=1.0)
    assert run_curve(study, crossing, parent=incumbent) == (False, 2)
    study, incumbent = _crossing_population(optimism=0.0)
    assert run_curve(study, crossing, parent=incumbent) == (True, 0)


def test_remaining_gain_still_prunes_a_curve_that_cannot_catch_up() -> None:
    """Step 1: r(1) = max(I(1), L(1), v_I + G(1)) = max(2, 1, 1 + 1) = 2 < 3: pruned there."""
    study, incumbent = _crossing_population(optimism=1.0)
    assert run_curve(study, [5.0, 3.0, 2.5], parent=incumbent) == (True, 1)
    reason = study.trials[-1].user_attrs["whale_prune_reason"]
    assert "remaining gain seen in the population (1)" in reason
    study, incumbent = _crossing_population(optimism=2.0)  # r(1) = 1 + 2 * 1 = 3: not behind yet
    assert run_curve(study, [5.0, 3.0, 2.5], parent=incumbent) == (True, 2)


def test_without_whale_tag_falls_back_to_best_k_population() -> None:
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, population_size=2))
    add_curve(study, [1.0, 0.5])
    add_curve(study, [2.0, 1.0])  # weakest of the best 2
    add_curve(study, [9.0, 9.0])
    add_curve(study, [8.0, 8.0])  # 4 complete: k = min(2, 4 // 2) = 2
    assert run_curve(study, [3.0, 2.0]) == (True, 0)
    assert run_curve(study, [1.5, 0.7]) == (False, 1)
    reason = [t for t in study.trials if t.state == TrialState.PRUNED][0].user_attrs["whale_prune_reason"]
    assert "best 2" in reason


def test_nan_intermediate_value_prunes_and_nan_references_are_skipped() -> None:
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1))
    add_curve(study, [float("nan"), float("nan"), 1.0], final=1.0)
    assert run_curve(study, [2.0, 2.0, 0.5]) == (False, 2)  # no comparable reference value yet
    assert run_curve(study, [1.0, float("nan"), 1.0]) == (True, 1)


def test_startup_warmup_and_interval() -> None:
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=2))
    add_curve(study, [1.0, 1.0, 1.0, 1.0])
    assert run_curve(study, [5.0, 5.0, 5.0, 5.0]) == (False, 3)  # only one complete trial
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, n_warmup_steps=2))
    add_curve(study, [1.0, 1.0, 1.0, 1.0])
    assert run_curve(study, [5.0, 5.0, 5.0, 5.0]) == (True, 2)
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, n_warmup_steps=1, interval_steps=2))
    add_curve(study, [1.0, 1.0, 1.0, 1.0])
    assert run_curve(study, [5.0, 5.0, 5.0, 5.0]) == (True, 1)
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, n_warmup_steps=2, interval_steps=2))
    add_curve(study, [1.0, 1.0, 1.0, 1.0, 1.0])
    assert run_curve(study, [5.0, 5.0, 0.5, 5.0, 5.0]) == (True, 4)  # step 2 ahead, step 4 behind


def test_patience_and_margin() -> None:
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, patience=2))
    add_curve(study, [1.0, 1.0, 1.0, 1.0])
    assert run_curve(study, [2.0, 0.5, 2.0, 2.0]) == (True, 3)  # behind, ahead, behind, behind
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, margin=0.5))
    add_curve(study, [1.0, 1.0, 1.0])
    assert run_curve(study, [1.4, 1.4, 1.6]) == (True, 2)  # 40 % behind is inside the margin


def test_multi_objective_gets_a_clear_error() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], pruner=WhalePruner())
    trial = study.ask({"x": FloatDistribution(0, 1)})
    frozen = study._storage.get_trial(trial._trial_id)
    with pytest.raises(ValueError, match="multi-objective"):
        WhalePruner().prune(study, frozen)


def curve_objective(trial: optuna.Trial) -> float:
    """A learning curve whose final value is the quality of x; the ranking is visible early."""
    x = trial.suggest_float("x", -3, 3)
    y = trial.suggest_float("y", -3, 3)
    quality = (x - 1) ** 2 + (y + 0.5) ** 2
    value = math.inf
    for epoch in range(10):
        value = quality + 2.0 / (epoch + 1)
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def test_with_whale_sampler_prunes_and_keeps_quality() -> None:
    pruned_counts, best = [], []
    for seed in range(3):
        study = optuna.create_study(sampler=WhaleSampler(seed=seed), pruner=WhalePruner())
        study.optimize(curve_objective, n_trials=80)
        pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
        pruned_counts.append(len(pruned))
        assert all("whale_prune_reason" in t.user_attrs for t in pruned)
        best.append(study.best_value)
    assert min(pruned_counts) >= 5  # screened proposals are rarely hopeless: 7-15 of 80 here
    assert max(best) < 2.0 / 10 + 0.5  # the best trials were not pruned away


_WORKER = """
import sys, optuna
sys.path.insert(0, {root!r})
from tests.test_pruner import curve_objective
from optuna_whale import WhalePruner, WhaleSampler
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="p", storage={url!r}, sampler=WhaleSampler(seed={seed}), pruner=WhalePruner())
study.optimize(curve_objective, n_trials=25)
"""


def test_rdb_storage_across_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    optuna.create_study(study_name="p", storage=url)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER.format(root=str(ROOT), url=url, seed=s)])
        for s in range(2)
    ]
    assert all(p.wait(timeout=240) == 0 for p in procs)
    study = optuna.load_study(study_name="p", storage=url)
    states = [t.state for t in study.trials]
    assert len(states) == 50 and TrialState.PRUNED in states and TrialState.COMPLETE in states
    assert all("whale_prune_reason" in t.user_attrs for t in study.trials if t.state == TrialState.PRUNED)


def test_nan_on_the_first_trial_is_not_pruned() -> None:
    """Nothing is pruned before a trial has completed, not even a NaN (as in MedianPruner)."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=0))
    assert run_curve(study, [float("nan"), float("nan"), 1.0]) == (False, 2)
    assert run_curve(study, [2.0, float("nan"), 1.0]) == (True, 1)


def test_interval_checks_unaligned_steps_like_optuna() -> None:
    """Reports that never land on a multiple of ``interval_steps`` are still checked: at the
    first reported step of each window (Optuna's rule), not only at aligned steps."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1, interval_steps=3))
    add_curve(study, [1.0] * 12)
    trial = study.ask(DIST)
    decisions = {}
    for step in (1, 2, 4, 5, 7, 8):
        trial.report(5.0, step)
        decisions[step] = trial.should_prune()
    assert decisions == {1: True, 2: False, 4: True, 5: False, 7: True, 8: False}


def test_trials_finished_during_a_trial_count_at_once() -> None:
    """The pruner reads the storage afresh at each check (no snapshot from the trial's start)."""
    study = optuna.create_study(pruner=WhalePruner(n_startup_trials=1))
    trial = study.ask(DIST)
    trial.report(5.0, 0)
    assert not trial.should_prune()  # nothing has completed yet
    add_curve(study, [1.0, 1.0, 1.0])  # another worker finishes a better trial meanwhile
    trial.report(5.0, 1)
    assert trial.should_prune()


def test_fallback_population_when_maximizing() -> None:
    study = optuna.create_study(direction="maximize", pruner=WhalePruner(n_startup_trials=1, population_size=2))
    add_curve(study, [-1.0, -0.5])
    add_curve(study, [-2.0, -1.0])  # weakest of the best 2
    add_curve(study, [-9.0, -9.0])
    add_curve(study, [-8.0, -8.0])  # 4 complete: k = min(2, 4 // 2) = 2
    assert run_curve(study, [-3.0, -2.0]) == (True, 0)
    assert run_curve(study, [-1.5, -0.7]) == (False, 1)
