from __future__ import annotations

import subprocess
import sys

import optuna
import pytest

from optuna_whale.compression.tasks import digits_task


def test_digits_task_runs_a_constrained_trial() -> None:
    task = digits_task(seed=0, width=8, train_epochs=2, size_fraction=0.2)
    assert task.directions == ["maximize"]
    base = task.metadata["baseline"]
    assert task.metadata["max_bytes"] == 0.2 * base["bytes"]
    study = optuna.create_study(directions=task.directions)
    study.optimize(task.objective, n_trials=1)
    t = study.trials[0]
    assert t.state == optuna.trial.TrialState.COMPLETE
    assert t.value == t.user_attrs["accuracy"]
    assert t.user_attrs["constraint:bytes"] == t.user_attrs["bytes"] / task.metadata["max_bytes"] - 1
    assert list(t.constraints.values()) == [t.user_attrs["constraint:bytes"]]


def test_every_trial_is_scored_on_the_real_metric_with_the_budget_as_one_constraint() -> None:
    """Over-budget trials keep their validation loss as value (no penalty); the budget is one
    constraint that Optuna (samplers, best_trial) and optuna-dashboard read."""
    task = digits_task(seed=0, width=8, train_epochs=2, size_fraction=0.1, objective="val_loss")
    assert task.directions == ["minimize"] and task.metadata["objective"] == "val_loss"
    assert task.metadata["baseline"]["val_loss"] > 0
    study = optuna.create_study(directions=task.directions, sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.NopPruner())
    keep = {"quantization": "none", "lr": 1e-3, "finetune_epochs": 1, "rank_ratio:fc1": 1.0}
    study.enqueue_trial({**keep, "prune_ratio:conv1": 0.0, "prune_ratio:conv2": 0.0, "prune_ratio:fc1": 0.0})
    study.enqueue_trial({**keep, "prune_ratio:conv1": 0.5, "prune_ratio:conv2": 0.7, "prune_ratio:fc1": 0.8,
                         "quantization": "dynamic_int8"})
    study.optimize(task.objective, n_trials=2)
    over, within = study.trials
    for t in (over, within):
        assert t.value == t.user_attrs["val_loss"] and 0 < t.value < 5  # a loss, not a penalty
        (c,) = t.constraints.values()  # one constraint, read back once (no double count)
        assert c == t.user_attrs["constraint:bytes"] == t.user_attrs["bytes"] / task.metadata["max_bytes"] - 1
        # what optuna-dashboard 0.21 reads: the list in the system attr "constraints"
        assert t.system_attrs["constraints"] == [c]
    assert over.user_attrs["feasible"] == 0 and within.user_attrs["feasible"] == 1
    assert study.best_trial.number == within.number  # Optuna ranks only feasible trials


def test_set_constraints_without_a_storage_and_bad_values() -> None:
    from optuna_whale.compression.objective import build_objective, set_constraints

    fixed = optuna.trial.FixedTrial({})
    set_constraints(fixed, {"bytes": 0.5, "macs": -1.0})
    assert fixed.constraints == {"bytes": 0.5, "macs": -1.0} and fixed.user_attrs["feasible"] == 0
    with pytest.raises(ValueError, match="NaN"):
        set_constraints(optuna.trial.FixedTrial({}), {"bytes": float("nan")})
    with pytest.raises(ValueError, match="objective='error'.*accuracy.*val_loss"):
        build_objective(None, None, None, None, objective="error")  # type: ignore[arg-type]


def test_one_task_registry_serves_the_cli_and_the_harness() -> None:
    """The CLI's task table and expected time come from the harness's registry, without torch."""
    code = (
        "import sys, inspect\n"
        "from optuna_whale import cli\n"
        "from optuna_whale.bench import compression as c\n"
        "assert 'torch' not in sys.modules, 'the CLI imported torch'\n"
        "assert cli.COMPRESSION_TASKS == {n: (t.default_trials, t.description) for n, t in c.TASKS.items()}\n"
        "assert cli.EXPECTED_TIME is c.EXPECTED_TIME\n"
        "from optuna_whale.compression import tasks\n"
        "for t in c.TASKS.values():\n"
        "    inspect.signature(getattr(tasks, t.builder)).bind(seed=0, threads=1, **t.settings)\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_import_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import optuna_whale.compression\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "'compress' extra" in out.stdout and 'optuna-whale[compress]' in out.stdout, out.stderr
    # the top-level package stays importable without torch
    code2 = "import sys; sys.modules['torch'] = None\nimport optuna_whale; print('ok')"
    out2 = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, timeout=60)
    assert out2.stdout.strip() == "ok", out2.stderr
