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

A reference's value at ``s`` is its intermediate value at ``s`` or, if it did not report ``s``,
at the nearest earlier step it reported (no earlier step: no comparison). With
``r(s) = max(I'(s), L'(s))`` (the *weaker* of the two references) the trial is *behind* at ``s`` if

    v'_t(s) > r(s) + margin * max(|r(s)|, 1e-12)

and it is pruned when it has been behind at ``patience`` consecutive checked steps. Steps are
checked when ``s >= n_warmup_steps`` and ``(s - n_warmup_steps) % interval_steps == 0``, and only
once ``n_startup_trials`` trials have COMPLETEd. A NaN intermediate value of the trial prunes
it; NaN values of references are skipped as if not reported. The reason is written to the trial
user attr ``whale_prune_reason`` (shown by optuna-dashboard).

Multi-objective studies cannot report intermediate values in Optuna; the pruner raises a clear
``ValueError`` there.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.storage import read_tag

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["WhalePruner"]

USER_REASON = "whale_prune_reason"


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
        population_size: Largest size ``k`` of the fallback population (best completed trials).
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
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0 or math.isinf(margin):
            raise ValueError(f"`margin` must be a finite number >= 0, got {margin!r}.")
        self._n_startup_trials = n_startup_trials
        self._n_warmup_steps = n_warmup_steps
        self._interval_steps = interval_steps
        self._margin = float(margin)
        self._patience = patience
        self._population_size = population_size

    def _checked(self, step: int) -> bool:
        return step >= self._n_warmup_steps and (step - self._n_warmup_steps) % self._interval_steps == 0

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if len(study.directions) > 1:
            raise ValueError(
                "WhalePruner cannot be used in a multi-objective study: Optuna does not support "
                "intermediate values (trial.report / should_prune) with several objectives."
            )
        step = trial.last_step
        if step is None:
            return False
        value = trial.intermediate_values[step]
        if math.isnan(value):
            self._mark(study, trial, f"NaN intermediate value at step {step}")
            return True
        if not self._checked(step):
            return False
        complete = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)
        if len(complete) < max(self._n_startup_trials, 1):
            return False
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        incumbent, leader, label = self._references(study, trial, complete, sign)
        checked = [s for s in sorted(trial.intermediate_values) if s <= step and self._checked(s)]
        recent = checked[-self._patience :]
        if len(recent) < self._patience:
            return False
        for s in recent:
            v = trial.intermediate_values[s]
            if math.isnan(v):
                return False
            refs = [r for r in (_value_at(incumbent, s), _value_at(leader, s)) if r is not None]
            if len(refs) < 2:
                return False
            weaker = max(sign * r for r in refs)
            if not sign * v > weaker + self._margin * max(abs(weaker), 1e-12):
                return False
        self._mark(
            study,
            trial,
            f"behind {label} #{incumbent.number} and leader #{leader.number} for {self._patience} "
            f"checked step(s) up to step {step}",
        )
        return True

    def _references(
        self, study: Study, trial: FrozenTrial, complete: list[FrozenTrial], sign: float
    ) -> tuple[FrozenTrial, FrozenTrial, str]:
        leader = min(complete, key=lambda t: (sign * float(t.value), -t.number))  # type: ignore[arg-type]
        tag = read_tag(trial)
        if tag is not None and tag.parent >= 0:
            parent = next((t for t in complete if t.number == tag.parent), None)
            if parent is not None:
                return parent, leader, "its whale's incumbent"
        ranked = sorted(complete, key=lambda t: (sign * float(t.value), -t.number))  # type: ignore[arg-type]
        k = min(self._population_size, max(1, len(ranked) // 2))
        return ranked[k - 1], leader, f"the weakest of the best {k} completed trials"

    @staticmethod
    def _mark(study: Study, trial: FrozenTrial, reason: str) -> None:
        # if the trial already finished, the decision still stands without its note
        with contextlib.suppress(RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            study._storage.set_trial_user_attr(trial._trial_id, USER_REASON, reason)
