"""The distributed benchmark's library: the simulated workers, one run of each part, the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest

from optuna_whale.bench import distributed as dist
from optuna_whale.bench.problems import ProblemSpec
from optuna_whale.bench.resumable import read_records
from optuna_whale.bench.samplers import make_sampler

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "distributed"


def test_committed_report_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    records = read_records(RESULTS / "results.jsonl")
    text = dist.report(records, [1, 2, 4, 8], [1, 4, 8], budget=500, dim=10, quick=False)
    assert text == (RESULTS / "report.md").read_text()
    summary = json.dumps(dist.summary(records, 500), indent=1) + "\n"
    assert summary == (RESULTS / "summary.json").read_text()
    dist.plot(records, tmp_path / "distributed.png", 500)
    assert (tmp_path / "distributed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_simulated_worker_is_a_plain_study() -> None:
    one = dist.simulated(8, 2, 1, workers=1, budget=15, seed=0)
    plain = optuna.create_study(sampler=make_sampler("whale", 0))
    plain.optimize(ProblemSpec("bbob", 8, 2, 1).build().objective, n_trials=15)
    assert [t.params for t in one.trials] == [t.params for t in plain.trials]
    four = dist.simulated(8, 2, 1, workers=4, budget=15, seed=0)
    assert len(four.trials) == 15 and all(t.state.is_finished() for t in four.trials)
    # the sampler saw running trials, so it proposed other points
    assert [t.params for t in four.trials] != [t.params for t in one.trials]


def test_quality_run_record() -> None:
    (spec,) = dist.quality_specs("simulated", ["cmaes"], [1], dim=2, workers=[2], seeds=1, budget=12)
    rec = dist.run_quality("unused://", spec)
    assert dist.record_key(rec) == dist.record_key(spec) == ("quality", "simulated", "cmaes", 1, 2, 1, 12)
    assert rec["regret"] >= 1e-8 and rec["log10_regret"] == pytest.approx(np.log10(rec["regret"]))
    with pytest.raises(ValueError, match="mode must be one of"):
        dist.quality_specs("threads", ["whale"], [1], 2, [1], 1, 10)


def test_throughput_run_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    specs = dist.throughput_specs([2], sleep_trials_per_worker=1, fast_trials=4)
    assert len(specs) == 2 * len(dist.SAMPLERS)
    spec = next(s for s in specs if s["objective"] == "sleep-0s" and s["sampler"] == "whale")
    rec = dist.run_throughput(url, spec)
    assert rec["trials"] == 4 and rec["trials_per_second"] == pytest.approx(4 / rec["seconds"])
    assert "url" not in json.dumps(rec) and "sqlite" not in json.dumps(rec)
    assert optuna.get_all_study_names(url) == []  # the study is deleted after use
