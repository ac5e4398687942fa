"""The numpy whale core: equations, fold, schedule, moves, screen (no Optuna)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from optuna_whale.core import (
    Config,
    Evaluation,
    Population,
    PopulationFold,
    Proposal,
    WhaleOptimizer,
    WhaleSettings,
)
from optuna_whale.core.moves import local_steps, reflect
from optuna_whale.core.propose import propose
from optuna_whale.core.schedule import (
    cycle_is_done,
    default_cycle_generations,
    default_population_size,
    latin_hypercube,
)
from optuna_whale.core.screen import feasibility_gp, gp_surrogate, rank_surrogate, screen_surrogate
from optuna_whale.core.settings import LOCAL_CANDIDATES, LOCAL_SCALE


def E(number: int, slot: int, cycle: int, x: np.ndarray, values: tuple[float, ...], violation: float = 0.0) -> Evaluation:
    """An evaluation of ``(cycle, slot)`` at ``x``."""
    return Evaluation(number, Proposal(np.asarray(x, dtype=float), slot, cycle, "init"), values, violation)



def test_reflect_folds_back_into_cube() -> None:
    x = np.array([-0.25, 1.25, 0.5, 2.5, -1.75, 1.0, 0.0])
    np.testing.assert_allclose(reflect(x), [0.25, 0.75, 0.5, 0.5, 0.25, 1.0, 0.0])


def test_latin_hypercube_one_point_per_stratum() -> None:
    pts = latin_hypercube(7, 3, np.random.default_rng(0))
    assert pts.shape == (7, 3)
    for j in range(3):
        assert sorted(np.floor(pts[:, j] * 7).astype(int)) == list(range(7))


def test_defaults() -> None:
    assert default_population_size(1) == 11
    assert default_population_size(5) == 15
    assert default_population_size(20) == 40
    assert default_population_size(200) == 100
    assert default_cycle_generations(5, 10) == 25
    assert default_cycle_generations(1, 10) == 10


def test_population_counts_parameters_not_one_hot_coordinates() -> None:
    # six 5-way categoricals: a 30-dimensional cube, but six decisions
    cfg = Config.for_cube(30, n_params=6)
    assert cfg.dim == 30
    assert cfg.population_size == default_population_size(6) == 16
    assert cfg.cycle_generations == default_cycle_generations(6, 16)
    assert Config.for_cube(30).population_size == default_population_size(30) == 60
    assert Config.for_cube(4, n_params=9).population_size == default_population_size(4)  # capped at dim


def test_initial_design_defaults() -> None:
    """(S7): ``d + 3`` design points at one or two continuous parameters with the GP screen and
    one objective; elsewhere the whole first population; a user's value is capped at ``N_0``."""
    two = Config.for_cube(2)
    assert (two.population_size, two.initial_design) == (12, 5)
    assert Config.for_cube(1).initial_design == 4
    assert two.design_size(0, 12) == 5 and two.design_size(1, 12) == 12  # later cycles: all
    for cfg in (
        Config.for_cube(3),  # three parameters
        Config.for_cube(2, screen_model="quadratic"),
        Config.for_cube(2, n_objectives=2),  # no screening with several objectives
        WhaleSettings().resolve(2, discrete=True),
    ):
        assert cfg.initial_design == cfg.population_size
    assert Config.for_cube(5, initial_design=4).initial_design == 4
    assert Config.for_cube(5, initial_design=99).initial_design == default_population_size(5)


