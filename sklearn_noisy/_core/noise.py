"""Label-noise transition matrices and sampling of noisy labels.

Convention used throughout sklearn-noisy::

    transition_matrix[i, j] = P(noisy label = j | true label = i)

Rows are indexed by the true class, columns by the observed (noisy) label, and every
row sums to 1 (the matrix is row-stochastic). Note that cleanlab's ``noise_matrix``
is the transpose (``noise_matrix[j, i] = P(noisy = j | true = i)``, columns sum to
1).

A label ``y`` of true class ``i`` is corrupted by drawing its noisy label from the
categorical distribution ``transition_matrix[i]``, independently of the features
and of the other samples (instance-independent noise, the setting of the L_DMI
paper [1]_).

Without clean labels, the matrix can be estimated from predicted class
probabilities (:func:`estimate_transition_from_proba`): under
instance-independent noise, the observed labels of the rows that surely
belong to class ``i`` follow row ``i`` of the matrix.

This module depends on NumPy and SciPy only.

References
----------
.. [1] Y. Xu, P. Cao, Y. Kong and Y. Wang, "L_DMI: A Novel Information-theoretic
   Loss Function for Training Deep Nets Robust to Label Noise", NeurIPS 2019,
   arXiv:1909.03388.
"""

import numbers

import numpy as np

__all__ = [
    "accuracy_offset",
    "check_transition_matrix",
    "clean_prior",
    "estimate_transition_from_proba",
    "make_transition_matrix",
    "sample_noisy_labels",
]

_KINDS = ("symmetric", "uniform", "pair", "pairs")

# Fewest anchor rows per class in estimate_transition_from_proba: a label
# histogram of fewer rows is too coarse to estimate a row of the matrix.
_MIN_ANCHORS = 5

# Tolerance on row sums: loose enough for matrices typed by hand with a few
# decimals or normalised in float32, tight enough to catch a transposed matrix.
_ROW_SUM_ATOL = 1e-6


class _InvalidTypeError(ValueError, TypeError):
    """A parameter of the wrong type.

    Like scikit-learn's ``InvalidParameterError``, it is both a ValueError and a
    TypeError, so that callers may catch either.
    """


def _check_n_classes(n_classes, caller):
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise _InvalidTypeError(
            f"The 'n_classes' parameter of {caller} must be an int >= 2. "
            f"Got {n_classes!r} of type {type(n_classes).__name__} instead."
        )
    if n_classes < 2:
        raise ValueError(
            f"The 'n_classes' parameter of {caller} must be an int >= 2. "
            f"Got {n_classes!r} instead."
        )
    return int(n_classes)


def _check_noise_rate(noise_rate, caller):
    if isinstance(noise_rate, bool) or not isinstance(noise_rate, numbers.Real):
        raise _InvalidTypeError(
            f"The 'noise_rate' parameter of {caller} must be a float in the range "
            f"[0, 1]. Got {noise_rate!r} of type {type(noise_rate).__name__} "
            "instead."
        )
    if not 0.0 <= noise_rate <= 1.0:  # also rejects NaN
        raise ValueError(
            f"The 'noise_rate' parameter of {caller} must be a float in the range "
            f"[0, 1]. Got {noise_rate!r} instead."
        )
    return float(noise_rate)


def _check_pairs(pairs, n_classes, caller):
    """Validate ``pairs`` and return it as a list of ``(source, target)`` ints."""
    expected = (
        f"The 'pairs' parameter of {caller} must be a non-empty sequence of "
        "(source, target) pairs of int class indices, such as [(9, 1), (2, 0)]."
    )
    try:
        pairs = [tuple(pair) for pair in pairs]
    except TypeError:
        raise _InvalidTypeError(f"{expected} Got {pairs!r} instead.") from None
    if not pairs:
        raise ValueError(
            f"{expected} Got an empty sequence instead; for noise-free labels use "
            "noise_rate=0."
        )
    seen_sources = set()
    for pair in pairs:
        if len(pair) != 2 or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in pair
        ):
            raise ValueError(f"{expected} Got the entry {pair!r} instead.")
        source, target = int(pair[0]), int(pair[1])
        if not (0 <= source < n_classes and 0 <= target < n_classes):
            raise ValueError(
                f"The 'pairs' parameter of {caller} must hold class indices in the "
                f"range [0, {n_classes - 1}] for n_classes={n_classes}. Got the "
                f"entry {pair!r} instead."
            )
        if source == target:
            raise ValueError(
                f"The 'pairs' parameter of {caller} must flip each source class to "
                f"a different target class. Got the entry {pair!r}, which flips "
                f"class {source} to itself."
            )
        if source in seen_sources:
            raise ValueError(
                f"The 'pairs' parameter of {caller} must list each source class at "
                f"most once. Got the source class {source} more than once; for a "
                "class that flips to several targets, write the matrix by hand "
                "(see check_transition_matrix)."
            )
        seen_sources.add(source)
    return [(int(s), int(t)) for s, t in pairs]


