"""Fast in-memory batching for skorch.

skorch's default ``DataLoader`` fetches every sample through
``Dataset.__getitem__`` and collates the batch in Python; on in-memory arrays
this made an epoch about 2.8x slower than a bare PyTorch loop (issue 2). The
iterator here slices whole batches out of tensors that already sit on the
training device, and hands each batch's sample indices to callbacks (the SEI
recorder keys its statistics by them, issue 3) and its sample weights to the
loss (issue 8).

Batches are drawn in one of two ways:

* a plain shuffle (``stratify=False``): a new permutation of the rows per
  epoch, cut into consecutive batches; every row once per epoch, the last
  incomplete batch kept or dropped (``drop_last``);
* stratified (``stratify=True``, :func:`stratified_batches`): every class is
  spread evenly over the batches of an epoch, so each batch carries the
  class proportions of the data, and with ``min_per_class`` every class
  appears in every batch (rows of a class smaller than that are reused
  within the epoch). L_DMI needs this: its determinant is zero in a batch
  that misses a class (issue 8: 98% of the batches at 50 classes and batch
  128; 73% for a 99/1 binary task at batch 32).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "BatchPlan",
    "IndexedBatch",
    "InMemoryBatchIterator",
    "InputStandardizer",
    "stratified_batches",
    "to_tensor_2d_or_nd",
]

# Rows converted at a time when standardising: bounds the float64 temporary
# (a 50,000 x 3 x 64 x 64 image array would need 4.9 GB at once).
_CHUNK_VALUES = 1 << 22
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class IndexedBatch(tuple):
    """A ``(X, y)`` batch that also carries its row indices and sample weights.

    It unpacks like the plain tuple skorch expects (``Xi, yi = batch``);
    callbacks read ``batch.index`` in ``on_batch_end``, and the training loss
    reads ``batch.weight`` (the rows' sample weights, None when the rows are
    unweighted). Under data parallelism each process gets its share of one
    global batch, and ``batch.share`` (``len(share) * n_processes /
    len(global batch)``, 1 for equal shares and for one process) rescales its
    mean loss so that the gradients averaged over the processes equal those
    of the global batch.
    """

    index: torch.Tensor
    weight: torch.Tensor | None
    share: float

    def __new__(cls, X, y, index, weight=None, share=1.0):
        self = super().__new__(cls, (X, y))
        self.index = index
        self.weight = weight
        self.share = share
        return self


def to_tensor_2d_or_nd(X, device="cpu", standardizer=None):
    """Return dense ``X`` as a float32 tensor on ``device``; keep sparse on host.

    Sparse matrices stay a CSR matrix: batches are densified one at a time so
    that a TF-IDF matrix is never densified whole. A fitted
    :class:`InputStandardizer` is applied in float64 before the cast, so that
    values beyond float32's range or with a large offset keep their precision.
    ``X`` itself is never modified.
    """
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float32)
    if isinstance(X, torch.Tensor):
        if standardizer is None:
            return X.to(device=device, dtype=torch.float32)
        X = X.detach().cpu().numpy()
    if standardizer is not None:
        out = standardizer.transform(X)
    else:
        with np.errstate(over="ignore"):  # reported by the check below
            out = np.asarray(X, dtype=np.float32)
        _check_float32_range(X, out)
    return torch.as_tensor(out, device=device)


def _check_float32_range(X, X32):
    """Raise when finite values of ``X`` overflow float32 (the network's dtype)."""
    if X32.dtype != np.float32 or X is X32 or not X32.size:
        return
    if not np.isfinite(X32).all() and np.isfinite(np.asarray(X)).all():
        peak = float(np.abs(np.asarray(X, dtype=np.float64)).max())
        raise ValueError(
            f"X holds finite values beyond float32's range (largest |x| = "
            f"{peak:.3g}, float32 max = {_FLOAT32_MAX:.3g}); the network "
            f"computes in float32. Rescale X, or leave standardize=True so "
            f"that it is standardised in float64 first."
        )


# Largest input magnitude that a network reading X unstandardised is not warned
# about: float32 first layers saturate far below float32's range (X * 1e30
# trained to chance in issue 8), and no prepared feature is near 1e6.
_LARGE_INPUT = 1e6


def check_input_values(estimator, X, standardizer):
    """Warn about inputs that a network cannot learn from as they reach it.

    Two cases are reported with a ``UserWarning``: every feature constant
    (the network can then learn only the class frequencies), and, when ``X``
    is not standardised, values beyond ``1e6`` in magnitude (the float32
    network saturates). Constant features among varying ones, such as the
    border pixels of flattened images, are normal and pass silently. Values
    beyond float32's range are refused later, by :func:`to_tensor_2d_or_nd`.
    """
    import warnings

    name = type(estimator).__name__
    if standardizer is not None:
        constant = bool(standardizer.constant.all())
    elif sp.issparse(X):
        # Compared sparse (no column of max != min), not densified: sparse
        # input is never turned into a dense array (issue 11).
        constant = (X.max(axis=0) != X.min(axis=0)).nnz == 0
    else:
        first = np.asarray(X[:1], dtype=np.float64)
        constant = all(
            (part == first).all() for part, _ in _weighted_row_chunks(X, None)
        )
    if constant and X.shape[0] > 1:
        warnings.warn(
            f"All {X.shape[1]} features of X are constant over its "
            f"{X.shape[0]} rows: {name} can learn only the class frequencies. "
            f"Check that X holds the data you meant.",
            UserWarning,
            stacklevel=4,
        )
    if standardizer is None:
        peak = _peak(X)
        if _LARGE_INPUT < peak <= _FLOAT32_MAX:
            warnings.warn(
                f"X holds values up to |x| = {peak:.3g} and is not "
                f"standardised (standardize=False): the network computes in "
                f"float32 and learns from features of order 1; inputs this "
                f"large saturate its first layer. Set standardize=True or "
                f"rescale X.",
                UserWarning,
                stacklevel=4,
            )


def _peak(X):
    """Largest magnitude in ``X`` (dense or sparse), as a float; 0 if empty."""
    if sp.issparse(X):
        return float(abs(X).max()) if X.nnz else 0.0
    X = np.asarray(X)
    if not X.size:
        return 0.0
    return float(max(np.max(X), -np.min(X)))


class InputStandardizer:
    """Shift and scale the inputs of a network, with statistics kept from fit.

    Statistics are computed in float64, in chunks of rows, per feature of
    2-D data and per channel of N-d data (images of shape ``(n, channels,
    height, width)``, over all other axes). Two ways to use them:

    * ``"features"``: each feature (channel) to zero mean and unit variance,
      as :class:`~sklearn.preprocessing.StandardScaler` does. What tabular
      data whose columns have their own units need.
    * ``"global"``: one affine map for all features, the overall minimum to 0
      and maximum to 1: 0-255 pixels become exactly ``X / 255``. What data on
      one common scale need: z-scoring every pixel inflates the rarely-inked
      ones (a border pixel lit in 1 of 5,000 images becomes a 70-sigma
      outlier) and cost the detector up to 0.08 AUROC on flattened
      PneumoniaMNIST and 0.03 on the MNIST test-set errors, and
      DMIClassifier 4 to 13 points of accuracy under label noise on MNIST-5k,
      digits and Fashion-MNIST bag-vs-rest (issue 8).
    * ``"auto"``: ``"global"`` for data that look like pixels or counts on
      one scale: no negative value, the non-constant features span ranges
      within a factor of 10 of each other (between the 10th and 90th
      percentile of their ``max - min``), and the mapped values keep a
      standard deviation of at least 0.1 (images: 0.17-0.38 on the
      benchmark's). Else ``"features"``: signed, continuous features
      (``make_classification``, embeddings, already standardised tables)
      mapped to [0, 1] as a whole keep a standard deviation of 0.05-0.1
      around an offset of 0.5, and a default MLP on 20 such classes did not
      learn at all in 30 epochs (training accuracy 5%; 81% z-scored).

    With ``sample_weight`` each row counts as many times as its weight (the
    statistics of the rows repeated). Means and variances are taken on values
    first divided by each feature's largest magnitude, so that neither
    ``1e200`` (whose square overflows float64) nor ``1e-30`` (whose variance
    underflows any absolute tolerance) is mistaken for a constant. A constant
    feature is centred and keeps scale 1. Sparse data are left as they are:
    centring would densify them and per-feature scaling inflates rare terms
    of a TF-IDF matrix.

    Parameters
    ----------
    mean : ndarray of shape (n_features_or_channels,)
        Subtracted from each feature (channel).
    scale : ndarray of shape (n_features_or_channels,)
        Divides each centred feature (channel).
    constant : ndarray of bool of shape (n_features_or_channels,), default=None
        Which features (channels) were constant in fit; None: unknown.
    """

    #: ``"auto"`` calls features homogeneous below this spread of ranges.
    HOMOGENEOUS_RANGE_RATIO = 10.0
    #: ``"auto"`` maps globally only when the mapped values keep this spread.
    MIN_GLOBAL_STD = 0.1

    def __init__(self, mean, scale, constant=None):
        self.mean = mean
        self.scale = scale
        self.constant = constant

    @classmethod
    def fit(cls, X, mode="auto", sample_weight=None):
        """Return the standardizer of ``X`` (None for sparse ``X``)."""
        if sp.issparse(X):
            return None
        X = np.asarray(X)
        n_features = X.shape[1]
        axes = (0, *range(2, X.ndim))
        low = np.full(n_features, np.inf)
        high = np.full(n_features, -np.inf)
        for part, weight in _weighted_row_chunks(X, sample_weight):
            if weight is not None:  # rows of weight 0 are not in the data
                part = part[weight > 0]
            low = np.minimum(low, part.min(axis=axes, initial=np.inf))
            high = np.maximum(high, part.max(axis=axes, initial=-np.inf))
        peak = np.maximum(np.abs(high), np.abs(low))
        mean, std = _mean_std(X, axes, sample_weight, peak)
        return cls.from_moments(low, high, mean, std, mode, X.size)

    @classmethod
    def from_moments(cls, low, high, mean, std, mode="auto", size=1):
        """Return the standardizer of data with these per-feature statistics.

        What :meth:`fit` computes from an array, and
        :class:`RunningMoments` from a streamed dataset.

        Parameters
        ----------
        low, high : ndarray of shape (n_features_or_channels,)
            Per-feature (per-channel) minimum and maximum.
        mean, std : ndarray of shape (n_features_or_channels,)
            Per-feature (per-channel) mean and standard deviation.
        mode : {"auto", "features", "global"}, default="auto"
            See the class docstring.
        size : int, default=1
            Number of values the statistics summarise (0: empty data).
        """
        n_features = len(low)
        ranges = high - low
        peak = np.maximum(np.abs(high), np.abs(low))
        # Constant up to float rounding, relative to the feature's magnitude
        # (an absolute tolerance would call features of 1e-30 constant).
        constant = ranges <= 1e-12 * peak
        span = float(high.max() - low.min()) if size else 0.0
        scale = span if size and span > 1e-12 * peak.max() else 1.0
        if mode == "auto":
            pixel_like = (
                size > 0
                and low.min() >= 0
                and cls._homogeneous(ranges[~constant])
                and _pooled_std(mean / scale, std / scale) >= cls.MIN_GLOBAL_STD
            )
            mode = "global" if pixel_like else "features"
        if mode == "global":
            standardizer = cls(
                np.full(n_features, low.min()), np.full(n_features, scale), constant
            )
        else:
            standardizer = cls(mean, np.where(constant, 1.0, std), constant)
        standardizer.mode = mode
        return standardizer

    @classmethod
    def _homogeneous(cls, ranges):
        if len(ranges) < 2:
            return True
        p10, p90 = np.percentile(ranges, [10, 90])
        return p90 <= cls.HOMOGENEOUS_RANGE_RATIO * p10

    @property
    def constant_features(self):
        """Indices of the features (channels) that were constant in fit."""
        if self.constant is None:
            return np.flatnonzero(self.scale == 1.0)
        return np.flatnonzero(self.constant)

    def transform(self, X):
        """Return ``(X - mean) / scale`` as a new float32 array."""
        X = np.asarray(X)
        out = np.empty(X.shape, dtype=np.float32)
        mean = _broadcast(self.mean, X.ndim)
        scale = _broadcast(self.scale, X.ndim)
        start = 0
        with np.errstate(over="ignore"):  # reported below
            for part, _ in _weighted_row_chunks(X, None):
                out[start : start + len(part)] = (part - mean) / scale
                start += len(part)
        _check_standardised(out)
        return out

    def transform_tensor(self, X):
        """Return ``(X - mean) / scale`` of a batch tensor as float32.

        Computed in float64 on the batch's device, as :meth:`transform` does
        on arrays, so that a streamed batch is standardised to the same
        float32 values as the same rows of an array.
        """
        shape = (1, -1) + (1,) * (X.ndim - 2)
        mean = torch.as_tensor(self.mean, device=X.device).reshape(shape)
        scale = torch.as_tensor(self.scale, device=X.device).reshape(shape)
        return ((X.double() - mean) / scale).float()


def _check_standardised(out):
    """Raise when standardised values overflowed float32 (finite ``X``).

    ``X`` was checked finite before: an infinite value here is a row on a
    scale far beyond the data the mean and scale were learned from (measured:
    ``predict_proba(X * 1e39)`` after a fit on ``X`` gave NaN probabilities and
    ``predict`` a class, with only numpy's overflow warning).
    """
    finite = np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"X holds values that overflow float32 once standardised with the "
            f"mean and scale learned in fit (first such row: {np.argmin(finite)}; "
            f"{int((~finite).sum())} row(s) in all): these rows are on a scale "
            f"far beyond the training data's (other units?)."
        )


