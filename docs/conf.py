"""Sphinx configuration of the sklearn-noisy documentation (built offline)."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))

import sklearn_noisy  # noqa: E402

project = "sklearn-noisy"
author = "sklearn-noisy developers"
copyright = "2026, sklearn-noisy developers"
release = sklearn_noisy.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
html_theme = "alabaster"
html_static_path = []
templates_path = ["_templates"]

# Examples run at build time on CPU on bundled data (load_digits), so the
# gallery is checked every time the docs are built.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib")
