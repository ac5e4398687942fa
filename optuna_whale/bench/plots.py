"""Matplotlib figures (Agg backend, PNG): best-so-far curves, ECDFs, mean ranks."""

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
