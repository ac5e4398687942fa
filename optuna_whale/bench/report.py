"""Write a report folder: Markdown, PNG plots, JSON lines of runs, a CSV and a JSON summary.

* ``runs.jsonl``: one run per line (spec, per-trial values, per-trial sampler ms, trial seconds);
* ``results.csv``: one run per row (final regret, AUC of log10 regret, sampler ms per trial);
* ``summary.json``: the statistics of :func:`optuna_whale.bench.stats.summarise` (no curves);
* ``report.md`` with ``ranks.png``, ``ecdf.png`` and ``curves-<group>.png`` (:func:`write`, the
  benchmark), or with the per-sampler table of :func:`sampler_table`, ``best-so-far.png`` and,
  for the compression task, ``pareto.png`` (:func:`write_main_job`, ``optuna-whale compare``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from optuna_whale.bench import plots
from optuna_whale.bench.stats import TARGET_EXPONENTS, auc, regret_curve, seed_ranks, summarise

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


def write_data(
    records: list[dict[str, Any]],
    out: Path,
    budgets: list[int] | None = None,
    fractions: list[float] | None = None,
) -> dict[str, Any]:
    """Write ``runs.jsonl``, ``results.csv`` and ``summary.json`` into ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "runs.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    write_csv(records, out / "results.csv")
    summary = summarise(records, budgets, fractions)
    slim = {k: v for k, v in summary.items() if k != "curves"}
    (out / "summary.json").write_text(json.dumps(slim, indent=1))
    return summary


def write(
    records: list[dict[str, Any]],
    out: Path,
    command: str,
    budgets: list[int] | None = None,
    fractions: list[float] | None = None,
) -> dict[str, Any]:
    """Write the report folder (see the module docstring); returns the summary."""
    summary = write_data(records, out, budgets, fractions)
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
    if summary.get("behind"):
        lines += ["## Where WhaleSampler is not first", "",
                  "Problems where another sampler's median final regret is lower than WhaleSampler's: the best of them, "
                  "both medians, their ratio (largest first) and the Mann-Whitney p-value of the final regrets "
                  "(p < 0.05: a significant loss).", ""]
        for g, rows in summary["behind"].items():
            if not rows:
                lines += [f"{g}: WhaleSampler has the lowest median on every problem.", ""]
                continue
            lines += [f"### {g}", "", "| problem | whale | best other | its median | ratio | p |", "|---|---|---|---|---|---|"]
            for r in rows:
                lines.append(f"| {r['problem']} | {r['whale']:.3g} | {r['best']} | {r['best_median']:.3g} | {r['ratio']:.3g} | {r['p']:.2g} |")
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


def _best_feasible(record: dict[str, Any]) -> dict[str, Any] | None:
    """The run's feasible trial with the highest accuracy (then fewest bytes), or None."""
    ok = [m for m in record.get("metrics", []) if m.get("feasible") and "accuracy" in m]
    return max(ok, key=lambda m: (m["accuracy"], -m.get("bytes", 0))) if ok else None


def _sorted_samplers(records: list[dict[str, Any]]) -> list[str]:
    from optuna_whale.bench.samplers import SAMPLERS

    names = {r["sampler"] for r in records}
    return sorted(names, key=lambda n: (SAMPLERS.index(n) if n in SAMPLERS else len(SAMPLERS), n))


