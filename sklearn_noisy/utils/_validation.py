"""Input validation shared by the estimators (the one place for sklearn API)."""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "check_batch_size",
    "check_label_types",
    "check_predict_data",
    "check_classification_data",
    "check_fit_sample_weight",
    "stratified_validation_split",
    "validate_data",
]

# Fewest validation rows per class for which the automatic warm-up holds a
# validation split out: a joint matrix of fewer rows is noise, and on data
# that small every row is better used for training.
MIN_VALID_PER_CLASS = 3


def check_label_types(estimator, y):
    """Raise when ``y`` mixes labels of different kinds (e.g. int and str).

    numpy turns a list ``[1, "a"]`` into strings and an object array of both
    into labels that cannot be sorted into classes; either way the user's
    intent is unclear, so say what was found and how to fix it.
    """
    dtype = getattr(y, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "O") != "O":
        return
    kinds = {}
    for value in np.asarray(y, dtype=object).ravel():
        kind = (
            "str"
            if isinstance(value, (str, np.str_, bytes))
            else "bool"
            if isinstance(value, (bool, np.bool_))
            else "number"
            if isinstance(value, (int, float, np.number))
            else type(value).__name__
        )
        kinds.setdefault(kind, value)
        if len(kinds) > 1:
            break
    if len(kinds) > 1:
        examples = ", ".join(f"{v!r} ({k})" for k, v in kinds.items())
        raise ValueError(
            f"y of {type(estimator).__name__} mixes labels of different types: "
            f"{examples}. Classes must all be numbers or all be strings; convert "
            f"them first, e.g. y = np.asarray(y).astype(str)."
        )


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
    check_label_types(estimator, y)
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


def check_fit_sample_weight(estimator, sample_weight, X, y_encoded):
    """Validate ``sample_weight`` for a training loss.

    Returns None for None, else the weights as float64 divided by their mean
    over the rows of positive weight, so that their scale, which the user may
    pick freely, never interacts with a loss's epsilon. Raises for negative
    or non-finite weights, and when the rows of positive weight hold fewer
    than two classes.
    """
    if sample_weight is None:
        return None
    name = type(estimator).__name__
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    positive = sample_weight > 0
    classes = np.unique(y_encoded[positive])
    if len(classes) < 2:
        kept = estimator.classes_[classes].tolist()
        raise ValueError(
            f"{name} needs samples of at least 2 classes with positive "
            f"sample_weight; got positive weight on {positive.sum()} sample(s) "
            f"of class(es) {kept} only."
        )
    return sample_weight / sample_weight[positive].mean()


def stratified_validation_split(y_encoded, fraction, n_classes, random_state):
    """Return ``(train_index, valid_index)``, or None if no split is useful.

    The validation part holds ``round(fraction * n_samples)`` rows, stratified
    by class; None is returned when that is fewer than
    ``MIN_VALID_PER_CLASS`` rows per class, when a class has fewer than two
    samples (no stratified split exists) or when the training part would
    miss a class.
    """
    if not fraction:
        return None
    counts = np.bincount(y_encoded, minlength=n_classes)
    n_valid = int(round(fraction * len(y_encoded)))
    if (
        n_valid < MIN_VALID_PER_CLASS * n_classes
        or counts.min() < 2
        or len(y_encoded) - n_valid < n_classes
    ):
        return None
    splitter = StratifiedShuffleSplit(
        n_splits=1, test_size=n_valid, random_state=random_state
    )
    train, valid = next(splitter.split(np.zeros(len(y_encoded)), y_encoded))
    return np.sort(train), np.sort(valid)
