"""Tests for the weighted and forward-corrected cross-entropy of _core.losses."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_noisy._core.losses import (
    ForwardCorrectedLoss,
    WeightedCrossEntropyLoss,
    forward_corrected_cross_entropy,
    weighted_cross_entropy,
)


def _batch(seed, n_samples=20, n_classes=3):
    rng = np.random.default_rng(seed)
    logits = torch.tensor(rng.standard_normal((n_samples, n_classes)))
    target = torch.tensor(rng.integers(n_classes, size=n_samples))
    return logits, target


def _reference_forward(logits, target, T):
    """-log((T^T softmax(logits))[target]), row by row in float64."""
    out = []
    for row, label in zip(logits.numpy(), target.numpy(), strict=True):
        p = np.exp(row - row.max())
        p /= p.sum()
        out.append(-np.log(p @ T[:, label]))
    return np.array(out)


def test_weighted_cross_entropy_without_weights_is_torch_cross_entropy():
    """Check that no weights give exactly torch's cross-entropy."""
    logits, target = _batch(0)
    assert torch.equal(
        WeightedCrossEntropyLoss()(logits, target), F.cross_entropy(logits, target)
    )


@pytest.mark.parametrize("seed", range(3))
def test_weighted_cross_entropy_integer_weights_equal_repeated_rows(seed):
    """Check that a weight of k counts a sample k times in the mean."""
    logits, target = _batch(seed)
    weight = torch.as_tensor(np.random.default_rng(seed).integers(0, 4, size=20))
    repeated = torch.repeat_interleave(torch.arange(20), weight)
    np.testing.assert_allclose(
        float(weighted_cross_entropy(logits, target, weight.double())),
        float(F.cross_entropy(logits[repeated], target[repeated])),
        rtol=1e-12,
    )


def test_weighted_cross_entropy_all_zero_weights_is_zero():
    """Check that a batch of zero weights gives a zero loss, not NaN."""
    logits, target = _batch(0)
    logits.requires_grad_(True)
    loss = weighted_cross_entropy(logits, target, torch.zeros(20))
    loss.backward()
    assert float(loss.detach()) == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("seed", range(3))
def test_forward_corrected_cross_entropy_matches_reference(seed):
    """Check the forward-corrected loss against a row-by-row reference."""
    logits, target = _batch(seed)
    T = np.random.default_rng(seed).dirichlet(np.ones(3), size=3)
    weight = np.random.default_rng(seed + 1).uniform(0.5, 2.0, size=20)
    expected = _reference_forward(logits, target, T)
    loss = ForwardCorrectedLoss(T)
    assert float(loss(logits, target)) == pytest.approx(expected.mean(), rel=1e-6)
    weighted = float(loss(logits, target, torch.as_tensor(weight)))
    assert weighted == pytest.approx(np.average(expected, weights=weight), rel=1e-6)


def test_forward_corrected_cross_entropy_identity_is_cross_entropy():
    """Check that the identity matrix gives the plain cross-entropy."""
    logits, target = _batch(0)
    corrected = forward_corrected_cross_entropy(logits, target, torch.eye(3))
    assert float(corrected) == pytest.approx(float(F.cross_entropy(logits, target)))


def test_forward_corrected_cross_entropy_zero_column_stays_finite():
    """Check that a label the matrix calls impossible gives a finite loss."""
    logits, target = _batch(0, n_classes=2)
    logits.requires_grad_(True)
    loss = forward_corrected_cross_entropy(
        logits, target, torch.tensor([[1.0, 0], [1, 0]])
    )
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    "matrix, match",
    [
        (np.eye(2), r"must have shape \(3, 3\)"),
        (np.ones((2, 3)) / 3, "square transition_matrix"),
    ],
)
def test_forward_corrected_loss_bad_matrix_raises(matrix, match):
    """Check that a matrix of the wrong shape is refused with its shape."""
    logits, target = _batch(0)
    with pytest.raises(ValueError, match=match):
        ForwardCorrectedLoss(matrix)(logits, target)
