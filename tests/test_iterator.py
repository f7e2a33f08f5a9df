"""Tests for the in-memory mini-batch iterator used as skorch's iterator."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset

from sklearn_noisy.utils._data import (
    IndexedBatch,
    InMemoryBatchIterator,
    stratified_batches,
    to_tensor_2d_or_nd,
)


def _data(n_samples, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    y = rng.integers(4, size=n_samples)
    return X, y


def _iterator(X, y, batch_size, **kwargs):
    return InMemoryBatchIterator(Dataset(X, y), batch_size=batch_size, **kwargs)


def _epoch(iterator):
    return [(Xb, yb, batch.index) for batch in iterator for Xb, yb in [batch]]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n_samples, batch_size", [(10, 3), (12, 4), (5, 8)])
def test_iterator_yields_every_row_once_per_epoch(shuffle, n_samples, batch_size):
    """Check that each epoch yields every row exactly once (drop_last=False)."""
    X, y = _data(n_samples)
    iterator = _iterator(X, y, batch_size, shuffle=shuffle, seed=0)
    for _ in range(3):
        index = torch.cat([i for _, _, i in _epoch(iterator)]).numpy()
        np.testing.assert_array_equal(np.sort(index), np.arange(n_samples))


def test_iterator_without_shuffle_keeps_row_order():
    """Check that shuffle=False yields the rows in their stored order."""
    X, y = _data(10)
    batches = _epoch(_iterator(X, y, 4))
    np.testing.assert_array_equal(torch.cat([i for *_, i in batches]), np.arange(10))
    np.testing.assert_array_equal(torch.cat([Xb for Xb, *_ in batches]), X)


@pytest.mark.parametrize("seed", range(3))
def test_iterator_shuffle_reshuffles_each_epoch(seed):
    """Check that shuffle=True draws a new order each epoch."""
    X, y = _data(50)
    iterator = _iterator(X, y, 10, shuffle=True, seed=seed)
    first = torch.cat([i for *_, i in _epoch(iterator)])
    second = torch.cat([i for *_, i in _epoch(iterator)])
    assert not torch.equal(first, second)
    assert not torch.equal(first, torch.arange(50))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n_samples, batch_size", [(10, 3), (12, 4), (5, 8), (9, 9)])
def test_iterator_drop_last_drops_only_incomplete_tail(shuffle, n_samples, batch_size):
    """Check that drop_last drops the incomplete tail batch and nothing more."""
    X, y = _data(n_samples)
    iterator = _iterator(X, y, batch_size, shuffle=shuffle, drop_last=True, seed=0)
    batches = _epoch(iterator)
    n_full = n_samples // batch_size
    assert len(batches) == n_full
    assert all(len(i) == batch_size for *_, i in batches)
    index = torch.cat([i for *_, i in batches]) if batches else torch.tensor([])
    assert len(index) == n_full * batch_size
    assert len(np.unique(index.numpy())) == len(index)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n_samples, batch_size", [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_iterator_len_counts_batches(drop_last, n_samples, batch_size):
    """Check that len() equals the number of batches one epoch yields."""
    X, y = _data(n_samples)
    iterator = _iterator(X, y, batch_size, drop_last=drop_last, shuffle=True)
    expected = n_samples // batch_size if drop_last else -(-n_samples // batch_size)
    assert len(iterator) == expected == len(_epoch(iterator))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("X_type", ["ndarray", "tensor", "csr"])
def test_iterator_batch_index_matches_rows(seed, X_type):
    """Check that X[batch.index] and y[batch.index] equal the batch."""
    X, y = _data(23, seed=seed)
    X[X < 0.5] = 0.0
    X_in = {"ndarray": X, "tensor": torch.from_numpy(X), "csr": sp.csr_matrix(X)}
    iterator = _iterator(X_in[X_type], y, 5, shuffle=True, seed=seed)
    for batch in iterator:
        assert isinstance(batch, IndexedBatch)
        Xb, yb = batch
        assert isinstance(Xb, torch.Tensor)
        assert Xb.dtype == torch.float32
        np.testing.assert_array_equal(Xb.numpy(), X[batch.index.numpy()])
        np.testing.assert_array_equal(yb.numpy(), y[batch.index.numpy()])


@pytest.mark.parametrize("seed", range(3))
def test_iterator_same_seed_same_order(seed):
    """Check that the same seed gives the same order, another seed another."""
    X, y = _data(40)

    def orders(s):
        iterator = _iterator(X, y, 8, shuffle=True, seed=s)
        return [torch.cat([i for *_, i in _epoch(iterator)]) for _ in range(2)]

    same = orders(seed)
    assert all(torch.equal(a, b) for a, b in zip(same, orders(seed), strict=True))
    assert not torch.equal(same[0], orders(seed + 100)[0])


def test_iterator_does_not_touch_global_torch_rng():
    """Check that shuffling leaves torch's global random state unchanged."""
    X, y = _data(40)
    state = torch.get_rng_state()
    _epoch(_iterator(X, y, 8, shuffle=True, seed=0))
    assert torch.equal(torch.get_rng_state(), state)


