"""Where :class:`~optuna_whale.WhaleSampler` keeps its state: the storage layout, in one place.

The sampler keeps nothing in memory that the storage does not also hold. Everything is plain
JSON (numbers, strings, lists of numbers); nothing is ever pickled, because a shared storage is
written by many workers.

Trial system attr ``whale``, written once by ``sample_relative`` while the trial is RUNNING
----------------------------------------------------------------------------------------------
One JSON object (one storage write, which matters on an RDB), with these fields:

=============  ==============  ====================================================================
field          type            meaning
=============  ==============  ====================================================================
``space``      str (12 hex)    fingerprint of the relative search space (:func:`space_key`);
                               trials of another space belong to another population
``cycle``      int             the cycle (restart epoch) the trial belongs to
``slot``       int             the whale slot the trial moves
``x``          list[float]     its continuous position in ``[0, 1]^d`` (before rounding
                               to grids and categories)
``move``       str             init, restart, search, encircle or spiral
``gen``        float           generation ``E_c / N_c`` of the cycle when it was sampled
``parent``     int             trial number of the incumbent the move started from (-1: none)
``basis``      int             0: move drawn on the axes, 1: in the elite's eigenbasis, -1: none
=============  ==============  ====================================================================

Trial user attrs (shown by optuna-dashboard as columns): ``whale_slot``, ``whale_move``,
``whale_cycle``. Study system attrs: ``whale:seed`` (int), the seed of the Latin hypercube
designs, written once by the first worker that needs it. Study user attrs: ``whale_sampler``,
a JSON string naming the sampler and its settings (for optuna-dashboard), written once.
A retried trial (``RetryFailedTrialCallback`` copies system attrs) keeps its tag, so the retry
holds the same slot of the same cycle; the stale original is FAIL and holds nothing.

Size: at most ``200 + 24 d`` bytes per trial for a ``d``-coordinate cube (:func:`tag_size`;
measured 278 B at d = 4 and 1,213 B at d = 50), whatever the number of trials.

How the population is rebuilt (:class:`StoredPopulation`)
--------------------------------------------------------
* A finished trial tagged with the current space is an evaluation of ``(cycle, slot)`` at
  ``whale:x``: COMPLETE with its value, PRUNED with its last intermediate value when
  ``consider_pruned_trials`` (else as a failure), FAIL as a failure (it frees the slot).
* A RUNNING tagged trial holds its slot.
* A finished trial *without* tags (enqueued, ``add_trial``, start-up or fixed-parameter trials)
  whose parameters cover the space joins as an evaluation at the centre of its parameters' cells,
  in slot ``number mod N_c`` of the newest cycle begun before it (by trial number).
* Values are turned into minimisation values (maximised objectives are negated); the total
  constraint violation ``sum_k max(0, c_k)`` of ``trial.constraints`` rides along.

The fold is order-independent (:class:`optuna_whale.woa.PopulationBuilder`), so every worker,
and a fresh process after a crash, rebuilds the same population from the same trials. The
incremental cache only skips trials already folded: finished trials never change, and the cache
checks that the trial it stopped at is still the same trial (else it rebuilds from scratch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.woa import MOVES, Evaluation, Population, PopulationBuilder, WOAConfig

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from optuna_whale.space import UnitCubeSpace

__all__ = [
    "KEY_SEED",
    "KEY_TAG",
    "StoredPopulation",
    "TrialTag",
    "read_tag",
    "tag_size",
    "trial_values",
    "trial_violation",
    "write_tag",
]

KEY_TAG = "whale"
KEY_SEED = "whale:seed"

USER_SLOT = "whale_slot"
USER_CYCLE = "whale_cycle"
USER_MOVE = "whale_move"
STUDY_USER_SAMPLER = "whale_sampler"


@dataclass(frozen=True)
class TrialTag:
    """What one sampled trial records about its whale."""

    space: str
    cycle: int
    slot: int
    x: tuple[float, ...]
    move: str
    generation: float
    parent: int = -1
    basis: int = -1

    def system_attrs(self) -> dict[str, Any]:
        return {
            KEY_TAG: {
                "space": self.space,
                "cycle": self.cycle,
                "slot": self.slot,
                "x": [float(f"{v:.17g}") for v in self.x],
                "move": self.move,
                "gen": round(self.generation, 4),
                "parent": self.parent,
                "basis": self.basis,
            }
        }

    def user_attrs(self) -> dict[str, Any]:
        return {USER_SLOT: self.slot, USER_MOVE: self.move, USER_CYCLE: self.cycle}


def write_tag(storage: BaseStorage, trial_id: int, tag: TrialTag) -> None:
    """Write the tag of a RUNNING trial: one system attr (what rebuilds state), then the user
    attrs for the dashboard."""
    for key, value in tag.system_attrs().items():
        storage.set_trial_system_attr(trial_id, key, value)
    for key, value in tag.user_attrs().items():
        storage.set_trial_user_attr(trial_id, key, value)


def tag_size(tag: TrialTag) -> int:
    """Bytes of JSON the tag adds to a trial (keys and values, system and user attrs)."""
    import json

    attrs = {**tag.system_attrs(), **tag.user_attrs()}
    return sum(len(k) + len(json.dumps(v)) for k, v in attrs.items())


def read_tag(trial: FrozenTrial) -> TrialTag | None:
    """The trial's tag, or None if it has none or it is malformed (never trusted blindly)."""
    raw = trial.system_attrs.get(KEY_TAG)
    if not isinstance(raw, dict):
        return None
    try:
        space, cycle, slot, x = raw["space"], raw["cycle"], raw["slot"], raw["x"]
        move = raw.get("move", "init")
        generation = float(raw.get("gen", 0.0))
        parent = raw.get("parent", -1)
        basis = raw.get("basis", -1)
        ints = (cycle, slot, parent, basis)
        if not isinstance(space, str) or not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            return None
        if cycle < 0 or slot < 0 or basis not in (-1, 0, 1) or not isinstance(x, list):
            return None
        xs = tuple(float(v) for v in x)
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in xs) or move not in MOVES:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return TrialTag(space, cycle, slot, xs, move, generation, parent, basis)


