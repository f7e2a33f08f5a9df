"""CleanLabelClassifier: drop suspected mislabeled rows, then fit a classifier."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
)

from ._mislabel_detector import MislabelDetector, _take_rows
from .utils._validation import (
    _naming_non_numeric_columns,
    check_label_types,
    validate_data,
)


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        # `is None`, not `or`: ensembles define __len__ (len(estimators_)),
        # which raises on an unfitted one.
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        return hasattr(estimator, attr)

    return check


class CleanLabelClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier on the rows whose labels a detector does not flag.

    ``fit(X, y)`` runs ``detector`` on the training data, drops the flagged
    rows and fits ``estimator`` on the rest. As the last step of a
    scikit-learn :class:`~sklearn.pipeline.Pipeline` it cleans the training
    data only: ``predict`` and ``score`` use the fitted estimator on any rows,
    so the pipeline works in ``cross_val_score`` and ``GridSearchCV``, which
    can also tune the detector (``detector__contamination``). For
    imbalanced-learn pipelines, :meth:`MislabelDetector.fit_resample` does the
    same job as a sampler step.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        The classifier trained on the kept rows (cloned). None uses
        ``LogisticRegression(max_iter=1000)``.
    detector : MislabelDetector or None, default=None
        Finds the rows to drop (cloned); anything with ``fit_predict(X, y)``
        returning -1 for rows to drop works. None uses ``MislabelDetector()``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit`` (including classes whose every row was
        dropped: their probability is 0).
    detector_ : MislabelDetector
        The fitted detector.
    estimator_ : classifier
        The classifier fitted on the kept rows.
    sample_indices_ : ndarray of int
        Indices of the training rows kept.
    label_issues_ : ndarray of int
        Indices of the training rows dropped.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    MislabelDetector : The default detector.
    DMIClassifier : Keep all rows and train with a noise-robust loss instead.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import CleanLabelClassifier, MislabelDetector
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CleanLabelClassifier(
    ...     detector=MislabelDetector(max_epochs=5, random_state=0)
    ... ).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "detector": [HasMethods(["fit_predict"]), None],
    }

    def __init__(self, estimator=None, detector=None):
        self.estimator = estimator
        self.detector = detector

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Detect, drop the flagged rows and fit the estimator on the rest.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Given labels; some may be wrong.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples, passed to the detector's ``fit_predict``
            and, for the kept rows, to the estimator's ``fit``; a ValueError
            says which of the two does not accept them.
        **fit_params : dict
            Passed to the estimator's ``fit`` (sliced to the kept rows when
            they are per-sample arrays).

        Returns
        -------
        self : CleanLabelClassifier
            The fitted classifier.
        """
        self._validate_params()
        check_label_types(self, y)
        with _naming_non_numeric_columns(self, X):
            validate_data(
                self,
                X,
                y,
                accept_sparse="csr",
                allow_nd=True,
                dtype=None,
                ensure_all_finite=False,
                skip_check_array=False,
            )
        self.classes_ = np.unique(np.asarray(y))
        self.detector_ = clone(
            MislabelDetector() if self.detector is None else self.detector
        )
        estimator = clone(
            LogisticRegression(max_iter=1000)
            if self.estimator is None
            else self.estimator
        )
        detector_params = {}
        if sample_weight is not None:
            self._check_accepts_weights(self.detector_, estimator)
            # A scalar weight is one weight per row, as for the detector.
            if isinstance(sample_weight, np.ndarray) and sample_weight.ndim == 0:
                sample_weight = float(sample_weight)
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            detector_params["sample_weight"] = sample_weight
            fit_params["sample_weight"] = sample_weight
        keep = np.asarray(self.detector_.fit_predict(X, y, **detector_params)) == 1
        self.sample_indices_ = np.flatnonzero(keep)
        self.label_issues_ = np.flatnonzero(~keep)
        self._check_kept_classes(_take_rows(y, self.sample_indices_))
        n = len(keep)
        params = {
            k: _take_rows(v, self.sample_indices_)
            if hasattr(v, "__len__") and len(v) == n
            else v
            for k, v in fit_params.items()
        }
        self.estimator_ = estimator
        self.estimator_.fit(
            _take_rows(X, self.sample_indices_),
            _take_rows(y, self.sample_indices_),
            **params,
        )
        return self

    def _check_kept_classes(self, y_kept):
        """Raise when the detector left fewer than two classes to fit."""
        kept = np.unique(np.asarray(y_kept)).tolist()
        if len(kept) >= 2:
            return
        dropped = [c for c in self.classes_.tolist() if c not in kept]
        raise ValueError(
            f"The detector of CleanLabelClassifier flagged every row of the "
            f"class(es) {dropped} ({len(self.label_issues_)} of "
            f"{len(self.label_issues_) + len(self.sample_indices_)} rows in "
            f"all), so the kept rows hold "
            + (f"only the class {kept[0]!r}" if len(kept) else "no rows")
            + ": no classifier can be fitted on them. Give the detector a "
            "smaller contamination, or check the labels (detector_."
            "label_issues_ lists the flagged rows)."
        )

    def _check_accepts_weights(self, detector, estimator):
        """Raise when the detector or the estimator cannot take sample_weight."""
        parameters = inspect.signature(detector.fit_predict).parameters
        if "sample_weight" not in parameters:
            raise ValueError(
                f"CleanLabelClassifier got sample_weight, but the fit_predict of "
                f"its detector {type(detector).__name__} does not accept "
                f"sample_weight. Use a detector that does (MislabelDetector) or "
                f"fit without weights."
            )
        if not has_fit_parameter(estimator, "sample_weight"):
            raise ValueError(
                f"CleanLabelClassifier got sample_weight, but the fit of its "
                f"estimator {type(estimator).__name__} does not accept "
                f"sample_weight. Use an estimator that does or fit without "
                f"weights."
            )

    def predict(self, X):
        """Predict with the estimator fitted on the kept rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities; a class every row of which was dropped gets 0.
        """
        check_is_fitted(self)
        proba = self.estimator_.predict_proba(X)
        columns = np.searchsorted(self.classes_, self.estimator_.classes_)
        full = np.zeros((proba.shape[0], len(self.classes_)))
        full[:, columns] = proba
        return full

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the estimator fitted on the kept rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As the estimator's ``decision_function``, in the order of
            ``classes_``: of shape ``(n_samples,)`` for two classes. When
            the detector dropped every row of a class, the estimator knows
            fewer classes than ``classes_``: the scores are then spread over
            ``n_classes`` columns (a two-class estimator's score ``d`` as
            ``-d`` and ``d`` in its two classes' columns), and a dropped
            class gets ``-inf``.
        """
        check_is_fitted(self)
        decision = self.estimator_.decision_function(X)
        known = np.asarray(self.estimator_.classes_)
        if len(known) == len(self.classes_):
            return decision
        decision = np.asarray(decision, dtype=np.float64)
        if decision.ndim == 1:
            decision = np.column_stack([-decision, decision])
        full = np.full((decision.shape[0], len(self.classes_)), -np.inf)
        full[:, np.searchsorted(self.classes_, known)] = decision
        return full

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
