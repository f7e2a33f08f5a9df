"""Tests for label-noise transition matrices, injection and estimation."""

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_noisy._core import noise as core_noise
from sklearn_noisy._core.noise import check_transition_matrix, sample_noisy_labels
from sklearn_noisy.noise import (
    estimate_label_noise,
    estimate_transition_matrix,
    inject_label_noise,
    make_transition_matrix,
)

# database=None: keep hypothesis from writing .hypothesis/ into the checkout.
# derandomize: the same examples on every run, so CI cannot meet a rare draw
# (binomial tails with small p are heavier than the 5-sigma normal bound).
HYPOTHESIS_SETTINGS = settings(
    max_examples=100, deadline=None, database=None, derandomize=True
)

KINDS_WITHOUT_PAIRS = ["symmetric", "uniform", "pair"]
N_SIGMA = 5


def _reference_transition_matrix(n_classes, r, kind, pairs=None):
    """Slow, entry-by-entry transcription of the definitions."""
    C = n_classes
    T = np.zeros((C, C))
    for i in range(C):
        for j in range(C):
            if kind == "symmetric":
                T[i, j] = 1 - r if i == j else r / (C - 1)
            elif kind == "uniform":
                T[i, j] = (1 - r + r / C) if i == j else r / C
            elif kind == "pair":
                T[i, j] = (1 - r) * (i == j) + r * (j == (i + 1) % C)
            elif kind == "pairs":
                targets = dict(pairs)
                if i in targets:
                    T[i, j] = (1 - r) * (i == j) + r * (j == targets[i])
                else:
                    T[i, j] = float(i == j)
    return T


def _reference_sample(y_encoded, transition_matrix, rng):
    """Slow, sample-by-sample inverse-CDF draw (one uniform per sample)."""
    y_noisy = []
    for label in y_encoded:
        u = rng.random()
        row = np.cumsum(transition_matrix[label])
        y_noisy.append(int(np.flatnonzero(u * row[-1] < row)[0]))
    return np.array(y_noisy)


@st.composite
def _pairs(draw, n_classes):
    """Draw a non-empty list of (source, target) pairs with distinct sources."""
    sources = draw(
        st.lists(
            st.integers(0, n_classes - 1), min_size=1, max_size=n_classes, unique=True
        )
    )
    pairs = []
    for source in sources:
        target = draw(st.integers(0, n_classes - 2))
        pairs.append((source, target + (target >= source)))
    return pairs


@st.composite
def _matrix_args(draw, max_classes=12):
    """Draw (n_classes, noise_rate, kind, pairs) for make_transition_matrix."""
    n_classes = draw(st.integers(2, max_classes))
    noise_rate = draw(st.floats(0.0, 1.0))
    kind = draw(st.sampled_from(KINDS_WITHOUT_PAIRS + ["pairs"]))
    pairs = draw(_pairs(n_classes)) if kind == "pairs" else None
    return n_classes, noise_rate, kind, pairs


# make_transition_matrix ----------------------------------------------------


@HYPOTHESIS_SETTINGS
@given(args=_matrix_args(max_classes=50))
def test_make_transition_matrix_rows_sum_to_one(args):
    """Check that every kind, rate and size gives a row-stochastic float64 matrix."""
    n_classes, noise_rate, kind, pairs = args
    T = make_transition_matrix(n_classes, noise_rate, kind=kind, pairs=pairs)
    assert T.shape == (n_classes, n_classes)
    assert T.dtype == np.float64
    assert np.all(T >= 0)
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(check_transition_matrix(T), T)


