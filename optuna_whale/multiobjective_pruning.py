"""Intermediate values and pruning in multi-objective studies: ``report``, ``declare``,
``should_prune``.

Optuna's ``trial.report`` / ``trial.should_prune`` raise ``NotImplementedError`` with several
objectives. These helpers work in both kinds of study::

    import optuna_whale

    def objective(trial):
        model = compress(trial)                          # the size is known before training
        optuna_whale.declare(trial, {1: model_bytes(model)})
        for epoch in range(10):
            acc = train_one_epoch(model)
            optuna_whale.report(trial, {0: acc}, epoch)  # or [acc, None]
            if optuna_whale.should_prune(trial):
                raise optuna.TrialPruned()
        return acc, model_bytes(model)

    study = optuna.create_study(directions=["maximize", "minimize"],
                                pruner=optuna_whale.WhalePruner(rule="extrapolate"))

Stored in the trial's user attrs as plain JSON (optuna-dashboard shows them; no pickling):

* ``whale_declared_values``: ``{"<objective index>": value}`` (objectives known up front);
* ``whale_intermediate_values``: ``{"objectives": [i, ...], "steps": [s, ...],
  "values": [[v_i, ...], ...]}``, one row per reported step (ascending), ``null`` for NaN.

In a single-objective study ``report`` calls ``trial.report`` and ``should_prune`` calls
``trial.should_prune`` (any pruner). In a multi-objective study ``should_prune`` asks the
study's pruner: :class:`~optuna_whale.WhalePruner` applies the rule (M1-M4) documented in
:mod:`optuna_whale.pruner`; ``NopPruner`` never prunes; any other pruner is refused with a
``ValueError`` (Optuna's pruners compare single values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial

__all__ = ["declare", "declared_values", "intermediate_vectors", "report", "should_prune"]

ATTR_DECLARED = "whale_declared_values"
ATTR_INTERMEDIATE = "whale_intermediate_values"


def _n_objectives(trial: optuna.Trial) -> int:
    return len(trial.study.directions)


def _check_trial(trial: Any, where: str) -> None:
    if not isinstance(trial, optuna.Trial):
        raise TypeError(f"{where}: `trial` must be an optuna.Trial of a running trial, got {type(trial).__name__}.")


def _as_mapping(values: Any, n: int, name: str) -> dict[int, float]:
    """``values`` as ``{objective index: float}``: a mapping, or a sequence of length ``n`` with
    ``None`` for objectives left out."""
    if isinstance(values, Mapping):
        items = list(values.items())
    elif isinstance(values, Sequence) and not isinstance(values, str):
        if len(values) != n:
            raise ValueError(f"`{name}` must have one entry per objective ({n}), got {len(values)}.")
        items = [(i, v) for i, v in enumerate(values) if v is not None]
    else:
        raise TypeError(f"`{name}` must be a mapping {{objective index: value}} or a sequence of {n} values.")
    out: dict[int, float] = {}
    for i, v in items:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(f"`{name}`: objective index must be an integer in 0..{n - 1}, got {i!r}.")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"`{name}`: objective {i} must be a number, got {v!r}.")
        out[i] = float(v)
    if not out:
        raise ValueError(f"`{name}` holds no value.")
    return out


def declare(trial: optuna.Trial, values: Mapping[int, float] | Sequence[float | None]) -> None:
    """Declare objectives whose final value is known before training (e.g. a model's bytes).

    Multi-objective studies only; call it before the first ``report``. A declared objective
    cannot also be reported. Raises ``ValueError`` naming the bad objective.
    """
    _check_trial(trial, "declare")
    n = _n_objectives(trial)
    if n == 1:
        raise ValueError("declare: a single-objective study has nothing to declare; use report(trial, value, step).")
    new = _as_mapping(values, n, "values")
    for i, v in new.items():
        if not math.isfinite(v):
            raise ValueError(f"declare: objective {i} must be finite, got {v}.")
    attrs = trial.user_attrs
    reported = attrs.get(ATTR_INTERMEDIATE, {}).get("objectives", [])
    both = sorted(set(new) & set(reported))
    if both:
        raise ValueError(f"declare: objective(s) {both} are already reported; an objective is either declared or reported.")
    merged = {**{int(k): float(v) for k, v in attrs.get(ATTR_DECLARED, {}).items()}, **new}
    trial.set_user_attr(ATTR_DECLARED, {str(k): merged[k] for k in sorted(merged)})


def report(trial: optuna.Trial, values: float | Mapping[int, float] | Sequence[float | None], step: int) -> None:
    """Report intermediate values at ``step`` (an int >= 0).

    Single objective: ``values`` is a number (or a one-entry sequence / mapping) and goes to
    ``trial.report``. Several objectives: one value per reported objective, as a mapping
    ``{index: value}`` or a full-length sequence with ``None`` for declared objectives; the same
    objectives at every step. Reporting a step again replaces it (a warning-free overwrite).
    """
    _check_trial(trial, "report")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"report: `step` must be an integer >= 0, got {step!r}.")
    n = _n_objectives(trial)
    if n == 1:
        v = values if isinstance(values, (int, float)) and not isinstance(values, bool) else None
        if v is None:
            v = _as_mapping(values, 1, "values")[0]
        trial.report(float(v), step)
        return
    if isinstance(values, (int, float)):
        raise TypeError(f"report: a study with {n} objectives needs a mapping or a sequence of {n} values.")
    new = _as_mapping(values, n, "values")
    attrs = trial.user_attrs
    declared = {int(k) for k in attrs.get(ATTR_DECLARED, {})}
    both = sorted(set(new) & declared)
    if both:
        raise ValueError(f"report: objective(s) {both} were declared; an objective is either declared or reported.")
    record = attrs.get(ATTR_INTERMEDIATE) or {"objectives": sorted(new), "steps": [], "values": []}
    objectives = list(record["objectives"])
    if sorted(new) != objectives:
        raise ValueError(f"report: report the same objectives at every step: {objectives}, got {sorted(new)}.")
    row = [None if math.isnan(new[i]) else new[i] for i in objectives]
    steps, rows = list(record["steps"]), [list(r) for r in record["values"]]
    if step in steps:
        rows[steps.index(step)] = row
    else:
        at = sum(s < step for s in steps)
        steps.insert(at, step)
        rows.insert(at, row)
    trial.set_user_attr(ATTR_INTERMEDIATE, {"objectives": objectives, "steps": steps, "values": rows})


def should_prune(trial: optuna.Trial) -> bool:
    """Whether to stop ``trial`` now (see the module docstring for which pruners apply)."""
    from optuna_whale.pruner import WhalePruner

    _check_trial(trial, "should_prune")
    if _n_objectives(trial) == 1:
        return trial.should_prune()
    pruner = trial.study.pruner
    if isinstance(pruner, optuna.pruners.NopPruner):
        return False
    if not isinstance(pruner, WhalePruner):
        raise ValueError(
            f"should_prune: a multi-objective study needs pruner=WhalePruner(...) (or NopPruner), "
            f"got {type(pruner).__name__}; Optuna's pruners compare single values."
        )
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return pruner.prune_vector(trial.study, frozen)


def declared_values(trial: FrozenTrial) -> dict[int, float]:
    """``{objective index: value}`` declared for ``trial`` (empty if none)."""
    return {int(k): float(v) for k, v in trial.user_attrs.get(ATTR_DECLARED, {}).items()}


def intermediate_vectors(trial: FrozenTrial) -> tuple[list[int], list[int], list[list[float]]]:
    """``(objectives, steps, values)`` reported by ``trial`` (NaN where ``null`` was stored);
    empty lists if nothing was reported."""
    record = trial.user_attrs.get(ATTR_INTERMEDIATE)
    if not record:
        return [], [], []
    rows = [[math.nan if v is None else float(v) for v in r] for r in record["values"]]
    return [int(i) for i in record["objectives"]], [int(s) for s in record["steps"]], rows