def trial_values(
    trial: FrozenTrial, directions: Sequence[StudyDirection], consider_pruned_trials: bool
) -> tuple[float, ...] | None:
    """The minimisation values a finished trial contributes, or None when it counts as failed.

    Maximised objectives are negated. A PRUNED trial (single objective only) counts at its last
    intermediate value when ``consider_pruned_trials``.
    """
    values: Sequence[float] | None = None
    if trial.state == TrialState.COMPLETE and trial.values is not None:
        values = trial.values
    elif (
        trial.state == TrialState.PRUNED
        and consider_pruned_trials
        and trial.intermediate_values
        and len(directions) == 1
    ):
        values = [trial.intermediate_values[max(trial.intermediate_values)]]
    if values is None or len(values) != len(directions):
        return None
    if any(v is None or math.isnan(v) for v in values):
        return None
    return tuple(
        -float(v) if d == StudyDirection.MAXIMIZE else float(v) for v, d in zip(values, directions, strict=True)
    )


def trial_violation(trial: FrozenTrial) -> float:
    """Total constraint violation ``sum_k max(0, c_k)`` of ``trial.constraints`` (Optuna 5's
    ``trial.set_constraint`` and the legacy ``constraints`` list); a trial with none is feasible.
    A NaN or non-numeric constraint counts as infinitely violated."""
    total = 0.0
    for c in trial.constraints.values():
        try:
            v = float(c)
        except (TypeError, ValueError):
            return math.inf
        if math.isnan(v):
            return math.inf
        total += max(v, 0.0)
    return total


