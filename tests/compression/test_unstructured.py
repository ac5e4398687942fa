from __future__ import annotations

import math

import pytest
import torch

from optuna_whale.compression import models as M
from optuna_whale.compression.measure import state_dict_bytes
from optuna_whale.compression.unstructured import (
    magnitude_prune,
    nonzero_params,
    sparse_bytes,
    tensor_sparse_bits,
)


def test_layerwise_zeroes_exact_fraction_and_stays_permanent() -> None:
    torch.manual_seed(0)
    m = M.SmallCNN(width=8, hidden=32)
    p = magnitude_prune(m, {"fc1": 0.75, "conv2": 0.5})
    assert int((p.fc1.weight == 0).sum()) == round(0.75 * p.fc1.weight.numel())
    assert int((p.conv2.weight == 0).sum()) == round(0.5 * p.conv2.weight.numel())
    assert int((m.fc1.weight == 0).sum()) == 0  # input untouched
    # permanent: no masks or *_orig entries, same keys and dense size
    assert set(p.state_dict()) == set(m.state_dict())
    assert abs(state_dict_bytes(p) - state_dict_bytes(m)) < 512
    # smallest magnitudes went first
    kept = p.fc1.weight[p.fc1.weight != 0].abs().min()
    dropped = m.fc1.weight[p.fc1.weight == 0].abs().max()
    assert kept >= dropped


def test_global_scope_counts_all_weights() -> None:
    torch.manual_seed(0)
    m = M.MLP(64, hidden=(32,))
    p = magnitude_prune(m, 0.6, scope="global")
    weights = [p.net[1].weight, p.net[3].weight]
    total = sum(w.numel() for w in weights)
    assert sum(int((w == 0).sum()) for w in weights) == round(0.6 * total)
    assert nonzero_params(p) == nonzero_params(m) - round(0.6 * total)


def test_sparse_size_formula() -> None:
    t = torch.zeros(1000)
    t[:10] = 1.0
    # dense 32000, bitmask 1000 + 10*32 = 1320, coo 10*(32+10) = 420 bits
    assert tensor_sparse_bits(t, 32) == 420
    t[:500] = 1.0
    assert tensor_sparse_bits(t, 32) == 1000 + 500 * 32
    m = M.MLP(64, hidden=(32,))
    p = magnitude_prune(m, 0.9, scope="global")
    assert sparse_bytes(p) < 0.5 * sparse_bytes(m)
    bits = sum(tensor_sparse_bits(v, 32) for v in p.state_dict().values())
    assert sparse_bytes(p) == math.ceil(bits / 8)


def test_errors() -> None:
    m = M.MLP(64, hidden=(32,))
    with pytest.raises(ValueError, match="'net.1' is 1.0; allowed: 0 <= sparsity < 1"):
        magnitude_prune(m, {"net.1": 1.0})
    with pytest.raises(ValueError, match="'nope' is not a Conv2d/Linear"):
        magnitude_prune(m, {"nope": 0.1})
    with pytest.raises(ValueError, match="scope='local'.*allowed"):
        magnitude_prune(m, 0.1, scope="local")
