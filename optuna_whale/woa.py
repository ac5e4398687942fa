"""The Whale Optimization Algorithm on the unit cube ``[0, 1]^d``: every equation lives here.

Pure numpy; nothing in this module imports Optuna. :class:`~optuna_whale.WhaleSampler` is a
thin adapter that maps Optuna distributions onto the cube (:mod:`optuna_whale.space`) and keeps
every evaluation in the study's storage (:mod:`optuna_whale.storage`); :class:`WhaleOptimizer`
is the same algorithm as a stand-alone ask/tell optimiser.

All values are *minimised* here (the adapter negates maximised objectives).

Population and greedy replacement
---------------------------------
A *cycle* ``c`` has ``N_c`` whale *slots*. Every evaluation is tagged with ``(cycle, slot)``.
The incumbent of a slot is the best evaluation tagged with it (ties go to the newer one), which
is exactly greedy replacement: a whale moves only to a position at least as good as its own.
Because "best of a set" does not depend on the order in which results arrive, workers that see
the same evaluations rebuild the same population, whatever order those evaluations finished in.
The leader ``X*`` is the best incumbent of the current cycle.

The three moves (default variant: shift-invariant, per-dimension coefficients)
------------------------------------------------------------------------------
With ``g = E_c / N_c`` generations done in the cycle (``E_c`` finished evaluations) and ``T``
generations per cycle::

    a  = 2 (1 - min(g/T, 1))                 (2 -> 0 over a cycle)
    a2 = -1 - min(g/T, 1)                    (-1 -> -2)
    A_j = a (2 r_j - 1),  C_j = 2 r'_j,  l_j = (a2 - 1) r''_j + 1     (drawn per dimension j)

    p <  0.5, |A0| >= 1 :  X' = X_r - A ⊙ |C ⊙ (X_r - X_i)|          search for prey
    p <  0.5, |A0| <  1 :  X' = X* - A ⊙ |C ⊙ (X* - X_i)|            encircling prey
    p >= 0.5            :  X' = X* + |X* - X_i| ⊙ e^(b l) ⊙ cos(2 π l)   bubble-net spiral

``A0 = a (2 r0 - 1)`` is one scalar draw per move that keeps the canonical odds of exploring
(``1 - 1/a`` while ``a > 1``). Only differences of positions appear, so a shifted problem gives a
shifted search (no centre bias). When ``X_i`` is the leader itself the difference would vanish, so
a random partner ``X_r`` stands in for ``X_i`` in the difference.

With probability ``p_e`` a move is taken in the eigenbasis ``B`` of the covariance of the
cycle's elite (the best ``max(2d, N_c)`` evaluations): every difference ``D`` becomes
``B (f(B^T D))`` where ``f`` is the per-coordinate operation above. On a rotated, ill-conditioned
valley the per-coordinate draws then follow the valley's axes. ``p_e = eigen_probability``.

Surrogate screening (default variant)
-------------------------------------
With ``K = screen_candidates > 1`` (default 4) a whale draws ``K`` moves as above and keeps the
one a cheap model ranks best. The model is a ridge-regularised quadratic
``q(z) = w_0 + sum_j w_j z_j + sum_{j<=k} w_jk z_j z_k`` (separable, ``z_j^2`` terms only, above
d = 10) in coordinates ``z = (x - x_best) / s`` (``s``: per-coordinate spread of the points),
fitted by least squares with penalty ``1e-3 n ||w||^2`` to the *ranks* ``r_i = i / n`` of the
cycle's ``n`` best evaluations (``n = min(2 * #terms, 400)``, best first), so only the order of
values matters (invariant to monotone transformations of the objective and to shifts). It needs
``n >= d + 3`` evaluations; until then the first move is taken. Screening adds no evaluation: it
only chooses among moves WOA would have made. It is used for unconstrained single-objective
studies only: a quadratic of the ranks cannot see a feasibility boundary, so once any
evaluation is infeasible (or with several objectives) every move is taken as drawn.
On grids and categoricals the caller passes ``snap`` (:func:`propose`): candidates are scored,
and proposed, at the point that is evaluated (cell centre, one-hot vertex), and ``accept`` drops
configurations already tried before the choice.

Points that leave the cube are *reflected* (``x -> -x``, ``x -> 2 - x``), never clipped: clipping
piles points onto the bounds and flatters problems whose optimum is on a bound.

Budget-free schedule and restarts
---------------------------------
Optuna never tells a sampler ``n_trials``, so ``a`` decays over a *cycle* of ``T`` generations
(default ``T = max(10, ceil(50 d / N_0))``: a cycle lasts about ``50 d`` evaluations). A cycle
ends when ``E_c >= T N_c`` (schedule done), when the cycle's best has not improved for
``S N_c`` evaluations (stagnation; default ``S = max(5, T / 2)``), or when the incumbents have
collapsed (their spread is below ``1e-9`` in every coordinate). The next cycle ``c + 1``

* has ``N_{c+1} = min(round(N_0 g^(c+1)), 8 N_0)`` slots (``g = population_growth``, 1 by
  default; ``g = 2`` is the IPOP rule),
* keeps the best evaluation found so far as the incumbent of slot 0 (elitism: nothing is
  re-evaluated), and
* fills the other slots from a fresh Latin hypercube over the whole cube (a restart *away* from
  the leader), then continues with ``a = 2`` again.

The first cycle starts from a Latin hypercube of ``N_0`` points. A slot whose start failed (an
exception, NaN, or a pruned trial without ``consider_pruned_trials``) is *respawned*: its next
trial is an ordinary move computed from a random occupied whale's position, so failures and
pruning cannot keep the population in its initial design.

Constraints and several objectives
----------------------------------
Every evaluation carries its total constraint violation ``V = sum_k max(0, c_k)`` (0: feasible).
With one objective, evaluations are ordered by ``(V, f if V = 0, -number)``: feasible beats
infeasible, the smaller violation wins among infeasible ones, the smaller value among feasible
ones, and the newer evaluation wins ties. With ``m > 1`` objectives, ``a`` *dominates* ``b`` when
``V_a < V_b``, or ``V_a = V_b`` and ``f_a <= f_b`` in every objective and ``<`` in one
(Deb's constrained dominance). Then

* a slot's incumbent is the newest of its evaluations that no other evaluation of the slot
  dominates (a non-dominated newcomer replaces the incumbent; a dominated one does not),
* the *front* is the non-dominated set of all evaluations, and every move draws its own
  ``X*`` from it by a binary tournament on the NSGA-II crowding distance
  ``CD_i = sum_j (f_j[i+1] - f_j[i-1]) / (f_j[max] - f_j[min])`` (boundary points: infinity; the
  larger distance wins, ties to the newer evaluation), which spreads the whales along the front,
* stagnation counts the evaluations since the newest front member, and a restart keeps the front
  member of largest crowding distance in slot 0.

The canonical variant (Mirjalili & Lewis 2016)
----------------------------------------------
``variant="canonical"`` is the reference algorithm exactly: ``A, C, p, l`` are one scalar per
move; encircling is ``X* - A |C X* - X_i|`` and search is ``X_r - A |C X_r - X_i|`` computed in the
problem's own coordinates (the box passed as ``native_lower``/``native_upper``, which is where the
centre bias lives); positions are clipped to the box; a whale always moves to its newest position
(no greedy selection; the slot's incumbent is its newest evaluation); no eigenbasis and no
stagnation restarts (only the cycle restart, since the paper's ``T`` must come from somewhere).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "MOVES",
    "VARIANTS",
    "Evaluation",
    "Population",
    "PopulationBuilder",
    "Proposal",
    "WOAConfig",
    "WhaleOptimizer",
    "cycle_is_done",
    "default_cycle_generations",
    "default_population_size",
    "latin_hypercube",
    "propose",
    "reflect",
]

VARIANTS = ("default", "canonical")
MOVES = ("init", "restart", "search", "encircle", "spiral")

_COLLAPSE_TOL = 1e-9
_MAX_GROWTH_FACTOR = 8


def default_population_size(dim: int) -> int:
    """``N_0 = min(max(10 + d, 2 d), 100)``: chosen on the BBOB tuning set (instances 1-3,
    budget ``50 d``), where it beat 10 whales at d = 5, 10 and 20 and tied at d = 2
    (``benchmarks/results/tuning/README.md``)."""
    return int(min(max(10 + dim, 2 * dim), 100))


def default_cycle_generations(dim: int, population_size: int) -> int:
    """``T = max(10, ceil(50 d / N_0))``: one cycle lasts about ``50 d`` evaluations."""
    return max(10, math.ceil(50 * dim / population_size))


@dataclass(frozen=True)
class WOAConfig:
    """Settings of the algorithm; see the module docstring for the equations they enter."""

    dim: int
    population_size: int
    cycle_generations: int
    stagnation_generations: int
    variant: str = "default"
    n_objectives: int = 1
    spiral_b: float = 1.0
    eigen_probability: float = 0.5
    population_growth: float = 1.0
    screen_candidates: int = 4
    native_lower: tuple[float, ...] | None = None
    native_upper: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"dim must be >= 1, got {self.dim}.")
        if self.population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {self.population_size}.")
        if self.cycle_generations < 1:
            raise ValueError(f"cycle_generations must be >= 1, got {self.cycle_generations}.")
        if self.stagnation_generations < 1:
            raise ValueError(
                f"stagnation_generations must be >= 1, got {self.stagnation_generations}."
            )
        if self.n_objectives < 1:
            raise ValueError(f"n_objectives must be >= 1, got {self.n_objectives}.")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}.")
        if not 0.0 <= self.eigen_probability <= 1.0:
            raise ValueError(
                f"eigen_probability must be in [0, 1], got {self.eigen_probability}."
            )
        if not self.population_growth >= 1.0:
            raise ValueError(f"population_growth must be >= 1, got {self.population_growth}.")
        if (self.native_lower is None) != (self.native_upper is None):
            raise ValueError("native_lower and native_upper must be given together.")
        if (
            self.native_lower is not None
            and self.native_upper is not None
            and (len(self.native_lower) != self.dim or len(self.native_upper) != self.dim)
        ):
            raise ValueError("native_lower/native_upper must have length dim.")

    @classmethod
    def create(
        cls,
        dim: int,
        population_size: int | None = None,
        cycle_generations: int | None = None,
        stagnation_generations: int | None = None,
        n_params: int | None = None,
        **kwargs: object,
    ) -> WOAConfig:
        """Fill the automatic defaults (``N_0``, ``T``, ``S``) for a ``dim``-dimensional cube.

        ``n_params`` (default ``dim``) is the number of parameters behind the cube: a
        categorical with ``k`` choices takes ``k`` one-hot coordinates but is one decision, so
        ``N_0`` and ``T`` count parameters, not coordinates (6 five-way choices give 16 whales,
        not the 60 of a 30-dimensional cube)."""
        size_dim = dim if n_params is None else max(1, min(n_params, dim))
        n = population_size if population_size is not None else default_population_size(size_dim)
        t = cycle_generations if cycle_generations is not None else default_cycle_generations(size_dim, n)
        s = stagnation_generations if stagnation_generations is not None else max(5, t // 2)
        return cls(dim, n, t, s, **kwargs)  # type: ignore[arg-type]

    def cycle_size(self, cycle: int) -> int:
        """``N_c = min(round(N_0 g^c), 8 N_0)``."""
        size = round(self.population_size * self.population_growth**cycle)
        return int(min(size, _MAX_GROWTH_FACTOR * self.population_size))

    @property
    def canonical(self) -> bool:
        return self.variant == "canonical"


# ---------------------------------------------------------------------------------------------
# Elementary operations
# ---------------------------------------------------------------------------------------------


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold ``x`` back into ``[0, 1]`` by reflection at the faces (period 2)."""
    y = np.mod(x, 2.0)
    return np.where(y > 1.0, 2.0 - y, y)


