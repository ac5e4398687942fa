from __future__ import annotations

import pytest
import torch
from torch import nn

from optuna_whale.compression import models as M
from optuna_whale.compression.lowrank import (
    conv_mode_ranks,
    factorize,
    rank_from_ratio,
    saves_parameters,
    svd_embedding,
    svd_linear,
    tucker2_conv,
)


def test_svd_full_rank_reproduces_outputs() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(40, 24)
    x = torch.randn(8, 40)
    assert torch.allclose(svd_linear(lin, rank=24)(x), lin(x), atol=1e-5)
    assert torch.allclose(svd_linear(lin, energy=1.0)(x), lin(x), atol=1e-5)


def test_svd_low_rank_is_best_rank_r() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(40, 24, bias=False)
    f = svd_linear(lin, rank=5)
    w = f[1].weight @ f[0].weight
    s = torch.linalg.svdvals(lin.weight.detach().double())
    err = torch.linalg.matrix_norm(w.double() - lin.weight.double())
    assert torch.isclose(err, torch.sqrt((s[5:] ** 2).sum()), rtol=1e-4)
    assert sum(p.numel() for p in f.parameters()) == 5 * (40 + 24)


def test_energy_picks_smallest_rank() -> None:
    w = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.0]))
    lin = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        lin.weight.copy_(w)
    assert svd_linear(lin, energy=0.9)[0].out_features == 2  # 13/14 >= 0.9
    assert svd_linear(lin, energy=0.5)[0].out_features == 1  # 9/14 >= 0.5


def test_tucker2_full_rank_reproduces_conv() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 3, stride=2, padding=1)
    x = torch.randn(2, 6, 9, 9)
    f = tucker2_conv(conv, ranks=conv_mode_ranks(conv))
    assert torch.allclose(f(x), conv(x), atol=1e-5)
    small = tucker2_conv(conv, ranks=(3, 2))
    assert small(x).shape == conv(x).shape
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in conv.parameters())


def test_factorize_model_full_rank_and_copy() -> None:
    torch.manual_seed(0)
    m = M.SmallCNN(width=4, hidden=16).eval()
    x = torch.randn(3, 1, 8, 8)
    f = factorize(m, ranks={"fc1": 16, "conv2": 8})
    assert torch.allclose(f(x), m(x), atol=1e-5)
    assert isinstance(m.fc1, nn.Linear)  # input untouched
    assert rank_from_ratio(m.fc1, 0.5, "fc1") == 8
    assert rank_from_ratio(m.conv2, 0.5, "conv2") == (4, 2)


def test_rank_errors() -> None:
    lin = nn.Linear(10, 6)
    with pytest.raises(ValueError, match="rank for 'linear' is 7; allowed: integers 1..6"):
        svd_linear(lin, rank=7)
    with pytest.raises(ValueError, match="energy for 'linear' is 1.5"):
        svd_linear(lin, energy=1.5)
    conv = nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="groups=1; layer 'dw' has groups=2"):
        tucker2_conv(conv, ranks=(2, 2), name="dw")
    m = M.SmallCNN(width=4, hidden=16)
    with pytest.raises(ValueError, match="rank for 'fc1' is 17; allowed: integers 1..16"):
        factorize(m, ranks={"fc1": 17})
    with pytest.raises(ValueError, match="'act1' is a ReLU"):
        factorize(m, ranks={"act1": 2})
    with pytest.raises(ValueError, match="rank ratio for 'fc1' is 0.0; allowed: 0 < ratio <= 1"):
        rank_from_ratio(m.fc1, 0.0, "fc1")


@pytest.mark.parametrize("kind", ["bag", "lstm"])
def test_embedding_svd_full_rank_exact_and_padding_zero(kind: str) -> None:
    torch.manual_seed(0)
    m = M.TextClassifier(60, 4, embed_dim=12, hidden=8, kind=kind).eval()
    tokens = torch.tensor([[3, 9, 5, 0, 0], [7, 0, 0, 0, 0]])
    f = factorize(m, ranks={"embedding": 12})
    assert torch.allclose(f(tokens), m(tokens), atol=1e-5)
    small = factorize(m, ranks={"embedding": 3})
    assert small.embedding[0].weight.shape == (60, 3)
    assert torch.count_nonzero(small.embedding[0].weight[0]) == 0  # padding row stays zero
    assert small(tokens).shape == (2, 4)


def test_embedding_errors() -> None:
    emb = nn.EmbeddingBag(20, 6, mode="max")
    with pytest.raises(ValueError, match="mode='max'; allowed: 'sum', 'mean'"):
        svd_embedding(emb, rank=2, name="emb")
    with pytest.raises(ValueError, match="rank for 'emb' is 7; allowed: integers 1..6"):
        svd_embedding(nn.Embedding(20, 6), rank=7, name="emb")


def test_saves_parameters_break_even() -> None:
    lin = nn.Linear(30, 20)  # 600 weights; r * 50 < 600 iff r < 12
    assert saves_parameters(lin, 11) and not saves_parameters(lin, 12)
    conv = nn.Conv2d(8, 8, 3)  # 576 weights; 16r + 9r^2 < 576 iff r <= 7
    assert saves_parameters(conv, 7) and not saves_parameters(conv, 8)
    assert saves_parameters(nn.Embedding(100, 10), 9) and not saves_parameters(nn.Embedding(100, 10), 10)
