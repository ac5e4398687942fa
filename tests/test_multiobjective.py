"""Multi-objective and constrained WhaleSampler: dominance rules, fronts, feasibility."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna._hypervolume import compute_hypervolume
from optuna.trial import TrialState

from optuna_whale import WhaleSampler
from optuna_whale.core import Config, Evaluation, PopulationFold, Proposal
from optuna_whale.core.records import crowding_distance, dominates
from optuna_whale.storage_layout import read_tag
from optuna_whale.study_population import trial_constraints, trial_violation


def E(number: int, slot: int, cycle: int, x: np.ndarray, values: tuple[float, ...], violation: float = 0.0) -> Evaluation:
    """An evaluation of ``(cycle, slot)`` at ``x``."""
    return Evaluation(number, Proposal(np.asarray(x, dtype=float), slot, cycle, "init"), values, violation)

optuna.logging.set_verbosity(optuna.logging.ERROR)


def ev(number: int, values: tuple[float, ...], violation: float = 0.0, slot: int = 0) -> Evaluation:
    return E(number, slot, 0, np.full(2, 0.1 * (number % 10)), values, violation)


# -- rules on constructed evaluations -------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (ev(0, (1.0, 1.0)), ev(1, (2.0, 2.0)), True),  # better in both
        (ev(0, (1.0, 2.0)), ev(1, (1.0, 3.0)), True),  # equal in one, better in the other
        (ev(0, (1.0, 3.0)), ev(1, (2.0, 2.0)), False),  # trade-off: neither dominates
        (ev(0, (1.0, 1.0)), ev(1, (1.0, 1.0)), False),  # equal: neither dominates
        (ev(0, (9.0, 9.0)), ev(1, (0.0, 0.0), violation=0.1), True),  # feasible beats infeasible
        (ev(0, (9.0, 9.0), 0.5), ev(1, (0.0, 0.0), 1.0), True),  # smaller violation wins
        (ev(0, (0.0, 0.0), 1.0), ev(1, (9.0, 9.0), 0.5), False),
    ],
)
def test_constrained_dominance(a: Evaluation, b: Evaluation, expected: bool) -> None:
    assert dominates(a, b) is expected


def test_single_objective_feasibility_first_order() -> None:
    cfg = Config.for_cube(2, population_size=2)
    b = PopulationFold(cfg)
    b.add(ev(0, (-100.0,), violation=0.2))  # great value, infeasible
    b.add(ev(1, (5.0,)))  # feasible
    b.add(ev(2, (-50.0,), violation=0.1, slot=1))
    pop = b.snapshot(0)
    assert pop.numbers.tolist() == [1, 2] and pop.leader == 0
    b.add(ev(3, (3.0,), slot=1))  # feasible replaces the infeasible incumbent, becomes leader
    pop = b.snapshot(0)
    assert pop.numbers.tolist() == [1, 3] and pop.leader == 1


def test_multi_objective_incumbent_is_newest_non_dominated_of_its_slot() -> None:
    cfg = Config.for_cube(2, population_size=2, n_objectives=2)
    evs = [ev(0, (1.0, 5.0)), ev(2, (2.0, 2.0)), ev(4, (3.0, 3.0)), ev(6, (5.0, 1.0))]
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        b = PopulationFold(cfg)
        for i in order:
            b.add(evs[i])
        pop = b.snapshot(0)
        assert pop.numbers[0] == 6  # #4 is dominated by #2; #6 is the newest non-dominated
        assert sorted(f.number for f in pop.front) == [0, 2, 6]


def test_crowding_distance_known_values() -> None:
    vals = np.array([[0.0, 4.0], [1.0, 2.0], [2.0, 1.0], [4.0, 0.0]])
    d = crowding_distance(vals)
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(2 / 4 + 3 / 4) and d[2] == pytest.approx(3 / 4 + 2 / 4)


def test_leader_tournament_prefers_larger_crowding() -> None:
    cfg = Config.for_cube(2, population_size=4, n_objectives=2)
    b = PopulationFold(cfg)
    for i, v in enumerate([(0.0, 4.0), (1.0, 2.0), (1.1, 1.9), (4.0, 0.0)]):
        b.add(E(i, i, 0, np.array([0.1 * i, 0.5]), v))
    pop = b.snapshot(0)
    rng = np.random.default_rng(0)
    picks = [tuple(pop.leader_position(rng)) for _ in range(400)]
    boundary = sum(p[0] in (0.0, 0.30000000000000004) for p in picks)
    assert boundary > 0.6 * len(picks)  # the two crowded middle points lose most tournaments


def _read(trial: optuna.trial.FrozenTrial) -> tuple[float, float | None, tuple[float, ...]]:
    """A trial's constraints as the fold sees them: violation, margin (the largest) and values."""
    ev = Evaluation(trial.number, Proposal(np.zeros(1), 0, 0, "init"), (1.0,), *trial_constraints(trial))
    return ev.violation, ev.margin, ev.constraints


