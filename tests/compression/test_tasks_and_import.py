from __future__ import annotations

import subprocess
import sys

import optuna

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
    assert t.constraints["bytes"] == t.user_attrs["bytes"] / task.metadata["max_bytes"] - 1


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
