"""Time an epoch of DMIClassifier against a bare PyTorch loop (issue 2).

skorch's default ``DataLoader`` fetches every sample through
``Dataset.__getitem__`` and collates each batch in Python, which made an epoch
on in-memory arrays about 2.8x slower than a bare PyTorch loop. This script
times, in one run and on the same data, module (``MLP``), optimizer (Adam),
loss (cross-entropy) and batch size (128, incomplete batches dropped):

* ``bare loop``: a plain PyTorch loop over shuffled whole-batch tensor slices,
  the baseline of every ratio;
* ``bare loop, CE then L_DMI``: the same loop trained as the fixed warm-up
  trains, E cross-entropy epochs and then E epochs of
  ``sklearn_noisy.losses.DMILoss`` (what a user writing the two phases by hand
  would run; no validation split, no singular-batch bookkeeping). Its L_DMI
  epochs measure what the loss itself costs over cross-entropy, so that the
  package's own overhead in ``DMIClassifier``'s L_DMI phase can be read apart
  from it (the last lines of the report);
* ``skorch default``: ``NeuralNetClassifier`` with its default iterators and
  ``train_split=None``;
* ``DMIClassifier`` with a fixed cross-entropy warm-up (no validation split:
  all rows are trained, as in the two above) and with the default
  ``warmup_epochs="auto"`` (10% of the rows held out and scored at every epoch
  end); both split into their cross-entropy (CE) and L_DMI phases ("both":
  the epoch-weighted mean of the two phase medians);
* ``MislabelDetector`` with ``fit_tol=None`` (every epoch trains), recording
  every sample's statistics in each training step, the last incomplete batch
  kept (issue 11).

An epoch's time runs from one ``on_epoch_begin`` to the next (to
``on_train_end`` for the last epoch of a training call), so it counts every
callback, including the validation forward of the automatic warm-up, which
skorch's own ``history[:, "dur"]`` leaves out (its ``EpochTimer`` stops the
clock before later callbacks run). The bare loop is timed per epoch with the
same clocks. Each figure is the median over all epochs of all repeats; the
contestants take turns within each repeat.

Both wall time and process CPU time are reported. On a quiet machine they
agree (times the number of threads busy); when other processes compete for the
cores, wall time inflates and scatters, while CPU time with ``--threads 1``
stays a fair measure of the work done. The ratios are per batch (per epoch at
equal training rows): the automatic warm-up trains 10% fewer rows per epoch.
Speed is never asserted: only ratios within one run mean anything.

Usage::

    python benchmarks/speed.py --out docs/speed.md

``--out`` rewrites only the text between ``<!-- speed:start -->`` and
``<!-- speed:end -->`` (appending it if the markers are absent); the output is
printed too. ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

# Run from a checkout: the repository root for sklearn_noisy (ahead of any
# installed copy), as the other benchmarks do.
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
from sklearn_noisy.losses import DMILoss  # noqa: E402

HIDDEN_UNITS = (256, 256)
BATCH_SIZE = 128
LR = 1e-3
DMI_LR = DMIClassifier().lr  # the L_DMI phase's default learning rate


def _now(device):
    """Return ``(wall, cpu)`` clock readings after the device has caught up."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter(), time.process_time()


class EpochClock(Callback):
    """Record the wall and CPU time of every epoch, tagged with its phase.

    An epoch runs from its ``on_epoch_begin`` to the next one; the last epoch
    of a training call ends at ``on_train_end``. DMIClassifier's two phases
    are two training calls (0: cross-entropy warm-up, 1: L_DMI).
    """

    def __init__(self):
        self.records = []

    def initialize(self):
        self._phase = -1
        self._start = None
        return self

    def _close(self, now):
        if self._start is not None:
            wall, cpu = (b - a for a, b in zip(self._start, now, strict=True))
            self.records.append((self._phase, wall, cpu))
            self._start = None

    def on_train_begin(self, net, **kwargs):
        self._phase += 1

    def on_epoch_begin(self, net, **kwargs):
        now = _now(torch.device(net.device))
        self._close(now)
        self._start = now

    def on_train_end(self, net, **kwargs):
        self._close(_now(torch.device(net.device)))


