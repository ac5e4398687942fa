"""Matplotlib figures (Agg backend, PNG): best-so-far curves, ECDFs, mean ranks, accuracy vs bytes."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: log10 regret standing for "no value yet" (worse than any, never drawn)
_UNFOUND = 1e300


def curves(summary: dict[str, Any], group: str, path: Path, max_panels: int = 60) -> None:
    """Median and quartiles of log regret vs trials, one panel per problem of ``group``; a run
    that has not found a (feasible) value yet counts as the worst, so a statistic is drawn from
    the trial where enough runs have one."""
    plt = _plt()
    pids = summary["groups"][group][:max_panels]
    cols = min(6, len(pids))
    rows = math.ceil(len(pids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), squeeze=False)
    for ax, pid in zip(axes.flat, pids, strict=False):
        for s in summary["samplers"]:
            cs = summary["curves"].get(f"{pid}|{s}")
            if not cs:
                continue
            n = min(len(c) for c in cs)
            arr = np.log10(np.array([c[:n] for c in cs], dtype=float))
            arr[~np.isfinite(arr)] = _UNFOUND
            x = np.arange(1, n + 1)

            def drawn(q: float, arr: np.ndarray = arr) -> np.ndarray:
                v = np.quantile(arr, q, axis=0, method="lower")
                return np.where(v >= _UNFOUND, np.nan, v)

            ax.plot(x, drawn(0.5), label=s, lw=1.2)
            ax.fill_between(x, drawn(0.25), drawn(0.75), alpha=0.15)
        ax.set_title(pid, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(pids):]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel("log10 regret")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ecdf(summary: dict[str, Any], path: Path) -> None:
    """COCO-style ECDF of (problem, target, seed) triples solved vs trials, per group."""
    plt = _plt()
    groups = list(summary["ecdf"])
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2), squeeze=False)
    for ax, g in zip(axes.flat, groups, strict=True):
        for s, ys in summary["ecdf"][g].items():
            ax.plot(np.arange(1, len(ys) + 1), ys, label=s)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_title(g)
        ax.set_xlabel("trials")
        ax.set_ylabel("fraction of (problem, target) solved")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ranks(summary: dict[str, Any], path: Path) -> None:
    """Mean rank per sampler (final budget), one bar group per problem group."""
    plt = _plt()
    groups = list(summary["ranks"])
    samplers = summary["samplers"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(groups), 3.2))
    width = 0.8 / max(len(samplers), 1)
    for i, s in enumerate(samplers):
        vals = [summary["ranks"][g][max(summary["ranks"][g])].get(s, np.nan) for g in groups]
        ax.bar(np.arange(len(groups)) + i * width, vals, width, label=s)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2)
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel("mean rank (lower is better)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: per sampler (in order): line style and marker, so lines and points differ beyond colour
STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ((0, (5, 1)), "v"), ((0, (3, 1, 1, 1)), "P"), ("-", "X"))
_HUGE = 1e300


def band(curves: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, 25 %, 75 % quantiles) over runs after each trial, runs cut to the shortest.

    inf or NaN (nothing found yet) counts as the worst value, so a run without a result pulls
    the quantiles up instead of vanishing; a quantile that depends on such a run is NaN (not
    drawn)."""
    n = min((len(c) for c in curves), default=0)
    arr = np.array([c[:n] for c in curves], dtype=float).reshape(len(curves), n)
    arr[~np.isfinite(arr)] = _HUGE
    qs = [np.quantile(arr, q, axis=0) if len(curves) else np.empty(0) for q in (0.5, 0.25, 0.75)]
    med, lo, hi = (np.where(q < 1e-3 * _HUGE, q, np.nan) for q in qs)
    return med, lo, hi