def test_first_cycle_beyond_its_design_enters_by_moves_of_the_evaluated() -> None:
    """With ``n_0 < N_0`` the first ``n_0`` asks are a Latin hypercube of ``n_0`` points and
    the other slots of cycle 0 get moves whose parents are evaluated whales."""
    opt = WhaleOptimizer(dim=2, seed=3)
    n0, size = opt.config.initial_design, opt.config.population_size
    asks = []
    for _ in range(size):
        p = opt.ask()
        asks.append(p)
        opt.tell(p, float(((p.x - 0.7) ** 2).sum()))
    design = np.array([p.x for p in asks[:n0]])
    assert [p.move for p in asks[:n0]] == ["init"] * n0
    assert sorted(p.slot for p in asks[:n0]) == list(range(n0))
    for j in range(2):  # one point per stratum of n_0
        assert sorted(np.floor(design[:, j] * n0).astype(int)) == list(range(n0))
    rest = asks[n0:]
    assert sorted(p.slot for p in rest) == list(range(n0, size))
    assert all(p.move in ("search", "encircle", "spiral") for p in rest)
    assert all(p.parent is not None and 0 <= p.parent < p.number for p in rest)
    full = WhaleOptimizer(dim=2, seed=3, initial_design=size)
    assert [full.ask().move for _ in range(size)] == ["init"] * size


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"population_size": 1}, "population_size"),
        ({"variant": "fancy"}, "variant"),
        ({"eigen_probability": 1.5}, "eigen_probability"),
        ({"population_growth": 0.5}, "population_growth"),
        ({"cycle_generations": 0}, "cycle_generations"),
        ({"initial_design": 0}, "initial_design"),
        ({"initial_design": 2.5}, "initial_design"),
    ],
)
def test_config_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Config.for_cube(3, **kwargs)


def _evaluations(n: int, dim: int, size: int, seed: int) -> list[Evaluation]:
    rng = np.random.default_rng(seed)
    out = []
    for number in range(n):
        x = rng.random(dim)
        value = float(np.round(((x - 0.3) ** 2).sum(), 1))  # rounded: creates ties
        out.append(E(number, number % size, 0, x, (value,)))
    return out


@pytest.mark.parametrize("variant", ["default", "canonical"])
def test_fold_is_order_independent(variant: str) -> None:
    cfg = Config.for_cube(3, population_size=5, variant=variant)
    evs = _evaluations(60, 3, 5, seed=1)
    snaps = []
    for perm_seed in range(4):
        builder = PopulationFold(cfg)
        for i in np.random.default_rng(perm_seed).permutation(len(evs)):
            builder.add(evs[i])
        snaps.append(builder.snapshot(0))
    for s in snaps[1:]:
        np.testing.assert_array_equal(s.numbers, snaps[0].numbers)
        np.testing.assert_array_equal(s.positions, snaps[0].positions)
        np.testing.assert_array_equal(s.elite, snaps[0].elite)
        assert s.n_since_improvement == snaps[0].n_since_improvement


def test_greedy_replacement_keeps_best_and_prefers_newer_on_ties() -> None:
    cfg = Config.for_cube(2, population_size=2)
    b = PopulationFold(cfg)
    b.add(E(0, 0, 0, np.array([0.1, 0.1]), (5.0,)))
    b.add(E(2, 0, 0, np.array([0.2, 0.2]), (7.0,)))  # worse: the whale does not move
    assert b.snapshot(0).numbers[0] == 0
    b.add(E(4, 0, 0, np.array([0.3, 0.3]), (5.0,)))  # as good: the whale moves
    assert b.snapshot(0).numbers[0] == 4


def test_canonical_always_overwrites() -> None:
    cfg = Config.for_cube(2, population_size=2, variant="canonical")
    b = PopulationFold(cfg)
    b.add(E(0, 0, 0, np.array([0.1, 0.1]), (1.0,)))
    b.add(E(2, 0, 0, np.array([0.2, 0.2]), (9.0,)))
    assert b.snapshot(0).numbers[0] == 2


def test_failures_free_slots_and_count_attempts() -> None:
    cfg = Config.for_cube(2, population_size=3)
    b = PopulationFold(cfg)
    b.add_failure(0, 1)
    pop = b.snapshot(0, running=[(0, 2)])
    assert pop.attempts.tolist() == [0, 1, 1]
    assert pop.running.tolist() == [0, 0, 1]
    # slot 0 (never tried, free) gets the design point; slot 1 failed -> next empty free slot
    for seed in range(10):
        prop = propose(pop, cfg, np.random.default_rng(seed), design_seed=3)
        assert prop.slot == 0 and prop.move == "init"


