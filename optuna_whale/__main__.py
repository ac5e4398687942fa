"""``python -m optuna_whale``: the ``optuna-whale`` command (see :mod:`optuna_whale.cli`)."""

from optuna_whale.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
