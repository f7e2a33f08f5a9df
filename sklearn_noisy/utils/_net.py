"""Building and seeding skorch nets; shared by the estimators."""

from __future__ import annotations

import contextlib
import copy
import inspect

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from .._core.losses import WeightedCrossEntropyLoss
from .._core.modules import MLP, SmallCNN

# Double-underscore parameters that the estimators route to skorch, as skorch
# itself does (``module__hidden_units=(64,)``, ``optimizer__weight_decay=1e-4``).
ROUTED_PREFIXES = ("module__", "optimizer__")


class RoutedParamsMixin:
    """get_params/set_params that carry skorch-style routed parameters.

    ``BaseEstimator`` only knows the arguments named in ``__init__``; skorch's
    vocabulary adds ``module__*`` and ``optimizer__*``, which the estimators
    accept as keyword arguments and store as attributes. This mixin lists them
    in ``get_params`` (so ``clone`` and ``GridSearchCV`` keep them) and sets
    them in ``set_params`` (so a grid can tune the architecture).
    """

    def _routed_params(self):
        return dict(getattr(self, "_routed", {}))

    def get_params(self, deep=True):
        """Get parameters, including routed ``module__*``/``optimizer__*`` ones.

        Parameters
        ----------
        deep : bool, default=True
            Ignored for routed parameters; passed to ``BaseEstimator``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        """Set parameters, including routed ``module__*``/``optimizer__*`` ones.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        routed = {
            k: params.pop(k) for k in list(params) if k.startswith(ROUTED_PREFIXES)
        }
        self._routed = {**self._routed_params(), **routed}
        if params:
            super().set_params(**params)
        return self


def routed_kwargs(estimator, prefix):
    """Return ``{name: value}`` of the estimator's ``prefix__name`` parameters."""
    return {
        k[len(prefix) + 2 :]: v
        for k, v in estimator._routed_params().items()
        if k.startswith(prefix + "__")
    }


def check_routed_params(estimator):
    """Raise for keyword arguments that are not routed to skorch."""
    unknown = sorted(
        k for k in estimator._routed_params() if not k.startswith(ROUTED_PREFIXES)
    )
    if unknown:
        raise TypeError(
            f"{type(estimator).__name__} got unexpected parameters {unknown}; only "
            f"{', '.join(p + '<name>' for p in ROUTED_PREFIXES)} are routed."
        )


def resolve_module(estimator, X):
    """Return the module class and the data-derived arguments it accepts.

    ``module=None`` picks :class:`MLP` for 2-D ``X`` and :class:`SmallCNN` for
    4-D ``X`` (``(n_samples, channels, height, width)``). The default modules
    get ``n_features`` / ``in_channels`` and ``n_classes`` from the data; a
    user module gets whichever of those its signature names.
    """
    name = type(estimator).__name__
    module = estimator.module
    if module is None:
        if X.ndim == 2:
            module = MLP
        elif X.ndim == 4:
            module = SmallCNN
            # Only the default module guesses the layout: a module the user
            # chose is trusted with whatever layout it was given.
            if _looks_channels_last(X.shape):
                raise ValueError(
                    f"{name} got images of shape {X.shape}, which look "
                    f"channels-last (n, height, width, channels); its default "
                    f"module SmallCNN expects channels first (n, channels, "
                    f"height, width). Transpose them with "
                    f"X.transpose(0, 3, 1, 2), or pass module=SmallCNN "
                    f"explicitly to use this layout as it is."
                )
        else:
            raise ValueError(
                f"{name} with module=None expects 2-D X (n_samples, n_features) "
                f"for its MLP or 4-D X (n_samples, channels, height, width) for "
                f"its SmallCNN; got X of shape {X.shape}. Reshape X, e.g. "
                f"X.reshape(len(X), -1) or X[:, None], or pass your own module."
            )
    if not callable(module) or isinstance(module, torch.nn.Module):
        raise TypeError(
            f"The 'module' parameter of {name} must be a torch.nn.Module class (or "
            f"a callable returning a fresh module), not an instance; got "
            f"{module!r}. Pass the class and set its arguments as module__<name>."
        )
    if module is MLP and X.ndim != 2:
        raise ValueError(
            f"{name}'s module MLP expects 2-D X of shape (n_samples, n_features); "
            f"got X of shape {X.shape}. Flatten it with X.reshape(len(X), -1) or "
            f"pass module=SmallCNN for images of shape (n, channels, height, width)."
        )
    if module is SmallCNN and X.ndim != 4:
        raise ValueError(
            f"{name}'s module SmallCNN expects 4-D X of shape (n_samples, channels, "
            f"height, width); got X of shape {X.shape}."
        )
    try:
        accepted = set(inspect.signature(module).parameters)
    except (TypeError, ValueError):
        accepted = set()
    derived = {}
    if X.ndim >= 2 and "n_features" in accepted:
        derived["n_features"] = X.shape[1]
    if X.ndim >= 2 and "in_channels" in accepted:
        derived["in_channels"] = X.shape[1]
    return module, derived, accepted


def _looks_channels_last(shape):
    """Return True for (n, H, W, C) shapes: a short last axis after a long one.

    A channel axis holds at most 4 planes (grey, grey + alpha, RGB, RGBA) and
    an image side more: (n, 28, 28, 1) and (n, 28, 28, 2) are channels-last,
    (n, 2, 16, 3) and (n, 4, 4, 4) are read as channels-first.
    """
    return shape[3] <= 4 < shape[1]