@HYPOTHESIS_SETTINGS
@given(args=_matrix_args())
def test_make_transition_matrix_matches_reference(args):
    """Check that each kind matches an entry-by-entry reading of its definition."""
    n_classes, noise_rate, kind, pairs = args
    T = make_transition_matrix(n_classes, noise_rate, kind=kind, pairs=pairs)
    expected = _reference_transition_matrix(n_classes, noise_rate, kind, pairs)
    np.testing.assert_allclose(T, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("r", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_make_transition_matrix_pairs_matches_paper_binary_cases(r):
    """Check that pairs gives the L_DMI paper's binary cases (a) and (b) exactly."""
    case_a = make_transition_matrix(2, r, kind="pairs", pairs=[(0, 1)])
    case_b = make_transition_matrix(2, r, kind="pairs", pairs=[(1, 0)])
    np.testing.assert_array_equal(case_a, [[1 - r, r], [0, 1]])
    np.testing.assert_array_equal(case_b, [[1, 0], [r, 1 - r]])


@pytest.mark.parametrize("r", [0.0, 0.2, 0.6, 1.0])
def test_make_transition_matrix_uniform_matches_paper_binary_case(r):
    """Check that uniform noise on 2 classes is [[1-r/2, r/2], [r/2, 1-r/2]]."""
    T = make_transition_matrix(2, r, kind="uniform")
    np.testing.assert_allclose(T, [[1 - r / 2, r / 2], [r / 2, 1 - r / 2]], atol=1e-15)


def test_make_transition_matrix_cifar10_class_dependent():
    """Check the CIFAR-10 truck/bird/deer/cat flips of the L_DMI paper."""
    r = 0.4
    pairs = [(9, 1), (2, 0), (4, 7), (3, 5)]  # truck→automobile, bird→airplane, ...
    T = make_transition_matrix(10, r, kind="pairs", pairs=pairs)
    expected = np.eye(10)
    for source, target in pairs:
        expected[source, source] = 1 - r
        expected[source, target] = r
    np.testing.assert_array_equal(T, expected)


def test_make_transition_matrix_cifar10_class_independent():
    """Check that symmetric noise on 10 classes has diagonal 1-r, off-diagonal r/9."""
    r = 0.45
    T = make_transition_matrix(10, r)
    np.testing.assert_allclose(np.diag(T), 1 - r)
    np.testing.assert_allclose(T[~np.eye(10, dtype=bool)], r / 9)


def test_make_transition_matrix_public_is_core():
    """Check that sklearn_noisy.noise re-exports the _core function itself."""
    assert make_transition_matrix is core_noise.make_transition_matrix


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((1, 0.1), {}, r"'n_classes' parameter.*int >= 2.*Got 1"),
        ((2.0, 0.1), {}, r"'n_classes' parameter.*Got 2\.0 of type float"),
        ((True, 0.1), {}, r"'n_classes' parameter.*Got True"),
        ((3, 1.5), {}, r"'noise_rate' parameter.*\[0, 1\].*Got 1\.5"),
        ((3, -0.1), {}, r"'noise_rate' parameter.*\[0, 1\].*Got -0\.1"),
        ((3, float("nan")), {}, r"'noise_rate' parameter.*Got nan"),
        ((3, "0.1"), {}, r"'noise_rate' parameter.*Got '0\.1' of type str"),
        ((3, 0.1), {"kind": "flip"}, r"'kind' parameter.*'pairs'.*Got 'flip'"),
        ((3, 0.1), {"kind": "pairs"}, r"'pairs' parameter.*required.*Got None"),
        ((3, 0.1), {"pairs": [(0, 1)]}, r"'pairs' parameter.*only used.*'symmetric'"),
        ((3, 0.1), {"kind": "pairs", "pairs": []}, r"'pairs'.*Got an empty"),
        ((3, 0.1), {"kind": "pairs", "pairs": 3}, r"'pairs' parameter.*Got 3"),
        ((3, 0.1), {"kind": "pairs", "pairs": [(0, 1, 2)]}, r"Got the entry \(0, 1, 2"),
        ((3, 0.1), {"kind": "pairs", "pairs": [(0, 1.0)]}, r"Got the entry \(0, 1\.0"),
        ((3, 0.1), {"kind": "pairs", "pairs": [(0, 3)]}, r"range \[0, 2\].*\(0, 3\)"),
        ((3, 0.1), {"kind": "pairs", "pairs": [(-1, 0)]}, r"range \[0, 2\]"),
        ((3, 0.1), {"kind": "pairs", "pairs": [(1, 1)]}, r"class 1 to itself"),
        (
            (3, 0.1),
            {"kind": "pairs", "pairs": [(0, 1), (0, 2)]},
            r"source class 0 more than once",
        ),
    ],
)
def test_make_transition_matrix_invalid_params_raise(args, kwargs, match):
    """Check that invalid arguments raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=match):
        make_transition_matrix(*args, **kwargs)


def test_make_transition_matrix_wrong_type_is_also_type_error():
    """Check that a wrongly typed argument can be caught as TypeError too."""
    with pytest.raises(TypeError, match="'n_classes' parameter"):
        make_transition_matrix(2.5, 0.1)


# check_transition_matrix ---------------------------------------------------


def test_check_transition_matrix_returns_float64_copy():
    """Check that a valid matrix comes back as a new float64 array."""
    T = [[1, 0], [0, 1]]
    checked = check_transition_matrix(T, n_classes=2)
    assert checked.dtype == np.float64
    np.testing.assert_array_equal(checked, T)
    original = np.array([[0.5, 0.5], [0.5, 0.5]])
    checked = check_transition_matrix(original)
    checked[0, 0] = 1.0
    assert original[0, 0] == 0.5


def test_check_transition_matrix_tolerates_rounding():
    """Check that rows off by less than 1e-6 are accepted."""
    matrix = [[0.3333333, 0.6666667], [0.0, 1.0]]
    np.testing.assert_array_equal(check_transition_matrix(matrix), matrix)


@pytest.mark.parametrize(
    "matrix, n_classes, match",
    [
        ([[0.5, 0.5]], None, r"square 2-D.*Got shape \(1, 2\)"),
        ([0.5, 0.5], None, r"square 2-D.*Got shape \(2,\)"),
        (np.empty((0, 0)), None, r"non-empty square"),
        ([["a", "b"], ["c", "d"]], None, r"cannot be converted to float64"),
        (np.eye(2), 3, r"shape \(3, 3\) for n_classes=3.*Got shape \(2, 2\)"),
        ([[np.nan, 1.0], [0.0, 1.0]], None, r"finite"),
        ([[np.inf, 0.0], [0.0, 1.0]], None, r"finite"),
        ([[1.2, -0.2], [0.0, 1.0]], None, r"non-negative.*-0\.2"),
        ([[0.5, 0.4], [0.0, 1.0]], None, r"row-stochastic.*0\.9.*rows \[0\]"),
        ([[0.9, 0.9], [0.1, 0.1]], None, r"transposed"),
    ],
)
def test_check_transition_matrix_invalid_raise(matrix, n_classes, match):
    """Check that invalid matrices raise a ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=match):
        check_transition_matrix(matrix, n_classes=n_classes)


