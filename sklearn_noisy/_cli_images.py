"""Image folders that stream: files decoded one at a time when read (issue 11).

The command line used to decode a whole folder into one float32 array (a
100,000-photo folder at 224 x 224 is 15 GB). :class:`ImageFolderDataset`
decodes and resizes an image only when the training ``DataLoader`` asks for
it, so that memory holds the file names and the current batches. Every image
is decoded exactly as :func:`decode_image` says, the same for the streamed
and the in-memory route, so the two train on equal float32 values.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

# Grey-scale from RGB with the ITU-R 601-2 luma weights, as PIL's convert("L").
_LUMA = np.asarray((0.299, 0.587, 0.114), dtype=np.float32)
# PIL modes that hold one grey-scale value per pixel.
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


def _unreadable(file, exc):
    """Return the error for a file PIL cannot open or decode."""
    return ValueError(
        f"cannot read {file}: not a valid PNG or JPEG image ({type(exc).__name__})"
    )


def decode_image(file, size, channels):
    """Return one image as float32 ``(channels, size, size)`` in [0, 1].

    RGB is read, resized bilinearly to ``size`` x ``size`` and scaled by
    1/255; one channel is the luma of the three.
    """
    try:
        with Image.open(file) as image:
            image = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            rgb = np.asarray(image)
    except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError too
        raise _unreadable(file, exc) from None
    X = rgb.astype(np.float32) / 255
    if channels == 1:
        return np.ascontiguousarray((X @ _LUMA)[None])
    return np.ascontiguousarray(X.transpose(2, 0, 1))


def image_channels(files):
    """Return 1 when every file is stored grey-scale, else 3 (headers only)."""
    for file in files:
        try:
            with Image.open(file) as image:
                mode = image.mode
        except (OSError, ValueError) as exc:
            raise _unreadable(file, exc) from None
        if mode not in GREY_MODES:
            return 3
    return 1


# glibc's mallopt parameter: allocations from this size on are mapped.
_M_MMAP_THRESHOLD = -3
# glibc's default threshold, which mallopt then keeps fixed.
_MMAP_THRESHOLD = 128 * 1024


def limit_heap_fragmentation():
    """Keep glibc from raising its mmap threshold (Linux only; True if set).

    glibc raises the size from which it maps allocations each time a mapped
    block is freed, up to 32 MB, so that a network's per-batch activations
    (megabytes each) move onto the heap. There, the small arrays of each
    decoded image sit between them and the freed space cannot be returned:
    streaming 50,000 64 x 64 images through the small CNN grew ``detect`` to
    a 2.3 GB peak, where the training itself needs under 0.7 GB. A fixed
    threshold keeps those activations mapped and returned at once. The
    command line does this for image folders in its own process only;
    ``MALLOC_MMAP_THRESHOLD_`` set by the user is left alone.
    """
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))


class ImageFolderDataset(Dataset):
    """``(image, label)`` items of a list of files, decoded when read.

    Parameters
    ----------
    files : list of path
        The image files, in row order.
    labels : list of str or None
        The label of each file (its class folder), or None.
    size : int
        Side of the square the images are resized to.
    channels : {1, 3}
        Grey-scale or RGB.
    """

    #: Read by the command line: the labels come with the items.
    streams = True

    def __init__(self, files, labels, size, channels):
        self.files = [str(file) for file in files]
        self.labels = labels
        self.size = size
        self.channels = channels

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        image = decode_image(self.files[index], self.size, self.channels)
        return image, None if self.labels is None else self.labels[index]

    @property
    def shape(self):
        """``(n_images, channels, size, size)``, as the array would have."""
        return (len(self), self.channels, self.size, self.size)

    def to_array(self):
        """Decode every image into one float32 array (for in-memory routes)."""
        X = np.empty(self.shape, dtype=np.float32)
        for k in range(len(self)):
            X[k] = decode_image(self.files[k], self.size, self.channels)
        return X
