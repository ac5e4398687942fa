"""The overhead measurement and table; the tuning-screen runs and summaries."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from optuna_whale.bench import tuning_screen
from optuna_whale.bench.overhead import measure, table
from optuna_whale.bench.problems import ProblemSpec

ROOT = Path(__file__).resolve().parents[2]


def test_overhead_table_matches_the_committed_layout() -> None:
    committed = (ROOT / "benchmarks" / "results" / "overhead.md").read_text().splitlines()
    rows = [line for line in committed if re.match(r"\| \w+Sampler \|", line)]
    checkpoints = [int(c) for c in re.findall(r"inside @(\d+)", committed[4])]
    results = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        ms = [float(c) / 1e3 for c in cells[1:]]
        results[cells[0]] = {c: (ms[2 * i], ms[2 * i + 1]) for i, c in enumerate(checkpoints)}
    window = int(re.search(r"median over the (\d+) trials", committed[2]).group(1))  # type: ignore[union-attr]
    text = table(results, dim=10, window=window, checkpoints=checkpoints).splitlines()
    # the table itself, to the character (the ratio lines come from unrounded times)
    assert text[: 4 + len(rows)] == committed[2 : 6 + len(rows)]


def test_overhead_ratios_and_measure() -> None:
    results = {"WhaleSampler": {10: (0.002, 0.004)}, "CmaEsSampler": {10: (0.001, 0.001)}}
    assert table(results, 3, 5, [10]).splitlines()[-1] == "- WhaleSampler / CmaEsSampler at 10 trials: inside 2.00x, wall 4.00x"
    timings = measure(optuna.samplers.RandomSampler(seed=0), dim=2, checkpoints=[3, 6], window=3)
    assert sorted(timings) == [3, 6]
    assert all(0 < inside <= wall for inside, wall in timings.values())
    with pytest.raises(ValueError, match="checkpoints and window"):
        measure(optuna.samplers.RandomSampler(), 2, [], 3)


def test_prefill_samples_only_the_timed_windows() -> None:
    class Counting(optuna.samplers.RandomSampler):
        calls = 0

        def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            Counting.calls += 1

    for labels in (0, 5):
        Counting.calls = 0
        best: dict[int, float] = {}
        timings = measure(Counting(seed=0), dim=3, checkpoints=[4, 20], window=3, prefill=True,
                          categorical_choices=labels, best=best)
        assert sorted(timings) == [4, 20] and sorted(best) == [4, 20]
        assert Counting.calls == 6  # trials 2-4 and 18-20; the other 14 were added, not sampled


def test_screen_jobs_and_summary() -> None:
    bbob = tuning_screen.jobs(2, [1, 8], [0], {"screen_candidates": 4})
    assert [(j[0], j[2]) for j in bbob] == [(1, 1), (1, 2), (1, 3), (8, 1), (8, 2), (8, 3)]
    hpo = tuning_screen.jobs(0, [1], [0, 1], {}, "tpe")
    assert {j[0] for j in hpo} == set(tuning_screen.TUNING_DATASETS) and {j[4] for j in hpo} == {"tpe"}
    results = [(8, 1, 1.0, -1.0), (8, 2, 3.0, -3.0), (1, 1, 10.0, 0.0), (8, 3, 2.0, -2.0)]
    assert tuning_screen.summarise(results, hpobench=False) == {8: 2.0, 1: 10.0}
    assert tuning_screen.summarise(results, hpobench=True)[8] == {"median_regret": 2.0, "mean_auc": -2.0}


def test_screen_run_passes_the_setting_to_the_sampler() -> None:
    plain = tuning_screen.run((8, 2, 1, {}, "", 0, 0))
    again = tuning_screen.run((8, 2, 1, {}, "", 0, 0))
    unscreened = tuning_screen.run((8, 2, 1, {"screen_candidates": 1}, "", 0, 0))
    assert plain == again and plain[:2] == (8, 1) and plain[2] >= 1e-8
    assert unscreened != plain
    assert tuning_screen.run((8, 2, 1, {}, "", 1, 0)) != plain  # another sampler seed


def test_categorical_bbob_is_the_grid_of_unordered_levels() -> None:
    import itertools

    from optuna.distributions import CategoricalDistribution

    problem = tuning_screen.categorical_bbob(1, 2, 1, 4)
    assert all(isinstance(d, CategoricalDistribution) and d.choices == (0, 1, 2, 3) for d in problem.search_space.values())
    base = ProblemSpec("bbob", 1, 2, 1).build()
    levels = [-3.0, -1.0, 1.0, 3.0]
    assert problem.evaluate({"x0": 2, "x1": 0}) == base.evaluate({"x0": 1.0, "x1": -3.0})
    values = [base.evaluate({"x0": a, "x1": b}) for a, b in itertools.product(levels, levels)]
    assert problem.optimum == min(values) > base.optimum
    jobs = tuning_screen.jobs(2, [1], [0], {}, categorical=4)
    assert {j[6] for j in jobs} == {4}
    result = tuning_screen.run(jobs[0])  # 20 d = 40 trials on a 16-cell grid
    assert result[:2] == (1, 1) and result[2] == 1e-8  # the floor: the best cell was found
    with pytest.raises(ValueError, match="categorical"):
        tuning_screen.jobs(0, [1], [0], {}, categorical=4)


def test_compare_runs_counts_feasible_improvements() -> None:
    from optuna_whale.bench.tuning_screen import compare_runs

    def rec(problem: str, values: list[float], feasible: list[bool]) -> dict[str, object]:
        return {"group": "g", "problem_id": problem, "optimum": 0.0, "values": values, "feasible": feasible}

    before = [rec("p1", [10.0, 5.0], [True, True]), rec("p2", [1.0, 1.0], [True, True]),
              rec("p3", [2.0, 2.0], [True, True]), rec("other", [1.0], [True])]
    # p1: the lower value is infeasible and does not count (no better); p2: 100x better; p3: 2x worse
    after = [rec("p1", [10.0, 0.001], [True, False]), rec("p2", [1.0, 0.01], [True, True]),
             rec("p3", [4.0, 4.0], [True, True])]
    row = compare_runs(before, after)["g"]
    assert (row["problems"], row["final_better"], row["final_worse"]) == (3, 1, 2)
    assert row["feasible_before"] == 1.0 and row["feasible_after"] == 1.0
    # on the first trial only: p1 and p2 tie, p3 is still 2x worse; p1's infeasible second trial
    # no longer lowers the feasible share
    first = compare_runs(before, after, fraction=0.5)["g"]
    assert (first["final_better"], first["final_worse"]) == (0, 1)
    assert first["feasible_after"] == 1.0
    with pytest.raises(ValueError, match="fraction"):
        compare_runs(before, after, fraction=0.0)


def test_screen_budgets_and_mean_ranks() -> None:
    results = [(1, 1, 0.5, -1.0, (4.0, 2.0, 0.5)), (1, 2, 0.1, -2.0, (2.0, 1.0, 0.1)), (8, 1, 3.0, 0.0, (9.0, 5.0, 3.0))]
    budgets = tuning_screen.summarise_budgets(results)
    assert budgets == {"0.2": {"1": 3.0, "8": 9.0}, "0.4": {"1": 1.5, "8": 5.0}, "1.0": {"1": 0.3, "8": 3.0}}
    other = {"0.2": {"1": 1.0, "8": 9.0}, "0.4": {"1": 2.0, "8": 6.0}, "1.0": {"1": 1e-9, "8": 1.0}}
    ranks = tuning_screen.mean_ranks({"a": budgets, "b": other})
    assert ranks["a"] == {"0.2": 1.75, "0.4": 1.0, "1.0": 2.0}
    assert ranks["b"] == {"0.2": 1.25, "0.4": 2.0, "1.0": 1.0}
    with pytest.raises(ValueError, match="held out"):
        tuning_screen.jobs(2, [1], [0], {}, instances=[5, 6])
    assert {j[2] for j in tuning_screen.jobs(2, [1], [0], {}, instances=[1, 5])} == {1, 5}
