"""Noise-robust losses as torch criteria (re-exported from ``_core``).

``DMILoss`` works as a skorch ``criterion`` or in a bare PyTorch loop::

    criterion = DMILoss()
    loss = criterion(model(X_batch), y_batch)

``ForwardCorrectedLoss`` trains through a transition matrix, known or
estimated with :func:`sklearn_noisy.noise.estimate_label_noise`. Both take
optional per-sample weights as a third argument.
"""

from ._core.dmi import DMILoss, dmi_loss
from ._core.losses import ForwardCorrectedLoss, forward_corrected_cross_entropy

__all__ = [
    "DMILoss",
    "ForwardCorrectedLoss",
    "dmi_loss",
    "forward_corrected_cross_entropy",
]
