"""Tests for the flagging rules of sklearn_noisy._core.thresholds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_noisy._core.thresholds import (
    count_offset,
    early_epoch_count,
    mixture_offset,
    offset_for_count,
    sign_offset,
)

# database=None: keep hypothesis from writing .hypothesis/ into the checkout.
HYPOTHESIS_SETTINGS = settings(max_examples=100, deadline=None, database=None)


def _bimodal(seed, n_low=100, n_high=900, low=(-1.0, 0.2), high=(1.0, 0.2)):
    """Scores of two well-separated modes; returns (scores, is_low)."""
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(*low, n_low), rng.normal(*high, n_high)]
    is_low = np.r_[np.ones(n_low, bool), np.zeros(n_high, bool)]
    order = rng.permutation(len(scores))
    return scores[order], is_low[order]


# sign_offset -----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_sign_offset_flags_negative_scores(seed):
    """Check that sign_offset is 0, so exactly the negative scores are flagged."""
    scores = np.random.default_rng(seed).normal(size=50)
    offset = sign_offset(scores)
    assert offset == 0.0
    np.testing.assert_array_equal(scores < offset, scores < 0)


# offset_for_count --------------------------------------------------------------


@HYPOTHESIS_SETTINGS
@given(
    scores=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50, unique=True
    ),
    data=st.data(),
)
def test_offset_for_count_flags_exactly_k_lowest(scores, data):
    """Check that with distinct scores exactly the k lowest are below the offset."""
    scores = np.array(scores)
    k = data.draw(st.integers(0, len(scores)))
    flagged = scores < offset_for_count(scores, k)
    assert flagged.sum() == k
    np.testing.assert_array_equal(np.sort(scores[flagged]), np.sort(scores)[:k])


@pytest.mark.parametrize(
    "n_flagged, expected", [(-3, 0), (0, 0), (1, 1), (2, 1), (3, 3), (4, 4), (9, 4)]
)
def test_offset_for_count_breaks_ties_towards_fewer(n_flagged, expected):
    """Check that ties at the cut flag fewer, and that k is clipped to [0, n]."""
    scores = np.array([3.0, 2.0, 1.0, 2.0])
    assert (scores < offset_for_count(scores, n_flagged)).sum() == expected


# mixture_offset ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_mixture_offset_separates_clear_modes(seed):
    """Check that the cut of two well-separated modes flags the lower mode."""
    scores, is_low = _bimodal(seed)
    offset = mixture_offset(scores)
    assert scores[is_low].max() < offset <= scores[~is_low].min()
    np.testing.assert_array_equal(scores < offset, is_low)


@pytest.mark.parametrize("seed", range(3))
def test_mixture_offset_separates_sei_like_modes(seed):
    """Check that SEI-like modes (broad negative, tight positive) are separated.

    Mislabeled samples spread over negative signed entropies; clean ones sit
    just above 0 with a small spread. The modes overlap slightly, so allow a
    few errors.
    """
    scores, is_low = _bimodal(seed, 150, 850, low=(-0.5, 0.2), high=(0.1, 0.03))
    flagged = scores < mixture_offset(scores)
    assert np.mean(flagged[is_low]) > 0.9
    assert np.mean(flagged[~is_low]) < 0.02


@pytest.mark.parametrize("seed", range(3))
def test_mixture_offset_is_deterministic(seed):
    """Check that repeated calls, and a permutation of the input, give one cut."""
    scores, _ = _bimodal(seed)
    offset = mixture_offset(scores)
    assert mixture_offset(scores.copy()) == offset
    permuted = np.random.default_rng(seed + 100).permutation(scores)
    np.testing.assert_array_equal(
        permuted < mixture_offset(permuted), permuted < offset
    )


@pytest.mark.parametrize("scores", [np.ones(10), np.array([0.5]), np.zeros(3)])
def test_mixture_offset_flags_nothing_without_a_lower_component(scores):
    """Check that constant scores (no lower component) flag nothing."""
    assert not np.any(scores < mixture_offset(scores))


# count_offset ------------------------------------------------------------------


def test_count_offset_hand_computed():
    """Check that count_offset matches a small example worked out by hand.

    Per-class thresholds (mean probability of class j over the rows labelled
    j): t0 = (0.5 + 0.25 + 0.4375) / 3 = 0.3958, t1 = (0.5 + 0.25) / 2 =
    0.375, t2 = (0.625 + 0.1) / 2 = 0.3625. Of the confident classes
    (p_j >= t_j), the most probable is the confident guess:

    row 0, y=0: confident {0}           -> 0, agrees
    row 1, y=0: confident {1}           -> 1, counted
    row 2, y=1: confident {1}           -> 1, agrees
    row 3, y=1: confident {2}           -> 2, counted
    row 4, y=2: confident {2}           -> 2, agrees
    row 5, y=2: confident {0, 1}        -> 1 (0.5 > 0.4), counted
    row 6, y=0: confident {0, 1}        -> 1 (0.5 > 0.4375), counted

    Four are counted, so the four lowest scores are flagged.
    """
    proba = np.array(
        [
            [0.5, 0.25, 0.25],
            [0.25, 0.5, 0.25],
            [0.25, 0.5, 0.25],
            [0.125, 0.25, 0.625],
            [0.125, 0.25, 0.625],
            [0.4, 0.5, 0.1],
            [0.4375, 0.5, 0.0625],
        ]
    )
    y = np.array([0, 0, 1, 1, 2, 2, 0])
    scores = np.array([0.6, 0.1, 0.5, -0.3, 0.4, 0.2, -0.1])
    offset = count_offset(scores, proba, y)
    assert offset == 0.4
    np.testing.assert_array_equal(np.flatnonzero(scores < offset), [1, 3, 5, 6])


def test_count_offset_ignores_a_class_never_given():
    """Check that a class absent from y (infinite threshold) counts nothing."""
    proba = np.array([[0.9, 0.0, 0.1], [0.1, 0.0, 0.9], [0.0, 0.6, 0.4]])
    y = np.array([0, 2, 2])
    # t0 = 0.9, t2 = 0.65: rows 0 and 1 agree with their labels; row 2 leans
    # to class 1, which nobody is labelled with (t1 = inf), so it is not a
    # confident guess either: nothing is counted.
    scores = np.array([1.0, 2.0, 3.0])
    assert not np.any(scores < count_offset(scores, proba, y))


def _reference_count(proba, y):
    """Row-by-row confident-learning count (Northcutt et al., 2021, Sec. 3.1)."""
    n_classes = proba.shape[1]
    t = [
        proba[y == j, j].mean() if np.any(y == j) else np.inf for j in range(n_classes)
    ]
    counted = 0
    for p, label in zip(proba, y, strict=True):
        confident = [j for j in range(n_classes) if p[j] >= t[j]]
        if confident and max(confident, key=lambda j: p[j]) != label:
            counted += 1
    return counted


@pytest.mark.parametrize("seed", range(5))
def test_count_offset_matches_reference_count(seed):
    """Check that count_offset flags as many rows as the loop reference counts."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(4), size=60)
    y = rng.integers(4, size=60)
    scores = rng.normal(size=60)
    flagged = scores < count_offset(scores, proba, y)
    assert flagged.sum() == _reference_count(proba, y)


def test_count_offset_counts_no_row_whose_label_the_network_prefers():
    """Check that the count is capped by the rows predicted as another class.

    An underfit network: near-uniform probabilities give low per-class
    thresholds, and confident learning would count rows whose own label is
    still the most probable one. Only row 2 is predicted as another class.
    """
    proba = np.array(
        [[0.36, 0.34, 0.30], [0.30, 0.36, 0.34], [0.30, 0.36, 0.34], [0.34, 0.30, 0.36]]
    )
    y = np.array([0, 1, 0, 2])
    scores = np.arange(4.0)
    assert np.sum(scores < count_offset(scores, proba, y)) == 1


@pytest.mark.parametrize(
    "max_epochs, steps_per_epoch, expected",
    [(30, 79, 2), (30, 5, 10), (30, 1, 30), (1, 5, 1), (30, 1000, 2)],
)
def test_early_epoch_count_is_fifty_steps_and_at_least_two_epochs(
    max_epochs, steps_per_epoch, expected
):
    """Check the learning phase: 50 optimiser steps, 2 to max_epochs epochs."""
    assert early_epoch_count(max_epochs, steps_per_epoch) == expected
