"""Tests for the signed entropy and the per-sample accumulator of _core.sei."""

import numpy as np
import pytest
import torch
from conftest import kept_accumulators
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_noisy import MislabelDetector
from sklearn_noisy._core.sei import (
    CALIBRATION_POWER,
    STATISTICS,
    DynamicsAccumulator,
    batch_statistics,
    signed_certainty,
    signed_entropy,
)

SEI = STATISTICS.index("sei")
PAPER = STATISTICS.index("sei_paper")

# database=None: keep hypothesis from writing .hypothesis/ into the checkout.
HYPOTHESIS_SETTINGS = settings(
    max_examples=50, deadline=None, database=None, derandomize=True
)
# Every example of the recorder property trains a (tiny) network.
RECORDER_SETTINGS = settings(
    max_examples=25, deadline=None, database=None, derandomize=True
)


def _entropy(p):
    return -sum(p_k * np.log(p_k) for p_k in p if p_k > 0)


def _reference_row(logits, label, thresholds=None):
    """Slow statistics of one row, by hand from the formulas.

    (calibrated signed certainty, the paper's signed entropy, margin, CE,
    p_label); ``thresholds`` are the per-class thresholds t_k, or None.
    """
    z = np.asarray(logits, dtype=np.float64)
    log_norm = z.max() + np.log(np.sum(np.exp(z - z.max())))
    log_p = z - log_norm
    p = np.exp(log_p)
    others = [k for k in range(len(z)) if k != label]
    # The paper: sign(p_y - max_{k != y} p_k) * H(p), ties count as +1.
    sign = 1.0 if p[label] >= max(p[k] for k in others) else -1.0
    paper = sign * _entropy(p)
    # The default: q_k ~ p_k / t_k ** 0.5; sign on q times (log C - H(q)).
    t = np.ones(len(z)) if thresholds is None else np.asarray(thresholds, float)
    q = p / t**CALIBRATION_POWER
    q = q / q.sum()
    sign_q = 1.0 if q[label] >= max(q[k] for k in others) else -1.0
    certainty = max(np.log(len(z)) - _entropy(q), 0.0)
    margin = z[label] - max(z[k] for k in others)
    return sign_q * certainty, paper, margin, -log_p[label], p[label]


def _reference_statistics(logits, target, thresholds=None):
    """Row-by-row NumPy reference of batch_statistics, in float64."""
    return np.array(
        [_reference_row(z, y, thresholds) for z, y in zip(logits, target, strict=True)]
    )


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
@pytest.mark.parametrize("calibrated", [False, True])
def test_batch_statistics_matches_reference(seed, n_samples, n_classes, calibrated):
    """Check that batch_statistics equals the row-by-row reference (float64)."""
    logits, target = _batch(seed, n_samples, n_classes)
    thresholds = (
        np.random.default_rng(seed).uniform(0.05, 1.0, n_classes)
        if calibrated
        else None
    )
    log_t = None if thresholds is None else torch.tensor(np.log(thresholds))
    stats = batch_statistics(torch.tensor(logits), torch.tensor(target), log_t)
    assert stats.shape == (n_samples, len(STATISTICS))
    assert stats.dtype == torch.float64
    np.testing.assert_allclose(
        stats.numpy(),
        _reference_statistics(logits, target, thresholds),
        rtol=1e-6,
        atol=1e-7,
    )


def test_sei_paper_equals_hand_computation():
    """Check the paper's SEI column against numbers computed by hand.

    p = (0.7, 0.2, 0.1), label 0 (agrees): H = 0.8018 nats, s = +0.8018;
    label 2 (disagrees): s = -0.8018. p = (0.5, 0.5), label 1 (tie): +log 2.
    """
    three = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]]))
    s = batch_statistics(three, torch.tensor([0, 2]))[:, PAPER]
    h = -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1))
    assert h == pytest.approx(0.8018, abs=1e-4)
    np.testing.assert_allclose(s.numpy(), [h, -h], rtol=1e-6)
    two = batch_statistics(torch.zeros(1, 2), torch.tensor([1]))[:, PAPER]
    assert float(two[0]) == pytest.approx(np.log(2), rel=1e-6)


def test_signed_certainty_weights_confident_disagreement_most():
    """Check that a confidently wrong prediction scores lowest, unlike the paper.

    The paper's signed entropy of p = (0.01, 0.99) against label 0 is only
    -0.056 (nearly certain), above the -0.673 of an undecided (0.4, 0.6);
    the certainty weighting reverses that: -0.637 against -0.020.
    """
    logits = torch.log(torch.tensor([[0.01, 0.99], [0.4, 0.6]]))
    stats = batch_statistics(logits, torch.tensor([0, 0]))
    paper, sei = stats[:, PAPER].numpy(), stats[:, SEI].numpy()
    assert paper[0] > paper[1]
    assert sei[0] < sei[1] < 0
    np.testing.assert_allclose(sei, [-0.6371, -0.0201], atol=1e-4)


def test_signed_certainty_calibration_can_flip_the_sign():
    """Check that a class the network is rarely confident in gets the benefit.

    p = (0.45, 0.55) with label 0 disagrees; if the network's mean confidence
    in class 0 is 0.4 and in class 1 is 0.9, q ~ (0.45 / 0.63, 0.55 / 0.95)
    agrees with label 0.
    """
    logits = torch.log(torch.tensor([[0.45, 0.55]]))
    plain = signed_certainty(logits, torch.tensor([0]))
    log_t = torch.log(torch.tensor([0.4, 0.9]))
    calibrated = signed_certainty(logits, torch.tensor([0]), log_t)
    assert float(plain[0]) < 0 < float(calibrated[0])


