"""``WhaleOptimizer``: the algorithm as a plain ask/tell optimiser on ``[0, 1]^d`` (no Optuna)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from optuna_whale.core.fold import Population, PopulationFold
from optuna_whale.core.propose import next_proposal
from optuna_whale.core.records import Evaluation, Proposal
from optuna_whale.core.settings import WhaleSettings

__all__ = ["WhaleOptimizer"]


class WhaleOptimizer:
    """The whale algorithm as an ask/tell optimiser on ``[0, 1]^dim`` (minimisation).

    >>> opt = WhaleOptimizer(dim=2, seed=0)
    >>> for _ in range(100):
    ...     p = opt.ask()
    ...     opt.tell(p, float(((p.x - 0.3) ** 2).sum()))
    >>> opt.best_value < 1e-2
    True

    Asks may be told in any order, or never (call :meth:`forget` for a lost evaluation): the
    same rules that let Optuna workers share one population apply. ``settings`` are the fields
    of :class:`~optuna_whale.core.settings.WhaleSettings`.
    """

    def __init__(self, dim: int, seed: int | None = None, n_objectives: int = 1, **settings: Any) -> None:
        self.config = WhaleSettings(**settings).resolve(dim, n_objectives=n_objectives)
        self._rng = np.random.default_rng(seed)
        self._design_seed = int(self._rng.integers(2**31 - 1))
        self._fold = PopulationFold(self.config)
        self._running: dict[int, tuple[int, int]] = {}
        self._number = 0
        self._cycle = 0
        self.best_x: np.ndarray | None = None
        self.best_value = math.inf

    # the population source of next_proposal
    def snapshot(self) -> Population:
        return self._fold.snapshot(self._cycle, list(self._running.values()))

    def open_cycle(self, cycle: int) -> None:
        self._cycle = cycle
        self._fold.touch(cycle)

    def population(self) -> Population:
        """The current cycle's population."""
        return self.snapshot()

    def ask(self) -> Proposal:
        prop = replace(next_proposal(self, self.config, self._rng, self._design_seed), number=self._number)
        self._running[self._number] = (prop.cycle, prop.slot)
        self._number += 1
        return prop

    def tell(
        self, proposal: Proposal, value: float | Sequence[float], violation: float = 0.0,
        margin: float | None = None, constraints: Sequence[float] | None = None,
    ) -> None:
        """Report the (minimisation) value(s) of an ask, its constraint violation
        ``sum_k max(0, c_k)`` and optionally its largest constraint value ``max_k c_k`` (the
        feasibility model's target; without it the violation stands in). Or give every
        constraint value ``c_k`` (feasible when all are ``<= 0``) as ``constraints``: the
        violation and the largest value are taken from them, and with two or more each
        constraint gets its own feasibility model (G6b)."""
        self._running.pop(proposal.number, None)
        if isinstance(value, (int, float, np.floating, np.integer)):
            values: tuple[float, ...] = (float(value),)
        else:
            values = tuple(float(v) for v in value)
        cons = () if constraints is None else tuple(float(c) for c in constraints)
        if cons:
            violation = sum(max(c, 0.0) for c in cons)
        elif margin is not None:
            cons = (float(margin),)
        if any(math.isnan(v) for v in values + cons) or math.isnan(violation):
            self._fold.add_failure(proposal.cycle, proposal.slot)
            return
        self._fold.add(Evaluation(proposal.number, proposal, values, max(violation, 0.0), cons))
        if len(values) == 1 and violation <= 0 and values[0] < self.best_value:
            self.best_value, self.best_x = values[0], np.array(proposal.x)

    def forget(self, proposal: Proposal) -> None:
        """The evaluation is lost: free the slot as a failure."""
        self.tell(proposal, math.nan)
