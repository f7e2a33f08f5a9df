"""Review the suspects of a MislabelDetector, decide, and apply the decisions.

:func:`review_page` builds one self-contained HTML file (no server, no
network: thumbnails, scripts and styles are inline) that lists the samples a
fitted :class:`~sklearn_noisy.MislabelDetector` flagged, most suspicious
first, each with the sample itself (thumbnail, text or feature values), its
given and predicted labels, its score and its training-dynamics sparkline.
A person keeps, relabels or drops each one with the keyboard and exports the
decisions as a CSV file, which :func:`apply_decisions` applies to ``(X, y)``
(and ``sklearn-noisy apply`` to a data file). In a notebook the page shows
inline, and a fitted detector shows a short summary.

The decisions file has one row per decided sample and four columns: the
sample's ID (its name is the page's ``id_name``, e.g. ``row`` or ``path``),
``given_label``, ``decision`` (``keep``, ``relabel`` or ``drop``) and
``new_label`` (the class for ``relabel``, empty otherwise). Samples without a
row are left as they are.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import html
import io
import re
from importlib import resources
from pathlib import Path

import numpy as np

from . import _review_data as _data

__all__ = ["ReviewPage", "apply_decisions", "review_page"]

DECISIONS = ("keep", "relabel", "drop")
_COLUMNS = ("given_label", "decision", "new_label")
_PLACEHOLDER = re.compile(r"/\*@(TITLE|CSS|DATA|JS)@\*/")
_EXPORT_NAME = re.compile(r"[\w.-]{1,100}\.csv", re.ASCII)
# How many of the most suspicious samples a fitted detector's summary lists.
_SUMMARY_TOP = 5


class ReviewPage:
    """A self-contained HTML page for reviewing suspected mislabeled samples.

    Built by :func:`review_page`. Save it with :meth:`save` and open the file
    in any browser, or display it inline in Jupyter (it shows in an
    ``<iframe>``; its keyboard shortcuts work once the frame has the focus).

    Parameters
    ----------
    html : str
        The whole page, one HTML document.
    n_rows : int
        How many samples it lists.
    height : int, default=640
        Height in pixels of the inline frame in a notebook.

    Attributes
    ----------
    html : str
        The page.
    n_rows : int
        How many samples it lists.
    height : int
        Height in pixels of the inline frame in a notebook.
    """

    def __init__(self, html, n_rows, *, height=640):
        self.html = html
        self.n_rows = n_rows
        self.height = height

    def save(self, path):
        """Write the page to ``path`` (UTF-8) and return the path.

        Parameters
        ----------
        path : str or path-like
            Where to write the page, e.g. ``"review.html"``.

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self):
        # srcdoc keeps the page self-contained in the notebook; escaping the
        # whole document for the attribute keeps its markup out of the host.
        srcdoc = html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{srcdoc}" title="sklearn-noisy review page" '
            f'style="width:100%;height:{int(self.height)}px;border:1px solid #ccc">'
            f"</iframe>"
        )

    def __repr__(self):
        return f"<ReviewPage of {self.n_rows} samples, {len(self.html):,} characters>"