def test_iterator_sparse_densified_per_batch(monkeypatch):
    """Check that a CSR X is densified one batch at a time, never whole."""
    X, y = _data(20)
    X[X < 0.5] = 0.0
    X_sparse = sp.csr_matrix(X)
    shapes = []
    toarray = sp.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        shapes.append(self.shape)
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording_toarray)
    batches = _epoch(_iterator(X_sparse, y, 6))
    assert shapes == [(6, 3), (6, 3), (6, 3), (2, 3)]
    np.testing.assert_array_equal(torch.cat([Xb for Xb, *_ in batches]), X)


@pytest.mark.parametrize("X_type", ["ndarray", "csr"])
def test_iterator_y_none_for_prediction(X_type):
    """Check that a dataset without y yields (X, None) batches."""
    X, _ = _data(7)
    X_in = X if X_type == "ndarray" else sp.csr_matrix(X)
    batches = _epoch(_iterator(X_in, None, 3))
    assert [yb for _, yb, _ in batches] == [None, None, None]
    np.testing.assert_array_equal(torch.cat([Xb for Xb, *_ in batches]), X)


def test_iterator_works_as_skorch_iterator():
    """Check that skorch's own Dataset and forward go through the iterator."""
    from skorch import NeuralNet

    X, y = _data(17)
    net = NeuralNet(
        torch.nn.Linear(3, 4),
        criterion=torch.nn.CrossEntropyLoss,
        iterator_valid=InMemoryBatchIterator,
        batch_size=5,
        train_split=None,
    ).initialize()
    with torch.no_grad():
        expected = net.module_(torch.from_numpy(X))
    # Batches of 5 and one of 17 rows may round differently in the matmul.
    np.testing.assert_allclose(
        net.forward(X).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("X_type", ["ndarray", "tensor", "csr", "images"])
def test_to_tensor_2d_or_nd_float32_and_sparse_kept(X_type):
    """Check that dense inputs become float32 tensors and CSR stays CSR float32."""
    X = np.arange(24, dtype=np.float64).reshape(6, 4)
    X_in = {
        "ndarray": X,
        "tensor": torch.from_numpy(X),
        "csr": sp.csr_matrix(X),
        "images": X.reshape(6, 1, 2, 2),
    }[X_type]
    out = to_tensor_2d_or_nd(X_in)
    if X_type == "csr":
        assert sp.issparse(out) and out.format == "csr"
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.toarray(), X)
    else:
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
        np.testing.assert_array_equal(out.numpy().reshape(6, 4), X)


# stratified batches and sample weights ----------------------------------------


def _labels(counts, seed=0):
    """Shuffled labels with ``counts[c]`` rows of class c."""
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(y)


