"""Fast in-memory batching for skorch.

skorch's default ``DataLoader`` fetches every sample through
``Dataset.__getitem__`` and collates the batch in Python; on in-memory arrays
this made an epoch about 2.8x slower than a bare PyTorch loop (issue 2). The
iterator here slices whole batches out of tensors that already sit on the
training device, and hands each batch's sample indices to callbacks (the SEI
recorder keys its statistics by them, issue 3).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["IndexedBatch", "InMemoryBatchIterator", "to_tensor_2d_or_nd"]


class IndexedBatch(tuple):
    """A ``(X, y)`` batch that also carries the row indices it was cut from.

    It unpacks like the plain tuple skorch expects (``Xi, yi = batch``), and
    callbacks read ``batch.index`` in ``on_batch_end``.
    """

    index: torch.Tensor

    def __new__(cls, X, y, index):
        self = super().__new__(cls, (X, y))
        self.index = index
        return self


def to_tensor_2d_or_nd(X, device="cpu"):
    """Return dense ``X`` as a float32 tensor on ``device``; keep sparse on host.

    Sparse matrices stay a CSR matrix: batches are densified one at a time so
    that a TF-IDF matrix is never densified whole.
    """
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float32)
    if isinstance(X, torch.Tensor):
        return X.to(device=device, dtype=torch.float32)
    return torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)


class InMemoryBatchIterator:
    """Iterate over mini-batches of in-memory data, a whole batch per step.

    Used as skorch's ``iterator_train`` and ``iterator_valid``: skorch calls
    ``InMemoryBatchIterator(dataset, batch_size=..., **iterator_train__kwargs)``
    once per ``fit`` and iterates over it every epoch.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (a tensor, an ndarray or a CSR matrix) and ``y`` (a tensor,
        an ndarray or None).
    batch_size : int
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation of the rows at every epoch.
    drop_last : bool, default=False
        Drop the last, incomplete batch (L_DMI's determinant needs full
        batches).
    seed : int or None, default=None
        Seed of the private generator used for shuffling; the global torch
        generator is never touched.
    device : str or torch.device, default="cpu"
        Where the batches are delivered.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        drop_last=False,
        seed=None,
        device="cpu",
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = torch.device(device)
        self._X = dataset.X
        self._y = dataset.y
        if isinstance(self._X, np.ndarray):
            self._X = torch.as_tensor(self._X)
        if isinstance(self._y, np.ndarray):
            self._y = torch.as_tensor(self._y)
        self._n = self._X.shape[0]
        self._generator = torch.Generator()
        if seed is not None:
            self._generator.manual_seed(int(seed))

    def __len__(self):
        if self.drop_last:
            return self._n // self.batch_size
        return -(-self._n // self.batch_size)

    def _take(self, data, index):
        if sp.issparse(data):
            rows = data[index.cpu().numpy()].toarray()
            return torch.from_numpy(rows).to(self.device, non_blocking=True)
        # index_select rather than data[index]: same rows, but advanced
        # indexing costs about 13 us per 128 x 64 batch on CPU, index_select 3
        # (benchmarks/speed.py, issue 2).
        rows = torch.index_select(data, 0, index.to(data.device))
        return rows.to(self.device, non_blocking=True)

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self._n, generator=self._generator)
        else:
            order = torch.arange(self._n)
        if isinstance(self._X, torch.Tensor):
            order = order.to(self._X.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            X = self._take(self._X, index)
            y = None if self._y is None else self._take(self._y, index)
            yield IndexedBatch(X, y, index)