class StoredPopulation:
    """The population of one study and one search space, folded from its trials.

    :meth:`sync` reads the trials (incrementally, see the module docstring) and :meth:`snapshot`
    gives the :class:`~optuna_whale.woa.Population` of a cycle.
    """

    def __init__(
        self,
        config: WOAConfig,
        space: UnitCubeSpace,
        directions: Sequence[StudyDirection],
        consider_pruned_trials: bool,
    ) -> None:
        self.config = config
        self.space = space
        self.directions = list(directions)
        self.consider_pruned_trials = consider_pruned_trials
        self._reset()

    def _reset(self) -> None:
        self.builder = PopulationBuilder(self.config)
        self._frontier = 0
        self._frontier_id: int | None = None
        self._folded_beyond: set[int] = set()
        self._externals: list[Evaluation] = []
        self._cycle_start: dict[int, int] = {}
        self._running: list[tuple[int, int]] = []
        self._seen_cells: set[tuple[Any, ...]] = set()
        self._running_cells: set[tuple[Any, ...]] = set()
        self.design_seed: int | None = None

    def _note_cycle(self, cycle: int, number: int) -> None:
        start = self._cycle_start.get(cycle)
        if start is None or number < start:
            self._cycle_start[cycle] = number
        self.builder.touch(cycle)

    def _note_cell(self, trial: FrozenTrial, into: set[tuple[Any, ...]]) -> None:
        if self.space.discrete:
            cell = self.space.cell(trial.params)
            if cell is not None:
                into.add(cell)

    def seen(self, params: dict[str, Any]) -> bool:
        """Whether a discrete space's configuration ``params`` was already tried (any finished
        or running trial); always False on a space with a continuous parameter."""
        cell = self.space.cell(params) if self.space.discrete else None
        return cell is not None and (cell in self._seen_cells or cell in self._running_cells)

    def _fold(self, trial: FrozenTrial) -> None:
        self._note_cell(trial, self._seen_cells)
        tag = read_tag(trial)
        values = trial_values(trial, self.directions, self.consider_pruned_trials)
        if tag is None:
            if values is None:
                return
            x = self.space.encode(trial.params)
            if x is not None:
                self._externals.append(
                    Evaluation(trial.number, trial.number, 0, x, values, trial_violation(trial))
                )
            return
        if tag.space != self.space.key or len(tag.x) != self.config.dim:
            return
        self._note_cycle(tag.cycle, trial.number)
        if tag.slot >= self.config.cycle_size(tag.cycle):
            return  # written by a sampler with another population size: not ours
        if values is None:
            self.builder.add_failure(tag.cycle, tag.slot)
        else:
            x = np.array(tag.x)
            violation = trial_violation(trial)
            self.builder.add(
                Evaluation(
                    trial.number, tag.slot, tag.cycle, x, values, violation, tag.parent, tag.basis
                )
            )

    def sync(self, trials: list[FrozenTrial], exclude_number: int | None = None) -> None:
        """Fold newly finished trials and collect the running ones."""
        f = self._frontier
        if f > 0 and (len(trials) < f or trials[f - 1]._trial_id != self._frontier_id):
            self._reset()
            f = 0
        running: list[tuple[int, int]] = []
        self._running_cells = set()
        advancing = True
        for index in range(f, len(trials)):
            t = trials[index]
            finished = t.state.is_finished()
            if finished:
                if t.number not in self._folded_beyond:
                    self._fold(t)
                    if not advancing:
                        self._folded_beyond.add(t.number)
                if advancing:
                    self._folded_beyond.discard(t.number)
                    self._frontier = index + 1
                    self._frontier_id = t._trial_id
                continue
            advancing = False
            if t.number == exclude_number or t.state != TrialState.RUNNING:
                continue
            self._note_cell(t, self._running_cells)
            tag = read_tag(t)
            if tag is not None and tag.space == self.space.key:
                self._note_cycle(tag.cycle, t.number)
                running.append((tag.cycle, tag.slot))
        self._running = running

    @property
    def current_cycle(self) -> int:
        return max(self._cycle_start, default=0)

    def externals_of(self, cycle: int) -> list[Evaluation]:
        """Untagged evaluations that belong to ``cycle``: newest cycle begun before them."""
        starts = sorted(self._cycle_start.items())
        out = []
        for ev in self._externals:
            own = 0
            for c, start in starts:
                if start < ev.number:
                    own = max(own, c)
            if own == cycle:
                out.append(ev.at(ev.number, cycle))
        return out

    def snapshot(self, cycle: int | None = None) -> Population:
        c = self.current_cycle if cycle is None else cycle
        return self.builder.snapshot(c, self._running, self.externals_of(c))

    def start_cycle(self, cycle: int, number: int) -> None:
        """The calling trial ``number`` opens ``cycle`` (it is about to be tagged with it)."""
        self._note_cycle(cycle, number)


def read_design_seed(storage: BaseStorage, study_id: int, proposal: int) -> int:
    """The study's design seed; the first worker writes ``proposal``, later ones read it."""
    attrs = storage.get_study_system_attrs(study_id)
    seed = attrs.get(KEY_SEED)
    if isinstance(seed, int):
        return seed
    storage.set_study_system_attr(study_id, KEY_SEED, int(proposal))
    seed = storage.get_study_system_attrs(study_id).get(KEY_SEED, proposal)
    return int(seed) if isinstance(seed, int) else int(proposal)
