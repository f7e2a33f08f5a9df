"""skorch callbacks used by the estimators.

They follow skorch's callback protocol (``on_train_begin``, ``on_epoch_end``,
``on_batch_end``, ...) and can be added to any skorch net.
"""

from __future__ import annotations

import sys

import torch
from skorch.callbacks import Callback

from ._core.dmi import DMILoss, agrees_beyond_chance, dmi_matrix
from ._core.sei import DynamicsAccumulator
from .utils._stream import take_rows

__all__ = [
    "DMIGradientClipping",
    "EpochProgress",
    "SEIRecorder",
    "SingularBatchRecorder",
    "ValidationDMICheckpoint",
]


def process_group_sum(net):
    """Return a function that sums a tensor over data-parallel processes.

    None for a net trained by one process; with a Hugging Face ``Accelerator``
    of several processes, an in-place ``torch.distributed.all_reduce``.
    """
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None or accelerator.num_processes == 1:
        return None
    import torch.distributed as dist

    def all_reduce(tensor):
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    return all_reduce


class ValidationDMICheckpoint(Callback):
    """Keep the weights with the lowest L_DMI on a (noisy) validation split.

    At every epoch end the module predicts the validation rows, and
    ``-log|det(U / sum(U))|`` of the whole split (``U`` as in L_DMI, weighted
    by ``sample_weight``) is recorded in the history as ``valid_dmi_loss``,
    next to the noisy-label accuracy ``valid_acc``. The best weights are
    restored when training ends; with ``patience`` the training stops early
    after that many epochs without improvement, once weights worth keeping
    (see below) exist.

    L_DMI rather than accuracy selects the checkpoint because it is the
    criterion that is provably unchanged in its minimiser by instance-independent
    label noise (Xu et al., 2019, Theorem 4.2), whereas the noisy accuracy
    rewards predicting the noise when the noise is not diagonally dominant. The
    paper selects on a noisy validation split too (Section 5).

    Only weights whose predictions are positively associated with the labels
    are kept: ``trace(J) > sum_k J[k, :].sum() * J[:, k].sum()`` for the
    joint ``J = U / sum(U)``, i.e. the predictions agree with the labels more
    often than independent ones would (Cohen's kappa of the soft predictions
    is positive). ``|det U|`` cannot tell a labelling from a permuted one
    (Xu et al., 2019, Section 4), and a start anti-correlated with the labels
    would otherwise be kept and fine-tuned into the swapped classes. For two
    classes the condition is ``det U > 0``. A classifier that agrees with the
    true labels meets it under any noise whose transition matrix has a
    diagonal above ``1 / n_classes`` on average (every diagonally dominant
    one, and one-way flips at any rate below 1 for two classes).
    ``valid_dmi_loss`` is infinite for weights that do not.

    Parameters
    ----------
    X_valid : torch.Tensor, ndarray or CSR matrix
        Validation inputs, in whatever form the net's ``forward`` accepts.
    y_valid : torch.Tensor of shape (n_valid,)
        Validation labels encoded as ``0 .. n_classes - 1``.
    patience : int or None, default=None
        Stop after this many epochs without improvement; None trains for all
        epochs.
    include_start : bool, default=False
        Score the weights before the first epoch too, so that training can only
        improve on them (used when fine-tuning from a warm start).
    monitor : {"dmi", "accuracy"}, default="dmi"
        Keep the weights with the lowest validation L_DMI, or with the highest
        noisy-label accuracy.
    sample_weight : torch.Tensor of shape (n_valid,) or None, default=None
        Weights of the validation rows in ``U`` and in the accuracy.
    """

    def __init__(
        self,
        X_valid,
        y_valid,
        patience=None,
        include_start=False,
        monitor="dmi",
        sample_weight=None,
    ):
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.patience = patience
        self.include_start = include_start
        self.monitor = monitor
        self.sample_weight = sample_weight

    def _score(self, net):
        logits = net.forward(self.X_valid, training=False, device=net.device)
        y = self.y_valid.to(logits.device)
        weight = None
        if self.sample_weight is not None:
            weight = self.sample_weight.to(logits.device, torch.float32)
        joint = dmi_matrix(logits, y, weight).double()
        joint = joint / joint.sum()
        hits = (logits.argmax(1) == y).float()
        acc = hits.mean() if weight is None else (hits * weight).sum() / weight.sum()
        all_reduce = process_group_sum(net)
        if all_reduce is not None:
            # Every process predicts the whole split with the same weights;
            # averaging makes their decisions (best epoch, early stop) agree
            # even where kernels are not bitwise reproducible (CUDA).
            n = net.accelerator.num_processes
            shared = all_reduce(
                torch.cat([joint.detach().flatten(), acc[None].double()])
            )
            joint, acc = (shared[:-1] / n).reshape(joint.shape), shared[-1] / n
        # |det U| does not change when two predicted classes are swapped
        # (Xu et al., 2019, Section 4), so a permuted labelling can score as
        # well as the right one: weights whose predictions agree with the
        # labels no more often than chance are never kept.
        associated = agrees_beyond_chance(joint)
        loss = -float(torch.linalg.slogdet(joint).logabsdet)
        return (loss if associated else float("inf")), float(acc)

    def _criterion(self, loss, acc):
        return -acc if self.monitor == "accuracy" else loss

    def _keep(self, net, loss):
        self.best_loss_ = loss
        self.best_state_ = {
            k: v.detach().clone() for k, v in net.module_.state_dict().items()
        }
        self.epochs_since_best_ = 0

    def on_train_begin(self, net, **kwargs):
        """Reset the best score (and score the starting weights if asked)."""
        self.best_loss_ = float("inf")
        self.best_state_ = None
        self.best_epoch_ = 0
        self.epochs_since_best_ = 0
        if self.include_start:
            loss, acc = self._score(net)
            if loss < float("inf"):
                self._keep(net, self._criterion(loss, acc))
            self.best_epoch_ = len(net.history)

    def on_epoch_end(self, net, **kwargs):
        """Record the validation scores, remember the best weights, stop early."""
        loss, acc = self._score(net)
        net.history.record("valid_dmi_loss", loss)
        net.history.record("valid_acc", acc)
        if loss < float("inf") and self._criterion(loss, acc) < self.best_loss_:
            self._keep(net, self._criterion(loss, acc))
            self.best_epoch_ = len(net.history)
        else:
            self.epochs_since_best_ += 1
        net.history.record("valid_dmi_loss_best", self.best_epoch_ == len(net.history))
        # No early stop before weights worth keeping exist: a warm-up that
        # is still anti-correlated with the labels must go on training.
        if (
            self.patience is not None
            and self.best_state_ is not None
            and self.epochs_since_best_ >= self.patience
        ):
            raise KeyboardInterrupt  # skorch's way to end fit early

    def on_train_end(self, net, **kwargs):
        """Restore the best weights."""
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)