def test_check_transition_matrix_invalid_n_classes_raise():
    """Check that a non-integer n_classes raises, naming the parameter."""
    with pytest.raises(ValueError, match="'n_classes' parameter"):
        check_transition_matrix(np.eye(2), n_classes="2")


# sample_noisy_labels -------------------------------------------------------


@HYPOTHESIS_SETTINGS
@given(args=_matrix_args(max_classes=6), seed=st.integers(0, 2**32 - 1))
def test_sample_noisy_labels_flip_rate_within_binomial_tolerance(args, seed):
    """Check that every cell's count is within 5 sigma of its binomial mean."""
    n_classes, noise_rate, kind, pairs = args
    T = make_transition_matrix(n_classes, noise_rate, kind=kind, pairs=pairs)
    n_samples = 20_000
    y = np.arange(n_samples) % n_classes
    y_noisy = sample_noisy_labels(y, T, np.random.default_rng(seed))

    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (y, y_noisy), 1)
    n_per_class = np.bincount(y, minlength=n_classes)[:, None]
    expected = n_per_class * T
    sigma = np.sqrt(n_per_class * T * (1 - T))
    # + 1 absorbs the discreteness of a count when sigma is near 0.
    assert np.all(np.abs(counts - expected) <= N_SIGMA * sigma + 1)
    # A cell of probability 0 is never drawn.
    assert np.all(counts[T == 0] == 0)

    flip_rate = np.mean(y_noisy != y)
    p_flip = np.mean(1 - np.diag(T))
    flip_sigma = np.sqrt(n_samples * p_flip * (1 - p_flip)) / n_samples
    assert abs(flip_rate - p_flip) <= N_SIGMA * flip_sigma + 1 / n_samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_noisy_labels_matches_reference(seed):
    """Check that the vectorised draw equals a sample-by-sample loop."""
    rng = np.random.default_rng(seed)
    T = rng.dirichlet(np.full(5, 0.5), size=5)
    T[1] = [0.0, 0.0, 1.0, 0.0, 0.0]
    T[3] = [0.0, 0.5, 0.0, 0.5, 0.0]
    y = rng.integers(0, 5, size=500)
    got = sample_noisy_labels(y, T, np.random.default_rng(seed))
    expected = _reference_sample(y, T, np.random.default_rng(seed))
    np.testing.assert_array_equal(got, expected)


