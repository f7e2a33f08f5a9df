"""The data of a review page: one record per listed sample, ready for JSON.

The page (``_review_page.html``, ``.css``, ``.js``) renders whatever this
module puts in its JSON: thumbnails as PNG data URIs (written with zlib, so no
imaging library is needed for arrays), texts, feature values, labels as
indices into the class list, scores and the per-epoch signed entropy. Strings
are never turned into markup here: the page sets them as text, and the JSON
block is escaped so that no string can close its ``<script>`` element.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib

import numpy as np

# Largest side of a thumbnail in pixels; larger images are averaged down.
THUMBNAIL_SIZE = 96
# Per-row caps that keep a 10,000-row page at a few megabytes.
MAX_TEXT_CHARS = 10_000
MAX_CELL_CHARS = 500
MAX_FEATURES = 50
KINDS = ("images", "text", "table")
# Characters that could end the JSON <script> block or start a comment in it
# (and the two line separators that are not valid in older JavaScript).
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


# ------------------------------------------------------------------ images
def png_bytes(pixels):
    """Encode 8-bit pixels as a PNG file (no filter, zlib level 9).

    Parameters
    ----------
    pixels : ndarray of shape (height, width) or (height, width, 3 or 4)
        Grey, RGB or RGBA values, dtype uint8.

    Returns
    -------
    png : bytes
        The PNG file.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = pixels.reshape(height, width * channels)
    # Each scanline starts with its filter byte (0: none).
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), rows]).tobytes()

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def to_uint8(images):
    """Return images as uint8: [0, 1] scaled by 255, other ranges stretched.

    The stretch spans all the images passed, so that their relative
    brightness is kept (e.g. ``load_digits``'s 0-16 becomes 0-255).
    """
    if images.dtype == np.uint8:
        return images
    images = np.nan_to_num(images.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(images.min(initial=0.0)), float(images.max(initial=0.0))
    if low >= 0 and high <= 1:
        scaled = images
    else:
        scaled = (images - low) / (high - low) if high > low else images * 0
    return np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8)


def shrink(image, size=THUMBNAIL_SIZE):
    """Average blocks of pixels so that the longer side is at most ``size``."""
    step = -(-max(image.shape[:2]) // size)  # ceiling division
    if step <= 1:
        return image
    height = image.shape[0] // step * step
    width = image.shape[1] // step * step
    blocks = image[:height, :width].astype(np.float64)
    blocks = blocks.reshape(height // step, step, width // step, step, -1)
    small = np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)
    return small[..., 0] if image.ndim == 2 else small


def png_data_uri(pixels):
    """Return ``data:image/png;base64,...`` for an array image."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode()


def array_thumbnails(images):
    """Return a data URI per image of an ``(n, H, W[, C])`` array (any dtype)."""
    uris = []
    for image in to_uint8(np.asarray(images)):
        image = shrink(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha: drop alpha
            image = image[..., 0]
        uris.append(png_data_uri(image))
    return uris


def file_thumbnails(paths, size=THUMBNAIL_SIZE):
    """Return a data URI per image file, at most ``size`` pixels a side."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "Thumbnails of image files need Pillow (pip install pillow); pass the "
            "images as an array to do without it."
        ) from exc
    uris = []
    for path in paths:
        try:
            with Image.open(path) as image:
                mode = "L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB"
                image = image.convert(mode)
                image.thumbnail((size, size), Image.Resampling.LANCZOS)
                pixels = np.asarray(image)
        except (OSError, ValueError) as exc:  # UnidentifiedImageError is OSError
            raise ValueError(
                f"cannot read the image file {path} for its thumbnail "
                f"({type(exc).__name__}: {exc})"
            ) from None
        uris.append(png_data_uri(pixels))
    return uris


# ----------------------------------------------------------- text, tables
def clip_text(text, limit):
    """Return ``text`` as str, cut to ``limit`` characters with an ellipsis."""
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def format_value(value):
    """Return a cell as short text; None for a missing value."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else f"{value:.6g}"
    try:
        if value != value:  # pandas.NA, NaT and friends are not equal to themselves
            return None
    except (TypeError, ValueError):  # pandas.NA refuses a truth value
        return None
    return clip_text(value, MAX_CELL_CHARS)


def table_cells(table, rows, columns):
    """Return ``[[cell, ...] per row]`` of a DataFrame or 2-D array."""
    if hasattr(table, "iloc"):
        part = table.iloc[rows][columns]
        values = [part[c].tolist() for c in columns]
    else:
        part = np.asarray(table)[np.ix_(rows, columns)]
        values = [part[:, j].tolist() for j in range(len(columns))]
    return [[format_value(column[k]) for column in values] for k in range(len(rows))]


# ------------------------------------------------------------------- JSON
def rounded(values, digits=4):
    """Return floats as a list, rounded for a small page; None if not finite."""
    values = np.round(np.asarray(values, dtype=np.float64), digits)
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def script_json(data):
    """Return ``data`` as JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text
