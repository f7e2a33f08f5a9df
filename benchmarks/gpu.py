"""Samples per second of both estimators against a bare PyTorch loop on a GPU.

Issue 11: the GPU path, ready for a GPU machine. In one run, on the same
device and the same synthetic data (``make_classification``, float32), the
same module (``MLP``, hidden units 256-256), Adam and batch size:

* ``bare loop``: a plain PyTorch loop over shuffled whole-batch slices of
  tensors already on the device, cross-entropy (the baseline);
* ``MislabelDetector``: a whole default fit with ``fit_tol=None`` (every epoch
  trains), recording the statistics of every sample;
* ``DMIClassifier``: a whole default fit (automatic warm-up, validation split
  scored every epoch, L_DMI);
* each estimator again on a streamed ``torch.utils.data.Dataset``
  (``--workers`` DataLoader workers, pinned memory) and, with ``--precision``,
  through ``accelerate.Accelerator(mixed_precision=...)``.

Samples per second count the rows trained per epoch times the epochs, over
the wall time of the whole fit (synchronised with the device). Speed is never
asserted; only ratios within one run mean anything. Without CUDA the script
says so and exits (``--device cpu`` runs it on the CPU, for a smoke test).

Usage::

    python benchmarks/gpu.py --out docs/speed.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from torch.utils.data import Dataset

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parent.parent),
]
from _common import command_line, write_marked_section  # noqa: E402

from sklearn_noisy import (  # noqa: E402
    DMIClassifier,
    MislabelDetector,
    UntrustedRankingWarning,
)
from sklearn_noisy._core.modules import MLP  # noqa: E402

HIDDEN_UNITS = (256, 256)


class ArrayPairs(Dataset):
    """(x, y) items of two arrays: the streamed route on in-memory data."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.y[index]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(X, y, n_classes, epochs, batch_size, device, seed):
    """Return ``(rows trained, seconds)`` of a plain PyTorch loop."""
    torch.manual_seed(seed)
    X = torch.as_tensor(X, device=device)
    y = torch.as_tensor(y, device=device)
    model = MLP(X.shape[1], n_classes, hidden_units=HIDDEN_UNITS).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(device)
        for b in range(0, len(X), batch_size):
            index = order[b : b + batch_size]
            optimizer.zero_grad()
            criterion(model(X[index]), y[index]).backward()
            optimizer.step()
    _sync(device)
    return epochs * len(X), time.perf_counter() - start


def fit_estimator(make, X, y, device):
    """Return ``(rows trained, seconds)`` of one whole fit."""
    model = make()
    _sync(device)
    start = time.perf_counter()
    model.fit(X, y) if y is not None else model.fit(X)
    _sync(device)
    wall = time.perf_counter() - start
    rows = sum(
        batch.get("train_batch_size", 0)
        for row in model.net_.history
        for batch in row["batches"]
    )
    return rows, wall


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--precision",
        choices=["no", "bf16", "fp16"],
        default="bf16",
        help="mixed precision of the accelerated runs ('no' skips them)",
    )
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def contestants(args, device):
    """Return ``[(name, make, streamed)]`` of the estimator runs."""
    common = {
        "batch_size": args.batch_size,
        "module__hidden_units": HIDDEN_UNITS,
        "max_epochs": args.epochs,
        "random_state": 0,
    }
    detector = {**common, "fit_tol": None}

    def detector_run(**kwargs):
        return MislabelDetector(**detector, **kwargs)

    def classifier_run(**kwargs):
        return DMIClassifier(**common, **kwargs)

    runs = [
        ("MislabelDetector", detector_run, False),
        ("DMIClassifier", classifier_run, False),
        ("MislabelDetector, Dataset", detector_run, True),
        ("DMIClassifier, Dataset", classifier_run, True),
    ]

    def on_device(make, streamed):
        workers = args.workers if streamed else 0
        return lambda: make(device=str(device), num_workers=workers)

    out = [(name, on_device(make, s), s) for name, make, s in runs]
    if args.precision != "no":
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState

        def accelerated(make):
            def build():
                AcceleratorState._reset_state(True)
                return make(
                    accelerator=Accelerator(
                        mixed_precision=args.precision, cpu=device.type == "cpu"
                    )
                )

            return build

        out += [
            (f"{name}, {args.precision}", accelerated(make), False)
            for name, make, _ in runs[:2]
        ]
    return out


def main(argv=None):
    args = parse_args(argv)
    # Synthetic data at few epochs: the detector's trust diagnostics are not
    # what is measured here.
    warnings.simplefilter("ignore", UntrustedRankingWarning)
    # The estimators pick their own torch threads (one by default): make them
    # use the bare loop's, so that the ratios compare equal resources.
    os.environ["SKLEARN_NOISY_NUM_THREADS"] = "0"
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available here: nothing to measure (see --device).")
        return
    command = command_line(__file__, argv)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.machine()
    )
    X, y = make_classification(
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_informative=min(args.n_features, 32),
        n_classes=args.n_classes,
        n_clusters_per_class=1,
        random_state=0,
    )
    X, y = X.astype(np.float32), y.astype(np.int64)
    lines = [
        f"{args.n_samples} x {args.n_features}, {args.n_classes} classes, MLP "
        f"{HIDDEN_UNITS}, batch {args.batch_size}, {args.epochs} epochs; "
        f"device {device} ({name}), torch {torch.__version__}",
        f"{'':34s} {'samples/s':>12s} {'x bare':>7s}",
    ]
    bare_loop(X, y, args.n_classes, 1, args.batch_size, device, 0)  # warm-up
    rows, wall = bare_loop(
        X, y, args.n_classes, args.epochs, args.batch_size, device, 0
    )
    base = rows / wall
    lines.append(f"{'bare PyTorch loop':34s} {base:12,.0f} {1.0:6.2f}x")
    print("\n".join(lines), flush=True)
    for label, make, streamed in contestants(args, device):
        data = (ArrayPairs(X, y), None) if streamed else (X, y)
        rows, wall = fit_estimator(make, *data, device)
        rate = rows / wall
        lines.append(f"{label:34s} {rate:12,.0f} {base / rate:6.2f}x")
        print(lines[-1], flush=True)
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *lines, "```"])
        write_marked_section(args.out, "gpu", body, heading="# Speed")


if __name__ == "__main__":
    main()
