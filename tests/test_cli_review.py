"""Tests for the ``review`` and ``apply`` sub-commands (issue 10)."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_cli import FAST, _help_imports, _rows, _write_images

from sklearn_noisy.cli import main

pytest.importorskip("PIL.Image")


def _page_rows(path):
    text = path.read_text(encoding="utf-8")
    block = re.search(r'type="application/json">(.*?)</script>', text, flags=re.S)
    return json.loads(block.group(1))["rows"]


def _write_decisions(path, id_name, rows):
    lines = [f"{id_name},given_label,decision,new_label", *rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_help_lists_review_and_apply(capsys):
    """Check that --help names both sub-commands."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "review" in out and "apply" in out


@pytest.mark.parametrize("args", ['"review", "--help"', '"apply", "--help"'])
def test_cli_review_help_does_not_import_torch(args):
    """Check that the new sub-commands' --help loads no heavy module."""
    assert _help_imports(args) == [0, []]


# ------------------------------------------------------------------ review
def test_cli_review_table_with_text(tmp_path, capsys):
    """Check the page of a CSV: flagged rows, texts, features and dynamics."""
    data, page = tmp_path / "notes.csv", tmp_path / "review.html"
    _rows().to_csv(data, index=False)
    args = ["review", str(data), "--target", "label", "--text", "note"]
    assert main([*args, "--out", str(page), *FAST]) == 0
    rows = _page_rows(page)
    out = capsys.readouterr().out
    assert f"Review page of {len(rows['id'])} flagged rows written to" in out
    assert "apply" in out and "notes-decisions.csv" in out
    assert rows["text"][0].startswith("a ")
    assert rows["featureNames"] == ["size", "weight", "color"]
    assert np.shape(rows["trajectory"]) == (len(rows["id"]), 2)
    assert rows["id"] == [str(i) for i in rows["index"]]


def test_cli_review_rows_option_and_npz(tmp_path):
    """Check --rows on an .npz table and on .npz images."""
    rng = np.random.RandomState(0)
    y = np.arange(30) % 3
    np.savez(tmp_path / "table.npz", X=rng.normal(size=(30, 4)), y=y)
    images = rng.randint(0, 255, size=(30, 6, 6)).astype(np.uint8)
    np.savez(tmp_path / "images.npz", X=images, y=y)
    for name, key in (("table", "features"), ("images", "image")):
        page = tmp_path / f"{name}.html"
        args = ["review", str(tmp_path / f"{name}.npz"), "--out", str(page)]
        assert main([*args, "--rows", "7", *FAST]) == 0
        rows = _page_rows(page)
        assert len(rows[key]) == 7


def test_cli_review_image_folder_thumbnails_from_files(tmp_path):
    """Check that an image folder's thumbnails come from the files, by path."""
    root = _write_images(tmp_path / "shapes", size=20)
    page = tmp_path / "review.html"
    args = ["review", str(root), "--image-size", "8", "--out", str(page)]
    assert main([*args, "--rows", "5", *FAST]) == 0
    rows = _page_rows(page)
    assert all(re.fullmatch(r"\w+/\d\.png", i) for i in rows["id"])
    assert len(rows["image"]) == 5
    # Made from the 20-pixel files, not from the 8-pixel training arrays.
    assert len(rows["image"][0]) > len("data:image/png;base64,") + 100


# ------------------------------------------------------------------- apply
def test_cli_apply_csv_changes_only_decided_rows(tmp_path, capsys):
    """Check that apply drops and relabels, leaving every other cell's text."""
    data = tmp_path / "data.csv"
    lines = ["size,label,note", "1.50,ant,first", "2,bee,", "3.0,ant,x", "4,cat,y"]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    original = data.read_bytes()
    decisions = _write_decisions(
        tmp_path / "d.csv", "row", ["1,bee,drop,", "2,ant,relabel,cat", "3,cat,keep,"]
    )
    out = tmp_path / "cleaned.csv"
    args = ["apply", str(data), str(decisions), "--target", "label"]
    assert main([*args, "--out", str(out)]) == 0
    assert data.read_bytes() == original
    assert out.read_text(encoding="utf-8").splitlines() == [
        "size,label,note",
        "1.50,ant,first",
        "3.0,cat,x",
        "4,cat,y",
    ]
    stdout = capsys.readouterr().out
    assert "Kept 1, relabelled 1, dropped 1 of 4 rows; 3 rows written" in stdout