def make_data(n_samples, n_features, n_classes, seed):
    """Return float32 ``X`` and int64 ``y`` from ``make_classification``."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(n_features, 32),
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X.astype(np.float32), y.astype(np.int64)


def time_bare_loop(X, y, n_classes, epochs, device, seed, dmi_epochs=0):
    """Return ``[(wall, cpu), ...]`` per epoch of a plain PyTorch loop.

    ``epochs`` of cross-entropy, then ``dmi_epochs`` of ``DMILoss``.
    """
    torch.manual_seed(seed)
    X = torch.as_tensor(X, device=device)
    y = torch.as_tensor(y, device=device)
    model = MLP(X.shape[1], n_classes, hidden_units=HIDDEN_UNITS).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    n_batches = len(X) // BATCH_SIZE  # drop_last, like DMIClassifier
    generator = torch.Generator().manual_seed(seed)
    criterion = torch.nn.CrossEntropyLoss()
    times = []
    for epoch in range(epochs + dmi_epochs):
        if epoch == epochs:  # L_DMI, with DMIClassifier's default lr
            criterion = DMILoss()
            optimizer = torch.optim.Adam(model.parameters(), lr=DMI_LR)
        start = _now(device)
        order = torch.randperm(len(X), generator=generator).to(device)
        for b in range(n_batches):
            index = order[b * BATCH_SIZE : (b + 1) * BATCH_SIZE]
            optimizer.zero_grad()
            loss = criterion(model(X[index]), y[index])
            loss.backward()
            optimizer.step()
        end = _now(device)
        times.append((end[0] - start[0], end[1] - start[1]))
    return times


def time_skorch_default(X, y, n_classes, epochs, device, seed):
    """Return ``[(wall, cpu), ...]`` per epoch of a default NeuralNetClassifier."""
    torch.manual_seed(seed)
    clock = EpochClock()
    net = NeuralNetClassifier(
        MLP,
        module__n_features=X.shape[1],
        module__n_classes=n_classes,
        module__hidden_units=HIDDEN_UNITS,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=BATCH_SIZE,
        iterator_train__shuffle=True,
        iterator_train__drop_last=True,
        train_split=None,
        max_epochs=epochs,
        callbacks=[("clock", clock)],
        device=str(device),
        verbose=0,
    )
    net.fit(X, y)
    return [(wall, cpu) for _, wall, cpu in clock.records]


def _package_params(device, seed):
    """The settings both package estimators are timed with."""
    return dict(
        batch_size=BATCH_SIZE,
        module__hidden_units=HIDDEN_UNITS,
        # The bare loop's module has no dropout (the detector's default 0.3
        # is the network's cost, not the package's).
        module__dropout=0.0,
        device=str(device),
        callbacks=[("clock", EpochClock())],
        random_state=seed,
    )


def time_dmi(X, y, epochs, warmup_epochs, device, seed):
    """Fit DMIClassifier once.

    Returns ``({phase: [(wall, cpu), ...]}, fit wall time, epochs trained,
    training rows per epoch)``.
    """
    clf = DMIClassifier(
        max_epochs=epochs,
        warmup_epochs=warmup_epochs,
        warmup_lr=LR,
        **_package_params(device, seed),
    )
    start = time.perf_counter()
    clf.fit(X, y)
    wall = time.perf_counter() - start
    # DMIClassifier deep-copies its callbacks: read the copy the net used.
    clock = dict(clf.net_.callbacks_)["clock"]
    by_phase = {0: [], 1: []}
    for phase, epoch_wall, epoch_cpu in clock.records:
        by_phase[phase].append((epoch_wall, epoch_cpu))
    rows = clf.net_.history[-1, "train_batch_count"] * BATCH_SIZE
    return by_phase, wall, clf.n_epochs_, rows


def time_detector(X, y, epochs, device, seed):
    """Fit MislabelDetector once: ``([(wall, cpu), ...], fit wall, epochs, rows)``."""
    det = MislabelDetector(
        max_epochs=epochs,
        fit_tol=None,
        lr=LR,
        **_package_params(device, seed),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Synthetic data: the trust diagnostics are not what is measured.
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        det.fit(X, y)
    wall = time.perf_counter() - start
    clock = dict(det.net_.callbacks_)["clock"]
    times = [(epoch_wall, epoch_cpu) for _, epoch_wall, epoch_cpu in clock.records]
    return times, wall, det.n_epochs_, len(y)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time an epoch of DMIClassifier against a bare PyTorch loop."
    )
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=64)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument(
        "--epochs",
        type=int,
        default=6,
        help="epochs per fit; DMIClassifier's max_epochs and its fixed warm-up "
        "(default: 6)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="(default: 3)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads; default: leave torch's default (one per "
        "core). Use 1 on a machine shared with other jobs.",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="also write the output between the speed markers of this file "
        "(e.g. docs/speed.md)",
    )
    return parser.parse_args(argv)


def run(args):
    """Time every contestant; return ``{name: (rows, [(wall, cpu), ...])}``."""
    device = torch.device(args.device)
    X, y = make_data(args.n_samples, args.n_features, args.n_classes, args.seed)
    # One untimed epoch first: torch's first calls (thread pool, allocator,
    # kernel selection) would otherwise land on whichever contestant runs first.
    time_bare_loop(X, y, args.n_classes, 1, device, args.seed)

    full_rows = (args.n_samples // BATCH_SIZE) * BATCH_SIZE
    epochs = {"bare": [], "skorch": [], "detector": [], "bare 0": [], "bare 1": []}
    epochs.update({f"{w} {p}": [] for w in ("fixed", "auto") for p in (0, 1)})
    fits = {"fixed": [], "auto": [], "detector": []}
    rows = {"bare": full_rows, "skorch": full_rows, "bare_dmi": full_rows}
    order = ["bare", "bare_dmi", "skorch", "fixed", "auto", "detector"]
    for r in range(args.repeats):
        seed = args.seed + r
        # Take turns, rotating the order, so that a drift in the machine's load
        # does not always favour the same contestant.
        for name in order[r % len(order) :] + order[: r % len(order)]:
            if name == "bare":
                epochs[name] += time_bare_loop(
                    X, y, args.n_classes, args.epochs, device, seed
                )
            elif name == "bare_dmi":
                times = time_bare_loop(
                    X, y, args.n_classes, args.epochs, device, seed, args.epochs
                )
                epochs["bare 0"] += times[: args.epochs]
                epochs["bare 1"] += times[args.epochs :]
            elif name == "skorch":
                epochs[name] += time_skorch_default(
                    X, y, args.n_classes, args.epochs, device, seed
                )
            elif name == "detector":
                times, wall, n_epochs, rows[name] = time_detector(
                    X, y, args.epochs, device, seed
                )
                epochs[name] += times
                fits[name].append((wall, n_epochs))
            else:
                warmup = args.epochs if name == "fixed" else "auto"
                phases, wall, n_epochs, rows[name] = time_dmi(
                    X, y, args.epochs, warmup, device, seed
                )
                fits[name].append((wall, n_epochs))
                for phase, times in phases.items():
                    epochs[f"{name} {phase}"] += times
    return epochs, fits, rows


def _median(times, k):
    """Median of the ``k``-th clock (0: wall, 1: CPU) over ``times``.

    ``times`` is a list of ``(wall, cpu)`` epochs, or a list of such lists (the
    phases of one training): then the phase medians are averaged, weighted by
    their numbers of epochs, so that the result is the time of an average
    epoch of the whole training rather than the median of a two-humped sample.
    """
    if times and isinstance(times[0], list):
        n = sum(len(phase) for phase in times)
        return sum(len(p) * _median(p, k) for p in times if p) / n
    return statistics.median(t[k] for t in times) if times else float("nan")


def report(epochs, fits, rows):
    """Return the table and the ratios against the bare loop, as lines."""
    entries = [
        ("bare PyTorch loop", "bare", epochs["bare"]),
        ("bare loop, CE then L_DMI: CE", "bare_dmi", epochs["bare 0"]),
        ("bare loop, CE then L_DMI: L_DMI", "bare_dmi", epochs["bare 1"]),
        (
            "bare loop, CE then L_DMI: both",
            "bare_dmi",
            [epochs["bare 0"], epochs["bare 1"]],
        ),
        ("skorch NeuralNetClassifier, default", "skorch", epochs["skorch"]),
    ]
    for w in ("fixed", "auto"):
        ce, dmi = epochs[f"{w} 0"], epochs[f"{w} 1"]
        entries += [
            (f"DMIClassifier, {w} warm-up: CE", w, ce),
            (f"DMIClassifier, {w} warm-up: L_DMI", w, dmi),
            (f"DMIClassifier, {w} warm-up: both", w, [ce, dmi]),
        ]
    entries.append(("MislabelDetector (fit_tol=None)", "detector", epochs["detector"]))
    n_bare = rows["bare"] // BATCH_SIZE
    base = [_median(epochs["bare"], k) / n_bare for k in (0, 1)]
    out = [
        f"{'':38s} {'rows':>6s} {'epochs':>6s} {'wall s':>7s} {'cpu s':>7s} "
        f"{'x bare':>7s} {'x bare':>7s}",
        f"{'':38s} {'':>6s} {'':>6s} {'/epoch':>7s} {'/epoch':>7s} "
        f"{'wall':>7s} {'cpu':>7s}",
    ]
    ratios = {}
    for label, key, times in entries:
        wall, cpu = (_median(times, k) for k in (0, 1))
        n_epochs = sum(map(len, times)) if isinstance(times[0], list) else len(times)
        n_batches = -(-rows[key] // BATCH_SIZE)
        ratios[label] = [
            t / n_batches / b for t, b in zip((wall, cpu), base, strict=True)
        ]
        out.append(
            f"{label:38s} {rows[key]:6d} {n_epochs:6d} {wall:7.3f} {cpu:7.3f} "
            f"{ratios[label][0]:6.2f}x {ratios[label][1]:6.2f}x"
        )
    out.append("")
    bare_epoch = _median(epochs["bare"], 0)
    bare_batch = bare_epoch / n_bare
    for w, label in [
        ("fixed", "DMIClassifier (fixed warm-up)"),
        ("auto", "DMIClassifier (auto warm-up)"),
        ("detector", "MislabelDetector"),
    ]:
        wall = statistics.median(f[0] for f in fits[w])
        n_epochs = statistics.median(f[1] for f in fits[w])
        per_batch = wall / (n_epochs * (-(-rows[w] // BATCH_SIZE)))
        out.append(
            f"{label}, whole fit: {wall:.2f} s wall for {n_epochs:g} epochs "
            f"({wall / n_epochs:.3f} s per epoch, {per_batch / bare_batch:.2f}x "
            f"the bare loop's per batch)"
        )
    out.append("")
    for label, name in [
        ("skorch NeuralNetClassifier, default", "skorch default"),
        ("DMIClassifier, fixed warm-up: both", "DMIClassifier"),
        ("DMIClassifier, auto warm-up: both", "DMIClassifier (auto warm-up)"),
        ("MislabelDetector (fit_tol=None)", "MislabelDetector"),
    ]:
        wall, cpu = ratios[label]
        out.append(f"{name} / bare loop: {wall:.2f}x wall, {cpu:.2f}x cpu per epoch")
    # The package's own overhead: each phase against the bare loop running the
    # same loss, per batch; "both" weights the bare loop's phases by this
    # training's own numbers of CE and L_DMI epochs.
    out.append("")
    bare_ce = ratios["bare loop, CE then L_DMI: CE"][0]
    bare_dmi = ratios["bare loop, CE then L_DMI: L_DMI"][0]
    for w, label in [("fixed", "fixed warm-up"), ("auto", "auto warm-up")]:
        ce = ratios[f"DMIClassifier, {label}: CE"][0]
        dmi = ratios[f"DMIClassifier, {label}: L_DMI"][0]
        n_ce, n_dmi = len(epochs[f"{w} 0"]), len(epochs[f"{w} 1"])
        both = (n_ce * ce + n_dmi * dmi) / (n_ce * bare_ce + n_dmi * bare_dmi)
        out.append(
            f"DMIClassifier ({label}) / bare loop with the same losses: "
            f"CE {ce / bare_ce:.2f}x, L_DMI {dmi / bare_dmi:.2f}x, "
            f"both {both:.2f}x wall per batch"
        )
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # The estimators pick their own torch threads (one by default): make them
    # train on the bare loop's, so that the ratios compare equal resources.
    os.environ["SKLEARN_NOISY_NUM_THREADS"] = str(args.threads or 0)
    command = command_line(__file__, argv)
    out = [
        f"{args.n_samples} x {args.n_features}, {args.n_classes} classes, MLP "
        f"{HIDDEN_UNITS}, batch {BATCH_SIZE}, Adam; {args.epochs} epochs x "
        f"{args.repeats} repeats; device={args.device}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs "
        f"({platform.machine()}); load average {os.getloadavg()[0]:.2f} at start",
    ]
    print(out[0], flush=True)
    epochs, fits, rows = run(args)
    out += [f"load average {os.getloadavg()[0]:.2f} at end", ""]
    out += report(epochs, fits, rows)
    print("\n".join(out[1:]))
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *out, "```"])
        write_marked_section(args.out, "speed", body, heading="# Speed")


if __name__ == "__main__":
    main()