class RunningMoments:
    """Per-feature (per-channel) minimum, maximum, mean and variance, streamed.

    Batches are merged in float64 with the pairwise update of Chan, Golub and
    LeVeque (1979), so that one pass over a streamed dataset gives the
    statistics :meth:`InputStandardizer.fit` computes from an array in two.
    """

    def __init__(self):
        self.count = 0
        self.low = self.high = self.mean = self.m2 = None

    def update(self, X, weight=None):
        """Add a batch tensor of shape ``(n, features)`` or ``(n, C, ...)``.

        With ``weight`` (one per row), each row counts as many times as its
        weight; rows of weight 0 are left out, as in
        :meth:`InputStandardizer.fit`.
        """
        X = torch.as_tensor(X).detach().to("cpu", torch.float64)
        if weight is not None:
            weight = torch.as_tensor(np.asarray(weight), dtype=torch.float64)
            X, weight = X[weight > 0], weight[weight > 0]
        axes = (0, *range(2, X.ndim))
        count = X.numel() // max(X.shape[1], 1) if X.ndim > 1 else 0
        if count == 0:
            return
        low = X.amin(dim=axes).numpy()
        high = X.amax(dim=axes).numpy()
        shape = (1, -1) + (1,) * (X.ndim - 2)
        if weight is None:
            mean = X.mean(dim=axes)
            m2 = ((X - mean.reshape(shape)) ** 2).sum(dim=axes).numpy()
        else:
            per_row = count / len(X)
            count = float(weight.sum()) * per_row
            w = weight.reshape((-1,) + (1,) * (X.ndim - 1))
            mean = (X * w).sum(dim=axes) / count
            m2 = (w * (X - mean.reshape(shape)) ** 2).sum(dim=axes).numpy()
        mean = mean.numpy()
        if self.count == 0:
            self.count, self.low, self.high, self.mean, self.m2 = (
                count,
                low,
                high,
                mean,
                m2,
            )
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * count / total)
        self.low = np.minimum(self.low, low)
        self.high = np.maximum(self.high, high)
        self.count = total

    def standardizer(self, mode):
        """Return the :class:`InputStandardizer` of the data seen."""
        return InputStandardizer.from_moments(
            self.low,
            self.high,
            self.mean,
            np.sqrt(self.m2 / self.count),
            mode,
            self.count,
        )


