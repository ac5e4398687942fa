"""Pruners head-to-head on learning curves: best value (or hypervolume) against epochs spent.

Tasks, objectives and reports live in :mod:`optuna_whale.bench.pruning`; this is its command line.

Single objective (``digits``, ``breast_cancer``, ``wine``, ``synthetic``, ``compression``,
``lcdb-<openmlid>``): every run gets the same *epoch budget* ``B = trials * epochs`` (what
``trials`` trials cost without pruning) and stops once it has trained ``B`` epochs, so pruned runs
try more configurations. Per task and sampler, ``q*`` is the median over seeds of the final best
value without pruning; reported as medians over seeds (even counts: the upper middle value):
``E(q*)`` (epochs until the best completed value first reaches ``q*``, inf: never), ``saved = 1 -
E(q*) / E_none(q*)``, ``best@B``; and the *equal-trials* view, the first ``trials`` trials of each
run (exactly the run with ``n_trials=trials``: a sampler only sees the past).

Multi-objective (``mo-digits``, ``mo-mnist5k``): ``trials`` trials per run, each fine-tuned up to
``epochs`` epochs; epochs spent and final hypervolume of (1 - accuracy, bytes / uncompressed
bytes), and the hypervolume against epochs spent.

Pruners: ``none``, ``median``, ``halving``, ``hyperband``, ``whale`` (``whale:k=v,...`` passes
WhalePruner arguments, e.g. ``whale:rule=extrapolate``); multi-objective tasks take ``none`` and
``whale`` only. Runs are resumable: finished runs in OUT/runs.jsonl are not redone.

Protocol seeds: tuning on seeds 10-19 (``--seed-start 10``), reported on seeds 0-9.

    python benchmarks/pruning.py --quick --out /tmp/pruning-quick

The committed reports (each report's first line holds its command; ``nice -n 10`` in front)::

    python benchmarks/pruning.py --tasks digits,breast_cancer,wine,synthetic --trials 24 --epochs 12 --seeds 10 \\
        --pruners 'none;median;halving;hyperband;whale;whale:optimism=0' --samplers whale,whale-nocp,tpe
    python benchmarks/pruning.py --tasks compression --trials 24 --epochs 12 --seeds 5 \\
        --pruners 'none;median;halving;hyperband;whale;whale:optimism=0' --out benchmarks/results/pruning-compression
    python benchmarks/pruning.py --tasks digits,breast_cancer,wine,synthetic --seeds 3 --jobs 1 \\
        --samplers whale,whale-nocp,tpe --pruners 'none;halving;whale;whale:rule=extrapolate,optimism=1' \\
        --out benchmarks/results/pruning-extrapolation
    python benchmarks/pruning.py --tasks lcdb-1485,lcdb-41142 --seeds 5 --jobs 1 --samplers whale,tpe \\
        --pruners 'none;median;halving;whale;whale:rule=extrapolate,optimism=1' --out benchmarks/results/pruning-lcdb
    python benchmarks/pruning.py --tasks mo-digits --trials 60 --epochs 8 --seeds 5 --jobs 1 \\
        --samplers whale,tpe,nsga2 --pruners 'none;whale;whale:rule=extrapolate,optimism=1' \\
        --out benchmarks/results/pruning-multiobjective
    python benchmarks/pruning.py --tasks mo-mnist5k --trials 40 --epochs 8 --seeds 5 --jobs 1 \\
        --samplers whale,tpe,nsga2 --pruners 'none;whale' --out benchmarks/results/pruning-multiobjective-mnist5k
    python benchmarks/pruning.py --overhead --out benchmarks/results/pruning-overhead
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from optuna_whale.bench import pruning as bench

DEFAULT_PRUNERS = "none;median;halving;hyperband;whale;whale:rule=extrapolate"
DEFAULT_SAMPLERS = "whale,tpe"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="digits,breast_cancer,wine,synthetic",
                        help=f"comma separated: {','.join(bench.SO_TASKS + bench.MO_TASKS)}, lcdb-<openmlid>")
    parser.add_argument("--trials", type=int, default=24, help="single objective: budget = trials * epochs; "
                        "multi-objective: trials per run")
    parser.add_argument("--epochs", type=int, default=12, help="epochs of an unpruned trial (lcdb: its anchors)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-start", type=int, default=0, help="seeds SEED_START .. SEED_START + SEEDS - 1")
    parser.add_argument("--samplers", default=DEFAULT_SAMPLERS, help=f"comma separated subset of {','.join(bench.SAMPLERS)}")
    parser.add_argument("--pruners", default=DEFAULT_PRUNERS, help="';'-separated pruner specs (must include none)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pruning"))
    parser.add_argument("--quick", action="store_true", help="synthetic + wine, 12 trials, 8 epochs, 1 seed")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from OUT/runs.jsonl")
    parser.add_argument("--overhead", action="store_true", help="measure should_prune with 500 trials of 50 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.trials, args.epochs, args.seeds = "synthetic,wine", 12, 8, 1
    args.task_list = args.tasks.split(",")
    args.pruner_list = args.pruners.split(";")
    args.sampler_list = args.samplers.split(",")
    for task in args.task_list:
        try:
            bench.check_task(task)
        except ValueError as error:
            parser.error(f"--tasks: {error}")
    multi = [t in bench.MO_TASKS for t in args.task_list]
    if any(multi) and not all(multi):
        parser.error("--tasks: run multi-objective tasks (mo-*) apart from single-objective ones")
    args.multi = all(multi)
    try:
        for name in args.pruner_list:
            base, _ = bench.parse_pruner(name)
            if args.multi and base not in bench.MO_PRUNERS:
                raise ValueError(f"pruner {name!r} does not apply to multi-objective tasks; choose from {bench.MO_PRUNERS}")
    except ValueError as error:
        parser.error(f"--pruners: {error}")
    if "none" not in args.pruner_list:
        parser.error("--pruners must include none (the measures compare with it)")
    if not set(args.sampler_list) <= set(bench.SAMPLERS):
        parser.error(f"--samplers: choose from {','.join(bench.SAMPLERS)}, got {args.samplers!r}")
    for name in ("trials", "epochs", "seeds", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    given = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--report-only"]
    command = "python benchmarks/pruning.py " + " ".join(shlex.quote(a) for a in given)
    if args.overhead:
        result = bench.measure_overhead()
        print(bench.report_overhead(args.out, command, result, 500, 50))
        return
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    if args.multi:
        specs = [
            dict(task=t, sampler=s, pruner=p, seed=seed, epochs=args.epochs, budget=0, trials=args.trials)
            for t in args.task_list for s in args.sampler_list for p in args.pruner_list for seed in seeds
        ]
    else:
        epochs = {t: bench.lcdb_steps(t) if bench.is_lcdb(t) else args.epochs for t in args.task_list}
        specs = [
            dict(task=t, sampler=s, pruner=p, seed=seed, epochs=epochs[t], budget=args.trials * epochs[t],
                 max_trials=20 * args.trials)
            for t in args.task_list for s in args.sampler_list for p in args.pruner_list for seed in seeds
        ]
    runs_path = args.out / "runs.jsonl"
    if args.report_only:
        done = {bench.spec_key(r): r for r in bench.load_runs(runs_path)}
        missing = [s for s in specs if bench.spec_key(s) not in done]
        if missing:
            sys.exit(f"--report-only: {len(missing)} run(s) missing from {runs_path}, e.g. {missing[0]}")
        results = [done[bench.spec_key(s)] for s in specs]
    else:
        results = bench.run_suite(specs, runs_path, args.jobs)
    if args.multi:
        text = bench.report_multi(args.out, command, results, args.task_list, args.sampler_list, args.pruner_list,
                                  args.trials, args.epochs, args.seeds)
    else:
        text = bench.report_single(args.out, command, results, args.task_list, args.sampler_list, args.pruner_list,
                                   args.trials, epochs, args.seeds)
    print(text)


if __name__ == "__main__":
    main()
