"""DMIClassifier: a skorch/PyTorch classifier trained with L_DMI."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._core.dmi import DMILoss, agrees_beyond_chance, dmi_matrix, swapped_classes
from ._core.noise import accuracy_offset, estimate_transition_from_proba
from .callbacks import (
    DMIGradientClipping,
    SingularBatchRecorder,
    ValidationDMICheckpoint,
)
from .utils._data import (
    check_input_values,
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
    StreamedData,
    check_dataset_data,
    check_dataset_predict,
    is_dataset,
    take_rows,
)
from .utils._threads import torch_threads
from .utils._validation import (
    check_batch_size,
    check_classification_data,
    check_fit_sample_weight,
    check_predict_data,
    stratified_validation_split,
)

# Warm-up length when warmup_epochs="auto" but the data are too small for a
# useful validation split: two epochs were the best fixed choice in the
# issue-2 measurements (MNIST-5k and PneumoniaMNIST), ten memorised the
# noise; on small data _MIN_WARMUP_STEPS decides.
_FALLBACK_WARMUP_EPOCHS = 2
# Upper bound of the automatic warm-up, in optimiser steps. Validation L_DMI
# can keep improving while the network starts to fit pair noise (MNIST-5k at
# 40%: 12-18 epochs chosen, 0.79 test accuracy); capping the warm-up at 150
# steps (7 epochs of MNIST-5k's 3,150 rows, 19 of digits' 1,131) gave the best
# mean and worst case over eight noisy settings (mean 0.887, worst 0.822
# against 0.848 and 0.681 uncapped; benchmarks/results_defaults.md).
_AUTO_WARMUP_STEPS = 150
# Length of the automatic warm-up, in optimiser steps, when no validation
# split tells when to stop. L_DMI cannot tell a labelling from its swap, so
# it must start from a network that already agrees with the labels; counted
# in epochs, the warm-up of tiny data was a handful of steps (issue 8). With a
# validation split, the warm-up runs until the network agrees with the labels
# (ValidationDMICheckpoint) whatever max_epochs: 8 of 8 seeds of scikit-learn's
# 100-row binary blobs then pass check_classifiers_train at max_epochs=1, 2
# and 5 (0 of 6 did at 5 when the warm-up was capped at max_epochs epochs).
_MIN_WARMUP_STEPS = 50
# The automatic warm-up's patience is n_iter_no_change epochs, but at least
# this many optimiser steps. The validation L_DMI of a network that still
# predicts close to the class priors can get worse for several epochs while
# its accuracy rises; on small data an epoch is a handful of steps, and three
# epochs of patience stopped the warm-up after 12-24 steps. Measured on 600
# rows of make_classification (3 classes, 4 steps per epoch), training
# accuracy over 6 seeds: MLP (16,) 0.32, 0.84, 0.82, 0.26, 0.43, 0.39 before,
# 0.80, 0.84, 0.82, 0.80, 0.43 (a warm-up with two classes swapped, warned
# about), 0.78 after; MLP (32,) one seed 0.49 before, all 0.82-0.87 after.
# Data of 17 or more steps per epoch (about 2,200 rows at batch 128) are
# unchanged; on digits (8 steps, patience 7) 20 of the robustness grid's 21
# fits were identical and one lost 0.006.
_MIN_WARMUP_PATIENCE = 50
# L_DMI batches are made large enough that the determinant of a typical batch
# clears the loss's epsilon: |det U| of raw counts grows like
# (batch_size * g) ** n_classes, with g the geometric mean over classes of
# what each class adds to the joint matrix (|det J| ** (1 / n_classes), J the
# normalised joint of the warm-up network's predictions and the labels). Below
# eps the loss is flat and the batch trains nothing: at 50 classes, batch 128
# and 20% warm-up accuracy, every batch (issue 8). The batch is sized so that
# batch_size * g >= _DMI_BATCH_MARGIN, and grows to at most
# _DMI_BATCH_GROWTH times batch_size (memory).
_DMI_BATCH_MARGIN = 2.0
_DMI_BATCH_GROWTH = 16
# decision="accuracy" inverts the estimated transition matrix; below this
# |det T| (e.g. [[0.6, 0.4], [0.55, 0.45]]) the estimated accuracy is mostly
# the noise of the estimate, and the balanced decision is kept.
_MIN_DECISION_DET = 0.05
# decision="accuracy" moves the decision only where the estimated gain in
# clean accuracy clears _DECISION_Z standard errors on the validation split.
# Measured against 0 and 2 (user guide, "choosing"): 0 chased the noise of
# small splits (-0.118 on one of four seeds with 120 validation rows, -0.038
# on PneumoniaMNIST case (a) 0.6); 2 was 0.017-0.049 less accurate than 1
# on synthetic 90/10 data with 40% one-way flips (4 seeds, 2 sizes).
_DECISION_Z = 1.0


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
        for at most 150 optimiser steps (longer warm-ups memorise the noise;
        ``max_epochs`` plays no part), stops after ``n_iter_no_change`` epochs
        without improvement of the validation L_DMI, but never before the
        network's predictions agree with the labels more often than chance
        (L_DMI cannot tell a labelling from a permuted one), and starts L_DMI
        from the best epoch; the L_DMI phase then also keeps its best epoch on
        that split. An int trains that many cross-entropy epochs on all rows
        (0: L_DMI from scratch, which can land on a permuted labelling); with
        no validation split the L_DMI phase then keeps its last epoch, and a
        large ``lr`` can collapse it (measured: 2 of 5 PneumoniaMNIST seeds at
        lr=1e-3 predicted a single class). Either way, a UserWarning says when
        the warm-up network predicts some classes as a permutation of one
        another on the training rows (``det`` of the joint matrix of labels
        and predictions negative, and a swap of its predictions agreeing with
        the labels more often): L_DMI may keep them swapped.
    warmup_lr : float, default=1e-3
        Learning rate of the cross-entropy warm-up. A small network on little
        data learns slowly at the default: on 600 rows of 6 features and 3
        classes, a linear network (``module__hidden_units=()``) reached
        0.31-0.78 training accuracy over 6 seeds (logistic regression: 0.83);
        ``warmup_lr=1e-2`` gave 0.83 in every seed.
    max_grad_norm : float or None, default=5.0
        Largest norm of the gradient in an L_DMI step (all parameters
        together, as :func:`torch.nn.utils.clip_grad_norm_`); None does not
        clip. L_DMI's gradient is ``U^{-T}``, which explodes when a batch's
        joint matrix comes close to singular: measured on Fashion-MNIST with
        40% symmetric noise, gradient norms had a median of 21 and spikes of
        1e5, and one seed in three diverged into a network whose every batch
        was singular (0.692 clean-test accuracy; 0.829 with clipping at 5).
        On digits and PneumoniaMNIST the norms stay below 10. The warm-up
        is not clipped.
    decision : {"balanced", "accuracy"}, default="balanced"
        The decision rule of a two-class problem. "balanced": the argmax of
        the network trained with L_DMI, whose minimiser is the decision of
        best balanced accuracy (see Notes). "accuracy": after training, the
        logit of the second class is shifted by ``decision_offset_``: the
        offset whose gain in accuracy on the true labels, estimated on the
        validation split from its noisy labels through the transition matrix
        estimated there (anchor points, as
        :func:`~sklearn_noisy.noise.estimate_label_noise`), has the highest
        lower bound at one standard error; no shift where no gain clears
        it. ``predict_proba`` is shifted the same way. Needs
        ``warmup_epochs="auto"`` (the validation split); refused for more
        than two classes. Measured (benchmarks page, "Two-class decision
        rules"): +0.014 to +0.100 clean-test accuracy on Fashion-MNIST
        bag-vs-rest (10% bags) under uniform and one-way (case (b)) noise,
        up to +0.029 on MR, but -0.003 to -0.016 on PneumoniaMNIST, whose
        test set is more balanced than its training set (63% against 74%
        pneumonia): the shifted decision is accurate for the training rows'
        class balance.
    validation_fraction : float or None, default=0.1
        Share of the rows held out (stratified, with noisy labels) to pick the
        warm-up length and the best L_DMI epoch when ``warmup_epochs="auto"``.
        With None, or data too small for a useful split (fewer than 3
        validation rows per class), "auto" trains 50 optimiser steps (at least
        two epochs) of cross-entropy on all rows.
    n_iter_no_change : int, default=3
        Patience of the automatic warm-up, in epochs, but at least 50
        optimiser steps: with few batches per epoch (small data) the warm-up
        waits ``ceil(50 / batches per epoch)`` epochs for an improvement.
    batch_size : int, default=128
        Rows per mini-batch; at least the number of classes. Every batch
        carries the class proportions of the data (stratified batches), and
        every L_DMI batch holds every class, rows of a rare class being reused
        within the epoch where needed: a batch that misses a class makes
        L_DMI's determinant zero (issue 8: 98% of the batches at 50 classes
        and batch 128 with plain shuffling). The L_DMI phase grows its batches
        (to at most 16 times ``batch_size``) until ``|det U|`` of a typical
        batch clears the loss's epsilon, judged from the warm-up network
        (``dmi_batch_size_``). No row is dropped: the rows are dealt into
        ``n_samples // batch_size`` batches (one full batch when there are
        fewer rows).
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
        "auto" (or True): "global" for non-negative features whose ranges
        lie within a factor of 10 of each other and keep a spread once
        mapped (pixels, counts), else "features". False: ``X`` as given.
        Sparse ``X`` is never rescaled (centring would densify it).
        With ``sample_weight`` the statistics are those of the rows repeated.
        Values beyond float32's range are refused when not standardised; a
        warning tells when they exceed 1e6, or when every feature is constant.
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
        The trained net; ``net_.history`` records per epoch ``train_loss``,
        ``criterion`` ("cross_entropy" or "dmi"), with a validation split
        ``valid_dmi_loss`` (infinite while the predictions do not agree with
        the labels more than chance) and ``valid_acc``, and in the L_DMI
        phase ``dmi_singular_share``, the share of batches whose ``|det U|``
        fell below the loss's epsilon (no gradient; a warning says so when
        it exceeds one half).
    warmup_epochs_ : int
        Cross-entropy epochs whose weights started the L_DMI phase.
    decision_offset_ : float
        Added to the logit of the second class before ``predict`` and
        ``predict_proba``: 0.0 unless ``decision="accuracy"`` moved the
        decision.
    dmi_batch_size_ : int
        Rows per batch of the L_DMI phase (absent when ``max_epochs=0``).
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

    ``|det U|`` does not change when a class's rows of ``U`` are scaled, so
    L_DMI ignores how frequent each class is: for two classes, ``det U`` of
    hard predictions is ``n0 * n1 * (TPR + TNR - 1)``, and its minimiser is
    the decision of best balanced accuracy, not of best accuracy. On
    imbalanced data DMIClassifier therefore predicts the minority class more
    often than a cross-entropy model (see the user guide's "choosing" page
    for measurements).

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
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "decision": [StrOptions({"balanced", "accuracy"})],
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
        max_grad_norm=5.0,
        decision="balanced",
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
        self.max_grad_norm = max_grad_norm
        self.decision = decision
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
            Observed, possibly noisy, labels of any type (all numbers or all
            strings); None when ``X`` is a Dataset.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample: how many times it counts in
            the cross-entropy of the warm-up, in L_DMI's joint matrix ``U``
            and in the validation scores. Rows of weight 0 are left out (as
            if removed); only the ratios of the weights matter.

        Returns
        -------
        self : DMIClassifier
            The fitted classifier.
        """
        check_routed_params(self)
        check_accelerator(self)
        self._check_schedule()
        streamed = is_dataset(X)
        if streamed:
            X, y_enc = check_dataset_data(self, X, y, sample_weight)
        else:
            X, y_enc = check_classification_data(self, X, y)
        sample_weight = check_fit_sample_weight(self, sample_weight, X, y_enc)
        if sample_weight is not None:
            X, y_enc, sample_weight = self._drop_unweighted(X, y_enc, sample_weight)
        n_classes = len(self.classes_)
        check_batch_size(self, n_classes, process_layout(self)[1])
        self._check_decision(n_classes)

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
        if streamed:  # standardised batch by batch, by check_dataset_data's fit
            X_all = X
        else:
            standardizer = fit_input_standardizer(self, X, sample_weight)
            check_input_values(self, X, standardizer)
            X_all = to_tensor_2d_or_nd(X, device, standardizer)
        w_all = None
        if sample_weight is not None:
            w_all = torch.as_tensor(sample_weight, dtype=torch.float32)

        self.net_ = build_net(
            self,
            X,
            n_classes,
            lr=self.warmup_lr,
            batch_size=min(self.batch_size, len(train)),
            drop_last=True,
            seed=shuffle_seed,
            extra_callbacks=[
                ("singular_batches", SingularBatchRecorder()),
                ("dmi_gradient_clipping", DMIGradientClipping(self.max_grad_norm)),
            ],
            sample_weight=None if w_all is None else w_all[train],
            stratify=True,
        )
        with torch_threads(), torch_seeded(torch_seed, device):
            self._train(X_all, y_all, w_all, train, split)
        finish_training(self.net_)
        self.n_epochs_ = len(self.net_.history)
        self._check_training()
        return self

    def _check_decision(self, n_classes):
        """Refuse decision="accuracy" where it cannot be tuned."""
        if self.decision != "accuracy":
            return
        if n_classes != 2:
            raise ValueError(
                f"DMIClassifier(decision='accuracy') tunes the threshold of a "
                f"two-class problem; y has {n_classes} classes. Use "
                f"decision='balanced' (the argmax)."
            )
        if self.warmup_epochs != "auto" or self.validation_fraction is None:
            raise ValueError(
                f"DMIClassifier(decision='accuracy') tunes its threshold on the "
                f"validation split, which needs warmup_epochs='auto' and a "
                f"validation_fraction; got warmup_epochs="
                f"{self.warmup_epochs!r}, validation_fraction="
                f"{self.validation_fraction!r}."
            )

    def _check_schedule(self):
        """Refuse schedules that train nothing."""
        if self.max_epochs > 0 or self.warmup_epochs not in ("auto", 0):
            return
        raise ValueError(
            f"DMIClassifier with warmup_epochs={self.warmup_epochs!r} and "
            f"max_epochs=0 trains nothing: max_epochs counts the L_DMI epochs, "
            f"and 'auto' warms up only before them. Set max_epochs >= 1, or an "
            f"int warmup_epochs >= 1 for cross-entropy only (e.g. "
            f"warmup_epochs=20, max_epochs=0)."
        )

    def _drop_unweighted(self, X, y_enc, sample_weight):
        """Leave out the rows of weight 0 and the classes left without rows."""
        keep = sample_weight > 0
        present = np.unique(y_enc[keep])
        self.classes_ = self.classes_[present]
        y_kept = np.searchsorted(present, y_enc[keep])
        X_kept = take_rows(X, np.flatnonzero(keep))
        if isinstance(X_kept, StreamedData):  # its labels, re-encoded
            X_kept = X_kept.with_labels(y_kept)
        return X_kept, y_kept, sample_weight[keep]

    def _warmup_length(self, steps_per_epoch, split):
        """Cross-entropy epochs to train (at most, with a validation split)."""
        if self.warmup_epochs != "auto":
            return self.warmup_epochs
        if split is not None:
            return math.ceil(_AUTO_WARMUP_STEPS / steps_per_epoch)
        return max(
            _FALLBACK_WARMUP_EPOCHS, math.ceil(_MIN_WARMUP_STEPS / steps_per_epoch)
        )

    def _warmup_patience(self, steps_per_epoch):
        """Epochs without improvement before the automatic warm-up stops."""
        return max(
            self.n_iter_no_change, math.ceil(_MIN_WARMUP_PATIENCE / steps_per_epoch)
        )

    def _train(self, X_all, y_all, w_all, train, split):
        """Run the two phases; ``split`` is None or (train, valid) indices."""
        net = self.net_
        net.initialize()
        X_train, y_train = take_rows(X_all, train), y_all[train]
        # A streamed subset carries its encoded labels; skorch gets y=None.
        y_fit = None if isinstance(X_train, StreamedData) else y_train
        steps_per_epoch = max(1, len(train) // net.batch_size)
        checkpoint = None
        if split is not None:
            valid = split[1]
            checkpoint = ValidationDMICheckpoint(
                take_rows(X_all, valid),
                y_all[valid],
                patience=self._warmup_patience(steps_per_epoch),
                sample_weight=None if w_all is None else w_all[valid],
            )
            add_callback(net, "valid_dmi_checkpoint", checkpoint)

        warmup = self._warmup_length(steps_per_epoch, split)
        if warmup > 0:
            net.max_epochs = warmup
            phase = "warm-up (cross-entropy)" if self.max_epochs else "cross-entropy"
            set_progress_phase(net, phase)
            net.partial_fit(X_train, y_fit)
            self._mark_phase("cross_entropy", 0)
        self.warmup_epochs_ = (
            checkpoint.best_epoch_ if checkpoint is not None else len(net.history)
        )
        if self.max_epochs > 0:
            # The warm-up network's joint matrix on the training rows: it
            # sizes the L_DMI batches and checks the warm-up's orientation.
            joint = self._training_joint(X_train, y_train, w_all, train)
            if warmup > 0:
                self._warn_about_warm_up(checkpoint, joint)
            if checkpoint is not None:
                checkpoint.patience = None
                checkpoint.include_start = True
            self.dmi_batch_size_ = self._dmi_batch_size(joint, len(train))
            n_before = len(net.history)
            net.set_params(
                criterion=DMILoss,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.dmi_batch_size_,
                iterator_train__min_per_class=1,
            )
            net.initialize_optimizer()
            set_progress_phase(net, "L_DMI")
            net.partial_fit(X_train, y_fit)
            self._mark_phase("dmi", n_before)
        self.decision_offset_ = 0.0
        if self.decision == "accuracy":
            self._tune_decision(checkpoint)
        if checkpoint is not None:
            # A fitted classifier holds its weights, not its training data:
            # drop the validation rows and the spare copy of the weights.
            checkpoint.X_valid = checkpoint.y_valid = checkpoint.best_state_ = None
            checkpoint.sample_weight = None

    def _tune_decision(self, checkpoint):
        """Set ``decision_offset_`` from the validation split's noisy labels."""
        if checkpoint is None:
            warnings.warn(
                "DMIClassifier(decision='accuracy') found no validation split "
                "(too few rows per class for validation_fraction) and keeps "
                "the balanced decision; decision_offset_ is 0",
                UserWarning,
                stacklevel=4,
            )
            return
        logits = self.net_.forward(checkpoint.X_valid, training=False).double()
        y_valid = checkpoint.y_valid.cpu().numpy()
        weight = checkpoint.sample_weight
        weight = None if weight is None else weight.cpu().numpy()
        proba = torch.softmax(logits, dim=1).numpy()
        transition = estimate_transition_from_proba(y_valid, proba)
        if abs(np.linalg.det(transition)) < _MIN_DECISION_DET:
            warnings.warn(
                f"DMIClassifier(decision='accuracy') keeps the balanced "
                f"decision: the transition matrix estimated on its validation "
                f"split is close to singular, so decision_offset_ is 0. "
                f"Estimated matrix: {np.round(transition, 3).tolist()} (|det| "
                f"below {_MIN_DECISION_DET}).",
                UserWarning,
                stacklevel=4,
            )
            return
        margin = (logits[:, 1] - logits[:, 0]).numpy()
        self.decision_offset_, _ = accuracy_offset(
            margin, y_valid, transition, weight, z=_DECISION_Z
        )

    def _training_joint(self, X_train, y_train, w_all, train):
        """Normalised joint matrix of the network's predictions and the labels."""
        logits = self.net_.forward(X_train, training=False)
        weight = None if w_all is None else w_all[train]
        joint = dmi_matrix(logits, y_train.to(logits.device), weight).double()
        return joint / joint.sum()

    def _dmi_batch_size(self, joint, n_train):
        """Rows per L_DMI batch: enough for |det U| to clear the epsilon."""
        n_classes = joint.shape[0]
        logabsdet = float(torch.linalg.slogdet(joint).logabsdet)
        per_class = math.exp(logabsdet / n_classes)  # 0 for a singular joint
        needed = math.ceil(_DMI_BATCH_MARGIN / max(per_class, 1e-12))
        size = max(
            self.net_.batch_size, min(needed, _DMI_BATCH_GROWTH * self.batch_size)
        )
        return min(size, n_train)

    def _warn_about_warm_up(self, checkpoint, joint):
        """Warn when L_DMI would start from a network that ignores the labels.

        The checkpoint keeps only weights positively associated with the
        labels on the validation split; without one, the association is
        measured on the training rows (``joint``). On the training rows, a
        network that predicts some classes swapped is warned about too.
        """
        if checkpoint is not None:
            associated = checkpoint.best_state_ is not None
            where = "validation split"
        else:
            associated = agrees_beyond_chance(joint)
            where = "training rows"
        if not associated:
            warnings.warn(
                f"After {len(self.net_.history)} cross-entropy epoch(s), the "
                f"predictions of DMIClassifier agree with the labels no more "
                f"often than chance on its {where}; L_DMI, which cannot tell a "
                f"labelling from a permuted one, may learn the classes "
                f"swapped. Train the warm-up longer (warmup_epochs, "
                f"warmup_lr) or check that y belongs to X.",
                UserWarning,
                stacklevel=5,
            )
            return
        swapped = swapped_classes(joint)
        if swapped:
            classes = self.classes_.tolist()
            names = [classes[k] for k in swapped]
            warnings.warn(
                f"After its cross-entropy warm-up, DMIClassifier's network "
                f"predicts the classes {names} as a permutation of one another "
                f"on its training rows (the determinant of the joint matrix of "
                f"labels and predictions is negative, and swapping its "
                f"predictions among these classes would agree with the labels "
                f"more often). L_DMI, which cannot tell a labelling from a "
                f"permuted one, may keep them swapped. Train the warm-up "
                f"further: a larger warmup_lr (e.g. 1e-2) for a small network "
                f"or little data, or a fixed warmup_epochs.",
                UserWarning,
                stacklevel=5,
            )

    def _check_training(self):
        """Raise on a diverged training; warn when L_DMI was mostly stuck."""
        history = self.net_.history
        losses = [row["train_loss"] for row in history]
        bad = [i for i, loss in enumerate(losses, 1) if not np.isfinite(loss)]
        if bad:
            phase = history[bad[0] - 1]["criterion"]
            clip = ""
            if phase == "dmi" and self.max_grad_norm is None:
                clip = ", clip the L_DMI steps (max_grad_norm=5.0, the default)"
            raise ValueError(
                f"The training loss of DMIClassifier became non-finite at epoch "
                f"{bad[0]} ({phase}): the weights diverged. Lower lr (L_DMI) or "
                f"warmup_lr (cross-entropy){clip}, or leave standardize=True."
            )
        shares = [
            row["dmi_singular_share"] for row in history if "dmi_singular_share" in row
        ]
        if shares and np.mean(shares) > 0.5:
            warnings.warn(
                f"{100 * np.mean(shares):.0f}% of DMIClassifier's L_DMI batches "
                f"had |det U| below the loss's epsilon, where L_DMI has no "
                f"gradient: the network's predictions are close to independent "
                f"of the labels. Train the warm-up longer or increase "
                f"batch_size (history key 'dmi_singular_share').",
                ConvergenceWarning,
                stacklevel=4,
            )

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
            logits = self.net_.forward(X_t, training=False)
        offset = getattr(self, "decision_offset_", 0.0)  # absent in older pickles
        if offset:
            logits[:, 1] += offset
        return logits

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
