"""Errors that name the parameter, for inputs a user sweep of the API found.

Each of these reached the user as a torch, numpy or pandas traceback, or as a
silent wrong result, before it was caught here.
"""

import numpy as np
import pytest
import torch
from test_stream import PairDataset

from sklearn_noisy import DMIClassifier, MislabelDetector
from sklearn_noisy._core.modules import MLP

ESTIMATORS = [DMIClassifier, MislabelDetector]


@pytest.fixture(scope="module")
def blobs():
    """Return 120 rows of 3 features and two alternating classes."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 3)), np.arange(120) % 2


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "device, message",
    [
        ("gpu", "device='gpu' is not a torch device"),
        ("mps", "device='mps', but this torch finds no Apple MPS device"),
    ],
)
def test_estimators_refuse_an_unusable_device(blobs, Estimator, device, message):
    """Check that a device torch cannot use is refused, naming the parameter."""
    X, y = blobs
    with pytest.raises(ValueError, match=message):
        Estimator(device=device, max_epochs=1).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has CUDA")
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda")])
def test_estimators_refuse_cuda_without_a_gpu(blobs, Estimator, device):
    """Check that device="cuda" without CUDA says so instead of asserting."""
    X, y = blobs
    with pytest.raises(ValueError, match=r"finds no CUDA GPU .*device='cpu'"):
        Estimator(device=device, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("units, widths", [(8, [8]), (np.int64(8), [8]), ((), [])])
def test_mlp_takes_an_int_as_one_hidden_layer(units, widths):
    """Check that hidden_units=8 builds one hidden layer, as scikit-learn's MLP."""
    module = MLP(n_features=3, n_classes=2, hidden_units=units)
    linear = [layer for layer in module.layers if isinstance(layer, torch.nn.Linear)]
    assert [layer.out_features for layer in linear[:-1]] == widths
    assert module(torch.zeros(4, 3)).shape == (4, 2)


@pytest.mark.parametrize("units", [0, -1, (8, 0), 2.5, "8", None, True, (8, 2.0)])
def test_mlp_refuses_bad_hidden_units(units):
    """Check that widths that are not positive ints name module__hidden_units."""
    with pytest.raises(ValueError, match="module__hidden_units must be a positive"):
        MLP(n_features=3, n_classes=2, hidden_units=units)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_estimators_refuse_bad_hidden_units_at_fit(blobs, Estimator):
    """Check that the estimators pass the module's message on unchanged."""
    X, y = blobs
    with pytest.raises(ValueError, match="got 0"):
        Estimator(module__hidden_units=0, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_estimators_refuse_non_finite_dataset_items(blobs, Estimator, value):
    """Check that a streamed NaN is refused by item, before any training.

    It used to train the whole warm-up on NaN and fail with "cannot convert
    float NaN to integer" (DMIClassifier), or report a diverged training.
    """
    X, y = blobs
    X = X.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match="NaN or infinity: the x of item 7"):
        Estimator(max_epochs=1).fit(PairDataset(X, y), None)


def test_dmi_classifier_refuses_non_finite_dataset_items_at_predict(blobs):
    """Check that predicting a streamed NaN raises instead of NaN probabilities."""
    X, y = blobs
    clf = DMIClassifier(max_epochs=1, random_state=0).fit(PairDataset(X, y), None)
    X = X.copy()
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity: the x of item 3"):
        clf.predict_proba(PairDataset(X, y))


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_dmi_classifier_refuses_rows_overflowing_once_standardised(blobs, method):
    """Check that rows far beyond the training scale raise, not NaN scores.

    ``X * 1e39`` is finite in float64; standardised with the training mean
    and scale it overflows float32, which gave NaN probabilities and a class.
    """
    X, y = blobs
    clf = DMIClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"overflow float32 once standardised.*2 row"):
        getattr(clf, method)(np.r_[X[:3], X[:2] * 1e39])


@pytest.mark.parametrize(
    "contamination, message",
    [
        (
            121,
            r"contamination=121 asks MislabelDetector to flag more rows than the 120",
        ),
        (True, "'contamination' parameter of MislabelDetector must be a rule name"),
    ],
)
def test_mislabel_detector_refuses_impossible_counts(blobs, contamination, message):
    """Check that more rows than fitted, or a bool, are refused before training."""
    X, y = blobs
    with pytest.raises(ValueError, match=message):
        MislabelDetector(contamination=contamination, max_epochs=1).fit(X, y)


def test_mislabel_detector_flags_every_row_when_asked(blobs):
    """Check that contamination=n_samples stays allowed and flags all rows."""
    X, y = blobs
    detector = MislabelDetector(contamination=len(y), max_epochs=1, random_state=0)
    assert (detector.fit_predict(X, y) == -1).all()
