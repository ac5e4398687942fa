"""``WhalePruner``: stop trials that cannot win their place in the whale population.

With greedy replacement (:mod:`optuna_whale.core.fold`) a whale moves only to a position at least as
good as its incumbent, so a trial whose learning curve stays clearly worse than the curve that
earned its slot is thrown away anyway. The pruner stops it early.

The rule (values turned into minimisation values ``v' = v`` or ``-v`` for maximisation)
------------------------------------------------------------------------------------------
At a reported step ``s`` of trial ``t`` the *references* are

* the slot's incumbent ``I``: the trial this whale moved from (``parent`` in the trial's whale
  tag, :mod:`optuna_whale.storage_layout`), if it COMPLETEd;
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
whale (:mod:`optuna_whale.core.propose`, step 3); what it showed is lost,
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
patience step); the storage read is the same one ``MedianPruner`` makes. COMPLETE is a final
state, so the pruner keeps what it derives from the completed trials (population, Pareto front,
history curves) until their number changes: the ``O(n log k)`` / ``O(n^2)`` (front) parts are
paid once per completed trial, not once per check. Rule ``"extrapolate"`` adds
``O((history + 1) * 72 * m)`` for the fits (:mod:`optuna_whale.curves`); measured per call in
``benchmarks/results/pruning-overhead``.

Rule ``"extrapolate"``: where the curve is going
-----------------------------------------------
With ``rule="extrapolate"`` the same-step references and ``G(s)`` are replaced by a prediction of
the trial's own final value from its partial curve (:mod:`optuna_whale.curves`, equations
E1-E7: pow3 / log-power / exponential least-squares fits, weighted by how well each family
extrapolated the ``history`` most recent COMPLETE curves of the study from the same prefix).
With ``yhat'_t(s)`` the predicted final value (minimisation sign), ``sigma_t(s)`` its
uncertainty and ``T`` the last step of the longest of those completed curves:

    (P1) o_t(s) = yhat'_t(s) - optimism * sigma_t(s)            (optimistic final value)
    (P2) r* = max(v'_I, v'_L)                                   (final value to beat)
    (P3) behind at s  <=>  o_t(s) > r* + margin * max(|r*|, 1e-12)

A prefix of fewer than 3 finite points has no prediction (``sigma = inf``, never behind), so a
slow starter is not judged on its first steps; crossing curves are kept when their fitted shape
says they end better. Startup, warm-up, interval, patience, NaN and the reason attr are as for
``"gain"``.

Multi-objective studies (``optuna_whale.report`` / ``optuna_whale.should_prune``)
------------------------------------------------------------------------------
Optuna's ``trial.report`` / ``trial.should_prune`` do not work with several objectives, and
``prune`` raises a ``ValueError`` there. The project's helpers
(:mod:`optuna_whale.multiobjective_pruning`) store a vector of intermediate values per step in the
trial's user attrs and call :meth:`WhalePruner.prune_vector`. Objective ``i`` of the trial is
either *reported* (a curve) or *declared* up front (an exact value, e.g. the bytes of a
compressed model, known before fine-tuning). With ``v'_i = v_i`` or ``-v_i`` (maximised),
``F`` the non-dominated set of the COMPLETE trials' values and ``D_i`` the range
``max - min`` of objective ``i`` over the COMPLETE trials (``1e-12`` if 0), the trial's
optimistic final vector at a checked step ``s`` is

    (M1) o_i(s) = v'_i                                    (declared objective: exact)
    (M2) o_i(s) = yhat'_i(s) - optimism * sigma_i(s)      (reported, rule "extrapolate", E6-E7)
    (M3) o_i(s) = v'_i(s) - optimism * G_i(s)             (reported, rule "gain";
         G_i(s) = max_j max(0, v'_ji(s) - v'_ji) over the history's COMPLETE curves)

and the trial is *behind* at ``s`` when a front member dominates it by the margin:

    (M4) exists f in F:  f_i + margin * D_i <= o_i(s) for all i,
                          f_i + margin * D_i <  o_i(s) for some i

The trial is pruned after ``patience`` consecutive behind checked steps (same windows as above);
a NaN in a reported objective at a checked step prunes it; a trial with an objective neither
reported nor declared gets a ``ValueError`` naming it. The whale tag is not used here: with
several objectives a whale's slot is judged by the front, which is what (M4) compares with.
"""

from __future__ import annotations

import contextlib
import heapq
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_whale.curves import extrapolate
from optuna_whale.multiobjective_pruning import declared_values, intermediate_vectors
from optuna_whale.storage_layout import read_tag

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["WhalePruner"]

