from __future__ import annotations

import pytest
import torch

from optuna_whale.compression import data as D
from optuna_whale.compression import models as M


def test_digits_split_is_deterministic_and_disjoint() -> None:
    a, b = D.load_digits(seed=3), D.load_digits(seed=3)
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.test[1], b.test[1])
    assert len(a.train[0]) + len(a.val[0]) + len(a.test[0]) == 1797
    assert a.train[0].shape[1:] == (1, 8, 8) and float(a.train[0].max()) <= 1.0
    c = D.load_digits(seed=4)
    assert not torch.equal(a.train[1], c.train[1])


def test_chatterbot_topics_vocab_from_train_only() -> None:
    s = D.load_chatterbot_topics(seed=0)
    vocab = s.meta["vocab"]
    assert vocab["<pad>"] == 0 and vocab["<unk>"] == 1
    assert s.meta["num_classes"] == len(s.meta["topics"]) >= 5
    assert int(s.train[0].max()) < len(vocab)
    assert D.tokenize("Hello, World! it's") == ["hello", "world", "it's"]
    enc = D.encode(["zzzunseen hello"], {"<pad>": 0, "<unk>": 1, "hello": 2}, 4)
    assert enc.tolist() == [[1, 2, 0, 0]]


@pytest.mark.parametrize("kind", ["bag", "lstm"])
def test_text_classifier_shapes(kind: str) -> None:
    m = M.TextClassifier(vocab_size=50, num_classes=4, embed_dim=8, hidden=8, kind=kind)
    tokens = torch.tensor([[3, 4, 0, 0], [5, 0, 0, 0]])
    assert m(tokens).shape == (2, 4)


@pytest.mark.parametrize("size", [8, 28])
def test_small_cnn_shapes(size: int) -> None:
    m = M.SmallCNN(image_size=size, width=4, activation="gelu")
    assert m(torch.zeros(2, 1, size, size)).shape == (2, 10)


def test_synthetic_images_learnable_shapes() -> None:
    s = D.synthetic_images(n=100, size=16, seed=0)
    assert s.train[0].shape[1:] == (3, 16, 16) and s.meta["num_classes"] == 10


def test_model_argument_errors() -> None:
    with pytest.raises(ValueError, match="activation='swish'.*allowed"):
        M.SmallCNN(activation="swish")
    with pytest.raises(ValueError, match="name='vgg'.*resnet18"):
        M.build_torchvision("vgg")
    with pytest.raises(ValueError, match="kind='gru'"):
        M.TextClassifier(10, 2, kind="gru")
    with pytest.raises(ValueError, match="val_fraction"):
        D.load_digits(val_fraction=1.5)
