"""Build the documentation, examples included, with warnings as errors."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
NEEDED = ["sphinx", "numpydoc", "myst_parser", "sphinx_gallery", "matplotlib"]


@pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in NEEDED),
    reason="the docs extra is not installed (pip install -e '.[docs]')",
)
def test_docs_build_without_warnings(tmp_path):
    """Check that the Sphinx site, API reference and gallery build cleanly."""
    source = tmp_path / "docs"
    # Build from a copy so generated pages never land in the checkout.
    shutil.copytree(
        DOCS,
        source,
        ignore=shutil.ignore_patterns("_build", "generated", "auto_examples"),
    )
    shutil.copytree(DOCS.parent / "examples", tmp_path / "examples")
    shutil.copy(DOCS.parent / "CHANGES.md", tmp_path / "CHANGES.md")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q"]
        + [str(source), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "api.html").exists()
    assert (tmp_path / "html" / "auto_examples" / "index.html").exists()
