"""Data and settings shared by the two-process test and its worker script."""

import numpy as np
from sklearn.datasets import load_digits

# No dropout: each process draws the dropout masks of its own share, so with
# dropout two processes train as a single one only up to that randomness.
DETECTOR_PARAMS = {
    "module__dropout": 0.0,
    "max_epochs": 4,
    "fit_tol": None,
    "batch_size": 64,
    "module__hidden_units": (32,),
    "record_trajectory": True,
    "random_state": 0,
}
DMI_PARAMS = {
    "max_epochs": 2,
    "batch_size": 64,
    "module__hidden_units": (32,),
    "random_state": 0,
}


def make_data():
    """Digits / 16 with 15% of the labels shifted by one (1,797 rows)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    flip = rng.rand(len(y)) < 0.15
    return (X / 16).astype(np.float32), np.where(flip, (y + 1) % 10, y)
