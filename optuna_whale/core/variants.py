"""Variants: which moves, and which machinery around them.

A :class:`Variant` bundles a move strategy (:mod:`optuna_whale.core.moves`) with the policies
that make the rest of the algorithm. The *default* variant is the improved algorithm: greedy
replacement, stagnation and collapse restarts, surrogate screening, whales that sit where they
were evaluated on grids, and no repeated configuration on discrete spaces. The *canonical*
variant is Mirjalili & Lewis (2016) exactly: a whale always moves to its newest position, cycles
end only when their schedule does (the paper's ``T`` must come from somewhere), no screening,
raw positions. The ablation variants keep every default policy and replace only the moves
(``moves="gaussian" | "de" | "uniform"``), to measure what the whale moves contribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from optuna_whale.core.moves import (
    CanonicalWhaleMoves,
    DifferentialMoves,
    GaussianMoves,
    Moves,
    UniformMoves,
    WhaleMoves,
)

__all__ = ["MOVES", "VARIANTS", "Variant", "variant_for"]


@dataclass(frozen=True)
class Variant:
    """The move strategy and the policies around it."""

    name: str
    moves: Moves
    #: a whale moves only to a position at least as good as its incumbent (else: to its newest)
    greedy: bool = True
    #: cycles also end on stagnation and on collapse (:func:`~optuna_whale.core.schedule.cycle_is_done`)
    restarts_on_stagnation: bool = True
    #: candidate moves are screened by the surrogate (:mod:`optuna_whale.core.screen`)
    screens: bool = True
    #: on grids and categoricals a proposal is snapped to the point that is evaluated
    sits_where_evaluated: bool = True
    #: on a discrete space, configurations already tried are not proposed again
    avoids_tried: bool = True
    #: categoricals are resampled after each move, (C1) of :mod:`optuna_whale.core.moves`
    resamples_categoricals: bool = True


#: Move strategies of the default machinery, by name (``WhaleSampler(moves=...)``).
MOVES: dict[str, Moves] = {
    "whale": WhaleMoves(),
    "gaussian": GaussianMoves(),
    "de": DifferentialMoves(),
    "uniform": UniformMoves(),
}

DEFAULT = Variant("default", MOVES["whale"])
CANONICAL = Variant(
    "canonical",
    CanonicalWhaleMoves(),
    greedy=False,
    restarts_on_stagnation=False,
    screens=False,
    sits_where_evaluated=False,
    avoids_tried=False,
    resamples_categoricals=False,
)
VARIANTS = ("default", "canonical")


def variant_for(variant: str, moves: str = "whale") -> Variant:
    """The variant named ``variant`` with the default machinery's moves replaced by ``moves``."""
    if variant == "canonical":
        return CANONICAL
    if moves == "whale":
        return DEFAULT
    return Variant(f"default+{moves}", MOVES[moves])
