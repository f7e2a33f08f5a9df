"""Default torch modules of the estimators (re-exported from ``_core``)."""

from ._core.modules import MLP, SmallCNN

__all__ = ["MLP", "SmallCNN"]
