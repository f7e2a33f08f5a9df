"""Default torch modules: an MLP for tabular data and a small CNN for images.

Both return unnormalised logits of shape ``(n_samples, n_classes)``; the
estimators apply the softmax. Their first two arguments, ``n_features`` /
``in_channels`` and ``n_classes``, are filled in by the estimators from the
data, so users only set the architecture (``module__hidden_units=(512,)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

__all__ = ["MLP", "SmallCNN"]


class MLP(nn.Module):
    """Multi-layer perceptron for tabular (2-D) inputs.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of output logits.
    hidden_units : int or sequence of int, default=(256, 256)
        Width of each hidden layer; an int is one hidden layer (as
        scikit-learn's ``hidden_layer_sizes``), ``()`` a linear
        (softmax-regression) model.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.

    Notes
    -----
    The first layer also multiplies sparse CSR batches
    (``torch.sparse_csr`` tensors) without densifying them
    (``accepts_sparse = True``): the estimators then pass sparse ``X`` to it
    as it is, so that a 100,000-column TF-IDF matrix costs its non-zeros
    rather than its width in the forward pass. The first layer's gradient
    and optimiser step still cost ``n_features x width`` per batch:
    ``hidden_units=()`` (softmax regression) keeps wide sparse data fast.

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.modules import MLP
    >>> MLP(n_features=4, n_classes=3, hidden_units=(8,))(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    #: The first layer takes ``torch.sparse_csr`` batches as they are.
    accepts_sparse = True

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_units: Sequence[int] = (256, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        hidden_units = _check_hidden_units(hidden_units)
        layers: list[nn.Module] = []
        width = n_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits of a batch of shape ``(n_samples, n_features)``."""
        return self.layers(X)


def _check_hidden_units(hidden_units):
    """Return ``hidden_units`` as a tuple of positive ints, or raise."""
    units = hidden_units
    if isinstance(units, Integral) and not isinstance(units, bool):
        units = (units,)
    try:
        units = tuple(units)
    except TypeError:
        units = None
    if units is None or not all(
        isinstance(u, Integral) and not isinstance(u, bool) and u > 0 for u in units
    ):
        raise ValueError(
            f"module__hidden_units must be a positive int or a sequence of "
            f"positive ints (one width per hidden layer, () for none); got "
            f"{hidden_units!r}."
        )
    return tuple(int(u) for u in units)


class SmallCNN(nn.Module):
    """Small convolutional network for images of shape ``(C, H, W)``.

    Two blocks of 3x3 convolution, batch normalisation, ReLU and 2x2
    max-pooling, a global average pool (so any image size works) and a linear
    classifier: about 20k weights for ``channels=(32, 64)``, which trains on
    28x28 images on a CPU. Without batch normalisation the network learned
    nothing from BreastMNIST's 546 training images in 30 epochs (it predicted
    the majority class, 73.1%); with it, it fits 83% of them (issue 7).

    Parameters
    ----------
    in_channels : int
        Number of input channels (1 for grey-scale, 3 for RGB).
    n_classes : int
        Number of output logits.
    channels : sequence of int, default=(32, 64)
        Output channels of each convolution block.
    dropout : float, default=0.0
        Dropout probability before the linear classifier.
    batch_norm : bool, default=True
        Normalise each convolution's output over the batch (train mode) or
        with running statistics (eval mode).

    Examples
    --------
    >>> import torch
    >>> from sklearn_noisy._core.modules import SmallCNN
    >>> SmallCNN(in_channels=1, n_classes=10)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        channels: Sequence[int] = (32, 64),
        dropout: float = 0.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for out in channels:
            layers.append(nn.Conv2d(width, out, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers += [nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            width = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits of a batch of shape ``(n_samples, C, H, W)``."""
        z = self.pool(self.features(X)).flatten(1)
        return self.classifier(self.dropout(z))
