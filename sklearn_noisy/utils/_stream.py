"""Training data that streams: a torch ``Dataset`` of ``(x, y)`` items (issue 11).

Both estimators accept a :class:`torch.utils.data.Dataset` as ``X``. Its items
are read by a :class:`~torch.utils.data.DataLoader` (``num_workers`` worker
processes, pinned host memory when training on CUDA), never all at once:

* one pass at the start of ``fit`` reads every item's label and, unless
  ``standardize=False``, the per-feature (per-channel) statistics of the inputs
  (:class:`~sklearn_noisy.utils._data.RunningMoments`, float64);
* every epoch then reads the items again in the order of the same
  :class:`~sklearn_noisy.utils._data.BatchPlan` as in-memory arrays, and each
  batch is standardised on the training device
  (:meth:`~sklearn_noisy.utils._data.InputStandardizer.transform_tensor`).

With the same seed, a Dataset therefore trains on the same batches, with the
same standardised float32 values, as the same rows passed as an array. The
labels of the items are encoded once and kept in memory (8 bytes per row);
each batch carries the dataset indices of its items, by which the detector
keys its statistics.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ._data import (
    BatchPlan,
    IndexedBatch,
    InMemoryBatchIterator,
    RunningMoments,
    check_batch_weights,
    fitted_input_standardizer,
    keep_input_standardizer,
    standardize_mode,
)

__all__ = [
    "DatasetBatchIterator",
    "StreamedData",
    "batch_iterator",
    "check_dataset_data",
    "check_dataset_predict",
    "dataset_positions",
    "is_dataset",
    "take_rows",
]

# Items per batch of the pass that reads the labels and the statistics.
_SCAN_BATCH_SIZE = 256


def is_dataset(X):
    """Return True for a torch ``Dataset`` (streamed), False for arrays."""
    return isinstance(X, Dataset)


def _input_of(item, index):
    """Return the ``x`` of an ``(x, y)`` item as a float32 tensor."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise TypeError(
            f"Items of a Dataset passed as X must be (x, y) pairs, as "
            f"torchvision's datasets yield; item {index} is a "
            f"{type(item).__name__}"
            + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "")
            + "."
        )
    return _as_float_tensor(item[0], index)


def _as_float_tensor(x, index):
    try:
        return torch.as_tensor(np.asarray(x), dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The x of item {index} of the Dataset is a {type(x).__name__}, "
            f"which does not convert to a float tensor ({exc}); return a tensor "
            f"or an array, e.g. with torchvision.transforms.ToTensor()."
        ) from None


def _stack(inputs, indices):
    """Stack the inputs of a batch, naming the items whose shape differs."""
    shapes = {tuple(x.shape) for x in inputs}
    if len(shapes) > 1:
        first = tuple(inputs[0].shape)
        other = next(
            i for i, x in zip(indices, inputs, strict=True) if tuple(x.shape) != first
        )
        raise ValueError(
            f"Items of the Dataset passed as X must all have one shape; item "
            f"{indices[0]} has shape {first} and item {other} has shape "
            f"{tuple(inputs[indices.index(other)].shape)}. Resize them in the "
            f"Dataset (e.g. torchvision.transforms.Resize)."
        )
    X = torch.stack(inputs)
    # Every training batch passes here: the sum (0.2 ms for 128 images of
    # 3 x 64 x 64) is NaN or infinite whenever an element is; only then are
    # the rows checked one by one (6.7 ms), the sum's own overflow aside.
    if bool(torch.isfinite(X.sum())):
        return X
    finite = torch.isfinite(X.reshape(len(X), -1)).all(dim=1)
    if not bool(finite.all()):
        bad = indices[int(torch.argmin(finite.int()))]
        raise ValueError(
            f"Input X contains NaN or infinity: the x of item {bad} of the "
            f"Dataset passed as X holds a non-finite value (or one beyond "
            f"float32's range). Drop, impute or rescale such items in the "
            f"Dataset."
        )
    return X


