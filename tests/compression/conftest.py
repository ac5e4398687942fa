from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

from optuna_whale.compression.data import DataSplits, load_digits  # noqa: E402
from optuna_whale.compression.models import SmallCNN  # noqa: E402
from optuna_whale.compression.training import TrainConfig, train_inplace  # noqa: E402


@pytest.fixture(scope="session")
def digits() -> DataSplits:
    return load_digits(seed=0)


@pytest.fixture(scope="session")
def trained_cnn(digits: DataSplits) -> SmallCNN:
    """A width-8 digits CNN trained 6 epochs (about 0.95 val accuracy); do not mutate."""
    torch.set_num_threads(1)
    model = SmallCNN(width=8, hidden=32)
    train_inplace(model, digits.train, digits.val, TrainConfig(epochs=6, lr=5e-3, seed=0))
    return model.eval()