def best_so_far(
    curves: dict[str, list[list[float]]],
    path: Path,
    ylabel: str,
    title: str,
    log: bool = True,
) -> None:
    """One line per sampler (lower is better): the median over runs of the best-so-far curves,
    with the interquartile range shaded (:func:`band`); samplers in the order of ``curves``,
    each with its own colour and line style; log y axis unless ``log=False``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (s, cs) in enumerate(curves.items()):
        med, lo, hi = band(cs)
        if not med.size:
            continue
        x = np.arange(1, med.size + 1)
        colour, (ls, _) = colours[i % len(colours)], STYLES[i % len(STYLES)]
        ax.plot(x, med, label=f"{s} (median of {len(cs)})", lw=1.6, color=colour, ls=ls)
        if len(cs) > 1:
            ax.fill_between(x, lo, hi, alpha=0.15, color=colour, lw=0)
    if log:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(textwrap.fill(ylabel, 40), fontsize=9)
    ax.set_title(f"{title}\nmedian over seeds, band: interquartile range", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Non-dominated (bytes: lower, value: lower) points, sorted by bytes."""
    front: list[tuple[float, float]] = []
    for b, v in sorted(points, key=lambda p: (p[0], p[1])):
        if not front or v < front[-1][1]:
            front.append((b, v))
    return front


def pareto(
    points: dict[str, list[tuple[float, float, bool]]],
    path: Path,
    max_bytes: float | None,
    baseline: tuple[float, float] | None,
    title: str,
    ylabel: str = "objective value",
) -> None:
    """Two panels of the objective value (lower is better, log) against bytes (log) of every
    trial, ``(bytes, value, feasible)`` per sampler, one colour and marker per sampler.

    Left, every trial: feasible filled, infeasible open, the size budget as a dashed line and
    the baseline as a star. Right, zoomed on the feasible trials near the best ones (values up
    to three times the worst of the samplers' best feasible values): each sampler's own
    feasible Pareto front as steps and its best feasible trial as a large marker."""
    plt = _plt()
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(11.5, 4.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    bests: list[float] = []
    for i, (s, pts) in enumerate(points.items()):
        colour, (_, marker) = colours[i % len(colours)], STYLES[i % len(STYLES)]
        ok = [(b, v) for b, v, f in pts if f]
        bad = [(b, v) for b, v, f in pts if not f]
        if ok:
            ax.scatter(*zip(*ok, strict=True), s=16, color=colour, marker=marker, alpha=0.7, label=f"{s} feasible")
            bests.append(min(v for _, v in ok))
        if bad:
            ax.scatter(*zip(*bad, strict=True), s=16, facecolors="none", edgecolors=colour, marker=marker, alpha=0.45,
                       label=f"{s} over budget")
    top = 3.0 * max(bests) if bests else None
    for i, (s, pts) in enumerate(points.items()):
        colour, (ls, marker) = colours[i % len(colours)], STYLES[i % len(STYLES)]
        ok = [(b, v) for b, v, f in pts if f and top is not None and v <= top]
        if not ok:
            continue
        zoom.scatter(*zip(*ok, strict=True), s=18, color=colour, marker=marker, alpha=0.5)
        front = pareto_front(ok)
        zoom.step(*zip(*front, strict=True), where="post", color=colour, ls=ls, lw=1.2, label=f"{s} front")
        b, v = min(ok, key=lambda p: (p[1], p[0]))
        zoom.scatter([b], [v], s=110, color=colour, marker=marker, edgecolors="k", linewidths=1.0, zorder=5,
                     label=f"{s} best {v:.4g}")
    for a in (ax, zoom):
        if max_bytes is not None:
            a.axvline(float(max_bytes), color="tab:red", ls="--", lw=1, label="size budget" if a is ax else None)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("serialized model bytes (log)")
        a.grid(alpha=0.3, which="both")
    if baseline is not None:
        ax.scatter([baseline[0]], [baseline[1]], marker="*", s=160, color="k", label="baseline (uncompressed)")
    ax.set_ylabel(textwrap.fill(f"{ylabel} (log)", 40), fontsize=9)
    ax.set_title("every trial", fontsize=10)
    zoom.set_title("feasible trials near the best: each sampler's front", fontsize=10)
    ax.legend(fontsize=6.5, loc="upper right", ncol=2)
    if top is not None:
        zoom.legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
