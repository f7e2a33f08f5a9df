"""Find training rows again: score_samples(X) answers for rows seen in fit.

Rows are identified by a 16-byte BLAKE2 digest of their float32 bytes (of the
canonical CSR form for sparse rows). The index keeps the distinct digests as
one sorted array (``np.void`` of 16 bytes, compared bytewise) next to one
float64 value per distinct row, and finds rows by binary search: 24 bytes per
distinct training row, whatever the width of the data (issue 11: a Python
dict of digests cost about 32 MB per million rows, this 24 MB).
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp

_DIGEST_SIZE = 16


def row_digests(X):
    """Return one 16-byte digest per row of ``X`` as an ``np.void`` array."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        X.sum_duplicates()
        X.eliminate_zeros()
        X.sort_indices()
        out = []
        for i in range(X.shape[0]):
            start, stop = X.indptr[i], X.indptr[i + 1]
            h = hashlib.blake2b(
                X.indices[start:stop].astype(np.int64).tobytes(),
                digest_size=_DIGEST_SIZE,
            )
            h.update(X.data[start:stop].tobytes())
            out.append(h.digest())
    else:
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
        X = X + np.float32(0.0)  # -0.0 and 0.0 are the same value
        out = [
            hashlib.blake2b(row.tobytes(), digest_size=_DIGEST_SIZE).digest()
            for row in X
        ]
    return np.frombuffer(b"".join(out), dtype=f"V{_DIGEST_SIZE}")


class TrainingRowIndex:
    """Map rows of new data to the mean value of identical training rows.

    Parameters
    ----------
    X : ndarray or sparse matrix
        The training data, as validated in ``fit``; not kept.
    values : ndarray of shape (n_samples,)
        One value per training row; identical rows share their mean.

    Attributes
    ----------
    values : ndarray of shape (n_distinct_rows,)
        The mean value of each distinct training row, in digest order.
    """

    def __init__(self, X, values):
        digests, inverse = np.unique(row_digests(X), return_inverse=True)
        inverse = inverse.ravel()
        counts = np.bincount(inverse, minlength=len(digests))
        sums = np.bincount(inverse, weights=values, minlength=len(digests))
        self._digests = digests
        self._sparse = sp.issparse(X)
        self.values = sums / counts

    @property
    def nbytes(self):
        """Bytes held: 16 per distinct row for its digest, 8 for its value."""
        return self._digests.nbytes + self.values.nbytes

    def lookup(self, X):
        """Return the position of each row of ``X`` in ``values``; -1 if unseen."""
        # Dense and sparse rows hash differently: bring X to the training
        # format so that the same rows are found whatever their container.
        if sp.issparse(X) != self._sparse:
            X = sp.csr_matrix(X) if self._sparse else X.toarray()
        digests = row_digests(X)
        position = np.searchsorted(self._digests, digests)
        position = np.minimum(position, len(self._digests) - 1)
        found = self._digests[position] == digests
        return np.where(found, position, -1).astype(np.int64)
