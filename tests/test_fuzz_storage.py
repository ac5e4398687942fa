"""Fuzz: random JSON written into whale tags and study attrs never stops a study.

500 seeded iterations of ask/tell on a mixed search space with a few trials running at once.
At every iteration some of these are written: a random running trial's ``whale`` tag (a field
replaced by a random JSON value, ``x`` with junk entries or the wrong length, a field dropped,
or the whole tag replaced), a finished trial with a junk tag added, the study attr
``whale:seed``; sometimes a fresh sampler takes over (as a new process would). The study must
keep sampling inside every distribution, with a valid tag on every sampled trial, and the
population must rebuild from the storage at any time. Only the public API is used.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from optuna_whale import WhaleSampler

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE: dict[str, Any] = {
    "f": FloatDistribution(-5, 5),
    "g": FloatDistribution(1e-3, 1e2, log=True),
    "k": IntDistribution(0, 9),
    "s": FloatDistribution(0, 1, step=0.25),
    "c": CategoricalDistribution(["a", "b", None]),
}
DIM = 7  # cube coordinates: one per number, three for the categorical
N0 = 4
GROWTH = 2.0  # cycle sizes grow, so a junk cycle can overflow them
ITERATIONS = 500
TAG_FIELDS = ["space", "cycle", "slot", "x", "move", "gen", "parent", "basis"]


def _objective(params: dict[str, Any]) -> float:
    return (
        (params["f"] - 1.3) ** 2
        + math.log10(params["g"]) ** 2
        + abs(params["k"] - 3)
        + params["s"]
        + (params["c"] != "b")
    )


def _number(rng: np.random.Generator) -> Any:
    """A random JSON number: small, huge (beyond float and int64), NaN, infinite, subnormal."""
    kind = int(rng.integers(12))
    if kind < 3:  # an int too large for an int64 or a float
        big = 10 ** int(rng.choice([18, 19, 63, 64, 308, 309, 400]))
        return big if rng.random() < 0.6 else -big
    return [
        0,
        1,
        -1,
        int(rng.integers(-5, 50)),
        float(rng.normal()),
        float(rng.random()),
        math.nan,
        math.inf if rng.random() < 0.5 else -math.inf,
        1e308 if rng.random() < 0.5 else 5e-324,
    ][kind - 3]


def _junk(rng: np.random.Generator, depth: int = 0) -> Any:
    """A random JSON value: numbers of every kind, strings, booleans, null, nested containers."""
    kind = int(rng.integers(7 if depth < 3 else 5))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.random() < 0.5)
    if kind in (2, 3):
        return _number(rng)
    if kind == 4:
        return str(
            rng.choice(["", "0.5", "NaN", "1e400", "init", "spiral", "0123456789ab", "x" * 300])
        )
    if kind == 5:
        return [_junk(rng, depth + 1) for _ in range(int(rng.integers(0, 12)))]
    keys = [*TAG_FIELDS, "junk", ""]
    return {str(rng.choice(keys)): _junk(rng, depth + 1) for _ in range(int(rng.integers(0, 6)))}


def _corrupted(rng: np.random.Generator, raw: Any) -> Any:
    """A corruption of the stored tag ``raw``."""
    if not isinstance(raw, dict) or rng.random() < 0.15:
        return _junk(rng)
    tag = dict(raw)
    r = rng.random()
    if r < 0.35:
        tag[str(rng.choice(TAG_FIELDS))] = _junk(rng)
    elif r < 0.65:
        tag[str(rng.choice(TAG_FIELDS))] = _number(rng)
    elif r < 0.9 and isinstance(tag.get("x"), list):
        x = list(tag["x"])
        how = int(rng.integers(5))
        if how == 0 and x:
            x[int(rng.integers(len(x)))] = _number(rng)
        elif how == 1 and x:
            x[int(rng.integers(len(x)))] = _junk(rng)
        elif how == 2:
            x = x[: int(rng.integers(len(x)))] if x else x
        elif how == 3:
            x = x + [float(rng.random()) for _ in range(int(rng.integers(1, 4)))]
        else:  # well-formed, but not where the trial was evaluated
            x = [float(v) for v in rng.random(len(x))]
        tag["x"] = x
    else:
        tag.pop(str(rng.choice(TAG_FIELDS)), None)
    return tag


def _assert_inside(params: dict[str, Any]) -> None:
    assert params.keys() == SPACE.keys()
    for name, value in params.items():
        dist = SPACE[name]
        if isinstance(dist, CategoricalDistribution):
            assert value in dist.choices, (name, value)
        else:
            assert dist.low <= value <= dist.high, (name, value)
            if dist.step is not None:
                k = (value - dist.low) / dist.step
                assert abs(k - round(k)) < 1e-9, (name, value)


def _assert_valid_population(study: optuna.Study) -> None:
    pop = WhaleSampler(population_size=N0, population_growth=GROWTH).population(study, SPACE)
    assert 2 <= pop.size <= 8 * N0 and 0 <= pop.cycle < ITERATIONS
    occupied = pop.positions[pop.occupied]
    assert occupied.size > 0 and np.all((occupied >= 0) & (occupied <= 1))
    # every whale sits on an evaluation: a trial that finished with a value
    evaluated = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert set(pop.numbers[pop.occupied].tolist()) <= {t.number for t in evaluated}


def test_random_json_in_tags_and_study_attrs_never_stops_the_study(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(2024)
    study = optuna.create_study(sampler=WhaleSampler(seed=0, population_size=N0, population_growth=GROWTH))
    storage, study_id = study._storage, study._study_id
    running: list[optuna.Trial] = []
    written = {"tags": 0, "added": 0, "seeds": 0}
    has_space = False
    with caplog.at_level(logging.WARNING):
        for i in range(ITERATIONS):
            trial = study.ask(SPACE)
            _assert_inside(trial.params)
            if has_space:  # before a trial completes there is no search space: sampled independently
                tag = storage.get_trial(trial._trial_id).system_attrs.get("whale")
                assert isinstance(tag, dict) and len(tag["x"]) == DIM, (i, tag)
                assert all(0 <= v <= 1 for v in tag["x"]) and 0 <= tag["cycle"] < ITERATIONS, (i, tag)
            running.append(trial)
            if rng.random() < 0.5:  # the tag of a random running trial
                victim = running[int(rng.integers(len(running)))]
                raw = storage.get_trial(victim._trial_id).system_attrs.get("whale")
                storage.set_trial_system_attr(victim._trial_id, "whale", _corrupted(rng, raw))
                written["tags"] += 1
            if rng.random() < 0.05:  # a finished trial carrying a junk tag
                own = storage.get_trial(trial._trial_id).system_attrs.get("whale")
                junk_tag = _corrupted(rng, own)
                study.add_trial(
                    create_trial(
                        params=trial.params,
                        distributions=SPACE,
                        value=_objective(trial.params),
                        system_attrs={"whale": junk_tag},
                    )
                )
                written["added"] += 1
                has_space = True
            if rng.random() < 0.05:
                storage.set_study_system_attr(study_id, "whale:seed", _junk(rng))
                written["seeds"] += 1
            if rng.random() < 0.02:  # a fresh worker: reads the seed again, folds from scratch
                study.sampler = WhaleSampler(seed=i, population_size=N0, population_growth=GROWTH)
            while running and (len(running) > 3 or rng.random() < 0.6):
                done = running.pop(int(rng.integers(len(running))))
                r = rng.random()
                if r < 0.08:
                    study.tell(done, state=TrialState.FAIL)
                elif r < 0.12:
                    study.tell(done, math.nan)  # becomes FAIL
                elif r < 0.16:
                    done.report(_objective(done.params), step=1)
                    study.tell(done, state=TrialState.PRUNED)
                    has_space = True
                else:
                    study.tell(done, _objective(done.params))
                    has_space = True
            if i % 50 == 49:
                _assert_valid_population(study)
        for trial in running:
            study.tell(trial, _objective(trial.params))
        _assert_valid_population(study)
    assert written["tags"] > 200 and written["added"] > 10 and written["seeds"] > 10
    assert len(study.trials) == ITERATIONS + written["added"]
    # the study still optimises: the best found is near the optimum (f=1.3, g=1, k=3, s=0, b)
    assert study.best_value < 0.5, study.best_value
    tag_warnings = [r.getMessage() for r in caplog.records if "whale tag is invalid" in r.getMessage()]
    seed_warnings = [r.getMessage() for r in caplog.records if "whale:seed" in r.getMessage()]
    assert len(tag_warnings) == 1 and len(seed_warnings) <= 1, (tag_warnings, seed_warnings)