def review_page(
    detector,
    X,
    y,
    *,
    ids=None,
    id_name="row",
    kind="auto",
    text=None,
    n=None,
    title=None,
    export_name="decisions.csv",
):
    """Build the review page of a fitted detector's suspects.

    Parameters
    ----------
    detector : MislabelDetector
        A fitted detector. Fit it with ``record_trajectory=True`` to get the
        training-dynamics sparklines (its per-epoch signed entropy).
    X : array-like of shape (n_samples, ...), DataFrame or sequence
        The training samples as a person should see them, in training order
        (not necessarily what the detector was fitted on, e.g. the raw texts
        of a TF-IDF fit): images as an array ``(n, height, width)``,
        ``(n, height, width, channels)`` or ``(n, channels, height, width)``
        (or ``(n, n_pixels)`` square grey images with ``kind="images"``) or a
        sequence of image file paths with ``kind="images"``; texts as a
        sequence of str; a table as a DataFrame or a 2-D array.
    y : array-like of shape (n_samples,)
        The given labels the detector was fitted on.
    ids : array-like of shape (n_samples,) or None, default=None
        A unique ID per sample, written to the decisions file; None uses the
        positions ``0 .. n_samples - 1``.
    id_name : str, default="row"
        Name of the ID column of the decisions file.
    kind : {"auto", "images", "text", "table"}, default="auto"
        How to show a sample. "auto": a DataFrame or 2-D array is a table, a
        3-D or 4-D array is images, a 1-D sequence is text.
    text : str or None, default=None
        With a DataFrame, the column holding free text, shown as the sample's
        text above the other columns.
    n : int or None, default=None
        List the ``n`` lowest-scored samples, flagged or not; None lists the
        flagged ones (``detector.label_issues_``).
    title : str or None, default=None
        The page's title; None names the detector and its method.
    export_name : str, default="decisions.csv"
        File name the page's export button downloads.

    Returns
    -------
    page : ReviewPage
        The page: ``page.save("review.html")``, or display it in Jupyter.

    See Also
    --------
    apply_decisions : Apply the decisions exported from the page.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_noisy import MislabelDetector
    >>> from sklearn_noisy.review import review_page
    >>> X, y = load_digits(return_X_y=True)
    >>> detector = MislabelDetector(max_epochs=3, record_trajectory=True,
    ...                             random_state=0).fit(X / 16, y)
    >>> page = review_page(detector, X.reshape(-1, 8, 8), y, n=20)
    >>> page.n_rows
    20
    """
    caller = "review_page"
    _check_detector(detector, caller)
    n_samples = len(detector.train_scores_)
    given = _given_indices(detector, y, caller)
    rows = _listed_rows(detector, n, caller)
    ids = _check_ids(ids, n_samples, caller)
    if not isinstance(export_name, str) or not _EXPORT_NAME.fullmatch(export_name):
        raise ValueError(
            f"The 'export_name' parameter of {caller} must be a plain file name "
            f"ending in .csv (letters, digits, '.', '_', '-'); got {export_name!r}."
        )
    samples = _samples(X, rows, n_samples, kind, text, caller)
    data = {
        "title": str(title) if title is not None else _default_title(detector, rows),
        "idName": str(id_name),
        "exportName": export_name,
        "classes": [str(c) for c in detector.classes_],
        "method": str(detector.method),
        "offset": _data.rounded([detector.offset_], 6)[0],
        "nSamples": n_samples,
        "nFlagged": len(detector.label_issues_),
        "trajectoryScale": float(np.log(max(len(detector.classes_), 2))),
        "rows": {**_row_columns(detector, rows, given, ids), **samples},
    }
    document = _render(data)
    return ReviewPage(document, len(rows))


# --------------------------------------------------------------- checking
def _check_detector(detector, caller):
    if not hasattr(detector, "train_scores_"):
        raise ValueError(
            f"{caller} needs a fitted MislabelDetector (with train_scores_); got "
            f"{type(detector).__name__} without it. Call detector.fit(X, y) first."
        )


def _given_indices(detector, y, caller):
    """Return the class index of every given label, checking ``y``."""
    y = np.asarray(y)
    n_samples = len(detector.train_scores_)
    if y.shape != (n_samples,):
        raise ValueError(
            f"The 'y' parameter of {caller} must hold the {n_samples} labels the "
            f"detector was fitted on; got an array of shape {y.shape}."
        )
    lookup = {c: k for k, c in enumerate(detector.classes_.tolist())}
    given = [lookup.get(v, -1) for v in y.tolist()]
    unknown = sorted({str(v) for v, k in zip(y.tolist(), given, strict=True) if k < 0})
    if unknown:
        raise ValueError(
            f"The 'y' parameter of {caller} has labels the detector was not fitted "
            f"on: {unknown[:5]}; pass the labels of the training data."
        )
    return np.asarray(given)


def _listed_rows(detector, n, caller):
    if n is None:
        return np.asarray(detector.label_issues_, dtype=np.intp)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(
            f"The 'n' parameter of {caller} must be an int >= 1 or None; got {n!r}."
        )
    return np.argsort(detector.train_scores_, kind="stable")[:n]


def _check_ids(ids, n_samples, caller):
    """Return the IDs as str, checking that there is one per sample, unique."""
    if ids is None:
        return [str(k) for k in range(n_samples)]
    ids = [str(i) for i in np.asarray(ids, dtype=object).ravel().tolist()]
    if len(ids) != n_samples:
        raise ValueError(
            f"The 'ids' parameter of {caller} must hold one ID per sample "
            f"({n_samples}); got {len(ids)}."
        )
    if len(set(ids)) != n_samples:
        seen, repeated = set(), None
        for i in ids:
            if i in seen:
                repeated = i
                break
            seen.add(i)
        raise ValueError(
            f"The 'ids' parameter of {caller} must be unique: decisions are "
            f"matched to samples by ID; {repeated!r} occurs more than once."
        )
    return ids