def test_sample_noisy_labels_identity_keeps_labels():
    """Check that the identity matrix returns equal labels in a new array."""
    y = np.array([2, 0, 1, 1, 2])
    y_noisy = sample_noisy_labels(y, np.eye(3), np.random.default_rng(0))
    np.testing.assert_array_equal(y_noisy, y)
    assert y_noisy is not y


def test_sample_noisy_labels_empty():
    """Check that no labels give an empty int array."""
    y_noisy = sample_noisy_labels([], np.eye(2), np.random.default_rng(0))
    assert y_noisy.shape == (0,)
    assert np.issubdtype(y_noisy.dtype, np.integer)


@pytest.mark.parametrize(
    "y, rng, error, match",
    [
        ([0, 1], 0, TypeError, r"'rng' parameter.*Generator.*Got int"),
        ([0, 1], np.random.RandomState(0), TypeError, r"Got RandomState"),
        ([[0, 1]], None, ValueError, r"'y_encoded'.*1-D.*Got shape \(1, 2\)"),
        ([0.0, 1.0], None, ValueError, r"'y_encoded'.*int.*Got dtype float64"),
        ([0, 2], None, ValueError, r"'y_encoded'.*range \[0, 1\].*\[0, 2\]"),
        ([-1, 0], None, ValueError, r"'y_encoded'.*range \[0, 1\]"),
    ],
)
def test_sample_noisy_labels_invalid_raise(y, rng, error, match):
    """Check that invalid labels or rng raise, naming the parameter."""
    rng = np.random.default_rng(0) if rng is None else rng
    with pytest.raises(error, match=match):
        sample_noisy_labels(y, np.eye(2), rng)


# inject_label_noise --------------------------------------------------------


def test_inject_label_noise_string_labels_keep_dtype():
    """Check that str labels are corrupted into str labels of the same dtype."""
    y = np.array(["cat", "dog", "cow"] * 100)
    T = make_transition_matrix(3, 0.5)
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
    assert y_noisy.dtype == y.dtype
    assert set(y_noisy) <= {"cat", "dog", "cow"}
    assert np.any(y_noisy != y)


@pytest.mark.parametrize(
    "y",
    [
        np.array([3, 7, 7, 3, 9] * 20, dtype=np.int8),
        np.array([0.5, 1.5, 2.5] * 20, dtype=np.float32),
        np.array(["a", "b", "c"] * 20, dtype=object),
        [True, False] * 30,
    ],
    ids=["int8", "float32", "object", "bool-list"],
)
def test_inject_label_noise_preserves_dtype(y):
    """Check that the output has the dtype of np.asarray(y) and only its labels."""
    y_array = np.asarray(y)
    n_classes = len(np.unique(y_array))
    T = make_transition_matrix(n_classes, 0.5)
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
    assert y_noisy.dtype == y_array.dtype
    assert set(y_noisy.tolist()) <= set(y_array.tolist())