@pytest.mark.parametrize("seed", range(3))
def test_signed_entropy_matches_reference_in_float32(seed):
    """Check that signed_entropy of float32 logits matches the reference."""
    logits, target = _batch(seed, 32, 5)
    s = signed_entropy(torch.tensor(logits, dtype=torch.float32), torch.tensor(target))
    assert s.dtype == torch.float32
    expected = _reference_statistics(logits.astype(np.float32), target)[:, PAPER]
    np.testing.assert_allclose(s.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_signed_entropy_promotes_half_precision():
    """Check that float16 logits are computed in float32, not in float16."""
    logits, target = _batch(0, 8, 4, scale=1.0)
    half = torch.tensor(logits, dtype=torch.float16)
    s = signed_entropy(half, torch.tensor(target))
    assert s.dtype == torch.float32
    expected = _reference_statistics(half.double().numpy(), target)[:, PAPER]
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
    assert float(stats[0, PAPER]) == pytest.approx(expected_sign * entropy, rel=1e-6)
    # Uncalibrated, the default statistic has the same sign.
    assert np.sign(float(stats[0, SEI])) in (expected_sign, 0.0)


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
        s, _reference_statistics(logits, target)[:, PAPER], rtol=1e-9, atol=1e-12
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


def _reference_accumulation(epochs, n_samples, n_classes, early_epochs=0):
    """Loop reference of the accumulator.

    The thresholds of an epoch are the previous epoch's mean probability of
    each class over the rows recorded with that label (none in epoch 1; 1
    for a class with no row); ``early`` sums the first ``early_epochs``.
    """
    sums = np.zeros((n_samples, len(STATISTICS)))
    proba = np.zeros((n_samples, n_classes))
    early = np.zeros((n_samples, n_classes))
    counts = np.zeros(n_samples, dtype=np.int64)
    trajectory = np.full((n_samples, len(epochs)), np.nan)
    fit = []
    thresholds = None
    for t, batches in enumerate(epochs):
        class_sum, class_n = np.zeros(n_classes), np.zeros(n_classes)
        agree = seen = 0
        for index, logits, target in batches:
            stats = _reference_statistics(logits, target, thresholds)
            p = _reference_softmax(logits)
            for row, i in enumerate(index):
                sums[i] += stats[row]
                proba[i] += p[row]
                if t < early_epochs:
                    early[i] += p[row]
                counts[i] += 1
                trajectory[i, t] = stats[row, SEI]
                class_sum[target[row]] += p[row, target[row]]
                class_n[target[row]] += 1
                agree += stats[row, PAPER] >= 0
                seen += 1
        thresholds = np.where(class_n > 0, class_sum / np.maximum(class_n, 1), 1.0)
        fit.append(agree / seen)
    return sums, proba, counts, trajectory, early, fit


def _accumulate(
    epochs,
    n_samples,
    n_classes,
    trajectory=True,
    index_dtype=torch.int64,
    early_epochs=0,
):
    acc = DynamicsAccumulator(
        n_samples, n_classes, trajectory=trajectory, early_epochs=early_epochs
    )
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
    """Check counts, means, probabilities, trajectory and fit against a loop."""
    n_samples, n_classes, n_epochs = 12, 4, 5
    epochs = _epochs_of_batches(seed, n_samples, n_classes, n_epochs)
    acc = _accumulate(epochs, n_samples, n_classes, early_epochs=2)
    sums, proba, counts, trajectory, early, fit = _reference_accumulation(
        epochs, n_samples, n_classes, early_epochs=2
    )
    np.testing.assert_allclose(acc.fit_history, fit, rtol=1e-12)
    early_seen = early.sum(axis=1) > 0
    np.testing.assert_allclose(
        acc.early_mean_proba()[early_seen],
        early[early_seen] / early[early_seen].sum(axis=1, keepdims=True),
        rtol=1e-5,
        atol=1e-6,
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
        acc.means()["sei"][:2], [stats[2, SEI], stats[:2, SEI].mean()], rtol=1e-6
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


@pytest.mark.filterwarnings(
    "ignore::sklearn_noisy._mislabel_detector.UntrustedRankingWarning"
)
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
    with kept_accumulators() as kept:
        det = MislabelDetector(
            max_epochs=max_epochs,
            batch_size=batch_size,
            record=record,
            record_trajectory=True,
            fit_tol=None,
            module__hidden_units=(4,),
            random_state=seed,
        ).fit(X, y)
    (accumulator,) = kept
    np.testing.assert_array_equal(accumulator.counts(), np.full(n_samples, max_epochs))
    assert det.trajectory_.shape == (n_samples, max_epochs)
    assert det.trajectory_.dtype == np.float16
    np.testing.assert_allclose(
        det.trajectory_.astype(np.float64).mean(axis=1),
        det.method_scores_["sei"],
        rtol=2e-3,
        atol=2e-3,
    )
    np.testing.assert_array_equal(det.method_scores_["sei"], accumulator.means()["sei"])
