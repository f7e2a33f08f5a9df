"""Streamed training data: torch Datasets of (x, y) items."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset as SkorchDataset
from torch.utils.data import Dataset, Subset

from sklearn_noisy import DMIClassifier, MislabelDetector
from sklearn_noisy.utils._data import (
    InMemoryBatchIterator,
    InputStandardizer,
    RunningMoments,
)
from sklearn_noisy.utils._stream import DatasetBatchIterator, StreamedData

FAST = {"max_epochs": 3, "batch_size": 64, "module__hidden_units": (32,)}


class PairDataset(Dataset):
    """(x, y) items of two arrays, as a user's Dataset would yield them."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.y[index]


@pytest.fixture(scope="module")
def digits_pairs():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:600].astype(np.float32), y[:600]
    return X, y


@pytest.mark.parametrize("shape", [(64,), (1, 8, 8)], ids=["vectors", "images"])
def test_detector_scores_dataset_as_array(digits_pairs, shape):
    """Check that a Dataset scores exactly as the same rows passed as an array."""
    X, y = digits_pairs
    X = X.reshape(len(X), *shape)
    params = {**FAST, "random_state": 0}
    if len(shape) == 3:
        params.pop("module__hidden_units")
    array = MislabelDetector(**params).fit(X, y)
    streamed = MislabelDetector(**params).fit(PairDataset(X, y))
    np.testing.assert_array_equal(streamed.train_scores_, array.train_scores_)
    np.testing.assert_array_equal(streamed.label_issues_, array.label_issues_)
    np.testing.assert_allclose(streamed.input_mean_, array.input_mean_)
    np.testing.assert_array_equal(streamed.classes_, array.classes_)


def test_dmi_classifier_dataset_as_array_and_predicts_datasets(digits_pairs):
    """Check that DMIClassifier trains on a Dataset and predicts one."""
    X, y = digits_pairs
    dataset = PairDataset(X, y)
    array = DMIClassifier(**FAST, random_state=0).fit(X, y)
    streamed = DMIClassifier(**FAST, random_state=0).fit(dataset)
    np.testing.assert_array_equal(streamed.predict_proba(X), array.predict_proba(X))
    np.testing.assert_array_equal(
        streamed.predict_proba(dataset), streamed.predict_proba(X)
    )


def test_dataset_with_workers_scores_as_without(digits_pairs):
    """Check that DataLoader worker processes change nothing but speed."""
    X, y = digits_pairs
    dataset = PairDataset(X[:300], y[:300])
    params = {**FAST, "max_epochs": 2, "random_state": 0}
    alone = MislabelDetector(**params).fit(dataset)
    workers = MislabelDetector(num_workers=2, **params).fit(dataset)
    np.testing.assert_array_equal(workers.train_scores_, alone.train_scores_)


def test_score_samples_identifies_dataset_items_by_index(digits_pairs):
    """Check score_samples on the training Dataset and on Subsets of it."""
    X, y = digits_pairs
    dataset = PairDataset(X, y)
    det = MislabelDetector(**FAST, random_state=0).fit(dataset)
    np.testing.assert_array_equal(det.score_samples(dataset), det.train_scores_)
    subset = Subset(Subset(dataset, [5, 9, 2, 7]), [3, 0])
    np.testing.assert_array_equal(det.score_samples(subset), det.train_scores_[[7, 5]])
    with pytest.raises(ValueError, match="index in the training Dataset"):
        det.score_samples(PairDataset(X[:10], y[:10]))
    with pytest.raises(TypeError, match="fitted on a Dataset"):
        det.score_samples(X)
    kept, labels = det.fit_resample(dataset)
    assert isinstance(kept, Subset) and labels is None
    assert len(kept) == len(dataset) - len(det.label_issues_)


def test_array_fitted_detector_refuses_datasets(digits_pairs):
    """Check that a detector fitted on arrays asks for arrays."""
    X, y = digits_pairs
    det = MislabelDetector(**FAST, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="fitted on arrays"):
        det.score_samples(PairDataset(X, y))


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_dataset_input_errors_name_the_problem(estimator, digits_pairs):
    """Check the errors for labels given twice, bad items and ragged shapes."""
    X, y = digits_pairs
    with pytest.raises(ValueError, match="pass y=None"):
        estimator(**FAST).fit(PairDataset(X, y), y)

    class Unpaired(PairDataset):
        def __getitem__(self, index):
            return self.X[index]

    with pytest.raises(TypeError, match=r"must be \(x, y\) pairs"):
        estimator(**FAST).fit(Unpaired(X, y))

    class Ragged(PairDataset):
        def __getitem__(self, index):
            return self.X[index][: 64 - index % 2], self.y[index]

    with pytest.raises(ValueError, match="must all have one shape"):
        estimator(**FAST).fit(Ragged(X, y))


@pytest.mark.parametrize("mode", ["features", "global", "auto"])
@pytest.mark.parametrize("shape", [(40, 7), (30, 3, 5, 4)])
def test_running_moments_match_array_standardizer(mode, shape):
    """Check that streamed statistics equal the two-pass array statistics."""
    rng = np.random.default_rng(0)
    X = (rng.standard_normal(shape) * 5 + 100).astype(np.float32)
    moments = RunningMoments()
    for start in range(0, len(X), 7):
        moments.update(torch.from_numpy(X[start : start + 7]))
    streamed = moments.standardizer(mode)
    array = InputStandardizer.fit(X, mode)
    np.testing.assert_allclose(streamed.mean, array.mean, rtol=1e-12)
    np.testing.assert_allclose(streamed.scale, array.scale, rtol=1e-10)
    assert streamed.mode == array.mode
    batch = torch.from_numpy(X[:5])
    np.testing.assert_array_equal(
        array.transform_tensor(batch).numpy(), array.transform(X[:5])
    )