@pytest.mark.parametrize("y_type", [np.array, list])
def test_inject_label_noise_does_not_modify_input(y_type):
    """Check that y is left as it was and a new array is returned."""
    y = y_type(["a", "b", "a", "b"] * 50)
    y_before = np.array(y, copy=True)
    y_noisy = inject_label_noise(
        y, transition_matrix=[[0.0, 1.0], [1.0, 0.0]], random_state=0
    )
    np.testing.assert_array_equal(np.asarray(y), y_before)
    assert y_noisy is not y
    np.testing.assert_array_equal(y_noisy, np.where(y_before == "a", "b", "a"))


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_inject_label_noise_same_random_state_same_output(seed):
    """Check that one int seed gives one output, and another seed another."""
    y = np.arange(1000) % 4
    T = make_transition_matrix(4, 0.3)
    first = inject_label_noise(y, transition_matrix=T, random_state=seed)
    second = inject_label_noise(y, transition_matrix=T, random_state=seed)
    from_instance = inject_label_noise(
        y, transition_matrix=T, random_state=np.random.RandomState(seed)
    )
    other = inject_label_noise(y, transition_matrix=T, random_state=seed + 1)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, from_instance)
    assert not np.array_equal(first, other)


def test_inject_label_noise_random_state_instance_advances():
    """Check that a RandomState instance is consumed, as in scikit-learn."""
    y = np.arange(1000) % 4
    T = make_transition_matrix(4, 0.3)
    random_state = np.random.RandomState(0)
    first = inject_label_noise(y, transition_matrix=T, random_state=random_state)
    second = inject_label_noise(y, transition_matrix=T, random_state=random_state)
    assert not np.array_equal(first, second)


@HYPOTHESIS_SETTINGS
@given(args=_matrix_args(max_classes=6), seed=st.integers(0, 2**32 - 1))
def test_inject_label_noise_zero_noise_rate_keeps_labels(args, seed):
    """Check that noise_rate=0 returns labels identical to y, whatever the kind."""
    n_classes, _, kind, pairs = args
    T = make_transition_matrix(n_classes, 0.0, kind=kind, pairs=pairs)
    y = np.array([f"class_{k}" for k in range(n_classes)] * 30)
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=seed)
    np.testing.assert_array_equal(y_noisy, y)


def test_inject_label_noise_follows_classes_order():
    """Check that rows and columns of the matrix follow the order of classes."""
    y = np.array(["dog", "cat"] * 100)
    T = make_transition_matrix(2, 1.0, kind="pairs", pairs=[(0, 1)])
    # Default classes are sorted: ["cat", "dog"], so cats flip to dogs.
    y_default = inject_label_noise(y, transition_matrix=T, random_state=0)
    np.testing.assert_array_equal(y_default, ["dog"] * 200)
    y_ordered = inject_label_noise(
        y, transition_matrix=T, classes=["dog", "cat"], random_state=0
    )
    np.testing.assert_array_equal(y_ordered, ["cat"] * 200)


def test_inject_label_noise_flips_to_class_absent_from_y():
    """Check that classes may hold a class absent from y, widening str dtype."""
    y = np.array(["cat", "dog"] * 50)
    T = make_transition_matrix(3, 1.0, kind="pairs", pairs=[(0, 2)])
    y_noisy = inject_label_noise(
        y, transition_matrix=T, classes=["cat", "dog", "horse"], random_state=0
    )
    assert y_noisy.dtype == np.dtype("<U5")
    np.testing.assert_array_equal(y_noisy, np.where(y == "cat", "horse", "dog"))


