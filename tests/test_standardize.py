"""Tests for the input standardisation shared by the estimators."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_noisy import DMIClassifier, MislabelDetector
from sklearn_noisy.utils._data import InputStandardizer, to_tensor_2d_or_nd

FAST = dict(max_epochs=4, batch_size=32, module__hidden_units=(32,), random_state=0)
UNTRUSTED = "ignore::sklearn_noisy._mislabel_detector.UntrustedRankingWarning"


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:300], y[:300]


def _raw(X):
    """The same features on wildly different scales and offsets."""
    rng = np.random.RandomState(0)
    scale = 10.0 ** rng.uniform(-3, 6, X.shape[1])
    offset = rng.uniform(-1e4, 1e4, X.shape[1])
    return X * scale + offset


def test_input_standardizer_matches_numpy_per_feature():
    """Check that 2-D data are standardised per feature, as numpy computes it."""
    X = np.random.RandomState(0).normal(5, 3, size=(1000, 4)) * [1, 10, 100, 1e5]
    std = InputStandardizer.fit(X)
    assert std.mode == "features"  # ranges 1e5 apart: "auto" picks features
    np.testing.assert_allclose(std.mean, X.mean(axis=0))
    np.testing.assert_allclose(std.scale, X.std(axis=0))
    Z = std.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-5)


def test_input_standardizer_pixels_map_to_unit_interval():
    """Check that 0-255 pixels (one common scale) become exactly X / 255."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(50, 3, 8, 8)).astype(np.uint8)
    X[0, 0, 0, 0], X[0, 1, 0, 0] = 0, 255
    std = InputStandardizer.fit(X)
    assert std.mode == "global"
    np.testing.assert_allclose(std.transform(X), X / 255.0, rtol=1e-6)
    flat = InputStandardizer.fit(X.reshape(50, -1).astype(float))
    assert flat.mode == "global"


def test_input_standardizer_images_per_channel():
    """Check that "features" standardises (n, C, H, W) images per channel."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(50, 3, 8, 8)).astype(np.uint8)
    std = InputStandardizer.fit(X, "features")
    assert std.mean.shape == (3,)
    np.testing.assert_allclose(std.mean, X.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(std.scale, X.std(axis=(0, 2, 3)))
    np.testing.assert_allclose(std.transform(X).mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_input_standardizer_chunks_give_the_same_statistics(monkeypatch):
    """Check that statistics computed in row chunks equal the one-pass ones."""
    from sklearn_noisy.utils import _data

    X = np.random.RandomState(0).normal(1e6, 2.0, size=(257, 3))
    whole = InputStandardizer.fit(X, "features")
    monkeypatch.setattr(_data, "_CHUNK_VALUES", 10)
    chunked = InputStandardizer.fit(X, "features")
    np.testing.assert_allclose(chunked.mean, whole.mean)
    np.testing.assert_allclose(chunked.scale, whole.scale)
    np.testing.assert_allclose(chunked.transform(X), whole.transform(X), atol=1e-6)


def test_input_standardizer_constant_feature_keeps_scale_one():
    """Check that a constant feature is centred but not divided by zero."""
    X = np.c_[np.full(20, 7.0), np.arange(20.0)]
    std = InputStandardizer.fit(X, "features")
    assert std.scale[0] == 1.0
    assert std.constant_features.tolist() == [0]
    np.testing.assert_array_equal(std.transform(X)[:, 0], 0.0)


def test_input_standardizer_sparse_is_left_alone():
    """Check that sparse data get no standardizer (centring would densify)."""
    assert InputStandardizer.fit(sp.random(10, 5, density=0.3, format="csr")) is None


def test_to_tensor_does_not_modify_input():
    """Check that standardising converts a copy and leaves X untouched."""
    X = np.arange(12.0).reshape(4, 3)
    before = X.copy()
    to_tensor_2d_or_nd(X, standardizer=InputStandardizer.fit(X))
    np.testing.assert_array_equal(X, before)


@pytest.mark.filterwarnings(UNTRUSTED)  # 4 epochs on 300 rows: underfit
def test_detector_raw_table_scores_as_standard_scaled(small):
    """Check that raw columns in their own units score as z-scored ones.

    "auto" sees ranges 1e9 apart and z-scores every column, whatever its
    unit and offset, as ``standardize="features"`` does on the scaled data.
    """
    X, y = small
    scaled = MislabelDetector(standardize="features", **FAST).fit(X, y)
    raw = MislabelDetector(**FAST).fit(_raw(X), y)
    assert raw.input_mean_.shape == (X.shape[1],)
    np.testing.assert_allclose(raw.train_scores_, scaled.train_scores_, atol=1e-3)


@pytest.mark.filterwarnings(UNTRUSTED)
def test_detector_raw_pixels_score_as_unit_interval(small):
    """Check that 0-255 pixels score as pixels scaled to [0, 1]."""
    X, y = small
    pixels = np.round(X * 255)
    scaled = MislabelDetector(**FAST).fit(pixels / 255, y)
    raw = MislabelDetector(**FAST).fit(pixels, y)
    np.testing.assert_allclose(raw.train_scores_, scaled.train_scores_, atol=1e-4)


def test_dmi_classifier_raw_features_predict_as_scaled(small):
    """Check that DMIClassifier reads raw columns as z-scored ones."""
    X, y = small
    scaled = DMIClassifier(standardize="features", **FAST).fit(X, y)
    raw = DMIClassifier(**FAST).fit(_raw(X), y)
    np.testing.assert_allclose(
        raw.predict_proba(_raw(X)), scaled.predict_proba(X), atol=1e-3
    )


@pytest.mark.filterwarnings(UNTRUSTED)
def test_standardize_false_keeps_inputs_as_given(small):
    """Check that standardize=False keeps no statistics and trains on X as is."""
    X, y = small
    det = MislabelDetector(standardize=False, **FAST).fit(X, y)
    assert det.input_mean_ is None and det.input_scale_ is None


def test_beyond_float32_range_is_standardised_or_refused(small):
    """Check that finite values beyond float32 train when standardised, else fail.

    float32 holds values up to 3.4e38; 1e39 would become inf in the network.
    """
    X, y = small
    big = X * 1e39 + 1e39
    clf = DMIClassifier(**FAST).fit(big, y)
    assert np.isfinite(clf.predict_proba(big)).all()
    with pytest.raises(ValueError, match="beyond float32's range"):
        DMIClassifier(standardize=False, **FAST).fit(big, y)