def test_restart_carries_best_into_slot_zero() -> None:
    cfg = Config.for_cube(2, population_size=3, cycle_generations=2)
    b = PopulationFold(cfg)
    for ev in _evaluations(6, 2, 3, seed=0):
        b.add(ev)
    pop0 = b.snapshot(0)
    assert cycle_is_done(pop0, cfg)  # 6 evaluations >= T * N = 6
    b.touch(1)
    pop1 = b.snapshot(1)
    best = b.best_before(1)
    assert best is not None and pop1.numbers[0] == best.number
    assert pop1.n_finished == 0
    prop = propose(pop1, cfg, np.random.default_rng(0), design_seed=1)
    assert prop.move == "restart" and prop.slot in (1, 2)


def test_population_growth_ipop() -> None:
    cfg = Config.for_cube(2, population_size=4, population_growth=2.0)
    assert [cfg.cycle_size(c) for c in range(5)] == [4, 8, 16, 32, 32]


@pytest.mark.parametrize("variant", ["default", "canonical"])
def test_moves_stay_in_cube_and_cover_all_move_kinds(variant: str) -> None:
    cfg = Config.for_cube(4, population_size=6, variant=variant, cycle_generations=50)
    b = PopulationFold(cfg)
    for ev in _evaluations(6, 4, 6, seed=2):
        b.add(ev)
    pop = b.snapshot(0)
    rng = np.random.default_rng(0)
    moves = set()
    for _ in range(400):
        prop = propose(pop, cfg, rng, design_seed=0)
        assert prop.x.shape == (4,)
        assert np.all((prop.x >= 0) & (prop.x <= 1))
        moves.add(prop.move)
    assert moves == {"search", "encircle", "spiral"}


def test_leader_move_is_not_a_duplicate() -> None:
    """The leader's own slot still moves (a partner stands in for the zero difference)."""
    cfg = Config.for_cube(3, population_size=2)
    b = PopulationFold(cfg)
    b.add(E(0, 0, 0, np.array([0.5, 0.5, 0.5]), (0.0,)))
    b.add(E(1, 1, 0, np.array([0.9, 0.1, 0.4]), (1.0,)))
    pop = b.snapshot(0, running=[(0, 1)])
    prop = propose(pop, cfg, np.random.default_rng(0), design_seed=0)
    assert prop.slot == 0
    assert not np.allclose(prop.x, [0.5, 0.5, 0.5])


def _shift_errors(cfg: Config, shift: float = 0.1, seeds: int = 20) -> list[float]:
    """How far, per seed, a proposal from a shifted population is from the shifted proposal."""
    evs = [E(i, i, 0, 0.4 + 0.05 * np.random.default_rng(i).random(3), (float(i),)) for i in range(4)]
    shifted = [E(e.number, e.slot, 0, e.x + shift, e.values) for e in evs]
    errors = []
    for s in range(seeds):
        props = []
        for group in (evs, shifted):
            b = PopulationFold(cfg)
            for e in group:
                b.add(e)
            props.append(propose(b.snapshot(0), cfg, np.random.default_rng(s), design_seed=0))
        errors.append(float(np.max(np.abs(props[1].x - props[0].x - shift))))
    return errors


@pytest.mark.parametrize("moves", ["whale", "gaussian", "de"])
def test_default_moves_are_shift_invariant(moves: str) -> None:
    """Shifting every position shifts the proposal by the same amount (away from the faces)."""
    cfg = Config.for_cube(3, population_size=4, eigen_probability=0.0, moves=moves)
    assert max(_shift_errors(cfg)) < 1e-12


def test_canonical_moves_are_not_shift_invariant() -> None:
    assert max(_shift_errors(Config.for_cube(3, population_size=4, variant="canonical"))) > 1e-3


