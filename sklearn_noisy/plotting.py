"""Visualisations of mislabel detection, in scikit-learn's Display style.

Each Display stores its data in ``__init__``, draws in ``plot(ax=None, ...)``
(which stores ``ax_``, ``figure_`` and the artists it drew) and is built from
a fitted :class:`~sklearn_noisy.MislabelDetector` with ``from_estimator`` (and,
for scores computed elsewhere, ``from_predictions``), as
:class:`sklearn.metrics.RocCurveDisplay` is. matplotlib is imported when a
plot is drawn, never at import time (``pip install sklearn-noisy[plot]``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MislabelScoreDisplay",
    "SuspiciousImagesDisplay",
    "TrainingDynamicsDisplay",
]

_IMAGE_CHANNELS = (1, 3, 4)


def _import_pyplot(caller):
    """Return ``matplotlib.pyplot``, or raise an ImportError that says how."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with "
            f"`pip install matplotlib` (or `pip install sklearn-noisy[plot]`)."
        ) from exc
    return plt


def _check_fitted_detector(detector, caller):
    if not hasattr(detector, "train_scores_"):
        raise ValueError(
            f"{caller} needs a fitted MislabelDetector (with train_scores_); got "
            f"{type(detector).__name__} without it. Call detector.fit(X, y) first."
        )


def _check_scores(scores, caller):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.shape[0] == 0 or not np.isfinite(scores).all():
        raise ValueError(
            f"The 'scores' of {caller} must be a non-empty 1-D array of finite "
            f"numbers; got an array of shape {scores.shape}."
        )
    return scores


