"""Tests for the input standardisation shared by the estimators."""

import re
import warnings

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


def test_dmi_classifier_pixels_reach_the_network_as_unit_interval(small):
    """Check that 0-16 pixels are divided by 16 together, not standardised each.

    Standardising each pixel gives rare pixels the weight of busy ones and
    cost DMI 4 to 13 points on flattened images (issue 8); pixels sharing one
    range are mapped to [0, 1] instead, as the network reads X / 16.
    """
    X, y = small
    pixels = np.round(X * 16)
    clf = DMIClassifier(**FAST).fit(pixels, y)
    np.testing.assert_array_equal(clf.input_scale_, 16.0)
    np.testing.assert_array_equal(clf.input_mean_, 0.0)
    unscaled = DMIClassifier(standardize=False, **FAST).fit(pixels / 16, y)
    np.testing.assert_allclose(
        clf.predict_proba(pixels), unscaled.predict_proba(pixels / 16), atol=1e-5
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


def test_input_standardizer_weights_equal_repeated_rows():
    """Check that integer weights give the statistics of the repeated rows."""
    rng = np.random.RandomState(0)
    X = rng.normal(3, 2, size=(40, 3, 2, 2))
    weight = rng.randint(0, 4, size=40)
    for mode in ("features", "global"):
        weighted = InputStandardizer.fit(X, mode, sample_weight=weight)
        repeated = InputStandardizer.fit(np.repeat(X, weight, axis=0), mode)
        np.testing.assert_allclose(weighted.mean, repeated.mean, rtol=1e-12)
        np.testing.assert_allclose(weighted.scale, repeated.scale, rtol=1e-12)


@pytest.mark.parametrize("scale", [1e-30, 1e30, 1e200])
def test_input_standardizer_extreme_scales_are_not_constant(scale):
    """Check that tiny and huge features are standardised, not called constant.

    The square of 1e200 overflows float64 and the variance of 1e-30 is below
    any absolute tolerance; statistics are taken on values divided by each
    feature's largest magnitude.
    """
    X = np.random.RandomState(0).normal(1, 1, size=(100, 3)) * scale
    assert InputStandardizer.fit(X).constant_features.tolist() == []
    std = InputStandardizer.fit(X, "features")
    assert std.constant_features.tolist() == []
    Z = std.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-5)


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_dmi_classifier_bad_scales_predict_as_scaled(small, scale):
    """Check that X * 1e30 and X * 1e-30 train as X does (standardize=True).

    Unstandardised, X * 1e30 trained to chance (L_DMI stuck at -log(eps),
    issue 8).
    """
    X, y = small
    reference = DMIClassifier(**FAST).fit(X, y).predict_proba(X)
    clf = DMIClassifier(**FAST).fit(X * scale, y)
    np.testing.assert_allclose(clf.predict_proba(X * scale), reference, atol=1e-3)


def _warning_messages(fit):
    """Run ``fit()`` and return the messages of the warnings it raised.

    A model that cannot learn also warns about its training (no association
    with the labels, stuck L_DMI batches), so several warnings are expected.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_dmi_classifier_huge_unstandardised_values_warn(small):
    """Check that standardize=False with values of 1e30 warns with the fix."""
    X, y = small
    clf = DMIClassifier(standardize=False, **{**FAST, "max_epochs": 1})
    messages = _warning_messages(lambda: clf.fit(X * 1e30, y))
    assert any(
        re.search(r"up to \|x\| = 1e\+30.*Set standardize=True", m) for m in messages
    )


@pytest.mark.parametrize("standardize", [True, False])
def test_dmi_classifier_all_constant_features_warn(small, standardize):
    """Check that X without any varying feature warns that nothing is learnt."""
    _, y = small
    X = np.full((len(y), 4), 3.0)
    clf = DMIClassifier(standardize=standardize, **FAST)
    messages = _warning_messages(lambda: clf.fit(X, y))
    assert any(
        "All 4 features of X are constant over its 300 rows" in m for m in messages
    )


def test_dmi_classifier_some_constant_features_pass_silently(small):
    """Check that constant features among varying ones (image borders) are fine.

    Flattened digits have 3 pixels that are 0 in all 300 rows.
    """
    X, y = small
    assert (X.std(axis=0) == 0).sum() > 0
    DMIClassifier(**FAST).fit(X, y)  # warnings are errors in the test run


def test_input_standardizer_auto_z_scores_signed_continuous_features():
    """Check that "auto" z-scores signed, continuous features on one scale.

    ``make_classification`` columns have similar ranges, but one global map to
    [0, 1] leaves them a spread of about 0.05 around 0.5, on which the default
    network does not learn; non-negative pixels keep the global map.
    """
    from sklearn.datasets import make_classification

    X, _ = make_classification(n_samples=500, n_features=50, random_state=0)
    assert InputStandardizer.fit(X).mode == "features"
    # Non-negative but squashed by one outlier: a global map would leave
    # almost no spread, so "auto" z-scores these too.
    counts = np.random.RandomState(0).poisson(1.0, size=(500, 20)).astype(float)
    counts[0, 0] = 500
    assert InputStandardizer.fit(counts).mode == "features"
    pixels = np.random.RandomState(0).randint(0, 256, size=(100, 64))
    assert InputStandardizer.fit(pixels).mode == "global"


@pytest.mark.filterwarnings(UNTRUSTED)
def test_mislabel_detector_learns_many_classes_of_signed_features():
    """Check that the default detector fits a 20-class ``make_classification``
    problem (it stayed at chance when such features were mapped to [0, 1])."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=1000,
        n_features=100,
        n_informative=30,
        n_redundant=0,
        n_classes=20,
        n_clusters_per_class=1,
        random_state=0,
    )
    det = MislabelDetector(max_epochs=8, random_state=0).fit(X, y)
    assert det.fit_accuracy_ > 0.3  # 0.08 with the global map
