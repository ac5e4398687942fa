"""Matplotlib figures (Agg backend, PNG): best-so-far curves, ECDFs, mean ranks, accuracy vs bytes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curves(summary: dict[str, Any], group: str, path: Path, max_panels: int = 24) -> None:
    """Median and quartiles of log regret vs trials, one panel per problem of ``group``."""
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
            arr[~np.isfinite(arr)] = np.nan
            x = np.arange(1, n + 1)
            ax.plot(x, np.nanmedian(arr, axis=0), label=s, lw=1.2)
            ax.fill_between(x, np.nanquantile(arr, 0.25, axis=0), np.nanquantile(arr, 0.75, axis=0), alpha=0.15)
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


def best_so_far(
    curves: dict[str, list[list[float]]],
    path: Path,
    ylabel: str,
    title: str,
    log: bool = False,
    higher_is_better: bool = False,
) -> None:
    """One line per sampler: the median over runs of the best-so-far curves, with the range
    (min to max over runs) shaded. NaN or inf (nothing found yet) counts as the worst value, so
    the median stays monotone, and is not drawn."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    worst = -np.inf if higher_is_better else np.inf
    for s, cs in curves.items():
        n = min((len(c) for c in cs), default=0)
        if n == 0:
            continue
        arr = np.array([c[:n] for c in cs], dtype=float)
        arr[~np.isfinite(arr)] = worst
        x = np.arange(1, n + 1)

        def shown(v: np.ndarray) -> np.ndarray:
            return np.where(np.isfinite(v), v, np.nan)

        ax.plot(x, shown(np.median(arr, axis=0)), label=f"{s} (median of {len(cs)})", lw=1.4)
        if len(cs) > 1:
            ax.fill_between(x, shown(arr.min(axis=0)), shown(arr.max(axis=0)), alpha=0.15)
    if log:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Non-dominated (bytes: lower, accuracy: higher) points, sorted by bytes."""
    front: list[tuple[float, float]] = []
    for b, a in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or a > front[-1][1]:
            front.append((b, a))
    return front


def pareto(
    points: dict[str, list[tuple[float, float, bool]]],
    path: Path,
    max_bytes: float | None,
    baseline: tuple[float, float] | None,
    title: str,
) -> None:
    """Accuracy against bytes (log) of every trial, one colour per sampler: ``(bytes, accuracy,
    feasible)`` points, feasible filled and infeasible open; the size budget as a dashed line,
    the baseline as a star and the feasible Pareto front of all samplers as black steps."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    feasible_all: list[tuple[float, float]] = []
    for i, (s, pts) in enumerate(points.items()):
        colour = colours[i % len(colours)]
        ok = [(b, a) for b, a, f in pts if f]
        bad = [(b, a) for b, a, f in pts if not f]
        feasible_all += ok
        if ok:
            ax.scatter(*zip(*ok, strict=True), s=18, color=colour, alpha=0.8, label=f"{s} feasible")
        if bad:
            ax.scatter(*zip(*bad, strict=True), s=18, facecolors="none", edgecolors=colour, alpha=0.6,
                       label=f"{s} over budget")
    front = pareto_front(feasible_all)
    if front:
        ax.step(*zip(*front, strict=True), where="post", color="k", lw=1, label="feasible Pareto front")
    if max_bytes is not None:
        ax.axvline(float(max_bytes), color="tab:red", ls="--", lw=1, label="size budget")
    if baseline is not None:
        ax.scatter([baseline[0]], [baseline[1]], marker="*", s=160, color="k", label="baseline (uncompressed)")
    ax.set_xscale("log")
    ax.set_xlabel("serialized model bytes (log)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