class _LabelledItems(Dataset):
    """What the first pass reads: ``(x, y, index)`` of every item."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        item = self.dataset[index]
        x = _input_of(item, index)
        y = item[1]
        if isinstance(y, torch.Tensor):
            y = y.item() if y.numel() == 1 else y.tolist()
        return x, y, index


def _collate_labelled(items):
    xs, ys, indices = zip(*items, strict=True)
    return _stack(list(xs), list(indices)), list(ys)


class StreamedData(Dataset):
    """A Dataset as the estimators train on it: inputs, encoded labels, scaling.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The user's dataset of ``(x, y)`` items; only ``x`` is read here.
    sample_shape : tuple of int
        Shape of one ``x``.
    y : torch.Tensor of shape (n_items,) or None, default=None
        Encoded labels, aligned with this view's positions.
    indices : ndarray of int or None, default=None
        Positions in ``dataset`` that this view holds (None: all, in order).
    standardizer : InputStandardizer or None, default=None
        Applied to every batch on the training device.
    """

    def __init__(self, dataset, sample_shape, y=None, indices=None, standardizer=None):
        self.dataset = dataset
        self.sample_shape = tuple(sample_shape)
        self.y = y
        self.indices = indices
        self.standardizer = standardizer

    def __len__(self):
        return len(self.dataset) if self.indices is None else len(self.indices)

    @property
    def shape(self):
        """``(n_items, *sample_shape)``, as an array of the data would have."""
        return (len(self), *self.sample_shape)

    @property
    def ndim(self):
        """Dimensions of the data as an array: ``1 + len(sample_shape)``."""
        return 1 + len(self.sample_shape)

    def __getitem__(self, position):
        index = position if self.indices is None else int(self.indices[position])
        return _input_of(self.dataset[index], index), position

    def subset(self, positions):
        """Return the view of these positions (labels follow)."""
        positions = np.asarray(positions, dtype=np.int64)
        indices = positions if self.indices is None else self.indices[positions]
        y = None if self.y is None else self.y[torch.as_tensor(positions)]
        return StreamedData(
            self.dataset, self.sample_shape, y, indices, self.standardizer
        )

    def with_labels(self, y):
        """Return the same items with other encoded labels."""
        return StreamedData(
            self.dataset,
            self.sample_shape,
            torch.as_tensor(y),
            self.indices,
            self.standardizer,
        )

    def transform(self, X):
        """Standardise a batch on its device (float32 in, float32 out)."""
        if self.standardizer is None:
            return X
        return self.standardizer.transform_tensor(X)


def _collate_inputs(items):
    xs, positions = zip(*items, strict=True)
    return _stack(list(xs), list(positions)), torch.as_tensor(positions)


class _PlanSampler:
    """Batch sampler of a ``DataLoader``: the batches of a :class:`BatchPlan`.

    It runs ahead of the batches the loader delivers (workers prefetch), so
    the loss share of each batch waits in a queue, in order.
    """

    def __init__(self, plan):
        self.plan = plan
        self.shares = deque()

    def __len__(self):
        return len(self.plan)

    def __iter__(self):
        self.shares.clear()
        for index, share in self.plan.epoch():
            self.shares.append(share)
            yield index.tolist()


class DatasetBatchIterator:
    """Iterate over mini-batches of a :class:`StreamedData` through a DataLoader.

    The counterpart of
    :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` for streamed
    data, with the same parameters and the same batches for the same seed,
    plus ``num_workers``. Inputs are copied to the device without blocking
    from pinned memory when the device is CUDA, then standardised there.

    Parameters
    ----------
    dataset : StreamedData
        The items and their encoded labels.
    batch_size : int
        Rows per (global) batch.
    shuffle, drop_last, seed, device, rank, world_size, sample_weight, \
            stratify, min_per_class :
        As for :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator`
        (``stratify`` deals the encoded labels ``dataset.y``; the weights
        follow the positions of ``dataset``).
    num_workers : int, default=0
        ``DataLoader`` worker processes (0: read in the training process).
        Workers are kept between epochs.
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
        num_workers=0,
        sample_weight=None,
        stratify=False,
        min_per_class=0,
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self._weight = check_batch_weights(sample_weight, len(dataset))
        plan = BatchPlan(
            len(dataset),
            batch_size,
            shuffle,
            drop_last,
            seed,
            rank,
            world_size,
            y=dataset.y,
            stratify=stratify,
            min_per_class=min_per_class,
        )
        self._sampler = _PlanSampler(plan)
        self._loader = DataLoader(
            dataset,
            batch_sampler=self._sampler,
            num_workers=num_workers,
            collate_fn=_collate_inputs,
            pin_memory=self.device.type == "cuda",
            persistent_workers=num_workers > 0,
            generator=_private_generator(seed),
        )

    def __len__(self):
        return len(self._sampler)

    def __iter__(self):
        labels = self.dataset.y
        for X, positions in self._loader:
            share = self._sampler.shares.popleft()
            X = self.dataset.transform(X.to(self.device, non_blocking=True))
            y = None if labels is None else labels[positions].to(self.device)
            weight = None
            if self._weight is not None:
                weight = self._weight[positions].to(self.device)
            yield IndexedBatch(X, y, positions, weight, share)


def _private_generator(seed):
    """Return the generator of a ``DataLoader``'s per-epoch base seed.

    Without one, every pass of a ``DataLoader`` draws its workers' base seed
    from torch's global generator, which also draws the dropout masks: a
    streamed fit would then train with other masks than the same rows passed
    as an array (and move the user's global generator).
    """
    generator = torch.Generator()
    generator.manual_seed(0 if seed is None else int(seed))
    return generator


def take_rows(X, index):
    """Rows ``index`` of a tensor, an array, a CSR matrix or a StreamedData."""
    if isinstance(X, StreamedData):
        return X.subset(np.asarray(index))
    if isinstance(X, torch.Tensor):
        return X[torch.as_tensor(index).to(X.device)]
    return X[np.asarray(index)]


