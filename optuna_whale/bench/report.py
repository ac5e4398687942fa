"""Write a report folder: Markdown, PNG plots, JSON lines of runs and a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from optuna_whale.bench import plots
from optuna_whale.bench.stats import summarise


def write(records: list[dict[str, Any]], out: Path, command: str, budgets: list[int] | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "runs.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    summary = summarise(records, budgets)
    slim = {k: v for k, v in summary.items() if k != "curves"}
    (out / "summary.json").write_text(json.dumps(slim, indent=1))
    samplers = summary["samplers"]
    lines = ["# Head-to-head benchmark", "", f"Command: `{command}`", ""]
    lines += ["## Mean rank per sampler (lower is better)", "",
              "Per problem, samplers are ranked by median best-so-far regret over seeds at the budget; ranks are averaged over the problems of the group.", "",
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
    lines += ["## ECDF of (problem, target) pairs solved", "", "![ECDF](ecdf.png)", ""]
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
    lines += ["", "## Sampler time per trial (time inside the sampler's methods, median over runs)", "", "| sampler | ms per trial |", "|---|---|"]
    for s in samplers:
        per = [1e3 * r["sampler_seconds"] / max(len(r["values"]), 1) for r in records if r["sampler"] == s]
        lines.append(f"| {s} | {np.median(per):.2f} |")
    lines += ["", "Best-so-far curves: " + ", ".join(f"`curves-{g.replace(' ', '').replace('=', '')}.png`" for g in summary["groups"])]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    plots.ranks(summary, out / "ranks.png")
    plots.ecdf(summary, out / "ecdf.png")
    for g in summary["groups"]:
        plots.curves(summary, g, out / f"curves-{g.replace(' ', '').replace('=', '')}.png")
    return summary
