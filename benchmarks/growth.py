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
  (10 classes of noisy stripes), streamed by ``sklearn-noisy detect`` (its
  peak is the command's own, read with ``os.wait4``); on a folder of the
  first ``--n-images-check`` of them (the same folder when equal), the same
  command on the folder and on the same decoded images saved as an ``.npz``
  array, whose scores are compared, and ``MislabelDetector`` and
  ``DMIClassifier`` fitted on the command line's lazy Dataset; all at
  ``--epochs-images`` epochs. cleanlab's route is estimated from that
  detector fit's time per image (5 trainings on 80% of the
  ``--n-images`` rows each, the same epochs), not run.

``--cleanlab-cases`` limits the cases whose cleanlab route is run (the most
expensive route: five trainings); the others print "not run".

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
from _common import command_line, detect_command, write_marked_section  # noqa: E402

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

    return load_data(Path(workdir), image_size=64).X, None


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


def detect_images(data, out, args):
    """Run ``sklearn-noisy detect`` on ``data``: its wall time and own peak.

    The peak is the command's own high-water mark of resident memory
    (``os.wait4``), not that of earlier children.
    """
    command = detect_command(
        data,
        out,
        "--image-size",
        "64",
        "--max-epochs",
        str(args.epochs_images),
        "--num-workers",
        str(args.workers),
    )
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            errors.seek(0)
            raise RuntimeError(errors.read().decode(errors="replace"))
    wall = time.perf_counter() - start
    return {"fit_s": wall, "peak_mb": usage.ru_maxrss / 1024}


def save_images_npz(folder, path):
    """Save the folder's decoded images and labels as ``.npz`` (array route)."""
    from sklearn_noisy._cli_data import load_data

    data = load_data(folder, image_size=64)
    np.savez(path, X=data.X.to_array(), y=data.y)


def compare_scores(by_folder, by_array):
    """Return the largest score difference of the two rankings, row by row."""
    import pandas as pd

    folder = pd.read_csv(by_folder).sort_values("path")["score"].to_numpy()
    array = pd.read_csv(by_array).sort_values("row")["score"].to_numpy()
    if len(folder) != len(array):
        raise RuntimeError(f"{len(folder)} scored images against {len(array)} rows")
    return float(np.max(np.abs(folder - array)))


def run_images(workdir, args, lines):
    """The streamed image-folder case: detect, array comparison, DMIClassifier."""
    workdir = Path(workdir)
    check = min(args.n_images_check or args.n_images, args.n_images)
    start = time.perf_counter()
    write_images(workdir / "images", args.n_images)
    _say(lines, f"(wrote {args.n_images} PNGs in {time.perf_counter() - start:.0f} s)")
    r = detect_images(workdir / "images", workdir / "ranked.csv", args)
    r["n"] = args.n_images
    _say(lines, _row("images50k", "detect (streamed folder)", r))
    check_dir = workdir / "images"
    if check < args.n_images:
        check_dir = workdir / "images_check"
        write_images(check_dir, check)
        r = detect_images(check_dir, workdir / "ranked_check.csv", args)
        r["n"] = check
        _say(lines, _row("images50k", "detect (streamed folder)", r))
    by_folder = workdir / (
        "ranked.csv" if check == args.n_images else "ranked_check.csv"
    )
    npz = workdir / "images.npz"
    save_images_npz(check_dir, npz)
    r = detect_images(npz, workdir / "ranked_array.csv", args)
    r["n"] = check
    _say(lines, _row("images50k", "detect (same images, .npz)", r))
    npz.unlink()
    difference = compare_scores(by_folder, workdir / "ranked_array.csv")
    _say(
        lines,
        f"{'':12s} scores of the streamed folder and the array, {check} images: "
        f"largest difference {difference:.3g}",
    )
    r = run_worker("images50k", "detector", check_dir, args)
    _say(lines, _row("images50k", "MislabelDetector (streamed)", r))
    # Five trainings on 80% of the rows each, at the detector's pace.
    pace = r["fit_s"] / check
    estimate = {"fit_s": 5 * 0.8 * pace * args.n_images, "n": args.n_images}
    r = run_worker("images50k", "dmi", check_dir, args)
    _say(lines, _row("images50k", "DMIClassifier (streamed)", r))
    _say(lines, _row("images50k", "cleanlab 5-fold (estimate)", estimate))


def _say(lines, line):
    lines.append(line)
    print(line, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "ROUTE", "WORKDIR"))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--epochs-1m", type=int, default=3)
    parser.add_argument("--epochs-images", type=int, default=1)
    parser.add_argument("--n-images", type=int, default=50_000)
    parser.add_argument(
        "--n-images-check",
        type=int,
        default=None,
        help="images of the folder-against-array comparison and of "
        "DMIClassifier (default: --n-images)",
    )
    parser.add_argument("--cleanlab-cases", nargs="*", default=None, choices=CASES)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def _row(case, route, r):
    def number(key, form):
        return "" if r.get(key) is None else format(r[key], form)

    beyond = r["peak_mb"] - r["loaded_mb"] if "loaded_mb" in r else None
    beyond = "" if beyond is None else f"{beyond:.0f}"
    return (
        f"{case:12s} {route:27s} {number('n', 'd'):>9s} {number('fit_s', '.1f'):>8s} "
        f"{number('peak_mb', '.0f'):>8s} {beyond:>8s} "
        f"{number('pickle_mb', '.1f'):>8s} {number('epochs', 'd'):>6s}"
    )


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        case, route, workdir = args.worker
        worker(case, route, workdir, args)
        return
    command = command_line(__file__, argv)
    lines = [
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.2f} at start",
        f"{'case':12s} {'route':27s} {'n':>9s} {'fit s':>8s} {'peak MB':>8s} "
        f"{'beyond':>8s} {'pickle':>8s} {'epochs':>6s}",
    ]
    print("\n".join(lines), flush=True)
    cleanlab = set(CASES if args.cleanlab_cases is None else args.cleanlab_cases)
    with tempfile.TemporaryDirectory() as workdir:
        for case in args.cases:
            if case == "images50k":
                run_images(workdir, args, lines)
                continue
            for route in ROUTES:
                label = {
                    "detector": "MislabelDetector",
                    "dmi": "DMIClassifier",
                    "cleanlab": "cleanlab 5-fold"
                    + (" (LogisticRegr.)" if case == "text100k" else ""),
                }[route]
                if route == "cleanlab" and case not in cleanlab:
                    _say(lines, f"{case:12s} {label:27s} not run")
                    continue
                _say(lines, _row(case, label, run_worker(case, route, workdir, args)))
    lines.append(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *lines, "```"])
        write_marked_section(args.out, "growth", body, heading="# Speed")


if __name__ == "__main__":
    main()