def test_violation_reads_new_and_legacy_constraints() -> None:
    t = optuna.trial.create_trial(
        params={}, distributions={}, value=1.0, system_attrs={"constraints": [0.5, -1.0]}
    )
    assert trial_violation(t) == 0.5
    study = optuna.create_study()

    def objective(trial: optuna.Trial) -> float:
        trial.set_constraint("size", 2.0)
        trial.set_constraint("speed", -3.0)
        return 0.0

    study.optimize(objective, n_trials=1)
    assert trial_violation(study.trials[0]) == 2.0
    assert _read(study.trials[0])[:2] == (2.0, 2.0) and _read(t)[:2] == (0.5, 0.5)


def test_margin_is_the_largest_signed_constraint() -> None:
    def trial(constraints: object) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(params={}, distributions={}, value=1.0, system_attrs={"constraints": constraints})

    assert _read(trial([-0.5, -2.0])) == (0.0, -0.5, (-0.5, -2.0))  # feasible, 0.5 inside the tightest
    assert _read(trial([1.0, 3.0])) == (4.0, 3.0, (1.0, 3.0))
    assert _read(trial([float("nan"), -1.0])) == (math.inf, math.inf, (math.inf, -1.0))
    assert _read(trial(["x", 1.0])) == (math.inf, math.inf, (math.inf, 1.0))  # not a number
    assert _read(optuna.trial.create_trial(params={}, distributions={}, value=1.0)) == (0.0, None, ())


def test_constraint_values_come_in_the_order_of_their_names() -> None:
    """Each constraint keeps its column of the feasibility model (G6b) whatever order a storage
    returns a trial's system attrs in."""

    def trial(attrs: dict[str, float]) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(params={}, distributions={}, value=1.0, system_attrs=attrs)

    a = trial({"constraints:mem": 2.0, "constraints:acc": -1.0})
    b = trial({"constraints:acc": -1.0, "constraints:mem": 2.0})
    assert _read(a) == _read(b) == (2.0, 2.0, (-1.0, 2.0))


# -- studies ----------------------------------------------------------------------------------


def zdt1(trial: optuna.Trial, dim: int = 5) -> tuple[float, float]:
    """ZDT1 (Zitzler, Deb & Thiele 2000), written from its definition; front f2 = 1 - sqrt(f1)."""
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(dim)])
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(x[1:].sum()) / (dim - 1)
    return f1, g * (1.0 - np.sqrt(f1 / g))


def hypervolume(study: optuna.Study, ref: np.ndarray) -> float:
    vals = np.array([t.values for t in study.best_trials])
    vals = vals[(vals <= ref).all(axis=1)]
    return float(compute_hypervolume(vals, ref)) if len(vals) else 0.0


def test_zdt1_hypervolume_beats_random() -> None:
    ref = np.array([1.1, 11.0])
    whale, rnd = [], []
    for seed in range(5):
        s = optuna.create_study(directions=["minimize", "minimize"], sampler=WhaleSampler(seed=seed))
        s.optimize(zdt1, n_trials=200)
        whale.append(hypervolume(s, ref))
        r = optuna.create_study(
            directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=seed)
        )
        r.optimize(zdt1, n_trials=200)
        rnd.append(hypervolume(r, ref))
    assert np.median(whale) > np.median(rnd)


