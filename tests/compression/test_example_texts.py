"""What the compression examples say about the samplers matches what the code does."""

from __future__ import annotations

import ast
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compression" / "mnist_multiobjective.py"


def _sampler_argument(tree: ast.Module) -> dict[str, ast.expr]:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "--sampler"):
            return {k.arg: k.value for k in node.keywords if k.arg}
    raise AssertionError("no --sampler argument")


def test_two_objective_example_offers_whale_sampler_and_does_not_call_it_single_objective() -> None:
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    assert "single-objective" not in doc and "single objective" not in doc
    assert "WhaleSampler handles any number of objectives" in doc
    arg = _sampler_argument(tree)
    assert ast.literal_eval(arg["default"]) == "whale"
    assert ast.literal_eval(arg["choices"]) == ["whale", "nsga2", "tpe"]