def _pooled_std(mean, std):
    """Return the standard deviation of all values from per-feature moments."""
    if not len(mean):
        return 0.0
    return float(np.sqrt(np.mean(std**2) + np.var(mean)))


def _mean_std(X, axes, sample_weight, peak):
    """Per-feature (per-channel) weighted mean and standard deviation.

    Two passes over row chunks, on values divided by each feature's largest
    magnitude ``peak`` (so squares neither overflow nor underflow).
    """
    peak = np.where(peak > 0, peak, 1.0)
    per_row = X.size // (len(X) * X.shape[1]) if X.size else 1
    total = np.zeros(X.shape[1])
    n_values = 0.0
    for part, weight in _weighted_row_chunks(X, sample_weight):
        total += _weighted_sum(part / _broadcast(peak, X.ndim), weight, axes)
        n_values += per_row * (len(part) if weight is None else weight.sum())
    n_values = max(n_values, np.finfo(float).tiny)
    mean = total / n_values
    squares = np.zeros(X.shape[1])
    for part, weight in _weighted_row_chunks(X, sample_weight):
        centred = part / _broadcast(peak, X.ndim) - _broadcast(mean, X.ndim)
        squares += _weighted_sum(np.square(centred), weight, axes)
    return mean * peak, np.sqrt(squares / n_values) * peak


