"""Tests that the package keeps its layers (STYLE.md, section 1)."""

import ast
import sys
from pathlib import Path

import pytest

import sklearn_noisy

CORE_DIR = Path(sklearn_noisy.__file__).parent / "_core"
CORE_MODULES = sorted(CORE_DIR.glob("*.py"))
CORE_NAMES = {path.stem for path in CORE_MODULES}
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "torch"}


def _imports(path):
    """Yield ``(level, dotted name, line)`` for every import in a module.

    ``from . import a, b`` yields ``(1, "a")`` and ``(1, "b")``; ``from .x import
    y`` yields ``(1, "x")``; absolute imports have level 0. Imports nested in
    functions or ``if TYPE_CHECKING`` blocks are found too.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:
                for alias in node.names:
                    yield node.level, alias.name, node.lineno
            else:
                yield node.level, node.module, node.lineno


def _violation(level, name):
    """Return why an import breaks the _core layer, or None if it is allowed."""
    top = name.split(".")[0]
    if level == 0:
        if top == "__future__" or top in sys.stdlib_module_names:
            return None
        if top in ALLOWED_THIRD_PARTY:
            return None
        return f"imports {name!r} (only numpy, scipy, torch and the stdlib)"
    if level > 1:
        return f"imports {'.' * level}{name} from outside _core"
    if top not in CORE_NAMES:
        return f"imports .{name}, which is not a _core module"
    return None


def test_layers_core_has_modules():
    """Check that the _core modules are found (the test below is not vacuous)."""
    assert {"__init__", "dmi", "modules", "noise"} <= CORE_NAMES


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: p.name)
def test_layers_core_imports_only_numpy_scipy_torch_stdlib(path):
    """Check that a _core module imports only numpy/scipy/torch/stdlib/_core."""
    problems = [
        f"{path.name}:{line}: {why}"
        for level, name, line in _imports(path)
        if (why := _violation(level, name)) is not None
    ]
    assert problems == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import sklearn.base", True),
        ("from skorch import NeuralNet", True),
        ("def f():\n    import pandas", True),
        ("from ..utils import _net", True),
        ("from . import nothere", True),
        ("from .nothere import x", True),
        ("import numpy as np", False),
        ("from scipy import sparse", False),
        ("from torch.nn import functional", False),
        ("import math, collections.abc", False),
        ("from __future__ import annotations", False),
        ("from .dmi import dmi_loss", False),
        ("from . import modules", False),
    ],
)
def test_layers_checker_flags_forbidden_imports(tmp_path, source, expected):
    """Check that the import checker itself tells allowed from forbidden."""
    path = tmp_path / "module.py"
    path.write_text(source + "\n", encoding="utf-8")
    flagged = [_violation(level, name) for level, name, _ in _imports(path)]
    assert any(flagged) is expected
