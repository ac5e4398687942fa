"""Compress a digits CNN with WhaleSampler under a size budget, then save the best model.

Single objective: validation accuracy, with ``bytes <= baseline bytes / --factor`` recorded
as a constraint by ``optuna_whale.compression.objective.set_constraints`` (WhaleSampler ranks
infeasible trials behind feasible ones).
The search suggests per-layer pruning ratios, the fc1 rank ratio, the quantization choice and
the fine-tune lr/epochs; every trial's figures are user attrs (see optuna-dashboard).

    python examples/compression/digits_whale.py --quick
    python examples/compression/digits_whale.py --trials 40 --out /tmp/digits_best
"""

from __future__ import annotations

import argparse

import optuna
import torch

from optuna_whale import WhaleSampler
from optuna_whale.compression import (
    Budget,
    CompressionParams,
    CompressionSpace,
    build_objective,
    load_compressed,
    measure,
    rebuild_model,
    save_compressed,
)
from optuna_whale.compression.data import load_digits
from optuna_whale.compression.models import SmallCNN
from optuna_whale.compression.training import TrainConfig, evaluate, train_inplace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--epochs", type=int, default=10, help="baseline training epochs")
    p.add_argument("--factor", type=float, default=10.0, help="required size reduction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory to save the best model (state_dict + params.json)")
    p.add_argument("--median-pruner", action="store_true",
                   help="stop trials with MedianPruner on the fine-tune reports (off by default: "
                        "accuracy-median pruning stops the small, budget-meeting models first)")
    p.add_argument("--quick", action="store_true", help="4 trials, 3 baseline epochs")
    args = p.parse_args()
    if args.quick:
        args.trials, args.epochs = 4, 3
    torch.set_num_threads(1)
    splits = load_digits(seed=args.seed)
    cfg = TrainConfig(lr=3e-3, batch_size=64, seed=args.seed)
    torch.manual_seed(args.seed)
    model = SmallCNN(image_size=8, width=16)
    train_inplace(model, splits.train, splits.val, TrainConfig(epochs=args.epochs, lr=3e-3, seed=args.seed))
    base = measure(model.eval(), splits.val, splits.example_inputs)
    print(f"baseline: val acc {base.accuracy:.4f}, {base.bytes} bytes, {base.macs} MACs")

    space = CompressionSpace(rank_layers=("fc1",), quantization=("none", "dynamic_int8", "fp16"),
                             finetune_epochs=(1, 3))
    budget = Budget(max_bytes=base.bytes / args.factor)
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space, budget,
                                model=model, train_config=cfg)
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5) if args.median_pruner else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(direction="maximize", sampler=WhaleSampler(seed=args.seed), pruner=pruner)
    study.optimize(objective, n_trials=args.trials, show_progress_bar=True)

    feasible = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
                and all(v <= 0 for v in t.constraints.values())]
    if not feasible:
        print("no trial met the budget; the smallest trial was",
              min(study.trials, key=lambda t: t.user_attrs.get("bytes", float("inf"))).params)
        return
    best = max(feasible, key=lambda t: t.value)
    print(f"best feasible trial #{best.number}: val acc {best.value:.4f}, {best.user_attrs['bytes']} "
          f"bytes ({base.bytes / best.user_attrs['bytes']:.1f}x fewer), {best.user_attrs['macs']} MACs")
    print("params:", best.params)
    final, _ = rebuild_model(best, splits.train, splits.val, splits.example_inputs, model=model,
                             train_config=cfg)
    print(f"rebuilt: test acc {evaluate(final, splits.test):.4f}")
    if args.out:
        save_compressed(args.out, final, CompressionParams.from_dict(best.params))
        loaded = load_compressed(args.out, splits.example_inputs, model=SmallCNN(image_size=8, width=16))
        print(f"saved to {args.out}; reloaded test acc {evaluate(loaded, splits.test):.4f}")


if __name__ == "__main__":
    main()