def test_cli_apply_id_column_and_parquet(tmp_path):
    """Check IDs from a column of the table, and Parquet in and out."""
    pytest.importorskip("pyarrow")
    data = tmp_path / "data.parquet"
    table = pd.DataFrame({"name": ["p", "q", "r"], "x": [1, 2, 3], "y": [0, 1, 0]})
    table.to_parquet(data)
    decisions = _write_decisions(
        tmp_path / "d.csv", "name", ["q,1,relabel,0", "r,0,drop,"]
    )
    out = tmp_path / "cleaned.parquet"
    args = ["apply", str(data), str(decisions), "--target", "y"]
    assert main([*args, "--out", str(out)]) == 0
    cleaned = pd.read_parquet(out)
    assert cleaned["name"].tolist() == ["p", "q"]
    assert cleaned["y"].tolist() == [0, 0]
    assert cleaned["y"].dtype == table["y"].dtype


def test_cli_apply_npz(tmp_path):
    """Check that apply writes the kept X and relabelled y of an .npz."""
    data = tmp_path / "data.npz"
    X = np.arange(8, dtype=np.uint8).reshape(4, 2)
    np.savez(data, X=X, y=np.array([0, 1, 2, 1]))
    decisions = _write_decisions(
        tmp_path / "d.csv", "row", ["0,0,drop,", "3,1,relabel,2"]
    )
    out = tmp_path / "cleaned.npz"
    assert main(["apply", str(data), str(decisions), "--out", str(out)]) == 0
    with np.load(out) as cleaned:
        np.testing.assert_array_equal(cleaned["X"], X[1:])
        np.testing.assert_array_equal(cleaned["y"], [1, 2, 2])


def _bad_apply(tmp_path):
    """Return {case: (argv, message part)}, files made in tmp_path."""
    data = tmp_path / "data.csv"
    data.write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    good = _write_decisions(tmp_path / "d.csv", "row", ["0,a,drop,"])
    bad = _write_decisions(tmp_path / "bad.csv", "row", ["0,b,drop,"])
    by_path = _write_decisions(tmp_path / "p.csv", "path", ["a/0.png,a,drop,"])
    np.savez(tmp_path / "data.npz", X=np.zeros((2, 2)), y=np.array([0, 1]))
    sites = tmp_path / "sites.csv"
    sites.write_text("site,x,label\nn,1,a\nn,2,b\ns,3,a\n", encoding="utf-8")
    by_site = _write_decisions(tmp_path / "s.csv", "site", ["s,a,drop,"])
    twice = tmp_path / "twice.csv"
    twice.write_text("x,label,y,label\n1,a,2,b\n3,b,4,a\n", encoding="utf-8")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("row,given_label,decision,new_label\n0,a,drop,\n", "utf-16")
    apply = ["apply", str(data), str(good), "--target", "label", "--out"]
    return {
        "repeated ids": (
            ["apply", str(sites), str(by_site), "--target", "label"]
            + ["--out", str(tmp_path / "c.csv")],
            "that column of sites.csv has repeated values",
        ),
        "header names a column twice": (
            ["apply", str(twice), str(good), "--target", "label"]
            + ["--out", str(tmp_path / "c.csv")],
            "names column(s) ['label'] more than once",
        ),
        "decisions not utf-8": (
            ["apply", str(data), str(utf16), "--target", "label"]
            + ["--out", str(tmp_path / "c.csv")],
            "utf16.csv is not UTF-8 text",
        ),
        "out is data": ([*apply, str(data)], "never writes onto what it reads"),
        "out is decisions": ([*apply, str(good)], "never writes onto what it reads"),
        "out suffix": ([*apply, str(tmp_path / "c.parquet")], "written as .csv"),
        "no target": (
            ["apply", str(data), str(good), "--out", str(tmp_path / "c.csv")],
            "--target",
        ),
        "wrong data": (
            ["apply", str(data), str(bad), "--target", "label"]
            + ["--out", str(tmp_path / "c.csv")],
            "bad.csv line 2: row '0' has the label 'a' in the data but 'b'",
        ),
        "id name": (
            ["apply", str(tmp_path / "data.npz"), str(by_path)]
            + ["--out", str(tmp_path / "c.npz")],
            "identifies rows by 'path'",
        ),
        "missing decisions": (
            ["apply", str(data), str(tmp_path / "nope.csv"), "--target", "label"]
            + ["--out", str(tmp_path / "c.csv")],
            "does not exist",
        ),
        "review out": (
            [
                "review",
                str(data),
                "--target",
                "label",
                "--out",
                str(tmp_path / "p.txt"),
            ],
            "end it in .html",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "out is data",
        "out is decisions",
        "out suffix",
        "no target",
        "wrong data",
        "id name",
        "missing decisions",
        "decisions not utf-8",
        "repeated ids",
        "header names a column twice",
        "review out",
    ],
)
def test_cli_apply_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    """Check that bad input exits 2 with one line and leaves the data alone."""
    argv, message = _bad_apply(tmp_path)[case]
    before = (tmp_path / "data.csv").read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-noisy: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert (tmp_path / "data.csv").read_bytes() == before


