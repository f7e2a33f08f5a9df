"""Readers of the command line's inputs: tables, ``.npz`` files, image folders.

Each returns a ``_Data`` record; heavy modules (numpy, pandas, PIL, scikit-learn)
are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
IMAGE_SIZE = 28


@dataclass
class _Data:
    """Loaded input: features, labels (or None), and one id per row.

    ``columns`` is the plan of how a table's columns were read (a list of
    :class:`~sklearn_noisy._cli_columns.Column`), empty for other inputs.
    """

    X: object
    y: object
    ids: object
    id_name: str
    kind: str  # "table", "array" or "images"
    info: dict = field(default_factory=dict)
    columns: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # files of a folder not read

    @property
    def streamed(self):
        """True for an image folder, whose images are decoded when read."""
        return getattr(self.X, "streams", False)


# ---------------------------------------------------------------- reading
def load_data(
    path,
    *,
    target=None,
    text=(),
    id_column=None,
    features=None,
    drop=(),
    image_size=IMAGE_SIZE,
    channels=None,
    labels=True,
    plan=True,
    id_required=True,
):
    """Read DATA; ``labels=True`` requires labels, False reads them if present.

    For a table, ``plan=True`` decides how each column is read
    (:func:`~sklearn_noisy._cli_columns.plan_columns`); a saved model knows
    its columns, so ``predict`` reads with ``plan=False``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = path.suffix.lower()
    is_table = path.is_file() and suffix in TABLE_SUFFIXES
    options = {"--id": id_column, "--text": text, "--features": features}
    used = [option for option, value in {**options, "--drop": drop}.items() if value]
    if used and not is_table:
        raise ValueError(
            f"{used[0]} applies to CSV and Parquet tables; {path} is not one"
        )
    given = {"id_column": id_column, "features": features, "drop": drop}
    if path.is_dir():
        return _read_images(path, image_size, channels, labels)
    if suffix == ".npz":
        return _check_class_labels(_read_npz(path, labels), path)
    if is_table:
        data = _read_table(path, target, list(text), given, labels, plan, id_required)
        return _check_class_labels(data, path)
    raise ValueError(
        f"cannot read {path}: expected a .csv, .parquet or .npz file, or a folder "
        f"with one sub-folder of PNG/JPEG images per class"
    )


def _read_table(path, target, text, given, labels, plan, id_required):
    import numpy as np
    import pandas as pd

    from ._cli_columns import plan_columns

    is_csv = path.suffix.lower() == ".csv"
    read = pd.read_csv if is_csv else pd.read_parquet
    try:
        df = read(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        hint = _separator_hint(path) if is_csv else ""
        raise ValueError(f"cannot read {path.name} as a table: {exc}{hint}") from None
    if is_csv:
        check_unique_header(path)
    if target is None and labels:
        raise ValueError(f"name the label column of {path.name} with --target")
    if target is not None and target not in df.columns and labels:
        raise ValueError(
            f"--target column {target!r} is not in {path.name}; its columns "
            f"are: {', '.join(map(str, df.columns[:20]))}"
            + _header_hint(df.columns, target)
        )
    y = df[target] if target in df.columns else None
    if y is not None and y.isna().any():
        raise ValueError(
            f"label column {target!r} of {path.name} has {int(y.isna().sum())} "
            f"missing value(s); drop those rows"
            + (_missing_tokens_hint(path, target, y) if is_csv else "")
        )
    id_column, columns = given["id_column"], []
    if plan:
        columns, id_column = plan_columns(
            df,
            target=target if y is not None else None,
            text=text,
            id_column=id_column,
            features=given["features"],
            drop=given["drop"],
        )
    elif id_column is not None and id_column not in df.columns:
        if id_required:
            raise ValueError(f"--id column {id_column!r} is not in {path.name}")
        id_column = None
    X = df.drop(columns=[target]) if y is not None else df
    if id_column is None:
        ids, id_name = np.arange(len(df)), position_name(df.columns)
    elif is_csv:
        # The IDs as written: a CSV's "00196" is not the number 196.
        ids, id_name = csv_column_text(path, id_column), str(id_column)
    else:
        ids, id_name = df[id_column].to_numpy(), str(id_column)
    info = {"target": target, "text": text, "id": id_column}
    y = None if y is None else y.to_numpy()
    return _Data(X, y, ids, id_name, "table", info, columns)


def _header_hint(columns, target):
    """Say why a named column may look absent: spaces, or another separator."""
    names = [str(c) for c in columns]
    spaced = [n for n in names if n.strip() == target and n != target]
    if spaced:
        return f" (the column {spaced[0]!r} has spaces around its name)"
    return _other_separator(names[0]) if len(names) == 1 else ""


def _separator_hint(path):
    """Suggest the separator when a CSV's header has no comma but ; or a tab."""
    with open(path, encoding="utf-8-sig", errors="replace") as file:
        return _other_separator(file.readline())


def _other_separator(header):
    """Return a hint when ``header`` (a CSV's first line) is not comma-separated."""
    if "," not in header and any(sep in header for sep in ";\t|"):
        return (
            " (its header has no comma: is it separated by ';', tabs or '|'? "
            "Save it as comma-separated)"
        )
    return ""


def _missing_tokens_hint(path, target, y):
    """Name the texts that pandas read as missing labels (e.g. a class "NA")."""
    text = csv_column_text(path, target)[y.isna().to_numpy()]
    tokens = sorted({t for t in text.tolist() if t != ""})
    if not tokens:
        return ""
    return (
        f": the cells read as missing hold {tokens[:5]} (pandas reads NA, N/A, "
        f"null, None and nan as missing); if they are a class, rename it in "
        f"the file"
    )


def _check_class_labels(data, path):
    """Refuse labels that are fractional numbers: a classifier needs classes.

    scikit-learn said "Unknown label type: continuous" after the column
    report had counted the values as classes.
    """
    import numpy as np

    y = None if data.y is None else np.asarray(data.y)
    if y is not None and y.dtype.kind == "f" and np.any(y != np.round(y)):
        examples = [float(v) for v in np.unique(y[y != np.round(y)])[:3]]
        raise ValueError(
            f"the labels of {path.name} are fractional numbers (e.g. {examples}), "
            f"not classes: a classifier learns one label out of a few values. "
            f"Bin them first (e.g. into 'low' and 'high'), or use a regression "
            f"tool"
        )
    return data


def position_name(columns):
    """Name of the row-position ID of a table: "row", unless a column has it.

    A table's own column named "row" would otherwise be matched, by ``apply``,
    against IDs that are positions (every decision one record off).
    """
    names = {str(c) for c in columns}
    name, k = "row", 0
    while name in names:
        k += 1
        name = "row_position" if k == 1 else f"row_position_{k}"
    return name


def csv_column_text(path, column):
    """Return the cells of one CSV column as the text written in the file."""
    import pandas as pd

    cells = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)
    return cells[column].to_numpy()


