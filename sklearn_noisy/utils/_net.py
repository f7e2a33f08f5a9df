"""Building and seeding skorch nets; shared by the estimators."""

from __future__ import annotations

import contextlib
import copy
import inspect

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.hf import AccelerateMixin

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
    if module is SmallCNN and X.ndim == 4 and _looks_channels_last(X.shape):
        raise ValueError(
            f"{name} got images of shape {X.shape}, which look channels-last "
            f"(n, height, width, channels); SmallCNN expects (n, channels, "
            f"height, width). Transpose them with X.transpose(0, 3, 1, 2)."
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
    """Return True for (n, H, W, C) shapes with a colour axis last, e.g. 28x28x1."""
    return shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4)


def module_params(estimator, X, n_classes):
    """Return ``(module, {module__name: value})`` for the skorch net."""
    module, derived, accepted = resolve_module(estimator, X)
    if "n_classes" in accepted:
        derived["n_classes"] = n_classes
    derived.update(routed_kwargs(estimator, "module"))
    return module, {"module__" + k: v for k, v in derived.items()}


# Batch size used for inference only (no gradients, so larger is cheaper).
PREDICT_BATCH_SIZE = 1024


class IndexedNet(NeuralNetClassifier):
    """NeuralNetClassifier whose loss honours ``IndexedBatch.weight``.

    Under data parallelism each process's mean loss is scaled by its share of
    the global batch, so that the gradients averaged over the processes are
    those of the global batch's mean loss (issue 11). Only mean-reduced
    per-sample losses (cross-entropy) are scaled: L_DMI is a loss of the
    process's whole batch.
    """

    def _set_training(self, training=True):
        # skorch sets the mode of every module and criterion before every
        # batch (a recursive module.train()); it only changes between
        # training and prediction, so skip the walk when nothing changes.
        if getattr(self, "_training_mode", None) is training and all(
            getattr(getattr(self, name + "_"), "training", training) is training
            for name in self._modules + self._criteria
        ):
            return
        super()._set_training(training)
        self._training_mode = training

    def train_step(self, batch, **fit_params):
        """Remember the batch's loss weight, then run skorch's step."""
        self._batch_weight = getattr(batch, "weight", 1.0)
        return super().train_step(batch, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Return skorch's loss, scaled by the batch's share under parallelism."""
        if training and len(y_pred) == 0:
            # An empty share of the last batch: no loss, but a graph, so that
            # every process joins the gradient all-reduce.
            return y_pred.sum() * 0.0
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        weight = getattr(self, "_batch_weight", 1.0) if training else 1.0
        criterion = getattr(self.criterion_, "module", self.criterion_)
        if weight != 1.0 and isinstance(criterion, torch.nn.CrossEntropyLoss):
            loss = loss * weight
        return loss


class AcceleratedIndexedNet(AccelerateMixin, IndexedNet):
    """IndexedNet trained through Hugging Face Accelerate.

    Two changes to skorch's :class:`~skorch.hf.AccelerateMixin`: an optimizer
    re-created between training phases (DMIClassifier's L_DMI phase) is
    prepared too, so that mixed precision keeps its gradient scaler; and
    prediction does not gather outputs across processes, since every process
    predicts all rows itself.
    """

    def _initialize_accelerator(self):
        # accelerate wraps every module it prepares in DistributedDataParallel,
        # which refuses modules without trainable parameters: criteria such as
        # cross-entropy and L_DMI are left as they are.
        plain = {
            name: getattr(self, name + "_")
            for name in self._criteria
            if not any(
                p.requires_grad
                for p in getattr(getattr(self, name + "_"), "parameters", list)()
            )
        }
        for name in plain:
            setattr(self, name + "_", None)
        try:
            return super()._initialize_accelerator()
        finally:
            for name, criterion in plain.items():
                setattr(self, name + "_", criterion)

    def initialize_optimizer(self, *args, **kwargs):
        """Initialise the optimizer; prepare it when the net is wrapped."""
        super().initialize_optimizer(*args, **kwargs)
        if self._wrapped_with_accelerator:
            self.optimizer_ = self.accelerator.prepare(self.optimizer_)
        return self

    def evaluation_step(self, batch, training=False):
        """Predict a batch without gathering across processes."""
        return IndexedNet.evaluation_step(self, batch, training=training)


def training_device(estimator):
    """Return the device training runs on: the accelerator's, else ``device``."""
    accelerator = getattr(estimator, "accelerator", None)
    if accelerator is not None:
        return accelerator.device
    return torch.device(estimator.device)


def process_layout(estimator):
    """Return ``(rank, world_size)`` of this process under data parallelism."""
    accelerator = getattr(estimator, "accelerator", None)
    if accelerator is None:
        return 0, 1
    return accelerator.process_index, accelerator.num_processes


def is_main_process(estimator):
    """Return False on every process but the first of a data-parallel run."""
    return process_layout(estimator)[0] == 0


def check_accelerator(estimator):
    """Raise unless ``accelerator`` is None or a Hugging Face ``Accelerator``."""
    accelerator = getattr(estimator, "accelerator", None)
    if accelerator is None:
        return
    try:
        from accelerate import Accelerator
    except ImportError as exc:
        raise ImportError(
            f"The 'accelerator' parameter of {type(estimator).__name__} needs "
            f"Hugging Face Accelerate: pip install accelerate (or "
            f"'sklearn-noisy[accelerate]')."
        ) from exc
    if not isinstance(accelerator, Accelerator):
        raise TypeError(
            f"The 'accelerator' parameter of {type(estimator).__name__} must be "
            f"an accelerate.Accelerator or None; got {accelerator!r}."
        )


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
    module_defaults=None,
):
    """Build the skorch net of an estimator: its module, optimizer and batching.

    The net trains with cross-entropy through
    :func:`~sklearn_noisy.utils._stream.batch_iterator`: whole-batch slices of
    in-memory tensors (:class:`~sklearn_noisy.utils._data.InMemoryBatchIterator`)
    or a ``DataLoader`` over a streamed Dataset
    (:class:`~sklearn_noisy.utils._stream.DatasetBatchIterator`), shuffled with
    ``seed``. It has no internal validation split (the estimators hold their
    own) and returns logits (``predict_nonlinearity=None``). The estimator's
    ``callbacks`` are deep-copied, so the user's objects are never modified.

    With an ``accelerator`` (Hugging Face Accelerate), the net is skorch's
    :class:`~skorch.hf.AccelerateMixin` net: the accelerator places the model
    and wraps it for data parallelism and mixed precision, and each process
    trains on its share of every global batch (see
    :class:`~sklearn_noisy.utils._data.BatchPlan`); prediction is not sharded.

    With ``verbose`` on, an :class:`~sklearn_noisy.callbacks.EpochProgress`
    reports every epoch, labelled with the estimator and the phase (see
    :func:`set_progress_phase`), instead of skorch's unlabelled ``PrintLog``
    table: skorch itself runs with ``verbose=0`` so nothing is printed twice.
    Under data parallelism only the main process reports.
    """
    import scipy.sparse as sp

    from ..callbacks import EpochProgress
    from ._stream import batch_iterator

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
    if estimator.verbose and is_main_process(estimator):
        callbacks.append(("progress", EpochProgress(type(estimator).__name__)))
    device = training_device(estimator)
    rank, world_size = process_layout(estimator)
    accelerator = getattr(estimator, "accelerator", None)
    net_class = IndexedNet
    if accelerator is None:
        placement = {"device": estimator.device}
    else:
        net_class = AcceleratedIndexedNet
        # The accelerator places the module; phases are unwrapped by
        # finish_training once the estimator has trained them all.
        placement = {
            "accelerator": accelerator,
            "device": None,
            "unwrap_after_train": False,
            # skorch's table goes through print, so verbose=0 silences it
            # (the mixin's default sink, the accelerator's print, ignores it).
            "callbacks__print_log__sink": print,
        }
    # The default MLP multiplies sparse batches without densifying them.
    sparse = sp.issparse(X) and getattr(module, "accepts_sparse", False)
    num_workers = getattr(estimator, "num_workers", 0)
    return net_class(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=estimator.optimizer,
        lr=lr,
        batch_size=batch_size,
        iterator_train=batch_iterator,
        iterator_train__shuffle=True,
        iterator_train__drop_last=drop_last,
        iterator_train__seed=seed,
        iterator_train__device=device,
        iterator_train__rank=rank,
        iterator_train__world_size=world_size,
        iterator_train__num_workers=num_workers,
        iterator_train__sparse=sparse,
        iterator_valid=batch_iterator,
        iterator_valid__batch_size=max(estimator.batch_size, PREDICT_BATCH_SIZE),
        iterator_valid__device=device,
        iterator_valid__num_workers=num_workers,
        iterator_valid__sparse=sparse,
        train_split=None,
        classes=list(range(n_outputs)),
        callbacks=callbacks,
        # No internal validation split: skorch's validation scores would only
        # be called, and do nothing, at every batch.
        callbacks__valid_loss=None,
        callbacks__valid_acc=None,
        predict_nonlinearity=None,
        verbose=0,
        **placement,
        **module_kwargs,
        **optimizer_kwargs,
    )


def finish_training(net):
    """Unwrap an accelerated net's module after the last training phase.

    Accelerate wraps the module (``DistributedDataParallel``, mixed-precision
    forward); the fitted estimator keeps the plain module, which predicts in
    float32 and pickles.
    """
    unwrap = getattr(net, "_unwrap_accelerator", None)
    if unwrap is not None:
        unwrap()


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
