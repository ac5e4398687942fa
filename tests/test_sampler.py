"""WhaleSampler as an Optuna sampler: storage-backed state, determinism, bad input."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale.core import Population, WhaleSettings
from optuna_whale.space import UnitCubeSpace
from optuna_whale.storage_layout import read_tag

optuna.logging.set_verbosity(optuna.logging.ERROR)
HERE = Path(__file__).parent


def sphere3(trial: optuna.Trial) -> float:
    x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
    return float(((x - 1.0) ** 2).sum())


def _params(sampler: WhaleSampler, n: int = 30) -> list[dict]:
    study = optuna.create_study(sampler=sampler)
    study.optimize(sphere3, n_trials=n)
    return [t.params for t in study.trials]


def assert_same_population(a: Population, b: Population) -> None:
    assert a.cycle == b.cycle and a.size == b.size
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.n_finished == b.n_finished


# -- constructor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"population_size": 1}, "population_size"),
        ({"population_size": 2.5}, "population_size"),
        ({"seed": -1}, "seed"),
        ({"n_startup_trials": -1}, "n_startup_trials"),
        ({"variant": "mealpy"}, "variant"),
        ({"independent_sampler": "random"}, "independent_sampler"),
        ({"warn_independent_sampling": "yes"}, "warn_independent_sampling"),
        ({"consider_pruned_trials": 1}, "consider_pruned_trials"),
        ({"cycle_generations": 0}, "cycle_generations"),
        ({"stagnation_generations": 0}, "stagnation_generations"),
        ({"eigen_probability": -0.1}, "eigen_probability"),
        ({"population_growth": 0.9}, "population_growth"),
        ({"spiral_b": 0}, "spiral_b"),
        ({"avoid_duplicates": "no"}, "avoid_duplicates"),
        ({"screen_candidates": 0}, "screen_candidates"),
        ({"screen_model": "rbf"}, r"screen_model.*\('gp', 'quadratic'\)"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        WhaleSampler(**kwargs)


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_same_params_and_different_seeds_differ() -> None:
    assert _params(WhaleSampler(seed=3)) == _params(WhaleSampler(seed=3))
    assert _params(WhaleSampler(seed=3)) != _params(WhaleSampler(seed=4))


_SPAWN = """
import json, optuna, numpy as np
from optuna_whale import WhaleSampler
optuna.logging.set_verbosity(optuna.logging.ERROR)
def f(trial):
    x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
    return float(((x - 1.0) ** 2).sum())
