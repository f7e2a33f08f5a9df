"""Tests for sklearn_noisy.review: the page's data, escaping, decisions (issue 10).

The page's behaviour in a browser is tested in test_review_browser.py; here,
what Python writes into it and how decisions files are read and applied.
"""

import html
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sklearn_noisy import MislabelDetector
from sklearn_noisy._review_data import png_bytes, script_json, to_uint8
from sklearn_noisy.review import ReviewPage, apply_decisions, review_page

Image = pytest.importorskip("PIL.Image")

HOSTILE = np.array(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(2)>',
        'l\'étiquette "x", 猫 \u2028 </SCRIPT',
    ],
    dtype=object,
)


@pytest.fixture(scope="module")
def fitted(digits):
    """Return (detector, images, y) fitted on 300 digits, dynamics recorded."""
    X, y = digits
    X, y = X[:300], y[:300].copy()
    y[:30] = (y[:30] + 1) % 10
    detector = MislabelDetector(max_epochs=3, record_trajectory=True, random_state=0)
    return detector.fit(X, y), X.reshape(-1, 8, 8), y


@pytest.fixture(scope="module")
def hostile_fitted():
    """Return (detector, table, y) with hostile labels and texts."""
    rng = np.random.RandomState(0)
    code = np.arange(90) % 3
    table = pd.DataFrame(
        {
            "x": code + rng.normal(scale=0.8, size=90),
            "note": [f"{HOSTILE[k]} text {i}" for i, k in enumerate(code)],
        }
    )
    y = HOSTILE[code]
    detector = MislabelDetector(max_epochs=2, record_trajectory=True, random_state=0)
    return detector.fit(table[["x"]].to_numpy(), y), table, y


def _page_data(page):
    """Return the JSON the page embeds, decoded."""
    block = re.search(
        r'<script id="review-data" type="application/json">(.*?)</script>',
        page.html,
        flags=re.S,
    )
    return json.loads(block.group(1))


# ------------------------------------------------------------------ images
@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3), (3, 2, 4)])
def test_png_bytes_decodes_to_the_same_pixels(shape):
    """Check that the zlib PNG writer round-trips grey, RGB and RGBA pixels."""
    pixels = np.random.RandomState(0).randint(0, 256, size=shape).astype(np.uint8)
    with Image.open(io.BytesIO(png_bytes(pixels))) as image:
        np.testing.assert_array_equal(np.asarray(image), pixels)


