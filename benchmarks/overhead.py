"""Per-trial sampler overhead: WhaleSampler vs RandomSampler, TPESampler and CmaEsSampler.

For each sampler, one study of ``--max-trials`` trials runs on a trivial objective (the sum of
``d`` floats, InMemoryStorage). At each checkpoint (100, 1,000, 5,000 trials) it reports, over the
``--window`` trials that end there, the median time spent inside the sampler's own methods
(``infer_relative_search_space``, ``sample_relative``, ``sample_independent``, ``before_trial``,
``after_trial``) and the median wall time of a whole trial (``study.optimize`` with
``n_trials=1``). All samplers run in one process, one after the other, so the ratios are measured
in one run on the same machine state.

    python benchmarks/overhead.py                        # d=10, checkpoints 100,1000,5000
    python benchmarks/overhead.py --checkpoints 100,1000 --out benchmarks/results/overhead.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from tqdm import tqdm

from optuna_whale import WhaleSampler
from optuna_whale.bench.runner import SamplerTimer

_TIMED = (
    "infer_relative_search_space",
    "sample_relative",
    "sample_independent",
    "before_trial",
    "after_trial",
)


class _Timed(SamplerTimer):
    """The harness's sampler timer (time inside the sampler's methods), as ``elapsed``."""

    @property
    def elapsed(self) -> float:
        return self.seconds


def _factories(seed: int) -> dict[str, Callable[[], optuna.samplers.BaseSampler]]:
    return {
        "WhaleSampler": lambda: WhaleSampler(seed=seed),
        "RandomSampler": lambda: optuna.samplers.RandomSampler(seed=seed),
        "TPESampler": lambda: optuna.samplers.TPESampler(seed=seed),
        "CmaEsSampler": lambda: optuna.samplers.CmaEsSampler(seed=seed),
    }


def measure(
    name: str,
    factory: Callable[[], optuna.samplers.BaseSampler],
    dim: int,
    checkpoints: list[int],
    window: int,
) -> dict[int, tuple[float, float]]:
    sampler = factory()
    timer = _Timed(sampler)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        return sum(trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(dim))

    inside: list[float] = []
    wall: list[float] = []
    out: dict[int, tuple[float, float]] = {}
    for n in tqdm(range(1, max(checkpoints) + 1), desc=name, leave=False):
        before = timer.elapsed
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=1)
        wall.append(time.perf_counter() - t0)
        inside.append(timer.elapsed - before)
        if n in checkpoints:
            out[n] = (statistics.median(inside[-window:]), statistics.median(wall[-window:]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=10, help="number of float parameters (default 10)")
    parser.add_argument("--checkpoints", default="100,1000,5000", help="trial counts to report")
    parser.add_argument("--window", type=int, default=50, help="trials per median (default 50)")
    parser.add_argument("--samplers", default="WhaleSampler,RandomSampler,TPESampler,CmaEsSampler")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    factories = _factories(args.seed)
    names = args.samplers.split(",")
    unknown = [n for n in names if n not in factories]
    if unknown:
        parser.error(f"--samplers: unknown {unknown}; choose from {sorted(factories)}")
    results = {n: measure(n, factories[n], args.dim, checkpoints, args.window) for n in names}

    lines = [
        f"Per-trial overhead, d = {args.dim}, InMemoryStorage, median over the {args.window} "
        "trials ending at each count (ms). `inside` = time in the sampler's methods; "
        "`wall` = whole `study.optimize(n_trials=1)`.",
        "",
        "| sampler | " + " | ".join(f"inside @{c} | wall @{c}" for c in checkpoints) + " |",
        "|---|" + "---|---|" * len(checkpoints),
    ]
    for n in names:
        cells = " | ".join(
            f"{results[n][c][0] * 1e3:.2f} | {results[n][c][1] * 1e3:.2f}" for c in checkpoints
        )
        lines.append(f"| {n} | {cells} |")
    if "WhaleSampler" in results:
        lines.append("")
        for ref in ("CmaEsSampler", "TPESampler"):
            if ref in results:
                for c in checkpoints:
                    w, r = results["WhaleSampler"][c], results[ref][c]
                    lines.append(
                        f"- WhaleSampler / {ref} at {c} trials: inside {w[0] / r[0]:.2f}x, "
                        f"wall {w[1] / r[1]:.2f}x"
                    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"Command: `python benchmarks/overhead.py {' '.join(_argv())}`\n\n{text}\n")


def _argv() -> list[str]:
    import sys

    return sys.argv[1:]


if __name__ == "__main__":
    main()
