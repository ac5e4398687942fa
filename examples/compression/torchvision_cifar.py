"""Compress a torchvision model (resnet18 or mobilenet_v3_small, random init).

``--synthetic`` trains on generated 32x32 images (offline; what our tests run). Without it the
script loads CIFAR-10 through torchvision (downloads once into ``--data``). Everything runs on
the CPU: the compression helpers do not move models to a GPU.

Per-layer pruning ratios are searched for every prunable conv (the classifier head is kept;
torch-pruning couples residual branches), plus quantization and fine-tune lr/epochs.

    python examples/compression/torchvision_cifar.py --synthetic --quick
    python examples/compression/torchvision_cifar.py --model mobilenet_v3_small --epochs 10 --trials 30
"""

from __future__ import annotations

import argparse

import optuna
import torch

from optuna_whale import WhaleSampler
from optuna_whale.compression import Budget, CompressionSpace, build_objective, measure
from optuna_whale.compression.data import load_cifar10, synthetic_images
from optuna_whale.compression.models import TORCHVISION_MODELS, build_torchvision
from optuna_whale.compression.structured import prunable_layers
from optuna_whale.compression.training import TrainConfig, train_inplace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list(TORCHVISION_MODELS), default="resnet18")
    p.add_argument("--synthetic", action="store_true", help="offline generated images instead of CIFAR-10")
    p.add_argument("--data", default="./data", help="CIFAR-10 download directory")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--max-layers", type=int, default=8, help="prune this many layers (evenly spaced)")
    p.add_argument("--factor", type=float, default=4.0, help="required MAC reduction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="2 trials, 1 epoch, 200 synthetic images")
    args = p.parse_args()
    if args.quick:
        args.trials, args.epochs = 2, 1
    splits = (synthetic_images(n=200 if args.quick else 2000, seed=args.seed) if args.synthetic
              else load_cifar10(args.data, seed=args.seed))
    torch.manual_seed(args.seed)
    try:
        model = build_torchvision(args.model, num_classes=splits.meta["num_classes"])
    except ImportError as exc:
        raise SystemExit(f"error: {exc}") from None
    cfg = TrainConfig(lr=1e-3, batch_size=64, seed=args.seed)
    train_inplace(model, splits.train, splits.val, TrainConfig(epochs=args.epochs, lr=1e-3, seed=args.seed))
    base = measure(model.eval(), splits.val, splits.example_inputs, with_latency=False)
    print(f"{args.model}: val acc {base.accuracy:.4f}, {base.bytes} bytes, {base.macs} MACs")
    layers = prunable_layers(model)
    step = max(1, len(layers) // args.max_layers)
    space = CompressionSpace(prune_layers=layers[::step][: args.max_layers], prune_ratio=(0.0, 0.8),
                             quantization=("none", "dynamic_int8", "fp16"), finetune_epochs=(0, 1 if args.quick else 3))
    objective = build_objective(splits.train, splits.val, splits.example_inputs, space,
                                Budget(max_macs=base.macs / args.factor, measure_latency=False),
                                model=model, train_config=cfg)
    study = optuna.create_study(direction="maximize", sampler=WhaleSampler(seed=args.seed),
                                pruner=optuna.pruners.NopPruner())
    study.optimize(objective, n_trials=args.trials, show_progress_bar=True)
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            print(f"#{t.number}: val acc {t.value:.4f}, {t.user_attrs['macs']} MACs "
                  f"({base.macs / t.user_attrs['macs']:.1f}x fewer), {t.user_attrs['bytes']} bytes, "
                  f"feasible={all(v <= 0 for v in t.constraints.values())}")


if __name__ == "__main__":
    main()