def _detect_and_drop(tmp_path, table, id_name, sample_id, position):
    """Detect on ``table`` as a CSV, then apply one drop decision.

    Return the ranking and the cleaned table, both read as text.
    """
    data = tmp_path / "data.csv"
    table.to_csv(data, index=False)
    ranking = tmp_path / "ranking.csv"
    args = ["detect", str(data), "--target", "label", "--out", str(ranking)]
    assert main([*args, *FAST]) == 0
    given = table["label"][position]
    decisions = _write_decisions(
        tmp_path / "d.csv", id_name, [f"{sample_id},{given},drop,"]
    )
    out = tmp_path / "cleaned.csv"
    args = ["apply", str(data), str(decisions), "--target", "label"]
    assert main([*args, "--out", str(out)]) == 0
    return pd.read_csv(ranking, dtype=str), pd.read_csv(out, dtype=str)


def test_cli_table_with_its_own_row_column_keeps_positions_apart(tmp_path):
    """Check that a column named "row" is not mistaken for the row positions.

    The positions are then called "row_position", so that apply drops the
    reviewed record (it dropped the record whose own "row" cell held the
    position: one record off).
    """
    table = _rows(n=30).drop(columns="note")
    table.insert(0, "row", np.arange(1, 31))  # a spreadsheet's 1-based numbers
    ranked, cleaned = _detect_and_drop(tmp_path, table, "row_position", 5, 5)
    assert ranked.columns[0] == "row_position"
    assert sorted(ranked["row_position"].astype(int)) == list(range(30))
    assert cleaned["row"].astype(int).tolist() == [k for k in range(1, 31) if k != 6]


def test_cli_ids_keep_their_leading_zeros(tmp_path):
    """Check that an ID column's text is carried as written, zeros included."""
    table = _rows(n=30).drop(columns="note")
    table.insert(0, "sample_id", [f"{k:05d}" for k in range(30)])
    ranked, cleaned = _detect_and_drop(tmp_path, table, "sample_id", "00007", 7)
    assert sorted(ranked["sample_id"]) == [f"{k:05d}" for k in range(30)]
    assert cleaned["sample_id"].tolist() == [f"{k:05d}" for k in range(30) if k != 7]


def test_cli_review_refuses_repeated_ids_before_training(tmp_path, capsys):
    """Check that an --id naming several rows stops review before it trains."""
    data = tmp_path / "data.csv"
    table = _rows(n=30).drop(columns="note")
    table.insert(0, "site", np.resize(["north", "south"], 30))
    table.to_csv(data, index=False)
    out = tmp_path / "page.html"
    args = ["review", str(data), "--target", "label", "--id", "site"]
    assert main([*args, "--out", str(out), *FAST]) == 2
    captured = capsys.readouterr()
    assert "--id column 'site' has repeated values ('north'" in captured.err
    assert "epoch" not in captured.err  # no training progress was logged
    assert not out.exists()


def test_cli_apply_keeps_the_byte_order_mark_and_line_ends(tmp_path):
    """Check that a CSV with a BOM and CRLF line ends is copied with both."""
    data = tmp_path / "data.csv"
    lines = ["size,label,note", "1.50,ant,caf\u00e9", "2,bee,", "3.0,ant,x"]
    data.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    decisions = _write_decisions(tmp_path / "d.csv", "row", ["1,bee,drop,"])
    out = tmp_path / "cleaned.csv"
    args = ["apply", str(data), str(decisions), "--target", "label"]
    assert main([*args, "--out", str(out)]) == 0
    kept = [lines[0], lines[1], lines[3]]
    assert out.read_bytes() == b"\xef\xbb\xbf" + "\r\n".join(kept).encode() + b"\r\n"