def test_mixed_directions_and_three_objectives_rebuild_from_storage() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float, float]:
        x = trial.suggest_float("x", -2, 2)
        k = trial.suggest_categorical("k", ["a", "b"])
        return x**2, -((x - 1) ** 2), float(k == "a")

    sampler = WhaleSampler(seed=0, population_size=4)
    study = optuna.create_study(directions=["minimize", "maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=40)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert all(read_tag(t) is not None for t in study.trials[1:])
    pop = sampler.population(study)
    assert pop.front and all(np.all((f.x >= 0) & (f.x <= 1)) for f in pop.front)
    best = {t.number for t in study.best_trials}
    assert {f.number for f in pop.front} == best  # same front as Optuna's best_trials


@pytest.mark.parametrize("directions", [["minimize"], ["minimize", "minimize"]])
def test_constraints_half_infeasible_best_trials_are_feasible(directions: list[str]) -> None:
    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
        trial.set_constraint("x0_nonpositive", float(x[0]))  # half the box is infeasible
        f = float(((x - 1.0) ** 2).sum())
        return f if len(directions) == 1 else (f, float(((x + 1.0) ** 2).sum()))

    sampler = WhaleSampler(seed=0)
    study = optuna.create_study(directions=directions, sampler=sampler)
    study.optimize(objective, n_trials=150)
    best = [study.best_trial] if len(directions) == 1 else study.best_trials
    assert best and all(t.params["x0"] <= 0 for t in best)
    pop = sampler.population(study)
    if len(directions) == 1:
        leader = pop.leader
        assert leader is not None and pop.violations[leader] == 0.0
        assert study.best_value < 1.0 + 0.3  # optimum is 1.0 at x = (0, 1, 1)
    else:
        assert all(f.violation == 0.0 for f in pop.front)
    # the whales learn where the feasible half is: the optimum lies on its boundary, so later
    # trials straddle it, and the infeasible ones stay close (uniform: median x0 = 2.5)
    late = [t.params["x0"] for t in study.trials[75:]]
    assert np.median([x for x in late if x > 0] or [0.0]) < 1.0
    assert sum(x <= 0 for x in late) >= 0.25 * len(late)


@pytest.mark.parametrize("model", ["gp", "quadratic"])
def test_the_violation_term_keeps_infeasible_trials_near_the_boundary(monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    """(G6-G7) and (Q6): with the feasibility model in the screen's score, the later infeasible
    trials stay close to the feasible half's boundary; without it (no PF, or weight 0) they
    stray further."""
    import optuna_whale.core.screen as screen

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
        trial.set_constraint("x0_nonpositive", float(x[0]))
        return float(((x - 1.0) ** 2).sum())

    def straying() -> float:
        medians = []
        for seed in range(3):
            study = optuna.create_study(sampler=WhaleSampler(seed=seed, screen_model=model))
            study.optimize(objective, n_trials=150)
            medians.append(np.median([t.params["x0"] for t in study.trials[75:] if t.params["x0"] > 0]))
        return float(np.median(medians))

    with_term = straying()
    if model == "gp":
        monkeypatch.setattr(screen, "feasibility_gp", lambda *args: None)
    else:
        monkeypatch.setattr(screen, "VIOLATION_WEIGHT", 0.0)
    without = straying()
    assert with_term < 0.5 * without, (with_term, without)


def test_constraints_func_is_accepted_like_optunas_samplers() -> None:
    """Code written for TPE/NSGA-II/GP passes ``constraints_func``: swapping the sampler is one
    word, with Optuna's deprecation warning, and the constraints reach the population."""

    def constraints(trial: optuna.trial.FrozenTrial) -> tuple[float]:
        return (trial.params["x"] - 1.0,)  # feasible when x <= 1

    def objective(trial: optuna.Trial) -> float:
        return -trial.suggest_float("x", -3, 3)  # unconstrained optimum at x = 3

    for make in (optuna.samplers.TPESampler, WhaleSampler):
        with pytest.warns(FutureWarning, match="constraints_func"):
            sampler = make(seed=0, constraints_func=constraints)
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=40)
        assert all(len(t.constraints) == 1 for t in study.trials)
    feasible = [t for t in study.trials if t.params["x"] <= 1.0]
    best = min(feasible, key=lambda t: t.value)
    pop = WhaleSampler(seed=0).population(study)
    leader = pop.incumbents[pop.leader]  # type: ignore[index]
    assert leader is not None and leader.feasible and leader.number == best.number
    with pytest.raises(ValueError, match="constraints_func"):
        WhaleSampler(constraints_func=42)  # type: ignore[arg-type]
