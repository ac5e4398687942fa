"""Replay cases: fixed (problem, seed) studies whose first proposals are recorded in
``tests/data/replay.json.gz`` and must be reproduced exactly (``tests/test_replay.py``).

They pin the algorithm's behaviour through refactors: a change that moves a single proposal
of these runs changes what the sampler does. Record again only for an intended change of the
algorithm, and say which in the commit:

    python tests/replay_cases.py --record

Each case drives WhaleSampler (or WhaleOptimizer) through its public API only, on a shifted and
rotated problem, and records every trial's parameters and whale tag.

OpenBLAS picks its kernels by CPU, and kernels differ in the last bits of LAPACK results (the
eigenbasis, the screen's solve); so does numpy, whose ufuncs and ``einsum`` dispatch to the
widest SIMD the CPU has (AVX2 and AVX-512 sum in different orders). One flipped bit moves every
later proposal of a chaotic run. So cases are recorded and replayed in a process whose OpenBLAS
kernels are pinned to :data:`CORETYPE` and whose numpy runs its x86_64 baseline code only (every
dispatched target disabled): both are code every such CPU runs. ``main`` starts itself again
with ``OPENBLAS_CORETYPE`` and ``NPY_DISABLE_CPU_FEATURES`` set, and ``tests/test_replay.py``
runs ``python tests/replay_cases.py --json`` as a subprocess.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna

RECORDED = Path(__file__).with_name("data") / "replay.json.gz"
N_TRIALS = 200
#: OpenBLAS kernels of the recording (SSE4.2; every x86_64 CPU in use runs them)
CORETYPE = "Nehalem"


def _dispatched_features() -> str:
    """numpy's SIMD targets chosen at run time by CPU (to disable: the baseline stays)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # another numpy layout: the targets of numpy 2.x on x86_64
        return "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
    return " ".join(__cpu_dispatch__)


def pinned() -> bool:
    """Whether replays are reproducible here: an x86_64 CPU (where :data:`CORETYPE` applies)."""
    return platform.machine().lower() in ("x86_64", "amd64")


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q


def _ellipsoid(dim: int, seed: int) -> Callable[[np.ndarray], float]:
    rot = _rotation(dim, seed)
    shift = np.random.default_rng(seed + 100).uniform(-3, 3, dim)
    scale = 10.0 ** (3 * np.arange(dim) / max(dim - 1, 1))

    def f(x: np.ndarray) -> float:
        z = rot @ (x - shift)
        return float(np.sum(scale * z * z))

    return f


def _rastrigin(dim: int, seed: int) -> Callable[[np.ndarray], float]:
    rot = _rotation(dim, seed)
    shift = np.random.default_rng(seed + 100).uniform(-3, 3, dim)

    def f(x: np.ndarray) -> float:
        z = rot @ (x - shift)
        return float(10 * dim + np.sum(z * z - 10 * np.cos(2 * np.pi * z)))

    return f


def _floats(trial: optuna.Trial, dim: int) -> np.ndarray:
    return np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(dim)])


def _continuous(dim: int, seed: int, kind: str = "ellipsoid", **kwargs: Any) -> optuna.Study:
    f = (_ellipsoid if kind == "ellipsoid" else _rastrigin)(dim, seed)
    return _run(lambda t: f(_floats(t, dim)), seed, **kwargs)


def _run(objective: Callable[[optuna.Trial], Any], seed: int, directions: list[str] | None = None,
         enqueue: list[dict[str, Any]] | None = None, **kwargs: Any) -> optuna.Study:
    from optuna_whale import WhaleSampler

    study = optuna.create_study(
        directions=directions or ["minimize"], sampler=WhaleSampler(seed=seed, **kwargs)
    )
    for params in enqueue or []:
        study.enqueue_trial(params)
    study.optimize(objective, n_trials=N_TRIALS, catch=(RuntimeError,))
    return study


def _mixed(seed: int) -> optuna.Study:
    f = _ellipsoid(3, seed)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        n = trial.suggest_int("n", 1, 9)
        width = trial.suggest_int("width", 8, 512, log=True)
        drop = trial.suggest_float("drop", 0.0, 0.5, step=0.05)
        act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
        base = f(np.array([x, math.log10(lr) + 3, n - 5.0]))
        return base + abs(math.log2(width) - 6) + 4 * abs(drop - 0.15) + {"relu": 0.5, "tanh": 0.0, "gelu": 1.0}[act]

    return _run(objective, seed)


def _discrete(seed: int) -> optuna.Study:
    def objective(trial: optuna.Trial) -> float:
        a = trial.suggest_int("a", 0, 9)
        b = trial.suggest_int("b", 1, 64, log=True)
        c = trial.suggest_float("c", 0.0, 1.0, step=0.1)
        d = trial.suggest_categorical("d", ["x", "y", "z", "w"])
        return (a - 6) ** 2 + abs(math.log2(b) - 3) + 5 * abs(c - 0.7) + (d != "z")

    return _run(objective, seed)