def make_transition_matrix(n_classes, noise_rate, *, kind="symmetric", pairs=None):
    """Build a label-noise transition matrix.

    The matrix follows the convention ``transition_matrix[i, j] = P(noisy label = j
    | true label = i)``: rows are true classes, columns noisy labels, and every row
    sums to 1 (cleanlab's ``noise_matrix`` is the transpose).

    Parameters
    ----------
    n_classes : int
        Number of classes C; must be at least 2.

    noise_rate : float
        Noise rate r in [0, 1]. Its meaning depends on `kind`, see below.

    kind : {"symmetric", "uniform", "pair", "pairs"}, default="symmetric"
        Noise model:

        - ``"symmetric"``: a label flips with probability r to each other class
          equally, ``T[i, i] = 1 - r`` and ``T[i, j] = r / (C - 1)`` for ``j != i``
          (the class-independent noise of the L_DMI paper on CIFAR-10, with
          off-diagonal r/9).
        - ``"uniform"``: with probability r the label is replaced by a class drawn
          uniformly among all C classes, itself included, ``T[i, i] = 1 - r + r /
          C`` and ``T[i, j] = r / C`` (the class-independent noise of the L_DMI
          paper on binary Fashion-MNIST, ``[[1 - r/2, r/2], [r/2, 1 - r/2]]``).
        - ``"pair"``: class i flips to class ``(i + 1) mod C`` with probability r.
        - ``"pairs"``: class ``source`` flips to class ``target`` with probability r
          for each ``(source, target)`` in `pairs`; the other classes stay clean.

    pairs : sequence of (int, int), default=None
        The ``(source, target)`` class indices for ``kind="pairs"``; required for
        that kind and not accepted for the others. A source may appear only once.

    Returns
    -------
    transition_matrix : ndarray of shape (n_classes, n_classes), dtype=float64
        Row-stochastic matrix, ``transition_matrix[i, j] = P(noisy label = j |
        true label = i)``.

    See Also
    --------
    sklearn_noisy.noise.inject_label_noise : Corrupt labels with a transition
        matrix.
    sklearn_noisy.noise.estimate_transition_matrix : Empirical transition matrix
        between two labellings.

    Notes
    -----
    The noise models of the L_DMI paper [1]_ (Section 5) are obtained as follows,
    with ``r`` the noise amount:

    - CIFAR-10 class-dependent noise, truck → automobile, bird → airplane,
      deer → horse, cat → dog: ``kind="pairs", pairs=[(9, 1), (2, 0), (4, 7),
      (3, 5)]`` (class indices in the order of the CIFAR-10 release).
    - CIFAR-10 class-independent noise: ``kind="symmetric"`` with 10 classes.
    - Binary class-dependent case (a), ``[[1 - r, r], [0, 1]]``: ``kind="pairs",
      pairs=[(0, 1)]``; case (b), ``[[1, 0], [r, 1 - r]]``: ``kind="pairs",
      pairs=[(1, 0)]``.
    - Binary class-independent case, ``[[1 - r/2, r/2], [r/2, 1 - r/2]]``:
      ``kind="uniform"`` with 2 classes.

    Above ``r = 0.5`` the pair and pairs matrices are no longer diagonally
    dominant: a flipped class is then observed more often under its target label
    than under its own.

    References
    ----------
    .. [1] Y. Xu, P. Cao, Y. Kong and Y. Wang, "L_DMI: A Novel
       Information-theoretic Loss Function for Training Deep Nets Robust to Label
       Noise", NeurIPS 2019, arXiv:1909.03388.

    Examples
    --------
    >>> from sklearn_noisy.noise import make_transition_matrix
    >>> make_transition_matrix(3, 0.2)
    array([[0.8, 0.1, 0.1],
           [0.1, 0.8, 0.1],
           [0.1, 0.1, 0.8]])
    >>> make_transition_matrix(2, 0.4, kind="uniform")
    array([[0.8, 0.2],
           [0.2, 0.8]])
    >>> make_transition_matrix(3, 0.3, kind="pair")
    array([[0.7, 0.3, 0. ],
           [0. , 0.7, 0.3],
           [0.3, 0. , 0.7]])
    >>> make_transition_matrix(2, 0.3, kind="pairs", pairs=[(1, 0)])
    array([[1. , 0. ],
           [0.3, 0.7]])
    """
    caller = "make_transition_matrix"
    n_classes = _check_n_classes(n_classes, caller)
    noise_rate = _check_noise_rate(noise_rate, caller)
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(
            f"The 'kind' parameter of {caller} must be a str among "
            f"{sorted(_KINDS)}. Got {kind!r} instead."
        )
    if kind == "pairs" and pairs is None:
        raise ValueError(
            f"The 'pairs' parameter of {caller} is required with kind='pairs': a "
            "sequence of (source, target) class indices such as [(9, 1), (2, 0)]. "
            "Got None instead."
        )
    if kind != "pairs" and pairs is not None:
        raise ValueError(
            f"The 'pairs' parameter of {caller} is only used with kind='pairs'. "
            f"Got pairs={pairs!r} with kind={kind!r}; pass kind='pairs' or drop "
            "pairs."
        )

    r = noise_rate
    if kind == "symmetric":
        matrix = np.full((n_classes, n_classes), r / (n_classes - 1))
        np.fill_diagonal(matrix, 1.0 - r)
    elif kind == "uniform":
        matrix = np.full((n_classes, n_classes), r / n_classes)
        np.fill_diagonal(matrix, 1.0 - r + r / n_classes)
    else:
        if kind == "pair":
            pairs = [(i, (i + 1) % n_classes) for i in range(n_classes)]
        else:
            pairs = _check_pairs(pairs, n_classes, caller)
        matrix = np.eye(n_classes)
        sources, targets = np.array(pairs).T
        matrix[sources, sources] = 1.0 - r
        matrix[sources, targets] = r
    return matrix


