"""The pruner benchmark: library (optuna_whale.bench.pruning) and its thin front end."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optuna_whale import WhalePruner
from optuna_whale.bench import pruning as bench

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "pruning.py"


def test_pruner_specs_parse_and_bad_ones_are_named() -> None:
    assert bench.parse_pruner("whale:optimism=0,patience=2") == ("whale", {"optimism": 0, "patience": 2})
    assert bench.parse_pruner("whale:rule=extrapolate,optimism=0.5") == (
        "whale", {"rule": "extrapolate", "optimism": 0.5})
    assert bench.parse_pruner("median") == ("median", {})
    pruner = bench.make_pruner("whale:rule=extrapolate", epochs=4)
    assert isinstance(pruner, WhalePruner) and pruner._rule == "extrapolate"
    with pytest.raises(ValueError, match="unknown 'nope'"):
        bench.parse_pruner("nope")
    with pytest.raises(ValueError, match="only taken by whale"):
        bench.parse_pruner("median:patience=2")
    with pytest.raises(ValueError, match="rule"):
        bench.make_pruner("whale:rule=nope", epochs=4)


def test_sampler_names_include_the_fallbacks() -> None:
    from optuna_whale import WhaleSampler

    assert isinstance(bench.make_sampler("whale-nocp", 0), WhaleSampler)
    import optuna

    assert isinstance(bench.make_sampler("nsga2", 0), optuna.samplers.NSGAIISampler)
    with pytest.raises(ValueError, match="sampler must be one of"):
        bench.make_sampler("bogus", 0)


def test_upper_median_and_first_hit_agree_with_the_median_curve() -> None:
    """E(q*) (upper median of first-hit times) is where the upper-median curve crosses q*."""
    runs = [
        [(2, 5.0), (4, 3.0), (6, 1.0)],
        [(3, 4.0), (5, 2.0), (6, 2.0)],
        [(1, 9.0), (6, 9.0)],
        [(2, 2.5), (6, 2.5)],
    ]
    assert bench.median([1.0, 2.0, 3.0, 4.0]) == 3.0
    hits = [bench.epochs_to_reach(c, 3.0) for c in runs]
    assert hits == [4.0, 5.0, math.inf, 2.0]
    grid = np.arange(1, 7)
    curve = bench.median(np.array([bench.best_at(c, grid) for c in runs]), axis=0)
    crossing = float(grid[np.flatnonzero(curve <= 3.0)[0]])
    assert crossing == bench.median(hits) == 5.0


def test_hypervolume_2d() -> None:
    assert bench.hypervolume([]) == 0.0
    assert bench.hypervolume([(0.5, 0.5)]) == pytest.approx(0.25)
    # two points: union of [0.2, 1] x [0.6, 1] and [0.6, 1] x [0.1, 1]
    assert bench.hypervolume([(0.2, 0.6), (0.6, 0.1), (0.7, 0.7)]) == pytest.approx(0.8 * 0.4 + 0.4 * 0.5)
    assert bench.hypervolume([(1.2, 0.1)]) == 0.0  # beyond the reference point


def test_target_checks_count_one_validation_example() -> None:
    n_val = bench.validation_size("wine")
    assert n_val == 54
    base = {"target": 0.05, "epochs_to_target": 100.0, "saved": 0.0, "best_n": 0.05}
    summary = {
        "wine/tpe/none": base,
        "wine/tpe/halving": {**base, "epochs_to_target": 70.0, "saved": 0.3},
        "wine/tpe/whale": {**base, "epochs_to_target": 55.0, "saved": 0.45, "best_n": 0.05 + 1 / 54},
        "wine/tpe/bad": {**base, "epochs_to_target": 80.0, "saved": 0.2, "best_n": 0.05 + 2 / 54},
    }
    assert bench.target_checks(summary, "wine", "tpe", "whale", "halving") == {
        "sooner": True, "equal_trials": True, "vs_reference": True}
    assert bench.target_checks(summary, "wine", "tpe", "bad", "halving") == {
        "sooner": False, "equal_trials": False, "vs_reference": False}


def test_multi_objective_task_reports_step_0_before_fine_tuning() -> None:
    pytest.importorskip("torch")
    run = bench._run_mo({"task": "mo-digits", "sampler": "tpe", "pruner": "none", "seed": 0, "epochs": 2,
                         "trials": 3, "budget": 0})
    assert run["trials_run"] == 3 and run["pruned"] == 0
    assert run["epochs_spent"] == 6  # 3 trials x 2 epochs: step 0 is a validation pass, not an epoch
    assert [spent for spent, _ in run["curve"]] == [2, 4, 6]


def test_multi_objective_run_does_not_depend_on_what_its_process_ran_before() -> None:
    torch = pytest.importorskip("torch")
    spec = {"task": "mo-digits", "sampler": "tpe", "pruner": "none", "seed": 1, "epochs": 1, "trials": 3, "budget": 0}
    fronts = []
    for earlier in (0, 1):
        bench._BASE_MODELS.clear()  # the base model is built again, after different global draws
        torch.manual_seed(earlier)
        torch.rand(17 * (earlier + 1))
        fronts.append(bench._run_mo(spec)["front"])
    bench._BASE_MODELS.clear()
    assert fronts[0] == fronts[1]


def test_report_multi_from_constructed_runs(tmp_path: Path) -> None:
    runs = []
    for seed in range(2):
        runs.append(dict(task="mo-digits", sampler="tpe", pruner="none", seed=seed, epochs_spent=100,
                         hypervolume=0.80, pruned=0, seconds=60.0, curve=[(50, 0.5), (100, 0.80)]))
        runs.append(dict(task="mo-digits", sampler="tpe", pruner="whale", seed=seed, epochs_spent=55,
                         hypervolume=0.795, pruned=9, seconds=40.0, curve=[(30, 0.5), (55, 0.795)]))
    text = bench.report_multi(tmp_path, "cmd", runs, ["mo-digits"], ["tpe"], ["none", "whale"], 10, 10, 2)
    assert "| mo-digits | tpe | whale | 55 | 45% | 0.7950 | 0.9938 | 9 | 0.7 |" in text
    assert ">= 40 % fewer epochs: yes (45%); hypervolume within 1 %: yes (-0.62%)" in text
    assert (tmp_path / "hypervolume_vs_epochs.png").stat().st_size > 0


@pytest.mark.skipif(importlib.util.find_spec("lcdb") is None, reason="the lcdb package is not installed")
def test_lcdb_curves_ship_offline() -> None:
    anchors, learners, curves = bench.lcdb_curves(1485)
    assert len(anchors) == 16 and np.all(np.diff(anchors) > 0)
    assert len(learners) == 20 and all(len(c) >= 1 for c in curves)
    assert all(c.shape == anchors.shape and np.all((c >= 0) & (c <= 1)) for cs in curves for c in cs)
    with pytest.raises(ValueError, match="unknown task"):
        bench.check_task("lcdb-x")


def test_tiny_run_writes_report_plot_and_is_resumable(tmp_path: Path) -> None:
    out = tmp_path / "p"
    args = [sys.executable, str(SCRIPT), "--tasks", "synthetic", "--trials", "6", "--epochs", "4", "--seeds", "2",
            "--jobs", "1", "--samplers", "whale,whale-nocp,tpe", "--pruners", "none;halving;whale;whale:rule=extrapolate",
            "--out", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    for sampler in ("whale", "whale-nocp", "tpe"):
        assert f"| synthetic | {sampler} | whale:rule=extrapolate |" in report
    assert "| whale:rule=extrapolate |" in report.split("## Targets")[1]
    assert (out / "best_vs_epochs.png").stat().st_size > 0
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 4 * 2
    # resumable: the same command runs nothing new; the report is rebuilt byte for byte
    again = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert (out / "runs.jsonl").read_text().splitlines() == lines
    assert (out / "report.md").read_text() == report
    rebuilt = subprocess.run([*args, "--report-only"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (out / "report.md").read_text() == report


def test_bad_arguments_are_refused_with_the_option_named(tmp_path: Path) -> None:
    for args, name in (
        (["--pruners", "median;whale"], "--pruners"),
        (["--pruners", "none;bogus"], "--pruners"),
        (["--samplers", "whale,cmaes"], "--samplers"),
        (["--tasks", "nope"], "--tasks"),
        (["--tasks", "mo-digits", "--pruners", "none;median"], "--pruners"),
        (["--tasks", "mo-digits,wine"], "--tasks"),
    ):
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), *args, "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert proc.returncode == 2 and name in proc.stderr, (args, proc.stderr)
