"""Compress the chatterbot utterance -> topic model (EmbeddingBag or embedding + LSTM).

The same helpers as for images: structured pruning of fc1, SVD of the embedding table and fc1, dynamic int8 on the LSTM
and Linear layers (or fp16 / none), fine-tune lr and epochs; WhaleSampler, single objective
(validation accuracy) with a size budget as a constraint.

    python examples/compression/text_model.py --quick
    python examples/compression/text_model.py --kind lstm --trials 30
"""

from __future__ import annotations

import argparse

import optuna
import torch

from optuna_whale import WhaleSampler
from optuna_whale.compression import Budget, CompressionSpace, build_objective, measure
from optuna_whale.compression.data import load_chatterbot_topics
from optuna_whale.compression.models import TextClassifier
from optuna_whale.compression.training import TrainConfig, train_until_converged


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=["bag", "lstm"], default="bag")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--factor", type=float, default=8.0, help="required size reduction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="4 trials, at most 3 baseline epochs")
    args = p.parse_args()
    torch.set_num_threads(1)
    splits = load_chatterbot_topics(seed=args.seed)
    print(f"{len(splits.train[0])} training utterances, {splits.meta['num_classes']} topics, "
          f"vocabulary {len(splits.meta['vocab'])}")
    torch.manual_seed(args.seed)
    model = TextClassifier(len(splits.meta["vocab"]), splits.meta["num_classes"], embed_dim=64,
                           hidden=64, kind=args.kind)
    cfg = TrainConfig(lr=3e-3, batch_size=32, seed=args.seed)
    hist = train_until_converged(model, splits.train, splits.val, cfg, patience=1 if args.quick else 5,
                                 max_epochs=3 if args.quick else 60, progress=True)
    base = measure(model.eval(), splits.val, splits.example_inputs, with_latency=False)
    print(f"baseline ({hist.best_epoch} epochs): val acc {base.accuracy:.4f}, {base.bytes} bytes")
    space = CompressionSpace(prune_layers=("fc1",), rank_layers=("embedding", "fc1"),
                             quantization=("none", "dynamic_int8", "fp16"), lr=(1e-4, 3e-3),
                             finetune_epochs=(0, 2))
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space,
                                Budget(max_bytes=base.bytes / args.factor, measure_latency=False),
                                model=model, train_config=cfg)
    study = optuna.create_study(direction="maximize", sampler=WhaleSampler(seed=args.seed),
                                pruner=optuna.pruners.NopPruner())
    study.optimize(objective, n_trials=4 if args.quick else args.trials, show_progress_bar=True)
    feasible = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
                and all(v <= 0 for v in t.constraints.values())]
    if feasible:
        best = max(feasible, key=lambda t: t.value)
        print(f"best feasible: val acc {best.value:.4f}, {best.user_attrs['bytes']} bytes "
              f"({base.bytes / best.user_attrs['bytes']:.1f}x fewer); {best.params}")
    else:
        print(f"no trial met bytes <= {base.bytes / args.factor:.0f}")


if __name__ == "__main__":
    main()
