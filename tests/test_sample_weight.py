"""Tests for sample_weight in MislabelDetector and CleanLabelClassifier.

DMIClassifier's weights are tested in test_dmi_classifier.py.
"""

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from sklearn_noisy import CleanLabelClassifier, MislabelDetector

FAST = dict(max_epochs=5, batch_size=32, module__hidden_units=(32,), random_state=0)


@pytest.fixture(scope="module")
def small():
    """300 digits as ``X / 16`` and their labels."""
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_detector_uniform_weights_score_as_none(small):
    """Check that equal weights give the scores of no weights."""
    X, y = small
    plain = MislabelDetector(**FAST).fit(X, y)
    weighted = MislabelDetector(**FAST).fit(X, y, sample_weight=np.full(len(y), 2.0))
    np.testing.assert_allclose(weighted.train_scores_, plain.train_scores_, atol=1e-5)


@pytest.mark.parametrize(
    "estimator",
    [
        None,
        SGDClassifier(loss="log_loss", random_state=0),
        GradientBoostingClassifier(n_estimators=10, random_state=0),
    ],
)
def test_detector_weights_reach_the_training_loss(small, estimator):
    """Check that rows of weight 0 are scored but not learnt from.

    With the rows of class 3 weighted 0, the model never learns class 3, so
    those rows disagree with the prediction and rank lower among all scores
    than when they count (ranks: the default statistic's scale depends on
    the model), and are flagged more often than the other rows.
    """
    X, y = small
    params = FAST if estimator is None else dict(estimator=estimator, max_epochs=5)
    weight = np.where(y == 3, 0.0, 1.0)
    plain = MislabelDetector(**params).fit(X, y)
    blind = MislabelDetector(**params).fit(X, y, sample_weight=weight)
    assert blind.train_scores_.shape == (len(y),)
    assert np.isfinite(blind.train_scores_).all()
    threes = y == 3
    blind_rank = rankdata(blind.train_scores_)[threes].mean() / len(y)
    plain_rank = rankdata(plain.train_scores_)[threes].mean() / len(y)
    assert blind_rank < plain_rank - 0.05
    flagged = blind.fit_predict(X, y, sample_weight=weight) == -1
    assert flagged[threes].mean() > flagged[~threes].mean()


class _Spy(ClassifierMixin, BaseEstimator):
    """A classifier that remembers the sample_weight of its fit."""

    def fit(self, X, y, sample_weight=None):
        self.sample_weight_ = sample_weight
        self.model_ = LogisticRegression(max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_clean_label_classifier_routes_weights(small):
    """Check that the weights reach the detector and, for kept rows, the estimator."""
    X, y = small
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    detector = MislabelDetector(contamination=0.1, **FAST)
    clf = CleanLabelClassifier(_Spy(), detector).fit(X, y, sample_weight=weight)
    np.testing.assert_array_equal(
        clf.estimator_.sample_weight_, weight[clf.sample_indices_]
    )
    unweighted = MislabelDetector(contamination=0.1, **FAST).fit(X, y)
    expected = MislabelDetector(contamination=0.1, **FAST).fit(
        X, y, sample_weight=weight
    )
    np.testing.assert_array_equal(clf.detector_.train_scores_, expected.train_scores_)
    assert not np.array_equal(expected.train_scores_, unweighted.train_scores_)


class _NoWeightDetector(BaseEstimator):
    """A detector whose fit_predict takes no sample_weight."""

    def fit_predict(self, X, y):
        return np.ones(len(y), dtype=int)


@pytest.mark.parametrize(
    "estimator, detector, match",
    [
        (KNeighborsClassifier(), None, "estimator KNeighborsClassifier does not"),
        (None, _NoWeightDetector(), "detector _NoWeightDetector does not"),
    ],
)
def test_clean_label_classifier_weights_refused_where_not_accepted(
    small, estimator, detector, match
):
    """Check that weights that cannot be honoured are refused, naming where."""
    X, y = small
    clf = CleanLabelClassifier(estimator, detector)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
