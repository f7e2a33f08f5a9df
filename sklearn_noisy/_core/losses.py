r"""Cross-entropy with sample weights and with forward noise correction.

Weighted cross-entropy of a mini-batch with weights :math:`w_i`,

.. math::

    \ell = \frac{\sum_i w_i \, (-\log p_{\tilde y_i}(x_i))}{\sum_i w_i},

is the mean over the batch with each sample counted :math:`w_i` times (an
integer weight is the same loss as that many copies of the row).

Forward correction (Patrini et al., CVPR 2017, Eq. 6) trains on the noisy
labels through a known or estimated transition matrix ``T``, ``T[i, j] =
P(noisy label = j | true label = i)``: the network's clean-class
probabilities :math:`p(x)` are mapped to noisy-label probabilities
:math:`q(x) = T^\top p(x)`, and the cross-entropy is taken against
:math:`q`. The minimiser of the corrected loss on noisy labels is the
minimiser of the plain loss on clean labels when ``T`` is right and
invertible (their Theorem 2). The log of :math:`q` is computed as a
log-sum-exp of ``log_softmax`` and ``log T``, so no probability underflows.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ForwardCorrectedLoss",
    "WeightedCrossEntropyLoss",
    "forward_corrected_cross_entropy",
    "weighted_cross_entropy",
]

# Floor of the transition probabilities inside the log: a zero column (a
# label the matrix says never occurs) would make the loss of a sample that
# carries it infinite.
_LOG_FLOOR = 1e-12


def _reduce(losses, sample_weight):
    """Mean of per-sample losses, each counted ``sample_weight[i]`` times."""
    if sample_weight is None:
        return losses.mean()
    weight = sample_weight.to(device=losses.device, dtype=losses.dtype)
    if weight.shape != losses.shape:
        raise ValueError(
            f"sample_weight must have shape {tuple(losses.shape)} (one weight "
            f"per sample); got shape {tuple(weight.shape)}."
        )
    # A batch whose weights are all zero contributes a zero loss, not 0 / 0.
    return (weight * losses).sum() / weight.sum().clamp_min(
        torch.finfo(losses.dtype).tiny
    )


def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return the cross-entropy of a batch, weighted per sample.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised scores of the network.
    target : torch.Tensor of shape (n_samples,)
        Labels encoded as ``0 .. n_classes - 1``.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Non-negative weights; None is :func:`torch.nn.functional.cross_entropy`
        exactly.

    Returns
    -------
    loss : torch.Tensor of shape ()
        ``sum(w * ce) / sum(w)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.losses import weighted_cross_entropy
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> target = torch.tensor([0, 1, 1])
    >>> once = weighted_cross_entropy(logits[:2], target[:2], torch.tensor([1., 2.]))
    >>> bool(torch.isclose(once, weighted_cross_entropy(logits, target)))
    True
    """
    if sample_weight is None:
        return F.cross_entropy(logits, target.long())
    losses = F.cross_entropy(logits, target.long(), reduction="none")
    return _reduce(losses, sample_weight)


def forward_corrected_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    transition_matrix: torch.Tensor,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return the forward-corrected cross-entropy of a batch (Patrini et al.).

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised scores of the clean classes.
    target : torch.Tensor of shape (n_samples,)
        Observed (noisy) labels encoded as ``0 .. n_classes - 1``.
    transition_matrix : torch.Tensor of shape (n_classes, n_classes)
        ``transition_matrix[i, j] = P(noisy label = j | true label = i)``,
        rows summing to 1 (cleanlab's ``noise_matrix`` is the transpose).
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Non-negative weights of the samples.

    Returns
    -------
    loss : torch.Tensor of shape ()
        Weighted mean of ``-log((T^T softmax(logits))[target])``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.losses import forward_corrected_cross_entropy
    >>> logits, target = torch.tensor([[3.0, 0.0]]), torch.tensor([1])
    >>> identity = forward_corrected_cross_entropy(logits, target, torch.eye(2))
    >>> flips = torch.tensor([[0.6, 0.4], [0.0, 1.0]])
    >>> bool(forward_corrected_cross_entropy(logits, target, flips) < identity)
    True
    """
    n_classes = logits.shape[1]
    if transition_matrix.shape != (n_classes, n_classes):
        raise ValueError(
            f"transition_matrix must have shape ({n_classes}, {n_classes}) for "
            f"logits of {n_classes} classes; got shape "
            f"{tuple(transition_matrix.shape)}."
        )
    dtype = torch.promote_types(logits.dtype, torch.float32)
    log_p = F.log_softmax(logits.to(dtype), dim=1)
    log_t = torch.log(
        transition_matrix.to(device=logits.device, dtype=dtype).clamp_min(_LOG_FLOOR)
    )
    # log q_j = log sum_i p_i T[i, j], for the observed label j only.
    log_t_target = log_t[:, target.long()].T  # (n_samples, n_classes)
    losses = -torch.logsumexp(log_p + log_t_target, dim=1)
    return _reduce(losses, sample_weight)


class WeightedCrossEntropyLoss(nn.Module):
    """Cross-entropy criterion whose ``forward`` also takes sample weights.

    ``WeightedCrossEntropyLoss()(logits, target)`` equals
    :class:`torch.nn.CrossEntropyLoss` exactly; with ``sample_weight`` it is
    :func:`weighted_cross_entropy`.
    """

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the (weighted) cross-entropy of the batch."""
        return weighted_cross_entropy(logits, target, sample_weight)


class ForwardCorrectedLoss(nn.Module):
    """Forward-corrected cross-entropy as a torch criterion (Patrini et al.).

    The network predicts the clean classes; the loss compares
    ``transition_matrix.T @ softmax(logits)``, its prediction of the noisy
    label, with the observed label. Pair it with a transition matrix
    estimated from the data (:func:`sklearn_noisy.noise.estimate_label_noise`) or
    known from how the labels were collected.

    Parameters
    ----------
    transition_matrix : array-like of shape (n_classes, n_classes)
        ``transition_matrix[i, j] = P(noisy label = j | true label = i)``,
        rows summing to 1 (cleanlab's ``noise_matrix`` is the transpose).

    References
    ----------
    .. [1] G. Patrini, A. Rozza, A. K. Menon, R. Nock, L. Qu. "Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach."
       CVPR 2017. arXiv:1609.03683.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.losses import ForwardCorrectedLoss
    >>> criterion = ForwardCorrectedLoss([[0.8, 0.2], [0.0, 1.0]])
    >>> logits = torch.randn(8, 2, requires_grad=True)
    >>> criterion(logits, torch.arange(8) % 2).backward()
    >>> bool(torch.isfinite(logits.grad).all())
    True
    """

    def __init__(self, transition_matrix) -> None:
        super().__init__()
        matrix = torch.as_tensor(transition_matrix, dtype=torch.float64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                "ForwardCorrectedLoss expects a square transition_matrix of shape "
                f"(n_classes, n_classes); got shape {tuple(matrix.shape)}."
            )
        # A buffer moves with the module to the training device.
        self.register_buffer("transition_matrix", matrix.float())

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the forward-corrected cross-entropy of the batch."""
        return forward_corrected_cross_entropy(
            logits, target, self.transition_matrix, sample_weight
        )