def latin_hypercube(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1]^dim``: one point per row/column stratum."""
    u = rng.random((n, dim))
    perms = np.argsort(rng.random((n, dim)), axis=0)
    return (perms + u) / n


def design_point(design_seed: int, cycle: int, size: int, slot: int, dim: int) -> np.ndarray:
    """Row ``slot`` of cycle ``cycle``'s Latin hypercube; every worker computes the same one."""
    rng = np.random.default_rng([design_seed, cycle, size, dim])
    return latin_hypercube(size, dim, rng)[slot]


# ---------------------------------------------------------------------------------------------
# The population, rebuilt from evaluations (order-independent fold)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """One finished evaluation: a position of whale ``slot`` in ``cycle``.

    ``values`` are the minimisation objective values (one for a single-objective study) and
    ``violation`` the total constraint violation ``sum_k max(0, c_k)`` (0 when feasible).
    """

    number: int
    slot: int
    cycle: int
    x: np.ndarray
    values: tuple[float, ...]
    violation: float = 0.0
    parent: int = -1
    basis: int = -1

    @property
    def value(self) -> float:
        return self.values[0]

    @property
    def feasible(self) -> bool:
        return self.violation <= 0.0

    def key(self) -> tuple[float, float, int]:
        """Single-objective total order, smaller is better: feasibility first, then the value
        (among infeasible ones the smaller violation), then the newer evaluation."""
        return (self.violation, self.values[0] if self.feasible else 0.0, -self.number)

    def at(self, slot: int, cycle: int) -> Evaluation:
        return replace(self, slot=slot, cycle=cycle)


def dominates(a: Evaluation, b: Evaluation) -> bool:
    """Constrained Pareto dominance (Deb 2000): ``a`` dominates ``b`` if it violates less, or
    violates as much and is no worse in every objective and better in one."""
    if a.violation != b.violation:
        return a.violation < b.violation
    va, vb = a.values, b.values
    return all(x <= y for x, y in zip(va, vb, strict=True)) and any(
        x < y for x, y in zip(va, vb, strict=True)
    )


def _better(a: Evaluation, b: Evaluation) -> bool:
    """Single objective: is ``a`` at least as good as ``b`` (ties go to the newer one)?"""
    return a.key() < b.key()


def _offer_front(front: list[Evaluation], ev: Evaluation) -> list[Evaluation]:
    """Non-dominated subset of ``front + [ev]`` (a set function: independent of order)."""
    if any(dominates(f, ev) for f in front):
        return front
    return [f for f in front if not dominates(ev, f)] + [ev]


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row of ``values`` (n, m); boundary points get inf."""
    n, m = values.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(values[:, j], kind="stable")
        col = values[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0 and np.isfinite(span):
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


@dataclass
class _Cycle:
    size: int
    incumbent: dict[int, Evaluation] = field(default_factory=dict)
    slot_front: dict[int, list[Evaluation]] = field(default_factory=dict)
    finished_numbers: list[int] = field(default_factory=list)
    finished_per_slot: dict[int, int] = field(default_factory=dict)
    failed_per_slot: dict[int, int] = field(default_factory=dict)
    best: Evaluation | None = None
    elite: list[tuple[tuple[float, float, int], Evaluation]] = field(default_factory=list)


@dataclass
class Population:
    """The state a move is computed from: cycle ``cycle``'s slots as the evaluations left them.

    ``positions[k]`` / ``values[k]`` / ``numbers[k]`` are slot ``k``'s incumbent (NaN / NaN / -1
    where the slot has none yet; ``values`` holds the first objective); ``running[k]`` counts live
    trials of the slot, ``attempts[k]`` every trial ever given to it in this cycle (finished,
    failed or running). ``front`` is the non-dominated set of every evaluation so far (multi-
    objective studies only) with its crowding distances.
    """

    cycle: int
    size: int
    positions: np.ndarray
    values: np.ndarray
    numbers: np.ndarray
    running: np.ndarray
    attempts: np.ndarray
    n_finished: int
    n_since_improvement: int
    elite: np.ndarray
    best: Evaluation | None
    violations: np.ndarray
    front: list[Evaluation] = field(default_factory=list)
    front_crowding: np.ndarray = field(default_factory=lambda: np.empty(0))
    history: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def occupied(self) -> np.ndarray:
        return self.numbers >= 0

    @property
    def leader(self) -> int | None:
        """Slot of the best incumbent (single objective: feasibility first, then value, ties to
        the newer evaluation), or None when empty."""
        best: int | None = None
        for k in np.flatnonzero(self.occupied):
            key = (self.violations[k], self.values[k] if self.violations[k] <= 0 else 0.0, -self.numbers[k])
            if best is None or key < (
                self.violations[best],
                self.values[best] if self.violations[best] <= 0 else 0.0,
                -self.numbers[best],
            ):
                best = int(k)
        return best

    def leader_position(self, rng: np.random.Generator) -> np.ndarray:
        """``X*``. Single objective: the leader's position. Multi-objective: a member of the
        non-dominated front chosen by a binary tournament on crowding distance (the larger wins,
        ties to the newer evaluation), which spreads the whales along the front."""
        if not self.front:
            leader = self.leader
            assert leader is not None
            return self.positions[leader]
        i, j = rng.integers(len(self.front), size=2)
        ci, cj = self.front_crowding[i], self.front_crowding[j]
        if (ci, self.front[i].number) < (cj, self.front[j].number):
            i = j
        return self.front[int(i)].x

    @property
    def generation(self) -> float:
        """``g = E_c / N_c``."""
        return self.n_finished / self.size


class PopulationBuilder:
    """Folds evaluations into per-cycle populations; the result does not depend on their order.

    ``add`` / ``add_failure`` may be called in any order and at any time; ``snapshot`` gives the
    :class:`Population` of a cycle given the trials still running. This is what lets many workers
    that read the same storage agree on one population without talking to each other.

    Single objective: a slot's incumbent is its best evaluation by :meth:`Evaluation.key`.
    Multi-objective: it is the *newest* evaluation of the slot that no other evaluation of the
    slot dominates (greedy replacement by Pareto dominance; a non-dominated newcomer replaces
    the incumbent, a dominated one does not). Both are functions of the set of evaluations.
    """

    def __init__(self, config: WOAConfig) -> None:
        self.config = config
        self._cycles: dict[int, _Cycle] = {}
        self._front: list[Evaluation] = []
        self._constrained = False  # an infeasible evaluation was seen: no surrogate screening

    @property
    def multi_objective(self) -> bool:
        return self.config.n_objectives > 1

    def _cycle(self, cycle: int) -> _Cycle:
        if cycle < 0:
            raise ValueError(f"cycle must be >= 0, got {cycle}.")
        if cycle not in self._cycles:
            self._cycles[cycle] = _Cycle(size=self.config.cycle_size(cycle))
        return self._cycles[cycle]

    @property
    def max_cycle(self) -> int:
        return max(self._cycles, default=0)

    def _place(
        self,
        incumbents: dict[int, Evaluation],
        fronts: dict[int, list[Evaluation]],
        ev: Evaluation,
        slot: int,
    ) -> None:
        current = incumbents.get(slot)
        if self.config.canonical:
            if current is None or ev.number > current.number:
                incumbents[slot] = ev
        elif self.multi_objective:
            front = _offer_front(fronts.get(slot, []), ev)
            fronts[slot] = front
            incumbents[slot] = max(front, key=lambda e: e.number)
        elif current is None or _better(ev, current):
            incumbents[slot] = ev

    def add(self, ev: Evaluation) -> None:
        """Fold one finished evaluation (greedy replacement, elite, stagnation bookkeeping)."""
        if len(ev.values) != self.config.n_objectives:
            raise ValueError(
                f"evaluation has {len(ev.values)} values, expected {self.config.n_objectives}."
            )
        cyc = self._cycle(ev.cycle)
        if not 0 <= ev.slot < cyc.size:
            raise ValueError(f"slot {ev.slot} outside cycle {ev.cycle} of size {cyc.size}.")
        if ev.violation > 0:
            self._constrained = True
        bisect.insort(cyc.finished_numbers, ev.number)
        cyc.finished_per_slot[ev.slot] = cyc.finished_per_slot.get(ev.slot, 0) + 1
        self._place(cyc.incumbent, cyc.slot_front, ev, ev.slot)
        if self.multi_objective:
            self._front = _offer_front(self._front, ev)
            return
        if cyc.best is None or _better(ev, cyc.best):
            cyc.best = ev
        k_elite = _stored_elite(self.config, cyc.size)
        entry = (ev.key(), ev)
        if len(cyc.elite) < k_elite or entry[0] < cyc.elite[-1][0]:
            keys = [e[0] for e in cyc.elite]
            cyc.elite.insert(bisect.bisect(keys, entry[0]), entry)
            del cyc.elite[k_elite:]

    def add_failure(self, cycle: int, slot: int) -> None:
        """A failed trial (exception, NaN, dead worker) frees its slot and counts an attempt."""
        cyc = self._cycle(cycle)
        cyc.failed_per_slot[slot] = cyc.failed_per_slot.get(slot, 0) + 1

    def touch(self, cycle: int) -> None:
        """Make ``cycle`` known (a running trial was tagged with it)."""
        self._cycle(cycle)

    def best_before(self, cycle: int) -> Evaluation | None:
        """The best evaluation of all cycles before ``cycle`` (the elite carried into it)."""
        best: Evaluation | None = None
        for c, cyc in self._cycles.items():
            if c < cycle and cyc.best is not None and (best is None or _better(cyc.best, best)):
                best = cyc.best
        return best

    def _carried(self, cycle: int, front: list[Evaluation], crowding: np.ndarray) -> Evaluation | None:
        """What slot 0 of a restarted cycle keeps: the best so far (single objective), or the
        front member of largest crowding distance from earlier cycles (ties to the newer)."""
        if cycle == 0:
            return None
        if not self.multi_objective:
            return self.best_before(cycle)
        earlier = [(crowding[i], f.number, f) for i, f in enumerate(front) if f.cycle < cycle]
        return max(earlier, key=lambda t: (t[0], t[1]))[2] if earlier else None

    def snapshot(
        self,
        cycle: int,
        running: Sequence[tuple[int, int]] = (),
        externals: Sequence[Evaluation] = (),
    ) -> Population:
        """Population of ``cycle``.

        ``running`` holds ``(cycle, slot)`` of live trials. ``externals`` are evaluations the
        algorithm did not propose (enqueued, added, start-up trials) that belong to ``cycle``;
        an external one competes for slot ``number mod N_c`` like a proposed one.
        """
        cfg = self.config
        cyc = self._cycles.get(cycle) or _Cycle(size=cfg.cycle_size(cycle))
        n = cyc.size
        attempts = np.zeros(n, dtype=int)
        for slot, count in cyc.finished_per_slot.items():
            attempts[slot] += count
        for slot, count in cyc.failed_per_slot.items():
            if 0 <= slot < n:
                attempts[slot] += count
        run = np.zeros(n, dtype=int)
        for c, slot in running:
            if c == cycle and 0 <= slot < n:
                run[slot] += 1
                attempts[slot] += 1

        incumbents = dict(cyc.incumbent)
        fronts = {k: list(v) for k, v in cyc.slot_front.items()}
        best = cyc.best
        elite = list(cyc.elite)
        finished = list(cyc.finished_numbers)
        front = list(self._front)
        for ev in externals:
            slot = ev.slot % n
            ev = ev.at(slot, cycle)
            self._place(incumbents, fronts, ev, slot)
            if self.multi_objective:
                front = _offer_front(front, ev)
            else:
                if best is None or _better(ev, best):
                    best = ev
                elite.append((ev.key(), ev))
            bisect.insort(finished, ev.number)
            attempts[slot] += 1
        crowding = (
            crowding_distance(np.array([f.values for f in front], dtype=float))
            if front
            else np.empty(0)
        )
        carried = self._carried(cycle, front, crowding)
        if carried is not None:
            # elitism: slot 0 of a restarted cycle holds the best point found so far
            self._place(incumbents, fronts, carried, 0)
            if not self.multi_objective:
                if best is None or _better(carried, best):
                    best = carried
                elite.append((carried.key(), carried))
            attempts[0] += 1

        positions = np.full((n, cfg.dim), np.nan)
        values = np.full(n, np.nan)
        violations = np.zeros(n)
        numbers = np.full(n, -1, dtype=int)
        for slot, ev in incumbents.items():
            positions[slot] = ev.x
            values[slot] = ev.value
            violations[slot] = ev.violation
            numbers[slot] = ev.number
        k_elite = max(2 * cfg.dim, n)
        if self.multi_objective:
            elite_evs = sorted(front, key=lambda e: -e.number)[:k_elite]
            newest = max((f.number for f in front), default=-1)
        else:
            elite.sort(key=lambda e: e[0])
            elite_evs = [e[1] for e in elite[:k_elite]]
            newest = best.number if best is not None else -1
        elite_x = np.array([e.x for e in elite_evs]) if elite_evs else np.empty((0, cfg.dim))
        if self.multi_objective or cfg.screen_candidates <= 1 or cfg.canonical or self._constrained or any(
            e.violation > 0 for e in externals
        ):
            history = np.empty((0, cfg.dim))
        else:
            ranked = [e[1] for e in elite[: _stored_elite(cfg, n)]]
            history = np.array([e.x for e in ranked]) if ranked else np.empty((0, cfg.dim))
        own = [num for num in finished if carried is None or num != carried.number]
        since = len(own) - bisect.bisect_right(own, newest)
        return Population(
            cycle=cycle,
            size=n,
            positions=positions,
            values=values,
            numbers=numbers,
            running=run,
            attempts=attempts,
            n_finished=len(own),
            n_since_improvement=since,
            elite=elite_x,
            history=history,
            best=best,
            violations=violations,
            front=front if self.multi_objective else [],
            front_crowding=crowding if self.multi_objective else np.empty(0),
        )



# ---------------------------------------------------------------------------------------------
# Schedule and moves
# ---------------------------------------------------------------------------------------------


def cycle_is_done(pop: Population, config: WOAConfig) -> bool:
    """End of cycle: schedule done, stagnation (default variant) or collapse (module docstring)."""
    if pop.n_finished >= config.cycle_generations * pop.size:
        return True
    if config.canonical:
        return False
    if pop.n_since_improvement >= config.stagnation_generations * pop.size:
        return True
    occ = pop.occupied
    if occ.sum() == pop.size and pop.n_finished >= pop.size:
        spread = np.ptp(pop.positions[occ], axis=0)
        if np.all(spread < _COLLAPSE_TOL):
            return True
    return False


@dataclass(frozen=True)
class Proposal:
    """Where whale ``slot`` of ``cycle`` goes next, and by which move."""

    x: np.ndarray
    slot: int
    cycle: int
    move: str
    generation: float
    number: int = -1
    parent: int = -1
    basis: int = -1


def _choose_slot(pop: Population, rng: np.random.Generator) -> tuple[int, bool]:
    """Pick the slot for the next trial; returns ``(slot, needs_initial_point)``.

    Rule: an empty slot with no live trial first (the fewest attempts first); otherwise an occupied slot with the fewest
    live trials, then the fewest attempts; remaining ties are broken at random (so that workers
    sampling at the same instant rarely collide). One worker therefore visits the slots
    round-robin, and ``R`` concurrent workers put at most ``ceil(R / N_c)`` live trials on a slot,
    more only when two of them pick before either has written its tag (a race the storage cannot
    prevent; the only cost is two proposals from one whale, and greedy replacement keeps the
    better one).
    """
    occ = pop.occupied
    empty_free = np.flatnonzero(~occ & (pop.running == 0))
    if empty_free.size:  # never-tried slots (their design point) before failed ones
        fewest = empty_free[pop.attempts[empty_free] == pop.attempts[empty_free].min()]
        return int(rng.choice(fewest)), True
    cand = np.flatnonzero(occ)
    if cand.size == 0:  # every slot empty and busy: more workers than whales at start-up
        least = np.flatnonzero(pop.running == pop.running.min())
        return int(rng.choice(least)), True
    keys = pop.running[cand] * (pop.attempts.max() + 1) + pop.attempts[cand]
    best = cand[keys == keys.min()]
    return int(rng.choice(best)), False


def _stored_elite(config: WOAConfig, size: int) -> int:
    """Evaluations kept ranked per cycle: the elite ``max(2 d, N_c)``, or, with screening, enough
    for the quadratic surrogate (``2 (d + 1)(d + 2) / 2`` points, at most 400)."""
    k = max(2 * config.dim, size)
    if config.screen_candidates > 1 and not config.canonical:
        d = config.dim
        terms = (d + 1) * (d + 2) // 2 if d <= _FULL_QUADRATIC_MAX_DIM else 1 + 2 * d
        k = max(k, min(2 * terms, 400))
    return k


#: Largest cube dimension with a full quadratic surrogate (66 terms at d = 10); above it the
#: surrogate is separable (``1 + 2 d`` terms) to keep a trial's overhead in milliseconds.
_FULL_QUADRATIC_MAX_DIM = 10


def _quadratic_features(z: np.ndarray) -> np.ndarray:
    """``[1, z_j, z_j z_k (j <= k)]`` (full) or ``[1, z_j, z_j^2]`` (separable, d > 10)."""
    d = z.shape[1]
    if d > _FULL_QUADRATIC_MAX_DIM:
        return np.hstack([np.ones((z.shape[0], 1)), z, z * z])
    iu = np.triu_indices(d)
    quad = (z[:, :, None] * z[:, None, :])[:, iu[0], iu[1]]
    return np.hstack([np.ones((z.shape[0], 1)), z, quad])


def _surrogate(history: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """A ridge-regularised quadratic fitted to the *ranks* of the cycle's best evaluations
    (``history`` is sorted best first), in coordinates centred on the best point and scaled by
    the spread; predicts a rank-like score (lower is better)."""
    n, d = history.shape
    if n < d + 3:
        return None
    centre = history[0]
    scale = history.std(axis=0) + 1e-12
    phi = _quadratic_features((history - centre) / scale)
    target = np.arange(n, dtype=float) / n
    lam = 1e-3 * n
    # einsum rather than ``@``: these matrices are small, and BLAS threads on a busy machine
    # (other workers, other trials) cost far more than the arithmetic
    a = np.einsum("ij,ik->jk", phi, phi) + lam * np.eye(phi.shape[1])
    try:
        w = np.linalg.solve(a, np.einsum("ij,i->j", phi, target))
    except np.linalg.LinAlgError:
        return None
    return lambda x: np.einsum("ij,j->i", _quadratic_features((np.atleast_2d(x) - centre) / scale), w)


def _eigenbasis(elite: np.ndarray, dim: int) -> np.ndarray | None:
    if elite.shape[0] < 2:
        return None
    centred = elite - elite.mean(axis=0)
    cov = centred.T @ centred / elite.shape[0]
    cov += 1e-20 * np.eye(dim)
    if not np.all(np.isfinite(cov)):
        return None
    _, vecs = np.linalg.eigh(cov)
    return vecs


def _partner(pop: Population, i: int, rng: np.random.Generator) -> int | None:
    others = np.flatnonzero(pop.occupied)
    others = others[others != i]
    if others.size == 0:
        return None
    return int(rng.choice(others))


def _move_default(
    pop: Population, i: int, config: WOAConfig, rng: np.random.Generator
) -> tuple[np.ndarray, str, int]:
    d = config.dim
    frac = min(pop.generation / config.cycle_generations, 1.0)
    a = 2.0 * (1.0 - frac)
    a2 = -1.0 - frac
    x_star = pop.leader_position(rng)
    x_i = pop.positions[i]
    r = _partner(pop, i, rng)
    basis = None
    if config.eigen_probability > 0 and rng.random() < config.eigen_probability:
        basis = _eigenbasis(pop.elite, d)
    used = 0 if basis is None else 1

    def to_local(v: np.ndarray) -> np.ndarray:
        return v if basis is None else basis.T @ v

    def to_global(v: np.ndarray) -> np.ndarray:
        return v if basis is None else basis @ v

    def difference(ref: np.ndarray) -> np.ndarray:
        diff = ref - x_i
        if np.max(np.abs(diff)) < 1e-15 and r is not None:
            diff = pop.positions[r] - x_i  # X_i is the reference itself: use a partner
        if np.max(np.abs(diff)) < 1e-15:
            diff = 1e-3 * rng.standard_normal(d)
        return diff

    if rng.random() < 0.5:
        a0 = a * (2.0 * rng.random() - 1.0)
        if abs(a0) >= 1.0 and r is not None:
            ref, move = pop.positions[r], "search"
        else:
            ref, move = x_star, "encircle"
        big_a = a * (2.0 * rng.random(d) - 1.0)
        big_c = 2.0 * rng.random(d)
        step = to_global(-big_a * np.abs(big_c * to_local(difference(ref))))
        return reflect(ref + step), move, used
    ell = (a2 - 1.0) * rng.random(d) + 1.0
    spiral = np.exp(config.spiral_b * ell) * np.cos(2.0 * np.pi * ell)
    step = to_global(np.abs(to_local(difference(x_star))) * spiral)
    return reflect(x_star + step), "spiral", used


def _move_canonical(
    pop: Population, i: int, config: WOAConfig, rng: np.random.Generator
) -> tuple[np.ndarray, str, int]:
    lo = np.zeros(config.dim) if config.native_lower is None else np.asarray(config.native_lower)
    hi = np.ones(config.dim) if config.native_upper is None else np.asarray(config.native_upper)
    width = hi - lo

    def native(x: np.ndarray) -> np.ndarray:
        return lo + x * width

    frac = min(pop.generation / config.cycle_generations, 1.0)
    a = 2.0 * (1.0 - frac)
    a2 = -1.0 - frac
    z_star = native(pop.leader_position(rng))
    z_i = native(pop.positions[i])
    r1, r2 = rng.random(), rng.random()
    big_a = 2.0 * a * r1 - a
    big_c = 2.0 * r2
    ell = (a2 - 1.0) * rng.random() + 1.0
    p = rng.random()
    if p < 0.5:
        if abs(big_a) >= 1.0:
            occ = np.flatnonzero(pop.occupied)
            z_r = native(pop.positions[int(rng.choice(occ))])
            z_new, move = z_r - big_a * np.abs(big_c * z_r - z_i), "search"
        else:
            z_new, move = z_star - big_a * np.abs(big_c * z_star - z_i), "encircle"
    else:
        dist = np.abs(z_star - z_i)
        z_new = dist * np.exp(config.spiral_b * ell) * np.cos(2.0 * np.pi * ell) + z_star
        move = "spiral"
    safe = np.where(width > 0, width, 1.0)
    return np.clip((z_new - lo) / safe, 0.0, 1.0), move, 0


def propose(
    pop: Population,
    config: WOAConfig,
    rng: np.random.Generator,
    design_seed: int,
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
    accept: Callable[[np.ndarray], bool] | None = None,
) -> Proposal:
    """The next point to evaluate for ``pop`` (which must be the current cycle's population).

    ``snap`` maps a cube point to the point that will really be evaluated (grid cell centre,
    one-hot vertex; default: the point itself): surrogate screening scores the snapped
    candidates and proposes the chosen one snapped, so a whale's position is the point that
    was evaluated and the surrogate is fitted where it predicts. ``accept`` (default: all)
    rejects candidates before screening, for example a configuration that was already
    evaluated on a discrete space; if it rejects every candidate, the screening runs on all of
    them."""
    slot, initial = _choose_slot(pop, rng)
    mover = _move_canonical if config.canonical else _move_default
    if initial:
        if pop.attempts[slot] == 0:
            x = design_point(design_seed, pop.cycle, pop.size, slot, config.dim)
        elif pop.occupied.any():
            # Respawn: this slot's start failed (or was pruned). Rather than another blind
            # point, the whale re-enters from a random occupied whale's position by an ordinary
            # move, so failures and pruning never stall the population in its initial design.
            partner = int(rng.choice(np.flatnonzero(pop.occupied)))
            x, move, basis = mover(pop, partner, config, rng)
            parent = int(pop.numbers[partner])
            return Proposal(
                np.asarray(x, dtype=float), slot, pop.cycle, move, pop.generation, parent=parent, basis=basis
            )
        else:  # nothing evaluated yet in this cycle: a fresh uniform point
            x = rng.random(config.dim)
        move = "init" if pop.cycle == 0 else "restart"
        return Proposal(x, slot, pop.cycle, move, pop.generation)
    x, move, basis = mover(pop, slot, config, rng)
    if config.screen_candidates > 1 and not config.canonical:
        model = _surrogate(pop.history)
        if model is not None:
            cands = [(x, move, basis)] + [mover(pop, slot, config, rng) for _ in range(config.screen_candidates - 1)]
            points = [c[0] if snap is None else snap(c[0]) for c in cands]
            scores = model(np.array(points))
            if accept is not None:
                ok = np.array([accept(p) for p in points])
                if ok.any():
                    scores = np.where(ok, scores, np.inf)
            best = int(np.argmin(scores))
            x, move, basis = points[best], cands[best][1], cands[best][2]
    parent = int(pop.numbers[slot])
    return Proposal(
        np.asarray(x, dtype=float), slot, pop.cycle, move, pop.generation, parent=parent, basis=basis
    )


# ---------------------------------------------------------------------------------------------
# Stand-alone ask/tell optimiser
# ---------------------------------------------------------------------------------------------


class WhaleOptimizer:
    """WOA as a plain ask/tell optimiser on ``[0, 1]^dim`` (minimisation), no Optuna needed.

    >>> opt = WhaleOptimizer(dim=2, seed=0)
    >>> for _ in range(100):
    ...     p = opt.ask()
    ...     opt.tell(p, float(((p.x - 0.3) ** 2).sum()))
    >>> opt.best_value < 1e-2
    True

    Asks may be told in any order, or never (call :meth:`forget` for a lost evaluation): the
    same rules that let Optuna workers share one population apply.
    """

    def __init__(
        self,
        dim: int,
        population_size: int | None = None,
        seed: int | None = None,
        variant: str = "default",
        **config_kwargs: object,
    ) -> None:
        self.config = WOAConfig.create(
            dim, population_size, variant=variant, **config_kwargs  # type: ignore[arg-type]
        )
        self._rng = np.random.default_rng(seed)
        self._design_seed = int(self._rng.integers(2**31 - 1))
        self._builder = PopulationBuilder(self.config)
        self._running: dict[int, tuple[int, int]] = {}
        self._number = 0
        self._cycle = 0
        self.best_x: np.ndarray | None = None
        self.best_value = math.inf

    def population(self) -> Population:
        return self._builder.snapshot(self._cycle, list(self._running.values()))

    def ask(self) -> Proposal:
        pop = self.population()
        if cycle_is_done(pop, self.config):
            self._cycle += 1
            self._builder.touch(self._cycle)
            pop = self.population()
        prop = replace(propose(pop, self.config, self._rng, self._design_seed), number=self._number)
        self._running[self._number] = (prop.cycle, prop.slot)
        self._number += 1
        return prop

    def tell(
        self, proposal: Proposal, value: float | Sequence[float], violation: float = 0.0
    ) -> None:
        """Report the (minimisation) value(s) of an ask and its constraint violation (>= 0)."""
        number = proposal.number
        self._running.pop(number, None)
        if isinstance(value, (int, float, np.floating, np.integer)):
            values: tuple[float, ...] = (float(value),)
        else:
            values = tuple(float(v) for v in value)
        if any(math.isnan(v) for v in values) or math.isnan(violation):
            self._builder.add_failure(proposal.cycle, proposal.slot)
            return
        ev = Evaluation(
            number,
            proposal.slot,
            proposal.cycle,
            np.array(proposal.x),
            values,
            max(violation, 0.0),
            proposal.parent,
            proposal.basis,
        )
        self._builder.add(ev)
        if len(values) == 1 and violation <= 0 and values[0] < self.best_value:
            self.best_value, self.best_x = values[0], np.array(proposal.x)

    def forget(self, proposal: Proposal) -> None:
        """The evaluation is lost: free the slot as a failure."""
        self.tell(proposal, math.nan)
