"""Per-trial sampler overhead: time inside a sampler's methods and wall time per trial.

:func:`measure` runs one study of a trivial objective (the sum of ``dim`` floats, in memory),
one trial per ``study.optimize`` call, timing the sampler's methods with
:class:`~optuna_whale.bench.runner.SamplerTimer`; :func:`table` is the Markdown report.
"""

from __future__ import annotations

import random
import statistics
import time

import optuna
from tqdm import tqdm

from optuna_whale.bench.runner import SamplerTimer

#: per checkpoint: (median seconds inside the sampler, median wall seconds per trial)
Timings = dict[int, tuple[float, float]]


def measure(
    sampler: optuna.samplers.BaseSampler, dim: int, checkpoints: list[int], window: int, desc: str = "",
    categorical_choices: int = 0, best: dict[int, float] | None = None, prefill: bool = False,
) -> Timings:
    """At each checkpoint ``n``, the medians over the ``window`` trials ending at trial ``n``.

    ``categorical_choices > 0`` replaces the ``dim`` floats by one categorical parameter with
    that many choices (string labels; the value of each is a fixed pseudo-random number in
    ``[0, 1)``, minimised). ``best``, when given, receives the best value at each checkpoint.
    ``prefill``: trials outside the timed windows are not sampled but added as uniformly random
    COMPLETE trials (``study.add_trial``), for samplers whose cost depends on the number of
    trials only and would take hours to reach the checkpoints themselves (GPSampler)."""
    if not checkpoints or min(checkpoints) < 1 or window < 1:
        raise ValueError(f"checkpoints and window must be >= 1, got {checkpoints} and {window}.")
    if categorical_choices < 0 or (categorical_choices == 1):
        raise ValueError(f"categorical_choices must be 0 (floats) or >= 2, got {categorical_choices}.")
    timer = SamplerTimer(sampler)
    study = optuna.create_study(sampler=sampler)
    labels = [f"c{i}" for i in range(categorical_choices)]
    worth = {c: random.Random(i).random() for i, c in enumerate(labels)}

    def objective(trial: optuna.Trial) -> float:
        if categorical_choices:
            return worth[trial.suggest_categorical("c", labels)]
        return sum(trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(dim))

    inside: list[float] = []
    wall: list[float] = []
    out: Timings = {}
    timed = {n for c in checkpoints for n in range(max(1, c - window + 1), c + 1)}
    filler = random.Random(0)
    for n in tqdm(range(1, max(checkpoints) + 1), desc=desc, leave=False):
        if prefill and n not in timed:
            study.add_trial(_random_trial(filler, dim, labels, worth))
            continue
        before = timer.seconds
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=1)
        wall.append(time.perf_counter() - t0)
        inside.append(timer.seconds - before)
        if n in checkpoints:
            out[n] = (statistics.median(inside[-window:]), statistics.median(wall[-window:]))
            if best is not None:
                best[n] = study.best_value
    return out


def _random_trial(
    rng: random.Random, dim: int, labels: list[str], worth: dict[str, float]
) -> optuna.trial.FrozenTrial:
    """A COMPLETE trial at a uniformly random point of :func:`measure`'s space, with its value."""
    if labels:
        choice = rng.choice(labels)
        return optuna.trial.create_trial(
            params={"c": choice}, distributions={"c": optuna.distributions.CategoricalDistribution(labels)},
            value=worth[choice],
        )
    params = {f"x{i}": rng.uniform(-5.0, 5.0) for i in range(dim)}
    dists: dict[str, optuna.distributions.BaseDistribution] = {
        name: optuna.distributions.FloatDistribution(-5.0, 5.0) for name in params
    }
    return optuna.trial.create_trial(params=params, distributions=dists, value=sum(params.values()))


def table(
    results: dict[str, Timings], dim: int, window: int, checkpoints: list[int], categorical_choices: int = 0
) -> str:
    """Milliseconds per sampler (rows keyed by label) and checkpoint, then WhaleSampler's ratios
    to CmaEsSampler and TPESampler where those rows are present."""
    space = f"one categorical of {categorical_choices} choices" if categorical_choices else f"d = {dim}"
    lines = [
        f"Per-trial overhead, {space}, InMemoryStorage, median over the {window} "
        "trials ending at each count (ms). `inside` = time in the sampler's methods; "
        "`wall` = whole `study.optimize(n_trials=1)`.",
        "",
        "| sampler | " + " | ".join(f"inside @{c} | wall @{c}" for c in checkpoints) + " |",
        "|---|" + "---|---|" * len(checkpoints),
    ]
    for n, res in results.items():
        lines.append(f"| {n} | " + " | ".join(f"{res[c][0] * 1e3:.2f} | {res[c][1] * 1e3:.2f}" for c in checkpoints) + " |")
    if "WhaleSampler" in results:
        lines.append("")
        for ref in ("CmaEsSampler", "TPESampler"):
            if ref in results:
                for c in checkpoints:
                    w, r = results["WhaleSampler"][c], results[ref][c]
                    lines.append(f"- WhaleSampler / {ref} at {c} trials: inside {w[0] / r[0]:.2f}x, wall {w[1] / r[1]:.2f}x")
    return "\n".join(lines)