def check_transition_matrix(transition_matrix, n_classes=None):
    """Validate a transition matrix and return it as a float64 array.

    A valid matrix is square, finite, non-negative and row-stochastic: each row
    sums to 1 within an absolute tolerance of 1e-6, following the convention
    ``transition_matrix[i, j] = P(noisy label = j | true label = i)`` (cleanlab's
    ``noise_matrix`` is the transpose).

    Parameters
    ----------
    transition_matrix : array-like of shape (n_classes, n_classes)
        Matrix to validate.

    n_classes : int, default=None
        Expected number of classes. If None, any square shape is accepted.

    Returns
    -------
    transition_matrix : ndarray of shape (n_classes, n_classes), dtype=float64
        A float64 copy of the input.

    Raises
    ------
    ValueError
        If the matrix is not numeric, not square, of the wrong size, holds
        non-finite or negative entries, or has a row that does not sum to 1.

    Examples
    --------
    >>> from sklearn_noisy._core.noise import check_transition_matrix
    >>> check_transition_matrix([[0.9, 0.1], [0, 1]])
    array([[0.9, 0.1],
           [0. , 1. ]])
    """
    if n_classes is not None:
        n_classes = _check_n_classes(n_classes, "check_transition_matrix")
    return _check_transition_matrix(
        transition_matrix, n_classes=n_classes, caller="check_transition_matrix"
    )


