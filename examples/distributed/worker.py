"""One optuna-whale worker: start as many as you like, on as many machines as you like.

Every worker loads the same study from the same storage and continues the same whale
population (the population lives in the storage, see optuna_whale/storage_layout.py).

    # the storage URL comes from --storage or the OPTUNA_STORAGE environment variable
    export OPTUNA_STORAGE=postgresql+psycopg2://USER@HOST:5432/DB
    python examples/distributed/worker.py --study demo --create      # once
    python examples/distributed/worker.py --study demo --trials 50   # on every worker
    python examples/distributed/worker.py --study demo --journal /shared/demo.log --trials 50
    python examples/distributed/worker.py --study demo --redis redis://127.0.0.1:6379 --trials 50
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import optuna
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend, JournalStorage

from optuna_whale import WhalePruner, WhaleSampler


def objective(trial: optuna.Trial) -> float:
    """A stand-in for a training job: 10 'epochs' of a shifted Rastrigin-like loss."""
    x = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)]
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    loss = math.inf
    for epoch in range(10):
        loss = sum((v - 1.3) ** 2 - math.cos(2 * math.pi * (v - 1.3)) + 1 for v in x) + abs(math.log10(lr) + 2.5)
        loss += 3.0 / (epoch + 1)
        time.sleep(0.05)
        trial.report(loss, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return loss


def make_storage(args: argparse.Namespace) -> BaseStorage:
    if args.journal:
        return JournalStorage(JournalFileBackend(args.journal))
    if args.redis:
        return JournalStorage(JournalRedisBackend(args.redis, prefix=args.study))
    url = args.storage or os.environ.get("OPTUNA_STORAGE")
    if not url:
        sys.exit("error: give --storage, --journal, --redis or set OPTUNA_STORAGE")
    # Heartbeats let the surviving workers fail a dead worker's trial (its whale slot is then
    # free) and retry it once; the retry keeps the trial's whale tag, so it lands in the same slot.
    return RDBStorage(
        url,
        heartbeat_interval=10,
        grace_period=30,
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--storage", default=None, help="RDB URL (default: $OPTUNA_STORAGE); never printed")
    parser.add_argument("--journal", default=None, help="journal file path (one machine or a shared file system)")
    parser.add_argument("--redis", default=None, help="Redis URL for a JournalRedisBackend")
    parser.add_argument("--trials", type=int, default=20, help="trials this worker runs (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="sampler seed (default: none, so workers differ)")
    parser.add_argument("--create", action="store_true", help="create the study and exit")
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(args)
    if args.create:
        optuna.create_study(study_name=args.study, storage=storage, load_if_exists=True)
        print(f"study {args.study!r} ready")
        return
    study = optuna.load_study(study_name=args.study, storage=storage, sampler=WhaleSampler(seed=args.seed), pruner=WhalePruner())
    study.optimize(objective, n_trials=args.trials, show_progress_bar=True)
    pop = WhaleSampler().population(study)
    print(f"best {study.best_value:.4g}; population: cycle {pop.cycle}, generation {pop.generation:.1f}, {int(pop.occupied.sum())}/{pop.size} whales")


if __name__ == "__main__":
    main()