def sampler_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sampler for ``optuna-whale compare``.

    Every row: ``sampler``, ``runs``, ``sampler_seconds`` and ``wall_seconds`` (summed over the
    runs) and ``mean_rank`` (:func:`~optuna_whale.bench.stats.seed_ranks`). With model metrics
    (the compression task) also ``accuracy``, ``bytes``, ``macs``, ``study`` and ``trial`` of the
    best feasible trial over all runs (None if none was feasible), ``median_accuracy`` (median
    over runs of each run's best feasible accuracy; a run without one counts as 0) and
    ``feasible`` / ``trials``; otherwise ``best_value`` (lowest over runs) and
    ``median_regret`` (median over runs of the final best-so-far regret).
    """
    ranks = seed_ranks(records)
    rows: list[dict[str, Any]] = []
    for s in _sorted_samplers(records):
        runs = [r for r in records if r["sampler"] == s]
        row: dict[str, Any] = {
            "sampler": s,
            "runs": len(runs),
            "sampler_seconds": float(sum(float(r.get("sampler_seconds", 0.0)) for r in runs)),
            "wall_seconds": float(sum(float(r.get("wall_seconds", 0.0)) for r in runs)),
            "mean_rank": ranks.get(s, float("nan")),
        }
        if any("metrics" in r for r in runs):
            bests = [(_best_feasible(r), r) for r in runs]
            found = [(b, r) for b, r in bests if b is not None]
            top = max(found, key=lambda br: (br[0]["accuracy"], -br[0].get("bytes", 0))) if found else None
            row.update(
                accuracy=top[0]["accuracy"] if top else None,
                bytes=top[0].get("bytes") if top else None,
                macs=top[0].get("macs") if top else None,
                study=f"{top[1]['run_problem']}|{s}|seed{top[1]['seed']}" if top else None,
                trial=top[0].get("number") if top else None,
                median_accuracy=float(np.median([b["accuracy"] if b else 0.0 for b, _ in bests])),
                feasible=sum(1 for r in runs for m in r.get("metrics", []) if m.get("feasible")),
                trials=sum(len(r["values"]) for r in runs),
            )
        else:
            finals = [float(regret_curve(r["values"], r["optimum"])[-1]) for r in runs if r["values"]]
            done = [float(v) for r in runs for v in r["values"] if v is not None]
            row.update(
                best_value=min(done) if done else None,
                median_regret=float(np.median(finals)) if finals else None,
            )
        rows.append(row)
    return rows


def _cells(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(header, text) pairs of one :func:`sampler_table` row."""

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)

    cells = [("sampler", row["sampler"])]
    if "accuracy" in row:
        cells += [
            ("best acc", num(row["accuracy"], ".4f")),
            ("bytes", num(row["bytes"], ",")),
            ("MACs", num(row["macs"], ",")),
            ("median acc", num(row["median_accuracy"], ".4f")),
            ("feasible", f"{row['feasible']}/{row['trials']}"),
        ]
    else:
        cells += [("best value", num(row["best_value"], ".6g")), ("median regret", num(row["median_regret"], ".3g"))]
    cells += [
        ("sampler s", num(row["sampler_seconds"], ".1f")),
        ("wall s", num(row["wall_seconds"], ".1f")),
        ("mean rank", num(row["mean_rank"], ".2f")),
    ]
    return cells


def format_table(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """:func:`sampler_table` rows as aligned plain text (the terminal) or a Markdown table."""
    table = [_cells(r) for r in rows]
    if not table:
        return ""
    headers = [h for h, _ in table[0]]
    body = [[c for _, c in cells] for cells in table]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])
    widths = [max(len(x) for x in col) for col in zip(headers, *body, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), *(line(cells) for cells in body)])


def best_so_far_curves(records: list[dict[str, Any]]) -> tuple[dict[str, list[list[float]]], str, bool]:
    """Per sampler, one best-so-far curve per run, its y label and whether it is the accuracy
    (higher is better; else the regret, plotted on a log scale): best feasible accuracy (NaN
    until the first feasible trial) for the compression task, else the regret."""
    curves: dict[str, list[list[float]]] = {s: [] for s in _sorted_samplers(records)}
    metric = all("metrics" in r for r in records)
    for r in records:
        if metric:
            best, curve = float("nan"), []
            for m in r["metrics"]:
                if m.get("feasible") and "accuracy" in m and not best >= m["accuracy"]:
                    best = float(m["accuracy"])
                curve.append(best)
            curves[r["sampler"]].append(curve)
        else:
            curves[r["sampler"]].append(regret_curve(r["values"], r["optimum"]).tolist())
    if metric:
        return curves, "best feasible validation accuracy so far", True
    return curves, "best-so-far regret (f - f_opt)", False


