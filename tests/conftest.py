import signal
from collections.abc import Callable

import pytest

pytest.register_assert_rewrite("optuna.testing.pytest_samplers")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def interruptible() -> Callable[[], None]:
    """``preexec_fn`` for a child process that a test interrupts with SIGINT: SIGINT back to its
    default before exec. A test process started as a background job of a non-interactive shell
    ignores SIGINT, its children inherit that, and Python then installs no KeyboardInterrupt
    handler, so the Ctrl-C under test would never arrive. At a terminal Ctrl-C is never ignored."""
    return _sigint_default