def _n_items(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _samples(X, rows, n_samples, kind, text, caller):
    """Return the per-row sample columns of the page: image, text, features."""
    if hasattr(X, "tocsr"):
        raise TypeError(
            f"The 'X' parameter of {caller} is a sparse matrix; pass the samples "
            f"as a person should see them: the raw texts, the images or a dense "
            f"table."
        )
    if kind not in ("auto", *_data.KINDS):
        raise ValueError(
            f"The 'kind' parameter of {caller} must be one of "
            f"{['auto', *_data.KINDS]}; got {kind!r}."
        )
    if _n_items(X) != n_samples:
        raise ValueError(
            f"The 'X' parameter of {caller} must hold the {n_samples} training "
            f"samples in training order; got {_n_items(X)}."
        )
    is_frame = hasattr(X, "iloc") and hasattr(X, "columns")
    if text is not None and not (is_frame and text in X.columns):
        raise ValueError(
            f"The 'text' parameter of {caller} must name a column of the "
            f"DataFrame X; got {text!r}."
        )
    if kind == "auto":
        kind = "table" if is_frame else _array_kind(X, caller)
    if kind == "table":
        return _table_samples(X, rows, text, is_frame, caller)
    if is_frame:
        raise ValueError(
            f"{caller} shows a DataFrame as a table (kind='table'); got "
            f"kind={kind!r}. Name its text column with the 'text' parameter."
        )
    items = X.iloc if hasattr(X, "iloc") else X
    if kind == "text":
        texts = [items[int(r)] for r in rows]
        return {"text": [_data.clip_text(t, _data.MAX_TEXT_CHARS) for t in texts]}
    return {"image": _image_samples(X, items, rows, caller)}


def _array_kind(X, caller):
    items = X.iloc if hasattr(X, "iloc") else X
    ndim = np.ndim(items[0]) + 1 if _n_items(X) else 1
    if ndim in (3, 4):
        return "images"
    if ndim == 2:
        return "table"
    if ndim == 1:
        return "text"
    raise ValueError(
        f"The 'X' parameter of {caller} must be images, texts or a table; got "
        f"samples with {ndim - 1} dimensions. Say which with the 'kind' parameter."
    )


def _image_samples(X, items, rows, caller):
    from .plotting import _as_image_grid

    first = items[int(rows[0])] if len(rows) else None
    if isinstance(first, (str, Path)):
        return _data.file_thumbnails([items[int(r)] for r in rows])
    images = _as_image_grid(np.asarray(X)[rows], caller)
    return _data.array_thumbnails(images)


def _table_samples(X, rows, text, is_frame, caller):
    if is_frame:
        names = [c for c in X.columns if c != text]
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"The 'X' parameter of {caller} must be 2-D to be shown as a "
                f"table; got shape {X.shape}."
            )
        names = list(range(X.shape[1]))
    shown = names[: _data.MAX_FEATURES]
    columns = {
        "features": _data.table_cells(X, rows, shown),
        "featureNames": [str(c) if is_frame else f"x{c}" for c in shown],
        "nFeatures": len(names),
    }
    if text is not None:
        texts = X[text].iloc[rows].tolist()
        columns["text"] = [_data.clip_text(t, _data.MAX_TEXT_CHARS) for t in texts]
    return columns


# ---------------------------------------------------------------- content
def _row_columns(detector, rows, given, ids):
    """Return labels, scores and dynamics of the listed rows, column-wise."""
    proba = np.asarray(detector.train_proba_)[rows]
    predicted = proba.argmax(axis=1)
    given = given[rows]
    top = np.argsort(-proba, axis=1, kind="stable")[:, :3]
    top_proba = np.take_along_axis(proba, top, axis=1)
    scores = np.asarray(detector.train_scores_)
    columns = {
        "index": rows.tolist(),
        "id": [ids[r] for r in rows],
        "given": given.tolist(),
        "predicted": predicted.tolist(),
        "pPredicted": _data.rounded(proba[np.arange(len(rows)), predicted], 3),
        "pGiven": _data.rounded(proba[np.arange(len(rows)), given], 3),
        "top": top.tolist(),
        "topProba": _data.rounded(top_proba, 3),
        "score": _data.rounded(scores[rows]),
        "flagged": (scores[rows] < detector.offset_).tolist(),
        "scores": {
            str(name): _data.rounded(np.asarray(values)[rows])
            for name, values in detector.method_scores_.items()
        },
    }
    trajectory = getattr(detector, "trajectory_", None)
    if trajectory is not None:
        columns["trajectory"] = _data.rounded(np.asarray(trajectory)[rows], 3)
    return columns


