"""Quickstart: WhaleSampler on a problem whose answer is known.

Four floats, a log-scaled integer and a categorical; the minimum is 0 at x0..x3 = 1.7, n = 12,
act = "tanh". The same code is the README's quickstart.

    python examples/quickstart.py              # 200 trials
    python examples/quickstart.py --trials 50  # quicker
"""

from __future__ import annotations

import argparse
import math

import optuna

from optuna_whale import WhaleSampler


def objective(trial: optuna.Trial) -> float:
    xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)]
    n = trial.suggest_int("n", 1, 64, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    penalty = {"relu": 0.5, "tanh": 0.0, "gelu": 1.0}[act]
    return sum((x - 1.7) ** 2 for x in xs) + (math.log2(n) - math.log2(12)) ** 2 + penalty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200, help="number of trials (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=WhaleSampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials, show_progress_bar=True)
    print(f"best value {study.best_value:.4g} (the minimum is 0) at {study.best_params}")
    print(f"best trial #{study.best_trial.number}: whale {study.best_trial.user_attrs}")


if __name__ == "__main__":
    main()
