"""The unit-cube transform of Optuna distributions."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optuna_whale.space import UnitCubeSpace, space_key

DISTS = {
    "f": FloatDistribution(-3.0, 7.0),
    "flog": FloatDistribution(1e-12, 1e12, log=True),
    "fstep": FloatDistribution(-10.0, 10.0, step=0.5),
    "i": IntDistribution(3, 10),
    "ilog": IntDistribution(1, 100, log=True),
    "istep": IntDistribution(3, 9, step=2),
    "c": CategoricalDistribution([None, True, "a", 1.5, 3]),
}


def test_dim_and_native_box() -> None:
    space = UnitCubeSpace(DISTS)
    assert space.dim == 6 + 5
    assert space.native_lower[0] == -3.0 and space.native_upper[0] == 7.0
    assert space.native_lower[1] == pytest.approx(np.log(1e-12))


def test_decode_is_inside_and_python_typed() -> None:
    space = UnitCubeSpace(DISTS)
    rng = np.random.default_rng(0)
    corners = [np.zeros(space.dim), np.ones(space.dim)]
    for x in [*corners, *rng.random((500, space.dim))]:
        params = space.decode(x)
        for name, dist in DISTS.items():
            v = params[name]
            assert dist._contains(dist.to_internal_repr(v)), (name, v)
            if isinstance(dist, FloatDistribution):
                assert type(v) is float
            elif isinstance(dist, IntDistribution):
                assert type(v) is int
            else:
                assert v in dist.choices


def test_grid_values_are_equally_likely() -> None:
    space = UnitCubeSpace({"i": IntDistribution(0, 3)})
    values = [space.decode(np.array([u]))["i"] for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(values)
    assert counts.min() >= 990 and counts.max() <= 1010


@pytest.mark.parametrize("seed", range(3))
def test_encode_decode_round_trip(seed: int) -> None:
    space = UnitCubeSpace(DISTS)
    params = space.decode(np.random.default_rng(seed).random(space.dim))
    x = space.encode(params)
    assert x is not None and np.all((x >= 0) & (x <= 1))
    back = space.decode(x)
    for name in DISTS:
        if name in ("f", "flog"):
            assert back[name] == pytest.approx(params[name], rel=1e-9)
        else:
            assert back[name] == params[name]


def test_encode_rejects_missing_or_invalid() -> None:
    space = UnitCubeSpace({"x": FloatDistribution(0, 1), "c": CategoricalDistribution(["a", "b"])})
    assert space.encode({"x": 0.5}) is None
    assert space.encode({"x": 0.5, "c": "zzz"}) is None
    assert space.encode({"x": "nan?", "c": "a"}) is None
    assert space.encode({"x": float("nan"), "c": "a"}) is None
    x = space.encode({"x": 7.0, "c": "b"})  # out of range: clipped into the cube, not rejected
    assert x is not None and x[0] == 1.0 and x[1:].tolist() == [0.0, 1.0]


def test_space_key_depends_on_names_and_distributions() -> None:
    a = space_key({"x": FloatDistribution(0, 1), "y": IntDistribution(0, 3)})
    b = space_key({"y": IntDistribution(0, 3), "x": FloatDistribution(0, 1)})
    c = space_key({"x": FloatDistribution(0, 2), "y": IntDistribution(0, 3)})
    assert a == b != c


def test_unsupported_distribution_is_named() -> None:
    with pytest.raises(TypeError, match="'odd'"):
        UnitCubeSpace({"odd": object()})  # type: ignore[dict-item]
