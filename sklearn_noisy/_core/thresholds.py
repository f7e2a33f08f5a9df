"""Where to cut a mislabel score: rules that need no guessed contamination.

Every rule returns an *offset*: samples whose score is strictly below it are
flagged (scores follow "the lower, the more likely mislabeled").

* :func:`sign_offset` -- 0 for signed scores (SEI, AUM): flag the samples the
  network, on average over training, did not agree with. Free.
* :func:`mixture_offset` -- fit a two-component Gaussian mixture to the scores
  (EM in one dimension) and cut where the lower component stops being the more
  probable one (the "BMM/GMM" family of the literature).
* :func:`count_offset` -- confident-learning style (Northcutt et al., JAIR
  2021, Section 3.1): count the samples whose mean predicted probability
  clears the per-class threshold ``t_j`` (the mean probability of class ``j``
  over samples labelled ``j``) for a class other than the given one, and flag
  that many of the lowest scores.
* The threshold-sample rule of AUM and SEI (Pleiss et al., 2020; Li et al.,
  2026) needs extra training runs and lives in the detector; its offset is the
  mean score of the fake-class samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_offset", "mixture_offset", "offset_for_count", "sign_offset"]


def sign_offset(scores):
    """Return 0: flag the samples with a negative signed score."""
    return 0.0


def offset_for_count(scores, n_flagged):
    """Return an offset that flags exactly the ``n_flagged`` lowest scores.

    Ties at the cut are broken towards flagging fewer samples.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    n_flagged = int(np.clip(n_flagged, 0, len(scores)))
    if n_flagged == 0:
        return float(scores[0])
    if n_flagged == len(scores):
        return float(np.nextafter(scores[-1], np.inf))
    return float(scores[n_flagged])


def mixture_offset(scores, n_iter=200, tol=1e-8):
    """Return the cut between the two components of a 1-D Gaussian mixture.

    EM starts from the 10th and 90th percentiles, so the result is
    deterministic. The offset is the lowest score at which the upper component
    becomes the more probable one; if no sample is assigned to the lower
    component, nothing is flagged.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Per-sample scores.
    n_iter : int, default=200
        Maximum EM iterations.
    tol : float, default=1e-8
        Stop when the log-likelihood improves by less than this (per sample).

    Returns
    -------
    offset : float
        Samples with a score below it are flagged.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_noisy._core.thresholds import mixture_offset
    >>> rng = np.random.default_rng(0)
    >>> s = np.r_[rng.normal(-1, 0.2, 100), rng.normal(1, 0.2, 900)]
    >>> bool(-0.6 < mixture_offset(s) < 0.6)
    True
    """
    x = np.asarray(scores, dtype=np.float64)
    mu = np.percentile(x, [10, 90])
    var = np.full(2, max(np.var(x), 1e-12))
    weight = np.array([0.5, 0.5])
    previous = -np.inf
    for _ in range(n_iter):
        log_dens = (
            -0.5 * (x[:, None] - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var)
        ) + np.log(weight)
        top = log_dens.max(axis=1, keepdims=True)
        log_norm = top + np.log(np.exp(log_dens - top).sum(axis=1, keepdims=True))
        resp = np.exp(log_dens - log_norm)
        nk = resp.sum(axis=0) + 1e-12
        weight = nk / len(x)
        mu = (resp * x[:, None]).sum(axis=0) / nk
        var = np.maximum((resp * (x[:, None] - mu) ** 2).sum(axis=0) / nk, 1e-12)
        likelihood = float(log_norm.mean())
        if likelihood - previous < tol:
            break
        previous = likelihood
    low = int(np.argmin(mu))
    order = np.argsort(x)
    lower_wins = resp[order, low] > 0.5
    if not lower_wins[0]:
        return float(x[order[0]])
    first_upper = np.argmin(lower_wins) if not lower_wins.all() else len(x)
    return offset_for_count(x, first_upper)


def count_offset(scores, proba, y):
    """Return the offset that flags as many samples as confident learning counts.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Per-sample scores (the lower, the more likely mislabeled).
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities (here: means over training epochs).
    y : ndarray of shape (n_samples,)
        Given labels encoded as ``0 .. n_classes - 1``.

    Returns
    -------
    offset : float
        Samples with a score below it are flagged.
    """
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = proba.shape[1]
    thresholds = np.array(
        [
            proba[y == j, j].mean() if np.any(y == j) else np.inf
            for j in range(n_classes)
        ]
    )
    confident = proba >= thresholds
    masked = np.where(confident, proba, -np.inf)
    best = masked.argmax(axis=1)
    counted = confident.any(axis=1) & (best != y)
    return offset_for_count(scores, int(counted.sum()))
