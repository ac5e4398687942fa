"""Every example runs top to bottom: ``--help``, then a quick mode (the issue's contract)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").rglob("*.py"))

# quick-mode arguments per example (the journal file of the distributed worker goes to tmp)
QUICK: dict[str, list[str]] = {
    "examples/quickstart.py": ["--trials", "30"],
    "examples/compression/digits_whale.py": ["--quick"],
    "examples/compression/mnist_multiobjective.py": ["--quick"],
    "examples/compression/text_model.py": ["--quick"],
    "examples/compression/torchvision_cifar.py": ["--synthetic", "--quick"],
    "examples/distributed/worker.py": ["--study", "examples-test", "--trials", "6"],
}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("OPTUNA_STORAGE", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_every_example_has_a_quick_mode() -> None:
    assert set(EXAMPLES) == set(QUICK), "add the new example's quick-mode arguments to QUICK"


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_help(example: str) -> None:
    out = _run([str(ROOT / example), "--help"], ROOT)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_in_quick_mode(example: str, tmp_path: Path) -> None:
    args = list(QUICK[example])
    if example == "examples/compression/torchvision_cifar.py":
        try:
            import torchvision  # noqa: F401
        except (ImportError, RuntimeError) as exc:  # the optional 'vision' extra
            pytest.skip(f"torchvision is not usable ({exc}): the 'vision' extra, see docs/install.md")
    if example == "examples/distributed/worker.py":
        journal = str(tmp_path / "demo.log")
        assert _run([str(ROOT / example), "--study", "examples-test", "--journal", journal, "--create"], tmp_path).returncode == 0
        args += ["--journal", journal]
    out = _run([str(ROOT / example), *args], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert "register_constant" not in out.stderr  # torchao's import notice is filtered, not shown
