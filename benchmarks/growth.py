"""How fit time and memory grow with the data (issue 11).

Fit time and peak resident memory of ``MislabelDetector``, ``DMIClassifier``
and cleanlab's 5-fold route, case by case, each fit in a fresh Python process
(so that every peak is its own):

* ``fashion10k`` / ``fashion60k``: the first 10,000 / all 60,000 Fashion-MNIST
  training images, flattened, 20% of the labels flipped to another class;
  defaults (detector: 30 epochs at most; DMIClassifier: automatic warm-up and
  20 L_DMI epochs; cleanlab: 5-fold ``cross_val_predict`` of the same MLP
  trained 30 cross-entropy epochs, as in ``benchmarks/detection.py``);
* ``synthetic1m``: 1,000,000 x 20 rows of ``make_classification`` (10
  classes, 10% flipped), every route at ``--epochs-1m`` epochs (time grows
  linearly with epochs);
* ``text100k``: MR as TF-IDF of 100,000 uni- and bigrams (20% flipped); the
  detector with the recipe for wide sparse data
  (``estimator=SGDClassifier(loss="log_loss", alpha=1e-4)``), DMIClassifier
  with a linear network (``module__hidden_units=()``) on sparse batches;
  cleanlab with ``LogisticRegression`` on the same matrix;
* ``images50k``: a folder of ``--n-images`` generated 64 x 64 grey PNGs
  (10 classes of noisy stripes), streamed: ``sklearn-noisy detect`` (its peak
  is the command's), ``DMIClassifier`` on the command line's lazy Dataset,
  both at ``--epochs-images`` epochs; cleanlab's route is estimated from the
  detector's time per epoch (5 trainings on 80% of the rows each, the same
  epochs), not run.

Peak memory is the process's high-water mark of resident memory
(``ru_maxrss``); "beyond data" subtracts the mark reached once the data were
loaded. The detector's pickle size is reported too. Speed is never asserted.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/growth.py --out docs/speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT)]
from _common import write_marked_section  # noqa: E402

CASES = ("fashion10k", "fashion60k", "synthetic1m", "text100k", "images50k")
ROUTES = ("detector", "dmi", "cleanlab")


def _peak_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024


def _flip(y, rate, n_classes, seed):
    rng = np.random.RandomState(seed)
    flip = rng.rand(len(y)) < rate
    shift = rng.randint(1, n_classes, size=len(y))
    return np.where(flip, (y + shift) % n_classes, y)


def load_case(case, workdir):
    """Return ``(X, y)`` of a case (``X`` a Dataset for images)."""
    if case.startswith("fashion"):
        from sklearn_noisy.datasets import fetch_fashion_mnist

        X, y = fetch_fashion_mnist(download_if_missing=False)[:2]
        n = 10_000 if case == "fashion10k" else 60_000
        X = (np.asarray(X[:n], dtype=np.float32) / 255).reshape(n, -1)
        return X, _flip(np.asarray(y[:n]).astype(int), 0.2, 10, 0)
    if case == "synthetic1m":
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=1_000_000,
            n_features=20,
            n_informative=10,
            n_classes=10,
            n_clusters_per_class=1,
            random_state=0,
        )
        return X.astype(np.float32), _flip(y, 0.1, 10, 0)
    if case == "text100k":
        from sparse_text import load

        X, y, _ = load(100_000, 0.2, 0)
        return X, y
    from sklearn_noisy._cli_data import load_data

    return load_data(Path(workdir) / "images", image_size=64).X, None


def make_estimator(case, route, args):
    """Return the fitted-to-be estimator of one route of one case."""
    from sklearn.linear_model import LogisticRegression

    from sklearn_noisy import DMIClassifier, MislabelDetector

    epochs = {"synthetic1m": args.epochs_1m, "images50k": args.epochs_images}
    linear = {"module__hidden_units": ()} if case == "text100k" else {}
    workers = {"num_workers": args.workers} if case == "images50k" else {}
    if route == "detector" and case == "text100k":
        # The documented recipe for wide sparse data (docs/speed.md, sparse).
        from sklearn.linear_model import SGDClassifier

        sgd = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=0)
        return MislabelDetector(estimator=sgd, random_state=0)
    if route == "detector":
        extra = {"max_epochs": epochs[case]} if case in epochs else {}
        return MislabelDetector(random_state=0, **extra, **linear, **workers)
    if route == "dmi":
        extra = {}
        if case in epochs:
            extra = {"max_epochs": epochs[case]}
        return DMIClassifier(random_state=0, **extra, **linear, **workers)
    if case == "text100k":
        return LogisticRegression(max_iter=1000)
    ce_epochs = epochs.get(case, 30)
    return DMIClassifier(
        warmup_epochs=ce_epochs, max_epochs=0, validation_fraction=None, random_state=0
    )


def worker(case, route, workdir, args):
    """Fit one route of one case in this process; print one JSON line."""
    from sklearn_noisy import UntrustedRankingWarning

    warnings.simplefilter("ignore", UntrustedRankingWarning)
    X, y = load_case(case, workdir)
    loaded = _peak_mb()
    est = make_estimator(case, route, args)
    start = time.perf_counter()
    if route == "cleanlab":
        from cleanlab.rank import get_label_quality_scores
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        proba = cross_val_predict(est, X, y, cv=cv, method="predict_proba")
        get_label_quality_scores(y, proba)
        pickled = None
    else:
        est.fit(X, y) if y is not None else est.fit(X)
        pickled = len(pickle.dumps(est)) / 1e6
    wall = time.perf_counter() - start
    out = {
        "fit_s": wall,
        "loaded_mb": loaded,
        "peak_mb": max(_peak_mb(), _peak_mb(resource.RUSAGE_CHILDREN)),
        "pickle_mb": pickled,
        "n": len(X) if y is None else len(y),
        "epochs": getattr(est, "n_epochs_", None),
    }
    print(json.dumps(out))


def run_worker(case, route, workdir, args):
    command = [
        sys.executable,
        __file__,
        "--worker",
        case,
        route,
        str(workdir),
        "--epochs-1m",
        str(args.epochs_1m),
        "--epochs-images",
        str(args.epochs_images),
        "--workers",
        str(args.workers),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_images(root, n_images, seed=0):
    """Write ``n_images`` 64 x 64 grey PNGs in 10 class folders."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    for k in range(10):
        (root / f"class{k}").mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        k = i % 10
        pixels = rng.randint(0, 90, size=(64, 64)).astype(np.uint8)
        pixels[:, 6 * k : 6 * k + 4] = 220
        Image.fromarray(pixels, mode="L").save(root / f"class{k}" / f"{i}.png")


