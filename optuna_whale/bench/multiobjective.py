"""Multi-objective benchmark: its problems, one run, the run grid and the hypervolume measures.

Two families (protocol: ``benchmarks/multiobjective.py --help``): the ``bbob-biobj`` suite of
coco-experiment on ``[-5, 5]^d``, and model compression as two objectives (maximize validation
accuracy, minimize serialized bytes) on sklearn digits and MNIST-5k. A run is a plain dict, one
``runs.jsonl`` line: its spec (the :data:`BIOBJ_KEY` or :data:`COMPRESSION_KEY` fields, and
``"suite": "compression"`` for the latter), ``values`` (the objective values of every trial in
trial order), ``seconds`` (the whole study) and ``nadir`` (COCO's largest values of interest) or
``baseline`` (the uncompressed model's figures). :mod:`.multiobjective_report` writes the reports.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Literal

import numpy as np
import optuna

from optuna_whale.bench.samplers import make_sampler

DEFAULT_FUNCTIONS = "1,2,6,10,20,46"
SAMPLERS = ("whale", "nsga2", "tpe", "gp", "random")
COMPRESSION_PROBLEMS = ("digits", "mnist5k")
#: fields that identify a run in ``runs.jsonl`` (a rerun skips the runs already there)
BIOBJ_KEY = ("function", "dim", "instance", "sampler", "seed", "trials")
COMPRESSION_KEY = ("problem", "sampler", "seed", "trials")


def run_key(rec: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of ``fields`` in ``rec``: a run's identity."""
    return tuple(rec[f] for f in fields)


def biobj_problem(function: int, dim: int, instance: int) -> Any:
    """The cocoex ``bbob-biobj`` problem (callable on an ``x`` array, two values)."""
    import cocoex

    suite = cocoex.Suite(
        "bbob-biobj", f"instances: {instance}", f"dimensions: {dim} function_indices: {function}"
    )
    return suite.get_problem_by_function_dimension_instance(function, dim, instance)


@functools.lru_cache(maxsize=2)
def compression_problem(name: str) -> tuple[Any, dict[str, Any]]:
    """(two-objective ``objective(trial) -> (accuracy, bytes)``, baseline figures), built once per process."""
    import torch

    from optuna_whale.compression import CompressionSpace, build_objective, measure
    from optuna_whale.compression.data import load_digits, load_mnist5k
    from optuna_whale.compression.models import SmallCNN
    from optuna_whale.compression.training import TrainConfig, train_inplace, train_until_converged

    torch.set_num_threads(1)
    torch.manual_seed(0)
    if name == "digits":
        splits = load_digits(seed=0)
        model = SmallCNN(image_size=8, width=16, hidden=64)
        cfg = TrainConfig(epochs=10, lr=3e-3, batch_size=64, seed=0, num_threads=1)
        train_inplace(model, splits.train, splits.val, cfg)
    elif name == "mnist5k":
        splits = load_mnist5k(seed=0)
        model = SmallCNN(image_size=28, width=16, hidden=128)
        cfg = TrainConfig(lr=1e-3, batch_size=64, seed=0, num_threads=1)
        train_until_converged(model, splits.train, splits.val, cfg, patience=4, max_epochs=40)
    else:
        raise ValueError(f"compression problem must be one of {COMPRESSION_PROBLEMS}, got {name!r}.")
    model.eval()
    base = measure(model, splits.val, splits.example_inputs, with_latency=False)
    space = CompressionSpace(
        prune_ratio=(0.0, 0.95), rank_layers=("fc1",), quantization=("none", "dynamic_int8", "fp16"),
        lr=(3e-4, 1e-2), finetune_epochs=(1, 2),
    )
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space, model=model,
                                train_config=cfg, multi_objective=True)
    return objective, {"accuracy": base.accuracy, "bytes": base.bytes, "macs": base.macs}


