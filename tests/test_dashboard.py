"""optuna-dashboard serves the whale's trial attrs and the trials' constraints (a real server on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from optuna_whale import WhaleSampler

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_dashboard_serves_whale_attrs(tmp_path: Path) -> None:
    exe = shutil.which("optuna-dashboard")
    if exe is None:
        pytest.skip("optuna-dashboard is not installed (it comes with the dev/bench extras)")
    pytest.importorskip("torch")  # set_constraints lives in optuna_whale.compression
    from optuna_whale.compression.objective import set_constraints

    url = f"sqlite:///{tmp_path / 'dash.db'}"
    study = optuna.create_study(storage=url, study_name="whale-dash", sampler=WhaleSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2, 2)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        set_constraints(trial, {"x_at_most_0": x})
        return x**2 + (act == "relu")

    study.optimize(objective, n_trials=12)
    port = _free_port()
    proc = subprocess.Popen(
        [exe, url, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 150
        summaries = None
        while time.time() < deadline:
            try:
                summaries = _get(f"{base}/api/studies")
                break
            except OSError:
                time.sleep(0.2)
        assert summaries is not None, "optuna-dashboard did not answer within 150 s"
        (summary,) = summaries["study_summaries"]
        assert summary["study_name"] == "whale-dash"
        attrs = {a["key"]: a["value"] for a in summary["user_attrs"]}
        assert json.loads(attrs["whale_sampler"])["variant"] == "default"
        detail = _get(f"{base}/api/studies/{summary['study_id']}")
        assert len(detail["trials"]) == 12
        for served, trial in zip(detail["trials"][1:], study.trials[1:], strict=True):
            user = {a["key"]: a["value"] for a in served["user_attrs"]}
            assert user["whale_slot"] == str(trial.user_attrs["whale_slot"])
            assert user["whale_move"] == trial.user_attrs["whale_move"]
            params = {p["name"]: p["param_external_value"] for p in served["params"]}
            assert params == {k: str(v) for k, v in trial.params.items()}
            # the constraint reaches the dashboard (it reads only the legacy list), once
            assert served["constraints"] == [trial.params["x"]] == list(trial.constraints.values())
            assert user["feasible"] == str(int(trial.params["x"] <= 0))
        union = {a["key"] for a in detail["union_user_attrs"]}
        assert {"whale_slot", "whale_move", "whale_cycle"} <= union
    finally:
        proc.terminate()
        proc.wait(timeout=10)
