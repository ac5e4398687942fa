"""Reports of the multi-objective benchmark: Markdown, ``summary.json`` and two PNGs per suite.

:func:`write_biobj` (bbob-biobj: normalised hypervolume per problem, ranks, WhaleSampler against
NSGA-II, sampler time) and :func:`write_compression` (accuracy vs bytes: hypervolume quartiles,
best accuracy under size caps). Each writes ``report.md``, ``summary.json``, ``hv_curves.png``
(median and quartiles of the hypervolume against trials) and ``fronts.png`` (seed 0's
non-dominated trials) from the run records of :mod:`.multiobjective`, and returns the report.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from optuna_whale.bench.multiobjective import compression_hv_curve, hypervolume_curve
from optuna_whale.bench.plots import pareto_front

Record = dict[str, Any]


def nondominated(values: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``values`` (all objectives minimized) that no other row dominates."""
    le = (values[:, None, :] <= values[None, :, :]).all(axis=2)
    lt = (values[:, None, :] < values[None, :, :]).any(axis=2)
    return np.flatnonzero(~(le & lt).any(axis=0))


def _panels(
    titles: list[Any], path: Path, cols: int, size: tuple[float, float],
    draw: Callable[[Any, Any], None], legend_everywhere: bool,
) -> None:
    """A grid of ``cols``-wide panels, ``draw(ax, title)`` on each; spare panels hidden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(titles) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax, title in zip(axes.flat, titles, strict=False):
        draw(ax, title)
        if legend_everywhere:
            ax.legend(fontsize=7)
    if not legend_everywhere:
        axes.flat[0].legend(fontsize=7)
        for ax in list(axes.flat)[len(titles):]:
            ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _quartile_band(ax: Any, x: Any, arr: np.ndarray, label: str) -> None:
    ax.plot(x, np.median(arr, axis=0), label=label)
    ax.fill_between(x, np.quantile(arr, 0.25, axis=0), np.quantile(arr, 0.75, axis=0), alpha=0.2)


def write_biobj(
    records: list[Record], out: Path, command: str, samplers: list[str], checkpoints: list[int], trials: int
) -> str:
    """The bbob-biobj report of ``records`` (already restricted to the grid) into ``out``.

    Per problem, the ideal point is each objective's minimum over every run of the problem (all
    samplers and seeds) and the nadir COCO's; hypervolumes are taken every 10 trials up to
    ``trials`` and tabulated (median over seeds, rank) at ``checkpoints``.
    """
    by_problem: dict[tuple[int, int], list[Record]] = defaultdict(list)
    for rec in records:
        by_problem[(rec["function"], rec["dim"])].append(rec)
    grid = list(range(10, trials + 1, 10))
    table: dict[tuple[int, int], dict[str, dict[int, float]]] = {}
    curves: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    seconds: dict[str, list[float]] = defaultdict(list)
    for prob, recs in sorted(by_problem.items()):
        ideal = np.concatenate([np.array(r["values"]) for r in recs]).min(axis=0)
        nadir = np.array(recs[0]["nadir"])
        per: dict[str, list[list[float]]] = defaultdict(list)
        for r in recs:
            vals = np.array(r["values"])
            per[r["sampler"]].append(hypervolume_curve(vals, ideal, nadir, [n for n in grid if n <= len(vals)]))
            seconds[r["sampler"]].append(r["seconds"] / len(vals))
        table[prob], curves[prob] = {}, {}
        for s, cs in per.items():
            length = min(len(c) for c in cs)
            arr = np.array([c[:length] for c in cs])
            curves[prob][s] = arr
            table[prob][s] = {n: float(np.median(arr[:, grid.index(n)])) for n in checkpoints if grid.index(n) < length}

    lines = [
        "# Multi-objective benchmark (bbob-biobj)", "", f"Command: `{command}`", "",
        "Normalised hypervolume (reference point = COCO's nadir, ideal = best value of each objective over all runs "
        "of the problem; higher is better), median over seeds. Rank 1 is best (per problem and budget, by median). "
        "GPSampler runs only up to its trial cap and dimension cap (`-` otherwise).",
        "",
    ]
    for n in checkpoints:
        ranks: dict[str, list[float]] = defaultdict(list)
        wins = [0, 0, 0]
        lines += [f"## HV at {n} trials", "", "| problem | " + " | ".join(samplers) + " |", "|---|" + "---|" * len(samplers)]
        for prob, row in table.items():
            present = {s: row[s][n] for s in samplers if s in row and n in row[s]}
            cells = []
            for s in samplers:
                if s in present:
                    rank = 1 + sum(v > present[s] for v in present.values())
                    ranks[s].append(rank)
                    cells.append(f"{present[s]:.4f} ({rank})")
                else:
                    cells.append("-")
            if "whale" in present and "nsga2" in present:
                w, g = present["whale"], present["nsga2"]
                wins[0 if w > g else (1 if w == g else 2)] += 1
            lines.append(f"| f{prob[0]} d={prob[1]} | " + " | ".join(cells) + " |")
        lines += ["", "Mean rank: " + ", ".join(f"{s} {np.mean(ranks[s]):.2f}" for s in samplers if ranks[s]), ""]
        lines += [f"WhaleSampler vs NSGA-II at {n} trials (by median HV): {wins[0]} wins, {wins[1]} ties, {wins[2]} losses.", ""]
    lines += ["## Sampler time", "", "| sampler | median seconds per trial (whole study / trials) |", "|---|---|"]
    for s in samplers:
        if seconds[s]:
            lines.append(f"| {s} | {np.median(seconds[s]):.4f} |")
    lines += ["", "Plots: `hv_curves.png` (median and quartiles of HV vs trials), `fronts.png` (first seed's non-dominated points).",
              "", "Compression problems (accuracy vs bytes, `--suite compression`): `compression/report.md`."]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({f"f{k[0]}_d{k[1]}": v for k, v in table.items()}, indent=1))
    probs = list(curves)
    if not probs:
        return text

    def hv(ax: Any, prob: tuple[int, int]) -> None:
        for s, arr in curves[prob].items():
            _quartile_band(ax, grid[: arr.shape[1]], arr, s)
        ax.set_title(f"bbob-biobj f{prob[0]} d={prob[1]}")
        ax.set_xlabel("trials")
        ax.set_ylabel("normalised HV")

    def fronts(ax: Any, prob: tuple[int, int]) -> None:
        for r in by_problem[prob]:
            if r["seed"] != 0:
                continue
            v = np.array(r["values"])
            keep = nondominated(v)
            front = v[keep][np.argsort(v[keep][:, 0])]
            ax.plot(front[:, 0], front[:, 1], ".-", ms=3, label=r["sampler"])
        nadir = by_problem[prob][0]["nadir"]
        ax.set_xlim(right=nadir[0])
        ax.set_ylim(top=nadir[1])
        ax.set_title(f"f{prob[0]} d={prob[1]} (seed 0)")

    cols = min(4, len(probs))
    _panels(probs, out / "hv_curves.png", cols, (4, 3), hv, legend_everywhere=False)
    _panels(probs, out / "fronts.png", cols, (4, 3), fronts, legend_everywhere=False)
    return text


def write_compression(
    records: list[Record], out: Path, command: str, samplers: list[str], problems: dict[str, int], seeds: int
) -> str:
    """The compression report of ``records`` (already restricted to the grid) into ``out``:
    per problem, the hypervolume (:func:`~.multiobjective.compression_hv_curve`) at half and all
    of its trials (median [quartiles] (rank) over seeds), the best accuracy at <= 1/10 and 1/50
    of the baseline's bytes, seconds per trial; then the mean rank at the full trial count."""
    by_problem: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        by_problem[rec["problem"]].append(rec)
    lines = [
        "# Multi-objective benchmark: compression (accuracy vs bytes)", "", f"Command: `{command}`", "",
        "Two objectives per trial: validation accuracy (max) and serialized state_dict bytes (min) of the "
        "compressed model (structured pruning of conv1/conv2/fc1, fc1 low rank, quantization none/int8/fp16, "
        "1-2 fine-tune epochs; protocol in the docstring of `benchmarks/multiobjective.py`). Every run compresses "
        "the same trained base model; seeds are sampler seeds. Machine: 2 shared CPU cores with other "
        "benchmarks running, one torch thread, one run at a time.", "",
        "Hypervolume of `(1 - accuracy, log10(bytes / baseline bytes))` with reference point `(1, 0)` "
        "(accuracy 0, the uncompressed size): the area under the best-accuracy staircase over decades of "
        "compression (accuracy x decades; higher is better). Median over seeds, rank 1 = best (by median).", "",
    ]
    summary: dict[str, Any] = {}
    curves: dict[str, dict[str, np.ndarray]] = {}
    mean_ranks: dict[str, list[int]] = defaultdict(list)
    for prob, n in problems.items():
        recs = by_problem.get(prob, [])
        if not recs:
            continue
        base = recs[0]["baseline"]
        checkpoints = sorted({max(1, n // 2), n})
        grid = list(range(1, n + 1))
        curves[prob] = {}
        per: dict[str, list[list[float]]] = defaultdict(list)
        caps: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        secs: dict[str, list[float]] = defaultdict(list)
        for r in recs:
            vals = np.array(r["values"], dtype=float)
            per[r["sampler"]].append(compression_hv_curve(vals, base["bytes"], grid))
            secs[r["sampler"]].append(r["seconds"] / len(vals))
            for cap in (10, 50):
                ok = vals[vals[:, 1] <= base["bytes"] / cap]
                caps[r["sampler"]][cap].append(float(ok[:, 0].max()) if len(ok) else float("nan"))
        lines += [f"## {prob} (baseline val accuracy {base['accuracy']:.4f}, {base['bytes']} bytes; {n} trials x "
                  f"{seeds} seeds)", "",
                  "| sampler | " + " | ".join(f"HV at {c}" for c in checkpoints)
                  + " | best acc at <= 1/10 size | best acc at <= 1/50 size | seconds per trial |",
                  "|---|" + "---|" * (len(checkpoints) + 3)]
        med = {s: {c: float(np.median(np.array(per[s])[:, c - 1])) for c in checkpoints} for s in samplers if s in per}
        summary[prob] = {"baseline": base, "trials": n, "hv_median": med, "hv_all": {s: [c[-1] for c in per[s]] for s in per}}
        for s in samplers:
            if s not in per:
                continue
            arr = np.array(per[s])
            curves[prob][s] = arr
            cells = []
            for c in checkpoints:
                rank = 1 + sum(med[o][c] > med[s][c] for o in med)
                if c == n:
                    mean_ranks[s].append(rank)
                q1, q3 = np.quantile(arr[:, c - 1], [0.25, 0.75])
                cells.append(f"{med[s][c]:.3f} [{q1:.3f}, {q3:.3f}] ({rank})")
            cap_cells = [f"{np.nanmedian(caps[s][cap]):.4f}" if not all(math.isnan(v) for v in caps[s][cap]) else "-"
                         for cap in (10, 50)]
            lines.append(f"| {s} | " + " | ".join(cells) + " | " + " | ".join(cap_cells)
                         + f" | {np.median(secs[s]):.2f} |")
        lines += ["", "HV cells: median [quartiles] (rank). Best accuracy at a size cap: median over seeds of the "
                  "best validation accuracy among trials at most that fraction of the baseline's bytes (`-`: no "
                  "trial that small; the int8 state_dict alone has about 5 kB of overhead). Seconds per trial: "
                  "whole study / trials, i.e. mostly the objective.", ""]
    if mean_ranks:
        lines += ["Mean rank at the full trial count: "
                  + ", ".join(f"{s} {np.mean(v):.2f}" for s, v in mean_ranks.items()), ""]
    total = sum(r["seconds"] for r in records)
    lines += [f"Wall time: {total / 60:.1f} min of studies in all ({len(records)} runs, one at a time), plus "
              "training each base model once.", ""]
    lines += ["Plots: `hv_curves.png` (median and quartiles of HV vs trials), `fronts.png` (non-dominated "
              "trials of seed 0: validation accuracy vs bytes)."]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    probs = list(curves)
    if not probs:
        return text

    def hv(ax: Any, prob: str) -> None:
        for s, arr in curves[prob].items():
            _quartile_band(ax, np.arange(1, arr.shape[1] + 1), arr, s)
        ax.set_title(f"compression {prob}")
        ax.set_xlabel("trials")
        ax.set_ylabel("HV (accuracy x decades)")

    def fronts(ax: Any, prob: str) -> None:
        base = by_problem[prob][0]["baseline"]
        for r in by_problem[prob]:
            if r["seed"] != 0:
                continue
            f = np.array(pareto_front([(float(b), float(a)) for a, b in r["values"]]))
            ax.step(f[:, 0], f[:, 1], where="post", marker=".", ms=4, label=r["sampler"])
        ax.axvline(base["bytes"], color="k", lw=0.8, ls="--", label="baseline bytes")
        ax.set_xscale("log")
        ax.set_ylim(max(0.0, base["accuracy"] - 0.3), min(1.0, base["accuracy"] + 0.02))
        ax.set_xlabel("bytes (log)")
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"{prob} (seed 0)")

    _panels(probs, out / "hv_curves.png", len(probs), (5, 3.6), hv, legend_everywhere=True)
    _panels(probs, out / "fronts.png", len(probs), (5, 3.6), fronts, legend_everywhere=True)
    return text
