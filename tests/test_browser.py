"""Real-browser check: optuna-dashboard renders a constrained WhaleSampler study in headless
Chromium and shows which trials are feasible."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _screenshot_module() -> object:
    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "docs" / "screenshot.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboard_shows_feasibility_in_headless_chromium(tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("LOUD SKIP: Debian's 'chromium' is not installed (.ci/run installs it)")
    if shutil.which("optuna-dashboard") is None:
        pytest.skip("LOUD SKIP: optuna-dashboard is not installed (it comes with the dev extra)")
    pytest.importorskip("torch")  # the demo's constraint goes through optuna_whale.compression
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    _, study_id = _screenshot_module().make_demo_study(url)  # type: ignore[attr-defined]
    study = optuna.load_study(study_name="whale-demo", storage=url)
    infeasible = [t for t in study.trials if t.user_attrs["feasible"] == 0]
    assert infeasible and len(infeasible) < len(study.trials)
    shown = infeasible[-1]
    (value,) = shown.constraints.values()  # one constraint, counted once
    assert value > 0 and shown.user_attrs["constraint:x_at_most_1"] == value

    out, dom = tmp_path / "shot.png", tmp_path / "dom"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "screenshot.py"), "--storage", url, "--study-id", str(study_id),
         "--trial", str(shown.number), "--out", str(out), "--timeout", "150", "--dump-dom", str(dom)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 30_000  # a rendered page, not an empty frame
    # the trial's page shows its feasibility and constraint value
    trial_page = (dom / "trial.html").read_text()
    assert f"feasible {0}<" in trial_page
    assert f"constraint:x_at_most_1 {value!r}<" in trial_page
    # the dashboard read the constraints: its plots draw the infeasible trials as their own trace
    study_page = (dom / "study.html").read_text()
    assert re.search(r">Infeasible<", study_page), "no 'Infeasible' trace: the dashboard saw no constraint"
    assert json.loads(json.dumps(shown.system_attrs["constraints"])) == [value]
