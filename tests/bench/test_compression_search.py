"""The compression benchmark's library: settings, merging of parts, report and plot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
from optuna_whale.bench import compression_search as cs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "bench" / "compression"


def test_settings_from_options() -> None:
    s = cs.SearchSettings.from_options({"trials": 4, "uniform_lrs": [3e-3], "quick": True, "out": "x"})
    assert (s.trials, s.uniform_lrs, s.samplers) == (4, (3e-3,), ("whale", "random"))
    with pytest.raises(ValueError, match="samplers must be from"):
        cs.SearchSettings(samplers=("cmaes",))


def test_report_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    # results.json trimmed from a full run; report.md written from it by the benchmark script
    # before its logic moved to the library
    results = json.loads((DATA / "results.json").read_text())
    text = cs.write_outputs(results, str(tmp_path))
    assert text == (DATA / "report.md").read_text()
    assert (tmp_path / "report.md").read_bytes() == (DATA / "report.md").read_bytes()
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "torch 2.14.1+cu130" in text  # the version that produced the results, not the one reporting


def test_script_report_only(tmp_path: Path) -> None:
    shutil.copy(DATA / "results.json", tmp_path / "results.json")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compression.py"), "--report-only", "--out",
                    str(tmp_path)], check=True, cwd=ROOT, capture_output=True)
    assert (tmp_path / "report.md").read_text() == (DATA / "report.md").read_text()


def test_run_image_merges_budgets_and_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = {"bytes": 1000, "accuracy": 0.9}
    monkeypatch.setattr(cs, "image_baseline", lambda settings: (None, None, dict(baseline), None))

    def budget(settings: cs.SearchSettings, *args: Any) -> dict[str, Any]:
        bf, mf = args[-2:]
        return {"bytes_factor": bf, "macs_factor": mf, "uniform": {"run": settings.samplers},
                "searches": {name: {"by": settings.samplers} for name in settings.samplers}}

    monkeypatch.setattr(cs, "image_budget", budget)
    image = cs.run_image(None, cs.SearchSettings(samplers=("whale",)), [(50.0, 10.0)])
    image = cs.run_image(image, cs.SearchSettings(samplers=("random",)), [(50.0, 10.0), (100.0, 20.0)])
    assert sorted(image["budgets"]) == ["100x20", "50x10"]
    # the whale search of the first part is kept, random added; the uniform part is the latest
    assert image["budgets"]["50x10"]["searches"] == {"whale": {"by": ("whale",)}, "random": {"by": ("random",)}}
    assert image["budgets"]["50x10"]["uniform"] == {"run": ("random",)}
    assert list(image["budgets"]["100x20"]["searches"]) == ["random"]
    # another baseline: the previous budgets no longer compare, so they go
    baseline["accuracy"] = 0.8
    image = cs.run_image(image, cs.SearchSettings(samplers=("tpe",)), [(100.0, 20.0)])
    assert list(image["budgets"]) == ["100x20"] and list(image["budgets"]["100x20"]["searches"]) == ["tpe"]