class DMIGradientClipping(Callback):
    """Clip the gradient norm of the steps trained with L_DMI.

    L_DMI's gradient with respect to the joint matrix is ``U^{-T}``: it
    explodes when a batch's ``U`` comes close to singular, and a few such
    steps can throw the network into a state where every batch is singular
    and the loss has no gradient left. After each backward pass of an L_DMI
    step, the gradients of all parameters are rescaled so that their joint
    norm is at most ``max_norm`` (as :func:`torch.nn.utils.clip_grad_norm_`
    does; through the accelerator's ``clip_grad_norm_`` under Hugging Face
    Accelerate, which unscales mixed-precision gradients first). Steps
    trained with another criterion are left alone.

    Parameters
    ----------
    max_norm : float or None, default=5.0
        Largest gradient norm of an L_DMI step; None does nothing.
    """

    def __init__(self, max_norm=5.0):
        self.max_norm = max_norm

    def initialize(self):
        """Forget the parameters of an earlier training."""
        self.parameters_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        """Collect the learnable parameters once per training call."""
        # skorch hands every step a new generator over the modules'
        # parameters; walking it took about 40 us a step (default MLP).
        self.parameters_ = [p for _, p in net.get_all_learnable_params()]

    def on_train_end(self, net, **kwargs):
        """Drop the parameter list: a fitted net keeps no second reference."""
        self.parameters_ = None

    def on_grad_computed(self, net, named_parameters, **kwargs):
        """Clip the step's gradients when it was trained with L_DMI."""
        if self.max_norm is None or not isinstance(net.criterion_, DMILoss):
            return
        parameters = getattr(self, "parameters_", None)
        if parameters is None:  # called outside a training call
            parameters = [p for _, p in named_parameters]
        accelerator = getattr(net, "accelerator", None)
        if accelerator is not None:
            accelerator.clip_grad_norm_(parameters, self.max_norm)
            return
        # torch.nn.utils.clip_grad_norm_'s arithmetic (bitwise equal on CPU)
        # at a fraction of its cost, which matters at about 2.4 ms a step
        # for the default MLP: the joint norm of the per-tensor norms, and
        # the tensor arithmetic of the coefficient only when it can be < 1.
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        norms = [torch.linalg.vector_norm(g) for g in grads]
        device = norms[0].device
        if any(n.device != device for n in norms):  # parameters on several devices
            norms = [n.to(device) for n in norms]
        total = torch.linalg.vector_norm(torch.stack(norms))
        if float(total) < self.max_norm * (1.0 - 1e-4):
            # max_norm / (total + 1e-6) exceeds 1 by far more than float32's
            # rounding: torch multiplies by min(coef, 1) = 1, i.e. nothing.
            return
        coef = self.max_norm / (total + 1e-6)
        if float(coef) < 1.0:
            for g in grads:
                g.mul_(coef.to(g.device))


