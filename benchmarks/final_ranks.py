"""Mean ranks at the final budget from ``results.csv`` files, one sampler's runs replaced.

For a report whose per-trial data (``runs.jsonl``) was not committed: rerun only the sampler
whose code changed (``benchmarks/compare.py ... --samplers whale --out NEW``), then rank its
new runs against the other samplers' committed runs by final regret, exactly as the report
ranks them at its last budget (per problem the median over instances and seeds, ranks averaged
over a group's problems), with Mann-Whitney wins / ties / losses per problem (p < 0.05)::

    python benchmarks/final_ranks.py benchmarks/results/bbob-50d-heldout/results.csv NEW/results.csv \\
        --replace whale --out NEW/final-ranks.md

For ``optuna-whale compare``'s ``results.csv`` (runs with model metrics) the table is per
sampler instead: the median of the runs' best feasible values, the feasible trials, the mean
rank over seeds and the Mann-Whitney p against the replaced sampler.

Runs are matched by (problem instance, seed): only the blocks present in both files are ranked
(the rerun may cover more problems than the committed report, or fewer).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.stats as sps

from optuna_whale.bench.stats import rankdata_rows, win_tie_loss


def read(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def table(rows: list[dict[str, str]], focus: str) -> list[str]:
    """Markdown lines: per group the mean rank of each sampler, and ``focus``'s W/T/L."""
    finals: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    samplers: list[str] = []
    for r in rows:
        finals[(r["group"], r["problem"], r["sampler"])].append(float(r["final_regret"]))
        if r["sampler"] not in samplers:
            samplers.append(r["sampler"])
    groups = sorted({k[0] for k in finals})
    out = ["| group | problems | " + " | ".join(samplers) + f" | {focus} W/T/L against each |",
           "|---|---|" + "---|" * len(samplers) + "---|"]
    for g in groups:
        problems = sorted({k[1] for k in finals if k[0] == g})
        acc: dict[str, list[float]] = defaultdict(list)
        wtl: dict[str, list[int]] = {s: [0, 0, 0] for s in samplers if s != focus}
        for p in problems:
            medians = {s: float(np.median(finals[(g, p, s)])) for s in samplers if (g, p, s) in finals}
            for s, rk in rankdata_rows(medians).items():
                acc[s].append(rk)
            if (g, p, focus) not in finals:
                continue
            for s in wtl:
                if (g, p, s) in finals:
                    wtl[s][win_tie_loss(finals[(g, p, focus)], finals[(g, p, s)])] += 1
        cells = [f"{np.mean(acc[s]):.2f}" if acc[s] else "-" for s in samplers]
        w = ", ".join(f"{s} {a}/{b}/{c}" for s, (a, b, c) in wtl.items())
        out.append(f"| {g} | {len(problems)} | " + " | ".join(cells) + f" | {w} |")
    return out


def metric_table(rows: list[dict[str, str]], focus: str) -> list[str]:
    """Markdown lines for runs with model metrics (``optuna-whale compare``'s ``results.csv``):
    per sampler the median over seeds of each run's best feasible value (a run without one
    counts as inf), the feasible trials, the mean rank over seeds and the two-sided
    Mann-Whitney p of ``focus`` against it."""
    by: dict[str, dict[str, float]] = defaultdict(dict)
    feasible: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        v = r["best_feasible_value"]
        by[r["sampler"]][r["seed"]] = float(v) if v not in ("", None) else float("inf")
        feasible[r["sampler"]][0] += int(r["feasible_trials"])
        feasible[r["sampler"]][1] += int(r["n_trials"])
    samplers = list(by)
    seeds = sorted(set.intersection(*(set(by[s]) for s in samplers)), key=int)
    ranks: dict[str, list[float]] = defaultdict(list)
    for seed in seeds:
        for s, rk in zip(samplers, sps.rankdata([by[s][seed] for s in samplers]), strict=True):
            ranks[s].append(float(rk))
    out = [f"| sampler | median best feasible value | feasible trials | mean rank | {focus} against it: p |",
           "|---|---|---|---|---|"]
    for s in samplers:
        vals = [by[s][k] for k in seeds]
        p = "-" if s == focus else f"{sps.mannwhitneyu([by[focus][k] for k in seeds], vals, alternative='two-sided').pvalue:.3f}"
        out.append(f"| {s} | {np.median(vals):.4g} | {feasible[s][0]}/{feasible[s][1]} | {np.mean(ranks[s]):.2f} | {p} |")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, help="the committed results.csv")
    parser.add_argument("new", type=Path, help="results.csv of the rerun (only the replaced sampler's runs are read)")
    parser.add_argument("--replace", default="whale", help="the sampler whose runs come from NEW (default whale)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    new = [r for r in read(args.new) if r["sampler"] == args.replace]
    if not new:
        parser.error(f"{args.new} holds no run of {args.replace!r}")
    old = [r for r in read(args.old) if r["sampler"] != args.replace]
    def block(r: dict[str, str]) -> tuple[str, str]:
        return r.get("run_problem", r["problem"]), r["seed"]

    both = {block(r) for r in new} & {block(r) for r in old}
    new = [r for r in new if block(r) in both]
    old = [r for r in old if block(r) in both]
    metric = "best_feasible_value" in new[0]
    lines = (metric_table if metric else table)(new + old, args.replace)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(
            f"{'Best feasible values per sampler' if metric else 'Mean rank by final regret (lower is better)'}; "
            f"{args.replace} from `{args.new}`, the others from `{args.old}`.\n\nCommand: `python benchmarks/final_ranks.py {args.old} {args.new} --replace "
            f"{args.replace}{' --out ' + str(args.out) if args.out else ''}`\n\n{text}\n"
        )


if __name__ == "__main__":
    main()
