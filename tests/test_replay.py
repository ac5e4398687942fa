"""The recorded replay cases (``tests/replay_cases.py``) are reproduced proposal for proposal."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import pytest

from tests.replay_cases import CASES, RECORDED, play

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


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay(name: str) -> None:
    played = play(name)
    expected = _RECORDED[name]
    assert len(played) == len(expected)
    for number, (got, want) in enumerate(zip(played, expected, strict=True)):
        assert _same(got, want), f"{name}: trial {number} differs:\n got  {got}\n want {want}"