def _check_transition_matrix(transition_matrix, *, n_classes, caller):
    """Validate like :func:`check_transition_matrix`, naming ``caller``."""
    prefix = f"The 'transition_matrix' parameter of {caller} must be"
    try:
        matrix = np.array(transition_matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{prefix} a square array-like of numbers. Got {transition_matrix!r}, "
            "which cannot be converted to float64."
        ) from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise ValueError(
            f"{prefix} a non-empty square 2-D array of shape (n_classes, "
            f"n_classes). Got shape {matrix.shape} instead."
        )
    if n_classes is not None and matrix.shape[0] != n_classes:
        raise ValueError(
            f"{prefix} of shape ({n_classes}, {n_classes}) for n_classes="
            f"{n_classes}. Got shape {matrix.shape} instead."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{prefix} finite. Got NaN or infinite entries.")
    if np.any(matrix < 0):
        raise ValueError(
            f"{prefix} non-negative. Got the entry {matrix.min()!r} at "
            f"{np.unravel_index(np.argmin(matrix), matrix.shape)}."
        )
    row_sums = matrix.sum(axis=1)
    bad_rows = np.flatnonzero(~np.isclose(row_sums, 1.0, rtol=0.0, atol=_ROW_SUM_ATOL))
    if bad_rows.size:
        raise ValueError(
            f"{prefix} row-stochastic: transition_matrix[i, j] = P(noisy label = j "
            "| true label = i), so each row sums to 1. Got row sums "
            f"{row_sums[bad_rows].tolist()} for rows {bad_rows.tolist()}. A matrix "
            "whose columns sum to 1, such as cleanlab's noise_matrix, must be "
            "transposed."
        )
    return matrix


def sample_noisy_labels(y_encoded, transition_matrix, rng):
    """Draw noisy labels from a transition matrix.

    Each label ``i`` is replaced by a draw from the categorical distribution
    ``transition_matrix[i]``, where ``transition_matrix[i, j] = P(noisy label = j |
    true label = i)`` and rows sum to 1 (cleanlab's ``noise_matrix`` is the
    transpose). The draws are independent across samples.

    Parameters
    ----------
    y_encoded : array-like of shape (n_samples,)
        True labels as integer class indices in ``[0, n_classes)``.

    transition_matrix : array-like of shape (n_classes, n_classes)
        Row-stochastic transition matrix; validated with
        :func:`check_transition_matrix`.

    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(0)``. Exactly one
        uniform number is drawn per sample, in sample order.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,), dtype=intp
        Noisy labels as class indices; a new array.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_noisy._core.noise import sample_noisy_labels
    >>> transition_matrix = [[0.0, 1.0], [0.0, 1.0]]
    >>> sample_noisy_labels([0, 1, 0], transition_matrix, np.random.default_rng(0))
    array([1, 1, 1])
    """
    caller = "sample_noisy_labels"
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"The 'rng' parameter of {caller} must be a numpy.random.Generator, "
            f"such as np.random.default_rng(0). Got {type(rng).__name__} instead."
        )
    matrix = _check_transition_matrix(transition_matrix, n_classes=None, caller=caller)
    n_classes = matrix.shape[0]
    y_encoded = np.asarray(y_encoded)
    if y_encoded.ndim != 1:
        raise ValueError(
            f"The 'y_encoded' parameter of {caller} must be a 1-D array of class "
            f"indices. Got shape {y_encoded.shape} instead."
        )
    if y_encoded.size == 0:
        return np.empty(0, dtype=np.intp)
    if not np.issubdtype(y_encoded.dtype, np.integer):
        raise ValueError(
            f"The 'y_encoded' parameter of {caller} must hold int class indices. "
            f"Got dtype {y_encoded.dtype} instead; encode the labels first, e.g. "
            "with np.unique(y, return_inverse=True)."
        )
    if y_encoded.min() < 0 or y_encoded.max() >= n_classes:
        raise ValueError(
            f"The 'y_encoded' parameter of {caller} must hold class indices in the "
            f"range [0, {n_classes - 1}] for a transition_matrix of shape "
            f"{matrix.shape}. Got values in [{y_encoded.min()}, "
            f"{y_encoded.max()}] instead."
        )

    cumulative = np.cumsum(matrix, axis=1)
    # Inverse-CDF sampling: scaling u by the row's own total (instead of assuming
    # it is exactly 1) keeps rounding from sending a draw past the last column.
    # If u * total still rounds up to total, fall back to the last column with
    # positive probability so that a zero-probability label is never drawn.
    last_positive = n_classes - 1 - np.argmax(matrix[:, ::-1] > 0, axis=1)
    uniform = rng.random(y_encoded.shape[0])
    y_noisy = np.empty(y_encoded.shape[0], dtype=np.intp)
    # One vectorised searchsorted per class, not one Python step per sample.
    for k in np.unique(y_encoded):
        mask = y_encoded == k
        drawn = np.searchsorted(
            cumulative[k], uniform[mask] * cumulative[k, -1], side="right"
        )
        y_noisy[mask] = np.minimum(drawn, last_positive[k])
    return y_noisy


