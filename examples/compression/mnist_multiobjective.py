"""MNIST-5k CNN compression as a two-objective study: (accuracy up, serialized bytes down).

WhaleSampler handles any number of objectives (Pareto dominance decides between trials, and each
move draws its leader from the non-dominated front); ``--sampler nsga2`` or ``--sampler tpe``
runs Optuna's NSGAIISampler or TPESampler on the same study instead. The Pareto front is
printed and, with ``--plot``, saved as a PNG.

    python examples/compression/mnist_multiobjective.py --quick
    python examples/compression/mnist_multiobjective.py --trials 60 --plot /tmp/mnist_front.png
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import optuna
import torch

from optuna_whale import WhaleSampler
from optuna_whale.compression import Budget, CompressionSpace, build_objective, measure
from optuna_whale.compression.data import load_mnist5k
from optuna_whale.compression.models import SmallCNN
from optuna_whale.compression.objective import directions
from optuna_whale.compression.training import TrainConfig, train_inplace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--epochs", type=int, default=8, help="baseline training epochs")
    p.add_argument("--sampler", choices=["whale", "nsga2", "tpe"], default="whale")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="PNG path for the Pareto front")
    p.add_argument("--quick", action="store_true", help="4 trials, 1 baseline epoch")
    args = p.parse_args()
    if args.quick:
        args.trials, args.epochs = 4, 1
    torch.set_num_threads(1)
    splits = load_mnist5k(seed=args.seed)
    torch.manual_seed(args.seed)
    model = SmallCNN(image_size=28, width=16, hidden=128)
    cfg = TrainConfig(lr=1e-3, batch_size=64, seed=args.seed)
    train_inplace(model, splits.train, splits.val, TrainConfig(epochs=args.epochs, lr=1e-3, seed=args.seed))
    base = measure(model.eval(), splits.val, splits.example_inputs, with_latency=False)
    print(f"baseline: val acc {base.accuracy:.4f}, {base.bytes} bytes, {base.macs} MACs")
    space = CompressionSpace(prune_ratio=(0.0, 0.95), rank_layers=("fc1",),
                             quantization=("none", "dynamic_int8", "fp16"), finetune_epochs=(1, 3))
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space,
                                Budget(measure_latency=False), model=model, train_config=cfg,
                                multi_objective=True)
    samplers: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "whale": lambda: WhaleSampler(seed=args.seed),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=args.seed, population_size=10),
        "tpe": lambda: optuna.samplers.TPESampler(seed=args.seed),
    }
    sampler = samplers[args.sampler]()
    study = optuna.create_study(directions=directions(True), sampler=sampler)
    study.optimize(objective, n_trials=args.trials, show_progress_bar=True)
    front = sorted(study.best_trials, key=lambda t: t.values[1])
    print("Pareto front (val accuracy, bytes, x fewer bytes, MACs):")
    for t in front:
        print(f"  #{t.number}: {t.values[0]:.4f}  {int(t.values[1])}  {base.bytes / t.values[1]:.1f}x  "
              f"{t.user_attrs['macs']}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        done = [t for t in study.trials if t.values is not None]
        ax.scatter([t.values[1] for t in done], [t.values[0] for t in done], s=10, alpha=0.4, label="trials")
        ax.plot([t.values[1] for t in front], [t.values[0] for t in front], "o-", color="tab:red", label="Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel("bytes")
        ax.set_ylabel("validation accuracy")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print("saved", args.plot)


if __name__ == "__main__":
    main()