def test_to_uint8_scales_unit_range_and_stretches_others():
    """Check that [0, 1] images keep their scale and other ranges are stretched."""
    unit = np.array([[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(to_uint8(unit), [[0, 128, 255]])
    digits = np.array([[0.0, 8.0, 16.0]])
    np.testing.assert_array_equal(to_uint8(digits), [[0, 128, 255]])


# -------------------------------------------------------------------- page
def test_review_page_lists_flagged_rows_most_suspicious_first(fitted):
    """Check the rows, labels, scores and dynamics the page embeds."""
    detector, images, y = fitted
    data = _page_data(review_page(detector, images, y))
    rows = data["rows"]
    assert rows["index"] == detector.label_issues_.tolist()
    assert np.all(np.diff(rows["score"]) >= -1e-4)
    assert [data["classes"][g] for g in rows["given"]] == [
        str(v) for v in y[detector.label_issues_]
    ]
    predicted = detector.train_proba_[detector.label_issues_].argmax(1)
    assert rows["predicted"] == predicted.tolist()
    assert set(rows["scores"]) == set(detector.method_scores_)
    assert np.shape(rows["trajectory"]) == (len(rows["index"]), 3)
    assert all(uri.startswith("data:image/png;base64,") for uri in rows["image"])
    assert data["offset"] == pytest.approx(detector.offset_, abs=1e-6)


def test_review_page_n_lists_the_lowest_scores(fitted):
    """Check that n lists that many rows by score, flagged or not."""
    detector, images, y = fitted
    page = review_page(detector, images, y, n=len(y))
    rows = _page_data(page)["rows"]
    assert page.n_rows == len(y)
    assert rows["index"] == np.argsort(detector.train_scores_, kind="stable").tolist()
    assert sum(rows["flagged"]) == len(detector.label_issues_)


@pytest.mark.parametrize(
    "layout", ["channels_first", "channels_last", "flat", "file_paths"]
)
def test_review_page_shows_images_of_every_layout(fitted, layout, tmp_path):
    """Check thumbnails from (n, C, H, W), (n, H, W, C), flat rows and files."""
    detector, images, y = fitted
    kind = "auto"
    if layout == "channels_first":
        X = np.repeat(images[:, None], 3, axis=1)
    elif layout == "channels_last":
        X = np.repeat(images[..., None], 3, axis=-1)
    elif layout == "flat":
        X, kind = images.reshape(len(images), -1), "images"
    else:
        X, kind = [], "images"
        for k, image in enumerate(to_uint8(images)):
            Image.fromarray(image).save(tmp_path / f"{k}.png")
            X.append(str(tmp_path / f"{k}.png"))
    rows = _page_data(review_page(detector, X, y, kind=kind, n=4))["rows"]
    for uri in rows["image"]:
        png = io.BytesIO(__import__("base64").b64decode(uri.split(",", 1)[1]))
        with Image.open(png) as image:
            assert image.size == (8, 8)


def test_review_page_shows_texts_and_tables(hostile_fitted):
    """Check texts, feature values and a DataFrame's text column."""
    detector, table, y = hostile_fitted
    texts = _page_data(review_page(detector, table["note"].tolist(), y, n=5))
    assert texts["rows"]["text"][0] == table["note"][texts["rows"]["index"][0]]
    frame = _page_data(review_page(detector, table, y, text="note", n=5))["rows"]
    assert frame["featureNames"] == ["x"]
    assert frame["text"] == table["note"].iloc[frame["index"]].tolist()
    first = frame["index"][0]
    assert frame["features"][0] == [f"{table['x'][first]:.6g}"]
    array = _page_data(review_page(detector, table[["x"]].to_numpy(), y, n=5))
    assert array["rows"]["featureNames"] == ["x0"]


def test_review_page_escapes_hostile_strings(hostile_fitted):
    """Check that labels, texts, IDs and the title cannot leave their JSON block."""
    detector, table, y = hostile_fitted
    ids = [f"{HOSTILE[k % 3]}#{k}" for k in range(len(y))]
    page = review_page(detector, table, y, text="note", ids=ids, title=HOSTILE[0], n=10)
    assert page.html.count("<script") == 2  # the data block and the page's code
    assert page.html.lower().count("</script") == 2
    assert "<img src=x" not in page.html
    assert "\u2028" not in page.html
    assert f"<title>{html.escape(HOSTILE[0])}</title>" in page.html
    data = _page_data(page)
    assert data["title"] == HOSTILE[0]
    assert sorted(data["classes"]) == sorted(HOSTILE)
    assert data["rows"]["id"] == [ids[i] for i in data["rows"]["index"]]


def test_script_json_escapes_markup_characters():
    """Check that the JSON block holds no <, >, & or line separators raw."""
    text = script_json({"a": "</script><!-- & \u2029"})
    assert not set("<>&\u2029") & set(text)
    assert json.loads(text) == {"a": "</script><!-- & \u2029"}


def test_review_page_without_trajectory(digits):
    """Check that a detector fitted without dynamics still gets a page."""
    X, y = digits
    detector = MislabelDetector(max_epochs=2, random_state=0).fit(X[:200], y[:200])
    rows = _page_data(review_page(detector, X[:200], y[:200], n=3))["rows"]
    assert "trajectory" not in rows
    assert len(rows["features"]) == 3


def test_review_page_does_not_modify_inputs(hostile_fitted):
    """Check that the detector, X and y are left as they were."""
    detector, table, y = hostile_fitted
    before = (table.copy(), y.copy(), detector.train_scores_.copy())
    review_page(detector, table, y, text="note")
    pd.testing.assert_frame_equal(table, before[0])
    np.testing.assert_array_equal(y, before[1])
    np.testing.assert_array_equal(detector.train_scores_, before[2])


def _bad_page_calls(fitted):
    detector, images, y = fitted
    return {
        "unfitted": ((MislabelDetector(), images, y), {}, "fitted MislabelDetector"),
        "y length": ((detector, images, y[:-1]), {}, "'y' parameter"),
        "y labels": ((detector, images, y + 100), {}, "not fitted on"),
        "X length": ((detector, images[:-1], y), {}, "'X' parameter"),
        "n": ((detector, images, y), {"n": 0}, "'n' parameter"),
        "ids": ((detector, images, y), {"ids": [1] * len(y)}, "must be unique"),
        "ids length": ((detector, images, y), {"ids": [1, 2]}, "one ID per sample"),
        "kind": ((detector, images, y), {"kind": "audio"}, "'kind' parameter"),
        "sparse": ((detector, sp.csr_matrix(images[:, 0]), y), {}, "sparse"),
        "text": ((detector, images, y), {"text": "note"}, "'text' parameter"),
        "export": ((detector, images, y), {"export_name": "../x.csv"}, "export_name"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unfitted",
        "y length",
        "y labels",
        "X length",
        "n",
        "ids",
        "ids length",
        "kind",
        "sparse",
        "text",
        "export",
    ],
)
def test_review_page_bad_input_raises(fitted, case):
    """Check that bad input raises an error naming the parameter."""
    args, kwargs, message = _bad_page_calls(fitted)[case]
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        review_page(*args, **kwargs)


def test_review_page_repr_html_is_an_escaped_iframe(hostile_fitted):
    """Check the notebook view: the whole page in an attribute-escaped srcdoc."""
    detector, table, y = hostile_fitted
    page = review_page(detector, table, y, n=3)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=")
    assert frame.count("<") == 2 and frame.count('"') == 6  # its own markup only
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    assert html.unescape(srcdoc) == page.html
    assert "3 samples" in repr(page)


def test_review_page_save_writes_utf8(hostile_fitted, tmp_path):
    """Check that save writes the page as UTF-8 and returns the path."""
    detector, table, y = hostile_fitted
    page = review_page(detector, table, y, n=3)
    path = page.save(tmp_path / "page.html")
    assert path.read_text(encoding="utf-8") == page.html
    assert isinstance(ReviewPage("<p>", 0).save(tmp_path / "x.html").name, str)


# ---------------------------------------------------------- detector repr
def test_detector_repr_html_is_the_diagram_until_fitted(fitted):
    """Check the notebook summary: unfitted the diagram, fitted summary + it."""
    unfitted = MislabelDetector()
    assert "sklearn-noisy-summary" not in unfitted._repr_html_()
    assert "sklearn-noisy-summary" not in unfitted._repr_mimebundle_()["text/html"]
    detector = fitted[0]
    for text in (detector._repr_html_(), detector._repr_mimebundle_()["text/html"]):
        assert text.startswith('<div class="sklearn-noisy-summary"')
        assert f"flagged <b>{len(detector.label_issues_)}</b> of 300" in text
        assert "sk-top-container" in text or "sk-estimator" in text  # the diagram
        top = np.argsort(detector.train_scores_, kind="stable")[0]
        assert f"<td>1</td><td>{top}</td>" in text


# --------------------------------------------------------------- decisions
def _decisions(*lines, header="row,given_label,decision,new_label"):
    return io.StringIO("\n".join([header, *lines]) + "\n")


def test_apply_decisions_drops_and_relabels():
    """Check drop, relabel, keep and undecided rows on arrays."""
    X, y = np.arange(12).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
    decisions = _decisions("4,1,drop,", "1,1,relabel,2", "0,0,keep,", "")
    X_clean, y_clean = apply_decisions(X, y, decisions)
    np.testing.assert_array_equal(X_clean, X[[0, 1, 2, 3, 5]])
    np.testing.assert_array_equal(y_clean, [0, 2, 2, 0, 2])
    assert y_clean.dtype == y.dtype
    np.testing.assert_array_equal(y, [0, 1, 2, 0, 1, 2])  # not modified


def test_apply_decisions_dataframe_series_and_ids(tmp_path):
    """Check DataFrame/Series types, IDs and a file path with hostile labels."""
    X = pd.DataFrame({"a": range(4)}, index=[10, 11, 12, 13])
    y = pd.Series(HOSTILE[[0, 1, 2, 0]], index=X.index)
    path = tmp_path / "decisions.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = __import__("csv").writer(f)
        writer.writerow(["key", "given_label", "decision", "new_label"])
        writer.writerow(["b", HOSTILE[1], "relabel", HOSTILE[2]])
        writer.writerow(["c", HOSTILE[2], "drop", ""])
    X_clean, y_clean = apply_decisions(X, y, path, ids=["a", "b", "c", "d"])
    assert list(X_clean.index) == [10, 11, 13]
    assert list(y_clean) == [HOSTILE[0], HOSTILE[2], HOSTILE[0]]
    assert list(y_clean.index) == [10, 11, 13]
    assert list(y) == list(HOSTILE[[0, 1, 2, 0]])


def test_apply_decisions_keeps_sparse_rows():
    """Check that a sparse X stays sparse."""
    X = sp.csr_matrix(np.eye(4))
    X_clean, _ = apply_decisions(
        X, np.array(["a", "b", "a", "b"]), _decisions("2,a,drop,")
    )
    assert sp.issparse(X_clean) and X_clean.shape == (3, 4)


_BAD_DECISIONS = {
    "header": (("0,0,keep,",), {"header": "row,label,decision"}, "not a decisions"),
    "fields": (("0,0,keep",), {}, "line 2: expected 4 fields"),
    "unknown id": (("9,0,keep,",), {}, "line 2: row '9' is not a sample"),
    "twice": (("0,0,keep,", "0,0,drop,"), {}, "line 3: row '0' is decided twice"),
    "given": (("1,0,keep,",), {}, "has the label '1' in the data but '0'"),
    "decision": (("0,0,delete,",), {}, "decision 'delete' is not one of"),
    "no label": (("0,0,relabel,",), {}, "new_label '' is not a class"),
    "new class": (("0,0,relabel,7",), {}, "new_label '7' is not a class"),
    "keep label": (("0,0,keep,1",), {}, "takes no new_label"),
}


@pytest.mark.parametrize("case", list(_BAD_DECISIONS))
def test_apply_decisions_bad_file_names_the_line(case):
    """Check that a bad decisions file raises a ValueError saying where."""
    lines, kwargs, message = _BAD_DECISIONS[case]
    X, y = np.zeros((3, 1)), np.array([0, 1, 2])
    with pytest.raises(ValueError, match=re.escape(message)):
        apply_decisions(X, y, _decisions(*lines, **kwargs))


def test_apply_decisions_refuses_ambiguous_labels_and_missing_file(tmp_path):
    """Check labels that print alike and a missing file."""
    with pytest.raises(ValueError, match="two different labels written '1'"):
        apply_decisions(
            [[0], [1]], np.array([1, "1"], dtype=object), _decisions("0,1,keep,")
        )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        apply_decisions([[0]], [0], tmp_path / "nope.csv")
