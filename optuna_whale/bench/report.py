"""Write a report folder: Markdown, PNG plots, JSON lines of runs, a CSV and a JSON summary.

* ``runs.jsonl``: one run per line (spec, per-trial values, per-trial sampler ms, trial seconds);
* ``results.csv``: one run per row (final regret, AUC of log10 regret, sampler ms per trial);
* ``summary.json``: the statistics of :func:`optuna_whale.bench.stats.summarise` (no curves);
* ``report.md`` with ``ranks.png``, ``ecdf.png`` and ``curves-<group>.png``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from optuna_whale.bench import plots
from optuna_whale.bench.stats import TARGET_EXPONENTS, auc, regret_curve, summarise

CSV_COLUMNS = (
    "group", "problem", "run_problem", "sampler", "seed", "n_trials", "final_regret", "auc_log10_regret",
    "sampler_ms_per_trial", "wall_seconds",
)


def sampler_ms_per_trial(record: dict[str, Any]) -> float:
    """Mean sampler time per trial: from per-trial ``sampler_ms`` if all known, else the total."""
    per = record.get("sampler_ms") or []
    if per and all(x is not None for x in per):
        return float(np.mean(per))
    return 1e3 * float(record.get("sampler_seconds", 0.0)) / max(len(record["values"]), 1)


def write_csv(records: list[dict[str, Any]], path: Path) -> None:
    """One row per run, columns :data:`CSV_COLUMNS`."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in records:
            curve = regret_curve(r["values"], r["optimum"])
            w.writerow([
                r["group"], r["problem_id"], r.get("run_problem", r["problem_id"]), r["sampler"], r.get("seed", ""),
                len(r["values"]), f"{curve[-1]:.6g}" if curve.size else "", f"{auc(curve):.4f}" if curve.size else "",
                f"{sampler_ms_per_trial(r):.4f}", f"{float(r.get('wall_seconds', 0.0)):.3f}",
            ])


def write(
    records: list[dict[str, Any]],
    out: Path,
    command: str,
    budgets: list[int] | None = None,
    fractions: list[float] | None = None,
) -> dict[str, Any]:
    """Write the report folder (see the module docstring); returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "runs.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    write_csv(records, out / "results.csv")
    summary = summarise(records, budgets, fractions)
    slim = {k: v for k, v in summary.items() if k != "curves"}
    (out / "summary.json").write_text(json.dumps(slim, indent=1))
    samplers = summary["samplers"]
    lines = ["# Head-to-head benchmark", "", f"Command: `{command}`", ""]
    lines += ["## Mean rank per sampler (lower is better)", "",
              "Per problem, samplers are ranked by median best-so-far regret over seeds (and BBOB instances) at the budget (trials); "
              "ranks are averaged over the problems of the group. A sampler absent from a group's row was not run there "
              "(GPSampler above its trial cap).", "",
              "| group | budget | " + " | ".join(samplers) + " |", "|---|---|" + "---|" * len(samplers)]
    for g, by_budget in summary["ranks"].items():
        for b, row in by_budget.items():
            best = min(row.values())
            cells = [("**%.2f**" if row.get(s) == best else "%.2f") % row[s] if s in row else "-" for s in samplers]
            lines.append(f"| {g} | {b} | " + " | ".join(cells) + " |")
    lines += ["", "![mean ranks](ranks.png)", ""]
    if "whale" in samplers:
        lines += ["## WhaleSampler against each sampler: wins / ties / losses", "",
                  "Per problem, Mann-Whitney U on the seeds' final regrets (two-sided, 0.05).", "",
                  "| group | " + " | ".join(s for s in samplers if s != "whale") + " |", "|---|" + "---|" * (len(samplers) - 1)]
        for g, table in summary["wtl"].items():
            cells = ["/".join(str(x) for x in table["whale"][s]) for s in samplers if s != "whale"]
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Pairwise Wilcoxon signed-rank tests on per-problem medians (Holm-corrected)", ""]
    for g, rows in summary["pairwise"].items():
        lines += [f"### {g}", "", "| A | B | problems | A better | B better | p | p (Holm) |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['a']} | {r['b']} | {r['n']} | {r['a_better']} | {r['b_better']} | {r['p']:.3g} | {r['p_holm']:.3g} |")
        lines.append("")
    lines += ["## ECDF of (problem, target) pairs solved", "",
              "Fraction of (problem, target, run) triples whose best-so-far regret reached the target, against trials; "
              "targets 10^k on the regret for k = " + ", ".join(str(k) for k in TARGET_EXPONENTS) + " (COCO style).", "",
              "![ECDF](ecdf.png)", ""]
    lines += ["## Per problem: final regret median (mean ± sd) and AUC of log10 regret (mean ± sd)", "",
              "| problem | " + " | ".join(samplers) + " |", "|---|" + "---|" * len(samplers)]
    for pid in sorted(summary["per_problem"]):
        row = summary["per_problem"][pid]
        cells = []
        for s in samplers:
            if s not in row:
                cells.append("-")
                continue
            c = row[s]
            cells.append(f"{c['median']:.3g} ({c['mean']:.3g} ± {c['sd']:.2g}); AUC {c['auc_mean']:.2f} ± {c['auc_sd']:.2f}")
        lines.append(f"| {pid} | " + " | ".join(cells) + " |")
    lines += ["", "## Sampler time per trial", "",
              "Time inside the sampler's methods per trial (mean over a run's trials; median and max over runs), "
              "and wall seconds per run (median). The machine is shared: read these as orders of magnitude.", "",
              "| group | sampler | ms per trial (median run) | ms per trial (slowest run) | wall s per run |", "|---|---|---|---|---|"]
    for g in summary["groups"]:
        for s in samplers:
            runs = [r for r in records if r["sampler"] == s and r["group"] == g]
            if not runs:
                continue
            per = [sampler_ms_per_trial(r) for r in runs]
            wall = [float(r.get("wall_seconds", 0.0)) for r in runs]
            lines.append(f"| {g} | {s} | {np.median(per):.2f} | {np.max(per):.2f} | {np.median(wall):.1f} |")
    lines += ["", "Best-so-far curves: " + ", ".join(f"`curves-{g.replace(' ', '').replace('=', '')}.png`" for g in summary["groups"])]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    plots.ranks(summary, out / "ranks.png")
    plots.ecdf(summary, out / "ecdf.png")
    for g in summary["groups"]:
        plots.curves(summary, g, out / f"curves-{g.replace(' ', '').replace('=', '')}.png")
    return summary
