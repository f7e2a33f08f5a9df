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
device (an index scatter-add per batch, no host copy) and, on request, the
per-epoch signed entropy as a compact float16 trajectory.
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


def _given_and_best_other(values: torch.Tensor, target: torch.Tensor):
    given = values.gather(1, target[:, None]).squeeze(1)
    others = values.scatter(1, target[:, None], float("-inf"))
    return given, others.max(dim=1).values


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
    with torch.no_grad():
        z = logits.detach().to(torch.promote_types(logits.dtype, torch.float32))
        target = target.long()
        log_p = F.log_softmax(z, dim=1)
        p = log_p.exp()
        entropy = -(p * log_p).sum(dim=1)
        p_given, p_other = _given_and_best_other(p, target)
        sign = torch.where(p_given >= p_other, 1.0, -1.0).to(z.dtype)
        z_given, z_other = _given_and_best_other(z, target)
        log_p_given = log_p.gather(1, target[:, None]).squeeze(1)
        return torch.stack(
            [sign * entropy, z_given - z_other, -log_p_given, p_given], dim=1
        )


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
        self._sums = torch.zeros(n_samples, len(STATISTICS), device=device)
        self._proba = torch.zeros(n_samples, n_classes, device=device)
        self._counts = torch.zeros(n_samples, dtype=torch.int64, device=device)
        self._trajectory = [] if trajectory else None
        self._epoch = (
            torch.full((n_samples,), float("nan"), device=device)
            if trajectory
            else None
        )

    def add(self, index, logits, target):
        """Add the statistics of one batch of rows ``index``."""
        # int64: the counts are int64, and index_copy_ takes int64 indices only.
        index = index.to(self._sums.device, torch.int64)
        stats = batch_statistics(logits, target.to(logits.device)).to(self._sums)
        self._sums.index_add_(0, index, stats)
        with torch.no_grad():
            proba = F.softmax(logits.detach().to(self._proba), dim=1)
        self._proba.index_add_(0, index, proba)
        self._counts.index_add_(0, index, torch.ones_like(index))
        if self._epoch is not None:
            self._epoch.index_copy_(0, index, stats[:, 0])

    def end_epoch(self):
        """Close an epoch: copy its signed entropies to the host if kept."""
        if self._epoch is not None:
            self._trajectory.append(self._epoch.to("cpu", torch.float16).numpy())
            self._epoch.fill_(float("nan"))

    def counts(self):
        """Return how many times each sample was recorded, as an int64 array."""
        return self._counts.cpu().numpy()

    def means(self):
        """Return ``{statistic: per-sample mean}`` (NaN for unrecorded rows)."""
        counts = self._counts.clamp(min=1)[:, None].to(self._sums)
        means = (self._sums / counts).cpu().numpy().astype(np.float64)
        means[self.counts() == 0] = np.nan
        return {name: means[:, j] for j, name in enumerate(STATISTICS)}

    def mean_proba(self):
        """Return the per-sample mean predicted probabilities (n, n_classes)."""
        counts = self._counts.clamp(min=1)[:, None].to(self._proba)
        return (self._proba / counts).cpu().numpy().astype(np.float64)

    def trajectory(self):
        """Return the float16 signed entropy per (sample, epoch), or None."""
        if self._trajectory is None:
            return None
        n = self._sums.shape[0]
        if not self._trajectory:
            return np.empty((n, 0), dtype=np.float16)
        return np.stack(self._trajectory, axis=1)
