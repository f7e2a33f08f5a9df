"""MislabelDetector on a 100,000-feature TF-IDF matrix against cleanlab (issue 11).

MR (10,662 sentences) as TF-IDF of up to 100,000 uni- and bigrams, with
symmetric label noise (``--noise`` of the labels flipped, seeded). On the same
matrix and labels, each route's fit time and its detection AUROC (the ranking
against the flipped rows):

* ``cleanlab + LogisticRegression``: 5-fold ``cross_val_predict`` of
  ``LogisticRegression(max_iter=1000)``, ranked by
  ``cleanlab.rank.get_label_quality_scores`` (self-confidence): the peer the
  issue measured at 9 s;
* ``MislabelDetector, SGDClassifier``: the documented recipe for wide sparse
  data, ``estimator=SGDClassifier(loss="log_loss", alpha=1e-4)``: the
  training dynamics of a linear model fitted by ``partial_fit`` passes
  (``max_epochs`` of them), scikit-learn's sparse code throughout;
* ``MislabelDetector, linear network``: ``module__hidden_units=()`` (softmax
  regression: the default MLP with no hidden layer, whose only layer
  multiplies the sparse batches), at the default and a tenfold learning rate;
* ``MislabelDetector, default MLP``: hidden units 256-256 on sparse batches;
  its first layer's gradient and Adam step still cost 100,000 x 256 values per
  batch, so only ``--default-epochs`` epochs are timed and the time of a whole
  default fit (30 epochs, or the epochs it stopped at) is extrapolated.

Speed is never asserted; only ratios within one run mean anything.

Usage::

    python benchmarks/sparse_text.py --out docs/speed.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parent.parent),
]
from _common import command_line, write_marked_section  # noqa: E402

from sklearn_noisy import MislabelDetector, UntrustedRankingWarning  # noqa: E402
from sklearn_noisy.datasets import fetch_mr  # noqa: E402


def load(max_features, noise, seed):
    """Return the TF-IDF matrix, the noisy labels and the flipped mask."""
    texts, y = fetch_mr(download_if_missing=False)
    X = TfidfVectorizer(
        ngram_range=(1, 2), max_features=max_features, sublinear_tf=True
    ).fit_transform(texts)
    rng = np.random.RandomState(seed)
    flipped = rng.rand(len(y)) < noise
    return X.astype(np.float32), np.where(flipped, 1 - y, y), flipped


def run_cleanlab(X, y, seed):
    from cleanlab.rank import get_label_quality_scores
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    start = time.perf_counter()
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    proba = cross_val_predict(
        LogisticRegression(max_iter=1000), X, y, cv=cv, method="predict_proba"
    )
    scores = get_label_quality_scores(y, proba)
    return scores, time.perf_counter() - start


def run_detector(X, y, seed, **params):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        det = MislabelDetector(random_state=seed, **params).fit(X, y)
    return det, time.perf_counter() - start


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-features", type=int, default=100_000)
    parser.add_argument("--noise", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--default-epochs", type=int, default=1)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = command_line(__file__, argv)
    X, y, flipped = load(args.max_features, args.noise, args.seed)
    lines = [
        f"MR, TF-IDF {X.shape[0]} x {X.shape[1]} ({X.nnz} non-zeros), "
        f"{args.noise:.0%} of the labels flipped (seed {args.seed}); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start",
        f"{'route':44s} {'fit s':>8s} {'x cleanlab':>10s} {'AUROC':>6s}",
    ]
    print("\n".join(lines), flush=True)
    scores, base = run_cleanlab(X, y, args.seed)
    auroc = roc_auc_score(flipped, -scores)
    lines.append(
        f"{'cleanlab + LogisticRegression, 5-fold':44s} {base:8.1f} "
        f"{1.0:9.2f}x {auroc:6.3f}"
    )
    print(lines[-1], flush=True)
    sgd = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=args.seed)
    for label, params in [
        ("MislabelDetector, SGDClassifier (recipe)", {"estimator": sgd}),
        ("MislabelDetector, linear network", {"module__hidden_units": ()}),
        (
            "MislabelDetector, linear network, lr=1e-2",
            {"module__hidden_units": (), "lr": 1e-2},
        ),
    ]:
        det, wall = run_detector(X, y, args.seed, **params)
        auroc = roc_auc_score(flipped, -det.train_scores_)
        lines.append(
            f"{label:44s} {wall:8.1f} {wall / base:9.2f}x {auroc:6.3f}"
            f"  ({det.n_epochs_} epochs)"
        )
        print(lines[-1], flush=True)
    det, wall = run_detector(
        X, y, args.seed, max_epochs=args.default_epochs, fit_tol=None
    )
    per_epoch = wall / args.default_epochs
    lines.append(
        f"{'MislabelDetector, default MLP (256, 256)':44s} {per_epoch:8.1f} "
        f"{per_epoch / base:9.2f}x {'':>6s}  per epoch (timed over "
        f"{args.default_epochs}); a 30-epoch fit: ~{30 * per_epoch:.0f} s"
    )
    print(lines[-1], flush=True)
    lines.append(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *lines, "```"])
        write_marked_section(args.out, "sparse", body, heading="# Speed")


if __name__ == "__main__":
    main()
