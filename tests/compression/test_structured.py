from __future__ import annotations

import pytest
import torch
from torch import nn

from optuna_whale.compression import models as M
from optuna_whale.compression.structured import (
    StructuredPruningError,
    count_macs_params,
    kept_channels,
    prunable_layers,
    structured_prune,
)


def test_ratio_removes_expected_channels_and_macs_fall() -> None:
    torch.manual_seed(0)
    m = M.SmallCNN(width=16, hidden=64)
    x = torch.randn(2, 1, 8, 8)
    ratios = {"conv1": 0.5, "conv2": 0.25, "fc1": 0.7}
    before = {k: v.clone() for k, v in m.state_dict().items()}
    p = structured_prune(m, x, ratios)
    assert p.conv1.out_channels == kept_channels(16, 0.5) == 8
    assert p.conv2.out_channels == kept_channels(32, 0.25) == 24
    assert p.fc1.out_features == kept_channels(64, 0.7) == 19
    assert p.conv2.in_channels == 8 and p.fc1.in_features == 24 * 4 * 4
    assert p.fc2.out_features == 10  # head protected
    macs0, params0 = count_macs_params(m, x)
    macs1, params1 = count_macs_params(p, x)
    assert macs1 < macs0 and params1 < params0
    # exact: fc1 MACs = in * out
    assert params1 == sum(t.numel() for t in p.parameters())
    for k, v in m.state_dict().items():  # input model untouched
        assert torch.equal(v, before[k])
    assert p(x).shape == (2, 10)


def test_zero_ratio_is_identity_copy() -> None:
    m = M.MLP(64, hidden=(32, 16))
    p = structured_prune(m, torch.randn(2, 64), {"net.1": 0.0})
    assert p is not m and p.net[1].out_features == 32


def test_mlp_prune_and_ratio_clamped_to_one_channel() -> None:
    m = M.MLP(64, hidden=(32, 16))
    p = structured_prune(m, torch.randn(2, 64), {"net.1": 0.5, "net.3": 0.99})
    assert p.net[1].out_features == 16 and p.net[3].out_features == 1
    assert prunable_layers(m) == ["net.1", "net.3"]


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_models_prune_with_residuals(name: str) -> None:
    torch.manual_seed(0)
    try:
        m = M.build_torchvision(name, num_classes=10).eval()
    except ImportError as exc:  # torchvision is the optional 'vision' extra
        pytest.skip(str(exc))
    x = torch.randn(1, 3, 32, 32)
    layers = prunable_layers(m)
    ratios = {n: 0.5 for n in layers[:: max(1, len(layers) // 6)]}
    p = structured_prune(m, x, ratios)
    macs0, params0 = count_macs_params(m, x)
    macs1, params1 = count_macs_params(p, x)
    assert macs1 < macs0 and params1 < params0
    assert p(x).shape == (1, 10)


def test_errors_name_layer_and_allowed_values() -> None:
    m = M.SmallCNN(width=4)
    x = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match="'conv1' is 1.0; allowed: 0 <= ratio < 1"):
        structured_prune(m, x, {"conv1": 1.0})
    with pytest.raises(ValueError, match="'conv1' is -0.1"):
        structured_prune(m, x, {"conv1": -0.1})
    with pytest.raises(StructuredPruningError, match="'conv9' is not in the model; prunable layers: \\['conv1', 'conv2', 'fc1'\\]"):
        structured_prune(m, x, {"conv9": 0.5})
    with pytest.raises(StructuredPruningError, match="'act1' is a ReLU; structured pruning handles \\['Conv2d', 'Linear'\\]"):
        structured_prune(m, x, {"act1": 0.5})
    with pytest.raises(StructuredPruningError, match="'fc2' is ignored"):
        structured_prune(m, x, {"fc2": 0.5})
    with pytest.raises(StructuredPruningError, match="cannot be run on example_inputs of shape \\(2, 3, 8, 8\\)"):
        structured_prune(m, torch.randn(2, 3, 8, 8), {"conv1": 0.5})


class _Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        # a reshape tied to the channel count: breaks once channels are removed
        return self.fc2(h.reshape(-1, 8))


def test_untraceable_model_error() -> None:
    with pytest.raises(StructuredPruningError, match="fc1"):
        structured_prune(_Untraceable(), torch.randn(2, 4), {"fc1": 0.5})