class SingularBatchRecorder(Callback):
    """Record the share of L_DMI batches whose determinant is negligible.

    L_DMI is ``-log(|det U| + eps)``: where ``|det U|`` is far below ``eps``
    (a class missing from the batch makes ``U`` singular) the loss sits at
    ``-log(eps)`` and its gradient vanishes, so the batch trains nothing. At
    every epoch end the share of the epoch's training batches with
    ``|det U| <= eps`` (where the guard at least halves the gradient) is
    recorded as ``dmi_singular_share``; epochs trained with another criterion
    record nothing. ``eps`` and ``|det U|`` are the criterion's own
    (:class:`~sklearn_noisy.losses.DMILoss` keeps the last batch's
    ``|det U|``), so recording costs no second determinant.
    """

    def on_epoch_begin(self, net, **kwargs):
        """Start the epoch's counts."""
        self.n_batches_ = 0
        self.n_singular_ = 0

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        """Count the training batch when it was trained with L_DMI."""
        if not training or not isinstance(net.criterion_, DMILoss):
            return
        # The loss has just computed this batch's det U: read it there.
        criterion = net.criterion_
        self.n_batches_ += 1
        self.n_singular_ += not criterion.last_abs_det_ > criterion.eps

    def on_epoch_end(self, net, **kwargs):
        """Record the epoch's share of singular L_DMI batches."""
        if self.n_batches_:
            net.history.record("dmi_singular_share", self.n_singular_ / self.n_batches_)


