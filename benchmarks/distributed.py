"""Many workers, one study: throughput and quality of WhaleSampler on a shared PostgreSQL study.

Throughput: trials per second (first trial start to last trial end, so process start-up is
excluded) with 1, 2, 4, 8 worker *processes* sharing one RDB study, for a
1 s sleeping objective (what a real HPO job looks like: the sampler and storage must keep up with
the workers) and a 0 s objective (the sampler + storage overhead per trial, which on a
2-core machine is CPU-bound once workers outnumber cores), for WhaleSampler, TPESampler and
CmaEsSampler side by side.

Quality: BBOB functions (coco-experiment) at d = 10, a fixed total budget shared by 1, 4 or 8
workers, several seeds (BBOB instances); median log10 regret per worker count. The target is
parallel within 10 % of serial in median log10 regret: ``med_W - med_1 <= 0.1 |med_1|``.
``--quality-mode simulated`` (default) runs ``W`` workers as ``W`` trials always in flight in one
process (ask/tell on an in-memory study: every trial is sampled while the ``W - 1`` others are
RUNNING and hold their slots, and they finish first-in first-out, i.e. workers with equal
objective times). That is the information a real worker has, without the scheduling noise of 8
processes on 2 shared cores, and it takes minutes. ``--quality-mode processes`` runs real worker
processes on the RDB instead (slow here: every trial reads all trials over SQL).

The storage URL comes from ``--storage`` or ``OPTUNA_WHALE_POSTGRES_URL`` (default: the local
test server) and is never printed. Studies are deleted after use. Every measurement is appended
to ``results.jsonl`` as it finishes (rerunning the command continues); the runs, the report and
the plot live in :mod:`optuna_whale.bench.distributed`.

    python benchmarks/distributed.py --quick      # into a new temporary folder
    python benchmarks/distributed.py --out benchmarks/results/distributed
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from pathlib import Path

import optuna

from optuna_whale._testing import server_url
from optuna_whale.bench import distributed as dist
from optuna_whale.bench.problems import parse_range
from optuna_whale.bench.resumable import read_records, run_and_append


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default=None, help="RDB URL (default: $OPTUNA_WHALE_POSTGRES_URL or the local server)")
    parser.add_argument("--workers", default="1,2,4,8", help="worker counts (default 1,2,4,8)")
    parser.add_argument("--sleep-trials-per-worker", type=int, default=8, help="trials per worker with the 1 s objective (default 8)")
    parser.add_argument("--fast-trials", type=int, default=200, help="trials in total with the 0 s objective (default 200)")
    parser.add_argument("--functions", default="1,8,15", help="BBOB functions for the quality part (default 1,8,15)")
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--budget", type=int, default=500, help="total trials per quality run (default 500)")
    parser.add_argument("--quality-workers", default="1,4,8")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/distributed; with --quick a new temporary folder)")
    parser.add_argument("--parts", default="throughput,quality", help="which parts to run (default both)")
    parser.add_argument("--quality-mode", choices=dist.MODES, default="simulated", help="see above (default simulated)")
    parser.add_argument("--quality-samplers", default="whale,cmaes", help="samplers in the simulated quality part (default whale,cmaes; CMA-ES is the reference)")
    parser.add_argument("--report-only", action="store_true", help="rewrite report.md/summary.json/plot from results.jsonl")
    parser.add_argument("--quick", action="store_true", help="workers 1,4; 2 trials/worker; 60 fast trials; 1 function, 200 trials, 2 seeds")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.workers, args.sleep_trials_per_worker, args.fast_trials = "1,4", 2, 60
        args.functions, args.budget, args.seeds, args.quality_workers = "1", 200, 2, "1,4"
        if args.out is None:
            args.out = Path(tempfile.mkdtemp(prefix="optuna_whale_distributed_quick_"))
    if args.out is None:
        args.out = Path("benchmarks/results/distributed")
    url = args.storage or server_url("postgres")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    workers, qworkers = parse_range(args.workers), parse_range(args.quality_workers)
    path = args.out / "results.jsonl"
    records = read_records(path)
    done = {dist.record_key(r) for r in records}
    parts = set() if args.report_only else set(args.parts.split(","))
    if "throughput" in parts:
        specs = dist.throughput_specs(workers, args.sleep_trials_per_worker, args.fast_trials)
        todo = [s for s in specs if dist.record_key(s) not in done]
        records += run_and_append(todo, functools.partial(dist.run_throughput, url), path, desc="throughput")
    if "quality" in parts:
        samplers = args.quality_samplers.split(",") if args.quality_mode == "simulated" else ["whale"]
        specs = dist.quality_specs(args.quality_mode, samplers, parse_range(args.functions), args.dim, qworkers,
                                   args.seeds, args.budget)
        todo = [s for s in specs if dist.record_key(s) not in done]
        records += run_and_append(todo, functools.partial(dist.run_quality, url), path,
                                  desc=f"quality ({args.quality_mode})")
    args.out.mkdir(parents=True, exist_ok=True)
    report = dist.report(records, workers, qworkers, args.budget, args.dim, args.quick)
    (args.out / "report.md").write_text(report)
    (args.out / "summary.json").write_text(json.dumps(dist.summary(records, args.budget), indent=1) + "\n")
    dist.plot(records, args.out / "distributed.png", args.budget)
    print(report)


if __name__ == "__main__":
    main()
