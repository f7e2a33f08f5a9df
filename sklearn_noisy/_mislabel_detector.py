"""MislabelDetector: every training sample's SEI from one training run."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted

from ._core.sei import DynamicsAccumulator
from ._core.thresholds import (
    count_offset,
    early_epoch_count,
    mixture_offset,
    offset_for_count,
)
from .callbacks import SEIRecorder
from .utils._data import (
    fit_input_standardizer,
    fitted_input_standardizer,
    to_tensor_2d_or_nd,
)
from .utils._net import (
    RoutedParamsMixin,
    build_net,
    check_accelerator,
    check_routed_params,
    draw_seeds,
    finish_training,
    torch_seeded,
    training_device,
)
from .utils._rows import TrainingRowIndex
from .utils._stream import check_dataset_data, dataset_positions, is_dataset
from .utils._threads import torch_threads
from .utils._validation import (
    check_classification_data,
    check_fit_sample_weight,
    check_predict_data,
)

METHODS = ("sei", "sei_paper", "aum", "loss", "confidence")
_SIGNED_METHODS = ("sei", "sei_paper", "aum")
# Dropout of the default networks while the detector records them. It slows
# the memorisation of wrong labels, so the training dynamics keep separating
# them for longer: on the research runs of benchmarks/detection.py, dropout
# 0.3 raised the default score's AUROC on the MNIST test-set errors from
# 0.933 to 0.953, on Fashion-MNIST with 40% pair noise from 0.846 to 0.915
# and on MNIST-5k from 0.781 to 0.839, and cost BreastMNIST's one-way flips
# 0.01-0.03 (0.5 gained more on MNIST but pushed two BreastMNIST cases
# below 0.5). A module__dropout the user routes wins.
DEFAULT_DROPOUT = 0.3
# The rule that "auto" stands for, per method (docs/benchmarks.md, "F1 by cut
# rule"): confident learning's count on the learning-phase probabilities.
_AUTO_CONTAMINATION = {method: "count" for method in METHODS}


def _scores_from_means(means):
    """Orient every statistic so that lower means more likely mislabeled."""
    return {
        "sei": means["sei"],
        "sei_paper": means["sei_paper"],
        "aum": means["aum"],
        "loss": -means["loss"],
        "confidence": means["confidence"],
    }


class MislabelDetector(RoutedParamsMixin, BaseEstimator):
    """Find likely mislabeled training samples from one training run.

    The detector trains a classifier on ``(X, y)`` once and records, for every
    training sample at every epoch, a signed statistic of its prediction:
    positive when the prediction agrees with the given label, negative when
    not. Its mean over training is the signed entropy integral (SEI, Li et
    al., 2026): the lower, the more likely the sample is mislabeled. By
    default each epoch is weighted by the prediction's certainty and the sign
    is taken on class-calibrated probabilities, which repairs the paper's
    blind spot for confidently wrong predictions (Notes); the paper's exact
    statistic is ``method="sei_paper"``. The same run also yields the AUM
    margin, the mean loss and the mean confidence of the given label
    (``method``). Scores exist for training samples only. After ``fit`` the
    detector reports how well its network fitted the labels and what its cut
    flags, and warns (:class:`UntrustedRankingWarning`) when the ranking
    cannot be trusted.

    It follows the outlier-detector vocabulary of
    :class:`~sklearn.neighbors.LocalOutlierFactor`: ``fit(X, y)``,
    ``fit_predict(X, y)`` (-1 suspected, +1 kept), ``score_samples``,
    ``decision_function``, ``offset_``, ``contamination``; and imbalanced-learn's
    ``fit_resample(X, y)``, which returns the kept rows.

    Parameters
    ----------
    module : torch.nn.Module class or None, default=None
        The network, as a class returning logits; its arguments route as
        ``module__<name>=value``. None uses an MLP for 2-D ``X`` and a small
        CNN for 4-D ``X`` (``(n_samples, channels, height, width)``), trained
        with dropout 0.3 (``module__dropout`` to change it): dropout slows
        the memorisation of wrong labels (see the user guide).
    estimator : scikit-learn classifier or None, default=None
        Record training dynamics of a scikit-learn classifier instead of a
        network: one with ``staged_predict_proba`` (gradient boosting: the
        statistics are averaged over the boosting stages) or with
        ``partial_fit`` and ``predict_proba`` (``SGDClassifier(loss="log_loss")``,
        ``MLPClassifier``: averaged over ``max_epochs`` passes). Cloned at fit.
        Mutually exclusive with ``module``.
    method : {"sei", "sei_paper", "aum", "loss", "confidence"}, default="sei"
        The per-sample score. "sei": mean calibrated signed certainty (Notes);
        "sei_paper": the paper's mean signed entropy; "aum": mean logit margin
        of the given label (Pleiss et al., 2020); "loss": minus the mean
        cross-entropy; "confidence": mean probability of the given label.
        Which ranks best where: the user guide and ``docs/benchmarks.md``.
    contamination : "auto", "count", "sign", "mixture", "threshold_samples", \
            float or int, default="auto"
        Which samples ``fit_predict`` flags. A float in (0, 0.5] flags that
        share of the lowest scores, an int that many rows. "count": as many
        as confident learning counts (Northcutt et al., 2021) on the mean
        probabilities of the learning phase (the first 50 optimiser steps,
        at least 2 epochs), at most the rows the network then predicts as
        another class. "sign": scores below 0 (signed methods "sei",
        "sei_paper", "aum"). "mixture": the cut of a two-component Gaussian
        mixture on the scores. "threshold_samples": the paper's rule, which
        trains two more runs in which disjoint sets of
        ``n_samples / (n_classes + 1)`` samples get a fake extra class, and
        cuts at the mean score of those known-mislabeled samples (twice the
        training). "auto" is "count": it applies to every method and never
        flags more rows than the network disagrees with ("sign" has a
        similar mean F1 on the detection benchmark). Ties at a cut are
        broken towards flagging fewer rows, and scores that are all equal
        flag none.
    max_epochs : int, default=30
        Training epochs (or partial-fit passes), at most.
    fit_tol : float or None, default=0.01
        Stop training after an epoch in which at most this share of the
        training samples were predicted as another class than their given
        label (never before the learning phase ends): the network has then
        memorised the wrong labels too, and later epochs add no evidence.
        None trains all ``max_epochs``.
    lr : float, default=1e-3
        Learning rate of the network.
    batch_size : int, default=128
        Rows per mini-batch; the last, incomplete batch is kept so that every
        sample is recorded in every epoch.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Optimizer; its arguments route as ``optimizer__<name>=value``.
    standardize : {"auto", "features", "global"} or bool, default="auto"
        How the inputs are scaled before they reach the network, with
        statistics of the training rows kept as ``input_mean_`` and
        ``input_scale_`` (computed in float64, before the cast to float32).
        "features": each feature (image channel) to zero mean and unit
        variance, as ``StandardScaler`` does; "global": one affine map of
        the overall minimum to 0 and maximum to 1 (0-255 pixels become
        ``X / 255``); "auto" (or True): "global" for non-negative features
        whose ranges lie within a factor of 10 of each other and keep a
        spread once mapped (pixels, counts on one scale), else "features"
        (table columns in their own units, signed continuous features). Raw
        tables and 0-255 images then rank as their scaled versions do.
        False: ``X`` as given. Sparse ``X`` is never rescaled; ``estimator``
        gets ``X`` as it is.
    record : {"train", "eval"}, default="train"
        "train": record from the forward pass of each training step (the
        paper's protocol, no extra cost); "eval": predict all training rows in
        eval mode at each epoch end (one more forward pass per epoch).
    record_trajectory : bool, default=False
        Keep the per-epoch signed entropy of every sample in ``trajectory_``.
    device : str, default="cpu"
        Torch device, e.g. "cuda". Ignored with ``accelerator``, which
        places the network itself.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's
        :class:`~skorch.hf.AccelerateMixin`): data parallelism over the
        processes of ``accelerate launch`` or ``torchrun`` (CPU with gloo,
        GPUs with NCCL) and mixed precision
        (``Accelerator(mixed_precision="bf16")``). Each process trains on its
        share of every global batch of ``batch_size`` rows, and the recorded
        statistics are summed over the processes, so that with the same seed
        the scores match those of a single process and each sample is
        recorded once per epoch. Every process ends with the same fitted
        detector; write results from the main process only
        (``accelerator.is_main_process``). See the user guide, "GPU, large
        and streamed data".
    num_workers : int, default=0
        ``DataLoader`` worker processes that read the items of a Dataset
        ``X`` (0: read them in the training process); ignored for arrays.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (copied at ``fit``).
    verbose : int, default=0
        0 prints nothing; 1 reports every training epoch on stderr: a
        progress bar when stderr is a terminal and tqdm is installed, else
        one line per epoch (:class:`~sklearn_noisy.callbacks.EpochProgress`).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, shuffling and threshold samples. Same int,
        same scores on CPU.
    **kwargs : dict
        ``module__<name>`` and ``optimizer__<name>`` parameters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features (the second dimension of ``X``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.
    train_scores_ : ndarray of shape (n_samples,)
        Score of each training sample, in training order: the lower, the more
        likely mislabeled.
    method_scores_ : dict of str to ndarray of shape (n_samples,)
        The scores of every ``method`` from the same run(s).
    train_proba_ : ndarray of shape (n_samples, n_classes)
        Mean predicted probabilities over training, per training sample.
    offset_ : float
        Samples with ``train_scores_ < offset_`` are flagged.
    label_issues_ : ndarray of int
        Indices of the flagged training samples, most suspicious first.
    label_issues_index_ : pandas.Index or ndarray of int
        The flagged training samples by the index of ``X`` (or of ``y``) when
        it was a pandas DataFrame or Series, most suspicious first:
        ``X.loc[detector.label_issues_index_]`` are the suspected rows and
        ``X.drop(index=detector.label_issues_index_)`` the others. Without a
        pandas index, equal to ``label_issues_``.
    trajectory_ : ndarray of shape (n_samples, n_epochs) or None
        Per-epoch value of the default statistic ("sei", float16) when
        ``record_trajectory=True``.
        With ``contamination="threshold_samples"`` the two runs stand side by
        side (``2 * max_epochs`` columns), NaN where a sample carried the fake
        class.
    input_mean_ : ndarray of shape (n_features,) or (n_channels,), or None
        What ``standardize`` subtracts from each feature (channel); None when
        not standardised (``standardize=False``, sparse ``X``, ``estimator``).
    input_scale_ : ndarray of shape (n_features,) or (n_channels,), or None
        What ``standardize`` divides each centred feature (channel) by.
    n_epochs_ : int
        Epochs trained (fewer than ``max_epochs`` when ``fit_tol`` stopped
        the training).
    fit_accuracy_ : float
        Share of the training samples predicted as their given label in the
        last epoch (the in-batch predictions of training).
    majority_rate_ : float
        Share of the most frequent given label: what predicting one class
        for every sample achieves. A ``fit_accuracy_`` no higher means the
        network did not learn.
    flagged_share_ : float
        Share of the training samples flagged.
    flagged_share_by_class_ : ndarray of shape (n_classes,)
        Share of each class's samples flagged, in the order of ``classes_``.
    flagged_agreement_ : float
        Share of the flagged samples that the network predicted as their
        given label in the learning phase (NaN when nothing is flagged).
    flagged_sei_agreement_ : float
        Share of the flagged samples whose default SEI is not negative: the
        network agreed with their given label over training, on balance
        (NaN when nothing is flagged).
    fit_warnings_ : list of str
        The trust warnings of this fit (also issued as
        :class:`UntrustedRankingWarning`): the network did not learn; the cut
        flags more than half of a class or of the data; or it flags more than
        5% of the rows and the network predicted most of them as their label
        early in training, or agreed with most of them over training.
    net_ : skorch.NeuralNetClassifier or None
        The trained net (the last run's); None with ``estimator``.
    estimator_ : scikit-learn classifier or None
        The trained clone of ``estimator``.

    See Also
    --------
    DMIClassifier : Train a classifier that is robust to the noise instead.
    CleanLabelClassifier : Train any classifier on the samples this keeps.

    Notes
    -----
    For a sample with softmax output ``p`` and given label ``y`` at epoch
    ``t``, the paper's statistic is ``s_t = sign(p_y - max_{k != y} p_k) *
    H(p)`` (ties count as +1, natural log) and SEI is the mean of ``s_t``
    over epochs (Li et al., 2026, Eq. 3): ``method="sei_paper"``. Signed
    entropy is near 0 for a confidently wrong prediction, so the paper's SEI
    ranks such samples behind merely ambiguous ones (the 15 verified MNIST
    test-set errors: AUROC 0.68-0.73). The default "sei" weights each epoch
    by certainty instead and takes the sign on class-calibrated
    probabilities ``q_k ~ p_k / sqrt(t_k)``, with ``t_k`` the mean
    probability of class ``k`` over the samples labelled ``k`` in the
    previous epoch: ``s_t = sign(q_y - max_{k != y} q_k) * (log C - H(q))``
    for ``C`` classes (0.95 on the same errors; the arithmetic is in
    ``sklearn_noisy._core.sei``). The default network trains with dropout
    0.3, which slows the memorisation of wrong labels.

    References
    ----------
    .. [1] Li et al. "On Revisiting Entropy for Identifying Mislabeled Images."
       ICML 2026. arXiv:2605.31090.
    .. [2] G. Pleiss, T. Zhang, E. Elenberg, K. Q. Weinberger. "Identifying
       Mislabeled Data using the Area Under the Margin Ranking." NeurIPS 2020.
    .. [3] C. Northcutt, L. Jiang, I. Chuang. "Confident Learning: Estimating
       Uncertainty in Dataset Labels." JAIR 70, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import MislabelDetector
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = y.copy()
    >>> y_noisy[:20] = (y[:20] + 1) % 10
    >>> det = MislabelDetector(max_epochs=10, random_state=0).fit(X / 16, y_noisy)
    >>> scores = det.score_samples(X / 16)
    >>> bool(scores[:20].mean() < scores[20:].mean())
    True
    """

    _parameter_constraints: dict = {
        "module": [callable, None],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "method": [StrOptions(set(METHODS))],
        "contamination": [
            StrOptions({"auto", "mixture", "sign", "count", "threshold_samples"}),
            Interval(RealNotInt, 0, 0.5, closed="right"),
            Interval(Integral, 0, None, closed="left"),
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "fit_tol": [Interval(Real, 0, 1, closed="left"), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [callable],
        "standardize": ["boolean", StrOptions({"auto", "features", "global"})],
        "record": [StrOptions({"train", "eval"})],
        "record_trajectory": ["boolean"],
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
        estimator=None,
        method="sei",
        contamination="auto",
        max_epochs=30,
        fit_tol=0.01,
        lr=1e-3,
        batch_size=128,
        optimizer=torch.optim.Adam,
        standardize="auto",
        record="train",
        record_trajectory=False,
        device="cpu",
        accelerator=None,
        num_workers=0,
        callbacks=None,
        verbose=0,
        random_state=None,
        **kwargs,
    ):
        self.module = module
        self.estimator = estimator
        self.method = method
        self.contamination = contamination
        self.max_epochs = max_epochs
        self.fit_tol = fit_tol
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.standardize = standardize
        self.record = record
        self.record_trajectory = record_trajectory
        self.device = device
        self.accelerator = accelerator
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self._routed = kwargs

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Train once and score every training sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Training data; a :class:`torch.utils.data.Dataset` of ``(x, y)``
            items streams through a ``DataLoader`` (the labels come from the
            items, and the scores are keyed by the items' indices).
        y : array-like of shape (n_samples,) or None
            Given labels, of any type; some may be wrong. None when ``X`` is
            a Dataset.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the training loss (and in
            the input standardisation); every sample is scored, including
            those of weight 0, which the network sees but does not learn
            from. With ``estimator``, passed to its ``fit`` or
            ``partial_fit``. For a Dataset ``X``, one weight per item, in
            the Dataset's order.

        Returns
        -------
        self : MislabelDetector
            The fitted detector.
        """
        check_routed_params(self)
        check_accelerator(self)
        self._check_options()
        streamed = is_dataset(X)
        index = None if streamed else _pandas_index(X, y)
        if streamed:
            X, y_enc = check_dataset_data(self, X, y, sample_weight)
        else:
            X, y_enc = check_classification_data(self, X, y)
        class_counts = self._check_class_sizes(y_enc)
        self._check_contamination_count(len(y_enc))
        sample_weight = check_fit_sample_weight(self, sample_weight, X, y_enc)
        n_classes = len(self.classes_)
        rng = check_random_state(self.random_state)
        if self.estimator is None and not streamed:
            fit_input_standardizer(self, X, sample_weight)
        elif not streamed:
            self.input_mean_ = self.input_scale_ = None
        if self.contamination == "threshold_samples":
            run = self._threshold_sample_runs(X, y_enc, n_classes, rng, sample_weight)
        else:
            seed = draw_seeds(rng, 1)[0]
            acc = self._record(X, y_enc, n_classes, seed, sample_weight)
            run = _Run(
                acc.means(),
                acc.mean_proba(),
                acc.early_mean_proba(),
                acc.trajectory(),
                acc.fit_history,
                None,
            )
        self.method_scores_ = _scores_from_means(run.means)
        self.train_scores_ = self.method_scores_[self.method]
        self._check_scores_finite()
        self.train_proba_ = run.proba
        self.trajectory_ = run.trajectory
        self.n_epochs_ = len(run.fit_history)
        self.fit_accuracy_ = float(run.fit_history[-1])
        self.offset_ = self._offset(
            self.train_scores_, run.early_proba, y_enc, run.threshold
        )
        flagged = np.flatnonzero(self.train_scores_ < self.offset_)
        self.label_issues_ = flagged[
            np.argsort(self.train_scores_[flagged], kind="stable")
        ]
        self.label_issues_index_ = (
            self.label_issues_.copy() if index is None else index[self.label_issues_]
        )
        self._diagnose(y_enc, class_counts, run.early_proba)
        # Rows of arrays are found again by their digest; items of a Dataset
        # by their index (decoding every item again to hash it would cost a
        # pass over the data).
        self._rows = None if streamed else TrainingRowIndex(X, self.train_scores_)
        return self

    def _check_options(self):
        name = type(self).__name__
        if self.estimator is not None and self.module is not None:
            raise ValueError(
                f"{name} takes either module (a torch network) or estimator (a "
                f"scikit-learn classifier), not both; got module={self.module!r} "
                f"and estimator={self.estimator!r}."
            )
        if self.estimator is not None and self.accelerator is not None:
            raise ValueError(
                f"{name}'s accelerator trains its network; estimator (a "
                f"scikit-learn classifier) does not use one. Pass one or the "
                f"other."
            )
        if self.contamination == "sign" and self.method not in _SIGNED_METHODS:
            raise ValueError(
                f"contamination='sign' of {name} needs a signed score, method in "
                f"{list(_SIGNED_METHODS)}; got method={self.method!r}. Use "
                f"contamination='mixture' or a float."
            )
        if isinstance(self.contamination, bool):
            raise ValueError(
                f"The 'contamination' parameter of {name} must be a rule name, a "
                f"float in (0, 0.5] or an int (rows to flag); got "
                f"{self.contamination!r}."
            )

    def _check_contamination_count(self, n_samples):
        """Refuse an int contamination above the number of training rows."""
        count = self.contamination
        if isinstance(count, Integral) and count > n_samples:
            raise ValueError(
                f"contamination={count} asks {type(self).__name__} to flag more "
                f"rows than the {n_samples} it is fitted on. Pass at most "
                f"{n_samples}, or a float share in (0, 0.5]."
            )

    def _check_class_sizes(self, y_enc):
        counts = np.bincount(y_enc, minlength=len(self.classes_))
        if counts.min() < 2:
            rare = self.classes_[counts < 2].tolist()
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples of every class "
                f"in y; class(es) {rare} have 1. A single sample's label cannot "
                f"be judged against its class: drop or merge those classes."
            )
        return counts

    def _record(self, X, y_enc, n_outputs, seed, sample_weight=None):
        """Train one run on ``(X, y_enc)`` and return its accumulator."""
        if self.estimator is not None and is_dataset(X):
            raise TypeError(
                f"{type(self).__name__} with a scikit-learn estimator needs X as "
                f"an array; a Dataset streams to a network only. Pass the data "
                f"as an array, or leave estimator=None."
            )
        if self.estimator is not None:
            return self._record_sklearn(X, y_enc, n_outputs, seed, sample_weight)
        return self._record_torch(X, y_enc, n_outputs, seed, sample_weight)

    def _record_torch(self, X, y_enc, n_outputs, seed, sample_weight=None):
        torch_seed, shuffle_seed = draw_seeds(np.random.RandomState(seed), 2)
        device = training_device(self)
        y_t = torch.as_tensor(y_enc, device=device)
        if is_dataset(X):  # the streamed items carry their encoded labels
            X_t, y_fit = X.with_labels(y_enc), None
        else:
            X_t = to_tensor_2d_or_nd(X, device, fitted_input_standardizer(self))
            y_fit = y_t
        early = early_epoch_count(self.max_epochs, -(-len(y_enc) // self.batch_size))
        recorder = SEIRecorder(
            len(y_enc),
            n_outputs,
            mode=self.record,
            X=X_t,
            y=y_t,
            trajectory=self.record_trajectory,
            early_epochs=early,
            fit_tol=self.fit_tol,
            min_epochs=early,
        )
        self.net_ = build_net(
            self,
            X,
            n_outputs,
            lr=self.lr,
            batch_size=self.batch_size,
            drop_last=False,
            seed=shuffle_seed,
            extra_callbacks=[("sei", recorder)],
            sample_weight=sample_weight,
            module_defaults={"dropout": DEFAULT_DROPOUT},
        )
        self.net_.set_params(max_epochs=self.max_epochs)
        self.estimator_ = None
        with torch_threads(), torch_seeded(torch_seed, device):
            self.net_.fit(X_t, y_fit)
        finish_training(self.net_)
        accumulator = recorder.accumulator_
        # The detector keeps the per-sample results, not the device-side sums
        # (n_samples x (6 + 2 n_classes) floats) they came from (issue 11).
        recorder.accumulator_ = None
        return accumulator

    def _record_sklearn(self, X, y_enc, n_outputs, seed, sample_weight=None):
        est = clone(self.estimator)
        if (
            "random_state" in est.get_params()
            and est.get_params()["random_state"] is None
        ):
            est.set_params(random_state=seed)
        acc = DynamicsAccumulator(
            len(y_enc),
            n_outputs,
            trajectory=self.record_trajectory,
            # Each boosting stage or partial-fit pass counts as one step.
            early_epochs=early_epoch_count(self.max_epochs, 1),
        )
        index = torch.arange(len(y_enc))
        target = torch.as_tensor(y_enc)
        weighted = sample_weight is not None

        def add(proba):
            full = np.zeros((len(y_enc), n_outputs))
            full[:, est.classes_.astype(int)] = proba
            logits = torch.log(torch.as_tensor(full).clamp(min=1e-12))
            acc.add(index, logits, target)
            acc.end_epoch()

        if hasattr(est, "staged_predict_proba"):
            est.fit(X, y_enc, **({"sample_weight": sample_weight} if weighted else {}))
            for proba in est.staged_predict_proba(X):
                add(proba)
        elif hasattr(est, "partial_fit"):
            rng = np.random.RandomState(seed)
            classes = np.arange(n_outputs)
            for _ in range(self.max_epochs):
                order = rng.permutation(len(y_enc))
                extra = {"sample_weight": sample_weight[order]} if weighted else {}
                est.partial_fit(X[order], y_enc[order], classes=classes, **extra)
                add(self._sklearn_proba(est, X))
        else:
            raise TypeError(
                f"The estimator of {type(self).__name__} must have "
                f"staged_predict_proba (e.g. GradientBoostingClassifier) or "
                f"partial_fit (e.g. SGDClassifier(loss='log_loss')) to yield "
                f"training dynamics; got {type(est).__name__}."
            )
        self.net_ = None
        self.estimator_ = est
        return acc

    def _sklearn_proba(self, est, X):
        try:
            return est.predict_proba(X)
        except AttributeError as exc:
            raise TypeError(
                f"The estimator of {type(self).__name__} must implement "
                f"predict_proba; {est!r} does not (for SGDClassifier use "
                f"loss='log_loss')."
            ) from exc

    def _threshold_sample_runs(self, X, y_enc, n_classes, rng, sample_weight=None):
        """Run the paper's protocol: two runs with disjoint fake-class samples.

        Each run relabels ``n / (n_classes + 1)`` samples to an extra class
        ``n_classes``; a sample's statistics are averaged over the runs in which
        it kept its label, and the cut is the mean, over runs, of the threshold
        samples' mean score.
        """
        n = len(y_enc)
        size = max(1, n // (n_classes + 1))
        order = rng.permutation(n)
        seeds = draw_seeds(rng, 2)
        sums, weights, proba_sums, cuts, trajectories = None, np.zeros(n), 0, [], []
        fit_history = []
        for run in range(2):
            fake = order[run * size : (run + 1) * size]
            y_run = y_enc.copy()
            y_run[fake] = n_classes
            acc = self._record(X, y_run, n_classes + 1, seeds[run], sample_weight)
            means = acc.means()
            run_scores = _scores_from_means(means)
            cuts.append(float(np.mean(run_scores[self.method][fake])))
            keep = np.ones(n, dtype=bool)
            keep[fake] = False
            if sums is None:
                sums = {k: np.zeros(n) for k in means}
            for k, v in means.items():
                sums[k] += np.where(keep, v, 0.0)
            proba = acc.mean_proba()[:, :n_classes]
            proba_sums = proba_sums + keep[:, None] * proba / proba.sum(
                1, keepdims=True
            )
            weights += keep
            fit_history = acc.fit_history
            if self.record_trajectory:
                # A threshold sample's run does not describe its own label.
                trajectory = acc.trajectory()
                trajectory[fake] = np.nan
                trajectories.append(trajectory)
        means = {k: v / weights for k, v in sums.items()}
        proba = proba_sums / weights[:, None]
        trajectory = np.concatenate(trajectories, axis=1) if trajectories else None
        return _Run(means, proba, None, trajectory, fit_history, float(np.mean(cuts)))

    def _offset(self, scores, early_proba, y_enc, threshold):
        rule = self.contamination
        if rule == "auto":
            rule = _AUTO_CONTAMINATION[self.method]
        if np.ptp(scores) == 0:
            # One value for every sample: no ranking, so no rule can choose.
            return float(scores[0])
        if isinstance(rule, Integral):
            return offset_for_count(scores, min(int(rule), len(scores)))
        if isinstance(rule, Real):
            return offset_for_count(scores, int(round(rule * len(scores))))
        if rule == "sign":
            return 0.0
        if rule == "mixture":
            return mixture_offset(scores)
        if rule == "count":
            return count_offset(scores, early_proba, y_enc)
        return threshold  # "threshold_samples"

    def _check_scores_finite(self):
        if not np.all(np.isfinite(self.train_scores_)):
            raise ValueError(
                f"{type(self).__name__}'s training diverged: the network's outputs "
                f"became NaN or infinite (lr={self.lr}). Lower lr, keep "
                f"standardize='auto', or scale X."
            )

    def _diagnose(self, y_enc, counts, early_proba):
        """Set the trust diagnostics and warn when the ranking is doubtful.

        Whether the network agrees with a flagged row is read from the
        learning-phase probabilities: averaged over all epochs they agree
        with every label the network memorised (MR: 70-90% of the flagged
        injected errors, against 8-24% in the first epochs).
        """
        self.majority_rate_ = float(counts.max() / counts.sum())
        flagged = np.zeros(len(y_enc), dtype=bool)
        flagged[self.label_issues_] = True
        self.flagged_share_ = float(flagged.mean())
        self.flagged_share_by_class_ = np.bincount(
            y_enc, weights=flagged, minlength=len(self.classes_)
        ) / np.maximum(counts, 1)
        self.flagged_agreement_ = self.flagged_sei_agreement_ = float("nan")
        if flagged.any():
            proba = self.train_proba_ if early_proba is None else early_proba
            predicted = proba[flagged].argmax(axis=1)
            self.flagged_agreement_ = float(np.mean(predicted == y_enc[flagged]))
            self.flagged_sei_agreement_ = float(
                np.mean(self.method_scores_["sei"][flagged] >= 0)
            )
        self.fit_warnings_ = _trust_warnings(self)
        for message in self.fit_warnings_:
            warnings.warn(message, UntrustedRankingWarning, stacklevel=3)

    # -------------------------------------------------------------- scoring
    def score_samples(self, X):
        """Return the score of each row of ``X``, which must be training rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Rows of the training data, any subset in any order. A row that
            occurs several times in the training data gets the mean score of
            its occurrences. Rows are found by their values (a 16-byte
            digest per distinct training row, 24 bytes kept per row). A
            detector fitted on a Dataset finds items by their index instead:
            pass the training Dataset (all its items, in order) or a
            :class:`torch.utils.data.Subset` of it.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The ``method`` score: the lower, the more likely mislabeled.
        """
        check_is_fitted(self)
        caller = f"{type(self).__name__}.score_samples"
        if self._rows is None:  # fitted on a Dataset: items by their index
            if not is_dataset(X):
                raise TypeError(
                    f"{caller}: this detector was fitted on a Dataset and "
                    f"identifies its items by their index; pass the training "
                    f"Dataset or a torch.utils.data.Subset of it, or read "
                    f"train_scores_ (in the Dataset's order)."
                )
            return self.train_scores_[
                dataset_positions(X, len(self.train_scores_), caller)
            ]
        if is_dataset(X):
            raise TypeError(
                f"{caller}: this detector was fitted on arrays and finds rows by "
                f"their values; pass X as an array."
            )
        X = check_predict_data(self, X)
        groups = self._rows.lookup(X)
        unseen = np.flatnonzero(groups < 0)
        if len(unseen):
            raise ValueError(
                f"{type(self).__name__} scores training samples only: "
                f"{len(unseen)} row(s) of X (first: {unseen[:5].tolist()}) were "
                f"not in the data passed to fit. Training dynamics exist only for "
                f"rows the network trained on; fit on the data you want checked."
            )
        return self._rows.values[groups]

    def decision_function(self, X):
        """Return ``score_samples(X) - offset_``: negative means flagged.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width)
            Rows of the training data.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            The lower, the more likely mislabeled; below 0, flagged.
        """
        return self.score_samples(X) - self.offset_

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return -1 for suspected mislabeled samples, +1 otherwise.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Training data.
        y : array-like of shape (n_samples,) or None
            Given labels (None for a Dataset of ``(x, y)`` items).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the training loss (see :meth:`fit`).

        Returns
        -------
        is_kept : ndarray of shape (n_samples,)
            -1 for the flagged samples, +1 for the others, in training order.
        """
        self.fit(X, y, sample_weight=sample_weight)
        return np.where(self.train_scores_ < self.offset_, -1, 1)

    def fit_resample(self, X, y=None):
        """Fit and return the rows that are not flagged (imbalanced-learn API).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or \
                (n_samples, channels, height, width), or torch Dataset
            Training data.
        y : array-like of shape (n_samples,) or None
            Given labels (None for a Dataset of ``(x, y)`` items).

        Returns
        -------
        X_resampled : {ndarray, sparse matrix, DataFrame, Subset}
            The kept rows of ``X``, in their original order and type (a
            :class:`torch.utils.data.Subset` of a Dataset).
        y_resampled : ndarray, Series or None
            Their labels (None for a Dataset: its items carry them).
        """
        kept = self.fit_predict(X, y) == 1
        self.sample_indices_ = np.flatnonzero(kept)
        return _take_rows(X, self.sample_indices_), _take_rows(y, self.sample_indices_)

    def _repr_html_inner(self):
        # Fitted, a summary of the detection above scikit-learn's diagram.
        from .review import _detector_html_repr

        return _detector_html_repr(self, super()._repr_html_inner())

    def _repr_mimebundle_(self, **kwargs):
        output = super()._repr_mimebundle_(**kwargs)
        if "text/html" in output:
            from .review import _detector_html_repr

            output["text/html"] = _detector_html_repr(self, output["text/html"])
        return output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        tags.non_deterministic = (
            str(self.device).split(":")[0] != "cpu" or self.accelerator is not None
        )
        return tags


def _pandas_index(X, y):
    """Return the pandas index of ``X`` (else of ``y``), or None for arrays."""
    for data in (X, y):
        index = getattr(data, "index", None)
        if index is not None and hasattr(data, "iloc"):
            return index
    return None


class UntrustedRankingWarning(UserWarning):
    """Warn that a fitted detector's ranking or cut is likely unreliable."""


class _Run(NamedTuple):
    """What one recording (or the two threshold-sample runs) yields."""

    means: dict
    proba: np.ndarray
    early_proba: np.ndarray | None
    trajectory: np.ndarray | None
    fit_history: list
    threshold: float | None


def _trust_warnings(det):
    """Return the messages of the trust diagnostics of a fitted detector."""
    name = type(det).__name__
    out = []
    if det.fit_accuracy_ <= det.majority_rate_ + 0.01:
        out.append(
            f"{name}'s network did not learn: after {det.n_epochs_} epochs it "
            f"predicted {det.fit_accuracy_:.1%} of the given labels, no better "
            f"than always predicting the most frequent one "
            f"({det.majority_rate_:.1%}), so its ranking cannot be trusted. Check "
            f"that the features carry the label (e.g. a simple classifier's "
            f"cross-validated accuracy), raise max_epochs or lr, or pass a "
            f"module suited to the data."
        )
    worst = int(np.argmax(det.flagged_share_by_class_))
    if det.flagged_share_ > 0.5 or det.flagged_share_by_class_[worst] > 0.5:
        what = (
            f"{det.flagged_share_:.0%} of the rows"
            if det.flagged_share_ > 0.5
            else f"{det.flagged_share_by_class_[worst]:.0%} of the rows labelled "
            f"{_label_text(det.classes_[worst])}"
        )
        out.append(
            f"{name} flags {what}: label noise rarely corrupts most of a class, "
            f"so the ranking is probably inverted (weakly separable classes "
            f"with one-way flips) or the network underfit; the other scores of "
            f"this run (method='loss', 'aum') rank no better on such data. "
            f"Review the top of the ranking by eye, or flag a fixed number of "
            f"rows with contamination=<int>."
        )
    if det.flagged_share_ > 0.05 and det.flagged_agreement_ > 0.5:
        out.append(
            f"{name} flags {det.flagged_share_:.0%} of the rows, but the network "
            f"itself predicts the given label for {det.flagged_agreement_:.0%} of "
            f"them: the cut goes deep into rows it agrees with (nearly clean "
            f"data, or hard classes). Review the top of the ranking instead, or "
            f"flag a fixed number of rows with contamination=<int>."
        )
    elif det.flagged_share_ > 0.05 and det.flagged_sei_agreement_ > 0.5:
        n_negative = int(np.sum(det.method_scores_["sei"] < 0))
        out.append(
            f"{name} flags {det.flagged_share_:.0%} of the rows, but over "
            f"training the network agreed with the given label of "
            f"{det.flagged_sei_agreement_:.0%} of them (only {n_negative} rows "
            f"have a negative SEI): the count from the first epochs is much "
            f"larger than the disagreement that persisted. Either the network "
            f"learned slowly and the early count over-estimates the errors "
            f"(nearly clean data with many classes: contamination='sign' "
            f"flags the {n_negative}), or it memorised wrong labels within a "
            f"few epochs (text with many features; it stopped after "
            f"{det.n_epochs_} epochs): review the top of the ranking to tell."
        )
    return out


def _label_text(label):
    """Return a class label as users wrote it: 8 or 'cat', not np.int64(8)."""
    label = label.item() if isinstance(label, np.generic) else label
    return repr(label)


def _take_rows(data, index):
    """Rows ``index`` of an array, sparse matrix, DataFrame, Series or list."""
    if is_dataset(data):
        return torch.utils.data.Subset(data, index.tolist())
    if data is None:
        return None
    if sp.issparse(data):
        return data.tocsr()[index]
    if hasattr(data, "iloc"):
        return data.iloc[index]
    if hasattr(data, "shape"):
        return data[index]
    return np.asarray(data)[index]
