"""The benchmark harness: adapters against their packages, resumability, statistics, report."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from optuna_whale.bench import problems as problems_mod
from optuna_whale.bench import stats
from optuna_whale.bench.problems import (
    Problem,
    ProblemSpec,
    _table,
    bbob_optimum,
    decode_grid,
    make_specs,
    parse_range,
    register_suite,
)
from optuna_whale.bench.report import feasible_shares, feasible_values
from optuna_whale.bench.runner import RunSpec, copy_finished_study, execute, redact_url

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


@pytest.mark.parametrize("function, dim", [(1, 2), (10, 2), (33, 5), (54, 3)])
def test_bbob_constrained_optimum_is_feasible_and_trials_carry_the_constraints(function: int, dim: int) -> None:
    spec = ProblemSpec("bbob-constrained", function, dim, 1)
    problem = spec.build()
    assert spec.id == f"bbob-constrained-f{function:02d}-d{dim:02d}-i01" and spec.group == f"bbob-constrained d={dim}"
    raw, f_opt, x_opt = problems_mod._coco_problem("bbob-constrained", function, dim, 1)
    assert problem.optimum == f_opt and np.all(raw.constraint(x_opt) <= 0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(problem.objective, n_trials=30)
    assert all(len(t.constraints) == raw.number_of_constraints for t in study.trials)
    feasible = [all(c <= 0 for c in t.constraints.values()) for t in study.trials]
    # a feasible trial is never better than the constrained optimum; some trial is infeasible
    assert all(t.value >= f_opt - 1e-9 for t, ok in zip(study.trials, feasible, strict=True) if ok)
    assert not all(feasible) or function == 1
    with pytest.raises(ValueError, match="1..54"):
        ProblemSpec("bbob-constrained", 55, 2, 1).build()


def test_constrained_runs_count_feasible_trials_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    rec = execute(RunSpec(ProblemSpec("bbob-constrained", 19, 2, 1), "random", 0, 40), url)
    study = optuna.load_study(study_name=RunSpec(ProblemSpec("bbob-constrained", 19, 2, 1), "random", 0, 40).study_name,
                              storage=url)
    want = [all(c <= 0 for c in t.constraints.values()) for t in study.trials]
    assert rec["feasible"] == want and 0 < sum(want) < 40
    values = feasible_values(rec)
    assert [v is not None for v in values] == want
    # the unconstrained best can be lower than every feasible value: the report reads the feasible ones
    assert min(v for v in values if v is not None) >= rec["optimum"] - 1e-9
    share, none, runs = feasible_shares([rec, {**rec, "feasible": [False] * 40}])[rec["group"]]["random"]
    assert (none, runs) == (1, 2) and share == pytest.approx(sum(want) / 80)


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
    # the failed trial does not count: 10 complete trials, 11 in all
    assert len(trials) == 11 and sum(t.state == TrialState.COMPLETE for t in trials) == 10
    assert len(rec["values"]) == 10 and None not in rec["values"] and rec["failed_trials"] == 1
    # per-trial sampler time: recorded for every trial this harness ran (not for the stale one)
    assert all(isinstance(x, float) and x >= 0 for x in rec["sampler_ms"])
    execute(RunSpec(spec.problem, "whale", 0, 10), url)
    assert len(study.get_trials(deepcopy=False)) == 11  # finished: nothing more
    assert study.user_attrs["sampler"] == "whale" and study.user_attrs["sampler_settings"]["variant"] == "default"


def test_checkpoint_run_copies_finished_runs_and_continues_partial_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = RunSpec(ProblemSpec("bbob", 3, 2, 1), "tpe", 1, 8)
    rec = execute(spec, url, checkpoint="run")
    study = optuna.load_study(study_name=spec.study_name, storage=url)
    stored = [(t.number, t.value) for t in study.trials]
    assert len(stored) == 8 and [v for _, v in stored] == rec["values"]
    assert study.user_attrs["optimum"] == rec["optimum"] and all("sampler_ms" in t.user_attrs for t in study.trials)
    assert execute(spec, url, checkpoint="run")["values"] == rec["values"]  # finished: not redone
    assert [(t.number, t.value) for t in optuna.load_study(study_name=spec.study_name, storage=url).trials] == stored
    # a partial study (e.g. from --checkpoint trial) is continued in place, not restarted
    partial = RunSpec(spec.problem, "random", 0, 6)
    execute(RunSpec(spec.problem, "random", 0, 3), url, checkpoint="trial")
    first = [t.params for t in optuna.load_study(study_name=partial.study_name, storage=url).trials]
    execute(partial, url, checkpoint="run")
    after = optuna.load_study(study_name=partial.study_name, storage=url).trials
    assert len(after) == 6 and [t.params for t in after[:3]] == first
    with pytest.raises(ValueError, match="checkpoint"):
        execute(spec, url, checkpoint="never")


def _toy_build(spec: ProblemSpec) -> Problem:
    space = {"x": IntDistribution(0, 9)}
    return Problem(spec, space, lambda p: float((p["x"] - 3) ** 2), 0.0)


def _toy_names() -> list[str]:
    return ["a", "b"]


def test_registered_suite_runs_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(problems_mod, "_REGISTRY", {})
    register_suite("toy", _toy_build, _toy_names)
    assert problems_mod.all_suites()[-1] == "toy"
    specs = make_specs("toy")
    assert [s.dataset for s in specs] == ["a", "b"] and specs[0].group == "toy"
    with pytest.raises(ValueError, match="datasets"):
        make_specs("toy", datasets_=["z"])
    with pytest.raises(ValueError, match="built in"):
        register_suite("bbob", _toy_build, _toy_names)
    rec = execute(RunSpec(specs[0], "random", 0, 30), f"sqlite:///{tmp_path / 't.db'}")
    assert min(v for v in rec["values"] if v is not None) == 0.0  # 10 grid points, 30 trials
    assert rec["run_problem"] == "toy-a"


def test_compression_suite_records_the_real_metric_and_the_budget_constraint(tmp_path: Path) -> None:
    from optuna_whale.bench import compression

    assert "compression" in problems_mod.all_suites()
    spec = make_specs("compression", datasets_=["digits-tiny"])[0]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    rec = execute(RunSpec(spec, "random", 0, 4), url)
    assert rec["optimum"] == 0.0 and rec["problem_metadata"]["objective"] == "val_loss"
    study = optuna.load_study(study_name=RunSpec(spec, "random", 0, 4).study_name, storage=url)
    for t, value, m in zip(study.trials, rec["values"], rec["metrics"], strict=True):
        # the value is the validation loss whether the trial is within the budget or not
        assert value == t.user_attrs["val_loss"] == t.value
        assert list(t.constraints.values()) == [t.user_attrs["constraint:bytes"]]  # stored once
        assert m["feasible"] == bool(t.user_attrs["feasible"]) == (t.user_attrs["constraint:bytes"] <= 0)
    with pytest.raises(ValueError, match="digits-tiny"):
        compression.build_task("nope")


def _rich_study() -> optuna.Study:
    """An in-memory study with every kind of trial content (states, inf/NaN-free values,
    intermediate values incl. inf, every distribution, user and system attrs)."""
    from optuna_whale import WhaleSampler

    study = optuna.create_study(study_name="rich", sampler=WhaleSampler(seed=0))
    study.set_user_attr("problem", "p")
    study.set_user_attr("optimum", 1.5)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2, 2)
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_int("n", 1, 9, step=2)
        c = trial.suggest_categorical("c", ["a", None, 3])
        trial.report(float("inf") if trial.number == 1 else x, 0)
        trial.set_user_attr("nested", {"k": [1, 2.5, "s"]})
        if trial.number == 3:
            raise optuna.TrialPruned()
        if trial.number == 4:
            raise RuntimeError("fails")
        return x**2 + (c is None)

    study.optimize(objective, n_trials=8, catch=(RuntimeError,))
    return study


def test_bulk_copy_writes_what_copy_study_writes(tmp_path: Path) -> None:
    src = _rich_study()
    fast = f"sqlite:///{tmp_path / 'fast.db'}"
    slow = f"sqlite:///{tmp_path / 'slow.db'}"
    copy_finished_study(src, fast)
    optuna.copy_study(from_study_name="rich", from_storage=src._storage, to_storage=slow)
    a, b = (optuna.load_study(study_name="rich", storage=url) for url in (fast, slow))
    assert a.user_attrs == b.user_attrs == src.user_attrs
    assert a._storage.get_study_system_attrs(a._study_id) == b._storage.get_study_system_attrs(b._study_id) != {}
    assert a.directions == b.directions
    ta, tb = a.get_trials(), b.get_trials()
    assert len(ta) == len(tb) == 8
    assert {t.state for t in ta} == {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}
    for x, y in zip(ta, tb, strict=True):
        for field in ("number", "state", "values", "params", "distributions", "user_attrs",
                      "system_attrs", "intermediate_values", "datetime_start", "datetime_complete"):
            assert getattr(x, field) == getattr(y, field), field


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://bob:s3cret@db.example:5432/optuna") == "postgresql://bob:***@db.example:5432/optuna"
    assert "s3cret" not in redact_url("mysql+pymysql://u:s3cret@h/x")
    assert redact_url("sqlite:///out/studies.db") == "sqlite:///out/studies.db"


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
    # at trial 1, "good" (1.0) still beats "bad" (10+seed); fractions map to per-group budgets
    assert stats.summarise(records, fractions=[0.5, 1.0])["ranks"]["g"] == {1: {"good": 1.0, "bad": 2.0}, 2: {"good": 1.0, "bad": 2.0}}
    assert stats.group_budgets(250, [50, 400], [0.2, 1.0]) == [50, 250]
    with pytest.raises(ValueError, match="fractions"):
        stats.group_budgets(10, None, [1.5])
    assert s["wtl"]["g"]["good"]["bad"] == [6, 0, 0]
    (row,) = s["pairwise"]["g"]
    assert (row["a"], row["b"]) == ("bad", "good")  # columns in a fixed order, not finishing order
    assert row["b_better"] == 6 and row["a_better"] == 0 and row["p"] == pytest.approx(0.03125) and row["p_holm"] == pytest.approx(0.03125)
    good = s["ecdf"]["g"]["good"]
    targets = len(stats.TARGET_EXPONENTS)
    assert good[0] == pytest.approx(3 / targets)  # 10^2, 10^1, 10^0 reached at trial 1
    assert good[1] > good[0]
    assert s["ecdf"]["g"]["bad"][-1] == pytest.approx(sum(1 for k in stats.TARGET_EXPONENTS if 10.0**k >= 14.0) / targets, abs=0.1)


def test_whale_behind_lists_only_problems_where_another_sampler_is_better() -> None:
    records = []
    for seed in range(5):
        # p0: whale 10x worse than tpe (significant); p1: whale best; p2: random slightly better
        for pid, vals in (("p0", {"whale": 1e-1, "tpe": 1e-2, "random": 1.0}),
                          ("p1", {"whale": 1e-4, "tpe": 1e-2, "random": 1.0}),
                          ("p2", {"whale": 0.5, "tpe": 2.0, "random": 0.4})):
            for sampler, v in vals.items():
                noise = 1 + 0.01 * seed
                records.append(dict(problem_id=pid, group="g", sampler=sampler, optimum=0.0, values=[v * noise], sampler_seconds=0.0))
    rows = stats.summarise(records)["behind"]["g"]
    assert [r["problem"] for r in rows] == ["p0", "p2"]  # largest ratio first, p1 absent
    assert rows[0]["best"] == "tpe" and rows[0]["ratio"] == pytest.approx(10.0) and rows[0]["p"] < 0.05
    assert rows[1]["best"] == "random" and rows[1]["ratio"] == pytest.approx(1.25)
    assert "behind" in stats.summarise([r for r in records if r["sampler"] != "whale"]) and not stats.summarise(
        [r for r in records if r["sampler"] != "whale"]
    )["behind"]


def test_pairwise_test_counts_problems_no_sampler_solved_as_ties() -> None:
    """A problem where neither sampler found a feasible trial (both medians inf) is a tie: it
    must not turn the signed-rank p-value into nan."""
    records = []
    for p in range(6):
        for seed in range(3):
            unsolved = p >= 4
            good = [None, None] if unsolved else [1.0, 1e-3 * (1 + seed)]
            bad = [None, None] if unsolved else [10.0 + seed, 10.0 + seed]
            records.append(dict(problem_id=f"p{p}", group="g", sampler="good", optimum=0.0, values=good, sampler_seconds=0.0))
            records.append(dict(problem_id=f"p{p}", group="g", sampler="bad", optimum=0.0, values=bad, sampler_seconds=0.0))
    (row,) = stats.summarise(records)["pairwise"]["g"]
    assert row["n"] == 6 and row["b_better"] == 4 and row["a_better"] == 0
    assert row["p"] == pytest.approx(0.125)  # exact two-sided p of 4 same-sign differences


def test_tiny_end_to_end_writes_the_report(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("compare", ROOT / "benchmarks" / "compare.py")
    assert spec and spec.loader
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    out = tmp_path / "rep"
    code = compare.main(["--dims", "2", "--functions", "1", "--seeds", "2", "--budget-per-dim", "5",
                         "--samplers", "whale,random,canonical", "--out", str(out), "--no-progress"])
    assert code == 0
    assert not (out / "studies.db-wal").exists()  # one self-contained SQLite file
    for name in ("report.md", "runs.jsonl", "results.csv", "summary.json", "ranks.png", "ecdf.png", "curves-bbobd2.png", "studies.db"):
        assert (out / name).exists(), name
    text = (out / "report.md").read_text()
    assert "Mean rank" in text and "whale" in text and "ms per trial" in text
    assert "Where WhaleSampler is not first" in text
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2 and rows[0].startswith("group,problem")
    assert all(math.isfinite(float(r.split(",")[6])) for r in rows[1:])  # final regret
    with pytest.raises(SystemExit):
        compare.main(["--samplers", "whale,nope", "--out", str(out)])
    with pytest.raises(SystemExit):
        compare.main(["--suite", "bbob,cec", "--out", str(out)])
    with pytest.raises(SystemExit):
        compare.main(["--budget-fractions", "0,1", "--out", str(out)])
    # --report-only on a larger grid: reports the finished runs, runs nothing
    before = (out / "studies.db").stat().st_size
    code = compare.main(["--dims", "2", "--functions", "1,2", "--seeds", "2", "--budget-per-dim", "5",
                         "--samplers", "whale,random,canonical", "--out", str(out), "--no-progress", "--report-only"])
    assert code == 0 and (out / "studies.db").stat().st_size == before
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 3 * 2
    specs = [RunSpec(ProblemSpec("bbob", f, 2, 1), smp, seed, 5) for f in (1, 2) for smp in ("a", "b") for seed in (0, 1)]
    ordered = compare.order_specs(specs)
    assert [(r.seed, r.problem.function) for r in ordered[:4]] == [(0, 1), (0, 1), (0, 2), (0, 2)]
    recs = [dict(run_problem=r.problem.id, seed=r.seed, sampler=r.sampler) for r in specs if (r.problem.function, r.sampler) != (2, "b")]
    kept = compare.complete_blocks(recs, specs)
    assert {(r["run_problem"], r["sampler"]) for r in kept} == {("bbob-f01-d02-i01", "a"), ("bbob-f01-d02-i01", "b")}
    # a preset sets defaults; explicit options still win
    args = compare.parse_args(compare.build_parser(), ["--preset", "quick", "--seeds", "3"])
    assert args.seeds == 3 and args.functions == compare.PRESETS["quick"]["functions"] != "1-24"


def _mrec(sampler: str, seed: int, values: list[float | None], feasible: list[bool]) -> dict:
    """A compression-like record: per-trial values and metrics (bytes, accuracy, feasible)."""
    metrics = [{"number": i, "feasible": f, "accuracy": 0.9, "bytes": 100 + i, "macs": 7} for i, f in enumerate(feasible)]
    return {"sampler": sampler, "seed": seed, "values": values, "metrics": metrics, "problem_id": "compression-x",
            "run_problem": "compression-x", "group": "compression", "optimum": 0.0, "sampler_seconds": 1.0,
            "wall_seconds": 2.0, "sampler_ms": [], "problem_metadata": {
                "objective": "val_loss", "objective_label": "validation cross-entropy", "max_bytes": 150,
                "baseline": {"bytes": 1000, "accuracy": 0.99, "val_loss": 0.05}, "val_size": 270}}


def test_main_job_report_counts_feasible_trials_keeps_the_sampler_order_and_names_a_winner(tmp_path: Path) -> None:
    from optuna_whale.bench import report

    records = []
    for seed in range(3):
        # random comes first (the --samplers order), whale's over-budget trial has the lowest value
        records.append(_mrec("random", seed, [0.5, 0.3 + 0.01 * seed], [True, True]))
        records.append(_mrec("whale", seed, [0.01, 0.2 + 0.01 * seed, None], [False, True, False]))
    rows = report.write_main_job(records, tmp_path, "cmd", "title", ["about"], "optuna-dashboard x")
    assert [r["sampler"] for r in rows] == ["random", "whale"]
    w, r = rows[1], rows[0]
    assert w["best_value"] == pytest.approx(0.2) and w["trial"] == 1  # not the infeasible 0.01
    assert w["median_value"] == pytest.approx(0.21) and r["median_value"] == pytest.approx(0.31)
    assert (w["feasible"], w["trials"]) == (3, 9) and w["mean_rank"] == 1.0
    table = report.format_table(rows).splitlines()
    assert table[0].split()[:3] == ["sampler", "best", "val"] and [ln.split()[0] for ln in table[1:]] == ["random", "whale"]
    header, *lines = (tmp_path / "results.csv").read_text().splitlines()
    assert "final_regret" not in header and header.split(",")[6] == "best_feasible_value"
    assert [float(ln.split(",")[6]) for ln in lines[:2]] == [0.3, 0.2]
    text = (tmp_path / "report.md").read_text()
    assert "**Winner: whale**" in text
    assert "no difference can be significant" in text and "`--seeds 4`" in text  # one comparison
    curves, label = report.best_so_far_curves(records)
    assert list(curves) == ["random", "whale"] and "feasible" in label
    assert curves["whale"][0] == [math.inf, 0.2, 0.2]
    for name in ("best-so-far.png", "pareto.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_verdict_says_when_a_difference_is_significant() -> None:
    from optuna_whale.bench import report

    assert report.min_mannwhitney_p(3, 3) == pytest.approx(0.1)
    six = [_mrec("tpe", s, [0.5 + 0.01 * s], [True]) for s in range(6)]
    six += [_mrec("whale", s, [0.2 + 0.01 * s], [True]) for s in range(6)]
    v = report.verdict(six)
    assert v["winner"] == "whale" and v["can_be_significant"]
    (t,) = v["tests"]
    assert t["other"] == "tpe" and t["significant"] and t["p"] == pytest.approx(report.min_mannwhitney_p(6, 6))
    assert "significantly better than tpe" in "\n".join(report.verdict_lines(six))
    # a sampler without any feasible trial loses to one with
    none = [_mrec("cmaes", s, [0.1], [False]) for s in range(6)]
    assert report.verdict(none + six[:6])["winner"] == "tpe"
    assert report.verdict(none)["winner"] is None


def test_regret_table_has_one_kind_per_column() -> None:
    from optuna_whale.bench import report

    def rec(sampler: str, seed: int, values: list[float]) -> dict:
        return {"sampler": sampler, "seed": seed, "values": values, "problem_id": "bbob-f01-d02",
                "run_problem": "bbob-f01-d02-i01", "optimum": 100.0, "sampler_seconds": 0.0, "wall_seconds": 0.0}

    rows = report.sampler_table([rec("whale", 0, [103.0, 101.0]), rec("whale", 1, [104.0]), rec("whale", 2, [110.0])])
    (row,) = rows
    assert row["best_regret"] == pytest.approx(1.0) and row["median_regret"] == pytest.approx(4.0)  # f - f_opt both
    assert [h for h, _ in report._cells(row)][1:3] == ["best regret", "median regret"]


def test_best_so_far_band_is_median_and_quartiles_with_unfound_as_worst() -> None:
    from optuna_whale.bench import plots

    med, lo, hi = plots.band([[1.0, 0.5], [math.inf, 0.25], [4.0, 1.0], [2.0, 2.0]])
    assert med[1] == pytest.approx(0.75) and lo[1] == pytest.approx(0.4375) and hi[1] == pytest.approx(1.25)
    assert med[0] == pytest.approx(3.0) and math.isnan(hi[0])  # the run with nothing yet counts as worst


def _load_script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reuse_takes_the_other_samplers_runs_and_reruns_the_changed_one(tmp_path: Path) -> None:
    """``--reuse R --rerun whale``: random's runs come from R unchanged (its values in R were
    altered to tell them apart), WhaleSampler's are run again and match a fresh run."""
    compare = _load_script("compare")
    grid = ["--dims", "2", "--functions", "1", "--seeds", "2", "--budget-per-dim", "5",
            "--samplers", "whale,random", "--no-progress"]
    assert compare.main([*grid, "--out", str(tmp_path / "a")]) == 0
    records = [json.loads(line) for line in (tmp_path / "a" / "runs.jsonl").read_text().splitlines()]
    for r in records:  # mark every reused run; WhaleSampler's marks must not survive
        r["values"] = [v + 1000.0 for v in r["values"]]
    reuse = tmp_path / "reuse.jsonl"
    reuse.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert compare.main([*grid, "--reuse", str(reuse), "--rerun", "whale", "--out", str(tmp_path / "b")]) == 0
    fresh = {(r["sampler"], r["seed"]): r["values"] for r in map(json.loads, (tmp_path / "a" / "runs.jsonl").read_text().splitlines())}
    again = {(r["sampler"], r["seed"]): r["values"] for r in map(json.loads, (tmp_path / "b" / "runs.jsonl").read_text().splitlines())}
    assert again.keys() == fresh.keys()
    for (smp, seed), values in again.items():
        if smp == "random":
            assert values == [v + 1000.0 for v in fresh[(smp, seed)]]
        else:
            assert values == fresh[(smp, seed)]
    with pytest.raises(SystemExit):
        compare.main([*grid, "--reuse", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "c")])


