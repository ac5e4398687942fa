"""The next proposal: cycle advance, slot choice, the move, screening, untried configurations.

:func:`next_proposal` is the algorithm's one entry point, used by ``WhaleSampler`` and by the
stand-alone :class:`~optuna_whale.core.optimizer.WhaleOptimizer`:

1. end the current cycle if :func:`~optuna_whale.core.schedule.cycle_is_done` says so;
2. choose a slot (:func:`choose_slot`);
3. an empty slot gets its design point (a respawn after a failed start gets a move from a random
   occupied whale instead, so failures and pruning never stall the population); in cycle 0 only
   the first ``n_0`` slots have one (S7 of :mod:`optuna_whale.core.schedule`), and the others
   are filled, once those are taken, by screened moves of random occupied whales;
4. an occupied slot gets ``K`` candidate moves from the variant's strategy (categoricals
   resampled, (C1)), and the surrogate
   (:mod:`optuna_whale.core.screen`) keeps the best; on grids and categoricals candidates are
   scored, and proposed, at the point that is evaluated (``snap``);
5. on a discrete space a proposal whose configuration was already tried is redrawn, then
   perturbed (:func:`avoid_tried`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import numpy as np

from optuna_whale.core.fold import Population
from optuna_whale.core.moves import Step, local_steps, reflect, resample_categoricals
from optuna_whale.core.records import Proposal
from optuna_whale.core.schedule import cycle_is_done, design_point
from optuna_whale.core.screen import screen_surrogate
from optuna_whale.core.settings import LOCAL_SCALE, Config

__all__ = ["PopulationSource", "avoid_tried", "choose_slot", "next_proposal", "propose"]

#: Redraws of a proposal that decodes to an already tried configuration.
MAX_REDRAWS = 16

Snap = Callable[[np.ndarray], np.ndarray]
Tried = Callable[[np.ndarray], bool]


class PopulationSource(Protocol):
    """Where the population comes from: a study's trials, or the optimiser's own tells."""

    def snapshot(self) -> Population:
        """The population of the current cycle."""
        ...

    def open_cycle(self, cycle: int) -> None:
        """Make ``cycle`` the current one (the proposal being made is its first)."""
        ...


def choose_slot(pop: Population, rng: np.random.Generator, design: int) -> tuple[int, bool]:
    """The slot for the next trial, and whether it needs an initial point.

    An empty slot with no live trial first (a never-tried one of the first ``design`` slots
    first, then the fewest attempts); otherwise an occupied
    slot with the fewest live trials, then the fewest attempts; remaining ties are broken at
    random (so that workers sampling at the same instant rarely collide). One worker therefore
    visits the slots round-robin, and ``R`` concurrent workers put at most ``ceil(R / N_c)``
    live trials on a slot, more only when two of them pick before either has written its tag.
    """
    occ = pop.occupied
    empty_free = np.flatnonzero(~occ & (pop.running == 0))
    if empty_free.size:  # never-tried slots (their design point) before failed ones
        planned = empty_free[(pop.attempts[empty_free] == 0) & (empty_free < design)]
        if planned.size:
            return int(rng.choice(planned)), True
        fewest = empty_free[pop.attempts[empty_free] == pop.attempts[empty_free].min()]
        return int(rng.choice(fewest)), True
    cand = np.flatnonzero(occ)
    if cand.size == 0:  # every slot empty and busy: more workers than whales at start-up
        least = np.flatnonzero(pop.running == pop.running.min())
        return int(rng.choice(least)), True
    keys = pop.running[cand] * (pop.attempts.max() + 1) + pop.attempts[cand]
    best = cand[keys == keys.min()]
    return int(rng.choice(best)), False


def propose(
    pop: Population,
    config: Config,
    rng: np.random.Generator,
    design_seed: int,
    snap: Snap | None = None,
    accept: Callable[[np.ndarray], bool] | None = None,
) -> Proposal:
    """Steps 2-4 of the module docstring for ``pop`` (the current cycle's population).

    ``accept`` (default: all) rejects candidates before screening; if it rejects every
    candidate, the screen chooses among all of them."""
    variant = config.variant

    def moves(p: Population, i: int, c: Config, r: np.random.Generator) -> Step:
        step = variant.moves(p, i, c, r)
        if variant.resamples_categoricals and c.categorical_blocks:
            step = step._replace(x=resample_categoricals(step.x, c, r))  # (C1)
        return step

    design = config.design_size(pop.cycle, pop.size)
    slot, initial = choose_slot(pop, rng, design)
    if initial:
        if pop.attempts[slot] == 0 and slot < design:
            x = design_point(design_seed, pop.cycle, design, slot, config.dim)  # (S7)
        elif pop.occupied.any():
            # respawn, or a slot of cycle 0 beyond its design (S7): the whale enters from a
            # random occupied whale's position by a move (screened where it is a first entry)
            partner = int(rng.choice(np.flatnonzero(pop.occupied)))
            if pop.attempts[slot] == 0:
                step = _screened(pop, partner, config, rng, moves, snap, accept)
            else:
                step = moves(pop, partner, config, rng)
            return Proposal(
                np.asarray(step.x, dtype=float), slot, pop.cycle, step.move, pop.generation,
                parent=int(pop.numbers[partner]), frame=step.frame,
            )
        else:  # nothing evaluated yet in this cycle: a fresh uniform point
            x = rng.random(config.dim)
        return Proposal(x, slot, pop.cycle, "init" if pop.cycle == 0 else "restart", pop.generation)
    step = _screened(pop, slot, config, rng, moves, snap, accept)
    return Proposal(
        np.asarray(step.x, dtype=float), slot, pop.cycle, step.move, pop.generation,
        parent=int(pop.numbers[slot]), frame=step.frame,
    )


def _screened(
    pop: Population, whale: int, config: Config, rng: np.random.Generator,
    moves: Callable[[Population, int, Config, np.random.Generator], Step],
    snap: Snap | None, accept: Callable[[np.ndarray], bool] | None,
) -> Step:
    """Step 4: ``K`` candidate moves of whale ``whale``, the surrogate's best (without a
    surrogate, the first drawn); in a constrained study with ``constrained_local_candidates``,
    that many (L1) candidates around the best ranked point besides."""
    step = moves(pop, whale, config, rng)
    if config.screening:
        model = screen_surrogate(
            pop.ranked, pop.recent, pop.recent_violations, config.screen_model, pop.recent_constraints
        )
        if model is not None:
            constrained = pop.recent.shape[0] > 0
            k = config.candidates(constrained=constrained)
            steps = [step] + [moves(pop, whale, config, rng) for _ in range(k - 1)]
            if constrained and config.constrained_local_candidates and pop.ranked.shape[0] >= 3:  # a spread
                steps += local_steps(pop.ranked, config.constrained_local_candidates, LOCAL_SCALE, rng)
            points = [s.x if snap is None else snap(s.x) for s in steps]
            scores = model(np.array(points))
            if accept is not None:
                ok = np.array([accept(p) for p in points])
                if ok.any():
                    scores = np.where(ok, scores, np.inf)
            best = int(np.argmin(scores))
            step = steps[best]._replace(x=points[best])
    return step


def avoid_tried(
    proposal: Proposal, untried: Callable[[np.ndarray], bool], redraw: Callable[[], Proposal],
    rng: np.random.Generator,
) -> Proposal:
    """A proposal whose configuration was tried (``untried(x)`` false) is redrawn (a fresh
    move, up to ``MAX_REDRAWS`` times), then perturbed: ``x + U(-w, w)^d`` reflected into the
    cube, with ``w = k / MAX_REDRAWS`` growing to 1 over ``k = 1 .. MAX_REDRAWS`` attempts (a
    converged population still finds the untried cells next to it). If every attempt was
    tried already (a nearly exhausted space), the last one is used."""
    for _ in range(MAX_REDRAWS):
        if untried(proposal.x):
            return proposal
        proposal = redraw()
    base = proposal.x
    for k in range(1, MAX_REDRAWS + 1):
        if untried(proposal.x):
            break
        w = k / MAX_REDRAWS
        proposal = replace(proposal, x=reflect(base + rng.uniform(-w, w, size=base.shape)))
    return proposal


def next_proposal(
    source: PopulationSource,
    config: Config,
    rng: np.random.Generator,
    design_seed: int,
    snap: Snap | None = None,
    tried: Tried | None = None,
) -> Proposal:
    """The next point to evaluate (steps 1-5 of the module docstring).

    ``snap`` maps a cube point to the point really evaluated (grid cell centre, one-hot vertex;
    pass it for spaces with grids or categoricals) and ``tried`` tells whether a point's
    configuration was already evaluated or is running (pass it for discrete spaces); the
    variant decides whether to use them.
    """
    pop = source.snapshot()
    if pop.occupied.any() and cycle_is_done(pop, config):
        source.open_cycle(pop.cycle + 1)
        pop = source.snapshot()
    variant = config.variant
    snap = snap if variant.sits_where_evaluated else None
    accept = None
    if tried is not None and config.avoid_duplicates and variant.avoids_tried:
        def accept(x: np.ndarray) -> bool:
            return not tried(x)

    def draw() -> Proposal:
        return propose(pop, config, rng, design_seed, snap=snap, accept=accept)

    proposal = draw()
    if accept is not None:
        proposal = avoid_tried(proposal, accept, draw, rng)
    if snap is not None:  # a whale sits where it was evaluated
        proposal = replace(proposal, x=snap(proposal.x))
    return proposal
