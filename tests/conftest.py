"""Shared fixtures and the skipping of GPU tests on machines without CUDA."""

import contextlib
import os
from unittest import mock

import pytest
import torch
from sklearn.datasets import load_digits


def pytest_configure(config):
    """Run torch on one intra-op thread unless OMP_NUM_THREADS says otherwise.

    The test networks are tiny; on a busy 2-core runner OpenMP's spin-waiting
    threads made a default DMIClassifier fit on digits 10x slower (3.4 s with
    one thread against 35 s with two, measured under a load average of 5).
    """
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when CUDA is not available."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def digits():
    """Return load_digits as float ``X / 16`` in [0, 1] and integer ``y``."""
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@contextlib.contextmanager
def kept_accumulators():
    """Collect the accumulator of every SEIRecorder that ends training.

    The detector drops its recorder's sums once it has read them (a fitted
    model holds results, not recording state); tests of the recording itself
    read them here instead.
    """
    from sklearn_noisy.callbacks import SEIRecorder

    kept = []
    original = SEIRecorder.on_train_end

    def on_train_end(self, net, **kwargs):
        original(self, net, **kwargs)
        kept.append(self.accumulator_)

    with mock.patch.object(SEIRecorder, "on_train_end", on_train_end):
        yield kept
