import pytest

pytest.register_assert_rewrite("optuna.testing.pytest_samplers")
