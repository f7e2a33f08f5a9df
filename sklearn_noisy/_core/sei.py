r"""Training-dynamics statistics: the signed entropy integral (SEI) and peers.

Li et al., "On Revisiting Entropy for Identifying Mislabeled Images", ICML 2026
(arXiv:2605.31090), Section 3. For a training sample with softmax output
:math:`p` and given label :math:`y` at training step :math:`t`:

.. math::

    H_t = -\sum_k p_k \log p_k, \qquad
    s_t = \operatorname{sign}\left(p_y - \max_{k \ne y} p_k\right) H_t,

with ties counted as :math:`+1` and the natural logarithm. The SEI of a sample
is the mean of :math:`s_t` over the epochs (the paper writes the sum; the
ranking is the same). Low, negative SEI: the network keeps disagreeing with the
label while staying uncertain, the mark of a wrong label; hard but correctly
labelled samples are uncertain too, but agree (positive sign).

The same forward pass gives the statistics of the peers the package compares
against, so one training run serves all of them:

* ``aum``: the margin of Pleiss et al. (NeurIPS 2020), assigned logit minus
  the largest other logit, averaged over epochs;
* ``loss``: the per-sample cross-entropy, averaged over epochs;
* ``confidence``: the probability of the given label, averaged over epochs
  (the "confidence" of dataset cartography, Swayamdipta et al., EMNLP 2020).

:class:`DynamicsAccumulator` keeps per-sample sums and counts on the training
device (batches are buffered and reduced with one scatter-add, at the latest
once per epoch; no host copy) and, on request, the per-epoch signed entropy
as a compact float16 trajectory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

__all__ = [
    "STATISTICS",
    "DynamicsAccumulator",
    "batch_statistics",
    "signed_entropy",
]

#: Columns of :func:`batch_statistics`, in order.
STATISTICS = ("sei", "aum", "loss", "confidence")

# Logit values buffered before the statistics are reduced (16 MiB of float32).
_MAX_BUFFERED = 1 << 22


def signed_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return ``sign(p_y - max_{k != y} p_k) * H(p)`` of each row.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised network outputs.
    target : torch.Tensor of shape (n_samples,)
        Given labels encoded as ``0 .. n_classes - 1``.

    Returns
    -------
    s : torch.Tensor of shape (n_samples,)
        Signed entropy in nats (float32 or wider); ties count as agreement.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.sei import signed_entropy
    >>> logits = torch.log(torch.tensor([[0.5, 0.5], [0.9, 0.1]]))
    >>> signed_entropy(logits, torch.tensor([1, 1])).round(decimals=3)
    tensor([ 0.6930, -0.3250])
    """
    return batch_statistics(logits, target)[:, 0]


