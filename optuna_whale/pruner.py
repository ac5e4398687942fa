"""``WhalePruner``: stop trials that cannot win their place in the whale population.

With greedy replacement (:mod:`optuna_whale.woa`) a whale moves only to a position at least as
good as its incumbent, so a trial whose learning curve stays clearly worse than the curve that
earned its slot is thrown away anyway. The pruner stops it early.

The rule (values turned into minimisation values ``v' = v`` or ``-v`` for maximisation)
------------------------------------------------------------------------------------------
At a reported step ``s`` of trial ``t`` the *references* are

* the slot's incumbent ``I``: the trial this whale moved from (``parent`` in the trial's whale
  tag, :mod:`optuna_whale.storage`), if it COMPLETEd;
* the leader ``L``: the best COMPLETE trial of the study;
* without a whale tag or parent (any other sampler, an initial design point, an enqueued trial):
  the *population* is the best ``k = min(population_size, max(1, floor(n / 2)))`` of the ``n``
  COMPLETE trials and ``I`` is the worst of them (the place the trial must win; while few trials
  have completed this is the better half, as in a median rule).

WhaleSampler's initial and restart trials carry a whale tag but no parent (their slot is empty),
so they are judged against that fallback population. With the sampler's default
``consider_pruned_trials=True`` a pruned trial stays in its slot at its last intermediate value
(a move that was pruned loses to its incumbent, as it would have at the end; a pruned initial
point still holds its slot, so the WOA moves start on time). With ``False`` a pruned trial frees
its slot like a failed trial and the slot re-enters the hunt by an ordinary move from another
whale (:mod:`optuna_whale.woa`, "Budget-free schedule and restarts"); what it showed is lost,
which measured worse (``benchmarks/results/pruning-screen``).

A reference's value at ``s`` is its intermediate value at ``s`` or, if it did not report ``s``,
at the nearest earlier step it reported (no earlier step: no comparison). Curves cross (a slow
starter can finish first), so the trial is compared with what the references will *end* at,
after the largest improvement the population has shown from step ``s`` on. With ``P`` the best
``k`` COMPLETE trials plus ``I`` (``L`` is the best of them), ``v'_j`` a trial's final value and

    G(s) = max_{j in P} max(0, v'_j(s) - v'_j)          (largest remaining gain seen)
    r(s) = max( I'(s), L'(s), max(v'_I, v'_L) + optimism * G(s) )

the trial is *behind* at ``s`` if

    v'_t(s) > r(s) + margin * max(|r(s)|, 1e-12)

that is: behind both references at the same step, and still behind the final value it must beat
(its incumbent's; the fallback's weakest member) even if it gained as much from ``s`` on as the
best-converging member of the population did. ``optimism = 0`` drops the third term and keeps
only the same-step comparison (a more aggressive rule: it assumes the trial's curve does not
cross the references'); larger values prune later. ``G`` shrinks towards 0 at the last steps, where the rule becomes
"worse than the incumbent's final value".

The trial is pruned when it has been behind at ``patience`` consecutive checked steps. As in
Optuna's ``MedianPruner``, a reported step ``s`` is checked when ``s >= n_warmup_steps`` and it is
the first step the trial reported in its window ``floor((s - n_warmup_steps) / interval_steps)``
(steps aligned on the interval are all checked; unaligned reports are not skipped), and nothing
is pruned until ``max(n_startup_trials, 1)`` trials have COMPLETEd (so the first trial never is).
At a checked step, a NaN intermediate value of the trial prunes it (a NaN at an earlier checked
step counts as behind); NaN values of references are skipped as if not reported. The complete
trials are read fresh from the storage at every check, so trials finished by other workers
during a long trial count at once. The reason is written to the trial
user attr ``whale_prune_reason`` (shown by optuna-dashboard).

Cost of one check: ``O(n log k + (k + m) m)`` for ``n`` COMPLETE trials and a trial of ``m``
reported steps (``O(n log k)`` for the population, ``O(m)`` per population member, reference and
patience step); the storage read is the same one ``MedianPruner`` makes.

Multi-objective studies cannot report intermediate values in Optuna; the pruner raises a clear
``ValueError`` there.
"""

from __future__ import annotations

import contextlib
import heapq
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.storage_layout import read_tag

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["WhalePruner"]

USER_REASON = "whale_prune_reason"


def _checked_steps(steps: Iterable[int], n_warmup_steps: int, interval_steps: int) -> list[int]:
    """The reported steps at which the rule is evaluated, ascending (Optuna's interval rule).

    A reported step ``s >= w`` is checked when it is the first reported step of its window
    ``floor((s - w) / i)``, as in Optuna's ``MedianPruner``: reporting every third step with
    ``interval_steps=2`` still checks, at steps 3, 6, 9, ... (windows 1, 3, 4, ...).
    """
    out: list[int] = []
    window = -1
    for s in sorted(steps):
        if s >= n_warmup_steps and (s - n_warmup_steps) // interval_steps != window:
            window = (s - n_warmup_steps) // interval_steps
            out.append(s)
    return out


def _remaining_gain(population: list[FrozenTrial], step: int, sign: float) -> float:
    """``G(s) = max_j max(0, v'_j(s) - v'_j)``: the largest improvement from step ``s`` to the
    final value seen among the population's completed curves (0 if none reported by ``s``)."""
    gain = 0.0
    for t in population:
        at = _value_at(t, step)
        if at is not None:
            gain = max(gain, sign * at - sign * float(t.value))  # type: ignore[arg-type]
    return gain


