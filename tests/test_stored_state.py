"""No value read back from a storage can break a study.

A storage is shared by many workers and outlives versions of the code, so every value the
sampler reads from it (the trial tag ``whale``, the study attr ``whale:seed``) is validated: a
value that fails is ignored with one warning per study naming the trial and the field, and the
study goes on. Only the public API is used: studies with ``WhaleSampler``,
``WhaleSampler().population(study)`` and the storage's ``set_*_system_attr``.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale.space import UnitCubeSpace

optuna.logging.set_verbosity(optuna.logging.ERROR)
HERE = Path(__file__).parent
N0 = 4  # population size of these studies: cycles are short


def _sphere(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", -5, 5)
    return (x - 1.3) ** 2 + (y + 0.7) ** 2


def _sampler(growth: float = 1.0, seed: int = 0) -> WhaleSampler:
    return WhaleSampler(seed=seed, population_size=N0, population_growth=growth)


def _raw_tag(study: optuna.Study, trial: optuna.Trial) -> dict[str, Any] | None:
    raw = study._storage.get_trial(trial._trial_id).system_attrs.get("whale")
    return None if raw is None else dict(raw)


def _set_tag(study: optuna.Study, trial: optuna.Trial, raw: Any) -> None:
    study._storage.set_trial_system_attr(trial._trial_id, "whale", raw)


def _optimize_corrupting(
    study: optuna.Study,
    corrupt: Callable[[dict[str, Any]], Any],
    numbers: set[int],
    n_trials: int,
    objective: Callable[[optuna.Trial], float] = _sphere,
) -> None:
    """Optimize, rewriting the tag of the trials ``numbers`` while they run."""

    def wrapped(trial: optuna.Trial) -> float:
        value = objective(trial)
        raw = _raw_tag(study, trial)
        if trial.number in numbers and raw is not None:  # trial 0 samples independently
            _set_tag(study, trial, corrupt(raw))
        return value

    study.optimize(wrapped, n_trials=n_trials)


def _inside(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(value == c for c in dist.choices)
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    return dist.low <= value <= dist.high


def _assert_healthy(study: optuna.Study, sampler: WhaleSampler) -> None:
    """Every trial completed with its params inside their distributions, and the population
    can be rebuilt (positions finite, in the cube)."""
    for t in study.trials:
        assert t.state == TrialState.COMPLETE, (t.number, t.state)
        for name, value in t.params.items():
            assert _inside(t.distributions[name], value), (t.number, name, value)
    pop = sampler.population(study)
    occupied = pop.positions[pop.occupied]
    assert pop.size >= 2 and occupied.size > 0
    assert np.all(np.isfinite(occupied)) and np.all((occupied >= 0) & (occupied <= 1))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("optuna_whale") and r.levelno == logging.WARNING
    ]


def _replace(field: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda raw: {**raw, field: value}


def _replace_x(make: Callable[[list[float]], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda raw: {**raw, "x": make(raw["x"])}


def _drop(field: str) -> Callable[[dict[str, Any]], Any]:
    return lambda raw: {k: v for k, v in raw.items() if k != field}


# (id, corruption, growth, field the warning names)
ABSURD_TAGS = [
    ("gen=1e400", _replace("gen", 10**400), 1.0, "gen"),
    ("gen=str", _replace("gen", "1e400"), 1.0, "gen"),
    ("gen=nan", _replace("gen", math.nan), 1.0, "gen"),
    ("x=+1e400", _replace_x(lambda x: [10**400, *x[1:]]), 1.0, "x"),
    ("x=-1e400", _replace_x(lambda x: [*x[:-1], -(10**400)]), 1.0, "x"),
    ("x=nan", _replace_x(lambda x: [math.nan, *x[1:]]), 1.0, "x"),
    ("x=inf", _replace_x(lambda x: [math.inf, *x[1:]]), 1.0, "x"),
    ("x=str", _replace_x(lambda x: [str(v) for v in x]), 1.0, "x"),
    ("x=bool", _replace_x(lambda x: [True, *x[1:]]), 1.0, "x"),
    ("x=short", _replace_x(lambda x: x[:1]), 1.0, "x"),
    ("x=long", _replace_x(lambda x: [*x, 0.5]), 1.0, "x"),
    ("x=nested", _replace_x(lambda x: [x, x]), 1.0, "x"),
    ("x=dict", _replace("x", {"a": 1}), 1.0, "x"),
    ("cycle=1e30", _replace("cycle", 10**30), 1.0, "cycle"),
    ("cycle=-1", _replace("cycle", -1), 1.0, "cycle"),
    ("cycle=bool", _replace("cycle", True), 1.0, "cycle"),
    ("cycle=2000,growth=2", _replace("cycle", 2000), 2.0, "cycle"),
    ("slot=1e30", _replace("slot", 10**30), 1.0, "slot"),
    ("slot=-1", _replace("slot", -1), 1.0, "slot"),
    ("slot=float", _replace("slot", 1.0), 1.0, "slot"),
    ("parent=1e30", _replace("parent", 10**30), 1.0, "parent"),
    ("basis=7", _replace("basis", 7), 1.0, "basis"),
    ("move=teleport", _replace("move", "teleport"), 1.0, "move"),
    ("space=int", _replace("space", 5), 1.0, "space"),
    ("no x", _drop("x"), 1.0, "x"),
    ("tag=list", lambda raw: [raw], 1.0, "not an object"),
    ("tag=str", lambda raw: json.dumps(raw), 1.0, "not an object"),
]


@pytest.mark.parametrize(
    "corrupt, growth, field", [c[1:] for c in ABSURD_TAGS], ids=[c[0] for c in ABSURD_TAGS]
)
def test_an_absurd_tag_is_ignored_with_one_warning(
    corrupt: Callable[[dict[str, Any]], Any], growth: float, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    study = optuna.create_study(sampler=_sampler(growth))
    with caplog.at_level(logging.WARNING):
        # two corrupted tags, one warning
        _optimize_corrupting(study, corrupt, {6, 9}, n_trials=30)
        _assert_healthy(study, _sampler(growth))
        assert _sampler(growth).population(study).cycle < 30
    messages = _warnings(caplog)
    assert len(messages) == 1, messages
    assert "Trial 6" in messages[0] and field in messages[0], messages[0]


def test_a_cycle_the_trials_cannot_justify_does_not_move_the_study(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = optuna.create_study(sampler=_sampler())
    with caplog.at_level(logging.WARNING):
        _optimize_corrupting(study, _replace("cycle", 2000), {6}, n_trials=40)
        _assert_healthy(study, _sampler())
        # another cycle the study cannot have reached (1000 evaluations): no second warning
        _optimize_corrupting(study, _replace("cycle", 500), {40}, n_trials=1)
    cycles = [t.system_attrs["whale"]["cycle"] for t in study.trials[7:40]]
    assert max(cycles) < 10, cycles  # the study restarts at its own pace
    assert _sampler().population(study).cycle == max(cycles)
    messages = _warnings(caplog)
    assert len(messages) == 1 and "Trial 6" in messages[0] and "'cycle'" in messages[0], messages


def test_absurd_state_in_a_fresh_process(tmp_path: Path) -> None:
    """Tags and a seed that broke every later trial also from a fresh process (JSON storage)."""
    path = tmp_path / "journal.log"
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="s", storage=storage, sampler=_sampler())
    study.optimize(_sphere, n_trials=8)
    corruptions = [
        _replace("gen", 10**400),
        _replace_x(lambda x: [10**400, *x[1:]]),
        _replace_x(lambda x: [*x[:-1], -(10**400)]),
        _replace("cycle", 2000),
        _replace_x(lambda x: [math.nan, math.inf]),
    ]
    distributions = {"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)}
    trials = [study.ask(distributions) for _ in corruptions]  # all running: nothing samples after
    for trial, corrupt in zip(trials, corruptions, strict=True):
        raw = _raw_tag(study, trial)
        assert raw is not None
        _set_tag(study, trial, corrupt(raw))
    for trial in trials:
        study.tell(trial, _sphere(trial))
    storage.set_study_system_attr(study._study_id, "whale:seed", -1)
    code = f"""
