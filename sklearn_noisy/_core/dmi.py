r"""The determinant-based mutual information loss L_DMI.

Xu, Cao, Kong and Wang, "L_DMI: An Information-theoretic Noise-robust Loss
Function", NeurIPS 2019 (arXiv:1909.03388), Section 4. For a mini-batch of
``N`` samples with observed labels :math:`\tilde y` and predicted probabilities
:math:`P = \mathrm{softmax}(f(X))` (an ``N x C`` matrix):

.. math::

    U = \mathrm{onehot}(\tilde y)^\top P \quad (C \times C), \qquad
    L_{DMI} = -\log\left(|\det U| + 0.001\right).

``U`` holds raw counts (it is *not* divided by ``N``), as in the official code
for CIFAR-10, Dogs vs. Cats, MR and Clothing1M: the ``+0.001`` is a negligible
guard only for unnormalised ``U`` (with ``U / N`` and 10 classes,
``|det U| <= 1e-10`` and the epsilon would dominate).

With sample weights ``w`` the joint matrix counts each sample ``w_i`` times,
:math:`U = \mathrm{onehot}(\tilde y)^\top \mathrm{diag}(w) P`: an integer
weight is the same matrix as that many copies of the row, so L_DMI of a
weighted batch equals L_DMI of the batch with the rows repeated.

Two numerical details the formula leaves open:

* the determinant is always computed in at least float32, with autocast
  disabled, because half precision overflows and loses the small pivots that
  carry the gradient :math:`\partial \log|\det U| / \partial U = U^{-\top}`;
* ``det U`` of raw counts overflows float32 for many classes or large batches
  (``128^{10} \approx 10^{21}`` is fine, ``1024^{100}`` is not). When
  ``log|det U|`` is large the epsilon cannot matter, so the loss is taken as
  ``-log|det U|`` from ``slogdet``; otherwise ``-log(|det U| + eps)`` from
  ``det``, whose backward is defined for singular ``U``. A batch that misses a
  class makes ``U`` singular: the loss is then ``-log(eps)``, finite, with a
  finite gradient.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn
from torch.nn import functional as F

__all__ = [
    "DMILoss",
    "agrees_beyond_chance",
    "dmi_loss",
    "dmi_matrix",
    "swapped_classes",
]

# Above this value of |det U| the determinant is close to overflowing float32
# (exp(88.7) is float32's largest finite number) and eps=1e-3 is far below the
# float32 resolution of |det U| anyway, so slogdet is used instead of det.
_DET_SWITCH = math.exp(60.0)


def dmi_matrix(
    logits: torch.Tensor,
    target: torch.Tensor,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``U = onehot(target)^T diag(sample_weight) softmax(logits)``.

    Computed in at least float32.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised scores of the network.
    target : torch.Tensor of shape (n_samples,)
        Observed (possibly noisy) labels encoded as ``0 .. n_classes - 1``.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Non-negative weight of each sample: the number of times it counts.
        None counts every sample once.

    Returns
    -------
    U : torch.Tensor of shape (n_classes, n_classes)
        ``U[i, j]`` sums the (weighted) probability of class ``j`` over the
        samples labelled ``i``; raw counts, not divided by ``n_samples``.
    """
    dtype = torch.promote_types(logits.dtype, torch.float32)
    n_classes = logits.shape[1]
    with _no_autocast(logits.device.type):
        proba = F.softmax(logits.to(dtype), dim=1)
        if sample_weight is not None:
            proba = proba * sample_weight.to(device=proba.device, dtype=dtype)[:, None]
        target = target.long()
        if logits.device.type == "cpu":
            # Row i of U sums the rows of P labelled i: a scatter-add, about
            # 60 us cheaper per 128 x 10 batch than building one-hot and
            # multiplying. Deterministic on CPU, unlike on CUDA, where the
            # one-hot product is kept.
            U = torch.zeros(n_classes, n_classes, dtype=dtype, device=logits.device)
            return U.index_add(0, target, proba)
        return F.one_hot(target, n_classes).to(dtype).T @ proba


def _no_autocast(device_type):
    """Disable autocast where it is on; a free no-op otherwise."""
    try:
        enabled = torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        enabled = (
            torch.is_autocast_cpu_enabled()
            if device_type == "cpu"
            else torch.is_autocast_enabled()
        )
    if enabled:
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def agrees_beyond_chance(joint: torch.Tensor) -> bool:
    """Whether predictions agree with the labels more often than chance.

    ``trace(J) > sum_k J[k, :].sum() * J[:, k].sum()`` for the normalised
    joint ``J`` of the labels (rows) and the predictions (columns): Cohen's
    kappa of the soft predictions is positive. ``|det U|`` cannot tell a
    labelling from a permuted one (Xu et al., 2019, Section 4); this can.
    """
    chance = (joint.sum(1) * joint.sum(0)).sum()
    return float(torch.trace(joint) - chance) > 0