def detect_images(workdir, args):
    """Run ``sklearn-noisy detect`` on the folder: its wall time and peak."""
    out = Path(workdir) / "ranked.csv"
    command = [
        sys.executable,
        "-m",
        "sklearn_noisy",
        "detect",
        str(Path(workdir) / "images"),
        "--out",
        str(out),
        "--overwrite",
        "--no-progress",
        "--image-size",
        "64",
        "--max-epochs",
        str(args.epochs_images),
        "--num-workers",
        str(args.workers),
    ]
    start = time.perf_counter()
    before = _peak_mb(resource.RUSAGE_CHILDREN)
    subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak = _peak_mb(resource.RUSAGE_CHILDREN)
    return {"fit_s": wall, "peak_mb": peak if peak > before else float("nan")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "ROUTE", "WORKDIR"))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--epochs-1m", type=int, default=3)
    parser.add_argument("--epochs-images", type=int, default=1)
    parser.add_argument("--n-images", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def _row(case, route, r):
    pickled = "" if r.get("pickle_mb") is None else f"{r['pickle_mb']:8.1f}"
    beyond = r["peak_mb"] - r["loaded_mb"] if "loaded_mb" in r else float("nan")
    epochs = "" if r.get("epochs") is None else str(r["epochs"])
    return (
        f"{case:12s} {route:26s} {r['fit_s']:8.1f} {r['peak_mb']:8.0f} "
        f"{beyond:8.0f} {pickled:>8s} {epochs:>6s}"
    )


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        case, route, workdir = args.worker
        worker(case, route, workdir, args)
        return
    command = "python benchmarks/growth.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    lines = [
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.2f} at start",
        f"{'case':12s} {'route':26s} {'fit s':>8s} {'peak MB':>8s} "
        f"{'beyond':>8s} {'pickle':>8s} {'epochs':>6s}",
    ]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for case in args.cases:
            if case == "images50k":
                start = time.perf_counter()
                write_images(Path(workdir) / "images", args.n_images)
                print(
                    f"(wrote {args.n_images} PNGs in "
                    f"{time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                r = detect_images(workdir, args)
                lines.append(_row(case, "detect (command line)", r))
                print(lines[-1], flush=True)
                estimate = 5 * 0.8 * r["fit_s"]
                routes = ["dmi"]
            else:
                routes = list(ROUTES)
            for route in routes:
                r = run_worker(case, route, workdir, args)
                label = {
                    "detector": "MislabelDetector",
                    "dmi": "DMIClassifier",
                    "cleanlab": "cleanlab 5-fold"
                    + (" (LogisticRegression)" if case == "text100k" else ""),
                }[route]
                lines.append(_row(case, label, r))
                print(lines[-1], flush=True)
            if case == "images50k":
                lines.append(
                    f"{case:12s} {'cleanlab 5-fold (estimate)':26s} {estimate:8.0f}"
                )
                print(lines[-1], flush=True)
    lines.append(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *lines, "```"])
        write_marked_section(args.out, "growth", body, heading="# Speed")


if __name__ == "__main__":
    main()
