"""Tests for the signed entropy and the per-sample accumulator of _core.sei."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_noisy import MislabelDetector
from sklearn_noisy._core.sei import (
    STATISTICS,
    DynamicsAccumulator,
    batch_statistics,
    signed_entropy,
)

# database=None: keep hypothesis from writing .hypothesis/ into the checkout.
HYPOTHESIS_SETTINGS = settings(max_examples=50, deadline=None, database=None)
# Every example of the recorder property trains a (tiny) network.
RECORDER_SETTINGS = settings(max_examples=25, deadline=None, database=None)


def _reference_row(logits, label):
    """Slow statistics of one row: (signed entropy, margin, CE, p_label)."""
    z = np.asarray(logits, dtype=np.float64)
    log_norm = z.max() + np.log(np.sum(np.exp(z - z.max())))
    log_p = z - log_norm
    p = np.exp(log_p)
    entropy = -sum(p_k * lp_k for p_k, lp_k in zip(p, log_p, strict=True))
    others = [k for k in range(len(z)) if k != label]
    sign = 1.0 if p[label] >= max(p[k] for k in others) else -1.0
    margin = z[label] - max(z[k] for k in others)
    return sign * entropy, margin, -log_p[label], p[label]


def _reference_statistics(logits, target):
    """Row-by-row NumPy reference of batch_statistics, in float64."""
    return np.array([_reference_row(z, y) for z, y in zip(logits, target, strict=True)])


def _reference_softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _batch(seed, n_samples, n_classes, scale=3.0):
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((n_samples, n_classes))
    target = rng.integers(n_classes, size=n_samples)
    return logits, target


# signed_entropy and batch_statistics against the NumPy reference -----------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_samples, n_classes", [(1, 2), (16, 2), (64, 10)])
def test_batch_statistics_matches_reference(seed, n_samples, n_classes):
    """Check that batch_statistics equals the row-by-row reference (float64)."""
    logits, target = _batch(seed, n_samples, n_classes)
    stats = batch_statistics(torch.tensor(logits), torch.tensor(target))
    assert stats.shape == (n_samples, len(STATISTICS))
    assert stats.dtype == torch.float64
    np.testing.assert_allclose(
        stats.numpy(), _reference_statistics(logits, target), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("seed", range(3))
def test_signed_entropy_matches_reference_in_float32(seed):
    """Check that signed_entropy of float32 logits matches the reference."""
    logits, target = _batch(seed, 32, 5)
    s = signed_entropy(torch.tensor(logits, dtype=torch.float32), torch.tensor(target))
    assert s.dtype == torch.float32
    expected = _reference_statistics(logits.astype(np.float32), target)[:, 0]
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_signed_entropy_promotes_half_precision():
    """Check that float16 logits are computed in float32, not in float16."""
    logits, target = _batch(0, 8, 4, scale=1.0)
    half = torch.tensor(logits, dtype=torch.float16)
    s = signed_entropy(half, torch.tensor(target))
    assert s.dtype == torch.float32
    expected = _reference_statistics(half.double().numpy(), target)[:, 0]
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "logits, label, expected_sign",
    [
        ([1.0, 1.0, 0.0], 0, 1.0),  # tied with the best other: agreement
        ([1.0, 1.0, 0.0], 1, 1.0),
        ([1.0, 1.0, 0.0], 2, -1.0),
        ([0.0, 0.0, 0.0, 0.0], 3, 1.0),  # uniform: every label ties
        ([2.0, 2.0], 0, 1.0),
    ],
)
def test_signed_entropy_counts_ties_as_agreement(logits, label, expected_sign):
    """Check that a tie between p_y and the best other class gives sign +1."""
    stats = batch_statistics(torch.tensor([logits]), torch.tensor([label]))
    reference = _reference_statistics([logits], [label])
    np.testing.assert_allclose(stats.numpy(), reference, rtol=1e-6, atol=1e-7)
    entropy = -np.sum(
        _reference_softmax([logits]) * np.log(_reference_softmax([logits]))
    )
    assert float(stats[0, 0]) == pytest.approx(expected_sign * entropy, rel=1e-6)


def test_signed_entropy_of_uniform_prediction_is_log_n_classes():
    """Check that a uniform prediction has signed entropy +log(n_classes)."""
    s = signed_entropy(torch.zeros(3, 10), torch.tensor([0, 4, 9]))
    np.testing.assert_allclose(s.numpy(), np.log(10), rtol=1e-6)


@HYPOTHESIS_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_samples=st.integers(1, 20),
    n_classes=st.integers(2, 8),
    scale=st.floats(0.01, 30.0),
)
def test_signed_entropy_is_bounded_and_signed_by_agreement(
    seed, n_samples, n_classes, scale
):
    """Check that |s| <= log K and s < 0 only where another class wins."""
    logits, target = _batch(seed, n_samples, n_classes, scale)
    s = signed_entropy(torch.tensor(logits), torch.tensor(target)).numpy()
    np.testing.assert_allclose(
        s, _reference_statistics(logits, target)[:, 0], rtol=1e-9, atol=1e-12
    )
    assert np.all(np.abs(s) <= np.log(n_classes) + 1e-9)
    others = np.where(np.eye(n_classes, dtype=bool)[target], -np.inf, logits)
    disagree = others.max(axis=1) > logits[np.arange(n_samples), target]
    assert np.all(s[~disagree] >= 0)
    assert np.all(s[disagree] <= 0)


def test_batch_statistics_keeps_no_gradient():
    """Check that the statistics are detached from the autograd graph."""
    logits = torch.randn(4, 3, requires_grad=True)
    stats = batch_statistics(logits, torch.tensor([0, 1, 2, 0]))
    assert not stats.requires_grad


# DynamicsAccumulator against a NumPy reference -------------------------------


def _epochs_of_batches(seed, n_samples, n_classes, n_epochs):
    """Batches with rows missing from some epochs and rows repeated over epochs.

    Within one epoch each row appears at most once (as in training); rows
    ``n_samples - 2`` and ``n_samples - 1`` are never recorded at all.
    """
    rng = np.random.default_rng(seed)
    recordable = n_samples - 2
    epochs = []
    for _ in range(n_epochs):
        rows = rng.permutation(recordable)[: rng.integers(1, recordable + 1)]
        cuts = (
            np.sort(
                rng.choice(
                    np.arange(1, len(rows)), size=min(2, len(rows) - 1), replace=False
                )
            )
            if len(rows) > 1
            else []
        )
        batches = []
        for index in np.split(rows, cuts):
            logits = 3 * rng.standard_normal((len(index), n_classes))
            target = rng.integers(n_classes, size=len(index))
            batches.append((index, logits, target))
        epochs.append(batches)
    return epochs


def _reference_accumulation(epochs, n_samples, n_classes):
    sums = np.zeros((n_samples, len(STATISTICS)))
    proba = np.zeros((n_samples, n_classes))
    counts = np.zeros(n_samples, dtype=np.int64)
    trajectory = np.full((n_samples, len(epochs)), np.nan)
    for t, batches in enumerate(epochs):
        for index, logits, target in batches:
            stats = _reference_statistics(logits, target)
            p = _reference_softmax(logits)
            for row, i in enumerate(index):
                sums[i] += stats[row]
                proba[i] += p[row]
                counts[i] += 1
                trajectory[i, t] = stats[row, 0]
    return sums, proba, counts, trajectory


def _accumulate(epochs, n_samples, n_classes, trajectory=True, index_dtype=torch.int64):
    acc = DynamicsAccumulator(n_samples, n_classes, trajectory=trajectory)
    for batches in epochs:
        for index, logits, target in batches:
            acc.add(
                torch.tensor(index, dtype=index_dtype),
                torch.tensor(logits, dtype=torch.float32),
                torch.tensor(target),
            )
        acc.end_epoch()
    return acc


@pytest.mark.parametrize("seed", range(5))
def test_dynamics_accumulator_matches_reference(seed):
    """Check that counts, means, mean_proba, trajectory match a loop reference."""
    n_samples, n_classes, n_epochs = 12, 4, 5
    epochs = _epochs_of_batches(seed, n_samples, n_classes, n_epochs)
    acc = _accumulate(epochs, n_samples, n_classes)
    sums, proba, counts, trajectory = _reference_accumulation(
        epochs, n_samples, n_classes
    )
    seen = counts > 0
    np.testing.assert_array_equal(acc.counts(), counts)
    assert acc.counts().dtype == np.int64
    means = acc.means()
    assert list(means) == list(STATISTICS)
    for j, name in enumerate(STATISTICS):
        assert means[name].dtype == np.float64
        np.testing.assert_allclose(
            means[name][seen], sums[seen, j] / counts[seen], rtol=1e-5, atol=1e-5
        )
        assert np.all(np.isnan(means[name][~seen]))
    mean_proba = acc.mean_proba()
    assert mean_proba.shape == (n_samples, n_classes)
    np.testing.assert_allclose(
        mean_proba[seen], proba[seen] / counts[seen, None], rtol=1e-5, atol=1e-6
    )
    got = acc.trajectory()
    assert got.shape == (n_samples, n_epochs)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), trajectory, rtol=1e-3, atol=1e-3)


def test_dynamics_accumulator_sums_repeated_rows_of_one_batch():
    """Check that a row repeated inside one batch is counted and summed twice."""
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    target = np.array([0, 0, 1])
    acc = DynamicsAccumulator(3, 2)
    acc.add(torch.tensor([1, 1, 0]), torch.tensor(logits), torch.tensor(target))
    acc.end_epoch()
    stats = _reference_statistics(logits, target)
    np.testing.assert_array_equal(acc.counts(), [1, 2, 0])
    np.testing.assert_allclose(
        acc.means()["sei"][:2], [stats[2, 0], stats[:2, 0].mean()], rtol=1e-6
    )
    p = _reference_softmax(logits)
    np.testing.assert_allclose(acc.mean_proba()[1], p[:2].mean(axis=0), rtol=1e-6)


def test_dynamics_accumulator_accepts_int32_indices():
    """Check that int32 sample indices are accepted like int64 ones."""
    epochs = _epochs_of_batches(0, 10, 3, 3)
    acc32 = _accumulate(epochs, 10, 3, index_dtype=torch.int32)
    acc64 = _accumulate(epochs, 10, 3)
    np.testing.assert_array_equal(acc32.counts(), acc64.counts())
    np.testing.assert_array_equal(acc32.means()["sei"], acc64.means()["sei"])
    np.testing.assert_array_equal(acc32.trajectory(), acc64.trajectory())


def test_dynamics_accumulator_trajectory_off_and_empty():
    """Check that trajectory() is None when off and (n, 0) before any epoch."""
    assert DynamicsAccumulator(4, 2).trajectory() is None
    empty = DynamicsAccumulator(4, 2, trajectory=True).trajectory()
    assert empty.shape == (4, 0)
    assert empty.dtype == np.float16


# the recorder inside a detector: every sample recorded once per epoch ----------


@pytest.mark.parametrize("record", ["train", "eval"])
@RECORDER_SETTINGS
@given(
    n_samples=st.integers(4, 40),
    batch_size=st.integers(1, 16),
    max_epochs=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_sei_recorder_records_every_sample_once_per_epoch(
    record, n_samples, batch_size, max_epochs, seed
):
    """Check that every sample is recorded exactly max_epochs times.

    The trajectory is (n_samples, max_epochs) float16 and its row means are
    the SEI scores (to float16 precision).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    y = np.arange(n_samples) % 2
    det = MislabelDetector(
        max_epochs=max_epochs,
        batch_size=batch_size,
        record=record,
        record_trajectory=True,
        module__hidden_units=(4,),
        random_state=seed,
    ).fit(X, y)
    recorder = dict(det.net_.callbacks_)["sei"]
    np.testing.assert_array_equal(
        recorder.accumulator_.counts(), np.full(n_samples, max_epochs)
    )
    assert det.trajectory_.shape == (n_samples, max_epochs)
    assert det.trajectory_.dtype == np.float16
    np.testing.assert_allclose(
        det.trajectory_.astype(np.float64).mean(axis=1),
        det.method_scores_["sei"],
        rtol=2e-3,
        atol=2e-3,
    )
    np.testing.assert_array_equal(
        det.method_scores_["sei"], recorder.accumulator_.means()["sei"]
    )