def _check_mask(mask, n_samples, name, caller):
    """Return ``mask`` as a boolean array of length ``n_samples`` (or None)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != (n_samples,) or not np.isin(mask, (0, 1)).all():
        raise ValueError(
            f"The '{name}' parameter of {caller} must be a boolean array of shape "
            f"({n_samples},), True where the given label is wrong; got an array "
            f"of shape {mask.shape} and dtype {mask.dtype}."
        )
    return mask.astype(bool)


def _flagged_precision_recall(scores, offset, is_mislabeled):
    flagged = scores < offset
    hits = np.count_nonzero(flagged & is_mislabeled)
    precision = hits / max(np.count_nonzero(flagged), 1)
    return precision, hits / np.count_nonzero(is_mislabeled)


class MislabelScoreDisplay:
    """Histogram of mislabel scores with the detector's threshold.

    When the truly mislabeled samples are known (injected noise), the clean
    and the mislabeled samples are drawn as two histograms, and a second axes
    shows the precision-recall curve of ranking by score, with the point the
    threshold picks.

    Use :meth:`from_estimator` or :meth:`from_predictions` to build one.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Scores: the lower, the more likely mislabeled.
    offset : float or None, default=None
        Threshold: samples scoring below it are flagged. None draws no line.
    is_mislabeled : ndarray of shape (n_samples,) of bool or None, default=None
        True where the given label is known to be wrong.
    method : str or None, default=None
        Name of the score, used in the axis label (e.g. "sei").

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the histogram(s).
    ax_pr_ : matplotlib Axes or None
        Axes with the precision-recall curve (None without ``is_mislabeled``
        or when a single Axes was passed).
    figure_ : matplotlib Figure
        Figure containing the axes.
    hist_ : list of matplotlib BarContainer
        The histogram bars: all samples, or the clean then the mislabeled.
    threshold_line_ : matplotlib Line2D or None
        The vertical line at ``offset``.
    pr_line_ : matplotlib Line2D or None
        The precision-recall curve.
    average_precision_ : float or None
        Average precision of ranking the samples by score.

    See Also
    --------
    TrainingDynamicsDisplay : Mean against variability of the training dynamics.
    SuspiciousImagesDisplay : The most suspicious images with their labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_noisy.plotting import MislabelScoreDisplay
    >>> scores = np.r_[np.linspace(-1, 0, 10), np.linspace(0.5, 2, 90)]
    >>> display = MislabelScoreDisplay.from_predictions(
    ...     scores, offset=0.2, is_mislabeled=scores < 0
    ... )
    >>> round(display.average_precision_, 2)
    1.0
    """

    def __init__(self, *, scores, offset=None, is_mislabeled=None, method=None):
        self.scores = scores
        self.offset = offset
        self.is_mislabeled = is_mislabeled
        self.method = method

    def plot(self, ax=None, *, bins=30, hist_kwargs=None, line_kwargs=None):
        """Draw the histogram(s), the threshold and the precision-recall curve.

        Parameters
        ----------
        ax : matplotlib Axes, sequence of two Axes or None, default=None
            Where to draw. None creates a figure (with two axes when
            ``is_mislabeled`` is known). A single Axes receives the histogram
            only; a pair receives the histogram and the precision-recall curve.
        bins : int or sequence of float, default=30
            Histogram bins, shared by the clean and mislabeled histograms.
        hist_kwargs : dict or None, default=None
            Keyword arguments passed to ``Axes.hist``.
        line_kwargs : dict or None, default=None
            Keyword arguments passed to ``Axes.axvline`` for the threshold.

        Returns
        -------
        display : MislabelScoreDisplay
            Object that stores the computed values and the artists.
        """
        caller = type(self).__name__
        plt = _import_pyplot(caller)
        scores = _check_scores(self.scores, caller)
        mask = _check_mask(self.is_mislabeled, len(scores), "is_mislabeled", caller)
        with_pr = mask is not None and mask.any() and not mask.all()
        ax, ax_pr = self._axes(plt, ax, with_pr)
        edges = np.histogram_bin_edges(scores, bins)
        hist_kwargs = {"alpha": 0.6, **(hist_kwargs or {})}
        if mask is None:
            groups = [("all samples", scores)]
        else:
            groups = [("clean", scores[~mask]), ("mislabeled", scores[mask])]
        self.hist_ = []
        for name, values in groups:
            label = f"{name} ({len(values)})"
            _, _, bars = ax.hist(values, bins=edges, label=label, **hist_kwargs)
            self.hist_.append(bars)
        self.threshold_line_ = None
        if self.offset is not None:
            line_kwargs = {"color": "k", "linestyle": "--", **(line_kwargs or {})}
            self.threshold_line_ = ax.axvline(
                self.offset, label=f"threshold ({self.offset:.3g})", **line_kwargs
            )
        name = f"{self.method} score" if self.method else "score"
        ax.set(
            xlabel=f"{name} (the lower, the more likely mislabeled)",
            ylabel="samples",
            title="Mislabel scores",
        )
        ax.legend(loc="best")
        self.pr_line_, self.average_precision_ = None, None
        if with_pr:
            self.average_precision_ = self._average_precision(scores, mask)
            if ax_pr is not None:
                self._plot_pr(ax_pr, scores, mask)
        self.ax_, self.ax_pr_, self.figure_ = ax, ax_pr, ax.figure
        return self

    @staticmethod
    def _axes(plt, ax, with_pr):
        """Return ``(histogram axes, precision-recall axes or None)``."""
        if ax is None:
            if not with_pr:
                return plt.subplots(figsize=(6, 4))[1], None
            axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")[1]
            return axes[0], axes[1]
        if isinstance(ax, (list, tuple, np.ndarray)):
            axes = list(np.ravel(ax))
            if len(axes) != 2:
                raise ValueError(
                    f"The 'ax' parameter of MislabelScoreDisplay.plot must be an "
                    f"Axes or a pair of Axes; got {len(axes)} axes."
                )
            return axes[0], (axes[1] if with_pr else None)
        return ax, None

    @staticmethod
    def _average_precision(scores, mask):
        from sklearn.metrics import average_precision_score

        return float(average_precision_score(mask, -scores))

    def _plot_pr(self, ax, scores, mask):
        from sklearn.metrics import precision_recall_curve

        # Lower scores are more likely mislabeled: rank by the negated score.
        precision, recall, _ = precision_recall_curve(mask, -scores)
        (self.pr_line_,) = ax.plot(
            recall,
            precision,
            drawstyle="steps-post",
            label=f"ranking by score (AP = {self.average_precision_:.3f})",
        )
        if self.offset is not None:
            p, r = _flagged_precision_recall(scores, self.offset, mask)
            ax.plot(r, p, "o", color="k", label=f"threshold (P={p:.2f}, R={r:.2f})")
        ax.set(
            xlabel="recall (share of mislabeled samples found)",
            ylabel="precision (share of flagged that are mislabeled)",
            xlim=(0, 1.02),
            ylim=(0, 1.02),
            title="Finding the mislabeled samples",
        )
        ax.legend(loc="lower left")

    @classmethod
    def from_estimator(
        cls, detector, X=None, is_mislabeled=None, *, ax=None, bins=30, **kwargs
    ):
        """Plot the scores of a fitted MislabelDetector.

        Parameters
        ----------
        detector : MislabelDetector
            A fitted detector; its ``train_scores_``, ``offset_`` and
            ``method`` are plotted.
        X : array-like of shape (n_samples, n_features) or None, default=None
            Training rows to plot (scored with ``detector.score_samples``);
            None plots every training sample, in training order.
        is_mislabeled : array-like of shape (n_samples,) of bool or None, \
                default=None
            True where the given label is known to be wrong, aligned with
            ``X`` (or with the training data when ``X`` is None).
        ax : matplotlib Axes, sequence of two Axes or None, default=None
            Where to draw; see :meth:`plot`.
        bins : int or sequence of float, default=30
            Histogram bins.
        **kwargs : dict
            ``hist_kwargs`` and ``line_kwargs``, passed to :meth:`plot`.

        Returns
        -------
        display : MislabelScoreDisplay
            The drawn display.
        """
        _check_fitted_detector(detector, f"{cls.__name__}.from_estimator")
        scores = detector.train_scores_ if X is None else detector.score_samples(X)
        return cls.from_predictions(
            scores,
            offset=detector.offset_,
            is_mislabeled=is_mislabeled,
            method=getattr(detector, "method", None),
            ax=ax,
            bins=bins,
            **kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        scores,
        offset=None,
        is_mislabeled=None,
        *,
        method=None,
        ax=None,
        bins=30,
        **kwargs,
    ):
        """Plot scores computed elsewhere (any detector, any method).

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Scores: the lower, the more likely mislabeled.
        offset : float or None, default=None
            Threshold: samples scoring below it are flagged.
        is_mislabeled : array-like of shape (n_samples,) of bool or None, \
                default=None
            True where the given label is known to be wrong.
        method : str or None, default=None
            Name of the score for the axis label.
        ax : matplotlib Axes, sequence of two Axes or None, default=None
            Where to draw; see :meth:`plot`.
        bins : int or sequence of float, default=30
            Histogram bins.
        **kwargs : dict
            ``hist_kwargs`` and ``line_kwargs``, passed to :meth:`plot`.

        Returns
        -------
        display : MislabelScoreDisplay
            The drawn display.
        """
        display = cls(
            scores=scores,
            offset=None if offset is None else float(offset),
            is_mislabeled=is_mislabeled,
            method=method,
        )
        return display.plot(ax=ax, bins=bins, **kwargs)


class TrainingDynamicsDisplay:
    """Map of training dynamics: mean signed entropy against its variability.

    Every training sample is a point: its signed entropy averaged over the
    epochs (SEI, the y-axis; below 0 the network mostly disagreed with the
    given label) against the standard deviation over the epochs (x-axis), as
    in the data maps of Swayamdipta et al. (2020). Points are coloured by
    whether the detector flagged them and, when known, whether their label
    is wrong.

    Parameters
    ----------
    mean : ndarray of shape (n_samples,)
        Mean signed entropy over epochs.
    variability : ndarray of shape (n_samples,)
        Standard deviation of the signed entropy over epochs.
    is_flagged : ndarray of shape (n_samples,) of bool or None, default=None
        Whether the detector flagged each sample.
    is_mislabeled : ndarray of shape (n_samples,) of bool or None, default=None
        True where the given label is known to be wrong.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes.
    figure_ : matplotlib Figure
        Figure containing the axes.
    scatters_ : dict of str to matplotlib PathCollection
        One scatter per group of points, keyed by its legend label.

    See Also
    --------
    MislabelScoreDisplay : Histogram of the scores with the threshold.

    References
    ----------
    .. [1] S. Swayamdipta et al. "Dataset Cartography: Mapping and Diagnosing
       Datasets with Training Dynamics." EMNLP 2020.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import MislabelDetector
    >>> from sklearn_noisy.plotting import TrainingDynamicsDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> det = MislabelDetector(max_epochs=3, record_trajectory=True, random_state=0)
    >>> display = TrainingDynamicsDisplay.from_estimator(det.fit(X / 16, y))
    >>> sorted(display.scatters_)
    ['flagged', 'kept']
    """

    def __init__(self, *, mean, variability, is_flagged=None, is_mislabeled=None):
        self.mean = mean
        self.variability = variability
        self.is_flagged = is_flagged
        self.is_mislabeled = is_mislabeled

    def _groups(self, n_samples):
        """Return ``[(label, mask, color)]``, one per group of points."""
        caller = type(self).__name__
        flagged = _check_mask(self.is_flagged, n_samples, "is_flagged", caller)
        wrong = _check_mask(self.is_mislabeled, n_samples, "is_mislabeled", caller)
        if flagged is None and wrong is None:
            return [("samples", np.ones(n_samples, dtype=bool), "tab:blue")]
        if wrong is None:
            return [("kept", ~flagged, "tab:gray"), ("flagged", flagged, "tab:red")]
        if flagged is None:
            return [("clean", ~wrong, "tab:gray"), ("mislabeled", wrong, "tab:red")]
        return [
            ("clean, kept", ~wrong & ~flagged, "tab:gray"),
            ("clean, flagged", ~wrong & flagged, "tab:orange"),
            ("mislabeled, missed", wrong & ~flagged, "tab:blue"),
            ("mislabeled, flagged", wrong & flagged, "tab:red"),
        ]

    def plot(self, ax=None, *, scatter_kwargs=None):
        """Draw one point per sample.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None creates a figure.
        scatter_kwargs : dict or None, default=None
            Keyword arguments passed to ``Axes.scatter``.

        Returns
        -------
        display : TrainingDynamicsDisplay
            Object that stores the artists.
        """
        caller = type(self).__name__
        plt = _import_pyplot(caller)
        mean = np.asarray(self.mean, dtype=np.float64)
        variability = np.asarray(self.variability, dtype=np.float64)
        if mean.ndim != 1 or variability.shape != mean.shape:
            raise ValueError(
                f"The 'mean' and 'variability' of {caller} must be 1-D arrays of "
                f"the same shape; got {mean.shape} and {variability.shape}."
            )
        if ax is None:
            ax = plt.subplots(figsize=(6, 5))[1]
        scatter_kwargs = {"s": 8, "alpha": 0.6, **(scatter_kwargs or {})}
        ax.axhline(0, color="k", linewidth=0.5)
        self.scatters_ = {}
        for label, mask, color in self._groups(len(mean)):
            self.scatters_[label] = ax.scatter(
                variability[mask],
                mean[mask],
                color=color,
                label=f"{label} ({np.count_nonzero(mask)})",
                **scatter_kwargs,
            )
        ax.set(
            xlabel="variability (std of signed entropy over epochs)",
            ylabel="mean signed entropy (SEI)",
            title="Training dynamics",
        )
        ax.legend(loc="best", markerscale=2)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, detector, is_mislabeled=None, *, ax=None, **kwargs):
        """Plot the training dynamics a MislabelDetector recorded.

        Parameters
        ----------
        detector : MislabelDetector
            Fitted with ``record_trajectory=True``.
        is_mislabeled : array-like of shape (n_samples,) of bool or None, \
                default=None
            True where the given label is known to be wrong, in training order.
        ax : matplotlib Axes or None, default=None
            Where to draw; None creates a figure.
        **kwargs : dict
            ``scatter_kwargs``, passed to :meth:`plot`.

        Returns
        -------
        display : TrainingDynamicsDisplay
            The drawn display.
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_fitted_detector(detector, caller)
        trajectory = getattr(detector, "trajectory_", None)
        if trajectory is None:
            raise ValueError(
                f"{caller} needs the per-epoch signed entropy of every sample, "
                f"which the detector did not record. Fit it with "
                f"record_trajectory=True."
            )
        trajectory = np.asarray(trajectory, dtype=np.float64)
        display = cls(
            mean=trajectory.mean(axis=1),
            variability=trajectory.std(axis=1),
            is_flagged=detector.train_scores_ < detector.offset_,
            is_mislabeled=is_mislabeled,
        )
        return display.plot(ax=ax, **kwargs)


