"""Multi-objective head-to-head: WhaleSampler vs NSGA-II, TPE, GP and random search.

Problems come from packages: the ``bbob-biobj`` suite of coco-experiment (``cocoex``), search
box ``[-5, 5]^d`` (COCO's region of interest), and, with ``--compression``, the compression task
of :mod:`optuna_whale.compression` as (accuracy, bytes).

Hypervolume. For a bbob-biobj problem the objectives are normalised as
``f' = (f - ideal) / (nadir - ideal)``, where ``nadir`` is COCO's ``largest_fvalues_of_interest``
and ``ideal`` is the per-objective minimum over every evaluation of every run of that problem
(all samplers, all seeds: the same normalisation for everyone). The reference point is
``(1, 1)``: points beyond the nadir add nothing, as in COCO. HV is computed with
``optuna._hypervolume.compute_hypervolume`` on the non-dominated set of the first ``n`` trials.

Compression (``--suite compression``, results in ``<out>/compression`` by default). Two
objectives per trial: maximize validation accuracy, minimize serialized bytes (``torch.save`` of
the state_dict), from :func:`optuna_whale.compression.build_objective` with
``multi_objective=True`` and no budget. Problems (``--problems name:trials,...``): ``digits``
(``SmallCNN(8x8, width 16, hidden 64)`` on sklearn digits, trained 10 epochs at lr 3e-3) and
``mnist5k`` (``SmallCNN(28x28, width 16, hidden 128)`` on MNIST-5k, trained until validation
accuracy stalls 4 epochs); the base model is trained once per process with seed 0, so every
run compresses the same model and only the sampler seed differs. Search space: pruning ratios of
conv1, conv2 and fc1 in [0, 0.95], fc1 rank ratio in [0.05, 1], quantization in {none,
dynamic_int8, fp16}, fine-tune lr in [3e-4, 1e-2] (log), 1-2 fine-tune epochs. NSGA-II runs with ``--nsga2-population`` (default 10) so that 40-60 trials
make several generations (with Optuna's default 50 it would stay in its random first
generation, identical to RandomSampler with the same seed). Hypervolume: a
trial is the point ``(1 - accuracy, log10(bytes / baseline bytes))`` (both minimized) and the
reference point is ``(1, 0)``: accuracy 0 and the uncompressed baseline's size. The HV is then the
area under the best-accuracy-vs-log-size staircase, in accuracy x decades of compression (e.g.
0.9 accuracy held from 1x down to 100x fewer bytes is worth 1.8); points at or above the
baseline's size add nothing. HV is tabulated at half and all of each problem's trials.

Every (problem, sampler, seed) run is appended to ``runs.jsonl`` in the output folder as soon as
it finishes; a rerun skips the runs already there (resumable), ``--jobs`` runs them in parallel
processes, and a progress bar counts them. The runs, the hypervolumes and the reports live in
:mod:`optuna_whale.bench.multiobjective` and :mod:`optuna_whale.bench.multiobjective_report`.

    python benchmarks/multiobjective.py --quick                   # minutes: d=2, 2 seeds (temporary folder)
    python benchmarks/multiobjective.py --dims 2,5,10 --seeds 5   # the committed run
    python benchmarks/multiobjective.py --suite compression --quick
    python benchmarks/multiobjective.py --suite compression --problems digits:60,mnist5k:40 \
        --seeds 5 --samplers whale,nsga2,tpe,random --jobs 1      # the committed compression run
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from optuna_whale.bench import multiobjective as mo
from optuna_whale.bench import multiobjective_report
from optuna_whale.bench.problems import parse_range
from optuna_whale.bench.resumable import read_records, run_and_append


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", default=mo.DEFAULT_FUNCTIONS, help=f"bbob-biobj function ids 1-92 (default {mo.DEFAULT_FUNCTIONS})")
    parser.add_argument("--dims", default="2,5,10", help="dimensions (default 2,5,10)")
    parser.add_argument("--instance", type=int, default=1, help="bbob-biobj instance id (default 1)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per (problem, sampler) (default 5)")
    parser.add_argument("--trials", type=int, default=300, help="trials per run (default 300)")
    parser.add_argument("--checkpoints", default="100,300", help="trial counts for the HV table (default 100,300)")
    parser.add_argument("--samplers", default=",".join(mo.SAMPLERS), help=f"subset of {','.join(mo.SAMPLERS)}")
    parser.add_argument("--gp-max-trials", type=int, default=100, help="GPSampler runs only this many trials (cubic cost; default 100)")
    parser.add_argument("--gp-max-dim", type=int, default=5, help="GPSampler only up to this dimension (default 5)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/results/multiobjective, with --suite compression "
                             "benchmarks/results/multiobjective/compression; with --quick a new temporary folder)")
    parser.add_argument("--quick", action="store_true", help="d=2, functions 1,10, 2 seeds, 100 trials "
                        "(compression: digits:8,mnist5k:6, 2 seeds)")
    parser.add_argument("--suite", choices=("bbob-biobj", "compression"), default="bbob-biobj",
                        help="problem family (default bbob-biobj)")
    parser.add_argument("--problems", default="digits:60,mnist5k:40",
                        help="compression suite: name:trials pairs (default digits:60,mnist5k:40)")
    parser.add_argument("--nsga2-population", type=int, default=10,
                        help="compression suite: NSGA-II population size (default 10; Optuna's 50 would "
                             "leave 40-60 trials in the random first generation)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    compression = args.suite == "compression"
    if args.quick:
        if compression:
            args.problems, args.seeds = "digits:8,mnist5k:6", 2
        else:
            args.functions, args.dims, args.seeds, args.trials, args.checkpoints = "1,10", "2", 2, 100, "50,100"
        if args.out is None:
            args.out = Path(tempfile.mkdtemp(prefix=f"optuna_whale_multiobjective_{args.suite}_quick_"))
    if args.out is None:
        args.out = Path("benchmarks/results/multiobjective" + ("/compression" if compression else ""))
    samplers = args.samplers.split(",")
    bad = [s for s in samplers if s not in mo.SAMPLERS]
    if bad:
        parser.error(f"--samplers: unknown {bad}; choose from {','.join(mo.SAMPLERS)}")
    for name in ("seeds", "trials", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    runs_path = args.out / "runs.jsonl"
    if compression:
        try:
            problems = mo.parse_problems(args.problems)
        except ValueError as exc:
            parser.error(str(exc))
        specs = mo.compression_specs(problems, samplers, args.seeds, args.nsga2_population)
        fields: tuple[str, ...] = mo.COMPRESSION_KEY
    else:
        checkpoints = sorted(parse_range(args.checkpoints))
        if checkpoints[-1] > args.trials:
            parser.error("--checkpoints must not exceed --trials")
        functions, dims = parse_range(args.functions), parse_range(args.dims)
        specs = mo.biobj_specs(functions, dims, args.instance, samplers, args.seeds, args.trials,
                               args.gp_max_trials, args.gp_max_dim)
        fields = mo.BIOBJ_KEY
    done = {mo.run_key(r, fields): r for r in read_records(runs_path)}
    todo = [s for s in specs if mo.run_key(s, fields) not in done]
    for rec in run_and_append(todo, mo.run_one, runs_path, args.jobs):
        done[mo.run_key(rec, fields)] = rec
    if compression:
        records = [r for r in done.values() if problems.get(r["problem"]) == r["trials"]
                   and r["sampler"] in samplers and r["seed"] < args.seeds]
        command = (f"python benchmarks/multiobjective.py --suite compression --problems {args.problems} "
                   f"--seeds {args.seeds} --samplers {','.join(samplers)} --nsga2-population {args.nsga2_population} "
                   f"--jobs {args.jobs}")
        print(multiobjective_report.write_compression(records, args.out, command, samplers, problems, args.seeds))
    else:
        records = [r for r in done.values() if r["function"] in functions and r["dim"] in dims
                   and r["instance"] == args.instance and r["sampler"] in samplers and r["seed"] < args.seeds]
        command = (f"python benchmarks/multiobjective.py --functions {args.functions} --dims {args.dims} "
                   f"--instance {args.instance} --seeds {args.seeds} --trials {args.trials} --checkpoints "
                   f"{args.checkpoints} --samplers {','.join(samplers)} --gp-max-trials {args.gp_max_trials} "
                   f"--gp-max-dim {args.gp_max_dim}")
        print(multiobjective_report.write_biobj(records, args.out, command, samplers, checkpoints, args.trials))
    print(f"report: {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
