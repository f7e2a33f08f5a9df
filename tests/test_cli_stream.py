"""The command line streams image folders (issue 11)."""

import ctypes
import sys

import numpy as np
import pandas as pd
import pytest
from test_cli import FAST, _write_images
from torch.utils.data import Dataset

from sklearn_noisy._cli_data import load_data
from sklearn_noisy._cli_images import limit_heap_fragmentation
from sklearn_noisy.cli import main


def test_image_folder_loads_as_a_lazy_dataset(tmp_path):
    """Check that reading a folder decodes no image and keeps the labels."""
    root = _write_images(tmp_path / "shapes", size=12)
    data = load_data(root, image_size=10)
    assert isinstance(data.X, Dataset) and data.streamed
    assert data.X.shape == (15, 1, 10, 10)
    image, label = data.X[0]
    assert image.shape == (1, 10, 10) and image.dtype == np.float32
    assert label == data.y[0] == "circle"
    assert 0.0 <= image.min() and image.max() <= 1.0


def test_cli_detect_streamed_folder_ranks_as_the_array(tmp_path):
    """Check that a streamed folder scores as the same images in an .npz."""
    root = _write_images(tmp_path / "shapes", size=12)
    data = load_data(root, image_size=12)
    npz = tmp_path / "images.npz"
    # The same decoded float32 images, in memory.
    np.savez(npz, X=data.X.to_array(), y=data.y)
    by_folder, by_array = tmp_path / "folder.csv", tmp_path / "array.csv"
    common = ["--image-size", "12", *FAST, "--no-progress"]
    assert main(["detect", str(root), "--out", str(by_folder), *common]) == 0
    assert main(["detect", str(npz), "--out", str(by_array), *common]) == 0
    folder = pd.read_csv(by_folder).sort_values("path")
    array = pd.read_csv(by_array).sort_values("row")
    np.testing.assert_array_equal(folder["score"], array["score"])


def test_cli_train_and_predict_stream_an_image_folder(tmp_path):
    """Check train (with and without --clean) and predict on a folder."""
    root = _write_images(tmp_path / "shapes")
    for extra in ([], ["--clean"]):
        model, out = tmp_path / "model.joblib", tmp_path / "pred.csv"
        args = ["--image-size", "8", "--overwrite"]
        train = ["train", str(root), "--out", str(model), *extra, *args, *FAST]
        assert main([*train, "--no-progress"]) == 0
        assert main(["predict", str(model), str(root), "--out", str(out), *args]) == 0
        table = pd.read_csv(out)
        assert len(table) == 15
        assert set(table["predicted_label"]) <= {"circle", "square", "triangle"}


def test_limit_heap_fragmentation_fixes_glibc_mmap_threshold(monkeypatch):
    """Check that glibc's mmap threshold is fixed at 128 KiB, unless the user set it.

    ``ctypes.CDLL`` is replaced, so this process's allocator is left alone.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's mallopt is Linux-only")
    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert limit_heap_fragmentation()
    assert calls == [(-3, 128 * 1024)]  # M_MMAP_THRESHOLD
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not limit_heap_fragmentation()
    assert len(calls) == 1
