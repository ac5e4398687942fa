"""The tag of every trial records the point actually evaluated (no server needed).

A retry of a trial killed before it suggested all its parameters, or a partial
``enqueue_trial``, reaches ``sample_relative`` with some parameters already given; the tag's ``x``
must hold the given values (their cube cells), not the whale's proposal for them.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale.space import UnitCubeSpace
from optuna_whale.storage_layout import read_tag

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = {
    "x0": FloatDistribution(-5, 5),
    "x1": FloatDistribution(1e-3, 1e2, log=True),
    "k": IntDistribution(0, 9),
    "c": CategoricalDistribution(["a", "b", None]),
}


def _objective(trial: optuna.Trial) -> float:
    x0 = trial.suggest_float("x0", -5, 5)
    x1 = trial.suggest_float("x1", 1e-3, 1e2, log=True)
    k = trial.suggest_int("k", 0, 9)
    c = trial.suggest_categorical("c", ["a", "b", None])
    return (x0 - 1) ** 2 + np.log10(x1) ** 2 + k + (c is None)


def _assert_tags_match_params(study: optuna.Study) -> int:
    space = UnitCubeSpace({k: SPACE[k] for k in sorted(SPACE)})  # the order Optuna infers
    tagged = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        tag = read_tag(t)
        if tag is None:
            continue
        assert tag.space == space.key
        tagged += 1
        # decoding the recorded position gives back the evaluated parameters (floats to 1e-12)
        decoded = space.decode(np.array(tag.proposal.x))
        assert decoded.keys() == t.params.keys(), (t.number, tag.proposal.x, t.params)
        for name, value in t.params.items():
            if isinstance(value, float):
                assert decoded[name] == pytest.approx(value, rel=1e-12), (t.number, name, tag.proposal.x)
            else:
                assert decoded[name] == value, (t.number, name, tag.proposal.x)
    return tagged


def test_partial_enqueue_and_partial_retry_are_tagged_where_evaluated() -> None:
    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=8)
    study.enqueue_trial({"x0": 4.0})
    study.enqueue_trial({"x0": -4.5, "c": None})
    # a retry as RetryHeartbeatStaleTrialCallback makes it for a trial killed after two suggests: the
    # original's params so far, and its system attrs (the whale tag included)
    original = study.trials[5]
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params={"x0": 3.3, "x1": 0.5},
            distributions={"x0": SPACE["x0"], "x1": SPACE["x1"]},
            system_attrs={"failed_trial": 99, "retry_history": [99], **original.system_attrs},
        )
    )
    study.optimize(_objective, n_trials=3)
    trials = study.trials
    assert [t.params["x0"] for t in trials[8:11]] == [4.0, -4.5, 3.3]
    assert trials[9].params["c"] is None and trials[10].params["x1"] == 0.5
    assert _assert_tags_match_params(study) == 10  # all but trial 0 (no search space yet)
    pop = WhaleSampler().population(study)
    assert pop.n_finished == 11
