"""Time a grid search and the command line under each thread policy (issue 11).

On 2 shared cores the issue measured ``GridSearchCV(DMIClassifier(...),
n_jobs=2)`` at 51.7 s against 8.0 s for ``n_jobs=1`` with one torch thread,
and ``sklearn-noisy detect`` on MR at 16m43s against 3m29s with
``OMP_NUM_THREADS=1``. The estimators now pick torch's intra-op threads in one
place (``sklearn_noisy/utils/_threads.py``): one per process unless
``SKLEARN_NOISY_NUM_THREADS`` or ``OMP_NUM_THREADS`` says otherwise.

Every case runs in a fresh Python process, so that each pays the same start-up
(importing torch and scikit-learn) and inherits exactly the environment given:

* ``package default``: no thread variable set (the package's choice);
* ``torch default``: ``SKLEARN_NOISY_NUM_THREADS=0`` (torch's own setting, one
  thread per core: what the package did before);

each for ``GridSearchCV`` with ``n_jobs=1`` and ``n_jobs=2`` (joblib's workers
start cold: importing torch and its compiler stack costs seconds per worker,
which a small grid cannot win back; the warm figure runs the same search a
second time in the same process, with joblib's workers already started), and
for ``sklearn-noisy detect`` on an ``.npz`` file. Speed is never asserted;
compare the rows of one run.

Usage::

    python benchmarks/threads.py --out docs/speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parent.parent),
]
from _common import (  # noqa: E402
    command_line,
    detect_command,
    write_marked_section,
)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {
    "package default": {},
    "torch default": {"SKLEARN_NOISY_NUM_THREADS": "0"},
}
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "SKLEARN_NOISY_NUM_THREADS")

GRID_SCRIPT = """
import json, sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn_noisy import DMIClassifier
n_jobs, max_epochs, n_copies = (int(a) for a in sys.argv[1:4])
X, y = load_digits(return_X_y=True)
X, y = np.tile(X / 16, (n_copies, 1)), np.tile(y, n_copies)
grid = {"lr": [1e-3, 3e-4], "module__hidden_units": [(64,), (256, 256)]}
times = []
for _ in range(2):
    start = time.perf_counter()
    GridSearchCV(
        DMIClassifier(max_epochs=max_epochs, random_state=0), grid, cv=3,
        n_jobs=n_jobs,
    ).fit(X, y)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def _environment(extra):
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def time_grid(policy, n_jobs, max_epochs, n_copies):
    """Return ``(cold, warm)`` seconds of the grid search in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            GRID_SCRIPT,
            str(n_jobs),
            str(max_epochs),
            str(n_copies),
        ],
        env=_environment(POLICIES[policy]),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    cold, warm = json.loads(out.stdout.strip().splitlines()[-1])
    return cold, warm, wall


def time_detect(policy, data, max_epochs, workdir):
    """Return the wall seconds of ``sklearn-noisy detect`` in a fresh process."""
    out = Path(workdir) / f"ranking-{policy.replace(' ', '_')}.csv"
    start = time.perf_counter()
    subprocess.run(
        detect_command(data, out, "--max-epochs", str(max_epochs)),
        env=_environment(POLICIES[policy]),
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start


def write_detect_data(path, n_rows, seed=0):
    """Write an .npz of Fashion-MNIST-like size: 784 features, 10 classes."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_rows,
        n_features=784,
        n_informative=40,
        n_classes=10,
        n_clusters_per_class=1,
        random_state=seed,
    )
    np.savez(path, X=X.astype(np.float32), y=y)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument(
        "--copies",
        type=int,
        default=2,
        help="the grid search trains on this many copies of digits (default: 2)",
    )
    parser.add_argument("--detect-rows", type=int, default=10_000)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = command_line(__file__, argv)
    lines = [
        f"{os.cpu_count()} CPUs ({platform.machine()}); load average "
        f"{os.getloadavg()[0]:.2f} at start",
        f"GridSearchCV(DMIClassifier(max_epochs={args.max_epochs}), 4 candidates, "
        f"cv=3) on {args.copies} x digits ({args.copies * 1797} rows):",
        f"{'policy':18s} {'n_jobs':>6s} {'cold s':>7s} {'warm s':>7s} "
        f"{'process s':>9s}",
    ]
    print("\n".join(lines), flush=True)
    for policy in POLICIES:
        for n_jobs in (1, 2):
            cold, warm, wall = time_grid(policy, n_jobs, args.max_epochs, args.copies)
            lines.append(
                f"{policy:18s} {n_jobs:6d} {cold:7.1f} {warm:7.1f} {wall:9.1f}"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        f"sklearn-noisy detect on {args.detect_rows} x 784 (.npz, 10 classes), "
        f"--max-epochs {args.max_epochs}:",
    ]
    with tempfile.TemporaryDirectory() as workdir:
        data = Path(workdir) / "data.npz"
        write_detect_data(data, args.detect_rows)
        for policy in POLICIES:
            wall = time_detect(policy, data, args.max_epochs, workdir)
            lines.append(f"{policy:18s} {wall:7.1f} s")
            print(lines[-1], flush=True)
    lines.append(f"load average {os.getloadavg()[0]:.2f} at end")
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *lines, "```"])
        write_marked_section(args.out, "threads", body, heading="# Speed")


if __name__ == "__main__":
    main()
