"""What the algorithm reads and writes: a proposal, an evaluation, and their order.

A :class:`Proposal` says where whale ``slot`` of ``cycle`` goes and by which move; it is what a
trial's storage tag records (:mod:`optuna_whale.storage_layout`). An :class:`Evaluation` is a
finished proposal with its values: the one record the fold, the leader and the ask/tell
optimiser all use. All values are *minimised* (the adapter negates maximised objectives).

Order (single objective), smaller is better (:meth:`Evaluation.key`)::

    key(e) = (V, f if V = 0 else 0, -number)                                        (O1)

with ``V = sum_k max(0, c_k)`` the total constraint violation: feasible beats infeasible, the
smaller violation wins among infeasible evaluations, the smaller value among feasible ones, and
the newer evaluation wins ties. With ``m > 1`` objectives, ``a`` dominates ``b`` (Deb's
constrained dominance)::

    V_a < V_b,  or  V_a = V_b and f_a <= f_b in every objective and < in one          (O2)

and the NSGA-II crowding distance of front member ``i`` is::

    CD_i = sum_j (f_j[i+1] - f_j[i-1]) / (f_j[max] - f_j[min])   (boundary points: inf)   (O3)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "Evaluation",
    "Frame",
    "Proposal",
    "crowding_distance",
    "dominates",
    "non_dominated_with",
]


class Frame(enum.IntEnum):
    """The coordinates a move was drawn in (stored as the tag's ``basis`` number)."""

    NONE = -1  #: no move (a design point, a restart, an untagged trial)
    AXES = 0  #: the cube's own axes
    EIGEN = 1  #: the eigenbasis of the elite's covariance


@dataclass(frozen=True)
class Proposal:
    """Where whale ``slot`` of ``cycle`` goes next, and by which move.

    ``generation`` is the cycle's ``g = E_c / N_c`` when it was drawn, ``parent`` the trial number
    of the incumbent the move started from (-1: none), ``number`` the ask's number in the
    stand-alone optimiser (-1 in a study, where the trial number is the number).
    """

    x: np.ndarray
    slot: int
    cycle: int
    move: str
    generation: float = 0.0
    parent: int = -1
    frame: Frame = Frame.NONE
    number: int = -1

    def at(self, slot: int, cycle: int) -> Proposal:
        return replace(self, slot=slot, cycle=cycle)

    def at_position(self, x: np.ndarray) -> Proposal:
        return replace(self, x=x)


@dataclass(frozen=True)
class Evaluation:
    """A finished proposal: minimisation ``values`` (one per objective), the total constraint
    violation ``sum_k max(0, c_k)`` (0 when feasible), and the signed constraint values
    ``constraints``: every ``c_k``, or only the largest where only that is known (empty where
    unknown: the violation stands in)."""

    number: int
    proposal: Proposal
    values: tuple[float, ...]
    violation: float = 0.0
    constraints: tuple[float, ...] = ()
    _key: tuple[float, float, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # (O1), computed once: the fold sorts by it many times
        key = (self.violation, self.values[0] if self.violation <= 0.0 else 0.0, -self.number)
        object.__setattr__(self, "_key", key)

    @property
    def x(self) -> np.ndarray:
        return self.proposal.x

    @property
    def slot(self) -> int:
        return self.proposal.slot

    @property
    def cycle(self) -> int:
        return self.proposal.cycle

    @property
    def value(self) -> float:
        return self.values[0]

    @property
    def feasible(self) -> bool:
        return self.violation <= 0.0

    @property
    def margin(self) -> float | None:
        """The largest constraint value ``max_k c_k`` (<= 0 when feasible; None where unknown)."""
        return max(self.constraints) if self.constraints else None

    @property
    def constraint(self) -> float:
        """The signed constraint value the feasibility model (G6) fits: ``margin``, or the
        violation where the margin is unknown."""
        margin = self.margin
        return self.violation if margin is None else margin

    def key(self) -> tuple[float, float, int]:
        """Single-objective total order (O1), smaller is better."""
        return self._key

    def better_than(self, other: Evaluation) -> bool:
        """Single objective: strictly earlier in the order (O1) (ties go to the newer one)."""
        return self._key < other._key

    def at(self, slot: int, cycle: int) -> Evaluation:
        return replace(self, proposal=self.proposal.at(slot, cycle))


def dominates(a: Evaluation, b: Evaluation) -> bool:
    """Constrained Pareto dominance (O2)."""
    if a.violation != b.violation:
        return a.violation < b.violation
    va, vb = a.values, b.values
    return all(x <= y for x, y in zip(va, vb, strict=True)) and any(
        x < y for x, y in zip(va, vb, strict=True)
    )


def non_dominated_with(front: list[Evaluation], ev: Evaluation) -> list[Evaluation]:
    """Non-dominated subset of ``front + [ev]`` (a set function: independent of order)."""
    if any(dominates(f, ev) for f in front):
        return front
    return [f for f in front if not dominates(ev, f)] + [ev]


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance (O3) of each row of ``values`` (n, m)."""
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