class SEIRecorder(Callback):
    """Record every training sample's training dynamics, SEI included.

    In ``mode="train"`` (the protocol of Li et al., 2026) the statistics come
    from the forward pass of each training step: train mode, the batch as the
    optimiser saw it, from epoch 1, keyed by the sample indices that
    :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` attaches to each
    batch; recording costs no extra inference. In ``mode="eval"`` the module
    predicts all training rows in eval mode at each epoch end instead (one
    extra forward pass per epoch).

    The per-sample sums live on the training device
    (:class:`~sklearn_noisy._core.sei.DynamicsAccumulator`) and are read as
    ``recorder.accumulator_`` after training. The recorder keeps no reference
    to the training data after ``on_train_end``.

    Under data parallelism (a net trained through Hugging Face Accelerate by
    several processes), each process adds the rows of its share of every
    batch; the per-class thresholds and the fit of each epoch are summed over
    the processes at every epoch end, and the per-sample sums once when
    training ends, so that every process holds the statistics of a
    single-process run, each sample counted once per epoch. In
    ``mode="eval"`` each process predicts every ``world_size``-th row.

    Parameters
    ----------
    n_samples : int
        Number of training rows.
    n_classes : int
        Number of network outputs.
    mode : {"train", "eval"}, default="train"
        Where the statistics come from (see above).
    X : tensor, ndarray or CSR matrix, default=None
        The training inputs; needed for ``mode="eval"`` only.
    y : torch.Tensor of shape (n_samples,), default=None
        The encoded training labels; needed for ``mode="eval"`` only.
    trajectory : bool, default=False
        Also keep the per-epoch ``"sei"`` statistic (float16).
    early_epochs : int, default=0
        Keep the mean probabilities of the first ``early_epochs`` epochs.
    fit_tol : float or None, default=None
        Stop training after an epoch in which at most this share of the
        samples were predicted as another class than their given label: the
        network has fitted the labels, wrong ones included, and further
        epochs add no evidence (0 stops only when every label is fitted).
        None never stops early.
    min_epochs : int, default=1
        Never stop before this many epochs.
    """

    def __init__(
        self,
        n_samples,
        n_classes,
        mode="train",
        X=None,
        y=None,
        trajectory=False,
        early_epochs=0,
        fit_tol=None,
        min_epochs=1,
    ):
        self.n_samples = n_samples
        self.n_classes = n_classes
        self.mode = mode
        self.X = X
        self.y = y
        self.trajectory = trajectory
        self.early_epochs = early_epochs
        self.fit_tol = fit_tol
        self.min_epochs = min_epochs

    def on_train_begin(self, net, **kwargs):
        """Start empty sums on the training device."""
        accelerator = getattr(net, "accelerator", None)
        device = net.device if accelerator is None else accelerator.device
        self.accumulator_ = DynamicsAccumulator(
            self.n_samples,
            self.n_classes,
            device,
            trajectory=self.trajectory,
            early_epochs=self.early_epochs,
            all_reduce=process_group_sum(net),
        )
        self._device = device
        self._rank, self._world_size = (
            (0, 1)
            if accelerator is None
            else (accelerator.process_index, accelerator.num_processes)
        )

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        """Add the batch's statistics (train mode only)."""
        if not training or self.mode != "train":
            return
        index = getattr(batch, "index", None)
        if index is None:
            raise TypeError(
                "SEIRecorder(mode='train') needs batches that carry their sample "
                "indices: use iterator_train=InMemoryBatchIterator."
            )
        self.accumulator_.add(index, y_pred, batch[1])

    def on_epoch_end(self, net, **kwargs):
        """Score all rows (eval mode only), close the epoch, stop when fitted."""
        if self.mode == "eval":
            index = torch.arange(self._rank, self.n_samples, self._world_size)
            X = self.X if self._world_size == 1 else take_rows(self.X, index)
            logits = net.forward(X, training=False, device=self._device)
            self.accumulator_.add(
                index.to(logits.device), logits, self.y[index.to(self.y.device)]
            )
        self.accumulator_.end_epoch()
        fit = self.accumulator_.fit_history[-1]
        net.history.record("fit_accuracy", fit)
        if (
            self.fit_tol is not None
            and len(self.accumulator_.fit_history) >= self.min_epochs
            and 1.0 - fit <= self.fit_tol
        ):
            raise KeyboardInterrupt  # skorch's way to end fit early

    def on_train_end(self, net, **kwargs):
        """Sum the statistics over processes; drop the training data."""
        self.accumulator_.synchronize()
        self.X = None
        self.y = None


# How the history's metrics are named in progress reports; the loss is named
# after the criterion of the phase (an L_DMI value is minus a log-determinant,
# so negative values are normal).
_CRITERION_NAMES = {
    "DMILoss": "L_DMI",
    "CrossEntropyLoss": "cross-entropy",
    "WeightedCrossEntropyLoss": "cross-entropy",
    "ForwardCorrectedLoss": "forward-corrected cross-entropy",
}
_METRICS = (
    ("valid_acc", "valid accuracy"),
    ("valid_dmi_loss", "valid L_DMI"),
    ("fit_accuracy", "labels fitted"),
)