def _weighted_sum(values, weight, axes):
    """Sum ``values`` over ``axes``, each row counted ``weight[row]`` times."""
    if weight is None:
        return values.sum(axis=axes, dtype=np.float64)
    weighted = values * weight.reshape((-1,) + (1,) * (values.ndim - 1))
    return weighted.sum(axis=axes, dtype=np.float64)


def _broadcast(values, ndim):
    """Shape per-feature values to broadcast against N-d rows (axis 1)."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def _weighted_row_chunks(X, sample_weight):
    """Yield consecutive row blocks of ``X`` (about ``_CHUNK_VALUES`` values).

    Each block comes as ``(rows as float64, their weights or None)``.
    """
    per_row = max(1, X.size // max(len(X), 1))
    step = max(1, _CHUNK_VALUES // per_row)
    for start in range(0, len(X), step):
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight[start : start + step], dtype=np.float64)
        yield X[start : start + step].astype(np.float64, copy=False), weight


def stratified_batches(y, n_batches, generator=None, min_per_class=0):
    """Split the rows into ``n_batches`` batches that each carry every class.

    The rows of each class are shuffled and dealt out evenly over the batches
    (each batch gets ``floor`` or ``ceil`` of ``n_c / n_batches`` rows of a
    class of ``n_c`` rows), starting at a random batch per class so that the
    rounding does not always favour the same batches. A class with fewer
    than ``min_per_class * n_batches`` rows is cycled (its rows reused in the
    epoch) until every batch holds ``min_per_class`` of them. Every row is
    used at least once.

    Parameters
    ----------
    y : torch.Tensor of shape (n_samples,)
        Class labels encoded as ``0 .. n_classes - 1``.
    n_batches : int
        Number of batches (at least 1).
    generator : torch.Generator or None, default=None
        Source of the shuffling.
    min_per_class : int, default=0
        Rows of every class present in ``y`` that each batch must hold.

    Returns
    -------
    batches : list of torch.Tensor
        Row indices (int64, on the CPU) of each batch; none is empty.
    """
    y = torch.as_tensor(y).long().cpu()
    n_batches = max(1, int(n_batches))
    counts = torch.bincount(y)
    perm = torch.randperm(len(y), generator=generator)
    # Rows grouped by class, in random order within each class.
    rows = perm[torch.argsort(y[perm], stable=True)]
    first_row = torch.cumsum(counts, 0) - counts
    draws = torch.where(counts > 0, counts.clamp(min=min_per_class * n_batches), counts)
    cls = torch.repeat_interleave(torch.arange(len(counts)), draws)
    first_draw = torch.cumsum(draws, 0) - draws
    j = torch.arange(len(cls)) - first_draw[cls]
    row = rows[first_row[cls] + j % counts[cls]]
    offset = torch.randint(n_batches, (len(counts),), generator=generator)
    batch = (j * n_batches // draws[cls] + offset[cls]) % n_batches
    # Group the draws by batch, in random order within each batch.
    shuffled = torch.randperm(len(row), generator=generator)
    order = shuffled[torch.argsort(batch[shuffled], stable=True)]
    sizes = torch.bincount(batch, minlength=n_batches).tolist()
    return [b for b in torch.split(row[order], sizes) if len(b)]


class BatchPlan:
    """The batches of every epoch: which rows, in which order, on which process.

    One plan serves both the in-memory iterator and the ``DataLoader`` of
    streamed datasets, so that the same seed trains on the same batches
    whatever the input's container (issue 11: a streamed image folder scores
    as the same images passed as an array). Each epoch draws its batches from
    a private generator: a permutation (``torch.randperm``) cut into global
    batches of ``batch_size`` rows, or with ``stratify`` the batches of
    :func:`stratified_batches`. With ``world_size`` processes, process
    ``rank`` gets the ``rank``-th of ``world_size`` contiguous, near-equal
    shares of every global batch, so that the processes together see each row
    exactly once per epoch (none is repeated to even out the shares, unlike
    ``DistributedSampler``).

    Parameters
    ----------
    n_samples : int
        Rows to plan.
    batch_size : int
        Rows per global batch.
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    drop_last : bool, default=False
        Drop the last, incomplete global batch. With ``stratify`` no row is
        dropped: the rows are dealt into ``n_samples // batch_size`` batches
        (at least one).
    seed : int or None, default=None
        Seed of the private generator; the global torch generator is never
        touched.
    rank, world_size : int, default=0, 1
        This process's rank and the number of processes.
    y : torch.Tensor of shape (n_samples,) or None, default=None
        Encoded labels, needed by ``stratify``.
    stratify : bool, default=False
        Deal every class evenly over the batches of an epoch (needs ``y`` and
        ``shuffle=True``).
    min_per_class : int, default=0
        With ``stratify``: rows of every class in every global batch.
    """

    def __init__(
        self,
        n_samples,
        batch_size,
        shuffle=False,
        drop_last=False,
        seed=None,
        rank=0,
        world_size=1,
        y=None,
        stratify=False,
        min_per_class=0,
    ):
        self.n_samples = int(n_samples)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.y = y
        self.stratify = stratify
        self.min_per_class = int(min_per_class)
        if stratify and (y is None or not shuffle):
            raise ValueError(
                "stratify=True deals the rows of each class y over shuffled "
                "batches: it needs labels y and shuffle=True."
            )
        self._generator = torch.Generator()
        if seed is not None:
            self._generator.manual_seed(int(seed))

    def __len__(self):
        if self.drop_last:
            n_batches = self.n_samples // self.batch_size
            return max(1, n_batches) if self.stratify else n_batches
        return -(-self.n_samples // self.batch_size)

    def _batch_indices(self):
        """Row indices of each global batch of one epoch."""
        if self.stratify:
            return stratified_batches(
                self.y, len(self), self._generator, self.min_per_class
            )
        if self.shuffle:
            order = torch.randperm(self.n_samples, generator=self._generator)
        else:
            order = torch.arange(self.n_samples)
        stops = range(0, len(self) * self.batch_size, self.batch_size)
        return [order[start : start + self.batch_size] for start in stops]

    def epoch(self):
        """Yield ``(index, share)`` of this process's share of each batch."""
        for index in self._batch_indices():
            if self.world_size == 1:
                yield index, 1.0
                continue
            size = len(index)
            low = self.rank * size // self.world_size
            high = (self.rank + 1) * size // self.world_size
            yield index[low:high], (high - low) * self.world_size / size


