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

Every value read back is validated
----------------------------------
A storage is shared by many workers and outlives versions of the code, so nothing read from it
is trusted. A tag is used only if :func:`parse_tag` accepts it (types, ranges, finite numbers)
and :meth:`~optuna_whale.study_population.StudyPopulation.checked_tag` too (``x`` has the cube's
length and decodes to the trial's own parameters within the encoding's tolerance); else the
trial counts as untagged. A cycle moves the study only once the folded evaluations can have
reached it (:meth:`~optuna_whale.study_population.StudyPopulation.justified`: ``2 c``
evaluations for cycle ``c``). A ``whale:seed`` that is not a valid seed is replaced by one
derived from it (:func:`read_design_seed`), never overwritten. Each kind of invalid value is
reported by one warning per study (logger ``optuna_whale.storage_layout``) naming the trial and
the field, and the study goes on.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from optuna_whale.core import MOVE_KINDS, Frame, Proposal

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = [
    "KEY_SEED",
    "KEY_TAG",
    "STUDY_USER_SAMPLER",
    "MAX_SEED",
    "MAX_STORED_INDEX",
    "Tag",
    "fallback_seed",
    "parse_tag",
    "read_design_seed",
    "read_tag",
    "tag_size",
    "valid_seed",
    "warn_once",
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


#: Upper bound (exclusive) of a stored cycle, slot or parent trial number: an RDB storage keeps
#: trial numbers in 32-bit columns, so no study reaches it.
MAX_STORED_INDEX = 2**31


def _show(value: object) -> str:
    """A short repr of a stored value for a warning (never fails, never long)."""
    try:
        return reprlib.repr(value)
    except (ValueError, RecursionError):  # an int too long to print, a self-nesting value
        return f"<{type(value).__name__}>"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_tag(raw: object, dim: int | None = None) -> tuple[Tag | None, str | None]:
    """Validate a stored ``whale`` attr: ``(tag, None)`` when valid, ``(None, None)`` when absent,
    ``(None, problem)`` otherwise, ``problem`` naming the field and its value. Never raises.

    Valid: ``space`` a str; ``cycle`` and ``slot`` ints in ``[0, 2**31)``; ``x`` a list of
    numbers in ``[0, 1]`` (finite), of length ``dim`` when given; ``gen`` a finite number
    ``>= 0``; ``parent`` an int in ``[-1, 2**31)``; ``basis`` -1, 0 or 1; ``move`` one of
    :data:`~optuna_whale.core.moves.MOVE_KINDS` (the last four may be absent). Booleans are not numbers here.
    """
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        return None, f"the tag is a {type(raw).__name__}, not an object"
    for key in ("space", "cycle", "slot", "x"):
        if key not in raw:
            return None, f"field {key!r} is missing"
    space, x = raw["space"], raw["x"]
    if not isinstance(space, str):
        return None, f"field 'space': {_show(space)} is not a string"
    for key in ("cycle", "slot"):
        value = raw[key]
        if not _is_int(value) or not 0 <= value < MAX_STORED_INDEX:
            return None, f"field {key!r}: {_show(value)} is not an integer in [0, 2**31)"
    parent = raw.get("parent", -1)
    if not _is_int(parent) or not -1 <= parent < MAX_STORED_INDEX:
        return None, f"field 'parent': {_show(parent)} is not an integer in [-1, 2**31)"
    basis = raw.get("basis", -1)
    if not _is_int(basis) or basis not in (-1, 0, 1):
        return None, f"field 'basis': {_show(basis)} is not -1, 0 or 1"
    move = raw.get("move", "init")
    if not isinstance(move, str) or move not in MOVE_KINDS:
        return None, f"field 'move': {_show(move)} is not one of {MOVE_KINDS}"
    gen = raw.get("gen", 0.0)
    # ints compare exactly, so a huge int is rejected here before float() could overflow
    if not _is_number(gen) or not 0 <= gen <= 1e300:
        return None, f"field 'gen': {_show(gen)} is not a finite number >= 0"
    if not isinstance(x, list):
        return None, f"field 'x': {_show(x)} is not a list"
    if dim is not None and len(x) != dim:
        return None, f"field 'x': {len(x)} coordinates, the search space has {dim}"
    for v in x:
        if not _is_number(v) or not 0 <= v <= 1:  # NaN, +-inf and huge ints fail the range
            return None, f"field 'x': {_show(v)} is not a number in [0, 1]"
    xs = np.array([float(v) for v in x])
    proposal = Proposal(xs, raw["slot"], raw["cycle"], move, float(gen), parent, Frame(basis))
    return Tag(space, proposal), None


def read_tag(trial: FrozenTrial) -> Tag | None:
    """The trial's tag, or None if it has none or it is malformed (:func:`parse_tag`)."""
    return parse_tag(trial.system_attrs.get(KEY_TAG))[0]


_logger = optuna.logging.get_logger(__name__)
_warned_lock = threading.Lock()
_warned: weakref.WeakKeyDictionary[Any, set[tuple[int, str]]] = weakref.WeakKeyDictionary()


def warn_once(origin: tuple[BaseStorage, int] | None, kind: str, message: str, seen: set[str]) -> None:
    """Log ``message`` unless a warning of ``kind`` was already given for this study.

    ``origin`` is ``(storage, study_id)``: one warning per study and kind in this process (the
    storage is held weakly). Without it (or for a storage that cannot be weakly referenced),
    ``seen`` (a set the caller keeps) remembers the kinds already warned about."""
    with _warned_lock:
        done: set[Any] = seen
        key: Any = kind
        if origin is not None:
            try:
                done = _warned.setdefault(origin[0], set())
                key = (origin[1], kind)
            except TypeError:
                pass
        if key in done:
            return
        done.add(key)
    _logger.warning(message)


#: Valid design seeds are ints in ``[0, MAX_SEED)`` (a worker writes one below ``2**31``).
MAX_SEED = 2**63


def valid_seed(raw: object) -> int | None:
    """``raw`` if it is a valid design seed (an int in ``[0, 2**63)``, not a bool), else None."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < MAX_SEED:
        return raw
    return None


def fallback_seed(raw: object) -> int:
    """A valid seed derived from an invalid stored one: a hash of its JSON text, so every worker
    that reads the same invalid value derives the same seed without writing anything."""
    try:
        text = json.dumps(raw, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):  # an int too long to print, a cycle
        text = type(raw).__name__
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def read_design_seed(
    storage: BaseStorage, study_id: int, proposal: int, seen: set[str] | None = None
) -> int:
    """The study's design seed; the first worker writes ``proposal``, later ones read it.

    An attr that is not a valid seed (:func:`valid_seed`) is never overwritten (another worker
    may have read it already): it is replaced by :func:`fallback_seed`, the same in every
    worker, with one warning per study."""
    attrs = storage.get_study_system_attrs(study_id)
    if KEY_SEED not in attrs:
        storage.set_study_system_attr(study_id, KEY_SEED, int(proposal))
        attrs = storage.get_study_system_attrs(study_id)
    raw = attrs.get(KEY_SEED, int(proposal))
    seed = valid_seed(raw)
    if seed is None:
        seed = fallback_seed(raw)
        warn_once(
            (storage, study_id),
            "seed",
            f"The study's system attr {KEY_SEED!r} holds {_show(raw)}, not an integer in "
            f"[0, 2**63); it is ignored and the design seed {seed} is derived from it.",
            set() if seen is None else seen,
        )
    return seed
