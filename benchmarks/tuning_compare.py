"""Before/after of two harness runs on the same tuning problems (``runs.jsonl`` of
``benchmarks/compare.py``, e.g. one run per code version): per group, how many problems the
second is better / worse on by final regret (factor 1.5) and by the AUC of the log10 regret
curve (0.1 decade), the sums of the AUCs and the median feasible fraction; with
``--fractions`` also on each run's first part (e.g. 0.2 of 50 d trials: 10 d). The runs live in
:func:`optuna_whale.bench.tuning_screen.compare_runs`.

    python benchmarks/tuning_compare.py BEFORE/runs.jsonl AFTER/runs.jsonl
    python benchmarks/tuning_compare.py BEFORE/runs.jsonl AFTER/runs.jsonl --fractions 0.1,0.2,0.4,1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from optuna_whale.bench.resumable import read_records
from optuna_whale.bench.tuning_screen import compare_runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--fractions", default="1",
                        help="comma separated fractions of each run's trials to compare at (default 1: all)")
    args = parser.parse_args(argv)
    try:
        fractions = [float(f) for f in args.fractions.split(",")]
    except ValueError:
        fractions = []
    if not fractions or not all(0 < f <= 1 for f in fractions):
        parser.error(f"--fractions must be comma separated numbers in (0, 1], got {args.fractions!r}")
    before, after = read_records(args.before), read_records(args.after)
    for fraction in fractions:
        for group, row in compare_runs(before, after, fraction=fraction).items():
            at = "" if fraction == 1 else f" at {fraction:g} of the trials"
            _print(f"{group}{at}", row)


def _print(group: str, row: dict[str, float]) -> None:
    print(f"{group}: {row['problems']:.0f} problems; final regret better {row['final_better']:.0f}, worse "
          f"{row['final_worse']:.0f}; AUC better {row['auc_better']:.0f}, worse {row['auc_worse']:.0f}; sum AUC "
          f"{row['sum_auc_before']:.2f} -> {row['sum_auc_after']:.2f}; median feasible fraction "
          f"{row['feasible_before']:.2f} -> {row['feasible_after']:.2f}")


if __name__ == "__main__":
    main()