class InMemoryBatchIterator:
    """Iterate over mini-batches of in-memory data, a whole batch per step.

    Used as skorch's ``iterator_train`` and ``iterator_valid``: skorch calls
    ``InMemoryBatchIterator(dataset, batch_size=..., **iterator_train__kwargs)``
    once per ``fit`` and iterates over it every epoch. Each batch is an
    :class:`IndexedBatch`: ``(X, y)`` with the row indices and sample weights
    attached.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (a tensor, an ndarray or a CSR matrix) and ``y`` (a tensor,
        an ndarray or None).
    batch_size : int
        Rows per batch.
    shuffle : bool, default=False
        Draw a new permutation of the rows at every epoch.
    drop_last : bool, default=False
        Drop the last, incomplete batch (L_DMI's determinant needs full
        batches). With ``stratify`` no row is dropped: the rows are dealt
        into ``n_samples // batch_size`` batches (at least one) of at least
        ``batch_size`` rows, instead of ``ceil(n_samples / batch_size)``
        batches of at most ``batch_size`` rows.
    seed : int or None, default=None
        Seed of the private generator used for shuffling; the global torch
        generator is never touched.
    device : str or torch.device, default="cpu"
        Where the batches are delivered.
    rank, world_size : int, default=0, 1
        Under data parallelism, this process's share of every batch (see
        :class:`BatchPlan`).
    sparse : bool, default=False
        Deliver batches of a CSR matrix as sparse CSR tensors (for modules
        whose first layer multiplies sparse inputs, such as
        :class:`~sklearn_noisy.modules.MLP`) instead of densifying them.
    sample_weight : torch.Tensor or ndarray of shape (n_samples,) or None, \
            default=None
        Weight of each row of ``dataset``, delivered as ``batch.weight``;
        None leaves ``batch.weight`` None.
    stratify : bool, default=False
        Deal every class evenly over the batches of an epoch
        (:func:`stratified_batches` on ``dataset.y``), a new draw per epoch,
        instead of cutting one permutation into consecutive batches. Needs
        ``shuffle=True``.
    min_per_class : int, default=0
        With ``stratify``: rows of every class in every batch (rows of small
        classes are reused within the epoch to reach it).
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        drop_last=False,
        seed=None,
        device="cpu",
        rank=0,
        world_size=1,
        sparse=False,
        sample_weight=None,
        stratify=False,
        min_per_class=0,
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.sparse = sparse
        self._X = dataset.X
        self._y = dataset.y
        if isinstance(self._X, np.ndarray):
            self._X = torch.as_tensor(self._X)
        if isinstance(self._y, np.ndarray):
            self._y = torch.as_tensor(self._y)
        self._n = self._X.shape[0]
        self._weight = check_batch_weights(sample_weight, self._n)
        self._plan = BatchPlan(
            self._n,
            batch_size,
            shuffle,
            drop_last,
            seed,
            rank,
            world_size,
            y=self._y,
            stratify=stratify,
            min_per_class=min_per_class,
        )

    def __len__(self):
        return len(self._plan)

    def _take(self, data, index):
        if sp.issparse(data):
            rows = data[index.cpu().numpy()]
            if self.sparse:
                return sparse_rows_tensor(rows, self.device)
            return torch.from_numpy(rows.toarray()).to(self.device, non_blocking=True)
        # index_select rather than data[index]: same rows, but advanced
        # indexing costs about 13 us per 128 x 64 batch on CPU, index_select 3
        # (benchmarks/speed.py, issue 2).
        rows = torch.index_select(data, 0, index.to(data.device))
        return rows.to(self.device, non_blocking=True)

    def __iter__(self):
        on_device = isinstance(self._X, torch.Tensor)
        for index, share in self._plan.epoch():
            if on_device:
                index = index.to(self._X.device)
            X = self._take(self._X, index)
            y = None if self._y is None else self._take(self._y, index)
            weight = None if self._weight is None else self._take(self._weight, index)
            yield IndexedBatch(X, y, index, weight, share)


def check_batch_weights(sample_weight, n_samples):
    """Return ``sample_weight`` as a float32 tensor of ``n_samples`` (or None)."""
    if sample_weight is None:
        return None
    weight = torch.as_tensor(sample_weight, dtype=torch.float32)
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have one weight per row of X "
            f"({n_samples}); got shape {tuple(weight.shape)}."
        )
    return weight


def sparse_rows_tensor(rows, device="cpu"):
    """Return CSR rows as a float32 ``torch.sparse_csr`` tensor on ``device``."""
    rows = sp.csr_matrix(rows, dtype=np.float32)
    rows.sort_indices()
    with warnings.catch_warnings():
        # torch calls its sparse CSR support "beta" on every construction;
        # the layout is built from a canonical scipy CSR matrix here.
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(rows.indptr.astype(np.int64)),
            torch.from_numpy(rows.indices.astype(np.int64)),
            torch.from_numpy(rows.data),
            size=rows.shape,
            dtype=torch.float32,
            check_invariants=False,
        ).to(device)


def fit_input_standardizer(estimator, X, sample_weight=None):
    """Set ``input_mean_`` / ``input_scale_`` of an estimator from ``X``.

    Returns the :class:`InputStandardizer` to apply, or None when the
    estimator's ``standardize`` is off or ``X`` is sparse (then both
    attributes are None). With ``sample_weight`` the statistics are those of
    the rows repeated as many times as their weights.
    """
    mode = standardize_mode(estimator)
    standardizer = None
    if mode:
        standardizer = InputStandardizer.fit(X, mode, sample_weight)
    keep_input_standardizer(estimator, standardizer)
    return standardizer


def standardize_mode(estimator):
    """Return the estimator's ``standardize`` as a mode (True means "auto")."""
    mode = estimator.standardize
    return "auto" if mode is True else mode


def keep_input_standardizer(estimator, standardizer):
    """Set ``input_mean_`` / ``input_scale_`` (both None without a standardizer)."""
    estimator.input_mean_ = None if standardizer is None else standardizer.mean
    estimator.input_scale_ = None if standardizer is None else standardizer.scale


def fitted_input_standardizer(estimator):
    """Return the standardizer kept by ``fit`` (None if there is none)."""
    if getattr(estimator, "input_mean_", None) is None:
        return None
    return InputStandardizer(estimator.input_mean_, estimator.input_scale_)