def batch_statistics(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the per-row statistics named in :data:`STATISTICS`.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised network outputs (detached or not; no gradient is kept).
    target : torch.Tensor of shape (n_samples,)
        Given labels encoded as ``0 .. n_classes - 1``.

    Returns
    -------
    stats : torch.Tensor of shape (n_samples, 4)
        Columns: signed entropy, logit margin, cross-entropy, probability of
        the given label.
    """
    return _statistics_and_proba(logits, target)[0]


def _statistics_and_proba(logits, target):
    """Return :func:`batch_statistics` and the softmax, from one softmax pass.

    The softmax is monotone, so ``p_y >= max_{k != y} p_k`` exactly when the
    logit margin ``z_y - max_{k != y} z_k`` is non-negative: the sign and the
    AUM margin both come from the two largest logits.
    """
    with torch.no_grad():
        z = logits.detach().to(torch.promote_types(logits.dtype, torch.float32))
        target = target.long()[:, None]
        log_p = F.log_softmax(z, dim=1)
        p = log_p.exp()
        entropy = -(p * log_p).sum(dim=1)
        z_given = z.gather(1, target).squeeze(1)
        top = z.topk(2, dim=1)
        z_other = torch.where(
            top.indices[:, 0] == target[:, 0], top.values[:, 1], top.values[:, 0]
        )
        margin = z_given - z_other
        sign = torch.where(margin >= 0, 1.0, -1.0).to(z.dtype)
        log_p_given = log_p.gather(1, target).squeeze(1)
        stats = torch.stack(
            [sign * entropy, margin, -log_p_given, log_p_given.exp()], dim=1
        )
        return stats, p


class DynamicsAccumulator:
    """Per-sample running sums of :func:`batch_statistics`, on one device.

    Parameters
    ----------
    n_samples : int
        Number of training samples; batches name their rows by index.
    n_classes : int
        Number of network outputs (the mean probabilities are kept too, for
        confident-learning style thresholds).
    device : str or torch.device, default="cpu"
        Where the sums live: the training device, so that recording costs a
        scatter-add per batch and no host transfer.
    trajectory : bool, default=False
        Also keep every epoch's signed entropy as float16 (host memory
        ``2 * n_samples * n_epochs`` bytes), copied to the host once per epoch.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.sei import DynamicsAccumulator
    >>> acc = DynamicsAccumulator(3, 2)
    >>> acc.add(torch.tensor([0, 2]), torch.zeros(2, 2), torch.tensor([0, 1]))
    >>> acc.end_epoch()
    >>> acc.counts().tolist()
    [1, 0, 1]
    """

    def __init__(self, n_samples, n_classes, device="cpu", trajectory=False):
        device = torch.device(device)
        # One table, one scatter-add per batch: the statistics, the
        # probabilities and a count column side by side.
        self._n_stats = len(STATISTICS)
        self._table = torch.zeros(
            n_samples, self._n_stats + n_classes + 1, device=device
        )
        self._buffer, self._buffered = [], 0
        self._trajectory = [] if trajectory else None
        self._epoch = (
            torch.full((n_samples,), float("nan"), device=device)
            if trajectory
            else None
        )

    def add(self, index, logits, target):
        """Add the statistics of one batch of rows ``index``.

        Batches are buffered (detached views, no copy) and reduced together,
        at the latest at the end of the epoch: a dozen small tensor operations
        per batch cost more than the arithmetic on a 128 x 10 batch.
        """
        self._buffer.append((index, logits.detach(), target))
        self._buffered += logits.numel()
        if self._buffered >= _MAX_BUFFERED:
            self._flush()

    def _flush(self):
        if not self._buffer:
            return
        index, logits, target = (
            torch.cat(part) for part in zip(*self._buffer, strict=True)
        )
        self._buffer, self._buffered = [], 0
        # int64 indices: index_copy_ (the trajectory) needs them.
        index = index.to(self._table.device, torch.int64)
        stats, proba = _statistics_and_proba(logits, target.to(logits.device))
        ones = torch.ones_like(stats[:, :1])
        rows = torch.cat([stats, proba, ones], dim=1).to(self._table)
        self._table.index_add_(0, index, rows)
        if self._epoch is not None:
            self._epoch.index_copy_(0, index, stats[:, 0].to(self._epoch))

    def end_epoch(self):
        """Close an epoch: copy its signed entropies to the host if kept."""
        self._flush()
        if self._epoch is not None:
            self._trajectory.append(self._epoch.to("cpu", torch.float16).numpy())
            self._epoch.fill_(float("nan"))

    def counts(self):
        """Return how many times each sample was recorded, as an int64 array."""
        self._flush()
        return self._table[:, -1].round().to(torch.int64).cpu().numpy()

    def means(self):
        """Return ``{statistic: per-sample mean}`` (NaN for unrecorded rows)."""
        self._flush()
        table = self._table[:, : self._n_stats].cpu().numpy().astype(np.float64)
        counts = self.counts()
        with np.errstate(invalid="ignore", divide="ignore"):
            means = table / counts[:, None]
        means[counts == 0] = np.nan
        return {name: means[:, j] for j, name in enumerate(STATISTICS)}

    def mean_proba(self):
        """Return the per-sample mean predicted probabilities (n, n_classes)."""
        self._flush()
        proba = self._table[:, self._n_stats : -1].cpu().numpy().astype(np.float64)
        return proba / np.maximum(self.counts(), 1)[:, None]

    def trajectory(self):
        """Return the float16 signed entropy per (sample, epoch), or None."""
        if self._trajectory is None:
            return None
        n = self._table.shape[0]
        if not self._trajectory:
            return np.empty((n, 0), dtype=np.float16)
        return np.stack(self._trajectory, axis=1)
