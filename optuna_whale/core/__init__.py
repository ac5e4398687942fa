"""The whale algorithm on the unit cube ``[0, 1]^d``: pure numpy, no Optuna.

Where each part lives (equations are labelled in each module's docstring and cited at the line
that computes them):

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``settings``       :class:`WhaleSettings` (validated once) and the resolved :class:`Config`
``records``        :class:`Proposal`, :class:`Evaluation`, their order and Pareto dominance (O1-O3)
``fold``           the population folded from evaluations in any order: greedy replacement,
                   leader, front, elitism across restarts (F1, F2)
``schedule``       the budget-free cycle schedule, its coefficients, its end, its design (S1-S6)
``moves``          the move strategies: whale (W1-W6), canonical WOA (W7-W9), the ablation
                   moves gaussian, DE and uniform (A1-A3), categorical resampling (C1)
``variants``       the default and canonical variants: moves plus the policies around them
``screen``         surrogate screening of candidate moves: a GP on the ranks scored by EI
                   (G1-G5), with constraints times the probability of feasibility (G6-G7,
                   one GP per constraint: G6b),
                   or the rank quadratic (Q1-Q6)
``propose``        the next proposal: cycle advance, slot, move, screen, untried configurations
``optimizer``      :class:`WhaleOptimizer`, the algorithm as a plain ask/tell optimiser
=================  ===========================================================================

All values are *minimised* here; ``WhaleSampler`` (:mod:`optuna_whale.sampler`) is the Optuna
adapter that maps distributions onto the cube and keeps every evaluation in the storage.
"""

from optuna_whale.core.fold import Population, PopulationFold
from optuna_whale.core.moves import MOVE_KINDS, reflect
from optuna_whale.core.optimizer import WhaleOptimizer
from optuna_whale.core.propose import PopulationSource, next_proposal
from optuna_whale.core.records import Evaluation, Frame, Proposal
from optuna_whale.core.settings import Config, WhaleSettings
from optuna_whale.core.variants import MOVES, VARIANTS

__all__ = [
    "MOVES",
    "MOVE_KINDS",
    "VARIANTS",
    "Config",
    "Evaluation",
    "Frame",
    "Population",
    "PopulationFold",
    "PopulationSource",
    "Proposal",
    "WhaleOptimizer",
    "WhaleSettings",
    "next_proposal",
    "reflect",
]