def test_optimizer_minimises_shifted_sphere_better_than_random() -> None:
    def f(x: np.ndarray) -> float:
        return float(((x - 0.8) ** 2).sum())

    woa, rnd = [], []
    for seed in range(5):
        opt = WhaleOptimizer(dim=5, seed=seed)
        for _ in range(200):
            p = opt.ask()
            opt.tell(p, f(p.x))
        woa.append(opt.best_value)
        rng = np.random.default_rng(seed)
        rnd.append(min(f(rng.random(5)) for _ in range(200)))
    assert np.median(woa) < 0.1 * np.median(rnd)


def test_optimizer_accepts_out_of_order_tells_and_lost_asks() -> None:
    opt = WhaleOptimizer(dim=2, population_size=4, seed=0)
    asks = [opt.ask() for _ in range(8)]
    for p in reversed(asks[1:]):
        opt.tell(p, float((p.x**2).sum()))
    opt.forget(asks[0])
    pop = opt.population()
    assert pop.running.sum() == 0
    assert pop.occupied.sum() == 4


def test_failed_start_respawns_from_an_occupied_whale() -> None:
    """A slot whose start failed (or was pruned) re-enters by a move, not another blind point."""
    cfg = Config.for_cube(2, population_size=3)
    b = PopulationFold(cfg)
    b.add(E(0, 0, 0, np.array([0.2, 0.2]), (1.0,)))
    b.add(E(1, 1, 0, np.array([0.6, 0.4]), (2.0,)))
    b.add_failure(0, 2)
    pop = b.snapshot(0)
    for seed in range(20):
        prop = propose(pop, cfg, np.random.default_rng(seed), design_seed=0)
        assert prop.slot == 2
        assert prop.move in ("search", "encircle", "spiral")
        assert prop.parent in (0, 1)


# -- surrogate screening ---------------------------------------------------------------------


