"""optuna-whale: a storage-backed Whale Optimization Algorithm sampler and pruner for Optuna.

``import optuna_whale`` needs only optuna and numpy. The compression helpers
(:mod:`optuna_whale.compression`) and the benchmark harness (:mod:`optuna_whale.bench`) are
imported on demand and need the ``compress`` / ``bench`` extras.
"""

from optuna_whale._version import __version__
from optuna_whale.core import WhaleOptimizer
from optuna_whale.multiobjective_pruning import declare, report, should_prune
from optuna_whale.pruner import WhalePruner
from optuna_whale.sampler import WhaleSampler

__all__ = ["WhaleOptimizer", "WhalePruner", "WhaleSampler", "__version__", "declare", "report", "should_prune"]