def swapped_classes(joint: torch.Tensor) -> list[int]:
    """Classes that predictions confuse as a permutation of the labels.

    For the normalised joint ``J`` of the labels (rows) and the predictions
    (columns) of at least three classes: when ``det J < 0`` and a
    permutation ``s`` of the predicted classes agrees with the labels more
    often than the identity (``sum_k J[k, s(k)] > trace(J)``, the best ``s``
    found by the Hungarian algorithm), return the classes ``s`` moves; else
    ``[]``. Two classes need no such test: there ``trace(J) > chance`` is
    ``det J > 0`` (see :func:`agrees_beyond_chance`).

    Each condition alone is met by a network that predicts the true classes
    under some noise: a one-way flip into a rare class makes the swapped
    assignment agree more often (while ``det J > 0`` when the transition
    matrix has ``det T > 0``), and the sign of ``det J`` is mostly sampling
    noise when ``|det T|`` is tiny (10 classes, 70% symmetric noise:
    ``det T = 1.3e-6``). Together they flagged a 3-class network that
    predicted classes 0 and 2 swapped (L_DMI then took its accuracy from
    0.52 to 0.43).
    """
    if joint.shape[0] < 3:
        return []
    J = joint.detach().double().cpu()
    if float(torch.linalg.slogdet(J).sign) >= 0:
        return []
    J = J.numpy()
    rows, cols = linear_sum_assignment(J, maximize=True)
    if J[rows, cols].sum() <= np.trace(J) * (1 + 1e-9):
        return []
    return [int(k) for k in rows[cols != rows]]


def dmi_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    sample_weight: torch.Tensor | None = None,
    *,
    eps: float = 1e-3,
) -> torch.Tensor:
    """Compute ``L_DMI = -log(|det U| + eps)`` of one batch (Xu et al., 2019).

    Parameters
    ----------
    logits : torch.Tensor of shape (n_samples, n_classes)
        Unnormalised scores of the network (softmax is applied here).
    target : torch.Tensor of shape (n_samples,)
        Observed labels encoded as ``0 .. n_classes - 1``.
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        Non-negative weight of each sample in ``U`` (see :func:`dmi_matrix`);
        None counts every sample once.
    eps : float, default=1e-3
        The official constant added to ``|det U|`` of the unnormalised matrix.

    Returns
    -------
    loss : torch.Tensor of shape ()
        The loss, in at least float32; finite also when a class is missing
        from the batch.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.dmi import dmi_loss
    >>> logits = torch.tensor([[4.0, 0.0], [0.0, 4.0], [3.0, 0.0], [0.0, 5.0]])
    >>> target = torch.tensor([0, 1, 0, 1])
    >>> round(float(dmi_loss(logits, target)), 2)
    -1.34
    """
    _check_batch(logits, target, sample_weight)
    return _dmi_loss_and_abs_det(logits, target, sample_weight, eps)[0]


def _check_batch(logits, target, sample_weight):
    """Refuse logits, targets and weights whose shapes do not fit together."""
    if logits.ndim != 2:
        raise ValueError(
            f"dmi_loss expects logits of shape (n_samples, n_classes); got shape "
            f"{tuple(logits.shape)}."
        )
    if target.shape != logits.shape[:1]:
        raise ValueError(
            f"dmi_loss expects target of shape ({logits.shape[0]},); got shape "
            f"{tuple(target.shape)}."
        )
    if sample_weight is not None and sample_weight.shape != target.shape:
        raise ValueError(
            f"dmi_loss expects sample_weight of shape ({logits.shape[0]},); got "
            f"shape {tuple(sample_weight.shape)}."
        )


def _dmi_loss_and_abs_det(logits, target, sample_weight, eps):
    """Return L_DMI of the batch and ``|det U|`` as a Python float."""
    U = dmi_matrix(logits, target, sample_weight)
    with _no_autocast(logits.device.type):
        # One factorisation in the common case: det itself, kept when it is
        # finite and small enough for eps to matter; slogdet only otherwise.
        det = torch.linalg.det(U)
        value = abs(float(det.detach()))
        if math.isfinite(value) and value < _DET_SWITCH:
            return -torch.log(torch.abs(det) + eps), value
        return -torch.linalg.slogdet(U).logabsdet, value


class DMILoss(nn.Module):
    """L_DMI as a torch criterion: ``DMILoss()(logits, target)``.

    A drop-in replacement for :class:`torch.nn.CrossEntropyLoss` (same inputs:
    logits and integer class targets, and optional per-sample weights); see
    :func:`dmi_loss` for the formula.

    Parameters
    ----------
    eps : float, default=1e-3
        The official constant added to ``|det U|`` of the unnormalised matrix.

    Attributes
    ----------
    last_abs_det_ : float
        ``|det U|`` of the last batch the criterion was called on (``inf``
        beyond float32's range, ``nan`` for non-finite logits). The batch was
        stuck, its loss near ``-log(eps)`` with at most half its gradient,
        when this is at most ``eps``. Read by
        :class:`~sklearn_noisy.callbacks.SingularBatchRecorder`, so that
        recording costs no second determinant.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.dmi import DMILoss
    >>> criterion = DMILoss()
    >>> logits = torch.randn(16, 3, requires_grad=True)
    >>> loss = criterion(logits, torch.arange(16) % 3)
    >>> loss.backward()
    >>> bool(torch.isfinite(logits.grad).all())
    True
    """

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return L_DMI of the batch (see :func:`dmi_loss`)."""
        _check_batch(logits, target, sample_weight)
        loss, self.last_abs_det_ = _dmi_loss_and_abs_det(
            logits, target, sample_weight, self.eps
        )
        return loss