def estimate_transition_from_proba(y_encoded, proba, anchor_fraction=0.3):
    """Estimate a transition matrix from noisy labels and predicted probabilities.

    Row ``i`` of the estimate is the distribution of the observed labels over
    the rows most confidently predicted as class ``i``: the
    ``anchor_fraction * n_i`` rows of highest ``proba[:, i]``, where ``n_i =
    proba[:, i].sum()`` is the expected size of class ``i`` (at least 5 rows).
    Under instance-independent noise, a row that surely belongs to class
    ``i`` (an anchor point) carries an observed label drawn from
    ``transition_matrix[i]``, whatever its features, so the label histogram
    of near-anchors estimates that row without relying on the calibration of
    ``proba``. A smaller fraction takes purer anchors and fewer labels.

    Parameters
    ----------
    y_encoded : ndarray of shape (n_samples,)
        Observed labels as class indices in ``[0, n_classes)``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities of each class, best out of sample (from
        cross-validation, or from a noise-robust classifier).
    anchor_fraction : float, default=0.3
        Share of each class's expected size used as its anchors.

    Returns
    -------
    transition_matrix : ndarray of shape (n_classes, n_classes)
        ``transition_matrix[i, j]``: estimated ``P(noisy label = j | true
        label = i)``; rows sum to 1 (cleanlab's ``noise_matrix`` is the
        transpose).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_noisy._core.noise import estimate_transition_from_proba
    >>> proba = np.repeat([[0.9, 0.1], [0.1, 0.9]], 50, axis=0)
    >>> y_noisy = np.repeat([0, 1], 50)
    >>> y_noisy[:10] = 1  # 10 of the 50 rows of class 0 carry label 1
    >>> estimate_transition_from_proba(y_noisy, proba, anchor_fraction=1.0)
    array([[0.8, 0.2],
           [0. , 1. ]])
    """
    y_encoded = np.asarray(y_encoded)
    proba = np.asarray(proba, dtype=np.float64)
    n_samples, n_classes = proba.shape
    expected = proba.sum(axis=0)
    matrix = np.eye(n_classes)
    for i in range(n_classes):
        size = int(
            min(n_samples, max(_MIN_ANCHORS, round(anchor_fraction * expected[i])))
        )
        anchors = np.argsort(-proba[:, i], kind="stable")[:size]
        matrix[i] = np.bincount(y_encoded[anchors], minlength=n_classes) / size
    return matrix


def clean_prior(transition_matrix, noisy_prior):
    """Return the class prior ``p`` whose noisy labels have prior ``noisy_prior``.

    Solves ``transition_matrix.T @ p = noisy_prior`` for ``p`` on the
    probability simplex, by non-negative least squares (exact when the matrix
    is invertible and the solution is non-negative).

    Parameters
    ----------
    transition_matrix : ndarray of shape (n_classes, n_classes)
        ``transition_matrix[i, j] = P(noisy label = j | true label = i)``.
    noisy_prior : ndarray of shape (n_classes,)
        Frequencies of the observed labels.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        Estimated frequencies of the true classes; sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_noisy._core.noise import clean_prior
    >>> clean_prior(np.array([[0.8, 0.2], [0.0, 1.0]]), np.array([0.4, 0.6]))
    array([0.5, 0.5])
    """
    from scipy.optimize import nnls

    prior, _ = nnls(np.asarray(transition_matrix, dtype=np.float64).T, noisy_prior)
    total = prior.sum()
    if total <= 0:
        return np.asarray(noisy_prior, dtype=np.float64) / np.sum(noisy_prior)
    return prior / total


