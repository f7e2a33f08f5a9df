"""Building and seeding skorch nets; shared by the estimators."""

from __future__ import annotations

import contextlib
import copy
import inspect

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor

from .._core.losses import ForwardCorrectedLoss, WeightedCrossEntropyLoss
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


class IndexedNet(NeuralNetClassifier):
    """NeuralNetClassifier whose loss honours the weights of an ``IndexedBatch``.

    skorch's training step hands the criterion ``(y_pred, y_true)`` only; the
    batches of :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` (and
    of the streamed iterator) also carry the rows' sample weights
    (``batch.weight``), and the criteria of this package (cross-entropy,
    L_DMI, forward correction) take them as a third argument. Unweighted
    batches (``batch.weight`` None) compute exactly the loss of a plain
    ``NeuralNetClassifier``. (The estimators compose this net; they do not
    subclass it.)

    Under data parallelism each process's mean loss is also scaled by its
    share of the global batch (``batch.share``), so that the gradients
    averaged over the processes are those of the global batch's mean loss
    (issue 11). Only mean-reduced per-sample losses (cross-entropy, forward
    correction) are scaled: L_DMI is a loss of the process's whole batch.
    """

    _PER_SAMPLE_CRITERIA = (
        torch.nn.CrossEntropyLoss,
        WeightedCrossEntropyLoss,
        ForwardCorrectedLoss,
    )

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
        """Remember the batch's sample weights and share, then run the step."""
        self._batch_sample_weight = getattr(batch, "weight", None)
        self._batch_share = getattr(batch, "share", 1.0)
        try:
            return super().train_step(batch, **fit_params)
        finally:
            self._batch_sample_weight = None
            self._batch_share = 1.0

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """Return the criterion of the batch, weighted when weights exist.

        In training, the weights default to those of the batch being
        trained on, and the loss is scaled by the batch's share under data
        parallelism.
        """
        if training and len(y_pred) == 0:
            # An empty share of the last batch: no loss, but a graph, so that
            # every process joins the gradient all-reduce.
            return y_pred.sum() * 0.0
        if training and sample_weight is None:
            sample_weight = getattr(self, "_batch_sample_weight", None)
        if sample_weight is None:
            loss = super().get_loss(y_pred, y_true, X=X, training=training)
        else:
            y_true = to_tensor(y_true, device=y_pred.device)
            loss = self.criterion_(y_pred, y_true, sample_weight)
        share = getattr(self, "_batch_share", 1.0) if training else 1.0
        criterion = getattr(self.criterion_, "module", self.criterion_)
        if share != 1.0 and isinstance(criterion, self._PER_SAMPLE_CRITERIA):
            loss = loss * share
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
    return check_device(estimator.device)


def check_device(device):
    """Return ``device`` as a ``torch.device`` this torch can use, or raise.

    A ValueError naming the parameter replaces torch's own errors (an
    AssertionError "Torch not compiled with CUDA enabled" at the first
    tensor moved, or a RuntimeError about the device string).
    """
    try:
        found = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device (expected e.g. 'cpu', "
            f"'cuda' or 'cuda:1'): {exc}"
        ) from None
    if found.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r}, but this torch ({torch.__version__}) finds "
                f"no CUDA GPU (torch.cuda.is_available() is False). Use "
                f"device='cpu', or install a CUDA build of torch on a machine "
                f"with an NVIDIA GPU."
            )
        if found.index is not None and found.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}, but torch sees "
                f"{torch.cuda.device_count()} CUDA device(s) (indices from 0)."
            )
    mps = getattr(torch.backends, "mps", None)
    if found.type == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError(
            f"device={device!r}, but this torch finds no Apple MPS device "
            f"(torch.backends.mps.is_available() is False). Use device='cpu'."
        )
    return found


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


def check_accelerated_sample_weight(estimator, sample_weight):
    """Refuse non-uniform sample weights under an ``accelerator``.

    Each process's loss is rescaled by its row share of the global batch; with
    weights the right factor is its share of the batch's total weight, and
    L_DMI's weighted joint matrix is per process: rather than train on subtly
    re-weighted losses, the combination is refused.
    """
    if sample_weight is None:
        return
    weight = torch.as_tensor(sample_weight)
    if len(weight) == 0 or bool((weight == weight[0]).all()):
        return  # equal weights: every share's weighted mean is its plain mean
    raise NotImplementedError(
        f"Non-uniform sample_weight is not supported with an accelerator in "
        f"{type(estimator).__name__}.fit: data-parallel training splits every "
        f"batch over processes, which would re-weight the rows. Train without "
        f"accelerator to use sample_weight, or repeat/subsample rows instead."
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
    sample_weight=None,
    stratify=False,
    module_defaults=None,
):
    """Build the skorch net of an estimator: its module, optimizer and batching.

    The net trains with cross-entropy through
    :func:`~sklearn_noisy.utils._stream.batch_iterator`: whole-batch slices of
    in-memory tensors (:class:`~sklearn_noisy.utils._data.InMemoryBatchIterator`)
    or a ``DataLoader`` over a streamed Dataset
    (:class:`~sklearn_noisy.utils._stream.DatasetBatchIterator`), shuffled with
    ``seed`` (with ``stratify``, every class dealt evenly over the batches).
    It has no internal validation split (the estimators hold their own) and
    returns logits (``predict_nonlinearity=None``). ``sample_weight`` (one per
    row of the data the net is fitted on, or None) weights the training loss.
    The estimator's ``callbacks`` are deep-copied, so the user's objects are
    never modified.

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
        check_accelerated_sample_weight(estimator, sample_weight)
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
        criterion=WeightedCrossEntropyLoss,
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
        iterator_train__sample_weight=sample_weight,
        iterator_train__stratify=stratify,
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
    float32 and pickles. The training rows' sample weights are dropped too:
    a fitted net holds what prediction needs, not its training data.
    """
    unwrap = getattr(net, "_unwrap_accelerator", None)
    if unwrap is not None:
        unwrap()
    if getattr(net, "iterator_train__sample_weight", None) is not None:
        net.iterator_train__sample_weight = None


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
