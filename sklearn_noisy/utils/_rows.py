"""Find training rows again: score_samples(X) answers for rows seen in fit.

Rows are identified by a 16-byte BLAKE2 digest of their float32 bytes (of the
canonical CSR form for sparse rows), so the index costs 16 bytes per distinct
row rather than a copy of the data.
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp


def row_digests(X):
    """Return one 16-byte digest per row of ``X`` (dense, N-d or sparse)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32, copy=True)
        X.sum_duplicates()
        X.eliminate_zeros()
        X.sort_indices()
        out = []
        for i in range(X.shape[0]):
            start, stop = X.indptr[i], X.indptr[i + 1]
            h = hashlib.blake2b(
                X.indices[start:stop].astype(np.int64).tobytes(), digest_size=16
            )
            h.update(X.data[start:stop].tobytes())
            out.append(h.digest())
        return out
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
    X = X + np.float32(0.0)  # -0.0 and 0.0 are the same value
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in X]


class TrainingRowIndex:
    """Map rows of new data to groups of identical training rows.

    Parameters
    ----------
    X : ndarray or sparse matrix
        The training data, as validated in ``fit``.
    """

    def __init__(self, X):
        groups = {}
        ids = np.empty(X.shape[0], dtype=np.int64)
        for i, digest in enumerate(row_digests(X)):
            ids[i] = groups.setdefault(digest, len(groups))
        self._groups = groups
        self._sparse = sp.issparse(X)
        self.group_of_row = ids
        self.n_groups = len(groups)

    def group_means(self, values):
        """Mean of ``values`` (one per training row) over each group."""
        sums = np.bincount(self.group_of_row, weights=values, minlength=self.n_groups)
        counts = np.bincount(self.group_of_row, minlength=self.n_groups)
        return sums / counts

    def lookup(self, X):
        """Return the group of each row of ``X``; -1 for rows never seen."""
        # Dense and sparse rows hash differently: bring X to the training
        # format so that the same rows are found whatever their container.
        if sp.issparse(X) != self._sparse:
            X = sp.csr_matrix(X) if self._sparse else X.toarray()
        return np.array(
            [self._groups.get(d, -1) for d in row_digests(X)], dtype=np.int64
        )