def test_final_ranks_replace_one_samplers_runs_and_rank_common_blocks(tmp_path: Path) -> None:
    final_ranks = _load_script("final_ranks")
    head = "group,problem,run_problem,sampler,seed,n_trials,final_regret,auc_log10_regret,sampler_ms_per_trial,wall_seconds\n"

    def rows(sampler: str, regrets: dict[str, list[float]]) -> str:
        return "".join(f"g,{p},{p}-i{i},{sampler},0,10,{v},0,0,0\n" for p, vs in regrets.items() for i, v in enumerate(vs))

    old = tmp_path / "old.csv"
    old.write_text(head + rows("whale", {"p1": [9.0] * 5, "p2": [9.0] * 5}) + rows("tpe", {"p1": [2.0] * 5, "p2": [2.0] * 5}))
    new = tmp_path / "new.csv"  # p3 is not in the old report: not ranked
    new.write_text(head + rows("whale", {"p1": [1.0] * 5, "p2": [3.0] * 5, "p3": [0.0] * 5}))
    out = tmp_path / "ranks.md"
    final_ranks.main([str(old), str(new), "--replace", "whale", "--out", str(out)])
    line = next(x for x in out.read_text().splitlines() if x.startswith("| g |"))
    assert line.split("|")[2:5] == [" 2 ", " 1.50 ", " 1.50 "]  # whale wins p1, loses p2
    assert "tpe 1/0/1" in line