def _default_title(detector, rows):
    return (
        f"{len(rows)} suspects of {type(detector).__name__}(method={detector.method!r})"
    )


@functools.lru_cache(maxsize=1)
def _assets():
    folder = resources.files(__package__)
    return {
        name: (folder / f"_review_page.{name}").read_text(encoding="utf-8")
        for name in ("html", "css", "js")
    }


def _render(data):
    """Fill the page template; one pass, so no value is scanned twice."""
    assets = _assets()
    payload = _data.script_json(data)
    # The key under which the browser keeps the decisions made so far.
    key = hashlib.sha256(payload.encode()).hexdigest()[:16]
    values = {
        "TITLE": html.escape(str(data["title"])),
        "CSS": assets["css"],
        "DATA": f'{{"key":"{key}",{payload[1:]}',
        "JS": assets["js"],
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], assets["html"])


# ------------------------------------------------------ notebook summary
def _detector_html_repr(detector, diagram):
    """Return a fitted detector's summary above scikit-learn's diagram.

    Unfitted, the diagram alone (scikit-learn's own behaviour).
    """
    if not hasattr(detector, "train_scores_"):
        return diagram
    scores = np.asarray(detector.train_scores_)
    n, flagged = len(scores), np.asarray(detector.label_issues_)
    top = np.argsort(scores, kind="stable")[:_SUMMARY_TOP]
    proba = np.asarray(detector.train_proba_)
    esc = html.escape
    cells = "".join(
        f"<tr><td>{k + 1}</td><td>{int(i)}</td><td>{scores[i]:.4g}</td>"
        f"<td>{esc(str(detector.classes_[proba[i].argmax()]))}</td>"
        f"<td>{proba[i].max():.2f}</td></tr>"
        for k, i in enumerate(top)
    )
    style = "border-collapse:collapse;font-size:90%;margin:4px 0"
    return (
        '<div class="sklearn-noisy-summary" style="margin-bottom:8px">'
        f"<p><b>{esc(type(detector).__name__)}</b>: flagged <b>{len(flagged):,}</b>"
        f" of {n:,} training samples ({len(flagged) / max(n, 1):.1%}); "
        f"method={esc(repr(detector.method))}, "
        f"contamination={esc(repr(detector.contamination))}; "
        f"cut: score &lt; {detector.offset_:.4g} (the lower, the more likely "
        f"mislabeled).</p>"
        f'<table style="{style}"><thead><tr><th>rank</th><th>sample</th>'
        f"<th>score</th><th>predicted</th><th>probability</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
        "<p>Review them: <code>sklearn_noisy.review.review_page(detector, X, y)"
        "</code></p></div>"
        f"{diagram}"
    )