def batch_iterator(dataset, batch_size, *, num_workers=0, sparse=False, **kwargs):
    """Return the batch iterator for skorch's ``iterator_train``/``_valid``.

    A :class:`DatasetBatchIterator` for streamed data, else an
    :class:`~sklearn_noisy.utils._data.InMemoryBatchIterator` (which ignores
    ``num_workers``).
    """
    if isinstance(dataset, StreamedData):
        return DatasetBatchIterator(
            dataset, batch_size, num_workers=num_workers, **kwargs
        )
    return InMemoryBatchIterator(dataset, batch_size, sparse=sparse, **kwargs)


def _scan(dataset, num_workers, moments, sample_weight=None):
    """Read every item once: return its labels and its input's shape.

    The items are read in order, so ``sample_weight[i]`` weights item ``i``
    in the running moments.
    """
    loader = DataLoader(
        _LabelledItems(dataset),
        batch_size=_SCAN_BATCH_SIZE,
        num_workers=num_workers,
        collate_fn=_collate_labelled,
        generator=_private_generator(0),
    )
    labels, shape = [], None
    for X, y in loader:
        if shape is None:
            shape = tuple(X.shape[1:])
        elif tuple(X.shape[1:]) != shape:
            raise ValueError(
                f"Items of the Dataset passed as X must all have one shape; "
                f"found {shape} and {tuple(X.shape[1:])}. Resize them in the "
                f"Dataset (e.g. torchvision.transforms.Resize)."
            )
        if moments is not None:
            weight = None
            if sample_weight is not None:
                weight = sample_weight[len(labels) : len(labels) + len(X)]
            moments.update(X, weight)
        labels.extend(y)
    return labels, shape


def check_dataset_data(estimator, X, y, sample_weight=None):
    """Validate a Dataset ``X`` for ``fit``: read labels and statistics once.

    With ``sample_weight`` (one per item), the standardisation's statistics
    are those of the items repeated as many times as their weights, as for
    arrays.

    Sets ``classes_``, ``n_features_in_`` (the first dimension of an item's
    ``x``), ``input_mean_`` and ``input_scale_`` of the estimator.

    Returns
    -------
    data : StreamedData
        The items with their encoded labels and the fitted standardizer.
    y_encoded : ndarray of int64
        Labels as indices into ``estimator.classes_``.
    """
    from sklearn.utils.multiclass import check_classification_targets

    name = type(estimator).__name__
    if y is not None:
        raise ValueError(
            f"{name}.fit got a Dataset as X and y as well; a Dataset's items "
            f"are (x, y) pairs that carry the labels: pass y=None."
        )
    if len(X) == 0:
        raise ValueError(f"{name}.fit got an empty Dataset as X.")
    if sample_weight is not None:
        from sklearn.utils.validation import _check_sample_weight

        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    mode = standardize_mode(estimator)
    moments = RunningMoments() if mode else None
    labels, shape = _scan(
        X, getattr(estimator, "num_workers", 0), moments, sample_weight
    )
    if len(shape) not in (1, 3):
        raise ValueError(
            f"{name} trains on Dataset items whose x is a vector (n_features,) "
            f"or an image (channels, height, width); got x of shape {shape}."
        )
    labels = np.asarray(labels)
    check_classification_targets(labels)
    classes, y_encoded = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes in y; got 1 class "
            f"({classes[0]!r}) in {len(labels)} sample(s)."
        )
    estimator.classes_ = classes
    estimator.n_features_in_ = shape[0]
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    standardizer = moments.standardizer(mode) if moments is not None else None
    keep_input_standardizer(estimator, standardizer)
    y_encoded = y_encoded.ravel().astype(np.int64)
    data = StreamedData(
        X,
        shape,
        torch.as_tensor(y_encoded),
        standardizer=fitted_input_standardizer(estimator),
    )
    return data, y_encoded


def check_dataset_predict(estimator, X):
    """Return a Dataset ``X`` for prediction, checked against ``fit``."""
    name = type(estimator).__name__
    if len(X) == 0:
        raise ValueError(f"{name} got an empty Dataset as X.")
    shape = tuple(_input_of(X[0], 0).shape)
    if shape[0] != estimator.n_features_in_:
        raise ValueError(
            f"X has {shape[0]} features (channels), but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return StreamedData(X, shape, standardizer=fitted_input_standardizer(estimator))


def dataset_positions(X, n_train, caller):
    """Return the training-dataset indices of the items of ``X``.

    A detector fitted on a Dataset identifies items by their index in it:
    the training Dataset itself (all ``n_train`` items, in order) or a
    :class:`torch.utils.data.Subset` of it (nested subsets compose).
    """
    positions = None
    while isinstance(X, torch.utils.data.Subset):
        own = np.asarray(X.indices, dtype=np.int64)
        positions = own if positions is None else own[positions]
        X = X.dataset
    if len(X) != n_train:
        raise ValueError(
            f"{caller} identifies the items of a Dataset by their index in the "
            f"training Dataset ({n_train} items); got a Dataset of {len(X)} "
            f"items. Pass the training Dataset or a torch.utils.data.Subset of "
            f"it."
        )
    return np.arange(n_train) if positions is None else positions
