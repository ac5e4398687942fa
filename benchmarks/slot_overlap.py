"""Two running trials on one whale slot: how often, with threads and with worker processes.

Each run is a fresh study of ``--trials`` trials of a 5-float objective that sleeps
``--sleep`` seconds (so that trials overlap), sampled by ``WhaleSampler``:

* ``threads-sqlite``: one process, ``study.optimize(n_jobs=8)`` on a SQLite file;
* ``threads-postgres``: the same on PostgreSQL (``OPTUNA_WHALE_POSTGRES_URL``);
* ``processes-postgres``: ``--workers`` spawned processes on PostgreSQL.

It reports, per run, the pairs of trials that held the same (cycle, slot) at once and the pairs
of those that evaluated the identical design point
(:func:`optuna_whale.bench.distributed.slot_overlaps`).

    python benchmarks/slot_overlap.py --out benchmarks/results/slot-overlap/after.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna

from optuna_whale import WhaleSampler
from optuna_whale._testing import server_reachable, server_url
from optuna_whale.bench.distributed import EVALUATION_START, run_workers, slot_overlaps

CASES = ("threads-sqlite", "threads-postgres", "processes-postgres")


def _threads(url: str, trials: int, sleep: float, seed: int) -> optuna.Study:
    study = optuna.create_study(study_name=f"whale-slots-{uuid.uuid4().hex[:10]}", storage=url,
                                sampler=WhaleSampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        x = [trial.suggest_float(f"x{i}", -5, 5) for i in range(5)]
        trial.set_user_attr(EVALUATION_START, time.time())
        time.sleep(sleep)
        return float(sum(v * v for v in x))

    study.optimize(objective, n_trials=trials, n_jobs=8, show_progress_bar=True)
    return study


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {CASES}")
    parser.add_argument("--trials", type=int, default=200, help="trials per run (default 200)")
    parser.add_argument("--workers", type=int, default=6, help="processes of processes-postgres (default 6)")
    parser.add_argument("--sleep", type=float, default=0.05, help="seconds per objective call (default 0.05)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown)")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    for c in cases:
        if c not in CASES:
            parser.error(f"--cases: {c!r} is not one of {CASES}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lines = ["| case | run | trials | overlapping pairs | identical design points |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            if case.endswith("postgres") and not server_reachable("postgres"):
                parser.error("PostgreSQL is not reachable (OPTUNA_WHALE_POSTGRES_URL)")
            url = f"sqlite:///{tmp}/slots.db" if case == "threads-sqlite" else server_url("postgres")
            for run in range(args.repeats):
                if case.startswith("threads"):
                    study = _threads(url, args.trials, args.sleep, run)
                else:
                    _, study = run_workers(url, "whale", args.workers, args.trials, args.sleep, run, mark_start=True)
                pairs, same = slot_overlaps(study.get_trials(deepcopy=False))
                lines.append(f"| {case} | {run} | {len(study.trials)} | {pairs} | {same} |")
                print(lines[-1], flush=True)
                if case.endswith("postgres"):
                    optuna.delete_study(study_name=study.study_name, storage=url)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        args.out.write_text(f"Command: `python benchmarks/slot_overlap.py {command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
