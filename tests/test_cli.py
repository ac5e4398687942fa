"""The ``optuna-whale`` command: the main job end to end, help, and clear errors on bad flags."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

from optuna_whale import cli

ROOT = Path(__file__).resolve().parents[1]
REPORT_FILES = ("report.md", "best-so-far.png", "pareto.png", "runs.jsonl", "results.csv", "summary.json", "studies.db")
FLAGS = ("--task", "--samplers", "--trials", "--seeds", "--first-seed", "--out", "--storage", "--jobs", "--no-progress")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optuna_whale", *args], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_main_job_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "job"
    argv = ["compare", "--task", "digits", "--trials", "3", "--seeds", "1", "--samplers", "whale,random",
            "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    for name in REPORT_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in ("best-so-far.png", "pareto.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the exact dashboard command, with the absolute path of the SQLite file
    db = (out / "studies.db").resolve()
    assert f"open the studies: optuna-dashboard sqlite:///{db}\n" in printed
    # the terminal table: a header and one row per sampler
    lines = printed.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("sampler "))
    for col in ("best val loss", "its acc", "bytes", "MACs", "median val loss", "feasible", "sampler s", "wall s",
                "mean rank"):
        assert col in lines[header], col
    rows = {ln.split()[0]: ln.split() for ln in lines[header + 1 : header + 3]}
    assert set(rows) == {"whale", "random"}

    # one study per (sampler, seed) in the SQLite file, each with 3 finished trials and the metrics
    storage = f"sqlite:///{db}"
    names = sorted(optuna.get_all_study_names(storage))
    assert names == ["compression-digits|random|seed0", "compression-digits|whale|seed0"]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        assert len(study.trials) == 3
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        assert all({"accuracy", "bytes", "macs"} <= set(t.user_attrs) for t in study.trials)
        assert all(list(t.constraints.values()) == [t.user_attrs["constraint:bytes"]] for t in study.trials)
        assert all(t.value == t.user_attrs["val_loss"] for t in study.trials)  # the metric, never a penalty

    # runs.jsonl carries the per-trial metrics and the budget; the table agrees with them
    records = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert {r["sampler"] for r in records} == {"whale", "random"}
    max_bytes = records[0]["problem_metadata"]["max_bytes"]
    for r in records:
        assert len(r["metrics"]) == 3
        for m in r["metrics"]:
            assert m["feasible"] == (m["bytes"] <= max_bytes)
        feasible = [v for v, m in zip(r["values"], r["metrics"], strict=True) if m["feasible"]]
        shown = rows[r["sampler"]][1]
        assert shown == (f"{min(feasible):.4f}" if feasible else "-")
        assert rows[r["sampler"]][6] == f"{len(feasible)}/3"

    report = (out / "report.md").read_text()
    assert "| sampler | best val loss | its acc | bytes | MACs |" in report and "**Winner: " in report
    assert "![best so far](best-so-far.png)" in report and "![value vs bytes](pareto.png)" in report
    assert f"optuna-dashboard sqlite:///{db}" in report

    # resumable: the same command again reruns nothing
    assert cli.main(argv) == 0
    capsys.readouterr()
    for name in names:
        assert len(optuna.load_study(study_name=name, storage=storage).trials) == 3


def test_bbob_task_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("cocoex")
    out = tmp_path / "bbob"
    argv = ["compare", "--task", "bbob:f1:d2", "--trials", "6", "--seeds", "2", "--samplers", "whale,random",
            "--out", str(out), "--no-progress", "--first-seed", "5"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "best regret" in printed and "median regret" in printed
    assert (out / "report.md").is_file() and (out / "best-so-far.png").is_file()
    assert not (out / "pareto.png").exists()  # no model metrics on BBOB
    names = optuna.get_all_study_names(f"sqlite:///{(out / 'studies.db').resolve()}")
    assert sorted(names) == sorted(f"bbob-f01-d02-i01|{s}|seed{k}" for s in ("whale", "random") for k in (5, 6))


def test_parse_task() -> None:
    t = cli.parse_task("bbob:f15:d5")
    assert (t.spec.suite, t.spec.function, t.spec.dim, t.spec.instance) == ("bbob", 15, 5, 1)
    assert t.default_trials == 250 and t.checkpoint == "run"
    assert cli.parse_task("bbob:f1:d2:i3").spec.instance == 3
    digits = cli.parse_task("digits")
    assert (digits.spec.suite, digits.spec.dataset, digits.checkpoint) == ("compression", "digits", "trial")
    from optuna_whale.bench import compression

    assert set(cli.COMPRESSION_TASKS) == set(compression.names())  # every CLI task is a harness problem


@pytest.mark.parametrize(
    "args, words",
    [
        (["--samplers", "whale,nope"], ["--samplers", "nope", "whale,canonical,random,tpe,cmaes,gp,qmc"]),
        (["--trials", "-3"], ["--trials", ">= 1", "-3"]),
        (["--trials", "0"], ["--trials", ">= 1"]),
        (["--seeds", "0"], ["--seeds", ">= 1"]),
        (["--jobs", "0"], ["--jobs", ">= 1"]),
        (["--task", "cifar"], ["--task", "cifar", "digits", "mnist", "text", "bbob:f"]),
        (["--task", "bbob:f30:d5"], ["--task", "f1..f24"]),
        (["--task", "bbob:f3:d4"], ["--task", "d2, d3, d5, d10, d20, d40"]),
    ],
)
def test_bad_flags_exit_non_zero_with_a_clear_message(
    args: list[str], words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", *args, "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("optuna-whale compare: error: "), err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out").exists()  # nothing written before the flags are checked


@pytest.mark.parametrize(
    "url, secret",
    [
        ("postgresql://nobody@127.0.0.1:1/x", None),
        ("postgresql+psycopg2://bob:s3cretpw@127.0.0.1:1/x", "s3cretpw"),
        ("mysql+pymysql://bob:s3cretpw@127.0.0.1:1/x", "s3cretpw"),
        ("not-a-url", None),
    ],
)
def test_unreachable_storage_is_one_clear_line(
    url: str, secret: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", "--storage", url, "--out", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("optuna-whale compare: error: --storage: cannot open "), err
    assert "Traceback" not in err
    if secret is not None:
        assert secret not in err and ":***@" in err
    assert not (tmp_path / "out").exists()


def test_unreachable_storage_from_the_shell() -> None:
    proc = _run("compare", "--storage", "postgresql+psycopg2://bob:s3cretpw@127.0.0.1:1/x")
    assert proc.returncode == 2
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert "--storage" in proc.stderr and "s3cretpw" not in proc.stderr and "Traceback" not in proc.stderr


def test_python_m_help_documents_every_flag() -> None:
    top = _run("--help")
    assert top.returncode == 0 and "compare" in top.stdout
    sub = _run("compare", "--help")
    assert sub.returncode == 0
    for flag in FLAGS:
        assert flag in sub.stdout, flag
    assert "minutes" in sub.stdout  # the expected time of the default run
    none = _run()
    assert none.returncode == 2 and "COMMAND" in none.stderr


def test_cli_imports_stay_light() -> None:
    # (optuna itself imports tqdm: only what the CLI module adds counts)
    code = (
        "import sys, optuna_whale\n"
        "assert 'optuna_whale.cli' not in sys.modules\n"
        "before = set(sys.modules)\n"
        "import optuna_whale.cli\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new & {'torch', 'matplotlib', 'tqdm', 'scipy', 'cocoex', 'sklearn'}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_console_script_is_declared() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["optuna-whale"] == "optuna_whale.cli:main"


def _rec(sampler: str, seed: int, values: list[float | None], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sampler": sampler, "seed": seed, "values": values, "metrics": metrics, "problem_id": "p",
            "run_problem": "p", "optimum": 0.0, "sampler_seconds": 1.0, "wall_seconds": 2.0}


def test_table_takes_the_best_feasible_trial_and_ranks_per_seed() -> None:
    from optuna_whale.bench import report

    ok, big = {"feasible": True}, {"feasible": False}
    records = [
        # whale: an over-budget trial with the highest accuracy must not count
        _rec("whale", 0, [0.10, 1.5], [{**ok, "number": 0, "accuracy": 0.90, "bytes": 10, "macs": 5},
                                       {**big, "number": 1, "accuracy": 0.99, "bytes": 99, "macs": 9}]),
        _rec("whale", 1, [0.05, None], [{**ok, "number": 0, "accuracy": 0.95, "bytes": 12, "macs": 6}, {}]),
        _rec("random", 0, [0.20, 0.30], [{**ok, "number": 0, "accuracy": 0.80, "bytes": 8, "macs": 4},
                                         {**ok, "number": 1, "accuracy": 0.70, "bytes": 7, "macs": 3}]),
        _rec("random", 1, [1.2, 1.4], [{**big, "number": 0, "accuracy": 0.97, "bytes": 50, "macs": 1},
                                       {**big, "number": 1, "accuracy": 0.96, "bytes": 60, "macs": 1}]),
    ]
    rows = {r["sampler"]: r for r in report.sampler_table(records)}
    assert list(rows) == ["whale", "random"]  # the records' (--samplers) order
    w, r = rows["whale"], rows["random"]
    assert (w["accuracy"], w["bytes"], w["macs"], w["study"], w["trial"]) == (0.95, 12, 6, "p|whale|seed1", 0)
    assert (r["accuracy"], r["bytes"]) == (0.80, 8)
    assert w["best_value"] == 0.05 and w["median_value"] == pytest.approx(0.075) and r["median_value"] == math.inf
    assert (w["feasible"], w["trials"], r["feasible"]) == (2, 4, 2)
    assert w["mean_rank"] == 1.0 and r["mean_rank"] == 2.0
    assert w["sampler_seconds"] == 2.0 and w["wall_seconds"] == 4.0
    text = report.format_table(list(rows.values()))
    assert text.splitlines()[1].split()[:5] == ["whale", "0.0500", "0.9500", "12", "6"]


def test_harness_studies_are_never_pruned(tmp_path: Path) -> None:
    """The compression objective reports accuracy (higher is better) in a study that minimises
    the error: Optuna's default MedianPruner would prune the best trials, so runs use none."""
    from optuna_whale.bench.problems import ProblemSpec, register_suite
    from optuna_whale.bench.runner import RunSpec, execute

    register_suite("cli-toy-reports", _toy_build, lambda: ["a"])
    rec = execute(RunSpec(ProblemSpec("cli-toy-reports", dataset="a"), "random", 0, 16),
                  f"sqlite:///{tmp_path / 'p.db'}")
    assert all(v is not None for v in rec["values"])  # a pruned trial has no value