import json, optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna_whale import WhaleSampler
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = JournalStorage(JournalFileBackend({str(path)!r}))
study = optuna.load_study(study_name="s", storage=storage,
                          sampler=WhaleSampler(seed=1, population_size={N0}))
study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2 + t.suggest_float("y", -5, 5) ** 2,
               n_trials=10)
pop = WhaleSampler(population_size={N0}).population(study)
print(json.dumps({{"cycle": pop.cycle, "n": len(study.trials),
                   "complete": sum(t.state.name == "COMPLETE" for t in study.trials)}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["n"] == result["complete"] == 8 + len(corruptions) + 10
    assert result["cycle"] < 10
    assert "Trial " in out.stderr and "invalid" in out.stderr  # warned, in the fresh process
    assert storage.get_study_system_attrs(study._study_id)["whale:seed"] == -1  # never overwritten


# -- the design seed --------------------------------------------------------------------------

def _design(study: optuna.Study) -> list[tuple[float, ...]]:
    """The Latin hypercube points the study evaluated (trial 0, independent, holds slot 0)."""
    tags = [t.system_attrs.get("whale", {}) for t in study.trials]
    return sorted(tuple(tag["x"]) for tag in tags if tag.get("move") == "init")


BAD_SEEDS = [-1, 1.5, "abc", 10**30, 10**400, True, [1, 2], {"a": 1}, None, math.nan]


@pytest.mark.parametrize("bad", BAD_SEEDS, ids=[repr(s)[:12] for s in BAD_SEEDS])
def test_an_invalid_design_seed_is_ignored_and_every_worker_derives_the_same(
    bad: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The attr is not overwritten (that would race with workers that read it already): every
    worker derives the same valid seed from it, so they share one Latin hypercube."""
    designs = []
    with caplog.at_level(logging.WARNING):
        for sampler_seed in (0, 1):  # two workers, each with its own random draws
            study = optuna.create_study(sampler=_sampler(seed=sampler_seed))
            study._storage.set_study_system_attr(study._study_id, "whale:seed", bad)
            study.optimize(_sphere, n_trials=1 + N0)  # trial 0 is independent, then the design
            _assert_healthy(study, _sampler())
            stored = study._storage.get_study_system_attrs(study._study_id)["whale:seed"]
            assert stored is bad or stored == bad  # NaN is itself
            designs.append(_design(study))
    assert len(designs[0]) == N0 - 1 and designs[0] == designs[1]
    messages = _warnings(caplog)
    assert len(messages) == 2 and all("whale:seed" in m for m in messages), messages  # one per study


def test_a_valid_design_seed_is_used_and_workers_differ_without_one() -> None:
    designs = []
    for sampler_seed, stored in ((0, 12345), (1, 12345), (1, None)):
        study = optuna.create_study(sampler=_sampler(seed=sampler_seed))
        if stored is not None:
            study._storage.set_study_system_attr(study._study_id, "whale:seed", stored)
        study.optimize(_sphere, n_trials=1 + N0)
        designs.append(_design(study))
    assert designs[0] == designs[1] != designs[2]


# -- the position must be the trial's params ----------------------------------------------------

MIXED = {
    "f": FloatDistribution(-5, 5),
    "g": FloatDistribution(1e-3, 1e2, log=True),
    "k": IntDistribution(0, 9),
    "s": FloatDistribution(0, 1, step=0.25),
    "c": CategoricalDistribution(["a", "b", "c"]),
}
MIXED_SPACE = UnitCubeSpace({k: MIXED[k] for k in sorted(MIXED)})  # the order Optuna infers


def _mixed(trial: optuna.Trial) -> float:
    f = trial.suggest_float("f", -5, 5)
    g = trial.suggest_float("g", 1e-3, 1e2, log=True)
    k = trial.suggest_int("k", 0, 9)
    s = trial.suggest_float("s", 0, 1, step=0.25)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return f * f + math.log10(g) ** 2 + k + s + (c != "b")


def _shift(name: str, delta: float) -> Callable[[dict[str, Any]], Any]:
    """Move the coordinate(s) of parameter ``name`` (a one-hot block: to another choice)."""
    where = MIXED_SPACE._slices[name]

    def corrupt(raw: dict[str, Any]) -> dict[str, Any]:
        x = list(raw["x"])
        block = x[where]
        if len(block) > 1:  # one-hot: rotate, the argmax moves to another choice
            block = [block[-1], *block[:-1]]
        elif delta == 0.0:  # a grid: to a cell at the other end
            block = [0.999 if block[0] < 0.5 else 0.001]
        else:
            block = [block[0] + delta if 0.0 <= block[0] + delta <= 1.0 else block[0] - delta]
        x[where] = block
        return {**raw, "x": x}

    return corrupt


@pytest.mark.parametrize(
    "name, delta, warned",
    [
        ("f", 1e-6, True),  # a continuous float moved by 1e-6 of its range
        ("g", 1e-6, True),  # a log float, 1e-6 of its log range
        ("k", 0.0, True),  # an int moved to another cell
        ("s", 0.0, True),  # a stepped float moved to another cell
        ("c", 0.0, True),  # a categorical moved to another choice
        ("f", 1e-13, False),  # within the tolerance of the encoding
        ("g", -1e-13, False),
    ],
)
def test_a_tag_that_does_not_decode_to_its_params_is_ignored(
    name: str, delta: float, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    study = optuna.create_study(sampler=_sampler())
    with caplog.at_level(logging.WARNING):
        _optimize_corrupting(study, _shift(name, delta), {5, 8}, n_trials=20, objective=_mixed)
        _assert_healthy(study, _sampler())
    messages = _warnings(caplog)
    if warned:
        assert len(messages) == 1, messages
        assert "Trial 5" in messages[0] and "'x'" in messages[0] and repr(name) in messages[0]
    else:
        assert messages == []


def test_an_ignored_tag_joins_at_its_params(caplog: pytest.LogCaptureFixture) -> None:
    """The trial of a rejected tag is an evaluation at its params (not at the tag's ``x``)."""
    study = optuna.create_study(sampler=_sampler())

    def best_ever(trial: optuna.Trial) -> float:
        value = _sphere(trial)
        return -1e9 if trial.number == 7 else value

    with caplog.at_level(logging.WARNING):
        _optimize_corrupting(
            study, _replace_x(lambda x: [1.0 - v for v in x]), {7}, n_trials=8, objective=best_ever
        )
    pop = _sampler().population(study)
    leader = pop.leader
    assert leader is not None and pop.numbers[leader] == 7
    space = UnitCubeSpace({"x": FloatDistribution(-5, 5), "y": FloatDistribution(-5, 5)})
    np.testing.assert_allclose(pop.positions[leader], space.encode(study.trials[7].params), atol=1e-12)
    assert len(_warnings(caplog)) == 1


def _flip_some(seed: int, fraction: float, n_trials: int = 60) -> float:
    """Best value of a run in which ``fraction`` of the tags are rewritten ``x -> 1 - x``."""
    study = optuna.create_study(sampler=WhaleSampler(seed=seed))
    rng = np.random.default_rng(seed)
    flip = _replace_x(lambda x: [1.0 - v for v in x])
    numbers = {n for n in range(n_trials) if rng.random() < fraction}
    _optimize_corrupting(study, flip, numbers, n_trials=n_trials)
    return study.best_value


def test_flipped_positions_do_not_mislead_the_search() -> None:
    """30 % of tags rewritten ``x -> 1 - x`` (mirror images of the evaluated points, carrying
    their values): the corrupted runs find what clean runs find. Medians of the best of 5 seeds
    at 60 trials: clean 4.5e-5, corrupted 8.6e-5; before positions were checked against the
    params, corrupted 0.027 (worst seed 1.04)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corrupted = statistics.median(_flip_some(seed, 0.3) for seed in range(5))
        clean = statistics.median(_flip_some(seed, 0.0) for seed in range(5))
    assert clean < 1e-3
    assert corrupted < 1e-3, (corrupted, clean)


# -- list-valued categorical choices ------------------------------------------------------------


def test_list_valued_choices_on_an_all_categorical_space() -> None:
    """Optuna accepts unhashable choices (with a warning); the sampler's record of tried
    configurations must not hash them."""
    choices = [[1, 2], [4], [4, 5, 6]]

    def objective(trial: optuna.Trial) -> float:
        a = trial.suggest_categorical("a", choices)  # type: ignore[arg-type]
        b = trial.suggest_categorical("b", ["u", "v"])
        return float(sum(a)) + (b == "u")

    study = optuna.create_study(sampler=WhaleSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=7)
        pop = WhaleSampler().population(study)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    configs = [(tuple(t.params["a"]), t.params["b"]) for t in study.trials]
    assert len(set(configs[:6])) == 6  # the 6 configurations, each once, then a repeat
    assert study.best_params == {"a": [1, 2], "b": "v"}
    assert pop.occupied.any()