# -------------------------------------------------------------- decisions
def apply_decisions(X, y, decisions, *, ids=None):
    r"""Apply the decisions exported from a review page to ``(X, y)``.

    Rows decided ``drop`` are removed, rows decided ``relabel`` get their
    ``new_label``; rows decided ``keep`` and rows without a decision are kept
    as they are. Nothing passed in is modified.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, ...)
        The samples, in the order the IDs refer to.
    y : array-like or Series of shape (n_samples,)
        Their given labels.
    decisions : str, path-like or file-like
        The decisions CSV file, with the header
        ``<ID column>,given_label,decision,new_label``.
    ids : array-like of shape (n_samples,) or None, default=None
        The ID of each sample as the decisions file writes it (compared as
        text); None uses the positions ``0 .. n_samples - 1``.

    Returns
    -------
    X_clean : {ndarray, sparse matrix, DataFrame}
        The rows of ``X`` not dropped, in their original order and type.
    y_clean : ndarray or Series
        Their labels, relabelled where decided.

    Raises
    ------
    ValueError
        When the file is not a decisions file, or a row names an unknown or
        repeated ID, a given label that differs from ``y`` (decisions made on
        other data), an unknown decision, or a ``new_label`` that is not a
        class of ``y``. The message names the file and the line.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sklearn_noisy.review import apply_decisions
    >>> X, y = np.arange(8).reshape(4, 2), np.array(["a", "b", "a", "b"])
    >>> decisions = io.StringIO(
    ...     "row,given_label,decision,new_label\n1,b,relabel,a\n2,a,drop,\n")
    >>> X_clean, y_clean = apply_decisions(X, y, decisions)
    >>> X_clean.tolist(), y_clean.tolist()
    ([[0, 1], [2, 3], [6, 7]], ['a', 'a', 'b'])
    """
    from ._mislabel_detector import _take_rows

    name, id_name, records = _read_decisions(decisions)
    labels = np.asarray(y)
    n_samples = _n_items(X)
    if labels.shape != (n_samples,):
        raise ValueError(
            f"apply_decisions needs one label per row of X ({n_samples}); got y "
            f"of shape {labels.shape}."
        )
    ids = _check_ids(ids, n_samples, "apply_decisions")
    position = {i: k for k, i in enumerate(ids)}
    classes = _classes_by_text(labels)
    keep = np.ones(n_samples, dtype=bool)
    new_labels = labels.copy()
    decided = set()
    for line, sample_id, given, decision, new_label in records:
        where = f"{name} line {line}"
        k = position.get(sample_id)
        if k is None:
            raise ValueError(
                f"{where}: {id_name} {sample_id!r} is not a sample of the data "
                f"(its IDs run like {ids[:3]}); were the decisions made on it?"
            )
        if k in decided:
            raise ValueError(f"{where}: {id_name} {sample_id!r} is decided twice.")
        decided.add(k)
        if given != str(labels[k]):
            raise ValueError(
                f"{where}: {id_name} {sample_id!r} has the label {str(labels[k])!r} "
                f"in the data but {given!r} in the decisions file; were the "
                f"decisions made on this data?"
            )
        _check_decision(where, decision, new_label, classes)
        if decision == "drop":
            keep[k] = False
        elif decision == "relabel":
            new_labels[k] = classes[new_label]
    kept = np.flatnonzero(keep)
    if hasattr(y, "iloc"):
        y_clean = y.copy()
        y_clean.iloc[:] = new_labels
        return _take_rows(X, kept), y_clean.iloc[kept]
    return _take_rows(X, kept), new_labels[kept]


def _classes_by_text(labels):
    """Map each class's text to the class, refusing two classes with one text."""
    classes = {}
    for value in dict.fromkeys(labels.tolist()):
        text = str(value)
        if text in classes and classes[text] != value:
            raise ValueError(
                f"y holds two different labels written {text!r} (e.g. 1 and '1'); "
                f"a decisions file cannot tell them apart."
            )
        classes[text] = value
    return classes


def _check_decision(where, decision, new_label, classes):
    if decision not in DECISIONS:
        raise ValueError(
            f"{where}: decision {decision!r} is not one of {list(DECISIONS)}."
        )
    if decision != "relabel":
        if new_label:
            raise ValueError(
                f"{where}: decision {decision!r} takes no new_label; got "
                f"{new_label!r} (use 'relabel')."
            )
        return
    if new_label not in classes:
        known = list(classes)[:20]
        raise ValueError(
            f"{where}: new_label {new_label!r} is not a class of the data; "
            f"relabel to one of {known}."
        )


def _read_decisions(source):
    """Return ``(name, id column, [(line, id, given, decision, new), ...])``."""
    name = str(getattr(source, "name", source))
    try:
        if hasattr(source, "read"):
            text = source.read()
            text = text.decode("utf-8") if isinstance(text, bytes) else text
        else:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"decisions file {path} does not exist")
            name, text = path.name, path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"decisions file {name} is not UTF-8 text (byte {exc.start}: "
            f"{exc.reason}); export it again from the review page, or save it "
            f"as UTF-8 CSV"
        ) from None
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if (
        not header
        or len(header) != 4
        or not header[0].strip()
        or tuple(header[1:]) != _COLUMNS
    ):
        raise ValueError(
            f"{name} is not a decisions file: its header must be '<ID column>,"
            f"given_label,decision,new_label', as the review page exports it; "
            f"got {','.join(header or [])!r}."
        )
    records = []
    for fields in reader:
        if not any(fields):
            continue  # a blank line
        if len(fields) != 4:
            raise ValueError(
                f"{name} line {reader.line_num}: expected 4 fields, got "
                f"{len(fields)}: {fields!r}."
            )
        records.append((reader.line_num, *fields))
    return name, header[0], records
