"""benchmarks/pruning.py: pruner specs, the median-curve measure and a tiny end-to-end run."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optuna_whale import WhalePruner

ROOT = Path(__file__).resolve().parents[2]


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("pruning_bench", ROOT / "benchmarks" / "pruning.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pruner_specs_parse_and_bad_ones_are_named() -> None:
    bench = _load()
    assert bench.parse_pruner("whale:optimism=0,patience=2") == ("whale", {"optimism": 0.0, "patience": 2})
    assert bench.parse_pruner("median") == ("median", {})
    pruner = bench.make_pruner("whale:optimism=0", epochs=4)
    assert isinstance(pruner, WhalePruner) and pruner._optimism == 0.0
    with pytest.raises(ValueError, match="unknown 'nope'"):
        bench.parse_pruner("nope")
    with pytest.raises(ValueError, match="only taken by whale"):
        bench.parse_pruner("median:patience=2")


def test_upper_median_and_first_hit_agree_with_the_median_curve() -> None:
    """E(q*) (upper median of first-hit times) is where the upper-median curve crosses q*."""
    bench = _load()
    runs = [
        [(2, 5.0), (4, 3.0), (6, 1.0)],
        [(3, 4.0), (5, 2.0), (6, 2.0)],
        [(1, 9.0), (6, 9.0)],
        [(2, 2.5), (6, 2.5)],
    ]
    assert bench.median([1.0, 2.0, 3.0, 4.0]) == 3.0  # even count: the upper middle value
    hits = [bench.epochs_to_reach(c, 3.0) for c in runs]
    assert hits == [4.0, 5.0, math.inf, 2.0]
    grid = np.arange(1, 7)
    curve = bench.median(np.array([bench.best_at(c, grid) for c in runs]), axis=0)
    crossing = float(grid[np.flatnonzero(curve <= 3.0)[0]])
    assert crossing == bench.median(hits) == 5.0


def test_tiny_run_writes_report_verdicts_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "p"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pruning.py"), "--tasks", "synthetic", "--trials", "6",
         "--epochs", "4", "--seeds", "2", "--jobs", "1", "--samplers", "whale,whale-nocp,tpe",
         "--pruners", "none;median;whale;whale:optimism=0", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    for sampler in ("whale", "whale-nocp", "tpe"):
        assert f"| synthetic | {sampler} | whale:optimism=0 |" in report
        assert f"- synthetic, {sampler} sampler (whale:optimism=0):" in report
    assert (out / "best_vs_epochs.png").stat().st_size > 0
    assert len((out / "runs.jsonl").read_text().splitlines()) == 3 * 4 * 2
    # the report is rebuilt from runs.jsonl alone, byte for byte
    before = report
    rebuilt = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pruning.py"), "--report-only", "--tasks", "synthetic",
         "--trials", "6", "--epochs", "4", "--seeds", "2", "--samplers", "whale,whale-nocp,tpe",
         "--pruners", "none;median;whale;whale:optimism=0", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (out / "report.md").read_text() == before


def test_bad_arguments_are_refused_with_the_option_named(tmp_path: Path) -> None:
    for args, name in (
        (["--pruners", "none;whale"], "--pruners"),
        (["--pruners", "none;median;bogus"], "--pruners"),
        (["--samplers", "whale,cmaes"], "--samplers"),
    ):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "pruning.py"), "--tasks", "synthetic", *args,
             "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert proc.returncode == 2 and name in proc.stderr, proc.stderr
