"""Before/after of two harness runs on the same tuning problems (``runs.jsonl`` of
``benchmarks/compare.py``, e.g. one run per code version): per group, how many problems the
second is better / worse on by final regret (factor 1.5) and by the AUC of the log10 regret
curve (0.1 decade), the sums of the AUCs and the median feasible fraction. The runs live in
:func:`optuna_whale.bench.tuning_screen.compare_runs`.

    python benchmarks/tuning_compare.py BEFORE/runs.jsonl AFTER/runs.jsonl
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
    args = parser.parse_args(argv)
    for group, row in compare_runs(read_records(args.before), read_records(args.after)).items():
        print(f"{group}: {row['problems']:.0f} problems; final regret better {row['final_better']:.0f}, worse "
              f"{row['final_worse']:.0f}; AUC better {row['auc_better']:.0f}, worse {row['auc_worse']:.0f}; sum AUC "
              f"{row['sum_auc_before']:.2f} -> {row['sum_auc_after']:.2f}; median feasible fraction "
              f"{row['feasible_before']:.2f} -> {row['feasible_after']:.2f}")


if __name__ == "__main__":
    main()