def _rotated_quadratic(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """A rotated 4-d ellipsoid (condition 1e3) with its minimum at 0.3."""
    q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    h = q @ np.diag([1.0, 10.0, 100.0, 1000.0]) @ q.T

    def f(x: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(x) - 0.3
        return np.einsum("ij,jk,ik->i", z, h, z)

    return f


def test_surrogate_ranks_points_of_a_rotated_quadratic() -> None:
    rng = np.random.default_rng(0)
    f = _rotated_quadratic(rng)
    pts = rng.random((60, 4))
    history = pts[np.argsort(f(pts))]  # best first, as the population keeps them
    model = rank_surrogate(history)
    assert model is not None
    test = rng.random((200, 4))
    from scipy.stats import spearmanr

    assert spearmanr(model(test), f(test)).statistic > 0.9
    assert rank_surrogate(history[:5]) is None  # fewer than d + 3 points: no model


def test_gp_screen_ranks_points_of_a_rotated_quadratic_and_needs_only_three() -> None:
    """(G1)-(G5): the GP's mean orders fresh points like the function, and its expected
    improvement picks good ones, also from fewer points than the quadratic needs (d + 3)."""
    rng = np.random.default_rng(0)
    f = _rotated_quadratic(rng)
    from scipy.stats import spearmanr

    pts = rng.random((60, 4))
    history = pts[np.argsort(f(pts))]
    gp, score = gp_surrogate(history), screen_surrogate(history)  # the default model
    assert gp is not None and score is not None
    test = rng.random((200, 4))
    assert spearmanr(gp(test)[0], f(test)).statistic > 0.8
    picked = f(test)[np.argsort(score(test))[:20]]  # the EI's best tenth
    assert np.median(picked) < np.quantile(f(test), 0.2)
    few, few_gp = screen_surrogate(history[:5]), gp_surrogate(history[:5])
    assert few is not None and few_gp is not None and screen_surrogate(history[:5], model="quadratic") is None
    mu_few = few_gp(history[:5])[0]
    assert np.all(np.diff(mu_few) > 0)  # it interpolates the five ranks, best lowest
    assert screen_surrogate(history[:2]) is None
    with pytest.raises(ValueError, match="screen_model"):
        screen_surrogate(history, model="rbf")


def test_gp_expected_improvement_prefers_the_unexplored_over_a_known_bad_point() -> None:
    """(G4)-(G5): at an evaluated point sigma is small, so a known bad point scores worse than
    an unexplored one whose predicted mean is no better; the predicted mean itself is lowest
    at the best point."""
    rng = np.random.default_rng(2)
    x = rng.random((12, 2))
    history = x[np.argsort(np.sum((x - 0.2) ** 2, axis=1))]
    gp = gp_surrogate(history)
    assert gp is not None
    mu, sd = gp(history)
    assert int(np.argmin(mu)) == 0 and np.all(sd < 0.5)
    score = screen_surrogate(history)
    assert score is not None
    worst = history[-1:]
    far = np.array([[0.5 * (history[-1, 0] + history[-2, 0]), 0.999]])  # between bad points, unexplored
    assert gp(far)[1][0] > gp(worst)[1][0]
    assert score(far)[0] < score(worst)[0]


def test_screening_goes_on_in_constrained_studies_with_the_violations() -> None:
    cfg = Config.for_cube(3, population_size=6)
    assert cfg.screen_candidates == 8 and cfg.screen_model == "gp"
    builder = PopulationFold(cfg)
    rng = np.random.default_rng(1)
    for k in range(30):
        builder.add(E(k, k % 6, 0, rng.random(3), (float(rng.random()),)))
    history = builder.snapshot(0).ranked
    assert history.shape[0] == 20  # 2 x (1 + 3 + 6) quadratic terms, best first
    np.testing.assert_array_equal(history[0], builder.snapshot(0).best.x)  # type: ignore[union-attr]
    assert builder.snapshot(0).recent.shape[0] == 0  # no feasibility model while all is feasible
    x_bad = rng.random(3)
    builder.add(E(30, 0, 0, x_bad, (-1.0,), violation=1.0))  # the best value, infeasible
    pop = builder.snapshot(0)
    # screening goes on; the constrained order (O1-O3) keeps the infeasible point out of the
    # 20 ranked ones, and the feasibility model's 20 newest points start with it
    assert pop.ranked.shape[0] == 20 and not any(np.array_equal(p, x_bad) for p in pop.ranked)
    assert pop.recent.shape == (20, 3) and pop.recent_violations.shape == (20,)
    np.testing.assert_array_equal(pop.recent[0], x_bad)
    assert pop.recent_violations[0] == 1.0 and not pop.recent_violations[1:].any()
    canonical = PopulationFold(Config.for_cube(3, population_size=6, variant="canonical"))
    canonical.add(E(0, 0, 0, rng.random(3), (1.0,)))
    assert canonical.snapshot(0).ranked.shape[0] == 0


def test_the_screen_prefers_candidates_it_predicts_feasible() -> None:
    """(Q5)-(Q6): the objective falls towards x0 = 1, but x0 > 0.5 is infeasible; the screen
    ranks a feasible candidate before an infeasible one with a better predicted value."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 2))
    violation = np.maximum(x[:, 0] - 0.5, 0.0)
    value = -x[:, 0]
    order = np.lexsort((value, violation))  # feasible by value, then infeasible by violation
    for model in ("gp", "quadratic"):
        score = screen_surrogate(x[order], x, violation, model=model)
        assert score is not None
        feasible, infeasible = np.array([[0.4, 0.5]]), np.array([[0.9, 0.5]])
        assert score(feasible)[0] < score(infeasible)[0]
        unconstrained = screen_surrogate(x[np.argsort(value)], model=model)
        assert unconstrained is not None and unconstrained(infeasible)[0] < unconstrained(feasible)[0]


def test_the_feasibility_gp_is_calibrated_by_signed_constraints() -> None:
    """(G6)-(G6a): with the largest constraint value ``c = x0 - 0.5`` (negative inside), PF is
    near 1 deep inside the feasible region and near 0 deep outside; from the violations alone
    (0 on every feasible point) it stays near 1/2 inside."""
    rng = np.random.default_rng(3)
    x = rng.random((40, 2))
    c = x[:, 0] - 0.5
    ranked = x[np.argsort(np.maximum(c, 0.0))]
    inside, outside = np.array([[0.1, 0.5]]), np.array([[0.95, 0.5]])
    signed = feasibility_gp(ranked, x, c)
    assert signed is not None
    assert signed(inside)[0] > 0.9 and signed(outside)[0] < 0.1
    violations_only = feasibility_gp(ranked, x, np.maximum(c, 0.0))
    assert violations_only is not None and 0.3 < violations_only(inside)[0] < 0.7
    # a NaN constraint (infinite) is taken as far outside, not as a crash
    c_inf = c.copy()
    c_inf[np.argmax(x[:, 0])] = np.inf
    with_inf = feasibility_gp(ranked, x, c_inf)
    assert with_inf is not None and np.isfinite(with_inf(outside)).all()
    c_neg = c.copy()
    c_neg[np.argmin(x[:, 0])] = -np.inf  # far inside: must not count as outside
    with_neg = feasibility_gp(ranked, x, c_neg)
    assert with_neg is not None and with_neg(inside)[0] > 0.9


def test_the_optimizer_passes_the_margin_to_the_screen() -> None:
    opt = WhaleOptimizer(dim=2, population_size=4, seed=0)
    for _ in range(12):
        p = opt.ask()
        c = float(p.x[0] - 0.5)
        opt.tell(p, float(-p.x[0]), violation=max(c, 0.0), margin=c)
    pop = opt.population()
    assert pop.recent_constraints.shape == (pop.recent_violations.size, 1) and pop.recent_constraints.size > 0
    assert (pop.recent_constraints < 0).any()
    np.testing.assert_array_equal(np.maximum(pop.recent_constraints[:, 0], 0.0), pop.recent_violations)
    p = opt.ask()
    opt.tell(p, -2.0, margin=float("nan"))  # a NaN constraint fails the evaluation, never folds in
    assert opt.best_value > -2.0 and opt.population().recent_constraints.size == pop.recent_constraints.size


def test_each_constraint_gets_its_own_feasibility_model() -> None:
    """(G6b): with ``c_1 = x0 - 0.5`` and ``c_2 = 0.2 - x1`` (feasible: x0 <= 0.5 and x1 >= 0.2)
    PF is the product of one process per constraint: near 1 inside both, near 0 outside either;
    the model of the largest value alone, fitted to the same points, is less sure at the corner
    where the two constraints meet. A constraint with one value everywhere is left out."""
    rng = np.random.default_rng(4)
    x = rng.random((30, 2))
    c = np.stack([x[:, 0] - 0.5, 0.2 - x[:, 1]], axis=1)
    ranked = x[np.argsort(np.maximum(c, 0.0).sum(axis=1))]
    each = feasibility_gp(ranked, x, c)
    assert each is not None
    inside, out_1, out_2 = np.array([[0.2, 0.6]]), np.array([[0.9, 0.6]]), np.array([[0.2, 0.02]])
    assert each(inside)[0] > 0.9 and each(out_1)[0] < 0.1 and each(out_2)[0] < 0.1
    corner = np.array([[0.45, 0.25]])  # inside, near both boundaries
    largest = feasibility_gp(ranked, x, c.max(axis=1))
    assert largest is not None and each(corner)[0] > largest(corner)[0]
    with_constant = feasibility_gp(ranked, x, np.column_stack([c, np.full(30, -1.0)]))
    assert with_constant is not None
    np.testing.assert_allclose(with_constant(np.vstack([inside, out_1, corner])), each(np.vstack([inside, out_1, corner])))


def test_the_fold_keeps_every_constraint_value_where_each_evaluation_has_them_all() -> None:
    opt = WhaleOptimizer(dim=2, population_size=4, seed=0)
    for _ in range(12):
        p = opt.ask()
        opt.tell(p, float(-p.x[0]), constraints=[float(p.x[0] - 0.5), float(0.2 - p.x[1])])
    pop = opt.population()
    assert pop.recent_constraints.shape == (pop.recent_violations.size, 2)
    np.testing.assert_allclose(np.maximum(pop.recent_constraints, 0.0).sum(axis=1), pop.recent_violations)
    p = opt.ask()
    opt.tell(p, -2.0, constraints=[float("nan"), -1.0])  # a NaN constraint fails the evaluation
    assert opt.best_value > -2.0
    p = opt.ask()
    opt.tell(p, 1.0, constraints=[-1.0])  # a different number of constraints: the largest only
    assert opt.population().recent_constraints.shape[1] == 1

def _screening_population() -> Population:
    cfg = Config.for_cube(2, population_size=4, screen_candidates=8)
    builder = PopulationFold(cfg)
    rng = np.random.default_rng(3)
    for k in range(24):
        x = rng.random(2)
        builder.add(E(k, k % 4, 0, x, (float(np.sum((x - 0.5) ** 2)),)))
    return builder.snapshot(0)


def test_screening_scores_and_proposes_snapped_points() -> None:
    pop = _screening_population()
    cfg = Config.for_cube(2, population_size=4, screen_candidates=8)
    assert pop.ranked.shape[0] >= 5

    def snap(x: np.ndarray) -> np.ndarray:  # a 4 x 4 grid: cell centres
        return (np.minimum(np.floor(x * 4), 3) + 0.5) / 4

    for seed in range(20):
        p = propose(pop, cfg, np.random.default_rng(seed), design_seed=0, snap=snap)
        np.testing.assert_allclose(p.x, snap(p.x))


def test_screening_drops_rejected_candidates_unless_all_are() -> None:
    pop = _screening_population()
    cfg = Config.for_cube(2, population_size=4, screen_candidates=8)
    for seed in range(20):
        plain = propose(pop, cfg, np.random.default_rng(seed), design_seed=0)
        # reject exactly the candidate that screening would pick: another one is proposed
        shy = propose(
            pop, cfg, np.random.default_rng(seed), design_seed=0,
            accept=lambda x, bad=plain.x: not np.array_equal(x, bad),
        )
        assert not np.array_equal(shy.x, plain.x)
        # a predicate that rejects all candidates leaves the choice to the surrogate
        none = propose(pop, cfg, np.random.default_rng(seed), design_seed=0, accept=lambda x: False)
        np.testing.assert_array_equal(none.x, plain.x)


def test_local_candidates_only_by_default_in_low_dimensional_continuous_studies() -> None:
    """(L1) candidates: 8 by default at one or two continuous parameters with the GP screen and
    one objective; none elsewhere or where the user sets ``screen_candidates``."""
    assert Config.for_cube(2).constrained_local_candidates == LOCAL_CANDIDATES == 8
    assert Config.for_cube(1).constrained_local_candidates == LOCAL_CANDIDATES
    assert Config.for_cube(3).constrained_local_candidates == 0
    assert Config.for_cube(2, n_objectives=2).constrained_local_candidates == 0
    assert Config.for_cube(2, screen_candidates=8).constrained_local_candidates == 0
    assert Config.for_cube(2, screen_model="quadratic").constrained_local_candidates == 0
    assert WhaleSettings().resolve(2, discrete=True).constrained_local_candidates == 0


def test_local_step_draws_around_the_best_ranked_point_at_a_fifth_of_the_spread() -> None:
    rng = np.random.default_rng(0)
    ranked = np.array([[0.5, 0.4], [0.3, 0.6], [0.7, 0.5], [0.45, 0.2]])
    steps = local_steps(ranked, 4000, LOCAL_SCALE, rng)
    x = np.array([s.x for s in steps])
    assert {s.move for s in steps} == {"local"} and np.all((x >= 0) & (x <= 1))
    np.testing.assert_allclose(x.mean(axis=0), ranked[0], atol=0.01)
    np.testing.assert_allclose(x.std(axis=0), LOCAL_SCALE * ranked.std(axis=0), rtol=0.05)


def _constrained_population(infeasible: bool) -> tuple[Config, Population]:
    cfg = Config.for_cube(2, population_size=4)
    builder = PopulationFold(cfg)
    rng = np.random.default_rng(3)
    for k in range(24):
        x = rng.random(2)
        builder.add(E(k, k % 4, 0, x, (float(np.sum((x - 0.5) ** 2)),)))
    if infeasible:
        builder.add(E(24, 0, 0, np.array([0.9, 0.9]), (-1.0,), violation=1.0))
    return cfg, builder.snapshot(0)


def test_constrained_studies_at_two_parameters_screen_local_candidates() -> None:
    """From the first infeasible trial on, (L1) candidates compete in the screen beside the
    moves and win some trials; before it, and in an unconstrained study, they are not drawn."""
    cfg, pop = _constrained_population(infeasible=True)
    assert pop.recent.shape[0] > 0 and pop.ranked.shape[0] >= 3
    moves = [propose(pop, cfg, np.random.default_rng(seed), design_seed=0) for seed in range(60)]
    local = [p for p in moves if p.move == "local"]
    assert 0 < len(local) < len(moves)
    spread = pop.ranked.std(axis=0)
    for p in local:  # within 5 standard deviations of (L1) around the best point
        assert np.all(np.abs(p.x - pop.ranked[0]) <= 5 * LOCAL_SCALE * spread + 1e-9)
    cfg, pop = _constrained_population(infeasible=False)
    assert pop.recent.shape[0] == 0
    assert all(propose(pop, cfg, np.random.default_rng(seed), design_seed=0).move != "local" for seed in range(60))


# -- ablation moves and categorical resampling ------------------------------------------------


@pytest.mark.parametrize("moves, kinds", [("gaussian", {"gaussian"}), ("de", {"de"}), ("uniform", {"uniform"})])
def test_ablation_moves_stay_in_cube_and_name_themselves(moves: str, kinds: set[str]) -> None:
    cfg = Config.for_cube(4, population_size=6, moves=moves, screen_candidates=1)
    b = PopulationFold(cfg)
    for ev in _evaluations(6, 4, 6, seed=2):
        b.add(ev)
    pop = b.snapshot(0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        prop = propose(pop, cfg, rng, design_seed=0)
        assert np.all((prop.x >= 0) & (prop.x <= 1))
        seen.add(prop.move)
    assert seen == kinds


def test_ablation_needs_the_default_variant() -> None:
    with pytest.raises(ValueError, match="moves"):
        Config.for_cube(3, variant="canonical", moves="de")
    with pytest.raises(ValueError, match="moves"):
        Config.for_cube(3, moves="levy")


def test_categorical_resampling_leaves_a_converged_choice() -> None:
    """(C1): with every whale on choice 0 of a 3-way categorical, difference moves alone never
    propose another choice; resampling does, at about the rate 1 / n_params."""
    from optuna_whale.core import WhaleSettings
    from optuna_whale.core.moves import resample_categoricals

    blocks = ((1, 4),)
    cfg = WhaleSettings(population_size=4, screen_candidates=1).resolve(4, n_params=2, categorical_blocks=blocks)
    rng = np.random.default_rng(0)
    x = np.array([0.3, 0.9, 0.05, 0.05])
    flips = 0
    for _ in range(2000):
        y = resample_categoricals(x, cfg, rng)
        assert y[0] == x[0] and sorted(y[1:]) in ([0.05, 0.05, 0.9], [0.0, 0.0, 1.0])
        flips += int(np.argmax(y[1:]) != 0)
    assert 0.4 < flips / 2000 < 0.6  # n_params = 2
    b = PopulationFold(cfg)
    for k in range(4):
        b.add(E(k, k, 0, np.array([0.1 * k, 1.0, 0.0, 0.0]), (float(k),)))
    pop = b.snapshot(0)
    choices = {int(np.argmax(propose(pop, cfg, rng, design_seed=0).x[1:])) for _ in range(100)}
    assert choices == {0, 1, 2}
    canonical = WhaleSettings(population_size=4, variant="canonical").resolve(4, n_params=2, categorical_blocks=blocks)
    assert canonical.variant.resamples_categoricals is False
