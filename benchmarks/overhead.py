"""Per-trial sampler overhead: WhaleSampler vs RandomSampler, TPESampler and CmaEsSampler.

For each sampler, one study of ``--max-trials`` trials runs on a trivial objective (the sum of
``d`` floats, InMemoryStorage). At each checkpoint (100, 1,000, 5,000 trials) it reports, over the
``--window`` trials that end there, the median time spent inside the sampler's own methods
(``infer_relative_search_space``, ``sample_relative``, ``sample_independent``, ``before_trial``,
``after_trial``) and the median wall time of a whole trial (``study.optimize`` with
``n_trials=1``). All samplers run in one process, one after the other, so the ratios are measured
in one run on the same machine state. Samplers are named as in the harness
(:func:`optuna_whale.bench.samplers.make_sampler`) and shown by class; the measurement and the
table live in :mod:`optuna_whale.bench.overhead`.

    python benchmarks/overhead.py                        # d=10, checkpoints 100,1000,5000
    python benchmarks/overhead.py --checkpoints 100,1000 --out benchmarks/results/overhead.md
    python benchmarks/overhead.py --checkpoints 100,1000 --samplers whale,random,tpe,cmaes,gp --prefill gp
    python benchmarks/overhead.py --categorical-choices 1000 --checkpoints 100,300 --samplers whale,tpe
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import optuna

from optuna_whale.bench.overhead import Timings, measure, table
from optuna_whale.bench.problems import parse_range
from optuna_whale.bench.samplers import make_sampler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=10, help="number of float parameters (default 10)")
    parser.add_argument("--categorical-choices", type=int, default=0,
                        help="instead of --dim floats, one categorical with this many choices (>= 2)")
    parser.add_argument("--checkpoints", default="100,1000,5000", help="trial counts to report")
    parser.add_argument("--window", type=int, default=50, help="trials per median (default 50)")
    parser.add_argument("--samplers", default="whale,random,tpe,cmaes",
                        help="harness sampler names (default whale,random,tpe,cmaes)")
    parser.add_argument("--prefill", default="",
                        help="comma separated samplers whose untimed trials are added as random COMPLETE "
                        "trials instead of sampled (for GPSampler: its cost depends on the trial count only, "
                        "and sampling 1,000 trials itself takes hours)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1,
                        help="with --categorical-choices: studies (seeds seed..seed+n-1) per sampler, "
                        "each timed; the table gives the first, the best values of all are listed")
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown)")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    checkpoints = sorted(parse_range(args.checkpoints))
    if args.categorical_choices < 0 or args.categorical_choices == 1:
        parser.error(f"--categorical-choices must be 0 (floats) or >= 2, got {args.categorical_choices}")
    if args.seeds < 1 or (args.seeds > 1 and not args.categorical_choices):
        parser.error(f"--seeds must be >= 1, and 1 without --categorical-choices, got {args.seeds}")
    names = args.samplers.split(",")
    prefill = {p for p in args.prefill.split(",") if p}
    if prefill - set(names):
        parser.error(f"--prefill names samplers not in --samplers: {sorted(prefill - set(names))}")
    results: dict[str, Timings] = {}
    bests: dict[str, list[dict[int, float]]] = {}
    for name in names:
        label = ""
        for seed in range(args.seed, args.seed + args.seeds):
            try:
                sampler = make_sampler(name, seed)
            except ValueError as exc:
                parser.error(f"--samplers: {exc}")
            if not label:
                label = type(sampler).__name__
                label = f"{label} ({name})" if label in results else label
            best: dict[int, float] = {}
            timings = measure(
                sampler, args.dim, checkpoints, args.window, desc=f"{label} seed {seed}",
                categorical_choices=args.categorical_choices, best=best, prefill=name in prefill,
            )
            results.setdefault(label, timings)
            bests.setdefault(label, []).append(best)
    text = table(results, args.dim, args.window, checkpoints, args.categorical_choices)
    if args.categorical_choices:
        text += "\n\nBest value (minimised; each choice's value is uniform in [0, 1)) per seed:\n\n"
        text += "| sampler | " + " | ".join(f"best @{c} (seeds {args.seed}..{args.seed + args.seeds - 1})" for c in checkpoints) + " |\n"
        text += "|---|" + "---|" * len(checkpoints) + "\n"
        for label, runs in bests.items():
            cells = [", ".join(f"{run[c]:.4f}" for run in runs) for c in checkpoints]
            text += f"| {label} | " + " | ".join(cells) + " |\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        args.out.write_text(f"Command: `python benchmarks/overhead.py {command}`\n\n{text}\n")


if __name__ == "__main__":
    main()