def _multiobjective(seed: int) -> optuna.Study:
    shift = np.random.default_rng(seed).uniform(-2, 2, 3)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = _floats(trial, 3)
        return float(np.sum((x - shift) ** 2)), float(np.sum((x + shift) ** 2))

    return _run(objective, seed, directions=["minimize", "minimize"])


def _constrained(seed: int) -> optuna.Study:
    f = _ellipsoid(2, seed)

    def objective(trial: optuna.Trial) -> float:
        x = _floats(trial, 2)
        trial.set_constraint("ring", 1.0 - float(np.sum(x * x)))  # feasible outside the unit disc
        trial.set_constraint("half", float(x[0] - 3.0))
        return f(x)

    return _run(objective, seed)


def _failures_and_pruning(seed: int) -> optuna.Study:
    f = _rastrigin(3, seed)

    def objective(trial: optuna.Trial) -> float:
        x = _floats(trial, 3)
        value = f(x)
        if trial.number % 17 == 5:
            raise RuntimeError("a failing trial")
        if trial.number % 13 == 7:
            return math.nan
        for step in range(3):
            trial.report(value * (3 - step), step)
        if trial.number % 11 == 3:
            raise optuna.TrialPruned()
        return value

    return _run(objective, seed, enqueue=[{"x0": 1.0, "x1": 2.0, "x2": -1.0}, {"x0": 0.5}])


def _maximize(seed: int) -> optuna.Study:
    f = _ellipsoid(4, seed)
    return _run(lambda t: -f(_floats(t, 4)), seed, directions=["maximize"])


def _optimizer(seed: int) -> list[dict[str, Any]]:
    from optuna_whale import WhaleOptimizer

    f = _ellipsoid(4, seed)
    opt = WhaleOptimizer(dim=4, seed=seed)
    out: list[dict[str, Any]] = []
    pending = []
    for k in range(N_TRIALS):
        p = opt.ask()
        out.append({"x": [float(v) for v in p.x], "slot": int(p.slot), "cycle": int(p.cycle), "move": p.move})
        pending.append(p)
        if k % 3 == 2:  # told out of order, one in seven lost
            for q in reversed(pending):
                if k % 7 == 0:
                    opt.forget(q)
                else:
                    opt.tell(q, f(10 * np.asarray(q.x) - 5))
            pending = []
    return out


CASES: dict[str, Callable[[], optuna.Study | list[dict[str, Any]]]] = {
    "ellipsoid-d2": lambda: _continuous(2, 0),
    "rastrigin-d5": lambda: _continuous(5, 1, "rastrigin"),
    "ellipsoid-d12": lambda: _continuous(12, 2),
    "canonical-d3": lambda: _continuous(3, 3, variant="canonical"),
    "no-screening-d3": lambda: _continuous(3, 4, screen_candidates=1),
    "restarts-growth-d2": lambda: _continuous(
        2, 5, "rastrigin", population_size=4, cycle_generations=6, population_growth=2.0
    ),
    "mixed": lambda: _mixed(6),
    "gaussian-moves-d3": lambda: _continuous(3, 13, "rastrigin", moves="gaussian"),
    "de-moves-d3": lambda: _continuous(3, 14, "rastrigin", moves="de"),
    "uniform-moves-d3": lambda: _continuous(3, 15, "rastrigin", moves="uniform"),
    "discrete": lambda: _discrete(7),
    "multiobjective": lambda: _multiobjective(8),
    "constrained": lambda: _constrained(9),
    "failures-pruning": lambda: _failures_and_pruning(10),
    "maximize-d4": lambda: _maximize(11),
    "optimizer-d4": lambda: _optimizer(12),
}


def _json(value: Any) -> Any:
    """Floats as exact repr-round-trippable JSON numbers; containers recursively."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def play(name: str) -> list[dict[str, Any]]:
    """The recorded view of one case: per trial its params and its whale tag."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = CASES[name]()
    if isinstance(result, list):
        return _json(result)
    return [
        _json({"params": t.params, "tag": t.system_attrs.get("whale")})
        for t in result.get_trials(deepcopy=False)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help=f"write {RECORDED}")
    parser.add_argument("--json", action="store_true", help="print every case's trials as JSON")
    args = parser.parse_args(argv)
    if pinned() and os.environ.get("OPENBLAS_CORETYPE") != CORETYPE:
        # numpy has loaded OpenBLAS with the CPU's own kernels and chosen its SIMD targets:
        # start again with the pinned ones
        env = {**os.environ, "OPENBLAS_CORETYPE": CORETYPE, "NPY_DISABLE_CPU_FEATURES": _dispatched_features()}
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *(argv if argv is not None else sys.argv[1:])], env)
    recorded = {name: play(name) for name in CASES}
    if args.json:
        print(json.dumps(recorded, separators=(",", ":")))
    elif args.record:
        RECORDED.parent.mkdir(exist_ok=True)
        text = json.dumps(recorded, separators=(",", ":")) + "\n"
        RECORDED.write_bytes(gzip.compress(text.encode(), mtime=0))
        print(f"recorded {len(recorded)} cases in {RECORDED}")
    else:
        print(json.dumps({k: len(v) for k, v in recorded.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