@pytest.mark.parametrize(
    "y, kwargs, error, match",
    [
        ([[0, 1], [1, 0]], {}, ValueError, r"'y' parameter.*1-D.*shape \(2, 2\)"),
        ([], {}, ValueError, r"'y' parameter.*non-empty.*shape \(0,\)"),
        (
            [0, 1, 2],
            {"classes": [0, 1]},
            ValueError,
            r"'y' parameter.*classes=\[0, 1\].*\[2\]",
        ),
        (["a", "b"], {"classes": [0, 1]}, ValueError, r"labels \['a', 'b'\]"),
        ([0, 1], {"classes": [0, 1, 1]}, ValueError, r"'classes'.*duplicates"),
        ([0, 1], {"classes": []}, ValueError, r"'classes'.*non-empty"),
        ([0, 1, 2], {}, ValueError, r"shape \(3, 3\).*classes=\[0, 1, 2\].*\(2, 2\)"),
        (
            [0, 1],
            {"transition_matrix": [[0.5, 0.6], [0, 1]]},
            ValueError,
            r"'transition_matrix' parameter of inject_label_noise.*row-stochastic",
        ),
        (np.array(["a", 1], dtype=object), {}, TypeError, r"mutually comparable"),
        ([0, 1], {"random_state": "seed"}, ValueError, r"seed"),
    ],
)
def test_inject_label_noise_invalid_raise(y, kwargs, error, match):
    """Check that invalid inputs raise with a message naming what is wrong."""
    kwargs = {"transition_matrix": np.eye(2), **kwargs}
    with pytest.raises(error, match=match):
        inject_label_noise(y, **kwargs)


# estimate_transition_matrix ------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_estimate_transition_matrix_recovers_injected_noise(seed):
    """Check that the estimate of injected noise is within 5 sigma of the matrix."""
    n_samples, n_classes = 20_000, 4
    T = make_transition_matrix(n_classes, 0.3, kind="pair")
    y = np.array(list("abcd"))[np.arange(n_samples) % n_classes]
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=seed)
    estimate = estimate_transition_matrix(y, y_noisy)
    n_per_class = n_samples / n_classes
    sigma = np.sqrt(T * (1 - T) / n_per_class)
    assert np.all(np.abs(estimate - T) <= N_SIGMA * sigma + 1 / n_per_class)
    np.testing.assert_allclose(estimate.sum(axis=1), 1.0)


