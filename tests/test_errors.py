"""Errors that name the parameter, for inputs a user sweep of the API found.

Each of these reached the user as a torch, numpy or pandas traceback, or as a
silent wrong result, before it was caught here.
"""

import numpy as np
import pytest
import torch

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