def _sampler(spec: dict[str, Any]) -> optuna.samplers.BaseSampler:
    """The registry's sampler, except NSGA-II on the compression suite: it gets the run's
    ``nsga2_population`` (Optuna's 50 would leave 40-60 trials in its random first generation)."""
    if spec.get("suite") == "compression" and spec["sampler"] == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=spec["seed"], population_size=spec["nsga2_population"])
    return make_sampler(spec["sampler"], spec["seed"])


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """One study of a spec (a :func:`biobj_specs` or :func:`compression_specs` entry); returns
    its record: the spec, the objective values in trial order, the study's seconds and the
    problem's ``nadir`` (bbob-biobj) or ``baseline`` (compression)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    extra: dict[str, Any]
    directions: list[Literal["minimize", "maximize"]]
    if spec.get("suite") == "compression":
        objective, baseline = compression_problem(spec["problem"])
        directions = ["maximize", "minimize"]
        extra = {"baseline": baseline}
    else:
        problem = biobj_problem(spec["function"], spec["dim"], spec["instance"])
        dim = spec["dim"]

        def objective(trial: optuna.Trial) -> tuple[float, float]:
            x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(dim)])
            f = problem(x)
            return float(f[0]), float(f[1])

        directions = ["minimize", "minimize"]
        extra = {"nadir": [float(v) for v in problem.largest_fvalues_of_interest]}
    study = optuna.create_study(directions=directions, sampler=_sampler(spec))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=spec["trials"])
    elapsed = time.perf_counter() - t0
    return {**spec, "values": [list(t.values) for t in study.trials], **extra, "seconds": elapsed}


def biobj_specs(
    functions: list[int], dims: list[int], instance: int, samplers: list[str], seeds: int, trials: int,
    gp_max_trials: int, gp_max_dim: int,
) -> list[dict[str, Any]]:
    """The bbob-biobj grid: GPSampler only up to ``gp_max_dim`` and for ``gp_max_trials`` trials."""
    specs = []
    for dim in dims:
        for function in functions:
            for sampler in samplers:
                if sampler == "gp" and dim > gp_max_dim:
                    continue
                n = min(trials, gp_max_trials) if sampler == "gp" else trials
                specs += [dict(zip(BIOBJ_KEY, (function, dim, instance, sampler, seed, n), strict=True))
                          for seed in range(seeds)]
    return specs


def compression_specs(
    problems: dict[str, int], samplers: list[str], seeds: int, nsga2_population: int
) -> list[dict[str, Any]]:
    """The compression grid, problem-major (each worker process trains a problem's base model once)."""
    return [{"suite": "compression", "problem": prob, "sampler": s, "seed": seed, "trials": n,
             "nsga2_population": nsga2_population}
            for prob, n in problems.items() for s in samplers for seed in range(seeds)]


def parse_problems(text: str) -> dict[str, int]:
    """``"digits:60,mnist5k:40"`` -> ``{"digits": 60, "mnist5k": 40}``."""
    out: dict[str, int] = {}
    for part in text.split(","):
        name, _, trials = part.partition(":")
        if name not in COMPRESSION_PROBLEMS or not trials.isdigit() or int(trials) < 2:
            raise ValueError(f"--problems: {part!r}; expected name:trials with name in {COMPRESSION_PROBLEMS}, trials >= 2")
        out[name] = int(trials)
    return out


def _hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    from optuna._hypervolume import compute_hypervolume

    return float(compute_hypervolume(points, reference)) if len(points) else 0.0


def hypervolume_curve(values: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, checkpoints: list[int]) -> list[float]:
    """Hypervolume of the first ``n`` evaluations for each ``n`` in ``checkpoints``, objectives
    normalised as ``(f - ideal) / (nadir - ideal)`` (both minimized), reference point ``(1, 1)``:
    points beyond the nadir add nothing, as in COCO."""
    scale = np.where(nadir > ideal, nadir - ideal, 1.0)
    norm = (values - ideal) / scale
    out = []
    for n in checkpoints:
        pts = norm[:n]
        out.append(_hypervolume(pts[(pts < 1.0).all(axis=1)], np.ones(2)))
    return out


def compression_points(values: np.ndarray, base_bytes: float) -> np.ndarray:
    """(accuracy, bytes) rows -> minimized ``(1 - accuracy, log10(bytes / base_bytes))``."""
    return np.column_stack([1.0 - values[:, 0], np.log10(values[:, 1] / base_bytes)])


def compression_hv_curve(values: np.ndarray, base_bytes: float, checkpoints: list[int]) -> list[float]:
    """Hypervolume of :func:`compression_points` of the first ``n`` trials for each ``n``, with
    reference ``(1, 0)`` (accuracy 0, the baseline's size): the area under the best-accuracy
    staircase over decades of compression; trials at or above the baseline's size add nothing."""
    pts_all = compression_points(values, base_bytes)
    out = []
    for n in checkpoints:
        pts = pts_all[:n]
        out.append(_hypervolume(pts[(pts[:, 0] < 1.0) & (pts[:, 1] < 0.0)], np.array([1.0, 0.0])))
    return out