@pytest.mark.parametrize("drop_last", [False, True])
def test_dataset_iterator_yields_in_memory_batches(drop_last):
    """Check that a streamed Dataset yields the in-memory iterator's batches."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((23, 4)).astype(np.float32)
    y = rng.integers(3, size=23)
    streamed = StreamedData(PairDataset(X, y), (4,), torch.as_tensor(y))
    kwargs = {"batch_size": 5, "shuffle": True, "drop_last": drop_last, "seed": 3}
    memory = InMemoryBatchIterator(SkorchDataset(X, y), **kwargs)
    stream = DatasetBatchIterator(streamed, **kwargs)
    assert len(memory) == len(stream)
    for _ in range(2):
        for a, b in zip(memory, stream, strict=True):
            np.testing.assert_array_equal(a.index, b.index)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])


def test_in_memory_iterator_delivers_sparse_batches_when_asked():
    """Check that sparse=True yields CSR tensors holding the batch's rows."""
    rng = np.random.default_rng(0)
    X = sp.random(20, 30, density=0.1, format="csr", random_state=0)
    y = rng.integers(2, size=20)
    iterator = InMemoryBatchIterator(SkorchDataset(X, y), 6, sparse=True)
    for batch in iterator:
        assert batch[0].layout == torch.sparse_csr
        np.testing.assert_allclose(
            batch[0].to_dense().numpy(), X[batch.index.numpy()].toarray(), rtol=1e-6
        )


@pytest.mark.parametrize("world_size", [1, 2])
def test_dataset_iterator_stratified_weighted_batches_match_in_memory(world_size):
    """Check that stratified, weighted batches of a Dataset equal the arrays'."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((41, 4)).astype(np.float32)
    y = rng.choice(3, size=41, p=[0.8, 0.15, 0.05])
    weight = rng.uniform(0.5, 2.0, size=41)
    streamed = StreamedData(PairDataset(X, y), (4,), torch.as_tensor(y))
    kwargs = {
        "batch_size": 8,
        "shuffle": True,
        "drop_last": True,
        "seed": 3,
        "sample_weight": weight,
        "stratify": True,
        "min_per_class": 1,
        "rank": world_size - 1,
        "world_size": world_size,
    }
    memory = InMemoryBatchIterator(SkorchDataset(X, y), **kwargs)
    stream = DatasetBatchIterator(streamed, **kwargs)
    assert len(memory) == len(stream)
    for _ in range(2):
        for a, b in zip(memory, stream, strict=True):
            np.testing.assert_array_equal(a.index, b.index)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a.weight, b.weight)
            np.testing.assert_allclose(b.weight, weight[b.index.numpy()], rtol=1e-6)
            assert a.share == b.share
            if world_size == 1:
                assert set(b[1].tolist()) == {0, 1, 2}  # every class, every batch


@pytest.mark.parametrize("mode", ["features", "global"])
@pytest.mark.parametrize("shape", [(40, 7), (30, 3, 5, 4)])
def test_running_moments_weighted_match_array_standardizer(mode, shape):
    """Check that weighted streamed statistics equal the weighted array ones."""
    rng = np.random.default_rng(1)
    X = (rng.standard_normal(shape) * 5 + 100).astype(np.float32)
    weight = rng.uniform(0.0, 3.0, size=len(X))
    weight[:4] = 0.0
    X[:4] = 1e4  # rows of weight 0 are not in the data: not in min/max
    moments = RunningMoments()
    for start in range(0, len(X), 7):
        moments.update(torch.from_numpy(X[start : start + 7]), weight[start:][:7])
    streamed = moments.standardizer(mode)
    array = InputStandardizer.fit(X, mode, sample_weight=weight)
    np.testing.assert_allclose(streamed.mean, array.mean, rtol=1e-10)
    np.testing.assert_allclose(streamed.scale, array.scale, rtol=1e-8)
    assert streamed.mode == array.mode


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_sample_weight_of_dataset_trains_as_array(digits_pairs, estimator):
    """Check that weights of a Dataset's items train as those of an array."""
    X, y = digits_pairs
    weight = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    weight[::10] = 0.0
    array = estimator(**FAST, random_state=0).fit(X, y, sample_weight=weight)
    streamed = estimator(**FAST, random_state=0).fit(
        PairDataset(X, y), sample_weight=weight
    )
    np.testing.assert_allclose(streamed.input_mean_, array.input_mean_, rtol=1e-10)
    np.testing.assert_allclose(streamed.input_scale_, array.input_scale_, rtol=1e-8)
    if estimator is MislabelDetector:
        np.testing.assert_allclose(
            streamed.train_scores_, array.train_scores_, rtol=1e-4, atol=1e-5
        )
    else:
        np.testing.assert_allclose(
            streamed.predict_proba(X), array.predict_proba(X), rtol=1e-4, atol=1e-5
        )
        unweighted = estimator(**FAST, random_state=0).fit(PairDataset(X, y))
        assert not np.allclose(
            unweighted.predict_proba(X), streamed.predict_proba(X), atol=1e-3
        )
