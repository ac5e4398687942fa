"""Where :class:`~optuna_whale.WhaleSampler` keeps its state: the storage layout, in one place.

The sampler keeps nothing in memory that the storage does not also hold. Everything is plain
JSON (numbers, strings, lists of numbers); nothing is ever pickled, because a shared storage is
written by many workers.

Trial system attr ``whale``, written once by ``sample_relative`` while the trial is RUNNING
----------------------------------------------------------------------------------------------
One JSON object (one storage write, which matters on an RDB): the trial's
:class:`~optuna_whale.core.records.Proposal` and the search space it belongs to.

=============  ==============  ====================================================================
field          type            meaning
=============  ==============  ====================================================================
``space``      str (12 hex)    fingerprint of the relative search space
                               (:func:`optuna_whale.space.space_key`); trials of another space
                               belong to another population
``cycle``      int             the cycle (restart epoch) the trial belongs to
``slot``       int             the whale slot the trial moves
``x``          list[float]     its position in ``[0, 1]^d`` (the evaluated point: grid values at
                               their cell centre, categoricals at their one-hot vertex)
``move``       str             one of :data:`~optuna_whale.core.moves.MOVE_KINDS`
``gen``        float           generation ``E_c / N_c`` of the cycle when it was sampled
``parent``     int             trial number of the incumbent the move started from (-1: none)
``basis``      int             the move's frame: 0 the cube's axes, 1 the elite's eigenbasis,
                               -1 none (:class:`~optuna_whale.core.records.Frame`)
=============  ==============  ====================================================================

Trial user attrs (shown by optuna-dashboard as columns): ``whale_slot``, ``whale_move``,
``whale_cycle``. Study system attrs: ``whale:seed`` (int), the seed of the Latin hypercube
designs, written once by the first worker that needs it. Study user attrs: ``whale_sampler``,
a JSON string naming the sampler and its settings (for optuna-dashboard), written once.
A retried trial (``RetryFailedTrialCallback`` copies system attrs) keeps its tag, so the retry
holds the same slot of the same cycle; the stale original is FAIL and holds nothing.

Size: at most ``200 + 24 d`` bytes per trial for a ``d``-coordinate cube (:func:`tag_size`;
measured 278 B at d = 4 and 1,213 B at d = 50), whatever the number of trials.

How the population is rebuilt from these attrs: :mod:`optuna_whale.study_population`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.trial import FrozenTrial

from optuna_whale.core import MOVE_KINDS, Frame, Proposal

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = [
    "KEY_SEED",
    "KEY_TAG",
    "STUDY_USER_SAMPLER",
    "Tag",
    "read_design_seed",
    "read_tag",
    "tag_size",
    "write_tag",
]

KEY_TAG = "whale"
KEY_SEED = "whale:seed"

USER_SLOT = "whale_slot"
USER_CYCLE = "whale_cycle"
USER_MOVE = "whale_move"
STUDY_USER_SAMPLER = "whale_sampler"


@dataclass(frozen=True)
class Tag:
    """What one sampled trial records about its whale: its proposal, in a search space."""

    space: str
    proposal: Proposal

    @property
    def parent(self) -> int:
        return self.proposal.parent

    def system_attrs(self) -> dict[str, Any]:
        p = self.proposal
        return {
            KEY_TAG: {
                "space": self.space,
                "cycle": p.cycle,
                "slot": p.slot,
                "x": [float(f"{v:.17g}") for v in p.x],
                "move": p.move,
                "gen": round(p.generation, 4),
                "parent": p.parent,
                "basis": int(p.frame),
            }
        }

    def user_attrs(self) -> dict[str, Any]:
        p = self.proposal
        return {USER_SLOT: p.slot, USER_MOVE: p.move, USER_CYCLE: p.cycle}


def write_tag(storage: BaseStorage, trial_id: int, tag: Tag) -> None:
    """Write the tag of a RUNNING trial: one system attr (what rebuilds state), then the user
    attrs for the dashboard."""
    for key, value in tag.system_attrs().items():
        storage.set_trial_system_attr(trial_id, key, value)
    for key, value in tag.user_attrs().items():
        storage.set_trial_user_attr(trial_id, key, value)


def tag_size(tag: Tag) -> int:
    """Bytes of JSON the tag adds to a trial (keys and values, system and user attrs)."""
    attrs = {**tag.system_attrs(), **tag.user_attrs()}
    return sum(len(k) + len(json.dumps(v)) for k, v in attrs.items())


def read_tag(trial: FrozenTrial) -> Tag | None:
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
        xs = np.array([float(v) for v in x])
        if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in xs) or move not in MOVE_KINDS:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return Tag(space, Proposal(xs, slot, cycle, move, generation, parent, Frame(basis)))


def read_design_seed(storage: BaseStorage, study_id: int, proposal: int) -> int:
    """The study's design seed; the first worker writes ``proposal``, later ones read it."""
    attrs = storage.get_study_system_attrs(study_id)
    seed = attrs.get(KEY_SEED)
    if isinstance(seed, int):
        return seed
    storage.set_study_system_attr(study_id, KEY_SEED, int(proposal))
    seed = storage.get_study_system_attrs(study_id).get(KEY_SEED, proposal)
    return int(seed) if isinstance(seed, int) else int(proposal)