class EpochProgress(Callback):
    """Report every epoch on stderr, labelled with the estimator and the phase.

    On a terminal (and with tqdm installed) a progress bar per training phase;
    otherwise one log line per epoch, so that piped and logged runs show
    progress too. The estimators add one when ``verbose`` is on and set
    ``phase`` ("warm-up (cross-entropy)", "L_DMI", ...) before each phase.

    Parameters
    ----------
    label : str, default=""
        What trains, e.g. "DMIClassifier"; starts every line.
    phase : str, default="training"
        The current phase, e.g. "warm-up (cross-entropy)" or "L_DMI".
    mode : {"auto", "bar", "log"}, default="auto"
        "bar": a tqdm bar; "log": a line per epoch; "auto": a bar when
        ``stream`` is a terminal and tqdm is installed, else lines.
    stream : file-like or None, default=None
        Where to write; None is ``sys.stderr`` at the time of writing.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from sklearn_noisy.callbacks import EpochProgress
    >>> from sklearn_noisy.modules import MLP
    >>> log = io.StringIO()
    >>> net = NeuralNetClassifier(
    ...     MLP, module__n_features=4, module__n_classes=2, max_epochs=2,
    ...     criterion=torch.nn.CrossEntropyLoss, train_split=None, verbose=0,
    ...     callbacks=[EpochProgress("MLP", mode="log", stream=log)])
    >>> X = np.random.RandomState(0).rand(20, 4).astype("float32")
    >>> _ = net.fit(X, np.arange(20) % 2)
    >>> log.getvalue().splitlines()[0][:38]
    'MLP training epoch 1/2: cross-entropy '
    """

    def __init__(self, label="", phase="training", mode="auto", stream=None):
        self.label = label
        self.phase = phase
        self.mode = mode
        self.stream = stream

    def _stream(self):
        return sys.stderr if self.stream is None else self.stream

    def _use_bar(self):
        if self.mode == "log":
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            if self.mode == "bar":
                raise
            return False
        if self.mode == "bar":
            return True
        isatty = getattr(self._stream(), "isatty", None)
        return bool(isatty and isatty())

    def on_train_begin(self, net, **kwargs):
        """Start a bar (or a line count) over this phase's epochs."""
        self.title_ = " ".join(part for part in (self.label, self.phase) if part)
        self.total_ = net.max_epochs
        self.first_epoch_ = len(net.history)
        self.reported_ = len(net.history)
        self.bar_ = None
        if self._use_bar():
            from tqdm import tqdm

            self.bar_ = tqdm(
                total=self.total_,
                desc=self.title_,
                unit="epoch",
                file=self._stream(),
                dynamic_ncols=True,
            )

    def _metrics(self, net, row):
        criterion = getattr(net, "criterion_", None)
        name = type(criterion).__name__
        parts = []
        if "train_loss" in row:
            parts.append(f"{_CRITERION_NAMES.get(name, name)} {row['train_loss']:.4g}")
        parts += [f"{text} {row[key]:.4g}" for key, text in _METRICS if key in row]
        return ", ".join(parts)

    def _report(self, net):
        for row in net.history[self.reported_ :]:
            metrics = self._metrics(net, row)
            if self.bar_ is not None:
                self.bar_.set_postfix_str(metrics, refresh=False)
                self.bar_.update(1)
            else:
                epoch = self.reported_ - self.first_epoch_ + 1
                print(
                    f"{self.title_} epoch {epoch}/{self.total_}: {metrics} "
                    f"({row.get('dur', 0.0):.1f} s)",
                    file=self._stream(),
                    flush=True,
                )
            self.reported_ += 1

    def on_epoch_end(self, net, **kwargs):
        """Report the epoch just finished."""
        self._report(net)

    def on_train_end(self, net, **kwargs):
        """Report an epoch that ended training early, then close the bar."""
        self._report(net)
        if self.bar_ is not None:
            self.bar_.close()
        # A closed tqdm bar holds a lock and a stream: drop it so that a
        # fitted estimator pickles.
        self.bar_ = None
