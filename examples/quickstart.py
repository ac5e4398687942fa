"""Quickstart: WhaleSampler on a shifted 5-D sphere with a categorical and an integer parameter.

    python examples/quickstart.py              # 200 trials
    python examples/quickstart.py --trials 50  # quicker
"""

from __future__ import annotations

import argparse

import optuna

from optuna_whale import WhaleSampler


def objective(trial: optuna.Trial) -> float:
    xs = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(4)]
    n = trial.suggest_int("n", 1, 64, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    penalty = {"relu": 0.5, "tanh": 0.0, "gelu": 1.0}[act]
    return sum((x - 1.7) ** 2 for x in xs) + (n - 12) ** 2 / 100 + penalty


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
    print(f"best value {study.best_value:.4g} at {study.best_params}")
    print(f"best trial #{study.best_trial.number}: whale {study.best_trial.user_attrs}")


if __name__ == "__main__":
    main()