def module_params(estimator, X, n_classes):
    """Return ``(module, {module__name: value})`` for the skorch net."""
    module, derived, accepted = resolve_module(estimator, X)
    if "n_classes" in accepted:
        derived["n_classes"] = n_classes
    derived.update(routed_kwargs(estimator, "module"))
    return module, {"module__" + k: v for k, v in derived.items()}


# Batch size used for inference only (no gradients, so larger is cheaper).
PREDICT_BATCH_SIZE = 1024


class WeightedNeuralNetClassifier(NeuralNetClassifier):
    """A skorch NeuralNetClassifier that passes ``batch.weight`` to its criterion.

    skorch's training step hands the criterion ``(y_pred, y_true)`` only; the
    batches of :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` also
    carry the rows' sample weights, and the criteria of this package
    (cross-entropy, L_DMI, forward correction) take them as a third argument.
    Unweighted batches (``batch.weight`` None) compute exactly the loss of a
    plain ``NeuralNetClassifier``. (The estimators compose this net; they do
    not subclass it.)
    """

    def train_step_single(self, batch, **fit_params):
        """Compute the batch's (weighted) loss and its gradients."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(
            y_pred,
            yi,
            X=Xi,
            training=True,
            sample_weight=getattr(batch, "weight", None),
        )
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """Return the criterion of the batch, weighted when weights exist."""
        if sample_weight is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        y_true = to_tensor(y_true, device=self.device)
        return self.criterion_(y_pred, y_true, sample_weight)


def build_net(
    estimator,
    X,
    n_outputs,
    *,
    lr,
    batch_size,
    drop_last,
    seed,
    extra_callbacks=(),
    sample_weight=None,
    stratify=False,
    module_defaults=None,
):
    """Build the skorch net of an estimator: its module, optimizer and batching.

    The net trains with cross-entropy on in-memory tensors through
    :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` (shuffled with
    ``seed``; with ``stratify``, every class dealt evenly over the batches),
    has no internal validation split (the estimators hold their own) and
    returns logits (``predict_nonlinearity=None``). ``sample_weight`` (one per
    row of the data the net is fitted on, or None) weights the training loss.
    The estimator's ``callbacks`` are deep-copied, so the user's objects are
    never modified.

    With ``verbose`` on, an :class:`~sklearn_noisy.callbacks.EpochProgress`
    reports every epoch, labelled with the estimator and the phase (see
    :func:`set_progress_phase`), instead of skorch's unlabelled ``PrintLog``
    table: skorch itself runs with ``verbose=0`` so nothing is printed twice.
    """
    from ..callbacks import EpochProgress
    from ._data import InMemoryBatchIterator

    module, module_kwargs = module_params(estimator, X, n_outputs)
    if estimator.module is None:
        # The estimator's recipe for its default module (e.g. the detector's
        # dropout); what the user routes as module__<name> wins.
        for name, value in (module_defaults or {}).items():
            module_kwargs.setdefault("module__" + name, value)
    optimizer_kwargs = {
        "optimizer__" + k: v for k, v in routed_kwargs(estimator, "optimizer").items()
    }
    callbacks = [*copy.deepcopy(estimator.callbacks or []), *extra_callbacks]
    if estimator.verbose:
        callbacks.append(("progress", EpochProgress(type(estimator).__name__)))
    return WeightedNeuralNetClassifier(
        module,
        criterion=WeightedCrossEntropyLoss,
        optimizer=estimator.optimizer,
        lr=lr,
        batch_size=batch_size,
        iterator_train=InMemoryBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__drop_last=drop_last,
        iterator_train__seed=seed,
        iterator_train__device=estimator.device,
        iterator_train__sample_weight=sample_weight,
        iterator_train__stratify=stratify,
        iterator_valid=InMemoryBatchIterator,
        iterator_valid__batch_size=max(estimator.batch_size, PREDICT_BATCH_SIZE),
        iterator_valid__device=estimator.device,
        train_split=None,
        classes=list(range(n_outputs)),
        callbacks=callbacks,
        predict_nonlinearity=None,
        device=estimator.device,
        verbose=0,
        **module_kwargs,
        **optimizer_kwargs,
    )


def set_progress_phase(net, phase):
    """Name the training phase that the net's progress callbacks report."""
    from ..callbacks import EpochProgress

    for _, callback in net.callbacks_:
        if isinstance(callback, EpochProgress):
            callback.phase = phase


def add_callback(net, name, callback):
    """Add a callback to an initialized net, before its progress callbacks.

    Progress is reported last in each epoch, so that it sees the metrics the
    other callbacks record (the validation scores of the checkpoint).
    """
    from ..callbacks import EpochProgress

    position = next(
        (
            k
            for k, (_, other) in enumerate(net.callbacks_)
            if isinstance(other, EpochProgress)
        ),
        len(net.callbacks_),
    )
    net.callbacks_.insert(position, (name, callback))


def draw_seeds(random_state, n):
    """Draw ``n`` 31-bit seeds from a numpy ``RandomState``."""
    return [int(s) for s in random_state.randint(np.iinfo(np.int32).max, size=n)]


@contextlib.contextmanager
def torch_seeded(seed, device):
    """Seed torch inside the block and restore the global generators after.

    Weight initialisation and dropout use torch's global generator; forking it
    keeps ``random_state`` the only source of randomness without changing the
    user's own torch random state.
    """
    devices = []
    if torch.device(device).type == "cuda":
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def softmax_numpy(logits):
    """Softmax of a logits tensor as a float64 array whose rows sum to 1."""
    return torch.softmax(logits.detach().to("cpu", torch.float64), dim=1).numpy()