def _toy_build(spec: Any) -> Any:
    from optuna_whale.bench.problems import Problem

    def objective(trial: optuna.Trial) -> float:
        acc = trial.suggest_float("acc", 0.0, 1.0)
        for step in range(3):
            trial.report(acc, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return 1.0 - acc

    return Problem(spec, {}, lambda p: 0.0, 0.0, trial_objective=objective)


def test_ctrl_c_with_two_jobs_prints_interrupted_at_once_and_the_rerun_completes(
    tmp_path: Path, interruptible: Callable[[], None]
) -> None:
    """The real command, SIGINT while 2 worker processes run: "interrupted" within seconds (the
    queued run does not start), and the same command then finishes every run. TPE, not random
    search, and 1,000 trials: a run must last well past the signal (300 random trials take
    0.2 s, 300 TPE trials about 0.7 s)."""
    pytest.importorskip("cocoex")
    import signal
    import time

    out = tmp_path / "int"
    args = [sys.executable, "-m", "optuna_whale", "compare", "--task", "bbob:f1:d2", "--trials", "1000", "--seeds", "3",
            "--samplers", "tpe", "--jobs", "2", "--no-progress", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                            preexec_fn=interruptible)
    assert proc.stdout is not None
    header = proc.stdout.readline()  # printed just before the workers start
    assert "3 runs, --jobs 2" in header, header
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 5.0
    assert proc.returncode == 130 and "interrupted: run the same command again" in stderr, (rest, stderr)
    assert "Traceback" not in stderr and not (out / "report.md").exists()

    rerun = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    storage = f"sqlite:///{(out / 'studies.db').resolve()}"
    names = sorted(optuna.get_all_study_names(storage))
    assert names == [f"bbob-f01-d02-i01|tpe|seed{k}" for k in range(3)]
    for name in names:
        assert len(optuna.load_study(study_name=name, storage=storage).trials) == 1000


def test_ctrl_c_while_the_report_is_written_keeps_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGINT after the runs, while the report is being written: a message, exit 130, no
    traceback; the rerun finds every run done and writes the report."""
    pytest.importorskip("cocoex")
    from optuna_whale.bench import report

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    argv = ["compare", "--task", "bbob:f1:d2", "--trials", "4", "--seeds", "1", "--samplers", "random",
            "--no-progress", "--out", str(tmp_path / "out")]
    with monkeypatch.context() as m:
        m.setattr(report, "write_main_job", interrupted)
        assert cli.main(argv) == 130
    assert "interrupted while writing the report" in capsys.readouterr().err
    assert not (tmp_path / "out" / "report.md").exists()
    assert cli.main(argv) == 0
    assert (tmp_path / "out" / "report.md").exists()
