"""Write a report folder: Markdown, PNG plots, JSON lines of runs, a CSV and a JSON summary.

* ``runs.jsonl``: one run per line (spec, per-trial values, per-trial sampler ms, trial seconds);
* ``results.csv``: one run per row (final regret, AUC of log10 regret, sampler ms per trial; for
  runs with model metrics, the compression task, :data:`METRIC_CSV_COLUMNS` instead);
* ``summary.json``: the statistics of :func:`optuna_whale.bench.stats.summarise` (no curves);
* ``report.md`` with ``ranks.png``, ``ecdf.png`` and ``curves-<group>.png`` (:func:`write`, the
  benchmark), or with the per-sampler table of :func:`sampler_table`, ``best-so-far.png`` and,
  for the compression task, ``pareto.png`` (:func:`write_main_job`, ``optuna-whale compare``).

Runs with model metrics (the compression task) are constrained: every trial's value is the real
metric (e.g. the validation cross-entropy), within the size budget or not, and only *feasible*
trials (every constraint <= 0) count for a run's best (:func:`feasible_values`). The winner of
``optuna-whale compare`` is the sampler with the lowest median over seeds of the runs' best
(feasible) values; whether its lead is significant is a two-sided Mann-Whitney U test against
each other sampler, Holm-corrected (:func:`verdict`).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from optuna_whale.bench import plots
from optuna_whale.bench.stats import (
    TARGET_EXPONENTS,
    auc,
    holm,
    regret_curve,
    seed_ranks,
    summarise,
)

#: significance level of the main job's tests
ALPHA = 0.05

CSV_COLUMNS = (
    "group", "problem", "run_problem", "sampler", "seed", "n_trials", "final_regret", "auc_log10_regret",
    "sampler_ms_per_trial", "wall_seconds",
)
#: ``results.csv`` of runs with model metrics; ``best_feasible_value`` is the run's lowest value
#: (the objective named in ``objective``) among its feasible trials, the ``*_of_best`` columns
#: are that trial's figures (empty without a feasible trial)
METRIC_CSV_COLUMNS = (
    "problem", "sampler", "seed", "n_trials", "feasible_trials", "objective", "best_feasible_value",
    "accuracy_of_best", "bytes_of_best", "macs_of_best", "trial_of_best", "sampler_ms_per_trial", "wall_seconds",
)


def has_metrics(records: list[dict[str, Any]]) -> bool:
    """Whether the runs carry model metrics (the constrained compression task)."""
    return bool(records) and all("metrics" in r for r in records)


def feasible_values(record: dict[str, Any]) -> list[float | None]:
    """The run's values with every trial that is not feasible (a constraint > 0, or no metrics)
    as None; the values unchanged for a run without constraints or model metrics."""
    flags = record.get("feasible")
    if flags is not None:
        return [v if v is not None and i < len(flags) and flags[i] else None for i, v in enumerate(record["values"])]
    metrics = record.get("metrics")
    if metrics is None:
        return list(record["values"])
    return [v if v is not None and i < len(metrics) and metrics[i].get("feasible") else None
            for i, v in enumerate(record["values"])]


def feasible_share(record: dict[str, Any]) -> float | None:
    """The share of the run's trials that were feasible; None for a run without constraints."""
    flags = record.get("feasible")
    return sum(flags) / len(flags) if flags else None


def feasible_shares(records: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, int, int]]]:
    """Per group and sampler of the runs of a constrained problem (records with ``feasible``):
    (median share of feasible trials, runs without a feasible trial, runs)."""
    runs: dict[str, dict[str, list[float]]] = {}
    for r in records:
        share = feasible_share(r)
        if share is not None:
            runs.setdefault(r["group"], {}).setdefault(r["sampler"], []).append(share)
    return {g: {s: (float(np.median(v)), sum(x == 0 for x in v), len(v)) for s, v in by.items()} for g, by in runs.items()}


