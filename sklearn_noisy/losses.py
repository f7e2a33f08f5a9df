"""Noise-robust losses as torch criteria (re-exported from ``_core``).

``DMILoss`` works as a skorch ``criterion`` or in a bare PyTorch loop::

    criterion = DMILoss()
    loss = criterion(model(X_batch), y_batch)
"""

from ._core.dmi import DMILoss, dmi_loss

__all__ = ["DMILoss", "dmi_loss"]
