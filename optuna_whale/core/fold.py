"""The population, folded from evaluations in any order.

A *cycle* ``c`` has ``N_c`` whale *slots*; every evaluation belongs to one ``(cycle, slot)``.

Greedy replacement (default variant). Single objective: a slot's incumbent is its best
evaluation by the order (O1) of :mod:`optuna_whale.core.records` (ties to the newer one), so a
whale moves only to a position at least as good as its own::

    I_k = argmin_{e in slot k} key(e)                                                    (F1)

Several objectives: the incumbent is the *newest* evaluation of the slot that no other
evaluation of the slot dominates (O2): a non-dominated newcomer replaces the incumbent, a
dominated one does not::

    I_k = newest of { e in slot k : no e' in slot k dominates e }                        (F2)

Canonical variant: ``I_k`` is the slot's newest evaluation (no greedy selection).

"Best of a set" and "non-dominated subset of a set" do not depend on the order in which results
arrive, so workers that see the same evaluations rebuild the same population, whatever order
they finished in. The leader ``X*`` is the best incumbent of the cycle (single objective); with
several objectives the *front* is the non-dominated set of all evaluations, and every move draws
its own ``X*`` from it by a binary tournament on crowding distance (O3) (the larger wins, ties to
the newer), which spreads the whales along the front.

Restarts keep the best: slot 0 of cycle ``c > 0`` holds the best evaluation of the earlier
cycles (several objectives: the earlier front member of largest crowding distance); nothing is
re-evaluated. A failed trial (exception, NaN, dead worker) frees its slot and counts an attempt.
Evaluations the algorithm did not propose (enqueued, ``add_trial``, start-up trials) are
*untagged*: they join a cycle in slot ``number mod N_c`` and compete like proposed ones.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optuna_whale.core.records import Evaluation, crowding_distance, non_dominated_with
from optuna_whale.core.screen import ranked_size
from optuna_whale.core.settings import Config

__all__ = ["Population", "PopulationFold"]


@dataclass
class _CycleRecord:
    size: int
    incumbent: dict[int, Evaluation] = field(default_factory=dict)
    slot_front: dict[int, list[Evaluation]] = field(default_factory=dict)
    finished_numbers: list[int] = field(default_factory=list)
    finished_per_slot: dict[int, int] = field(default_factory=dict)
    failed_per_slot: dict[int, int] = field(default_factory=dict)
    best: Evaluation | None = None
    #: the cycle's best evaluations in the order (O1), as many as the elite and the screen need
    ranked: list[Evaluation] = field(default_factory=list)
    #: the cycle's newest evaluations (by trial number), feasible or not: what the screen's
    #: feasibility model (Q5) is fitted to
    recent: list[Evaluation] = field(default_factory=list)


@dataclass
class Population:
    """The state a move is computed from: cycle ``cycle``'s slots as the evaluations left them.

    ``incumbents[k]`` is slot ``k``'s incumbent (None where the slot has none yet), ``positions``
    and ``numbers`` its position and trial number (NaN / -1 where empty); ``running[k]`` counts
    live trials of the slot, ``attempts[k]`` every trial ever given to it in this cycle
    (finished, failed or running). ``elite`` holds the positions of the best ``max(2d, N_c)``
    evaluations (for the eigenbasis, (W5)), ``ranked`` those the surrogate is fitted to, best
    first (empty when screening does not apply), ``front`` the non-dominated set of every
    evaluation so far (several objectives only) with its crowding distances.
    """

    cycle: int
    size: int
    incumbents: list[Evaluation | None]
    positions: np.ndarray
    numbers: np.ndarray
    running: np.ndarray
    attempts: np.ndarray
    n_finished: int
    n_since_improvement: int
    elite: np.ndarray
    ranked: np.ndarray
    best: Evaluation | None
    front: list[Evaluation] = field(default_factory=list)
    front_crowding: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: the cycle's newest evaluations, their constraint violations and their signed constraint
    #: values, ``(n, m)``: every constraint's where each evaluation has the same ``m >= 2`` (G6b),
    #: else one column of :attr:`Evaluation.constraint`; for the screen's feasibility model (Q5,
    #: G6); empty unless the study is constrained and screened
    recent: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    recent_violations: np.ndarray = field(default_factory=lambda: np.empty(0))
    recent_constraints: np.ndarray = field(default_factory=lambda: np.empty((0, 1)))
    #: values derived from this snapshot once and reused by every move drawn from it (the
    #: eigenbasis of (W5)); never part of the population's state
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def occupied(self) -> np.ndarray:
        return self.numbers >= 0

    @property
    def values(self) -> np.ndarray:
        """Each incumbent's first objective value (NaN where the slot is empty)."""
        return np.array([np.nan if e is None else e.value for e in self.incumbents])

    @property
    def violations(self) -> np.ndarray:
        """Each incumbent's constraint violation (0 where the slot is empty)."""
        return np.array([0.0 if e is None else e.violation for e in self.incumbents])

    @property
    def leader(self) -> int | None:
        """Slot of the best incumbent by (O1), or None when empty."""
        best: int | None = None
        for k, ev in enumerate(self.incumbents):
            if ev is not None:
                current = self.incumbents[best] if best is not None else None
                if current is None or ev.better_than(current):
                    best = k
        return best

    def leader_position(self, rng: np.random.Generator) -> np.ndarray:
        """``X*``: the leader's position, or a front member by a crowding tournament."""
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


