"""Map an Optuna search space onto the unit cube ``[0, 1]^d`` and back.

Each distribution takes one or more cube coordinates ``u``:

===========================  ====================================================================
distribution                 decode ``u -> value`` (encode is the inverse; every value lands inside)
===========================  ====================================================================
float ``[lo, hi]``           ``lo + u (hi - lo)``
float, ``log``               ``exp(ln lo + u (ln hi - ln lo))``
float, ``step`` s            ``lo + s k``, ``k = min(floor(u n), n - 1)``, ``n = (hi - lo) / s + 1``
int ``[lo, hi]``, step s     ``lo + s k``, ``k = min(floor(u n), n - 1)``, ``n = (hi - lo) / s + 1``
int, ``log``                 ``round(exp(ln(lo - ½) + u (ln(hi + ½) - ln(lo - ½))))``
categorical, ``k`` choices   ``k`` coordinates (one-hot); the choice is their argmax
===========================  ====================================================================

Grids (stepped floats and ints) give each of their ``n`` values a cell of width ``1/n`` so no
value is favoured. A space whose every parameter is a grid or categorical is *discrete*: its
points fall into finitely many cells (:meth:`UnitCubeSpace.cell`), and the sampler avoids
proposing a cell that was already evaluated. Decoded values are Python ``float``/``int`` or the choice object itself.
The class also gives each coordinate its *native* box (the value's own scale: ``[lo, hi]``,
``[ln lo, ln hi]``, ``[0, 1]`` for one-hot) for the canonical WOA, whose centre bias lives there.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

__all__ = ["POSITION_TOLERANCE", "UnitCubeSpace", "space_key"]

#: How far (in cube units) a stored position may be from the encoding of its trial's continuous
#: float parameter (:meth:`UnitCubeSpace.mismatch`). Positions are stored with 17 significant
#: digits and decode/encode round trips lose about 1e-15, so only a corrupted position exceeds it.
POSITION_TOLERANCE = 1e-9


def space_key(search_space: Mapping[str, BaseDistribution]) -> str:
    """A short stable fingerprint of a search space (names and distributions)."""
    text = "|".join(f"{k}={distribution_to_json(search_space[k])}" for k in sorted(search_space))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _n_grid(low: float, high: float, step: float) -> int:
    return int(round((high - low) / step)) + 1


class UnitCubeSpace:
    """A fixed, ordered search space and its bijection-up-to-rounding with ``[0, 1]^dim``."""

    def __init__(self, search_space: Mapping[str, BaseDistribution]) -> None:
        self.names: list[str] = list(search_space)
        self.distributions: dict[str, BaseDistribution] = dict(search_space)
        self._slices: dict[str, slice] = {}
        #: per categorical, its hashable choices -> index of their first occurrence
        self._choice_indices: dict[str, dict[Any, int]] = {}
        lower: list[float] = []
        upper: list[float] = []
        start = 0
        for name in self.names:
            dist = self.distributions[name]
            if isinstance(dist, CategoricalDistribution):
                width = len(dist.choices)
                indices: dict[Any, int] = {}
                for index, choice in enumerate(dist.choices):
                    with contextlib.suppress(TypeError):  # unhashable: found by to_internal_repr
                        indices.setdefault(choice, index)
                self._choice_indices[name] = indices
                lower += [0.0] * width
                upper += [1.0] * width
            elif isinstance(dist, FloatDistribution):
                width = 1
                if dist.log:
                    lower.append(math.log(dist.low))
                    upper.append(math.log(dist.high))
                else:
                    lower.append(dist.low)
                    upper.append(dist.high)
            elif isinstance(dist, IntDistribution):
                width = 1
                if dist.log:
                    lower.append(math.log(dist.low - 0.5))
                    upper.append(math.log(dist.high + 0.5))
                else:
                    lower.append(dist.low - 0.5 * dist.step)
                    upper.append(dist.high + 0.5 * dist.step)
            else:
                raise TypeError(
                    f"Parameter {name!r}: unsupported distribution {type(dist).__name__}; "
                    "expected FloatDistribution, IntDistribution or CategoricalDistribution."
                )
            self._slices[name] = slice(start, start + width)
            start += width
        self.dim = start
        grid = [not isinstance(d, FloatDistribution) or d.step is not None for d in self.distributions.values()]
        self.discrete = all(grid)
        #: True if some coordinate is a grid or one-hot (then :meth:`snap` is not the identity)
        self.gridded = any(grid)
        #: ``(start, stop)`` of each categorical's one-hot coordinates
        self.categorical_blocks = tuple(
            (self._slices[n].start, self._slices[n].stop)
            for n in self.names
            if isinstance(self.distributions[n], CategoricalDistribution)
        )
        self.key = space_key(search_space)
        self.native_lower = tuple(lower)
        self.native_upper = tuple(upper)

    def __len__(self) -> int:
        return len(self.names)

    # -- decoding --------------------------------------------------------------------------

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """Cube point -> parameter values, each inside its distribution, as Python objects."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        return {name: self._decode_one(self.distributions[name], x[self._slices[name]])
                for name in self.names}

    @staticmethod
    def _decode_one(dist: BaseDistribution, u: np.ndarray) -> Any:
        if isinstance(dist, CategoricalDistribution):
            return dist.to_external_repr(int(np.argmax(u)))
        v = float(u[0])
        if isinstance(dist, FloatDistribution):
            if dist.log:
                value = math.exp(math.log(dist.low) + v * (math.log(dist.high) - math.log(dist.low)))
                return float(min(max(value, dist.low), dist.high))
            if dist.step is not None:
                n = _n_grid(dist.low, dist.high, dist.step)
                k = min(int(v * n), n - 1)
                return float(min(max(dist.low + k * dist.step, dist.low), dist.high))
            return float(min(max(dist.low + v * (dist.high - dist.low), dist.low), dist.high))
        assert isinstance(dist, IntDistribution)
        if dist.log:
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            value = int(round(math.exp(lo + v * (hi - lo))))
            return int(min(max(value, dist.low), dist.high))
        n = _n_grid(dist.low, dist.high, dist.step)
        k = min(int(v * n), n - 1)
        return int(dist.low + k * dist.step)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """The cube point that is evaluated for ``x``: ``encode(decode(x))`` (grid values to their
        cell centre, one-hot blocks to the vertex of their argmax, continuous coordinates as
        they are, clipped to the cube)."""
        snapped = self.encode(self.decode(x))
        assert snapped is not None  # decode always lands inside every distribution
        return snapped

    def cell(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The configuration ``params`` as a hashable tuple in this space's order: grid values as
        they are, a categorical as the index of its choice (choices may be unhashable, such as
        lists). None if a value is missing or is not one of its categorical's choices.

        On a discrete space two points with the same cell are the same configuration."""
        try:
            return tuple(
                self._choice_index(name, params[name]) if name in self._choice_indices else params[name]
                for name in self.names
            )
        except (KeyError, ValueError):
            return None

    def _choice_index(self, name: str, value: Any) -> int:
        """Index of ``value`` among the choices of categorical ``name`` (ValueError if absent)."""
        try:
            return self._choice_indices[name][value]
        except (KeyError, TypeError):  # unhashable, or equal but not hashed alike (NaN)
            dist = self.distributions[name]
            assert isinstance(dist, CategoricalDistribution)
            return int(dist.to_internal_repr(value))

    def mismatch(self, x: Sequence[float] | np.ndarray, params: Mapping[str, Any]) -> str | None:
        """The first parameter of ``params`` that the cube point ``x`` does not decode to, or None.

        A continuous float agrees when its encoding is within :data:`POSITION_TOLERANCE` of ``x``
        (a tolerance relative to the range, or to the log range); a grid value (int, stepped
        float) or a categorical choice agrees only exactly (the same cell, the same choice). A
        value given outside its cell (a fixed parameter off the grid or out of range) agrees
        with the cell it encodes to. Parameters absent from ``params`` are not checked."""
        if len(x) != self.dim:
            return self.names[0]
        for name in self.names:
            if name not in params:
                continue
            dist = self.distributions[name]
            where = self._slices[name]
            if isinstance(dist, CategoricalDistribution):
                try:
                    index = self._choice_index(name, params[name])
                except ValueError:
                    return name
                if int(np.argmax(x[where])) != index:
                    return name
                continue
            encoded = self._encode_one(dist, params[name])
            if encoded is None:
                return name
            u = float(x[where.start])
            if isinstance(dist, FloatDistribution) and dist.step is None:
                if not abs(u - float(encoded[0])) <= POSITION_TOLERANCE:
                    return name
            elif self._decode_one(dist, np.array([u])) != self._decode_one(dist, encoded):
                return name
        return None

    # -- encoding --------------------------------------------------------------------------

    def pin(self, x: np.ndarray, params: Mapping[str, Any]) -> np.ndarray | None:
        """``x`` with the coordinates of the space's parameters in ``params`` replaced by their
        cells (others kept); None when a given value cannot be encoded."""
        pinned = np.array(x, dtype=float)
        for name, value in params.items():
            if name not in self.distributions:
                continue
            u = self._encode_one(self.distributions[name], value)
            if u is None:
                return None
            pinned[self._slices[name]] = u
        return pinned

    def encode(self, params: Mapping[str, Any]) -> np.ndarray | None:
        """Parameter values -> the centre of their cube cell; None if a value is missing/invalid."""
        x = np.empty(self.dim)
        for name in self.names:
            if name not in params:
                return None
            u = self._encode_one(self.distributions[name], params[name])
            if u is None:
                return None
            x[self._slices[name]] = u
        return x

    @staticmethod
    def _encode_one(dist: BaseDistribution, value: Any) -> np.ndarray | None:
        if isinstance(dist, CategoricalDistribution):
            try:
                index = dist.to_internal_repr(value)
            except (ValueError, TypeError):
                return None
            u = np.zeros(len(dist.choices))
            u[int(index)] = 1.0
            return u
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(v):
            return None
        if isinstance(dist, FloatDistribution):
            if dist.log:
                if v <= 0:
                    return None
                lo, hi = math.log(dist.low), math.log(dist.high)
                out = (math.log(v) - lo) / (hi - lo) if hi > lo else 0.5
            elif dist.step is not None:
                n = _n_grid(dist.low, dist.high, dist.step)
                k = round((v - dist.low) / dist.step)
                out = (k + 0.5) / n
            elif dist.high > dist.low:
                out = (v - dist.low) / (dist.high - dist.low)
            else:
                out = 0.5
        else:
            assert isinstance(dist, IntDistribution)
            if dist.log:
                if v < 0.5:
                    return None
                lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
                out = (math.log(v) - lo) / (hi - lo)
            else:
                n = _n_grid(dist.low, dist.high, dist.step)
                k = round((v - dist.low) / dist.step)
                out = (k + 0.5) / n
        return np.array([min(max(out, 0.0), 1.0)])