def _as_image_grid(images, caller):
    """Return ``images`` as ``(n, H, W)`` or ``(n, H, W, C)`` for imshow."""
    images = np.asarray(images)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(
                f"The 'images' parameter of {caller} has {images.shape[1]} "
                f"features per row, which is not a square image; pass the images "
                f"as an array of shape (n_samples, height, width[, channels])."
            )
        return images.reshape(len(images), side, side)
    if images.ndim == 4:
        if images.shape[1] in _IMAGE_CHANNELS and images.shape[-1] not in (
            _IMAGE_CHANNELS
        ):
            images = images.transpose(0, 2, 3, 1)  # channels first -> last
        return images[..., 0] if images.shape[-1] == 1 else images
    if images.ndim == 3:
        return images
    raise ValueError(
        f"The 'images' parameter of {caller} must have 2 to 4 dimensions; got "
        f"shape {images.shape}."
    )


def _displayable(image):
    """Scale a colour image into [0, 1], which imshow needs for float RGB."""
    if image.ndim == 2 or image.dtype == np.uint8:
        return image
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _shorten(name, width=24):
    """Keep the end of a long name (the file name), marked with an ellipsis."""
    return name if len(name) <= width else "\u2026" + name[-(width - 1) :]


class SuspiciousImagesDisplay:
    """Grid of the images most likely mislabeled, with given and predicted labels.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width) or \
            (n_images, height, width, channels)
        The images to show, most suspicious first.
    y : ndarray of shape (n_images,)
        Their given labels.
    y_pred : ndarray of shape (n_images,)
        The labels the network predicted for them.
    scores : ndarray of shape (n_images,) or None, default=None
        Their scores (the lower, the more likely mislabeled), shown in titles.
    indices : ndarray of shape (n_images,) or None, default=None
        Their row indices in the training data, shown in titles.
    names : ndarray of shape (n_images,) or None, default=None
        Their names (e.g. file names), shown in titles instead of the indices
        so that an image can be found again in a ranking or a folder.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        The grid of axes (extra cells are switched off).
    figure_ : matplotlib Figure
        Figure containing the grid.
    images_ : list of matplotlib AxesImage
        One image artist per shown image.

    See Also
    --------
    MislabelScoreDisplay : Histogram of the scores with the threshold.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import MislabelDetector
    >>> from sklearn_noisy.plotting import SuspiciousImagesDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> det = MislabelDetector(max_epochs=3, random_state=0).fit(X / 16, y)
    >>> display = SuspiciousImagesDisplay.from_estimator(det, X, y, n=4)
    >>> len(display.images_)
    4
    """

    def __init__(self, *, images, y, y_pred, scores=None, indices=None, names=None):
        self.images = images
        self.y = y
        self.y_pred = y_pred
        self.scores = scores
        self.indices = indices
        self.names = names

    def _title(self, k):
        title = f"given: {self.y[k]}\npredicted: {self.y_pred[k]}"
        if self.names is not None:
            title = f"{_shorten(str(self.names[k]))}\n" + title
        elif self.indices is not None:
            title = f"#{self.indices[k]} " + title
        if self.scores is not None:
            title += f"\nscore {self.scores[k]:.3g}"
        return title

    def plot(self, axes=None, *, n_cols=None, cmap="gray"):
        """Draw the images in a grid, titled with their labels.

        Parameters
        ----------
        axes : array-like of matplotlib Axes or None, default=None
            At least as many axes as images; None creates a grid.
        n_cols : int or None, default=None
            Columns of the created grid; None makes it about square.
        cmap : str, default="gray"
            Colormap of single-channel images.

        Returns
        -------
        display : SuspiciousImagesDisplay
            Object that stores the artists.
        """
        caller = type(self).__name__
        plt = _import_pyplot(caller)
        images = _as_image_grid(self.images, caller)
        n = len(images)
        if axes is None:
            n_cols = n_cols or max(1, int(np.ceil(np.sqrt(n))))
            n_rows = max(1, int(np.ceil(n / n_cols)))
            axes = plt.subplots(
                n_rows,
                n_cols,
                figsize=(1.9 * n_cols, 2.3 * n_rows),
                layout="constrained",
                squeeze=False,
            )[1]
        axes = np.asarray(axes, dtype=object)
        if axes.size < n:
            raise ValueError(
                f"The 'axes' parameter of {caller}.plot must hold at least {n} "
                f"axes, one per image; got {axes.size}."
            )
        self.images_ = []
        for k, ax in enumerate(axes.ravel()):
            ax.set_axis_off()
            if k < n:
                image = _displayable(images[k])
                self.images_.append(ax.imshow(image, cmap=cmap))
                ax.set_title(self._title(k), fontsize=8)
        self.axes_, self.figure_ = axes, axes.ravel()[0].figure
        return self

    @classmethod
    def from_estimator(
        cls, detector, images, y, *, n=16, names=None, axes=None, **kwargs
    ):
        """Show the ``n`` training images with the lowest scores.

        Parameters
        ----------
        detector : MislabelDetector
            A fitted detector.
        images : array-like of shape (n_samples, height, width), \
                (n_samples, height, width, channels), \
                (n_samples, channels, height, width) or (n_samples, n_pixels), \
                or torch Dataset
            The training images in training order (a flat row must hold a
            square grey-scale image, e.g. the 64 pixels of ``load_digits``);
            of a Dataset of ``(image, label)`` items only the ``n`` shown
            are read.
        y : array-like of shape (n_samples,)
            The given labels the detector was fitted on.
        n : int, default=16
            How many images to show.
        names : array-like of shape (n_samples,) or None, default=None
            A name per training image (e.g. its file name), shown in the
            titles; None shows the row index.
        axes : array-like of matplotlib Axes or None, default=None
            Where to draw; see :meth:`plot`.
        **kwargs : dict
            ``n_cols`` and ``cmap``, passed to :meth:`plot`.

        Returns
        -------
        display : SuspiciousImagesDisplay
            The drawn display.
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_fitted_detector(detector, caller)
        scores = np.asarray(detector.train_scores_)
        y = np.asarray(y)
        if len(images) != len(scores) or y.shape != scores.shape:
            raise ValueError(
                f"{caller} needs the images and labels of the training data, "
                f"{len(scores)} rows in training order; got {len(images)} images "
                f"and {len(y)} labels."
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The 'n' parameter of {caller} must be an int >= 1.")
        if names is not None and len(names) != len(scores):
            raise ValueError(
                f"The 'names' parameter of {caller} must hold one name per "
                f"training image ({len(scores)}); got {len(names)}."
            )
        order = np.argsort(scores, kind="stable")[:n]
        y_pred = detector.classes_[np.asarray(detector.train_proba_).argmax(axis=1)]
        display = cls(
            images=_take_images(images, order),
            y=y[order],
            y_pred=y_pred[order],
            scores=scores[order],
            indices=order,
            names=None if names is None else np.asarray(names)[order],
        )
        return display.plot(axes=axes, **kwargs)


def _take_images(images, order):
    """Return the images ``order`` of an array or of a Dataset of (image, y)."""
    if hasattr(images, "__getitem__") and not hasattr(images, "__array__"):
        if not isinstance(images, (list, tuple)):
            return np.stack([np.asarray(images[int(k)][0]) for k in order])
    return np.asarray(images)[order]