def test_estimate_transition_matrix_counts_exactly():
    """Check the row-normalised counts on a small hand-made example."""
    y_true = [0, 0, 0, 0, 1, 1, 2]
    y_noisy = [0, 1, 1, 2, 1, 1, 0]
    expected = [[0.25, 0.5, 0.25], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    np.testing.assert_allclose(estimate_transition_matrix(y_true, y_noisy), expected)


def test_estimate_transition_matrix_absent_class_gets_identity_row():
    """Check that a class with no true samples gets the identity row."""
    y_true = ["a", "a", "c"]
    y_noisy = ["a", "b", "c"]  # "b" only appears as a noisy label
    estimate = estimate_transition_matrix(y_true, y_noisy)
    np.testing.assert_allclose(estimate, [[0.5, 0.5, 0.0], [0, 1, 0], [0, 0, 1]])
    assert estimate.dtype == np.float64


@pytest.mark.parametrize(
    "y_true, y_noisy, kwargs, match",
    [
        ([0, 1], [0, 1, 1], {}, r"same number of samples.*2 and 3"),
        ([], [], {}, r"'y_true' parameter.*non-empty"),
        ([0, 1], [[0, 1]], {}, r"'y_noisy' parameter.*1-D"),
        ([0, 1], [0, 2], {"classes": [0, 1]}, r"'y_noisy' parameter.*\[2\]"),
    ],
)
def test_estimate_transition_matrix_invalid_raise(y_true, y_noisy, kwargs, match):
    """Check that invalid inputs raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=match):
        estimate_transition_matrix(y_true, y_noisy, **kwargs)


# estimate_label_noise ------------------------------------------------------


def _oracle_proba(y, n_classes, confidence, rng):
    """Probabilities that rank the true class first, with noisy confidences."""
    proba = rng.uniform(0, 1 - confidence, size=(len(y), n_classes))
    proba[np.arange(len(y)), y] = rng.uniform(confidence, 1, size=len(y))
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["symmetric", "pair"])
def test_estimate_label_noise_recovers_injected_noise(kind):
    """Check the matrix and the noise rate from probabilities of the true class.

    Probabilities that rank the true class first make every anchor a sample
    of that class, so each row is the label histogram of its anchors: within
    5 sigma of the injected matrix.
    """
    rng = np.random.RandomState(0)
    n_samples, n_classes = 12_000, 4
    T = make_transition_matrix(n_classes, 0.3, kind=kind)
    y = np.arange(n_samples) % n_classes
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
    proba = _oracle_proba(y, n_classes, 0.6, rng)
    estimate, noise_rate = estimate_label_noise(y_noisy, proba)
    n_anchors = 0.3 * n_samples / n_classes
    sigma = np.sqrt(T * (1 - T) / n_anchors)
    assert np.all(np.abs(estimate - T) <= N_SIGMA * sigma + 1 / n_anchors)
    np.testing.assert_allclose(estimate.sum(axis=1), 1.0)
    assert noise_rate == pytest.approx(np.mean(y_noisy != y), abs=0.03)


def test_estimate_label_noise_follows_classes_order():
    """Check that classes= orders the rows and columns like pred_proba."""
    rng = np.random.RandomState(0)
    y = np.arange(600) % 3
    T = make_transition_matrix(3, 0.2, kind="pair")
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
    proba = _oracle_proba(y, 3, 0.6, rng)
    labels = np.array(["c", "a", "b"])
    reordered, rate = estimate_label_noise(
        labels[y_noisy], proba, classes=["c", "a", "b"]
    )
    plain, plain_rate = estimate_label_noise(y_noisy, proba)
    np.testing.assert_allclose(reordered, plain)
    assert rate == plain_rate


def test_estimate_label_noise_does_not_modify_input():
    """Check that the labels and probabilities passed in are left unchanged."""
    rng = np.random.RandomState(0)
    y = np.arange(100) % 2
    proba = _oracle_proba(y, 2, 0.6, rng)
    y_copy, proba_copy = y.copy(), proba.copy()
    estimate_label_noise(y, proba)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(proba, proba_copy)


@pytest.mark.parametrize(
    "y, proba, kwargs, match",
    [
        ([0, 1], [[0.5, 0.5]], {}, r"'pred_proba' parameter.*shape.*n_samples=2"),
        ([0, 1], [[0.5, np.nan], [0.5, 0.5]], {}, r"'pred_proba'.*NaN"),
        ([0, 1], [[1.5, -0.5], [0.5, 0.5]], {}, r"'pred_proba'.*negative"),
        (
            [0, 1],
            [[0.5, 0.5], [2.5, 2.5]],
            {},
            r"'pred_proba'.*sum to 1.*Row 1 sums to 5",
        ),
        ([0, 1], [[1, 0, 0], [0, 1, 0]], {}, r"one column per class: 2 classes"),
        ([0, 1], [[1, 0], [0, 1]], {"anchor_fraction": 0}, r"'anchor_fraction'"),
        ([0, 1], [[1, 0], [0, 1]], {"anchor_fraction": 1.5}, r"'anchor_fraction'"),
        ([0, 2], [[1, 0], [0, 1]], {"classes": [0, 1]}, r"'y' parameter.*\[2\]"),
    ],
)
def test_estimate_label_noise_invalid_raise(y, proba, kwargs, match):
    """Check that invalid inputs raise a ValueError naming the parameter."""
    with pytest.raises(ValueError, match=match):
        estimate_label_noise(y, proba, **kwargs)


# layering ------------------------------------------------------------------


def test_core_noise_imports_numpy_and_scipy_only():
    """Check that _core/noise.py imports nothing beyond NumPy, SciPy and stdlib."""
    source = Path(core_noise.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0] if not node.level else ".")
    assert imported <= {"numbers", "numpy", "scipy"}


def _brute_force_terms(margin, y_noisy, transition, offset):
    """Per-row terms of the clean accuracy estimated through inv(T.T)."""
    predicted = (margin + offset > 0).astype(int)
    return np.linalg.inv(transition.T)[predicted, y_noisy]


@pytest.mark.parametrize("z", [0.0, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_accuracy_offset_maximises_the_lower_bound(seed, z):
    """Check the chosen offset against every midpoint, counted row by row."""
    rng = np.random.RandomState(seed)
    margin = np.round(rng.normal(size=80), 1)  # ties among the margins
    y_noisy = (margin + rng.normal(scale=0.3, size=80) > 0.7).astype(int)
    weight = rng.randint(1, 4, size=80).astype(float)
    transition = np.array([[0.9, 0.1], [0.3, 0.7]])
    offset, gain = core_noise.accuracy_offset(margin, y_noisy, transition, weight, z=z)
    n_effective = weight.sum() ** 2 / np.sum(weight**2)
    base = _brute_force_terms(margin, y_noisy, transition, 0.0)
    values = np.unique(margin)
    bounds = {}
    for candidate in -(values[:-1] + values[1:]) / 2:
        diff = _brute_force_terms(margin, y_noisy, transition, candidate) - base
        mean = np.average(diff, weights=weight)
        var = np.average((diff - mean) ** 2, weights=weight)
        bounds[candidate] = (mean, mean - z * np.sqrt(var / n_effective))
    best = max(bound for _, bound in bounds.values())
    assert best > 0  # the labels' boundary is at 0.7: there is a gain
    assert offset in bounds
    assert bounds[offset][1] == pytest.approx(best)
    assert gain == pytest.approx(bounds[offset][0])


def test_accuracy_offset_keeps_the_decision_without_a_clear_gain():
    """Check that a gain within the noise of a small split moves nothing."""
    rng = np.random.RandomState(0)
    margin = rng.normal(size=40)
    y_noisy = (margin > 0).astype(int)
    # The three smallest positive margins labelled 1, 0, 0: moving the
    # threshold above them gains two rows and loses one.
    positive = np.flatnonzero(margin > 0)
    y_noisy[positive[np.argsort(margin[positive])[1:3]]] = 0
    assert core_noise.accuracy_offset(margin, y_noisy, np.eye(2)) == (0.0, 0.0)
    offset, gain = core_noise.accuracy_offset(margin, y_noisy, np.eye(2), z=0.0)
    assert offset < 0 and gain == pytest.approx(1 / 40)


def test_accuracy_offset_weights_equal_repeated_rows():
    """Check that integer weights estimate the gains of the repeated rows.

    The bound's standard error counts the effective number of rows, which
    does not grow with repetition: compared at z=0.
    """
    rng = np.random.RandomState(0)
    margin, y_noisy = rng.normal(size=40), rng.randint(0, 2, size=40)
    weight = rng.randint(1, 4, size=40)
    transition = np.array([[0.8, 0.2], [0.1, 0.9]])
    weighted = core_noise.accuracy_offset(margin, y_noisy, transition, weight, z=0)
    repeated = core_noise.accuracy_offset(
        np.repeat(margin, weight), np.repeat(y_noisy, weight), transition, z=0
    )
    assert weighted == pytest.approx(repeated)


def test_accuracy_offset_finds_clean_boundary_under_one_way_noise():
    """Check that the corrected accuracy finds the clean boundary.

    60% of the rows of true class 0 carry label 1: against the noisy labels
    alone, predicting class 1 almost everywhere looks best.
    """
    margin = np.linspace(-3, 3, 601)
    y_true = (margin > 1.0).astype(int)  # the clean boundary is at 1.0
    rng = np.random.RandomState(0)
    transition = np.array([[0.4, 0.6], [0.0, 1.0]])
    y_noisy = np.where((y_true == 0) & (rng.rand(601) < 0.6), 1, y_true)
    offset, _ = core_noise.accuracy_offset(margin, y_noisy, transition)
    assert -offset == pytest.approx(1.0, abs=0.2)
    noisy_offset, _ = core_noise.accuracy_offset(margin, y_noisy, np.eye(2))
    assert -noisy_offset < -2.0


def test_accuracy_offset_single_margin_value():
    """Check that constant margins leave the decision alone."""
    offset, gain = core_noise.accuracy_offset(
        np.zeros(5), np.array([0, 1, 0, 1, 1]), np.eye(2)
    )
    assert offset == 0.0 and gain == 0.0
