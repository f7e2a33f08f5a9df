"""Input validation shared by the estimators (the one place for sklearn API)."""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "check_batch_size",
    "check_predict_data",
    "check_classification_data",
    "check_uniform_sample_weight",
    "stratified_validation_split",
    "validate_data",
]


def check_classification_data(estimator, X, y):
    """Validate ``X, y`` for ``fit`` and encode ``y``.

    Returns
    -------
    X : ndarray or CSR matrix of dtype float32
        ``X`` as validated (never the user's object: a copy where needed).
    y_encoded : ndarray of int64
        Labels as indices into ``estimator.classes_`` (set here).
    """
    name = type(estimator).__name__
    with _naming_non_numeric_columns(estimator, X):
        X, y = validate_data(
            estimator,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float32, np.float64],
            allow_nd=True,
            ensure_min_samples=1,
        )
    check_classification_targets(y)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes in y; got 1 class "
            f"({classes[0]!r}) in {len(y)} sample(s)."
        )
    estimator.classes_ = classes
    return X, y_encoded.astype(np.int64)


def check_predict_data(estimator, X):
    """Validate ``X`` after ``fit``: same features, dtypes and layout as in fit."""
    with _naming_non_numeric_columns(estimator, X):
        return validate_data(
            estimator,
            X,
            accept_sparse="csr",
            dtype=[np.float32, np.float64],
            allow_nd=True,
            reset=False,
        )


@contextlib.contextmanager
def _naming_non_numeric_columns(estimator, X):
    """Re-raise scikit-learn's conversion error with the culprit DataFrame columns.

    ``validate_data`` converts a DataFrame to floats and fails with numpy's
    "could not convert string to float: '2020-01-01'", which names neither the
    column nor the fix (issue 9). Duck-typed on ``X.dtypes`` so that pandas
    stays an optional dependency.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        columns = _non_numeric_columns(X)
        if not columns or "feature name" in str(exc).lower():
            raise
        shown = ", ".join(
            f"{column!r} ({dtype}, e.g. {example!r})"
            for column, dtype, example in columns[:5]
        )
        more = f" and {len(columns) - 5} more" if len(columns) > 5 else ""
        error = ValueError if isinstance(exc, ValueError) else TypeError
        raise error(
            f"{type(estimator).__name__} needs numeric features, but column(s) "
            f"{shown}{more} of X are not numeric. Encode them first, e.g. with "
            f"sklearn.compose.ColumnTransformer (OneHotEncoder for categories, "
            f"TfidfVectorizer for text, numbers derived from dates), or drop "
            f"them."
        ) from exc


def _non_numeric_columns(X):
    """Return ``[(column, dtype, first value)]`` of non-numeric DataFrame columns."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items") or not hasattr(X, "iloc"):
        return []
    found = []
    for k, (column, dtype) in enumerate(dtypes.items()):
        # Numpy kinds: b(ool), i(nt), u(nsigned), f(loat), c(omplex); pandas
        # object, string, category and datetime columns report another kind.
        if getattr(dtype, "kind", "O") not in "biufc":
            values = X.iloc[:, k].dropna()
            found.append((column, str(dtype), values.iloc[0] if len(values) else None))
    return found


def check_batch_size(estimator, n_classes, world_size=1):
    """Raise when a batch cannot hold one sample of every class.

    Under data parallelism L_DMI runs on each process's share of a batch,
    ``batch_size // world_size`` rows: that share must hold every class.
    """
    share = estimator.batch_size // world_size
    if world_size > 1 and share < n_classes:
        raise ValueError(
            f"batch_size={estimator.batch_size} of {type(estimator).__name__} is "
            f"split over {world_size} processes, {share} rows each, fewer than "
            f"the number of classes ({n_classes}); L_DMI runs on each process's "
            f"rows and its determinant needs full-rank batches. Increase "
            f"batch_size to well above {n_classes * world_size}."
        )
    if estimator.batch_size < n_classes:
        raise ValueError(
            f"batch_size={estimator.batch_size} of {type(estimator).__name__} is "
            f"smaller than the number of classes ({n_classes}); L_DMI's "
            f"determinant needs full-rank batches. Increase batch_size to well "
            f"above {n_classes}."
        )


def check_uniform_sample_weight(estimator, sample_weight, X):
    """Accept ``None`` or equal weights; refuse weights that would be ignored.

    Uniform weights change neither the cross-entropy (a mean) nor the argmin of
    L_DMI (a scaled ``U`` shifts ``log|det U|`` by a constant), so they are
    honoured exactly; anything else would be silently ignored.
    """
    if sample_weight is None:
        return
    sample_weight = _check_sample_weight(sample_weight, X)
    if not np.allclose(sample_weight, sample_weight[0]):
        raise ValueError(
            f"{type(estimator).__name__} cannot honour non-uniform sample_weight "
            f"(got weights from {sample_weight.min():g} to "
            f"{sample_weight.max():g}): the mini-batch loss has no per-sample "
            f"weights. Resample the rows instead, e.g. np.repeat for integer "
            f"weights, or pass sample_weight=None."
        )


def stratified_validation_split(y_encoded, fraction, n_classes, random_state):
    """Return ``(train_index, valid_index)``, or None if no split is possible.

    The validation part holds at least one sample per class, and each class
    keeps at least one sample for training; with fewer than two samples in a
    class no stratified split exists and None is returned.
    """
    if not fraction:
        return None
    counts = np.bincount(y_encoded, minlength=n_classes)
    n_valid = max(int(round(fraction * len(y_encoded))), n_classes)
    if counts.min() < 2 or len(y_encoded) - n_valid < n_classes:
        return None
    splitter = StratifiedShuffleSplit(
        n_splits=1, test_size=n_valid, random_state=random_state
    )
    train, valid = next(splitter.split(np.zeros(len(y_encoded)), y_encoded))
    return np.sort(train), np.sort(valid)
