"""The multi-objective benchmark's library: hypervolumes, runs, resumable loop, reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optuna_whale.bench import multiobjective as mo
from optuna_whale.bench import multiobjective_report
from optuna_whale.bench.resumable import read_records, run_and_append

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "bench"
# the fixtures' reports were written by the benchmark script before its logic moved to the library
BIOBJ_COMMAND = ("python benchmarks/multiobjective.py --functions 1,10 --dims 2 --instance 1 --seeds 2 --trials 30 "
                 "--checkpoints 10,30 --samplers whale,nsga2,random --gp-max-trials 100 --gp-max-dim 5")
COMPRESSION_COMMAND = ("python benchmarks/multiobjective.py --suite compression --problems digits:8,mnist5k:6 "
                       "--seeds 2 --samplers whale,nsga2,random --nsga2-population 10 --jobs 1")


def test_hypervolume_of_a_constructed_front() -> None:
    ideal, nadir = np.array([1.0, 2.0]), np.array([3.0, 6.0])  # normalised: (f - ideal) / (2, 4)
    values = np.array([[2.0, 4.0], [1.5, 5.0], [4.0, 2.0], [2.0, 4.0]])  # (.5, .5), (.25, .75), beyond, again
    # (.5,.5) alone: 0.25; with (.25,.75): 0.25 + 0.1875 - 0.125; a point beyond the nadir or a repeat adds nothing
    assert mo.hypervolume_curve(values, ideal, nadir, [1, 2, 3, 4]) == pytest.approx([0.25, 0.3125, 0.3125, 0.3125])
    assert mo.hypervolume_curve(values[2:3], ideal, nadir, [1]) == [0.0]


def test_compression_hypervolume_is_accuracy_times_decades() -> None:
    base = 1e6
    values = np.array([[0.9, base], [0.9, base / 100], [0.5, base / 1000]])
    # at the baseline's size nothing; 0.9 held over 2 decades: 1.8; 0.5 over the third decade: +0.5
    assert mo.compression_hv_curve(values, base, [1, 2, 3]) == pytest.approx([0.0, 1.8, 2.3])
    assert mo.compression_points(values[1:2], base) == pytest.approx(np.array([[0.1, -2.0]]))


def test_nondominated() -> None:
    v = np.array([[1.0, 3.0], [2.0, 2.0], [2.0, 3.0], [3.0, 1.0], [1.0, 3.0], [0.5, 4.0]])
    assert multiobjective_report.nondominated(v).tolist() == [0, 1, 3, 4, 5]


def test_grid_specs_and_problem_parsing() -> None:
    specs = mo.biobj_specs([1, 2], [2, 10], 1, ["whale", "gp"], seeds=2, trials=300, gp_max_trials=100, gp_max_dim=5)
    assert len(specs) == 2 * 2 * 2 + 2 * 2  # gp only at d = 2
    assert {s["trials"] for s in specs if s["sampler"] == "gp"} == {100}
    assert mo.run_key(specs[0], mo.BIOBJ_KEY) == (1, 2, 1, "whale", 0, 300)
    assert mo.parse_problems("digits:60,mnist5k:40") == {"digits": 60, "mnist5k": 40}
    with pytest.raises(ValueError, match="digits"):
        mo.parse_problems("cifar:10")
    comp = mo.compression_specs({"digits": 8}, ["nsga2"], 1, nsga2_population=6)
    assert mo._sampler(comp[0]).__class__.__name__ == "NSGAIISampler"
    assert mo._sampler(comp[0])._population_size == 6  # type: ignore[attr-defined]


def test_a_recorded_run_is_reproduced() -> None:
    recorded = read_records(DATA / "multiobjective-biobj" / "runs.jsonl")[0]
    spec = {k: recorded[k] for k in mo.BIOBJ_KEY}
    again = mo.run_one(spec)
    # the same proposals give the same values; numpy builds may differ in the last bit
    np.testing.assert_allclose(again["values"], recorded["values"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(again["nadir"], recorded["nadir"], rtol=1e-12, atol=0)


def test_run_and_append_resumes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "runs.jsonl"
    first = run_and_append([{"k": 1}, {"k": 2}], dict, path)
    assert first == [{"k": 1}, {"k": 2}] and read_records(path) == first
    more = run_and_append([{"k": 3}], dict, path, jobs=2)  # a picklable run in a process pool
    assert more == [{"k": 3}] and [r["k"] for r in read_records(path)] == [1, 2, 3]
    assert read_records(tmp_path / "missing.jsonl") == []
    with pytest.raises(ValueError, match="jobs"):
        run_and_append([], dict, path, jobs=0)


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    """Nested dicts and lists as one flat dict (pytest.approx compares flat mappings only)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}/{i}").items()}
    return {prefix: value}


@pytest.mark.parametrize("suite", ["biobj", "compression"])
def test_report_is_rebuilt_byte_for_byte(suite: str, tmp_path: Path) -> None:
    data = DATA / f"multiobjective-{suite}"
    records = read_records(data / "runs.jsonl")
    if suite == "biobj":
        text = multiobjective_report.write_biobj(records, tmp_path, BIOBJ_COMMAND, ["whale", "nsga2", "random"],
                                                 [10, 30], 30)
    else:
        text = multiobjective_report.write_compression(records, tmp_path, COMPRESSION_COMMAND,
                                                       ["whale", "nsga2", "random"], {"digits": 8, "mnist5k": 6}, 2)
    assert text == (data / "report.md").read_text()
    assert (tmp_path / "report.md").read_bytes() == (data / "report.md").read_bytes()
    # the summary's floats may differ in the last digit with another numpy (the Markdown rounds them)
    assert _flat(json.loads((tmp_path / "summary.json").read_text())) == pytest.approx(
        _flat(json.loads((data / "summary.json").read_text())), rel=1e-12)
    for png in ("hv_curves.png", "fronts.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_script_rebuilds_the_report_from_its_runs(tmp_path: Path) -> None:
    shutil.copy(DATA / "multiobjective-compression" / "runs.jsonl", tmp_path / "runs.jsonl")
    args = COMPRESSION_COMMAND.split()[2:]
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "multiobjective.py"), *args, "--out", str(tmp_path)],
                   check=True, cwd=ROOT, capture_output=True)
    assert (tmp_path / "report.md").read_text() == (DATA / "multiobjective-compression" / "report.md").read_text()
    assert len(read_records(tmp_path / "runs.jsonl")) == 12  # nothing was rerun
