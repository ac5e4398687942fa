"""The recorded replay cases (``tests/replay_cases.py``) are reproduced proposal for proposal."""

from __future__ import annotations

import gzip
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.replay_cases import CASES, CORETYPE, RECORDED, pinned

_RECORDED: dict[str, list[dict[str, Any]]] = json.loads(gzip.decompress(RECORDED.read_bytes()))


def _same(a: Any, b: Any) -> bool:
    """Exact for everything but floats, which may differ in the last bits (another BLAS)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_every_case_is_recorded() -> None:
    assert set(_RECORDED) == set(CASES)
    assert all(len(trials) == 200 for trials in _RECORDED.values())


@pytest.fixture(scope="module")
def replayed() -> dict[str, list[dict[str, Any]]]:
    """Every case played in a subprocess with the recording's OpenBLAS kernels (see
    ``tests/replay_cases.py``)."""
    if not pinned():
        pytest.skip(f"replays are recorded with OpenBLAS's x86_64 {CORETYPE} kernels; this CPU is {platform.machine()}")
    script = Path(__file__).with_name("replay_cases.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(script.parent.parent), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, env=env, check=True)
    result: dict[str, list[dict[str, Any]]] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay(name: str, replayed: dict[str, list[dict[str, Any]]]) -> None:
    played = replayed[name]
    expected = _RECORDED[name]
    assert len(played) == len(expected)
    for number, (got, want) in enumerate(zip(played, expected, strict=True)):
        assert _same(got, want), f"{name}: trial {number} differs:\n got  {got}\n want {want}"


def test_a_study_tagged_by_the_earlier_layout_continues() -> None:
    """Recorded tags (their format is the one written before the core was split: the first
    recording, made by that code, was replayed field for field after the split) are read by the
    current code: a study holding them continues the same population instead of starting a new
    one."""
    import numpy as np
    import optuna

    from optuna_whale import WhaleSampler
    from tests.replay_cases import _ellipsoid

    f = _ellipsoid(2, 0)
    recorded = _RECORDED["ellipsoid-d2"][:120]
    dist = optuna.distributions.FloatDistribution(-5, 5)
    study = optuna.create_study(sampler=WhaleSampler(seed=3))
    for trial in recorded:
        x = np.array([trial["params"]["x0"], trial["params"]["x1"]])
        system_attrs = {} if trial["tag"] is None else {"whale": trial["tag"]}
        study.add_trial(optuna.trial.create_trial(
            params=trial["params"], distributions={"x0": dist, "x1": dist}, value=f(x),
            system_attrs=system_attrs,
        ))
    last_cycle = max(t["tag"]["cycle"] for t in recorded if t["tag"] is not None)
    pop = WhaleSampler().population(study)
    assert pop.cycle == last_cycle and pop.occupied.all()
    best = min(study.trials, key=lambda t: t.value)
    assert pop.best is not None and pop.best.number == best.number
    study.optimize(lambda t: f(np.array([t.suggest_float("x0", -5, 5), t.suggest_float("x1", -5, 5)])), n_trials=5)
    new_tags = [t.system_attrs["whale"] for t in study.trials[120:]]
    assert all(tag["cycle"] >= last_cycle and tag["move"] not in ("init",) for tag in new_tags)
