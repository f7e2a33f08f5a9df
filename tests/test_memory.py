"""Fitted estimators hold their learned state, not their training data."""

import pickle

import numpy as np
import pytest

from sklearn_noisy import DMIClassifier, MislabelDetector
from sklearn_noisy.utils._rows import TrainingRowIndex


def _data(n_samples, n_features, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.randn(n_samples) > 0).astype(int)
    return X, y


def _size_without_module(estimator):
    """Pickled bytes of a fitted estimator, less its network's weights."""
    module_bytes = sum(
        p.numel() * p.element_size() for p in estimator.net_.module_.parameters()
    )
    return len(pickle.dumps(estimator)) - module_bytes


@pytest.mark.parametrize(
    "make",
    [
        lambda: MislabelDetector(max_epochs=2, random_state=0),
        lambda: DMIClassifier(max_epochs=2, random_state=0),
    ],
    ids=["MislabelDetector", "DMIClassifier"],
)
def test_pickled_estimator_size_is_independent_of_data_width(make):
    """Check that no copy of X travels with a fitted estimator."""
    narrow = make().fit(*_data(600, 4))
    wide = make().fit(*_data(600, 400))
    # The weights of the first layer grow with the width; nothing else may
    # (600 x 400 float32 values would add 960 kB). Adam's two moment buffers
    # per weight grow with it too, in the optimizer's state, and so do the
    # standardizer's per-feature mean and scale (float64).
    extra = 2 * 256 * (400 - 4) * 4 + 2 * 8 * (400 - 4)
    assert abs(_size_without_module(wide) - _size_without_module(narrow)) <= (
        extra + 8192
    )


def test_detector_drops_recording_sums_after_fit():
    """Check that the recorder's device-side sums are not kept by the detector."""
    det = MislabelDetector(max_epochs=2, random_state=0).fit(*_data(300, 5))
    assert dict(det.net_.callbacks_)["sei"].accumulator_ is None


def test_training_row_index_costs_24_bytes_per_distinct_row():
    """Check the documented cost of score_samples' row index."""
    X, _ = _data(1000, 30)
    X = np.vstack([X, X[:100]])  # 100 duplicates share one entry
    index = TrainingRowIndex(X, np.arange(len(X), dtype=float))
    assert index.nbytes == 24 * 1000
    found = index.lookup(X[[5, 1005, 999]])
    np.testing.assert_allclose(index.values[found], [(5 + 1005) / 2] * 2 + [999])
    assert index.lookup(X[:1] + 1)[0] == -1


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_fitted_net_drops_training_sample_weight(estimator):
    """Check that a fitted net keeps no copy of the training sample weights."""
    X, y = _data(300, 5)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    model = estimator(max_epochs=2, random_state=0).fit(X, y, sample_weight=weight)
    assert model.net_.iterator_train__sample_weight is None
    assert model.net_.get_params()["iterator_train__sample_weight"] is None
    assert model.net_.predict_proba(X).shape == (len(y), 2)