def accuracy_offset(margin, y_encoded, transition_matrix, sample_weight=None, *, z=1.0):
    """Offset of a binary margin that raises the estimated clean accuracy.

    A classifier predicts class 1 where ``margin + offset > 0`` (``margin``:
    the logit of class 1 minus that of class 0). Scored against noisy labels,
    its confusion ``C_noisy[j, k]`` (label ``j``, prediction ``k``) relates to
    the confusion ``C`` against the true labels through the transition
    matrix: ``C_noisy = T.T @ C`` under instance-independent noise, so the
    clean accuracy ``trace(inv(T.T) @ C_noisy) / n`` is estimated without a
    clean label: the mean over the rows of ``inv(T.T)[prediction, label]``.
    An offset changes the prediction of the rows whose margins it crosses;
    its estimated gain over no offset is the mean, over all rows, of what
    their terms change, with a standard error from the same terms. The
    offset with the highest lower bound ``gain - z * standard error`` is
    chosen among the midpoints between consecutive distinct margins where
    both classes are predicted (the smallest in absolute value among ties),
    and none (0.0) when no bound is positive: a small validation split then
    keeps the decision rather than chase its noise.

    Parameters
    ----------
    margin : ndarray of shape (n_samples,)
        ``logit[:, 1] - logit[:, 0]`` of each row.
    y_encoded : ndarray of shape (n_samples,)
        Observed (noisy) labels, 0 or 1.
    transition_matrix : ndarray of shape (2, 2)
        ``transition_matrix[i, j] = P(noisy label = j | true label = i)``;
        must be invertible.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Weight of each row; None counts every row once. The standard error
        uses the effective number of rows ``sum(w) ** 2 / sum(w ** 2)``.
    z : float, default=1.0
        Standard errors the gain must clear; 0 maximises the estimated
        accuracy itself.

    Returns
    -------
    offset : float
        What to add to the margin (0.0: keep the decision).
    gain : float
        The estimated clean-accuracy gain at that offset (0.0 for none).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_noisy._core.noise import accuracy_offset
    >>> margin = np.linspace(-3, 3, 61)
    >>> y_noisy = (margin > 1.05).astype(int)  # the labels' boundary is at 1
    >>> offset, gain = accuracy_offset(margin, y_noisy, np.eye(2))
    >>> round(float(offset), 2), round(float(gain), 3)
    (-1.05, 0.164)
    """
    margin = np.asarray(margin, dtype=np.float64)
    y_encoded = np.asarray(y_encoded)
    weight = (
        np.ones(len(margin))
        if sample_weight is None
        else np.asarray(sample_weight, dtype=np.float64)
    )
    order = np.argsort(margin, kind="stable")
    margin, y_encoded, weight = margin[order], y_encoded[order], weight[order]
    inverse = np.linalg.inv(np.asarray(transition_matrix, dtype=np.float64).T)
    # What a row adds to the estimated accuracy when predicted 1 instead of 0.
    delta = inverse[1, y_encoded] - inverse[0, y_encoded]
    total = weight.sum()
    n_effective = total**2 / np.sum(weight**2)
    # Weighted prefix sums of delta and delta ** 2: the rows below cut k are
    # 0 .. k - 1; the decision as it stands predicts 1 from row `start` on.
    first = np.concatenate([[0.0], np.cumsum(weight * delta)])
    second = np.concatenate([[0.0], np.cumsum(weight * delta**2)])
    start = int(np.searchsorted(margin, 0.0, side="right"))
    cut = np.flatnonzero(np.diff(margin) > 0) + 1  # both classes predicted
    if len(cut) == 0:
        return 0.0, 0.0
    # Cuts below `start` flip rows k .. start - 1 to 1 (+delta); cuts above
    # flip rows start .. k - 1 to 0 (-delta). Squares need no sign.
    gain = (first[start] - first[cut]) / total
    spread = np.abs(second[start] - second[cut]) / total - gain**2
    bound = gain - z * np.sqrt(np.maximum(spread, 0.0) / n_effective)
    threshold = (margin[cut - 1] + margin[cut]) / 2
    best = bound.max()
    if best <= 0:
        return 0.0, 0.0
    ties = np.flatnonzero(bound >= best - 1e-12)
    pick = ties[np.argmin(np.abs(threshold[ties]))]
    return float(-threshold[pick]), float(gain[pick])