s = optuna.create_study(sampler=WhaleSampler(seed=3)); s.optimize(f, n_trials=30)
print(json.dumps([t.params for t in s.trials]))
"""


def test_reproducible_in_a_fresh_process() -> None:
    import json

    out = subprocess.run(
        [sys.executable, "-c", _SPAWN], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == _params(WhaleSampler(seed=3))


def test_reseed_rng_changes_the_sequence() -> None:
    sampler = WhaleSampler(seed=3)
    sampler.reseed_rng()
    assert _params(sampler) != _params(WhaleSampler(seed=3))


def test_pickle_mid_study_and_continue() -> None:
    sampler = WhaleSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(sphere3, n_trials=25)
    clone = pickle.loads(pickle.dumps(sampler))
    twin = pickle.loads(pickle.dumps(sampler))
    before = clone.population(study)
    study.sampler = clone
    study.optimize(sphere3, n_trials=10)
    assert len(study.trials) == 35
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert clone.population(study).n_finished >= before.n_finished
    # the pickled random state travels: two clones continue identically
    s1 = optuna.create_study(sampler=pickle.loads(pickle.dumps(twin)))
    s2 = optuna.create_study(sampler=pickle.loads(pickle.dumps(twin)))
    s1.optimize(sphere3, n_trials=15)
    s2.optimize(sphere3, n_trials=15)
    assert [t.params for t in s1.trials] == [t.params for t in s2.trials]


# -- state in the storage -------------------------------------------------------------------


def test_trials_are_tagged_and_dashboard_attrs_are_set() -> None:
    study = optuna.create_study(sampler=WhaleSampler(seed=0, population_size=4))
    study.optimize(sphere3, n_trials=12)
    tagged = [t for t in study.trials if read_tag(t) is not None]
    assert len(tagged) == 11  # trial 0 has no relative search space yet: sampled independently
    for t in tagged:
        assert {"whale_slot", "whale_move", "whale_cycle"} <= set(t.user_attrs)
        tag = read_tag(t)
        assert tag is not None and 0 <= tag.proposal.slot < 4 and tag.proposal.slot == t.user_attrs["whale_slot"]
        assert len(tag.proposal.x) == 3
    moves = [t.user_attrs["whale_move"] for t in tagged]
    assert moves[:3] == ["init"] * 3  # slot 0 is taken by trial 0 (an external evaluation)
    assert set(moves[3:]) <= {"search", "encircle", "spiral"}


def test_live_population_equals_rebuild_from_storage_with_threads() -> None:
    sampler = WhaleSampler(seed=0, population_size=6)
    study = optuna.create_study(sampler=sampler)
    study.optimize(sphere3, n_trials=80, n_jobs=4)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert len({t.number for t in study.trials}) == 80
    live = next(iter(sampler._cache.values()))
    live.sync(study._storage.get_all_trials(study._study_id, deepcopy=False))
    assert_same_population(live.snapshot(), WhaleSampler(population_size=6).population(study))


def test_four_processes_share_one_journal_population(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.log")
    storage = JournalStorage(JournalFileBackend(path))
    name = "whale-journal"
    optuna.create_study(study_name=name, storage=storage)
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "_journal_worker.py"), path, name, "15", str(seed), "60"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(4)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    live_views = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    study = optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(path)))
    trials = study.trials
    assert len(trials) == 60 and sorted(t.number for t in trials) == list(range(60))
    for t in trials:
        expect = TrialState.FAIL if t.number % 11 == 5 else TrialState.COMPLETE
        assert t.state == expect
    tags = [read_tag(t) for t in trials]
    assert sum(tag is not None for tag in tags) >= 56  # all but the first trial(s) of the workers
    # a fresh process rebuilds exactly the population this process rebuilds
    code = (
        "import optuna, json; from optuna.storages.journal import JournalFileBackend, JournalStorage;"
        "from optuna_whale import WhaleSampler;"
        f"s = optuna.load_study(study_name='{name}', storage=JournalStorage(JournalFileBackend({path!r})));"
        "p = WhaleSampler().population(s);"
        "print(json.dumps([p.cycle, p.numbers.tolist(), p.values.tolist(), p.n_finished]))"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    pop = WhaleSampler().population(study)
    assert out == [pop.cycle, pop.numbers.tolist(), pop.values.tolist(), pop.n_finished]
    assert all(view == out for view in live_views)  # every worker's live cache agrees
    assert pop.occupied.all()


def test_reloaded_study_resumes_the_same_population(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    study = optuna.create_study(study_name="r", storage=url, sampler=WhaleSampler(seed=0))
    study.optimize(sphere3, n_trials=40)
    before = WhaleSampler().population(study)
    reloaded = optuna.load_study(study_name="r", storage=url, sampler=WhaleSampler(seed=1))
    reloaded.optimize(sphere3, n_trials=1)
    last = reloaded.trials[-1]
    assert read_tag(last).proposal.cycle == before.cycle  # type: ignore[union-attr]
    assert last.user_attrs["whale_move"] in {"search", "encircle", "spiral"}
    after = WhaleSampler().population(reloaded)
    assert after.n_finished == before.n_finished + 1


def test_failed_and_nan_trials_free_their_slot_without_corrupting() -> None:
    def objective(trial: optuna.Trial) -> float:
        v = sphere3(trial)
        if trial.number % 3 == 1:
            return float("nan")
        if trial.number % 3 == 2:
            raise ValueError("boom")
        return v

    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=45, catch=(ValueError,))
    pop = sampler.population(study)
    finite = pop.values[pop.occupied]
    assert np.all(np.isfinite(finite))
    ok_numbers = {t.number for t in study.trials if t.state == TrialState.COMPLETE}
    assert set(pop.numbers[pop.occupied].tolist()) <= ok_numbers


def test_infinite_values_are_valid_evaluations() -> None:
    def objective(trial: optuna.Trial) -> float:
        v = sphere3(trial)
        return math.inf if trial.number % 4 == 0 else v

    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=40)
    assert math.isfinite(study.best_value)
    pop = sampler.population(study)
    assert math.isfinite(pop.values[pop.leader])


def test_maximize_is_respected() -> None:
    def objective(trial: optuna.Trial) -> float:
        return -sphere3(trial)

    whale, rnd = [], []
    for seed in range(3):
        s = optuna.create_study(direction="maximize", sampler=WhaleSampler(seed=seed))
        s.optimize(objective, n_trials=120)
        whale.append(s.best_value)
        r = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
        r.optimize(objective, n_trials=120)
        rnd.append(r.best_value)
    assert np.median(whale) > np.median(rnd)


def test_all_distributions_extremes_and_many_parameters() -> None:
    choices = [None, True, "a", 1.5, 3]

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-12, 1e12, log=True)
        q = trial.suggest_float("q", -1, 1, step=0.25)
        n = trial.suggest_int("n", 1, 1000, log=True)
        s = trial.suggest_int("s", 0, 10, step=5)
        c = trial.suggest_categorical("c", choices)
        fixed = trial.suggest_float("fixed", 2.0, 2.0)
        xs = [trial.suggest_float(f"p{i}", 0, 1) for i in range(200)]
        assert 1e-12 <= lr <= 1e12 and -1 <= q <= 1 and 1 <= n <= 1000 and s in (0, 5, 10)
        assert c in choices and fixed == 2.0
        return abs(math.log10(lr)) + sum(xs) + n * 1e-3 + s + q**2

    study = optuna.create_study(sampler=WhaleSampler(seed=0))
    study.optimize(objective, n_trials=30)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    tagged = [t for t in study.trials if read_tag(t) is not None]
    assert len(tagged) == 29 and all(len(read_tag(t).proposal.x) == 1 + 1 + 1 + 1 + 5 + 200 for t in tagged)  # type: ignore[union-attr]


def test_enqueued_and_added_trials_join_the_population() -> None:
    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.add_trial(
        optuna.trial.create_trial(
            params={"x0": 1.0, "x1": 1.0, "x2": 1.0},
            distributions={f"x{i}": FloatDistribution(-5, 5) for i in range(3)},
            value=0.0,
        )
    )
    study.enqueue_trial({"x0": 1.1, "x1": 0.9, "x2": 1.0})
    study.enqueue_trial({"x0": 50.0, "x1": -70.0, "x2": 1.0})  # out of range: Optuna warns
    study.optimize(sphere3, n_trials=2)
    pop = sampler.population(study)
    assert pop.numbers.tolist() == [0, 1, 2, -1]  # slots number mod N; slot 3 still empty
    study.optimize(sphere3, n_trials=10)
    pop = sampler.population(study)
    assert pop.n_finished == 13
    assert pop.values[pop.leader] == 0.0 and pop.numbers[pop.leader] == 0
    assert all(np.all((p >= 0) & (p <= 1)) for p in pop.positions[pop.occupied])


def test_conditional_parameters_warn_once_and_space_change_starts_fresh(caplog: pytest.LogCaptureFixture) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        if trial.number >= 20:
            y = trial.suggest_float("y", -5, 5)
            if trial.number % 2:
                z = trial.suggest_float("z", 0, 1)
                return x**2 + y**2 + z
            return x**2 + y**2
        return x**2

    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level("WARNING"):
            study.optimize(objective, n_trials=40)
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings = [r for r in caplog.records if "sampled independently" in r.getMessage()]
    assert {("`y`" in r.getMessage(), "`z`" in r.getMessage()) for r in warnings} <= {(True, False), (False, True)}
    assert len(warnings) <= 2
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    keys = {read_tag(t).space for t in study.trials if read_tag(t) is not None}  # type: ignore[union-attr]
    assert len(keys) == 1  # y never joins the intersection space: {x} throughout


def test_space_change_starts_a_fresh_population() -> None:
    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2 + t.suggest_int("y", 0, 3), n_trials=10)
    study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=10)  # space shrinks to {x}
    tags = [read_tag(t) for t in study.trials]
    assert all(tag is not None for tag in tags[1:])
    assert len({tag.space for tag in tags if tag is not None}) == 2
    # trial 10 still saw {x, y} (trial 9 was the last finished one); trials 11.. see {x}
    assert tags[10].space == tags[9].space != tags[11].space  # type: ignore[union-attr]
    assert [tag.proposal.move for tag in tags[11:14]] == ["init"] * 3  # type: ignore[union-attr]
    assert sampler.population(study).n_finished == 10  # trial 0 (untagged) + trials 11-19


def test_single_value_distribution_is_left_to_optuna() -> None:
    def objective(trial: optuna.Trial) -> float:
        return trial.suggest_float("a", 1.0, 1.0) + trial.suggest_int("b", 3, 3) + sphere3(trial)

    study = optuna.create_study(sampler=WhaleSampler(seed=0))
    study.optimize(objective, n_trials=15)
    assert all(t.params["a"] == 1.0 and t.params["b"] == 3 for t in study.trials)


def test_consider_pruned_trials() -> None:
    def objective(trial: optuna.Trial) -> float:
        v = sphere3(trial)
        trial.report(v, 0)
        if trial.number % 2:
            raise optuna.TrialPruned()
        return v

    for consider in (False, True):
        sampler = WhaleSampler(seed=0, population_size=4, consider_pruned_trials=consider)
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=30)
        pop = sampler.population(study)
        pruned = {t.number for t in study.trials if t.state == TrialState.PRUNED}
        in_pop = set(pop.numbers[pop.occupied].tolist())
        if not consider:
            assert not in_pop & pruned
        n_complete = sum(1 for t in study.trials if t.state == TrialState.COMPLETE)
        assert pop.n_finished == (30 if consider else n_complete) and n_complete == 15


def test_n_startup_trials_use_the_independent_sampler() -> None:
    sampler = WhaleSampler(seed=0, n_startup_trials=5, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(sphere3, n_trials=12)
    tags = [read_tag(t) for t in study.trials]
    assert all(tag is None for tag in tags[:5])
    assert all(tag is not None for tag in tags[5:])
    pop = sampler.population(study)
    assert pop.n_finished == 12  # the start-up trials joined as evaluations


def test_restarts_happen_and_keep_the_best() -> None:
    sampler = WhaleSampler(seed=0, population_size=4, cycle_generations=3)
    study = optuna.create_study(sampler=sampler)
    study.optimize(sphere3, n_trials=60)
    cycles = [read_tag(t).proposal.cycle for t in study.trials[1:]]  # type: ignore[union-attr]
    assert cycles == sorted(cycles) and cycles[-1] >= 3
    moves = [t.user_attrs["whale_move"] for t in study.trials[1:]]
    assert "restart" in moves
    pop = sampler.population(study)
    assert pop.values[pop.leader] == pytest.approx(study.best_value)


def _grid_objective(trial: optuna.Trial) -> float:
    a = trial.suggest_int("a", 0, 5)
    b = trial.suggest_categorical("b", ["x", "y", "z"])
    c = trial.suggest_float("c", 0.0, 1.0, step=0.25)
    return (a - 2) ** 2 + (b != "y") + abs(c - 0.5)


def test_discrete_space_avoids_tried_configurations() -> None:
    # 6 x 3 x 5 = 90 configurations: 60 trials of a deterministic grid objective should not repeat
    study = optuna.create_study(sampler=WhaleSampler(seed=0))
    study.optimize(_grid_objective, n_trials=60)
    cells = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(cells)) == len(cells)
    # the opt-out and the canonical variant repeat configurations (the grid is small)
    for sampler in (WhaleSampler(seed=0, avoid_duplicates=False), WhaleSampler(seed=0, variant="canonical")):
        other = optuna.create_study(sampler=sampler)
        other.optimize(_grid_objective, n_trials=60)
        assert len({tuple(sorted(t.params.items())) for t in other.trials}) < 60


def test_exhausted_discrete_space_still_samples() -> None:
    study = optuna.create_study(sampler=WhaleSampler(seed=1))
    study.optimize(lambda t: float(t.suggest_int("a", 0, 3)), n_trials=12)
    assert len(study.trials) == 12 and {t.params["a"] for t in study.trials} == {0, 1, 2, 3}


def test_grid_and_one_hot_positions_are_the_evaluated_points() -> None:
    study = optuna.create_study(sampler=WhaleSampler(seed=2))
    study.optimize(_grid_objective, n_trials=40)
    sampler = study.sampler
    assert isinstance(sampler, WhaleSampler)
    space = UnitCubeSpace(study.trials[-1].distributions)
    grid = sampler._new_population(study, space).config
    assert space.discrete and grid.candidates(constrained=False) == 32  # a discrete space
    assert grid.candidates(constrained=True) == 8
    tags = [(t, read_tag(t)) for t in study.trials[1:]]  # the first trial is independent
    for t, tag in tags:
        assert tag is not None
        x = np.array(tag.proposal.x)
        np.testing.assert_allclose(x, space.snap(x))  # cell centres and one-hot vertices
        assert space.decode(x) == t.params
    cont = UnitCubeSpace({"x": optuna.distributions.FloatDistribution(0, 1)})
    one = sampler._new_population(study, cont).config
    assert one.screen_candidates == 32 and one.candidates(constrained=False) == 32  # one or two parameters
    assert one.candidates(constrained=True) == 16  # once a trial was infeasible
    assert (one.population_size, one.initial_design) == (11, 4)  # (S7): d + 3 design points
    assert WhaleSampler(initial_design=7)._new_population(study, cont).config.initial_design == 7
    with pytest.raises(ValueError, match="initial_design"):
        WhaleSampler(initial_design=0)
    fixed = WhaleSampler(screen_candidates=5)._new_population(study, cont).config
    assert fixed.candidates(constrained=False) == fixed.candidates(constrained=True) == 5
    cont3 = UnitCubeSpace({f"x{i}": optuna.distributions.FloatDistribution(0, 1) for i in range(3)})
    assert sampler._new_population(study, cont3).config.screen_candidates == 8
    assert sampler._new_population(study, cont3).config.candidates(constrained=True) == 16
    three = sampler._new_population(study, cont3).config
    assert three.initial_design == three.population_size
    assert sampler._new_population(study, space).config.initial_design == sampler._new_population(
        study, space
    ).config.population_size  # a discrete space keeps its whole design
    quadratic = WhaleSampler(screen_model="quadratic")
    assert quadratic._new_population(study, cont).config.screen_candidates == 4
    assert quadratic._new_population(study, space).config.screen_candidates == 8
    assert WhaleSampler(screen_candidates=2)._new_population(study, space).config.screen_candidates == 2


def test_categoricals_count_once_in_the_population_size() -> None:
    dists = {f"op{i}": optuna.distributions.CategoricalDistribution(list("abcde")) for i in range(6)}
    space = UnitCubeSpace(dists)
    assert space.dim == 30
    cfg = WhaleSettings().resolve(space.dim, n_params=len(space))
    assert cfg.dim == 30 and cfg.population_size == 16