def write_main_job(
    records: list[dict[str, Any]],
    out: Path,
    command: str,
    title: str,
    about: list[str],
    dashboard: str,
) -> list[dict[str, Any]]:
    """The ``optuna-whale compare`` report folder: :func:`write_data`'s files, ``report.md`` (the
    :func:`sampler_table`, ``about`` lines describing the task, the best trials, how to open the
    studies), ``best-so-far.png`` and, with model metrics, ``pareto.png``; returns the table."""
    write_data(records, out)
    rows = sampler_table(records)
    curves, ylabel, accuracy = best_so_far_curves(records)
    plots.best_so_far(curves, out / "best-so-far.png", ylabel, title, log=not accuracy, higher_is_better=accuracy)
    lines = [f"# {title}", "", f"Command: `{command}`", "", *about, "",
             "## Per sampler", "", format_table(rows, markdown=True), ""]
    metric = "accuracy" in (rows[0] if rows else {})
    if metric:
        lines += ["best acc: the best feasible (within the size budget) validation accuracy over all seeds, with that "
                  "model's bytes (serialized state_dict) and MACs; median acc: median over seeds of each run's best "
                  "feasible accuracy (0 for a run without a feasible trial); feasible: trials within the budget."]
    else:
        lines += ["best value: the lowest objective value over all seeds; median regret: median over seeds of the "
                  "final best-so-far regret f - f_opt."]
    lines += ["sampler s: time inside the sampler's methods, wall s: the runs' time, both summed over seeds; "
              "mean rank: each seed's runs ranked by their best value (1 = best), averaged over seeds.", "",
              "![best so far](best-so-far.png)", ""]
    if metric:
        meta: dict[str, Any] = next((r["problem_metadata"] for r in records if "problem_metadata" in r), {})
        base = meta.get("baseline") or {}
        points = {
            s: [(float(m["bytes"]), float(m["accuracy"]), bool(m.get("feasible")))
                for r in records if r["sampler"] == s for m in r.get("metrics", []) if "bytes" in m and "accuracy" in m]
            for s in _sorted_samplers(records)
        }
        baseline = (float(base["bytes"]), float(base["accuracy"])) if "bytes" in base and "accuracy" in base else None
        plots.pareto(points, out / "pareto.png", meta.get("max_bytes"), baseline, title)
        lines += ["## Accuracy against size, every trial", "",
                  "Filled markers: feasible trials; open markers: over the size budget (dashed line); "
                  "star: the uncompressed baseline; black steps: the feasible Pareto front of all samplers.", "",
                  "![accuracy vs bytes](pareto.png)", "", "## Best feasible trial per sampler", "",
                  "| sampler | study | trial | accuracy | bytes | MACs |", "|---|---|---|---|---|---|"]
        for row in rows:
            if row["accuracy"] is not None:
                study = row["study"].replace("|", "\\|")  # a pipe would end the table cell
                lines.append(f"| {row['sampler']} | `{study}` | {row['trial']} | {row['accuracy']:.4f} | "
                             f"{row['bytes']:,} | {row['macs']:,} |")
            else:
                lines.append(f"| {row['sampler']} | - | - | no feasible trial | - | - |")
        lines.append("")
    lines += ["## Files", "",
              f"Open every study (one per sampler and seed, named `problem|sampler|seedN`): `{dashboard}`", "",
              "`runs.jsonl` (every run: per-trial values, times and model metrics), `results.csv` (one row per run), "
              "`summary.json` (the harness's statistics), `best-so-far.png`" + (", `pareto.png`" if metric else "") + "."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return rows
