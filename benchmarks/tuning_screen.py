"""Screening runs on the tuning sets (tuned there, judged on held-out problems).

BBOB (``DIM`` > 0): instances 1-3 (``--instances``, within 1-5), seed 0, budget 50 d. HPOBench (``DIM`` = 0): the tuning
datasets car, phoneme, vehicle, australian, seeds 0-9, 100 trials. Quick before/after checks of
a WhaleSampler setting (or CMA-ES / TPE), in 2 processes; prints the median regret over the
instances (seeds) per problem, and for HPOBench also the mean AUC of the log10 regret curve,
and writes ``OUT/TAG-dD.json`` (``TAG-dD-seedS.json`` with ``--seed S``). Confirm anything
kept with ``benchmarks/compare.py`` (the harness); the log of what was tried is
``benchmarks/results/tuning/README.md``. The runs live in :mod:`optuna_whale.bench.tuning_screen`.

    python benchmarks/tuning_screen.py base 10
    python benchmarks/tuning_screen.py k4 10 --whale '{"screen_candidates": 4}'
    python benchmarks/tuning_screen.py cmaes 10 --cmaes --functions 1,8,15
    python benchmarks/tuning_screen.py k8 0 --whale '{"screen_candidates": 8}'
    python benchmarks/tuning_screen.py tpe 0 --tpe
    python benchmarks/tuning_screen.py gp 5 --sampler gp --instances 1-5
    python benchmarks/tuning_screen.py base 5 --rank gp,tpe   # mean ranks at 10 d / 20 d / 50 d
    python benchmarks/tuning_screen.py base 5 --categorical 5 --instances 1-5   # nominal levels, 20 d

Every run also writes ``OUT/TAG-dD-budgets.json``: the median regret per problem at 20 %, 40 %
and 100 % of the trials (BBOB: 10 d, 20 d, 50 d; categorical BBOB: 4 d, 8 d, 20 d), which ``--rank`` compares.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from optuna_whale.bench import tuning_screen as screen
from optuna_whale.bench.problems import parse_range


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tag", help="name of this configuration (file name of the result)")
    parser.add_argument("dim", type=int, help="BBOB dimension; 0: the HPOBench tuning datasets")
    parser.add_argument("--whale", default="{}", help="WhaleSampler keyword arguments as JSON")
    parser.add_argument("--cmaes", action="store_true", help="run CmaEsSampler instead")
    parser.add_argument("--tpe", action="store_true", help="run TPESampler instead")
    parser.add_argument("--sampler", default="", help="run this harness sampler instead (e.g. gp, auto)")
    parser.add_argument("--functions", default="1-24", help="BBOB functions, e.g. 1-24 or 1,8,15")
    parser.add_argument("--instances", default="1-3", help="BBOB tuning instances within 1-5 (default 1-3)")
    parser.add_argument("--categorical", type=int, default=0,
                        help="BBOB with each coordinate an unordered choice among this many levels, 20 d trials "
                        "(default 0: continuous)")
    parser.add_argument("--seed", type=int, default=0, help="BBOB: the samplers' seed (default 0)")
    parser.add_argument("--rank", default="",
                        help="instead of running: comma separated tags whose budget files (TAG-dD-budgets.json in "
                        "--out) are ranked against each other per budget")
    parser.add_argument("--seeds", default="0-9", help="HPOBench seeds, e.g. 0-9 (default) or 10-19")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/tuning/screens"))
    args = parser.parse_args(argv)
    if args.dim > 0:  # the file name's part after TAG
        name = (f"cat{args.categorical}-" if args.categorical else "") + f"d{args.dim}"
        name += f"-seed{args.seed}" if args.seed else ""
    else:
        name = "hpobench" + ("" if args.seeds == "0-9" else f"-s{args.seeds}")
    if args.rank:
        tags = [args.tag, *args.rank.split(",")]
        paths = {t: args.out / f"{t}-{name}-budgets.json" for t in tags}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            parser.error(f"--rank: no budget file {', '.join(missing)} (run those tags first, same DIM and --seed)")
        summaries = {t: json.loads(p.read_text()) for t, p in paths.items()}
        ranks = screen.mean_ranks(summaries)
        fractions = list(next(iter(summaries.values())))
        print(f"mean rank at fractions {', '.join(fractions)} of the trials ({name}):")
        for t in tags:
            print(f"  {t:<24}" + " ".join(f"{ranks[t].get(f, float('nan')):6.2f}" for f in fractions))
        return
    other = args.sampler or ("cmaes" if args.cmaes else "tpe" if args.tpe else "")
    try:
        jobs = screen.jobs(args.dim, parse_range(args.functions), parse_range(args.seeds), json.loads(args.whale),
                           other, parse_range(args.instances), args.seed, args.categorical)
    except ValueError as exc:
        parser.error(str(exc))
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(tqdm(pool.map(screen.run, jobs), total=len(jobs), desc=args.tag))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.tag}-{name}-budgets.json").write_text(json.dumps(screen.summarise_budgets(results), indent=1))
    summary = screen.summarise(results, hpobench=args.dim == 0)
    (args.out / f"{args.tag}-{name}.json").write_text(json.dumps(summary, indent=1))
    if args.dim > 0:
        print(args.tag, args.dim, " ".join(f"f{f}:{v:.3g}" for f, v in summary.items()))
        return
    print(args.tag, "hpobench", " ".join(f"{p}:{v['median_regret']:.3g}/{v['mean_auc']:.2f}" for p, v in summary.items()),
          f"sum AUC {sum(v['mean_auc'] for v in summary.values()):.2f}")


if __name__ == "__main__":
    main()