def check_unique_header(path):
    """Refuse a CSV header that names a column twice.

    pandas reads the second ``label`` as ``label.1``, which then became a
    feature (a copy of the labels, fitted 100%).
    """
    import csv
    from collections import Counter

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        header = next(csv.reader(file), [])
    repeated = [name for name, n in Counter(header).items() if n > 1]
    if repeated:
        raise ValueError(
            f"the header of {path.name} names column(s) {repeated} more than "
            f"once; rename them so that every column has its own name"
        )


def _read_npz(path, labels):
    import zipfile

    import numpy as np

    # An .npz is a zip archive; anything else would reach numpy's pickle path.
    if not zipfile.is_zipfile(path):
        raise ValueError(f"cannot read {path.name}: it is not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("X", "y") if k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {path.name}: {exc}") from None
    if "X" not in arrays or (labels and "y" not in arrays):
        raise ValueError(
            f"{path.name} must hold arrays named 'X' and 'y'; it holds "
            f"{sorted(arrays) or 'neither'}"
        )
    X, y = arrays["X"], arrays.get("y")
    if X.ndim not in (2, 3, 4) or (y is not None and y.shape != (len(X),)):
        raise ValueError(
            f"{path.name}: X must have shape (n_samples, n_features) or be images "
            f"(n_samples, height, width[, channels]) and y shape (n_samples,); got "
            f"X {X.shape} and y {None if y is None else y.shape}"
        )
    kind = "array" if X.ndim == 2 else "images"
    if kind == "images":
        X = _channels_first(X)
    return _Data(X, y, np.arange(len(X)), "row", kind)


def _channels_first(X):
    """Return images as float32 ``(n, C, H, W)``, 8-bit ones scaled to [0, 1]."""
    import numpy as np

    if X.ndim == 3:
        X = X[:, None]
    elif X.shape[-1] in (1, 3) and X.shape[1] not in (1, 3):
        X = X.transpose(0, 3, 1, 2)
    scale = 255.0 if X.dtype == np.uint8 else 1.0
    return np.ascontiguousarray(X, dtype=np.float32) / scale


def _image_files(root, labels):
    """Return ``[(file, label or None)]``: labelled from class sub-folders."""
    if labels and not any(d.is_dir() for d in root.iterdir()):
        raise ValueError(
            f"{root} has no class sub-folders; put each class's images in a "
            f"sub-folder named after the class"
        )
    files = [
        (f, None if f.parent == root else f.parent.name)
        for f in sorted(root.glob("*/*" if labels else "**/*"))
        if f.is_file()
        and f.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(root).parts)
    ]
    if not files:
        raise ValueError(f"no PNG or JPEG images found in {root}")
    return files


def _read_images(root, size, channels, labels):
    """Return an image folder as a Dataset that decodes each file when read.

    Images become float32 ``(C, size, size)`` in [0, 1]
    (:func:`~sklearn_noisy._cli_images.decode_image`); grey-scale (one
    channel) when every file is stored grey-scale, which the files' headers
    tell without decoding them.
    """
    import numpy as np

    from ._cli_images import ImageFolderDataset, image_channels

    files = _image_files(root, labels)
    paths = [file for file, _ in files]
    if channels is None:
        channels = image_channels(paths)
    y = [label for _, label in files]
    y = np.asarray(y) if all(label is not None for label in y) else None
    ids = np.asarray([f.relative_to(root).as_posix() for f, _ in files])
    info = {"image_size": size, "channels": channels}
    X = ImageFolderDataset(paths, None if y is None else y.tolist(), size, channels)
    skipped = _skipped_files(root, set(paths))
    return _Data(X, y, ids, "path", "images", info, skipped=skipped)


def _skipped_files(root, used):
    """Files under ``root`` that are not read (hidden ones aside), sorted."""
    return sorted(
        f.relative_to(root).as_posix()
        for f in root.rglob("*")
        if f.is_file()
        and f not in used
        and not any(part.startswith(".") for part in f.relative_to(root).parts)
    )


def make_preprocessor(data):
    """Return the transformer that turns ``data.X`` into numbers, or None.

    Tables: as the column plan says
    (:func:`~sklearn_noisy._cli_columns.make_table_preprocessor`). Arrays:
    standardised. Images: none.
    """
    from sklearn.preprocessing import StandardScaler

    from ._cli_columns import make_table_preprocessor

    if data.kind == "images":
        return None
    if data.kind == "array":
        return StandardScaler()
    return make_table_preprocessor(data.columns)
