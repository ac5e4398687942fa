"""The population of a study: its trials folded into the core's population, incrementally.

* A finished trial tagged with the current space (:mod:`optuna_whale.storage_layout`) is an
  evaluation of its ``(cycle, slot)`` at its tagged position: COMPLETE with its values, PRUNED
  with its last intermediate value when ``consider_pruned_trials`` (else as a failure), FAIL as
  a failure (it frees the slot).
* A RUNNING tagged trial holds its slot (unless it started before ``stale_before``).
* A finished trial *without* a tag (enqueued, ``add_trial``, start-up or fixed-parameter trials)
  whose parameters cover the space joins as an *untagged* evaluation at the centre of its
  parameters' cells, in slot ``number mod N_c`` of the newest cycle begun before it (by trial
  number).
* Values are turned into minimisation values (maximised objectives are negated); the total
  constraint violation ``sum_k max(0, c_k)`` of ``trial.constraints`` rides along.
* Nothing read back is trusted (:meth:`StudyPopulation.checked_tag`, :meth:`StudyPopulation.justified`):
  an invalid tag makes its trial untagged, a cycle the evaluations cannot have reached moves
  nothing, each with one warning per study naming the trial and the field.

The fold is order-independent (:class:`~optuna_whale.core.fold.PopulationFold`), so every
worker, and a fresh process after a crash, rebuilds the same population from the same trials.
The incremental cache only skips trials already folded: finished trials never change, and the
cache checks that the trial it stopped at is still the same trial (else it rebuilds).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.core import Config, Evaluation, Population, PopulationFold, Proposal
from optuna_whale.space import UnitCubeSpace
from optuna_whale.storage_layout import KEY_TAG, Tag, parse_tag, warn_once

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = ["MIN_CYCLE_EVALUATIONS", "StudyPopulation", "trial_constraints", "trial_values", "trial_violation"]

#: Evaluations that any cycle takes at the least (a cycle has at least 2 whales, and ends no
#: sooner than one evaluation per whale).
MIN_CYCLE_EVALUATIONS = 2


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


def trial_constraints(trial: FrozenTrial) -> tuple[float, tuple[float, ...]]:
    """``trial.constraints`` (Optuna 5's ``trial.set_constraint`` and the legacy ``constraints``
    list) read once: the total violation ``sum_k max(0, c_k)`` and every value ``c_k`` (their
    largest, :attr:`Evaluation.margin`, is <= 0 when feasible, by that much on the tightest
    constraint's scale) in the order of the constraints' names (the same for every trial of a
    study, whatever order a storage returns them in). A NaN or non-numeric constraint counts as
    ``+inf`` (infinitely violated)."""
    values = []
    constraints = trial.constraints
    for name in sorted(constraints):
        c = constraints[name]
        try:
            v = float(c)
        except (TypeError, ValueError):
            v = math.inf
        values.append(math.inf if math.isnan(v) else v)
    return sum((max(v, 0.0) for v in values), 0.0), tuple(values)


def trial_violation(trial: FrozenTrial) -> float:
    """Total constraint violation ``sum_k max(0, c_k)`` of ``trial.constraints``
    (:func:`trial_constraints`); a trial with none is feasible."""
    return trial_constraints(trial)[0]


class StudyPopulation:
    """The population of one study and one search space, folded from its trials.

    :meth:`sync` reads the trials (incrementally); :meth:`snapshot` and :meth:`open_cycle` make
    it the :class:`~optuna_whale.core.propose.PopulationSource` of the next proposal.
    """

    def __init__(
        self,
        config: Config,
        space: UnitCubeSpace,
        directions: Sequence[StudyDirection],
        consider_pruned_trials: bool,
        origin: tuple[BaseStorage, int] | None = None,
    ) -> None:
        self.config = config
        self.space = space
        self.directions = list(directions)
        self.consider_pruned_trials = consider_pruned_trials
        #: ``(storage, study_id)`` of the study, for one warning per study about invalid values
        self.origin = origin
        self._warned: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        self.fold = PopulationFold(self.config)
        self._synced_upto = 0  # trials[:_synced_upto] are finished and folded
        self._synced_id: int | None = None
        self._folded_beyond: set[int] = set()  # finished trials folded past a running one
        self._untagged: list[Evaluation] = []
        self._n_evaluations = 0  # folded evaluations with values, tagged or not
        self._cycle_start: dict[int, int] = {}
        self._running: list[tuple[int, int]] = []
        self._tried_cells: set[tuple[Any, ...]] = set()
        self._running_cells: set[tuple[Any, ...]] = set()
        self._current_number = -1
        self.design_seed: int | None = None

    # -- folding trials ----------------------------------------------------------------------

    def _note_cycle(self, cycle: int, number: int) -> None:
        start = self._cycle_start.get(cycle)
        if start is None or number < start:
            self._cycle_start[cycle] = number
        self.fold.touch(cycle)

    def _note_cell(self, trial: FrozenTrial, into: set[tuple[Any, ...]]) -> None:
        if self.space.discrete:
            cell = self.space.cell(trial.params)
            if cell is not None:
                into.add(cell)

    def _ignore(self, number: int, problem: str, outcome: str = "the trial counts as untagged") -> None:
        """Warn (once per study) that trial ``number``'s whale tag is invalid and ignored."""
        warn_once(
            self.origin,
            "tag",
            f"Trial {number}'s whale tag is invalid and ignored ({problem}): {outcome}. Further "
            "invalid whale tags in this study are ignored silently.",
            self._warned,
        )

    def checked_tag(self, trial: FrozenTrial) -> tuple[Tag | None, bool]:
        """``(tag, ours)``: the trial's tag if it is valid for this population, and whether the
        trial belongs to this population at all (False: tagged with another search space).

        Beyond :func:`~optuna_whale.storage_layout.parse_tag`: ``x`` has the cube's length and
        decodes to the parameters the trial has
        (:meth:`~optuna_whale.space.UnitCubeSpace.mismatch`; absent ones, as in a trial still
        running or failed early, are not checked). An invalid tag is ignored with one warning
        per study (``(None, True)``: the trial counts as untagged)."""
        raw = trial.system_attrs.get(KEY_TAG)
        if raw is None:
            return None, True
        if isinstance(raw, dict) and isinstance(raw.get("space"), str) and raw["space"] != self.space.key:
            return None, False
        tag, problem = parse_tag(raw, self.config.dim)
        if tag is not None:
            name = self.space.mismatch(tag.proposal.x, trial.params)
            if name is not None:
                tag, problem = None, f"field 'x': it does not decode to the trial's parameter {name!r}"
        if problem is not None:
            self._ignore(trial.number, problem)
            return None, True
        return tag, True

    def _fold(self, trial: FrozenTrial) -> None:
        self._note_cell(trial, self._tried_cells)
        tag, ours = self.checked_tag(trial)
        if not ours:
            return
        values = trial_values(trial, self.directions, self.consider_pruned_trials)
        if tag is None:
            if values is None:
                return
            x = self.space.encode(trial.params)
            if x is not None:
                self._n_evaluations += 1
                at = Proposal(x, trial.number, 0, "init")
                self._untagged.append(Evaluation(trial.number, at, values, *trial_constraints(trial)))
            return
        p = tag.proposal
        self._note_cycle(p.cycle, trial.number)
        if p.slot >= self.config.cycle_size(p.cycle):
            return  # written by a sampler with another population size: not ours
        if values is None:
            self.fold.add_failure(p.cycle, p.slot)
        else:
            self._n_evaluations += 1
            self.fold.add(Evaluation(trial.number, p, values, *trial_constraints(trial)))

    def sync(
        self, trials: list[FrozenTrial], current: int = -1, stale_before: datetime.datetime | None = None
    ) -> None:
        """Fold newly finished trials and collect the running ones, except trial ``current``
        (the one being sampled). A RUNNING trial started before ``stale_before`` holds no slot
        (its configuration still counts as tried)."""
        self._current_number = current
        f = self._synced_upto
        if f > 0 and (len(trials) < f or trials[f - 1]._trial_id != self._synced_id):
            self._reset()
            f = 0
        running: list[tuple[int, int]] = []
        self._running_cells = set()
        advancing = True
        for index in range(f, len(trials)):
            t = trials[index]
            if t.state.is_finished():
                if t.number not in self._folded_beyond:
                    self._fold(t)
                    if not advancing:
                        self._folded_beyond.add(t.number)
                if advancing:
                    self._folded_beyond.discard(t.number)
                    self._synced_upto = index + 1
                    self._synced_id = t._trial_id
                continue
            advancing = False
            if t.number == current or t.state != TrialState.RUNNING:
                continue
            self._note_cell(t, self._running_cells)
            tag, _ = self.checked_tag(t)
            if tag is not None:
                self._note_cycle(tag.proposal.cycle, t.number)
                stale = stale_before is not None and t.datetime_start is not None and t.datetime_start < stale_before
                if not stale:
                    running.append((tag.proposal.cycle, tag.proposal.slot))
        self._running = running

    def was_tried(self, params: dict[str, Any]) -> bool:
        """Whether a discrete space's configuration ``params`` was already tried (any finished
        or running trial); always False on a space with a continuous parameter."""
        cell = self.space.cell(params) if self.space.discrete else None
        return cell is not None and (cell in self._tried_cells or cell in self._running_cells)

    # -- the population source ---------------------------------------------------------------

    def justified(self, cycle: int) -> bool:
        """Whether the evaluations folded so far can have reached ``cycle``.

        A cycle ends no sooner than one evaluation per whale (schedule, stagnation and collapse
        all need ``E_c >= N_c``) and every sampler has ``N_c >= 2`` whales, so reaching cycle
        ``c`` takes at least ``2 c`` evaluations, tagged or not, whatever the population sizes
        of the workers. A cycle that a stored tag names but the study cannot have reached moves
        nothing: it is not the current cycle and takes no untagged evaluations, until the study
        has evaluations enough."""
        return cycle * MIN_CYCLE_EVALUATIONS <= self._n_evaluations

    def _justified_starts(self) -> list[tuple[int, int]]:
        """``(cycle, first trial number)`` of the known cycles that are justified, sorted (a
        prefix of all known cycles: the larger the cycle, the more evaluations it needs)."""
        starts = sorted(self._cycle_start.items())
        justified = [(c, n) for c, n in starts if self.justified(c)]
        if len(justified) < len(starts):
            cycle, number = starts[len(justified)]
            self._ignore(
                number,
                f"field 'cycle': cycle {cycle} needs at least {cycle * MIN_CYCLE_EVALUATIONS} "
                f"evaluations, the study has {self._n_evaluations}",
                "the study does not move to that cycle before it has those evaluations",
            )
        return justified

    @property
    def current_cycle(self) -> int:
        starts = self._justified_starts()
        return starts[-1][0] if starts else 0

    def untagged_in(self, cycle: int) -> list[Evaluation]:
        """Untagged evaluations that belong to ``cycle``: the newest (justified) cycle begun
        before them."""
        starts = self._justified_starts()
        out = []
        for ev in self._untagged:
            own = 0
            for c, start in starts:
                if start < ev.number:
                    own = max(own, c)
            if own == cycle:
                out.append(ev.at(ev.number, cycle))
        return out

    def snapshot(self, cycle: int | None = None) -> Population:
        c = self.current_cycle if cycle is None else cycle
        return self.fold.snapshot(c, self._running, self.untagged_in(c))

    def open_cycle(self, cycle: int) -> None:
        """The trial being sampled opens ``cycle`` (it is about to be tagged with it)."""
        self._note_cycle(cycle, self._current_number)