def _constraint_columns(probe: list[Evaluation]) -> np.ndarray:
    """The feasibility model's targets, one row per evaluation: every constraint value ``c_k``
    where each evaluation has the same number (>= 2) of them (G6b), else the largest one."""
    m = len(probe[0].constraints) if probe else 0
    if m > 1 and all(len(e.constraints) == m for e in probe):
        return np.array([e.constraints for e in probe], dtype=float)
    return np.array([e.constraint for e in probe], dtype=float).reshape(len(probe), 1)


class PopulationFold:
    """Folds evaluations into per-cycle populations; the result does not depend on their order.

    ``add`` / ``add_failure`` may be called in any order and at any time; ``snapshot`` gives the
    :class:`Population` of a cycle given the trials still running. This is what lets many
    workers that read the same storage agree on one population without talking to each other.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cycles: dict[int, _CycleRecord] = {}
        self._front: list[Evaluation] = []
        self._constrained = False  # an infeasible evaluation was seen

    def _cycle(self, cycle: int) -> _CycleRecord:
        if cycle < 0:
            raise ValueError(f"cycle must be >= 0, got {cycle}.")
        if cycle not in self._cycles:
            self._cycles[cycle] = _CycleRecord(size=self.config.cycle_size(cycle))
        return self._cycles[cycle]

    @property
    def max_cycle(self) -> int:
        return max(self._cycles, default=0)

    def _ranked_capacity(self, size: int) -> int:
        """The elite ``max(2 d, N_c)``, or, with screening, the surrogate's points (Q4)."""
        k = max(2 * self.config.dim, size)
        if self.config.screening:
            k = max(k, ranked_size(self.config.dim))
        return k

    def _place(
        self,
        incumbents: dict[int, Evaluation],
        fronts: dict[int, list[Evaluation]],
        ev: Evaluation,
        slot: int,
    ) -> None:
        current = incumbents.get(slot)
        if not self.config.variant.greedy:
            if current is None or ev.number > current.number:
                incumbents[slot] = ev
        elif self.config.multi_objective:
            front = non_dominated_with(fronts.get(slot, []), ev)
            fronts[slot] = front
            incumbents[slot] = max(front, key=lambda e: e.number)  # (F2)
        elif current is None or ev.better_than(current):  # (F1)
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
        if self.config.multi_objective:
            self._front = non_dominated_with(self._front, ev)
            return
        if cyc.best is None or ev.better_than(cyc.best):
            cyc.best = ev
        capacity = self._ranked_capacity(cyc.size)
        if len(cyc.ranked) < capacity or ev.better_than(cyc.ranked[-1]):
            bisect.insort(cyc.ranked, ev, key=Evaluation.key)
            del cyc.ranked[capacity:]
        if self.config.screening:
            bisect.insort(cyc.recent, ev, key=lambda e: -e.number)
            del cyc.recent[ranked_size(self.config.dim):]

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
            if c < cycle and cyc.best is not None and (best is None or cyc.best.better_than(best)):
                best = cyc.best
        return best

    def _carried(self, cycle: int, front: list[Evaluation], crowding: np.ndarray) -> Evaluation | None:
        """What slot 0 of a restarted cycle keeps (module docstring)."""
        if cycle == 0:
            return None
        if not self.config.multi_objective:
            return self.best_before(cycle)
        earlier = [(crowding[i], f.number, f) for i, f in enumerate(front) if f.cycle < cycle]
        return max(earlier, key=lambda t: (t[0], t[1]))[2] if earlier else None

    def snapshot(
        self,
        cycle: int,
        running: Sequence[tuple[int, int]] = (),
        untagged: Sequence[Evaluation] = (),
    ) -> Population:
        """Population of ``cycle``.

        ``running`` holds ``(cycle, slot)`` of live trials; ``untagged`` the evaluations the
        algorithm did not propose that belong to ``cycle`` (each competes for slot
        ``number mod N_c``).
        """
        cfg = self.config
        multi = cfg.multi_objective
        cyc = self._cycles.get(cycle) or _CycleRecord(size=cfg.cycle_size(cycle))
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
        ranked = list(cyc.ranked)
        recent = list(cyc.recent)
        finished = list(cyc.finished_numbers)
        front = list(self._front)
        for ev in untagged:
            slot = ev.slot % n
            ev = ev.at(slot, cycle)
            self._place(incumbents, fronts, ev, slot)
            if multi:
                front = non_dominated_with(front, ev)
            else:
                if best is None or ev.better_than(best):
                    best = ev
                ranked.append(ev)
                recent.append(ev)
            bisect.insort(finished, ev.number)
            attempts[slot] += 1
        crowding = (
            crowding_distance(np.array([f.values for f in front], dtype=float))
            if front
            else np.empty(0)
        )
        carried = self._carried(cycle, front, crowding)
        if carried is not None:
            self._place(incumbents, fronts, carried, 0)  # elitism: slot 0 keeps the best so far
            if not multi:
                if best is None or carried.better_than(best):
                    best = carried
                ranked.append(carried)
            attempts[0] += 1

        slots: list[Evaluation | None] = [incumbents.get(k) for k in range(n)]
        positions = np.full((n, cfg.dim), np.nan)
        numbers = np.full(n, -1, dtype=int)
        for slot, ev in incumbents.items():
            positions[slot] = ev.x
            numbers[slot] = ev.number
        k_elite = max(2 * cfg.dim, n)
        if multi:
            elite_evs = sorted(front, key=lambda e: -e.number)[:k_elite]
            newest = max((f.number for f in front), default=-1)
        else:
            ranked.sort(key=Evaluation.key)
            elite_evs = ranked[:k_elite]
            newest = best.number if best is not None else -1
        elite = np.array([e.x for e in elite_evs]) if elite_evs else np.empty((0, cfg.dim))
        constrained = self._constrained or any(e.violation > 0 for e in untagged)
        screened = cfg.screening and not multi
        kept = ranked[: self._ranked_capacity(n)] if screened else []
        ranked_x = np.array([e.x for e in kept]) if kept else np.empty((0, cfg.dim))
        # the feasibility model's points: only once something was infeasible
        probe = sorted(recent, key=lambda e: -e.number)[: ranked_size(cfg.dim)] if screened and constrained else []
        recent_x = np.array([e.x for e in probe]) if probe else np.empty((0, cfg.dim))
        recent_v = np.array([e.violation for e in probe], dtype=float)
        recent_c = _constraint_columns(probe)
        own = [num for num in finished if carried is None or num != carried.number]
        since = len(own) - bisect.bisect_right(own, newest)
        return Population(
            cycle=cycle,
            size=n,
            incumbents=slots,
            positions=positions,
            numbers=numbers,
            running=run,
            attempts=attempts,
            n_finished=len(own),
            n_since_improvement=since,
            elite=elite,
            ranked=ranked_x,
            recent=recent_x,
            recent_violations=recent_v,
            recent_constraints=recent_c,
            best=best,
            front=front if multi else [],
            front_crowding=crowding if multi else np.empty(0),
        )
