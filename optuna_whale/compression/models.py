"""Small models for the compression helpers, plus torchvision builders (random init)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (one of ``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is unknown; allowed: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class SmallCNN(nn.Module):
    """conv(w) -> act [-> pool] -> conv(2w) -> act -> pool -> fc1(hidden) -> act -> fc2.

    ``image_size`` 8 (digits) pools once (8 -> 4); 28 (MNIST) pools twice (28 -> 7).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 8,
        num_classes: int = 10,
        width: int = 16,
        hidden: int = 64,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if width < 1 or hidden < 1:
            raise ValueError(f"width={width} and hidden={hidden} must be >= 1")
        pool_first = image_size >= 16
        side = image_size // 2 // (2 if pool_first else 1)
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.act1 = make_activation(activation)
        self.pool1: nn.Module = nn.MaxPool2d(2) if pool_first else nn.Identity()
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.act2 = make_activation(activation)
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(2 * width * side * side, hidden)
        self.act3 = make_activation(activation)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        return self.fc2(self.act3(self.fc1(self.flatten(x))))


class MLP(nn.Module):
    """Flatten -> [Linear -> act] * len(hidden) -> Linear(num_classes)."""

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (128, 64),
        num_classes: int = 10,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        prev = in_features
        for h in hidden:
            layers += [nn.Linear(prev, h), make_activation(activation)]
            prev = h
        layers.append(nn.Linear(prev, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TextClassifier(nn.Module):
    """Token ids (batch, length), 0 = padding -> class logits.

    ``kind="bag"``: EmbeddingBag(mean, padding ignored) -> fc1 -> act -> fc2.
    ``kind="lstm"``: Embedding -> LSTM -> last valid hidden state -> fc1 -> act -> fc2.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 64,
        hidden: int = 64,
        kind: str = "bag",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if kind not in ("bag", "lstm"):
            raise ValueError(f"kind={kind!r} is unknown; allowed: ['bag', 'lstm']")
        self.kind = kind
        if kind == "bag":
            self.embedding: nn.Module = nn.EmbeddingBag(
                vocab_size, embed_dim, mode="mean", padding_idx=0
            )
            feat = embed_dim
        else:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
            feat = hidden
        self.fc1 = nn.Linear(feat, hidden)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.kind == "bag":
            h = self.embedding(tokens)
        else:
            out, _ = self.lstm(self.embedding(tokens))
            lengths = (tokens != 0).sum(dim=1).clamp(min=1) - 1
            h = out[torch.arange(out.shape[0]), lengths]
        return self.fc2(self.act(self.fc1(h)))


TORCHVISION_MODELS = ("resnet18", "mobilenet_v3_small")


def build_torchvision(name: str, num_classes: int = 10) -> nn.Module:
    """``torchvision.models.<name>(weights=None, num_classes=...)``: random init, no download.

    Raises ImportError, with the install line, when torchvision (the ``vision`` extra) is absent
    or was built for another torch.
    """
    if name not in TORCHVISION_MODELS:
        raise ValueError(f"name={name!r} is unknown; allowed: {list(TORCHVISION_MODELS)}")
    try:
        import torchvision
    except (ImportError, RuntimeError) as exc:  # RuntimeError: a torchvision built for another torch
        raise ImportError(
            f"build_torchvision needs torchvision built for the installed torch ({torch.__version__}): "
            "pip install \"optuna-whale[vision]\", or for a CPU-only torch both from one index, "
            f"see docs/install.md ({exc})"
        ) from exc

    builder = getattr(torchvision.models, name)
    model: nn.Module = builder(weights=None, num_classes=num_classes)
    return model


def final_linear_name(model: nn.Module) -> str:
    """Name of the last ``nn.Linear`` registered in ``model`` (the classifier head)."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError("model has no nn.Linear layer to treat as the classifier head")
    return names[-1]


def weights_read_by_parent(model: nn.Module) -> dict[str, str]:
    """Layers whose parent reads their ``.weight`` tensor directly instead of calling them.

    Name -> reason. Such a layer cannot be replaced by another module (a factorized
    ``Sequential``) or by a module whose ``weight`` is not a tensor (a dynamic int8 Linear):
    ``nn.MultiheadAttention`` reads ``out_proj.weight``/``.bias`` in its forward, and
    ``nn.TransformerEncoderLayer``'s inference fast path reads ``linear1.weight`` and
    ``linear2.weight`` (its ``self_attn.out_proj`` is covered by the first rule).
    """
    found: dict[str, str] = {}
    for name, parent in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(parent, nn.MultiheadAttention):
            found[f"{prefix}out_proj"] = "nn.MultiheadAttention reads out_proj.weight directly"
        elif isinstance(parent, nn.TransformerEncoderLayer):
            for child in ("linear1", "linear2"):
                found[f"{prefix}{child}"] = (
                    f"nn.TransformerEncoderLayer's fast path reads {child}.weight directly"
                )
    return found
