"""The benchmark harness: adapters against their packages, resumability, statistics, report."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from optuna_whale.bench import stats
from optuna_whale.bench.problems import (
    ProblemSpec,
    _table,
    bbob_optimum,
    decode_grid,
    make_specs,
    parse_range,
)
from optuna_whale.bench.runner import RunSpec, execute

optuna.logging.set_verbosity(optuna.logging.ERROR)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("function, dim", [(1, 2), (8, 5), (15, 3), (24, 2)])
def test_bbob_optimum_is_reached_at_x_opt(function: int, dim: int) -> None:
    problem = ProblemSpec("bbob", function, dim, 2).build()
    f_opt, x_opt = bbob_optimum(function, dim, 2)
    value = problem.evaluate({f"x{i}": float(v) for i, v in enumerate(x_opt)})
    assert value == pytest.approx(f_opt, abs=1e-9)
    assert problem.regret(value) == pytest.approx(0.0, abs=1e-9)
    assert len(problem.search_space) == dim
    # the optimum is shifted away from the origin, as BBOB promises
    assert problem.evaluate({f"x{i}": 0.0 for i in range(dim)}) > f_opt


@pytest.mark.parametrize("suite", ["hpobench", "hpolib", "nasbench201"])
def test_tabular_best_is_reachable_and_grids_are_encoded(suite: str) -> None:
    dataset = make_specs(suite)[0].dataset
    problem = ProblemSpec(suite, dataset=dataset).build()
    bench, grid, kinds, _, best, means = _table(suite, dataset)
    best_id = min(means, key=means.__getitem__)
    params = {}
    for (name, choices), digit in zip(grid.items(), best_id, strict=True):
        dist = problem.search_space[name]
        if kinds[name] is str:
            assert isinstance(dist, CategoricalDistribution)
            params[name] = choices[int(digit)]
        else:
            assert isinstance(dist, IntDistribution) and (dist.low, dist.high) == (0, len(choices) - 1)
            params[name] = int(digit)
            # ordered: index i is the i-th grid value, and grids are sorted
            assert list(choices) == sorted(choices)
            assert decode_grid(choices, kinds[name], int(digit)) == choices[int(digit)]
    assert problem.evaluate(params) == pytest.approx(problem.optimum)
    assert 0.0 <= best < 1.0 or suite == "hpolib"


def test_parse_range_and_bad_suite() -> None:
    assert parse_range("1-3,7") == [1, 2, 3, 7]
    with pytest.raises(ValueError, match="suite"):
        make_specs("cec2017")
    with pytest.raises(ValueError, match="datasets"):
        make_specs("hpobench", datasets_=["mnist"])


def test_runs_resume_and_never_repeat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = RunSpec(ProblemSpec("bbob", 1, 2, 1), "whale", 0, 6)
    execute(spec, url)
    study = optuna.load_study(study_name=spec.study_name, storage=url)
    study.ask()  # a trial left RUNNING, as by a killed run
    first = [(t.number, t.params) for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    rec = execute(RunSpec(spec.problem, "whale", 0, 10), url)
    trials = study.get_trials(deepcopy=False)
    assert [(t.number, t.params) for t in trials if t.number < 6] == first  # kept, not redone
    assert trials[6].state == TrialState.FAIL  # the stale one was closed
    assert len(trials) == 10 and len(rec["values"]) == 10
    execute(RunSpec(spec.problem, "whale", 0, 10), url)
    assert len(study.get_trials(deepcopy=False)) == 10  # finished: nothing more
    assert study.user_attrs["sampler"] == "whale" and study.user_attrs["sampler_settings"]["variant"] == "default"


def test_statistics_on_constructed_data() -> None:
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    curve = stats.regret_curve([5.0, None, 3.0, 4.0, 1.0], optimum=1.0)
    assert curve.tolist() == [4.0, 4.0, 2.0, 2.0, stats.REGRET_FLOOR]
    assert stats.auc(np.array([10.0, 1.0])) == pytest.approx(0.5)
    records = []
    for p in range(6):
        for seed in range(5):
            # "good" reaches 10^-3 at trial 2, "bad" stays at 10 with some seed noise
            records.append(dict(problem_id=f"p{p}", group="g", sampler="good", optimum=0.0, values=[1.0, 1e-3 * (1 + seed)], sampler_seconds=0.0))
            records.append(dict(problem_id=f"p{p}", group="g", sampler="bad", optimum=0.0, values=[10.0 + seed, 10.0 + seed], sampler_seconds=0.0))
    s = stats.summarise(records)
    assert s["ranks"]["g"][2] == {"good": 1.0, "bad": 2.0}
    assert s["wtl"]["g"]["good"]["bad"] == [6, 0, 0]
    (row,) = s["pairwise"]["g"]
    assert row["a_better"] == 6 and row["p"] == pytest.approx(0.03125) and row["p_holm"] == pytest.approx(0.03125)
    good = s["ecdf"]["g"]["good"]
    targets = len(stats.TARGET_EXPONENTS)
    assert good[0] == pytest.approx(3 / targets)  # 10^2, 10^1, 10^0 reached at trial 1
    assert good[1] > good[0]
    assert s["ecdf"]["g"]["bad"][-1] == pytest.approx(sum(1 for k in stats.TARGET_EXPONENTS if 10.0**k >= 14.0) / targets, abs=0.1)


def test_tiny_end_to_end_writes_the_report(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("compare", ROOT / "benchmarks" / "compare.py")
    assert spec and spec.loader
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    out = tmp_path / "rep"
    code = compare.main(["--dims", "2", "--functions", "1", "--seeds", "2", "--budget-per-dim", "5",
                         "--samplers", "whale,random,canonical", "--out", str(out), "--no-progress"])
    assert code == 0
    for name in ("report.md", "runs.jsonl", "summary.json", "ranks.png", "ecdf.png", "curves-bbobd2.png", "studies.db"):
        assert (out / name).exists(), name
    text = (out / "report.md").read_text()
    assert "Mean rank" in text and "whale" in text and math.isfinite(len(text))
    with pytest.raises(SystemExit):
        compare.main(["--samplers", "whale,nope", "--out", str(out)])