def _value_at(trial: FrozenTrial, step: int) -> float | None:
    """Intermediate value at ``step`` or the nearest earlier reported (non-NaN) step."""
    best_step = -1
    value: float | None = None
    for s, v in trial.intermediate_values.items():
        if best_step < s <= step and v is not None and not math.isnan(v):
            best_step, value = s, float(v)
    return value


class WhalePruner(BasePruner):
    """Prune a trial whose learning curve is behind both its whale's incumbent and the leader.

    The rule and its equations are in the module docstring (:mod:`optuna_whale.pruner`). Works
    with any sampler: without a whale slot on the trial it compares with the weakest of the best
    ``min(population_size, n_complete // 2)`` completed trials.

    Args:
        n_startup_trials: No pruning until this many trials have completed.
        n_warmup_steps: No pruning before this step.
        interval_steps: Check every this many steps after the warm-up.
        margin: Relative margin ``m >= 0``: behind means worse than the reference by more than
            ``m`` times its magnitude.
        patience: Consecutive checked steps a trial must be behind before it is pruned (>= 1).
        population_size: Largest size ``k`` of the population (best completed trials) that gives
            the fallback reference and the remaining gain ``G(s)``.
        optimism: Factor on ``G(s)``, the largest improvement from step ``s`` to the end seen in
            the population (``0``: compare at the same step only; larger: prune later).
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        margin: float = 0.0,
        patience: int = 1,
        population_size: int = 10,
        optimism: float = 0.5,
    ) -> None:
        for name, value, minimum in (
            ("n_startup_trials", n_startup_trials, 0),
            ("n_warmup_steps", n_warmup_steps, 0),
            ("interval_steps", interval_steps, 1),
            ("patience", patience, 1),
            ("population_size", population_size, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
        for name, number in (("margin", margin), ("optimism", optimism)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not number >= 0 or math.isinf(number):
                raise ValueError(f"`{name}` must be a finite number >= 0, got {number!r}.")
        self._n_startup_trials = n_startup_trials
        self._n_warmup_steps = n_warmup_steps
        self._interval_steps = interval_steps
        self._margin = float(margin)
        self._optimism = float(optimism)
        self._patience = patience
        self._population_size = population_size

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if len(study.directions) > 1:
            raise ValueError(
                "WhalePruner cannot be used in a multi-objective study: Optuna does not support "
                "intermediate values (trial.report / should_prune) with several objectives."
            )
        step = trial.last_step
        if step is None:
            return False
        checked = _checked_steps(trial.intermediate_values, self._n_warmup_steps, self._interval_steps)
        if not checked or checked[-1] != step:
            return False
        # fresh from storage at every call (as MedianPruner): ``use_cache=True`` would freeze the
        # view at the trial's start and miss trials that other workers finish meanwhile
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(complete) < max(self._n_startup_trials, 1):
            return False
        if math.isnan(trial.intermediate_values[step]):
            self._mark(study, trial, f"NaN intermediate value at step {step}")
            return True
        recent = checked[-self._patience :]
        if len(recent) < self._patience:
            return False
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        incumbent, leader, label, population = self._references(trial, complete, sign)
        # the final value the trial must beat to win its place (the weaker reference's)
        target = max(sign * float(incumbent.value), sign * float(leader.value))  # type: ignore[arg-type]
        gain = 0.0
        for s in recent:
            v = sign * trial.intermediate_values[s]  # NaN at an earlier checked step: behind
            refs = [r for r in (_value_at(incumbent, s), _value_at(leader, s)) if r is not None]
            if len(refs) < 2:
                return False
            threshold = max(sign * r for r in refs)
            if self._optimism > 0:
                gain = _remaining_gain(population, s, sign)
                threshold = max(threshold, target + self._optimism * gain)
            if not (math.isnan(v) or v > threshold + self._margin * max(abs(threshold), 1e-12)):
                return False
        self._mark(
            study,
            trial,
            f"behind {label} #{incumbent.number} and leader #{leader.number} for {self._patience} "
            f"checked step(s) up to step {step}"
            + (f", even with the largest remaining gain seen in the population ({gain:.4g})" if gain > 0 else ""),
        )
        return True

    def _references(
        self, trial: FrozenTrial, complete: list[FrozenTrial], sign: float
    ) -> tuple[FrozenTrial, FrozenTrial, str, list[FrozenTrial]]:
        """(incumbent ``I``, leader ``L``, how ``I`` was chosen, population ``P``); O(n log k)."""

        def rank(t: FrozenTrial) -> tuple[float, int]:
            return sign * float(t.value), -t.number  # type: ignore[arg-type]

        k = min(self._population_size, max(1, len(complete) // 2))
        best = heapq.nsmallest(k, complete, key=rank)
        leader = best[0]
        tag = read_tag(trial)
        if tag is not None and tag.parent >= 0:
            parent = next((t for t in complete if t.number == tag.parent), None)
            if parent is not None:
                population = best if any(t.number == parent.number for t in best) else [*best, parent]
                return parent, leader, "its whale's incumbent", population
        return best[-1], leader, f"the weakest of the best {k} completed trials", best

    @staticmethod
    def _mark(study: Study, trial: FrozenTrial, reason: str) -> None:
        # if the trial already finished, the decision still stands without its note
        with contextlib.suppress(RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            study._storage.set_trial_user_attr(trial._trial_id, USER_REASON, reason)