def scored(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``records`` whose ``values`` count feasible trials only (:func:`feasible_values`):
    what rankings, curves and tests read."""
    return [{**r, "values": feasible_values(r)} for r in records]


def objective_label(records: list[dict[str, Any]]) -> tuple[str, str]:
    """(name, label) of the runs' objective: from the task metadata for the compression task
    (e.g. ``("val_loss", "validation cross-entropy (nats per example)")``), else the regret."""
    meta: dict[str, Any] = next((r["problem_metadata"] for r in records if "problem_metadata" in r), {})
    if has_metrics(records) and "objective" in meta:
        name = str(meta["objective"])
        return name, str(meta.get("objective_label", name))
    return "regret", "regret f - f_opt"


def sampler_ms_per_trial(record: dict[str, Any]) -> float:
    """Mean sampler time per trial: from per-trial ``sampler_ms`` if all known, else the total."""
    per = record.get("sampler_ms") or []
    if per and all(x is not None for x in per):
        return float(np.mean(per))
    return 1e3 * float(record.get("sampler_seconds", 0.0)) / max(len(record["values"]), 1)


def write_csv(records: list[dict[str, Any]], path: Path) -> None:
    """One row per run, columns :data:`CSV_COLUMNS` (:data:`METRIC_CSV_COLUMNS` for runs with
    model metrics)."""
    if has_metrics(records):
        write_metric_csv(records, path)
        return
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in records:
            curve = regret_curve(feasible_values(r), r["optimum"])
            w.writerow([
                r["group"], r["problem_id"], r.get("run_problem", r["problem_id"]), r["sampler"], r.get("seed", ""),
                len(r["values"]), f"{curve[-1]:.6g}" if curve.size else "", f"{auc(curve):.4f}" if curve.size else "",
                f"{sampler_ms_per_trial(r):.4f}", f"{float(r.get('wall_seconds', 0.0)):.3f}",
            ])


def _best_trial(record: dict[str, Any]) -> tuple[float, dict[str, Any]] | None:
    """(value, metrics) of the run's feasible trial with the lowest value (then fewest bytes)."""
    found = [(float(v), record["metrics"][i]) for i, v in enumerate(feasible_values(record)) if v is not None]
    return min(found, key=lambda vm: (vm[0], vm[1].get("bytes", 0))) if found else None


def write_metric_csv(records: list[dict[str, Any]], path: Path) -> None:
    """One row per run with model metrics, columns :data:`METRIC_CSV_COLUMNS`."""
    name, _ = objective_label(records)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(METRIC_CSV_COLUMNS)
        for r in records:
            best = _best_trial(r)
            m = best[1] if best else {}
            w.writerow([
                r.get("run_problem", r["problem_id"]), r["sampler"], r.get("seed", ""), len(r["values"]),
                sum(1 for v in feasible_values(r) if v is not None), name,
                f"{best[0]:.6g}" if best else "", f"{m['accuracy']:.6g}" if "accuracy" in m else "",
                m.get("bytes", ""), m.get("macs", ""), m.get("number", ""),
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
    summary = summarise(scored(records), budgets, fractions)
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
    shares = feasible_shares(records)
    if shares:
        lines += ["## Feasible trials", "",
                  "Per sampler: the median over the group's runs of the share of trials that were feasible (every "
                  "constraint <= 0), and the runs without any feasible trial (their regret counts as unsolved).", "",
                  "| group | " + " | ".join(samplers) + " |", "|---|" + "---|" * len(samplers)]
        for g, row in shares.items():
            cells = [f"{row[s][0]:.2f} ({row[s][1]} of {row[s][2]} runs none)" if s in row else "-" for s in samplers]
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
        lines.append("")
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


def sampler_order(records: list[dict[str, Any]]) -> list[str]:
    """The samplers in the order in which ``records`` first name them (``optuna-whale compare``
    sorts its records in ``--samplers`` order)."""
    return list(dict.fromkeys(r["sampler"] for r in records))


def run_scores(records: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per sampler (in :func:`sampler_order`), one score per run, lower is better: the best
    feasible value (inf without a feasible trial) for runs with model metrics, else the final
    best-so-far regret."""
    out: dict[str, list[float]] = {s: [] for s in sampler_order(records)}
    for r in scored(records):
        curve = regret_curve(r["values"], r["optimum"])
        out[r["sampler"]].append(float(curve[-1]) if curve.size else math.inf)
    return out


def min_mannwhitney_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney U test of ``n1`` against ``n2``
    values can give (complete separation, no ties): ``2 / C(n1 + n2, n1)``."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def verdict(records: list[dict[str, Any]], alpha: float = ALPHA) -> dict[str, Any]:
    """Winner and significance for ``optuna-whale compare``.

    The winner is the sampler with the lowest median :func:`run_scores` (ties: the lower mean
    score); None if no run has a finite score. Each other sampler is compared with it by a
    two-sided Mann-Whitney U test on the per-run scores (runs of different samplers share no
    pairing), p-values Holm-corrected over the comparisons. Returns ``winner``, ``medians``,
    ``tests`` (``other``, ``p``, ``p_holm``, ``significant``), ``min_p`` (the smallest raw
    p-value these run counts allow) and ``can_be_significant`` (whether ``min_p`` passes the
    Holm threshold of the smallest p-value, ``alpha / comparisons``).
    """
    from scipy import stats as sps

    scores = run_scores(records)
    medians = {s: float(np.median(v)) if v else math.inf for s, v in scores.items()}
    finite = [s for s in scores if math.isfinite(medians[s])]
    if not finite:
        return {"winner": None, "medians": medians, "tests": [], "min_p": 1.0, "can_be_significant": False}
    winner = min(finite, key=lambda s: (medians[s], float(np.mean(np.minimum(scores[s], 1e300)))))
    others = [s for s in scores if s != winner]
    raw: list[float] = []
    for s in others:
        a, b = scores[winner], scores[s]
        if len(a) < 1 or len(b) < 1 or np.array_equal(np.sort(a), np.sort(b)):
            raw.append(1.0)
        else:
            raw.append(float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue))
    adjusted = holm(raw) if raw else []
    tests = [{"other": s, "p": p, "p_holm": q, "significant": q < alpha}
             for s, p, q in zip(others, raw, adjusted, strict=True)]
    min_p = min((min_mannwhitney_p(len(scores[winner]), len(scores[s])) for s in others), default=1.0)
    return {"winner": winner, "medians": medians, "tests": tests, "min_p": min_p,
            "can_be_significant": bool(others) and min_p < alpha / len(others)}


def _seeds_for_significance(comparisons: int, alpha: float = ALPHA) -> int:
    """Fewest runs per sampler whose smallest Mann-Whitney p-value passes Holm's first threshold."""
    n = 2
    while min_mannwhitney_p(n, n) >= alpha / max(comparisons, 1):
        n += 1
    return n


def verdict_lines(records: list[dict[str, Any]], alpha: float = ALPHA) -> list[str]:
    """report.md lines naming the winner and saying whether its lead is significant."""
    v = verdict(records, alpha)
    name, label = objective_label(records)
    what = f"best feasible {label}" if has_metrics(records) else "final best-so-far regret"
    runs = {s: len(x) for s, x in run_scores(records).items()}
    if v["winner"] is None:
        return ["No sampler found a feasible trial: there is no winner."]
    w = v["winner"]
    rest = ", ".join(f"{t['other']} {_num(v['medians'][t['other']])}" for t in v["tests"])
    lines = [f"**Winner: {w}**, with the lowest median over its {_plural(runs[w], 'run')} of each run's {what}: "
             f"{_num(v['medians'][w])}" + (f" (against {rest})." if rest else ".")]
    if not v["tests"]:
        return lines
    lines += ["", f"Is the lead significant? Two-sided Mann-Whitney U tests of {w}'s per-run values against each "
              f"other sampler's, Holm-corrected over the {len(v['tests'])} comparisons, level {alpha:g}:", "",
              "| against | its median | p | p (Holm) | significant |", "|---|---|---|---|---|"]
    for t in v["tests"]:
        lines.append(f"| {t['other']} | {_num(v['medians'][t['other']])} | {t['p']:.3g} | {t['p_holm']:.3g} | "
                     f"{'yes' if t['significant'] else 'no'} |")
    lines.append("")
    need = _seeds_for_significance(len(v["tests"]), alpha)
    if not v["can_be_significant"]:
        n = min(runs.values())
        lines.append(f"With {n} run{'' if n == 1 else 's'} per sampler no test here can give a p-value below "
                     f"{v['min_p']:.2g}, so no difference can be significant at {alpha:g} after Holm's correction: "
                     f"{w} has the best median, not a proven lead. With `--seeds {need}` or more a clear lead can be "
                     "significant.")
    elif any(t["significant"] for t in v["tests"]):
        sig = ", ".join(t["other"] for t in v["tests"] if t["significant"])
        lines.append(f"{w} is significantly better than {sig}; the other differences are not significant.")
    else:
        lines.append(f"None of the differences is significant at {alpha:g} after Holm's correction: {w} has the best "
                     "median, not a proven lead.")
    return lines


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _num(v: float) -> str:
    return "none feasible" if not math.isfinite(v) else f"{v:.4g}"


def sampler_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sampler for ``optuna-whale compare``, in :func:`sampler_order`.

    Every row: ``sampler``, ``runs``, ``sampler_seconds`` and ``wall_seconds`` (summed over the
    runs) and ``mean_rank`` (:func:`~optuna_whale.bench.stats.seed_ranks` of the runs' best
    feasible values). With model metrics (the compression task): ``objective`` (its name),
    ``best_value`` (lowest feasible value over all runs) and that trial's ``accuracy``,
    ``bytes``, ``macs``, ``study`` and ``trial`` (None if no trial was feasible),
    ``median_value`` (median over runs of each run's best feasible value; inf for a run without
    one) and ``feasible`` / ``trials``. Otherwise ``best_regret`` (lowest final regret over
    runs) and ``median_regret`` (median over runs), both ``f - f_opt``.
    """
    ranks = seed_ranks(scored(records))
    metric = has_metrics(records)
    name, _ = objective_label(records)
    rows: list[dict[str, Any]] = []
    for s in sampler_order(records):
        runs = [r for r in records if r["sampler"] == s]
        row: dict[str, Any] = {
            "sampler": s,
            "runs": len(runs),
            "sampler_seconds": float(sum(float(r.get("sampler_seconds", 0.0)) for r in runs)),
            "wall_seconds": float(sum(float(r.get("wall_seconds", 0.0)) for r in runs)),
            "mean_rank": ranks.get(s, float("nan")),
        }
        if metric:
            bests = [(_best_trial(r), r) for r in runs]
            found = [(b, r) for b, r in bests if b is not None]
            top = min(found, key=lambda br: (br[0][0], br[0][1].get("bytes", 0))) if found else None
            m = top[0][1] if top else {}
            row.update(
                objective=name,
                best_value=top[0][0] if top else None,
                accuracy=m.get("accuracy"),
                bytes=m.get("bytes"),
                macs=m.get("macs"),
                study=f"{top[1]['run_problem']}|{s}|seed{top[1]['seed']}" if top else None,
                trial=m.get("number"),
                median_value=float(np.median([b[0] if b else math.inf for b, _ in bests])),
                feasible=sum(1 for r in runs for v in feasible_values(r) if v is not None),
                trials=sum(len(r["values"]) for r in runs),
            )
        else:
            finals = [float(regret_curve(feasible_values(r), r["optimum"])[-1]) for r in runs if r["values"]]
            row.update(
                best_regret=min(finals) if finals else None,
                median_regret=float(np.median(finals)) if finals else None,
            )
        rows.append(row)
    return rows


#: short column names of the objectives
_SHORT = {"val_loss": "val loss", "accuracy": "val acc"}


def _cells(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(header, text) pairs of one :func:`sampler_table` row."""

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)

    cells = [("sampler", row["sampler"])]
    if "best_value" in row:
        short = _SHORT.get(row["objective"], row["objective"])
        cells += [
            (f"best {short}", num(row["best_value"], ".4f")),
            ("its acc", num(row["accuracy"], ".4f")),
            ("bytes", num(row["bytes"], ",")),
            ("MACs", num(row["macs"], ",")),
            (f"median {short}", num(row["median_value"], ".4f")),
            ("feasible", f"{row['feasible']}/{row['trials']}"),
        ]
    else:
        cells += [("best regret", num(row["best_regret"], ".3g")), ("median regret", num(row["median_regret"], ".3g"))]
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


def best_so_far_curves(records: list[dict[str, Any]]) -> tuple[dict[str, list[list[float]]], str]:
    """Per sampler (in :func:`sampler_order`), one best-so-far curve per run (lower is better)
    and its y label: the best feasible value so far (inf until the first feasible trial) for
    runs with model metrics, else the regret."""
    curves: dict[str, list[list[float]]] = {s: [] for s in sampler_order(records)}
    for r in scored(records):
        v = np.array([np.inf if x is None else float(x) for x in r["values"]])
        best = np.minimum.accumulate(v) if v.size else v
        curves[r["sampler"]].append((best if has_metrics(records) else regret_curve(r["values"], r["optimum"])).tolist())
    if has_metrics(records):
        return curves, f"best feasible {objective_label(records)[1]} so far (log)"
    return curves, "best-so-far regret f - f_opt (log)"


def pareto_points(records: list[dict[str, Any]]) -> dict[str, list[tuple[float, float, bool]]]:
    """Per sampler, ``(bytes, value, feasible)`` of every completed trial with model metrics."""
    out: dict[str, list[tuple[float, float, bool]]] = {s: [] for s in sampler_order(records)}
    for r in records:
        for v, m in zip(r["values"], r.get("metrics", []), strict=False):
            if v is not None and "bytes" in m and math.isfinite(float(v)):
                out[r["sampler"]].append((float(m["bytes"]), float(v), bool(m.get("feasible"))))
    return out


def scoring_lines(records: list[dict[str, Any]]) -> list[str]:
    """report.md lines saying how trials are scored (the compression task's metadata)."""
    meta: dict[str, Any] = next((r["problem_metadata"] for r in records if "problem_metadata" in r), {})
    if not has_metrics(records) or not meta:
        return []
    _, label = objective_label(records)
    base = meta.get("baseline") or {}
    lines = [f"Every trial's value is its {label} on the {meta.get('val_size', '?')} validation examples, "
             "within the size budget or not (minimised). The budget is the trial's constraint "
             f"`{meta.get('constraint', 'bytes / max_bytes - 1 <= 0')}` (max_bytes "
             f"{float(meta.get('max_bytes', float('nan'))):,.0f}), which WhaleSampler, TPE and GP read and CMA-ES "
             "and random search ignore; a run's result is its best *feasible* trial. optuna-dashboard greys the "
             "infeasible trials in its plots and shows the trial user attrs `feasible` (1/0, a sortable column of "
             "its trial table) and `constraint:bytes`; its \"Best Trial\" badge ignores constraints and can sit on "
             "an infeasible trial."]
    if "val_loss" in base:
        lines += ["", f"Uncompressed baseline: {label} {float(base['val_loss']):.4f}, accuracy "
                  f"{float(base.get('accuracy', float('nan'))):.4f}, {int(base.get('bytes', 0)):,} bytes."]
    return lines


def write_main_job(
    records: list[dict[str, Any]],
    out: Path,
    command: str,
    title: str,
    about: list[str],
    dashboard: str,
) -> list[dict[str, Any]]:
    """The ``optuna-whale compare`` report folder: :func:`write_data`'s files, ``report.md`` (the
    :func:`sampler_table`, ``about`` lines describing the task, how trials are scored, the
    winner and its significance (:func:`verdict_lines`), the best trials, how to open the
    studies), ``best-so-far.png`` and, with model metrics, ``pareto.png``; returns the table.
    Rows and plot legends follow :func:`sampler_order`."""
    write_data(records, out)
    rows = sampler_table(records)
    curves, ylabel = best_so_far_curves(records)
    plots.best_so_far(curves, out / "best-so-far.png", ylabel, title, log=True)
    metric = has_metrics(records)
    lines = [f"# {title}", "", f"Command: `{command}`", "", *about, ""]
    if metric:
        lines += ["## How trials are scored", "", *scoring_lines(records), ""]
    lines += ["## Per sampler", "", format_table(rows, markdown=True), ""]
    if metric:
        short = _SHORT.get(rows[0]["objective"], rows[0]["objective"]) if rows else "value"
        lines += [f"best {short}: the lowest value of a feasible trial (within the size budget) over all seeds, with "
                  "that trial's accuracy, bytes (serialized state_dict) and MACs; "
                  f"median {short}: median over seeds of each run's best feasible value (\"-\" if half the runs have "
                  "none); feasible: trials within the budget."]
    else:
        lines += ["best regret: the lowest final best-so-far regret f - f_opt over all seeds; median regret: median "
                  "over seeds of the final best-so-far regret f - f_opt."]
    lines += ["sampler s: time inside the sampler's methods, wall s: the runs' time, both summed over seeds; "
              "mean rank: each seed's runs ranked by their best " + ("feasible value" if metric else "value")
              + " (1 = best), averaged over seeds.", "",
              "## Winner", "", *verdict_lines(records), "",
              "## Best so far", "",
              "Median over seeds (line) and interquartile range (band) of each run's best "
              + ("feasible value" if metric else "regret") + " after each trial, log scale.", "",
              "![best so far](best-so-far.png)", ""]
    if metric:
        meta: dict[str, Any] = next((r["problem_metadata"] for r in records if "problem_metadata" in r), {})
        base = meta.get("baseline") or {}
        name, label = objective_label(records)
        bval = base.get(name)
        baseline = (float(base["bytes"]), float(bval)) if "bytes" in base and bval is not None else None
        plots.pareto(pareto_points(records), out / "pareto.png", meta.get("max_bytes"), baseline, title, label)
        lines += [f"## {label[0].upper() + label[1:]} against size, every trial", "",
                  "Left, every trial: filled markers feasible, open markers over the size budget (dashed line); "
                  "star: the uncompressed baseline. Right, zoomed on the best feasible trials: each sampler's own "
                  "feasible Pareto front (steps) and its best trial (large marker).", "",
                  "![value vs bytes](pareto.png)", "", "## Best feasible trial per sampler", "",
                  f"| sampler | study | trial | {label} | accuracy | bytes | MACs |", "|---|---|---|---|---|---|---|"]
        for row in rows:
            if row["best_value"] is not None:
                study = row["study"].replace("|", "\\|")  # a pipe would end the table cell
                lines.append(f"| {row['sampler']} | `{study}` | {row['trial']} | {row['best_value']:.4f} | "
                             f"{row['accuracy']:.4f} | {row['bytes']:,} | {row['macs']:,} |")
            else:
                lines.append(f"| {row['sampler']} | - | - | no feasible trial | - | - | - |")
        lines.append("")
    csv_text = ("one row per run: its best feasible value, that trial's accuracy, bytes and MACs" if metric
                else "one row per run: final regret f - f_opt, AUC of log10 regret")
    lines += ["## Files", "",
              f"Open every study (one per sampler and seed, named `problem|sampler|seedN`): `{dashboard}`", "",
              f"`runs.jsonl` (every run: per-trial values, times and model metrics), `results.csv` ({csv_text}), "
              "`summary.json` (the harness's statistics" + (", on feasible trials only" if metric else "")
              + "), `best-so-far.png`" + (", `pareto.png`" if metric else "") + "."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return rows
