"""DMIClassifier: a skorch/PyTorch classifier trained with L_DMI."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._core.dmi import DMILoss
from .callbacks import ValidationDMICheckpoint
from .utils._data import (
    fit_input_standardizer,
    fitted_input_standardizer,
    to_tensor_2d_or_nd,
)
from .utils._net import (
    RoutedParamsMixin,
    add_callback,
    build_net,
    check_accelerator,
    check_routed_params,
    draw_seeds,
    finish_training,
    process_layout,
    set_progress_phase,
    softmax_numpy,
    torch_seeded,
    training_device,
)
from .utils._stream import (
    check_dataset_data,
    check_dataset_predict,
    is_dataset,
    take_rows,
)
from .utils._threads import torch_threads
from .utils._validation import (
    check_batch_size,
    check_classification_data,
    check_predict_data,
    check_uniform_sample_weight,
    stratified_validation_split,
)

# Warm-up length when warmup_epochs="auto" but the data are too small for a
# stratified validation split (a class with a single sample): two epochs were
# the best fixed choice in the issue-2 measurements (MNIST-5k and
# PneumoniaMNIST), ten memorised the noise.
_FALLBACK_WARMUP_EPOCHS = 2
# Upper bound of the automatic warm-up, in optimiser steps. Validation L_DMI
# can keep improving while the network starts to fit pair noise (MNIST-5k at
# 40%: 12-18 epochs chosen, 0.79 test accuracy); capping the warm-up at 150
# steps (7 epochs of MNIST-5k's 3,150 rows, 19 of digits' 1,131) gave the best mean and
# worst case over eight noisy settings (mean 0.887, worst 0.822 against 0.848
# and 0.681 uncapped; benchmarks/results_defaults.md).
_AUTO_WARMUP_STEPS = 150


class DMIClassifier(RoutedParamsMixin, ClassifierMixin, BaseEstimator):
    """Neural-network classifier trained with the noise-robust loss L_DMI.

    Training follows Xu et al. (2019): a cross-entropy warm-up, then
    ``max_epochs`` epochs of L_DMI at its own (smaller) learning rate, starting
    from the best warm-up checkpoint. L_DMI is robust to any
    instance-independent label noise (any invertible transition matrix), and
    needs no estimate of the noise. The network is a skorch
    :class:`~skorch.NeuralNetClassifier`, kept as ``net_``.

    Parameters
    ----------
    module : torch.nn.Module class or None, default=None
        The network, as a class (or factory) returning logits; its arguments
        are set as ``module__<name>=value`` (e.g. ``module__hidden_units=(64,)``)
        and ``n_features`` / ``in_channels`` / ``n_classes`` are filled in from
        the data when its signature names them. None uses
        :class:`~sklearn_noisy.modules.MLP` for 2-D ``X`` and
        :class:`~sklearn_noisy.modules.SmallCNN` for 4-D ``X``
        (``(n_samples, channels, height, width)``).
    max_epochs : int, default=20
        Epochs of L_DMI training after the warm-up.
    lr : float, default=3e-4
        Learning rate of the L_DMI phase (the paper fine-tunes at a small rate:
        Adam 1e-4 for MR and Fashion-MNIST; 3e-4 was better here, with the best
        epoch kept on the validation split).
    warmup_epochs : int or "auto", default="auto"
        Cross-entropy epochs before L_DMI. "auto" holds out
        ``validation_fraction`` of the rows (stratified), trains cross-entropy
        for at most ``max_epochs`` epochs and at most 150 optimiser steps
        (longer warm-ups memorise the noise), stops after ``n_iter_no_change``
        epochs without improvement of the validation L_DMI and starts L_DMI
        from the best epoch; the L_DMI phase then also keeps its best epoch on
        that split. An int trains that many cross-entropy epochs on all rows
        (0: L_DMI from scratch, which can land on a permuted labelling); with
        no validation split the L_DMI phase then keeps its last epoch, and a
        large ``lr`` can collapse it (measured: 2 of 5 PneumoniaMNIST seeds at
        lr=1e-3 predicted a single class).
    warmup_lr : float, default=1e-3
        Learning rate of the cross-entropy warm-up.
    validation_fraction : float or None, default=0.1
        Share of the rows held out (stratified, with noisy labels) to pick the
        warm-up length and the best L_DMI epoch when ``warmup_epochs="auto"``.
        With None, or data too small for a stratified split, "auto" trains
        two cross-entropy epochs on all rows.
    n_iter_no_change : int, default=3
        Patience of the automatic warm-up, in epochs.
    batch_size : int, default=128
        Rows per mini-batch; must exceed the number of classes (L_DMI's
        determinant needs full-rank batches). Incomplete batches are dropped;
        with fewer rows than ``batch_size`` one full batch is used.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Optimizer of both phases; its arguments route as
        ``optimizer__<name>=value`` (e.g. ``optimizer__weight_decay=1e-4``).
    standardize : {"auto", "features", "global"} or bool, default="auto"
        How the inputs are scaled before they reach the network, with
        statistics of the training rows kept as ``input_mean_`` and
        ``input_scale_`` and applied again in ``predict`` (computed in
        float64, before the cast to float32). "features": each feature
        (image channel) to zero mean and unit variance, as
        ``StandardScaler`` does; "global": one affine map of the overall
        minimum to 0 and maximum to 1 (0-255 pixels become ``X / 255``);
        "auto" (or True): "global" when the features' ranges lie within a
        factor of 10 of each other, else "features". False: ``X`` as given.
        Sparse ``X`` is never rescaled (centring would densify it).
    device : str, default="cpu"
        Torch device, e.g. "cuda". Ignored with ``accelerator``, which
        places the network itself.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's
        :class:`~skorch.hf.AccelerateMixin`): data parallelism over the
        processes of ``accelerate launch`` or ``torchrun`` (CPU with gloo,
        GPUs with NCCL) and mixed precision
        (``Accelerator(mixed_precision="bf16")``; L_DMI's determinant stays
        float32). Each process trains on its share of every global batch of
        ``batch_size`` rows; L_DMI is computed on each process's share, which
        must therefore hold more rows than there are classes. Every process
        ends with the same fitted classifier; save it from the main process
        only (``accelerator.is_main_process``).
    num_workers : int, default=0
        ``DataLoader`` worker processes that read the items of a Dataset
        ``X`` (0: read them in the training process); ignored for arrays.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (copied at ``fit``). They see two training
        calls: the warm-up and the L_DMI phase.
    verbose : int, default=0
        0 prints nothing; 1 reports every epoch on stderr, labelled with the
        phase ("warm-up (cross-entropy)", then "L_DMI") and its losses: a
        progress bar per phase when stderr is a terminal and tqdm is
        installed, else one line per epoch
        (:class:`~sklearn_noisy.callbacks.EpochProgress`; it replaces
        skorch's own per-epoch table).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, dropout, the shuffling and the
        validation split. Same int, same predictions on CPU.
    **kwargs : dict
        ``module__<name>`` and ``optimizer__<name>`` parameters, routed to the
        module and the optimizer as in skorch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features (the second dimension of ``X``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.
    input_mean_ : ndarray of shape (n_features,) or (n_channels,), or None
        What ``standardize`` subtracts from each feature (channel); None when
        ``standardize=False`` or ``X`` is sparse.
    input_scale_ : ndarray of shape (n_features,) or (n_channels,), or None
        What ``standardize`` divides each centred feature (channel) by (1 for
        constant ones); None when not standardised.
    net_ : skorch.NeuralNetClassifier
        The trained net; ``net_.history`` records ``train_loss`` and, with a
        validation split, ``valid_dmi_loss`` and ``valid_acc`` per epoch, and
        ``criterion`` ("cross_entropy" or "dmi").
    warmup_epochs_ : int
        Cross-entropy epochs whose weights started the L_DMI phase.
    n_epochs_ : int
        Epochs trained in all (both phases).

    See Also
    --------
    MislabelDetector : Find the likely mislabeled training samples.

    Notes
    -----
    For a batch of ``N`` rows with observed labels ``y`` and predicted
    probabilities ``P``, L_DMI is ``-log(|det(onehot(y)^T P)| + 0.001)``
    (Xu et al., 2019, Eq. 4; unnormalised counts as in the official code).
    ``|det|`` of the joint distribution is information-monotone and, under
    noise with transition matrix ``T``, only scaled by ``|det T|``, so its
    minimiser is the same with and without the noise.

    Why the warm-up decides: measured on MNIST-5k with 40% pair noise, two
    cross-entropy epochs before L_DMI gave 0.873 test accuracy, ten gave 0.598
    (the network had memorised the noise) and none 0.188 (a permuted
    labelling). The automatic warm-up picks the length on held-out rows.

    References
    ----------
    .. [1] Y. Xu, P. Cao, Y. Kong, Y. Wang. "L_DMI: An Information-theoretic
       Noise-robust Loss Function." NeurIPS 2019. arXiv:1909.03388.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import DMIClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DMIClassifier(max_epochs=5, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "module": [callable, None],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "warmup_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "warmup_lr": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [callable],
        "standardize": ["boolean", StrOptions({"auto", "features", "global"})],
        "device": [str, torch.device],
        "accelerator": [HasMethods(["prepare", "backward"]), None],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        module=None,
        *,
        max_epochs=20,
        lr=3e-4,
        warmup_epochs="auto",
        warmup_lr=1e-3,
        validation_fraction=0.1,
        n_iter_no_change=3,
        batch_size=128,
        optimizer=torch.optim.Adam,
        standardize="auto",
        device="cpu",
        accelerator=None,
        num_workers=0,
        callbacks=None,
        verbose=0,
        random_state=None,
        **kwargs,
    ):
        self.module = module
        self.max_epochs = max_epochs
        self.lr = lr
        self.warmup_epochs = warmup_epochs
        self.warmup_lr = warmup_lr
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.standardize = standardize
        self.device = device
        self.accelerator = accelerator
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self._routed = kwargs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the network: cross-entropy warm-up, then L_DMI.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Training data. Sparse matrices stay sparse (the default MLP
            multiplies them as they are; other modules get each batch
            densified). A :class:`torch.utils.data.Dataset` of ``(x, y)``
            items streams through a ``DataLoader``; its labels come from the
            items.
        y : array-like of shape (n_samples,) or None
            Observed, possibly noisy, labels of any type; None when ``X`` is
            a Dataset.
        sample_weight : array-like of shape (n_samples,), default=None
            Only None or equal weights are accepted: the mini-batch losses have
            no per-sample weights, and other weights raise a ValueError rather
            than being ignored.

        Returns
        -------
        self : DMIClassifier
            The fitted classifier.
        """
        check_routed_params(self)
        check_accelerator(self)
        if self.warmup_epochs == "auto" and self.max_epochs == 0:
            raise ValueError(
                "DMIClassifier with warmup_epochs='auto' and max_epochs=0 trains "
                "nothing: 'auto' warms up for at most max_epochs epochs. Set "
                "max_epochs >= 1, or an int warmup_epochs for cross-entropy only "
                "(e.g. warmup_epochs=20, max_epochs=0)."
            )
        streamed = is_dataset(X)
        if streamed:
            X, y_enc = check_dataset_data(self, X, y)
        else:
            X, y_enc = check_classification_data(self, X, y)
        n_classes = len(self.classes_)
        check_batch_size(self, n_classes, process_layout(self)[1])
        check_uniform_sample_weight(self, sample_weight, X)

        rng = check_random_state(self.random_state)
        torch_seed, shuffle_seed, split_seed = draw_seeds(rng, 3)
        split = None
        if self.warmup_epochs == "auto":
            split = stratified_validation_split(
                y_enc, self.validation_fraction, n_classes, split_seed
            )
        train = np.arange(len(y_enc)) if split is None else split[0]
        device = training_device(self)
        y_all = torch.as_tensor(y_enc, device=device)
        if streamed:  # the items carry their encoded labels
            X_all, y_train = X, None
        else:
            X_all = to_tensor_2d_or_nd(X, device, fit_input_standardizer(self, X))
            y_train = y_all[train]
        X_train = take_rows(X_all, train)

        self.net_ = build_net(
            self,
            X,
            n_classes,
            lr=self.warmup_lr,
            batch_size=min(self.batch_size, len(train)),
            drop_last=True,
            seed=shuffle_seed,
        )
        with torch_threads(), torch_seeded(torch_seed, device):
            self._train(X_train, y_train, X_all, y_all, split)
        finish_training(self.net_)
        self.n_epochs_ = len(self.net_.history)
        return self

    def _train(self, X_train, y_train, X_all, y_all, split):
        """Run the two phases; ``split`` is None or (train, valid) indices."""
        net = self.net_
        net.initialize()
        checkpoint = None
        if split is not None:
            checkpoint = ValidationDMICheckpoint(
                take_rows(X_all, split[1]),
                y_all[split[1]],
                patience=self.n_iter_no_change,
            )
            add_callback(net, "valid_dmi_checkpoint", checkpoint)
        if self.warmup_epochs == "auto" and split is not None:
            steps_per_epoch = max(1, X_train.shape[0] // net.batch_size)
            warmup = min(self.max_epochs, -(-_AUTO_WARMUP_STEPS // steps_per_epoch))
        elif self.warmup_epochs == "auto":
            warmup = _FALLBACK_WARMUP_EPOCHS
        else:
            warmup = self.warmup_epochs

        if warmup > 0:
            net.max_epochs = warmup
            phase = "warm-up (cross-entropy)" if self.max_epochs else "cross-entropy"
            set_progress_phase(net, phase)
            net.partial_fit(X_train, y_train)
            self._mark_phase("cross_entropy", 0)
        self.warmup_epochs_ = (
            checkpoint.best_epoch_ if checkpoint is not None else len(net.history)
        )
        if self.max_epochs > 0:
            if checkpoint is not None:
                checkpoint.patience = None
                checkpoint.include_start = True
            n_before = len(net.history)
            net.set_params(criterion=DMILoss, lr=self.lr, max_epochs=self.max_epochs)
            net.initialize_optimizer()
            set_progress_phase(net, "L_DMI")
            net.partial_fit(X_train, y_train)
            self._mark_phase("dmi", n_before)
        if checkpoint is not None:
            # A fitted classifier holds its weights, not its training data:
            # drop the validation rows and the spare copy of the weights.
            checkpoint.X_valid = checkpoint.y_valid = checkpoint.best_state_ = None

    def _mark_phase(self, criterion, start):
        for row in self.net_.history[start:]:
            row["criterion"] = criterion

    def _logits(self, X):
        """Validate ``X`` against fit and return the network's logits."""
        check_is_fitted(self)
        if is_dataset(X):
            X_t = check_dataset_predict(self, X)
        else:
            X = check_predict_data(self, X)
            X_t = to_tensor_2d_or_nd(X, "cpu", fitted_input_standardizer(self))
        with torch_threads():
            return self.net_.forward(X_t, training=False)

    def predict_proba(self, X):
        """Predict class probabilities (softmax of the network's output).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Input rows, shaped as in ``fit`` (a Dataset of ``(x, y)`` items:
            ``y`` is not used).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        return softmax_numpy(self._logits(X))

    def predict(self, X):
        """Predict the most probable class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Input rows, shaped as in ``fit`` (a Dataset of ``(x, y)`` items:
            ``y`` is not used).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        logits = self._logits(X)
        return self.classes_[logits.argmax(1).numpy()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = (
            str(self.device).split(":")[0] != "cpu" or self.accelerator is not None
        )
        return tags