@pytest.mark.parametrize("seed", range(3))
def test_stratified_batches_every_class_in_every_batch(seed):
    """Check that min_per_class=1 puts every class, even a rare one, in each batch.

    With 50 classes and 128 rows per batch, plain shuffling leaves some class
    out of 98% of the batches (L_DMI's determinant is then zero).
    """
    y = torch.as_tensor(_labels([3] + [63] * 49, seed))  # class 0 rarer than batches
    n_batches = len(y) // 128
    batches = stratified_batches(
        y, n_batches, torch.Generator().manual_seed(seed), min_per_class=1
    )
    assert len(batches) == n_batches
    for index in batches:
        assert torch.unique(y[index]).tolist() == list(range(50))
    used = torch.cat(batches)
    assert set(used.tolist()) == set(range(len(y)))  # every row at least once
    # Only the rare class is reused: one row per batch, so 24 draws of 3 rows.
    assert len(used) == len(y) - 3 + n_batches


@pytest.mark.parametrize("seed", range(3))
def test_stratified_batches_keep_class_proportions(seed):
    """Check that each batch holds each class's share, give or take one row."""
    counts = np.array([950, 50])
    y = torch.as_tensor(_labels(counts, seed))
    batches = stratified_batches(y, 31, torch.Generator().manual_seed(seed))
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    for index in batches:
        per_class = np.bincount(y[index].numpy(), minlength=2)
        assert (np.abs(per_class - counts / 31) < 1).all()


@pytest.mark.parametrize("drop_last, expected", [(True, [3, 1]), (False, [4, 1])])
def test_iterator_stratified_batch_count(drop_last, expected):
    """Check the number of stratified batches: n // batch_size (at least 1) or
    ceil(n / batch_size), every row used either way."""
    for n_samples, n_batches in zip([10, 3], expected, strict=True):
        X, y = _data(n_samples)
        iterator = _iterator(
            X, y, 3, shuffle=True, drop_last=drop_last, stratify=True, seed=0
        )
        batches = _epoch(iterator)
        assert len(iterator) == len(batches) == n_batches
        index = torch.cat([i for *_, i in batches])
        assert sorted(index.tolist()) == list(range(n_samples))


def test_iterator_stratified_reshuffles_and_repeats_with_seed():
    """Check that stratified epochs differ, and repeat with the same seed."""
    X, y = _data(60)

    def epochs(seed):
        iterator = _iterator(X, y, 10, shuffle=True, stratify=True, seed=seed)
        return [torch.cat([i for *_, i in _epoch(iterator)]) for _ in range(2)]

    first = epochs(0)
    assert not torch.equal(first[0], first[1])
    assert all(torch.equal(a, b) for a, b in zip(first, epochs(0), strict=True))


def test_iterator_stratified_needs_labels_and_shuffle():
    """Check that stratify without y or without shuffle is refused."""
    X, y = _data(10)
    with pytest.raises(ValueError, match="stratify=True .* needs labels y"):
        _iterator(X, None, 3, shuffle=True, stratify=True)
    with pytest.raises(ValueError, match="shuffle=True"):
        _iterator(X, y, 3, stratify=True)


@pytest.mark.parametrize("stratify", [False, True])
def test_iterator_batches_carry_sample_weights(stratify):
    """Check that batch.weight holds the weights of the batch's rows."""
    X, y = _data(23)
    weight = np.random.default_rng(0).uniform(size=23)
    iterator = _iterator(
        X, y, 5, shuffle=True, stratify=stratify, seed=0, sample_weight=weight
    )
    for batch in iterator:
        assert batch.weight.dtype == torch.float32
        np.testing.assert_allclose(batch.weight, weight[batch.index.numpy()], rtol=1e-6)
    assert all(batch.weight is None for batch in _iterator(X, y, 5))


def test_iterator_sample_weight_of_wrong_length_raises():
    """Check that weights not matching the rows are refused."""
    X, y = _data(10)
    with pytest.raises(ValueError, match=r"one weight per row of X \(10\)"):
        _iterator(X, y, 3, sample_weight=np.ones(9))