USER_REASON = "whale_prune_reason"
RULES = ("gain", "extrapolate")


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


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``points`` (minimisation) not dominated by another row."""
    if points.shape[0] == 0:
        return np.zeros(0, dtype=int)
    if points.shape[1] == 2:
        # O(n log n) sweep in lexicographic order: p is dominated iff a point with a smaller
        # first value has a second value <= p's, or one with the same first value a smaller second
        a, b = points[:, 0], points[:, 1]
        order = np.lexsort((b, a))
        a_s, b_s = a[order], b[order]
        start = np.searchsorted(a_s, a_s, side="left")  # first index of each point's a-group
        prefix = np.minimum.accumulate(b_s)
        before = np.where(start > 0, prefix[np.maximum(start - 1, 0)], np.inf)
        dominated = (before <= b_s) | (b_s > b_s[start])
        return np.sort(order[~dominated])
    # any dimension: a dominator precedes its point in lexicographic order, and some front
    # member dominates every dominated point, so comparing with the front found so far suffices
    keep: list[int] = []
    for k in np.lexsort(points.T[::-1]):
        p = points[k]
        if keep:
            f = points[keep]
            if np.any(np.all(f <= p, axis=1) & np.any(f < p, axis=1)):
                continue
        keep.append(int(k))
    return np.sort(np.array(keep, dtype=int))


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
        optimism: Rule ``"gain"``: factor on ``G(s)``, the largest improvement from step ``s`` to
            the end seen in the population (``0``: compare at the same step only). Rule
            ``"extrapolate"``: standard deviations ``sigma`` subtracted from the predicted final
            value (P1, M2). Larger: prune later.
        rule: ``"gain"`` (same-step references plus the remaining gain) or ``"extrapolate"``
            (predicted final value from the trial's partial curve, :mod:`optuna_whale.curves`).
        history: Most recent COMPLETE curves that weigh the extrapolation families (E4-E5) and
            give ``G_i`` in multi-objective studies.

    Multi-objective studies: use :func:`optuna_whale.report` / :func:`optuna_whale.should_prune`
    (rule M1-M4 in the module docstring); :meth:`prune` raises ``ValueError`` there.
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
        rule: str = "gain",
        history: int = 32,
    ) -> None:
        for name, value, minimum in (
            ("n_startup_trials", n_startup_trials, 0),
            ("n_warmup_steps", n_warmup_steps, 0),
            ("interval_steps", interval_steps, 1),
            ("patience", patience, 1),
            ("population_size", population_size, 1),
            ("history", history, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
        for name, number in (("margin", margin), ("optimism", optimism)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not number >= 0 or math.isinf(number):
                raise ValueError(f"`{name}` must be a finite number >= 0, got {number!r}.")
        if rule not in RULES:
            raise ValueError(f"`rule` must be one of {RULES}, got {rule!r}.")
        self._rule = rule
        self._history = history
        #: completed trials are immutable: their curves are parsed once (trial id -> arrays)
        self._curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._cache_owner: tuple[int, int] | None = None
        self._snapshot_key: tuple[Any, ...] | None = None
        self._snapshot: dict[Any, Any] = {}
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
                "WhalePruner.prune cannot be used in a multi-objective study: Optuna does not support "
                "intermediate values (trial.report / should_prune) with several objectives; use "
                "optuna_whale.report(trial, values, step) and optuna_whale.should_prune(trial)."
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
        incumbent, leader, label, population = self._references(study, trial, complete, sign)
        if self._rule == "extrapolate":
            return self._prune_extrapolated(study, trial, complete, recent, sign, incumbent, leader, label)
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

    def _cached(self, study: Study, complete: list[FrozenTrial]) -> dict[Any, Any]:
        """Per-snapshot cache: COMPLETE is a final state, so the set of complete trials of a study
        changes only by growing, and its size identifies it; results derived from it (population,
        front, history curves) are computed once per new completed trial, not once per call."""
        owner = (id(study._storage), study._study_id)
        if owner != self._cache_owner:  # the same pruner object in another study
            self._curves, self._cache_owner = {}, owner
        key = (owner, len(complete))
        if key != self._snapshot_key:
            self._snapshot_key, self._snapshot = key, {}
        return self._snapshot

    def _history_curves(
        self, study: Study, complete: list[FrozenTrial], objective: int | None, sign: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        cache = self._cached(study, complete)
        if ("history", objective, sign) not in cache:
            cache[("history", objective, sign)] = self._build_history(complete, objective, sign)
        return cache[("history", objective, sign)]

    def _build_history(
        self, complete: list[FrozenTrial], objective: int | None, sign: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The ``history`` most recent COMPLETE curves in minimisation sign on a common step grid:
        ``(steps, curves (m, H) with NaN where not reported, final values (m,))``; ``None``
        without any. ``objective=None``: Optuna's intermediate values; else the vectors of
        :mod:`optuna_whale.multiobjective_pruning`."""
        picked: list[tuple[np.ndarray, np.ndarray, float]] = []
        for t in sorted(complete, key=lambda t: t.number, reverse=True):
            key = t._trial_id if objective is None else -1 - t._trial_id
            if key not in self._curves:
                if objective is None:
                    items = sorted((s, v) for s, v in t.intermediate_values.items())
                    st, va = [s for s, _ in items], [v for _, v in items]
                else:
                    objs, st, rows = intermediate_vectors(t)
                    va = [r[objs.index(objective)] for r in rows] if objective in objs else []
                    st = st if va else []
                self._curves[key] = (np.asarray(st, dtype=float), np.asarray(va, dtype=float))
            st_a, va_a = self._curves[key]
            if st_a.size:
                final = t.value if objective is None else t.values[objective]
                picked.append((st_a, sign * va_a, sign * float(final)))  # type: ignore[arg-type]
            if len(picked) >= self._history:
                break
        if not picked:
            return None
        grid = np.unique(np.concatenate([p[0] for p in picked]))
        curves = np.full((len(picked), grid.size), np.nan)
        for row, (st_a, va_a, _) in enumerate(picked):
            curves[row, np.searchsorted(grid, st_a)] = va_a
        return grid, curves, np.array([p[2] for p in picked])

    def _optimistic_final(
        self, steps: np.ndarray, values: np.ndarray, upto: int, hist: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[float, float, float]:
        """``(o, yhat, sigma)`` at step ``upto`` for a curve in minimisation sign: (P1)/(M2) for
        rule ``"extrapolate"``, (M3) for ``"gain"``; ``o = -inf`` when nothing can be said."""
        grid, curves, finals = hist
        mask = (steps <= upto) & np.isfinite(values)
        st, va = steps[mask], values[mask]
        if st.size == 0:
            return -math.inf, math.nan, math.inf
        if self._rule == "gain":
            col = int(np.searchsorted(grid, upto, side="right")) - 1
            gain = 0.0
            if col >= 0:
                at = curves[:, : col + 1]
                # each curve's value at the nearest earlier reported step (as _value_at)
                last = np.array([r[np.isfinite(r)][-1] if np.isfinite(r).any() else np.nan for r in at])
                diff = last - finals
                gain = float(np.nanmax(np.maximum(diff, 0.0))) if np.isfinite(diff).any() else 0.0
            return float(va[-1]) - self._optimism * gain, float(va[-1]), gain  # (M3)
        horizon = int(grid[-1])
        pred = extrapolate(st.astype(int).tolist(), va.tolist(), horizon, curves, grid.astype(int).tolist())
        return pred.value - self._optimism * pred.sigma, pred.value, pred.sigma  # (P1), (M2)

    def _prune_extrapolated(
        self,
        study: Study,
        trial: FrozenTrial,
        complete: list[FrozenTrial],
        recent: list[int],
        sign: float,
        incumbent: FrozenTrial,
        leader: FrozenTrial,
        label: str,
    ) -> bool:
        """Rule ``"extrapolate"`` (P1-P3) at the ``recent`` checked steps."""
        hist = self._history_curves(study, complete, None, sign)
        if hist is None:
            return False
        # (P2)
        target = max(sign * float(incumbent.value), sign * float(leader.value))  # type: ignore[arg-type]
        items = sorted(trial.intermediate_values.items())
        steps = np.array([s for s, _ in items], dtype=float)
        values = sign * np.array([v for _, v in items], dtype=float)
        pred, sigma = math.nan, math.inf
        for s in recent:
            if math.isnan(trial.intermediate_values[s]):
                continue  # NaN at an earlier checked step: behind
            o, pred, sigma = self._optimistic_final(steps, values, s, hist)
            if not o > target + self._margin * max(abs(target), 1e-12):  # (P3)
                return False
        self._mark(
            study,
            trial,
            f"predicted final value {sign * pred:.4g} (sigma {sigma:.3g}) worse than {label} "
            f"#{incumbent.number} and leader #{leader.number} (final {sign * target:.4g}) for "
            f"{self._patience} checked step(s) up to step {recent[-1]}",
        )
        return True

    def prune_vector(self, study: Study, trial: FrozenTrial) -> bool:
        """The multi-objective rule (M1-M4): called by :func:`optuna_whale.should_prune`.

        Raises ``ValueError`` if an objective is neither reported nor declared.
        """
        n_obj = len(study.directions)
        objectives, steps_list, rows = intermediate_vectors(trial)
        declared = declared_values(trial)
        missing = [i for i in range(n_obj) if i not in declared and i not in objectives]
        if missing:
            raise ValueError(
                f"should_prune: objective(s) {missing} of trial #{trial.number} are neither reported "
                "(optuna_whale.report) nor declared (optuna_whale.declare)."
            )
        if not steps_list:
            return False
        step = steps_list[-1]
        checked = _checked_steps(steps_list, self._n_warmup_steps, self._interval_steps)
        if not checked or checked[-1] != step:
            return False
        complete = [
            t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values is not None
        ]
        if len(complete) < max(self._n_startup_trials, 1):
            return False
        values = np.array(rows, dtype=float)  # (steps, reported objectives)
        if np.isnan(values[-1]).any():
            bad = [objectives[j] for j in np.flatnonzero(np.isnan(values[-1]))]
            self._mark(study, trial, f"NaN intermediate value of objective(s) {bad} at step {step}")
            return True
        recent = checked[-self._patience :]
        if len(recent) < self._patience:
            return False
        signs = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions])
        cache = self._cached(study, complete)
        if "front" not in cache:
            finals = np.array([t.values for t in complete], dtype=float) * signs
            spread = np.maximum(finals.max(axis=0) - finals.min(axis=0), 1e-12)
            cache["front"] = (finals[_non_dominated(finals)], spread)
        front, spread = cache["front"]
        hists = {i: self._history_curves(study, complete, i, float(signs[i])) for i in objectives}
        if any(h is None for h in hists.values()):
            return False  # no completed curve of some reported objective: nothing to compare with
        steps = np.array(steps_list, dtype=float)
        row_of = {s: j for j, s in enumerate(steps_list)}
        o = np.empty(n_obj)
        for i, v in declared.items():
            o[i] = signs[i] * v  # (M1)
        for s in recent:
            if np.isnan(values[row_of[s]]).any():
                continue  # NaN at an earlier checked step: behind
            for j, i in enumerate(objectives):
                o[i] = self._optimistic_final(steps, signs[i] * values[:, j], s, hists[i])[0]  # type: ignore[arg-type]
            shifted = front + self._margin * spread  # (M4)
            dominated = np.all(shifted <= o, axis=1) & np.any(shifted < o, axis=1)
            if not dominated.any():
                return False
        shown = ", ".join(f"{signs[i] * o[i]:.4g}" for i in range(n_obj))
        self._mark(
            study,
            trial,
            f"optimistic final vector ({shown}) dominated by the front of {len(front)} completed trial(s) "
            f"(margin {self._margin:g} of each objective's range) for {self._patience} checked step(s) up to "
            f"step {step}, rule {self._rule}",
        )
        return True

    def _references(
        self, study: Study, trial: FrozenTrial, complete: list[FrozenTrial], sign: float
    ) -> tuple[FrozenTrial, FrozenTrial, str, list[FrozenTrial]]:
        """(incumbent ``I``, leader ``L``, how ``I`` was chosen, population ``P``); O(n log k)."""

        k = min(self._population_size, max(1, len(complete) // 2))
        cache = self._cached(study, complete)
        if ("best", sign) not in cache:

            def rank(t: FrozenTrial) -> tuple[float, int]:
                return sign * float(t.value), -t.number  # type: ignore[arg-type]

            cache[("best", sign)] = heapq.nsmallest(k, complete, key=rank)
            cache["by_number"] = {t.number: t for t in complete}
        best: list[FrozenTrial] = cache[("best", sign)]
        leader = best[0]
        tag = read_tag(trial)
        if tag is not None and tag.parent >= 0:
            parent = cache["by_number"].get(tag.parent)
            if parent is not None:
                population = best if any(t.number == parent.number for t in best) else [*best, parent]
                return parent, leader, "its whale's incumbent", population
        return best[-1], leader, f"the weakest of the best {k} completed trials", best

    @staticmethod
    def _mark(study: Study, trial: FrozenTrial, reason: str) -> None:
        # if the trial already finished, the decision still stands without its note
        with contextlib.suppress(RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            study._storage.set_trial_user_attr(trial._trial_id, USER_REASON, reason)
