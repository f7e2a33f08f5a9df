"""Tests for the sklearn-noisy command line, run through ``main([...])``."""

import hashlib
import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from sklearn_noisy.cli import _build_parser, _contamination, _demo_report, main

Image = pytest.importorskip("PIL.Image")

# Two epochs of small networks: the whole module runs in well under a minute.
FAST = ["--max-epochs", "2"]
_HEAVY = ("torch", "skorch", "sklearn", "pandas", "matplotlib")
_METHOD_COLUMNS = [
    "score_sei",
    "score_sei_paper",
    "score_aum",
    "score_loss",
    "score_confidence",
]


def _rows(n=60, seed=0):
    """Return a table with numeric, categorical and text columns and a label."""
    rng = np.random.RandomState(seed)
    label = np.array(["ant", "bee", "cat"])[np.arange(n) % 3]
    code = np.arange(n) % 3
    color = np.array(["red", "green", "blue"], dtype=object)[code]
    color[::7] = None  # missing categories are a category of their own
    words = np.array(["tiny insect", "buzzing insect", "furry pet"])[code]
    return pd.DataFrame(
        {
            "size": code + rng.normal(scale=0.3, size=n),
            "weight": rng.normal(size=n),
            "color": color,
            "note": [f"a {w} number {i}" for i, w in enumerate(words)],
            "label": label,
        }
    )


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "animals.csv"
    _rows().drop(columns="note").to_csv(path, index=False)
    return path


@pytest.fixture
def text_csv_file(tmp_path):
    path = tmp_path / "notes.csv"
    _rows().to_csv(path, index=False)
    return path


@pytest.fixture
def npz_file(tmp_path):
    rng = np.random.RandomState(0)
    y = np.arange(45) % 3
    X = rng.normal(size=(45, 5)) + y[:, None]
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    return path


def _write_images(root, mode="L", n_per_class=5, size=8):
    """Write a folder of tiny PNGs, a bright band per class, in 3 class folders."""
    rng = np.random.RandomState(0)
    for k, name in enumerate(["circle", "square", "triangle"]):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.randint(0, 60, size=(size, size)).astype(np.uint8)
            pixels[:, 2 * k : 2 * k + 3] = 230
            image = Image.fromarray(pixels, mode="L").convert(mode)
            image.save(root / name / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path):
    return _write_images(tmp_path / "shapes")


def _check_ranking(path, n_rows, id_column, method="sei"):
    table = pd.read_csv(path)
    assert list(table.columns[:5]) == [
        id_column,
        "given_label",
        "predicted_label",
        "score",
        "flagged",
    ]
    # Every method's score from the run, the ranking method's first.
    assert table.columns[5] == f"score_{method}"
    assert sorted(table.columns[5:]) == sorted(_METHOD_COLUMNS)
    np.testing.assert_array_equal(table["score"], table[f"score_{method}"])
    assert len(table) == n_rows
    assert table[id_column].is_unique
    assert table["score"].is_monotonic_increasing  # most suspicious first
    assert table["flagged"].dtype == bool
    if table["flagged"].any():  # flagged rows come first
        assert table["flagged"].iloc[: table["flagged"].sum()].all()
    assert set(table["predicted_label"]) <= set(table["given_label"])
    return table


def _checksums(folder):
    """Return {relative path: sha256} of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# help -----------------------------------------------------------------------


def test_cli_help_lists_the_commands(capsys):
    """Check that --help exits 0 and names every sub-command."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "detect", "train", "predict"):
        assert command in out


_HELP_IMPORTS = """
import json, runpy, sys
sys.argv = ["sklearn_noisy", {args}]
try:
    runpy.run_module("sklearn_noisy", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(m for m in sys.modules
                               if m.split(".")[0] in {heavy!r})]))
"""


def _help_imports(args):
    code = _HELP_IMPORTS.format(args=args, heavy=_HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", ['"--help"', '"detect", "--help"'])
def test_cli_help_does_not_import_torch(args):
    """Check that `python -m sklearn_noisy --help` loads no heavy module."""
    assert _help_imports(args) == [0, []]


# detect ---------------------------------------------------------------------


def test_cli_detect_csv_writes_ranked_rows(csv_file, tmp_path, capsys):
    """Check that a CSV with numeric and categorical columns is ranked."""
    out = tmp_path / "ranked.csv"
    args = ["detect", str(csv_file), "--target", "label", "--out", str(out)]
    status = main([*args, *FAST])
    assert status == 0
    table = _check_ranking(out, 60, "row")
    assert sorted(table["row"]) == list(range(60))
    stdout = capsys.readouterr().out
    assert f"Flagged {int(table['flagged'].sum())} of 60 rows" in stdout
    for label in ("ant", "bee", "cat"):
        assert label in stdout
    assert str(out) in stdout


def test_cli_detect_text_column_and_contamination(text_csv_file, tmp_path):
    """Check that --text is TF-IDF encoded and a float contamination flags 10%."""
    out = tmp_path / "ranked.csv"
    args = ["detect", str(text_csv_file), "--target", "label", "--text", "note"]
    status = main([*args, "--out", str(out), "--contamination", "0.1", *FAST])
    assert status == 0
    assert _check_ranking(out, 60, "row")["flagged"].sum() == 6


def test_cli_detect_parquet(tmp_path):
    """Check that a Parquet table is read like a CSV."""
    pytest.importorskip("pyarrow")
    data, out = tmp_path / "animals.parquet", tmp_path / "ranked.csv"
    _rows().drop(columns="note").to_parquet(data)
    status = main(["detect", str(data), "--target", "label", "--out", str(out), *FAST])
    assert status == 0
    _check_ranking(out, 60, "row")


def test_cli_detect_npz_with_method(npz_file, tmp_path):
    """Check that an .npz with X and y is ranked with the chosen method."""
    out = tmp_path / "ranked.csv"
    args = ["detect", str(npz_file), "--out", str(out), "--method", "loss"]
    assert main([*args, "--contamination", "mixture", *FAST]) == 0
    table = _check_ranking(out, 45, "row", method="loss")
    assert set(table["given_label"]) == {0, 1, 2}


def test_cli_detect_image_folder_writes_paths_and_plots(image_folder, tmp_path):
    """Check that an image folder is ranked by file and both figures are saved."""
    out, plot = tmp_path / "ranked.csv", tmp_path / "scores.png"
    args = ["detect", str(image_folder), "--out", str(out), "--image-size", "8"]
    assert main([*args, "--plot", str(plot), *FAST]) == 0
    table = _check_ranking(out, 15, "path")
    assert "circle/0.png" in set(table["path"])
    assert set(table["given_label"]) == {"circle", "square", "triangle"}
    assert plot.stat().st_size > 0
    assert (tmp_path / "scores-images.png").stat().st_size > 0


def test_cli_detect_rgb_images(tmp_path):
    """Check that colour images are read as three channels."""
    root = _write_images(tmp_path / "rgb", mode="RGB")
    (root / "circle" / "0.png").unlink()
    colour = np.zeros((8, 8, 3), dtype=np.uint8)
    colour[..., 0] = 255  # a red image makes the folder RGB
    Image.fromarray(colour).save(root / "circle" / "red.jpg")
    out = tmp_path / "ranked.csv"
    assert main(["detect", str(root), "--out", str(out), *FAST]) == 0
    assert "circle/red.jpg" in set(_check_ranking(out, 15, "path")["path"])


def test_cli_detect_logs_each_epoch_on_stderr(npz_file, tmp_path, capsys):
    """Check that off a terminal every epoch is one labelled line on stderr."""
    out = tmp_path / "ranked.csv"
    assert main(["detect", str(npz_file), "--out", str(out), *FAST]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == [
        "MislabelDetector training epoch 1/2",
        "MislabelDetector training epoch 2/2",
    ]


def test_cli_train_names_the_warm_up_and_l_dmi_phases(npz_file, tmp_path, capsys):
    """Check that train's epoch lines name the cross-entropy and L_DMI phases."""
    model = tmp_path / "model.joblib"
    assert main(["train", str(npz_file), "--out", str(model), *FAST]) == 0
    phases = {line.split(" epoch ")[0] for line in capsys.readouterr().err.splitlines()}
    assert phases == {
        "DMIClassifier warm-up (cross-entropy)",
        "DMIClassifier L_DMI",
    }


def test_cli_no_progress_is_silent_on_stderr(npz_file, tmp_path, capsys):
    """Check that --no-progress prints nothing on stderr."""
    out = tmp_path / "ranked.csv"
    argv = ["detect", str(npz_file), "--out", str(out), "--no-progress", *FAST]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""


# columns --------------------------------------------------------------------


def _patients(n=90, seed=0):
    """Return a table with an ID, a date, a constant, 'n/a'-like tokens."""
    rng = np.random.RandomState(seed)
    label = np.array(["benign", "malignant", "normal"])[np.arange(n) % 3]
    size = (np.arange(n) % 3) + rng.normal(scale=0.3, size=n)
    age = rng.randint(20, 80, size=n).astype(str).astype(object)
    age[[1, 3, 5]] = ["?", "unknown", "?"]
    return pd.DataFrame(
        {
            "patient_id": [f"P{k:03d}" for k in range(n)],
            "visit": pd.date_range("2021-01-01", periods=n, freq="D").strftime(
                "%Y-%m-%d"
            ),
            "age": age,
            "size": size,
            "site": np.array(["left", "right"])[np.arange(n) % 2],
            "ward": "A",
            "label": label,
        }
    )


@pytest.fixture
def patients_file(tmp_path):
    path = tmp_path / "patients.csv"
    frame = _patients()
    frame.loc[7, "size"] = np.nan
    frame.to_csv(path, index=False)
    return path


def _report(stdout):
    """Return {column: (role, note)} from the printed column report."""
    lines = stdout.split("Columns of ")[1].splitlines()[1:]
    report = {}
    for line in lines:
        if not line.startswith("  "):
            break
        name, role, *note = line.split(maxsplit=2)
        report[name] = (role, note[0] if note else "")
    return report


def test_cli_detect_reports_how_each_column_was_read(patients_file, tmp_path, capsys):
    """Check the column report: ID, date, numeric tokens, constant, imputed."""
    out = tmp_path / "ranked.csv"
    argv = ["detect", str(patients_file), "--target", "label", "--out", str(out)]
    assert main([*argv, *FAST]) == 0
    report = _report(capsys.readouterr().out)
    assert report["patient_id"] == (
        "id",
        "ID-like name, unique values: the row ID (--id chooses)",
    )
    assert report["visit"][0] == "date"
    assert "2021-01-01 to 2021-03-31" in report["visit"][1]
    assert report["age"] == (
        "numeric",
        "3 non-numeric value(s) ('?', 'unknown') read as missing; 3 missing "
        "(imputed: median)",
    )
    assert report["size"] == ("numeric", "1 missing (imputed: median)")
    assert report["site"] == ("categorical", "2 categories")
    assert report["ward"] == ("dropped", "constant ('A')")
    assert report["label"] == ("target", "3 classes")
    table = _check_ranking(out, 90, "patient_id")
    assert set(table["patient_id"]) == {f"P{k:03d}" for k in range(90)}


def test_cli_features_and_drop_choose_the_columns(patients_file, tmp_path, capsys):
    """Check that --features keeps only the named columns, --drop removes some."""
    out = tmp_path / "ranked.csv"
    argv = ["detect", str(patients_file), "--target", "label", "--out", str(out)]
    assert main([*argv, "--features", "size,site", *FAST]) == 0
    report = _report(capsys.readouterr().out)
    features = [
        c for c, (role, _) in report.items() if role in ("numeric", "categorical")
    ]
    assert features == ["size", "site"]
    assert report["visit"] == ("dropped", "not in --features")
    assert report["patient_id"][0] == "id"  # left out, but still the row ID
    _check_ranking(out, 90, "patient_id")
    assert main([*argv, "--drop", "visit", "--drop", "age", "--overwrite"]) == 0
    report = _report(capsys.readouterr().out)
    assert report["visit"] == report["age"] == ("dropped", "--drop")
    assert report["size"][0] == "numeric"
    assert report["patient_id"][0] == "id"


def test_cli_id_is_carried_into_every_output(patients_file, tmp_path, capsys):
    """Check --id in ranked.csv, in the model, and in predictions.csv."""
    ranked, model = tmp_path / "ranked.csv", tmp_path / "model.joblib"
    predictions = tmp_path / "predictions.csv"
    common = [str(patients_file), "--target", "label", "--id", "patient_id"]
    assert main(["detect", *common, "--out", str(ranked), *FAST]) == 0
    assert _report(capsys.readouterr().out)["patient_id"] == ("id", "--id")
    _check_ranking(ranked, 90, "patient_id")
    assert main(["train", *common, "--out", str(model), *FAST]) == 0
    new = tmp_path / "new.csv"
    _patients(12, seed=1).drop(columns="label").to_csv(new, index=False)
    assert main(["predict", str(model), str(new), "--out", str(predictions)]) == 0
    table = pd.read_csv(predictions)
    assert list(table["patient_id"]) == [f"P{k:03d}" for k in range(12)]
    assert list(table.columns[:2]) == ["patient_id", "predicted_label"]


def test_cli_predict_reads_tokens_and_dates_as_in_training(patients_file, tmp_path):
    """Check that a saved model coerces 'n/a'-like tokens and dates again."""
    model = tmp_path / "model.joblib"
    argv = ["train", str(patients_file), "--target", "label", "--out", str(model)]
    assert main([*argv, *FAST]) == 0
    pipeline = joblib.load(model)
    new = _patients(6, seed=2)
    new.loc[0, "age"], new.loc[1, "visit"] = "n/a", "not a date"
    proba = pipeline.predict_proba(new)
    assert proba.shape == (6, 3) and np.isfinite(proba).all()


def test_cli_predict_names_cells_that_do_not_read(patients_file, tmp_path, capsys):
    """Check that predict says which number and date cells it filled in."""
    model = tmp_path / "model.joblib"
    argv = ["train", str(patients_file), "--target", "label", "--out", str(model)]
    assert main([*argv, *FAST]) == 0
    new = _patients(6, seed=2)
    new["size"] = "large"
    new.loc[1, "visit"] = "not a date"
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    capsys.readouterr()
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(model), str(data), "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "6 of 6 values of column 'size' are not numbers (e.g. 'large')" in stdout
    assert "1 of 6 values of column 'visit' are not dates" in stdout
    assert len(pd.read_csv(out)) == 6


def test_cli_id_column_must_exist_when_given_to_predict(csv_file, tmp_path, capsys):
    """Check that predict --id names a column of the new table."""
    model = tmp_path / "model.joblib"
    assert (
        main(
            ["train", str(csv_file), "--target", "label"] + ["--out", str(model), *FAST]
        )
        == 0
    )
    out = tmp_path / "p.csv"
    assert (
        main(["predict", str(model), str(csv_file), "--out", str(out), "--id", "nope"])
        == 2
    )
    assert "--id column 'nope'" in capsys.readouterr().err


def test_cli_image_grid_titles_are_file_names(image_folder, tmp_path, monkeypatch):
    """Check that the image grid is drawn with the files' paths as names."""
    from sklearn_noisy.plotting import SuspiciousImagesDisplay

    seen = {}
    original = SuspiciousImagesDisplay.from_estimator.__func__

    def spy(cls, *args, **kwargs):
        seen.update(kwargs)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(SuspiciousImagesDisplay, "from_estimator", classmethod(spy))
    out, plot = tmp_path / "ranked.csv", tmp_path / "scores.png"
    argv = ["detect", str(image_folder), "--out", str(out), "--plot", str(plot)]
    assert main([*argv, "--image-size", "8", *FAST]) == 0
    assert sorted(seen["names"]) == sorted(pd.read_csv(out)["path"])


# parser ---------------------------------------------------------------------


def test_cli_contamination_parses_rules_shares_and_row_counts():
    """Check that an integer is a number of rows and a decimal a share."""
    assert _contamination("auto") == "auto"
    assert _contamination("10") == 10 and isinstance(_contamination("10"), int)
    assert _contamination("0.1") == 0.1
    with pytest.raises(Exception, match="number of rows"):
        _contamination("many")


def _subparsers(parser):
    import argparse

    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices


@pytest.mark.parametrize("command", ["demo", "detect", "train", "predict"])
def test_cli_help_states_every_default(command):
    """Check that each option's help says its default (or that it is required)."""
    parser = _subparsers(_build_parser())[command]
    for action in parser._actions:
        if not action.option_strings or action.help == "==SUPPRESS==":
            continue
        if action.dest == "help":
            continue
        assert "default" in action.help or "required" in action.help, action.dest


# errors ---------------------------------------------------------------------


def _bad_inputs(tmp_path):
    """Return {case: (argv, expected message part)}, files made in tmp_path."""
    out = str(tmp_path / "out.csv")
    table = tmp_path / "t.csv"
    _rows().to_csv(table, index=False)
    plain = tmp_path / "plain.csv"
    _rows().drop(columns="note").to_csv(plain, index=False)
    one_class = tmp_path / "one.csv"
    _rows().drop(columns="note").assign(label="ant").to_csv(one_class, index=False)
    (tmp_path / "notes.txt").write_text("hello")
    np.savez(tmp_path / "noy.npz", X=np.zeros((4, 2)))
    np.savez(tmp_path / "xy.npz", X=np.zeros((6, 2)), y=np.arange(6) % 2)
    (tmp_path / "fake.npz").write_text("not a zip")
    images = _write_images(tmp_path / "images")
    (images / "circle" / "broken.png").write_bytes(b"not a png")
    good_images = _write_images(tmp_path / "good_images")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "existing.csv").write_text("keep me")
    (tmp_path / "scores-images.png").write_bytes(b"keep me too")
    (tmp_path / "model.joblib").write_bytes(b"not a model either")
    (tmp_path / "link.csv").symlink_to(plain)
    linked = _write_images(tmp_path / "linked")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (linked / "square").rename(elsewhere / "square")
    (linked / "square").symlink_to(elsewhere / "square", target_is_directory=True)
    (tmp_path / "dup.csv").write_text("a,label,b,label\n1,x,2,y\n3,y,4,x\n")
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    (tmp_path / "spaced.csv").write_text("a, label\n1, x\n2, y\n")
    (tmp_path / "semicolons.csv").write_text("a;b;label\n1;2;x\n3;4;y\n")
    (tmp_path / "decimal_commas.csv").write_text("a;b;label\n1,5;2;x\n1,5;2,5;y\n")
    (tmp_path / "na_class.csv").write_text("a,label\n1,NA\n2,EU\n3,NA\n4,EU\n")
    (tmp_path / "float_labels.csv").write_text("a,label\n5,0.5\n3,1.5\n9,0.5\n")
    detect = ["detect", "--out", out, *FAST]
    plain_detect = ["detect", str(plain), "--target", "label", *FAST]
    return {
        "missing file": ([*detect, str(tmp_path / "nope.csv")], "does not exist"),
        "missing column": (
            [*detect, str(table), "--target", "species"],
            "--target column 'species' is not in t.csv",
        ),
        "missing text column": (
            [*detect, str(table), "--target", "label", "--text", "body"],
            "--text column 'body'",
        ),
        "missing feature column": (
            [*detect, str(plain), "--target", "label", "--features", "size,age"],
            "--features column 'age' is not in the table; its columns are: size",
        ),
        "id is the target": (
            [*detect, str(plain), "--target", "label", "--id", "label"],
            "--id column 'label' is the label column",
        ),
        "unique strings": (
            [*detect, str(table), "--target", "label"],
            "Pass --text note",
        ),
        "id on an npz": (
            [*detect, str(tmp_path / "xy.npz"), "--id", "name"],
            "--id applies to CSV and Parquet tables",
        ),
        "no target": ([*detect, str(table)], "--target"),
        "one class": (
            [*detect, str(one_class), "--target", "label"],
            "at least 2 classes",
        ),
        "unknown extension": ([*detect, str(tmp_path / "notes.txt")], ".csv"),
        "npz without y": ([*detect, str(tmp_path / "noy.npz")], "'X' and 'y'"),
        "not an npz": ([*detect, str(tmp_path / "fake.npz")], "not an .npz"),
        "unreadable image": ([*detect, str(images)], "broken.png: not a valid"),
        "no images": ([*detect, str(tmp_path / "empty")], "no PNG or JPEG"),
        "contamination": (
            [*detect, str(plain), "--target", "label", "--contamination", "0.9"],
            "contamination",
        ),
        "plot format": (
            [*detect, str(plain), "--target", "label", "--plot", "x.unknown"],
            "cannot save a plot",
        ),
        "output folder": (
            [*plain_detect, "--out", str(tmp_path / "no" / "dir" / "out.csv")],
            "no folder",
        ),
        "device": (
            [*detect, str(plain), "--target", "label", "--device", "gpu7"],
            "gpu7",
        ),
        "bad model": (
            ["predict", str(plain), str(plain), "--out", out],
            "cannot load a model",
        ),
        # Outputs that would destroy an input or an existing file.
        "out is the input": (
            [*plain_detect, "--out", str(plain)],
            f"--out {plain} is the input {plain}",
        ),
        "out links to the input": (
            [*plain_detect, "--out", str(tmp_path / "link.csv")],
            "is the input",
        ),
        "out inside the image folder": (
            ["detect", str(good_images), "--out", str(good_images / "r.csv")],
            "is inside the input",
        ),
        "plot inside the image folder": (
            ["detect", str(good_images), "--out", out, *FAST]
            + ["--plot", str(good_images / "circle" / "new.png")],
            "is inside the input",
        ),
        "plot inside a linked class folder": (
            ["detect", str(linked), "--out", out, *FAST]
            + ["--plot", str(elsewhere / "square" / "new.png")],
            "is inside the input",
        ),
        "header names a column twice": (
            ["detect", str(tmp_path / "dup.csv"), "--target", "label", "--out", out],
            "names column(s) ['label'] more than once",
        ),
        "out is a dangling link": (
            [*plain_detect, "--out", str(tmp_path / "dangling.csv")],
            "dangling.csv exists",
        ),
        "target with spaces around": (
            ["detect", str(tmp_path / "spaced.csv"), "--target", "label"]
            + ["--out", out],
            "the column ' label' has spaces around its name",
        ),
        "semicolon-separated": (
            ["detect", str(tmp_path / "semicolons.csv"), "--target", "label"]
            + ["--out", out],
            "separated by ';', tabs or '|'",
        ),
        "semicolons and decimal commas": (
            ["detect", str(tmp_path / "decimal_commas.csv"), "--target", "label"]
            + ["--out", out],
            "its header has no comma: is it separated by ';'",
        ),
        "fractional labels": (
            ["detect", str(tmp_path / "float_labels.csv"), "--target", "label"]
            + ["--out", out],
            "are fractional numbers (e.g. [0.5, 1.5]), not classes",
        ),
        "class named NA": (
            ["detect", str(tmp_path / "na_class.csv"), "--target", "label"]
            + ["--out", out],
            "the cells read as missing hold ['NA']",
        ),
        "existing out": (
            [*plain_detect, "--out", str(tmp_path / "existing.csv")],
            "exists; pass --overwrite",
        ),
        "existing image grid": (
            ["detect", str(good_images), "--out", out, *FAST]
            + ["--plot", str(tmp_path / "scores.png")],
            "scores-images.png exists; pass --overwrite",
        ),
        "out and plot are one file": (
            [*plain_detect, "--out", out, "--plot", out],
            "cannot save a plot",
        ),
        "train out is the data": (
            ["train", str(plain), "--target", "label", "--out", str(plain), *FAST],
            "is the input",
        ),
        "existing model": (
            ["train", str(plain), "--target", "label", *FAST]
            + ["--out", str(tmp_path / "model.joblib")],
            "model.joblib exists",
        ),
        "predict out is the model": (
            ["predict", str(tmp_path / "model.joblib"), str(plain)]
            + ["--out", str(tmp_path / "model.joblib"), "--overwrite"],
            "is the input",
        ),
        "predict out is the data": (
            ["predict", str(tmp_path / "model.joblib"), str(plain)]
            + ["--out", str(plain), "--overwrite"],
            "is the input",
        ),
        "demo plot exists": (
            ["demo", "--plot", str(tmp_path / "scores-images.png"), *FAST],
            "scores-images.png exists",
        ),
    }


_CASES = [
    "missing file",
    "missing column",
    "missing text column",
    "missing feature column",
    "id is the target",
    "unique strings",
    "id on an npz",
    "no target",
    "one class",
    "unknown extension",
    "npz without y",
    "not an npz",
    "unreadable image",
    "no images",
    "contamination",
    "plot format",
    "output folder",
    "device",
    "bad model",
    "out is the input",
    "out links to the input",
    "out inside the image folder",
    "plot inside the image folder",
    "plot inside a linked class folder",
    "header names a column twice",
    "out is a dangling link",
    "target with spaces around",
    "semicolon-separated",
    "semicolons and decimal commas",
    "fractional labels",
    "class named NA",
    "existing out",
    "existing image grid",
    "out and plot are one file",
    "train out is the data",
    "existing model",
    "predict out is the model",
    "predict out is the data",
    "demo plot exists",
]


@pytest.mark.parametrize("case", _CASES)
def test_cli_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    """Check that bad input exits 2 with one line and changes no file."""
    argv, message = _bad_inputs(tmp_path)[case]
    before = _checksums(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-noisy: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert _checksums(tmp_path) == before  # nothing changed, nothing created


def test_cli_out_and_plot_must_differ(tmp_path, capsys):
    """Check that --out and --plot naming one file (a .png) are refused."""
    data = tmp_path / "a.csv"
    _rows().drop(columns="note").to_csv(data, index=False)
    out = tmp_path / "same.png"
    argv = ["detect", str(data), "--target", "label", "--out", str(out)]
    assert main([*argv, "--plot", str(out), *FAST]) == 2
    assert "are the same file" in capsys.readouterr().err
    assert not out.exists()


def test_cli_mutually_exclusive_column_options_exit_2(csv_file, tmp_path, capsys):
    """Check that --features with --drop is a usage error."""
    argv = ["detect", str(csv_file), "--target", "label", "--out", "o.csv"]
    assert main([*argv, "--features", "size", "--drop", "color"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_overwrite_replaces_every_output(image_folder, tmp_path, capsys):
    """Check that --overwrite replaces the CSV, the figure and the image grid."""
    out, plot = tmp_path / "ranked.csv", tmp_path / "scores.png"
    grid = tmp_path / "scores-images.png"
    for path in (out, plot, grid):
        path.write_text("old")
    argv = ["detect", str(image_folder), "--out", str(out), "--plot", str(plot)]
    assert main([*argv, "--image-size", "8", *FAST]) == 2
    assert {p.read_text() for p in (out, plot, grid)} == {"old"}
    assert main([*argv, "--image-size", "8", "--overwrite", *FAST]) == 0
    assert out.read_text().startswith("path,")
    assert plot.read_bytes()[:4] == grid.read_bytes()[:4] == b"\x89PNG"
    stdout = capsys.readouterr().out
    assert f"Will write: {out}, {plot}, {grid}" in stdout


def test_cli_usage_error_exits_2(capsys):
    """Check that an unknown option is a usage error with status 2."""
    assert main(["detect", "x.csv", "--out", "o.csv", "--method", "magic"]) == 2
    assert "invalid choice" in capsys.readouterr().err


# train and predict ------------------------------------------------------------


def test_cli_train_then_predict_table(text_csv_file, tmp_path, capsys):
    """Check that a trained pipeline is saved and predicts a table."""
    model, out = tmp_path / "model.joblib", tmp_path / "predictions.csv"
    args = ["train", str(text_csv_file), "--target", "label", "--text", "note"]
    assert main([*args, "--out", str(model), *FAST]) == 0
    pipeline = joblib.load(model)
    assert type(pipeline[-1]).__name__ == "DMIClassifier"
    assert list(pipeline.classes_) == ["ant", "bee", "cat"]
    assert pipeline.predict(pd.read_csv(text_csv_file)[:3]).shape == (3,)

    capsys.readouterr()
    assert main(["predict", str(model), str(text_csv_file), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["row", "given_label", "predicted_label"]
    assert list(table.columns[3:]) == ["proba_ant", "proba_bee", "proba_cat"]
    np.testing.assert_allclose(table.iloc[:, 3:].sum(axis=1), 1, rtol=1e-5)
    assert "Accuracy against the given labels" in capsys.readouterr().out


def test_cli_train_decision_accuracy(tmp_path, capsys):
    """Check that --decision reaches DMIClassifier, and its refusals read well."""
    rng = np.random.RandomState(0)
    y = (rng.rand(600) < 0.2).astype(int)
    X = rng.normal(size=(600, 4)) + 2.0 * y[:, None]
    data = tmp_path / "binary.npz"
    np.savez(data, X=X, y=y)

    def train(model, *options):
        args = ["train", str(data), "--out", str(model), "--decision", "accuracy"]
        return main([*args, *options, *FAST])

    model = tmp_path / "model.joblib"
    assert train(model) == 0
    classifier = joblib.load(model)[-1]
    assert classifier.decision == "accuracy"
    assert isinstance(classifier.decision_offset_, float)

    capsys.readouterr()
    other = tmp_path / "other.joblib"
    assert train(other, "--clean") == 2
    assert "Drop one of the two options" in capsys.readouterr().err
    assert not other.exists()


def test_cli_train_decision_accuracy_refuses_three_classes(npz_file, tmp_path, capsys):
    """Check that --decision accuracy on three classes is a one-line error."""
    model = tmp_path / "model.joblib"
    args = ["train", str(npz_file), "--out", str(model), "--decision", "accuracy"]
    assert main([*args, *FAST]) == 2
    err = capsys.readouterr().err
    assert "--decision accuracy shifts a two-class decision" in err
    assert "has 3 classes. Leave --decision out" in err
    assert "epoch" not in err  # refused before training
    assert "Traceback" not in err
    assert not model.exists()


def test_cli_train_clean_npz_with_progress(npz_file, tmp_path):
    """Check --clean and that a model trained with progress output pickles."""
    model = tmp_path / "model.joblib"
    args = ["train", str(npz_file), "--out", str(model), "--clean", "--progress"]
    assert main([*args, *FAST]) == 0
    pipeline = joblib.load(model)
    assert type(pipeline[-1]).__name__ == "CleanLabelClassifier"
    assert pipeline.score(np.load(npz_file)["X"], np.load(npz_file)["y"]) > 0


def test_cli_train_then_predict_unlabelled_images(image_folder, tmp_path):
    """Check that predict reads images at the trained size, labelled or not."""
    model, out = tmp_path / "model.joblib", tmp_path / "predictions.csv"
    args = ["train", str(image_folder), "--image-size", "12", "--out", str(model)]
    assert main([*args, *FAST]) == 0
    assert joblib.load(model).cli_input_["image_size"] == 12
    new = tmp_path / "new"
    new.mkdir()
    for i, file in enumerate(sorted(image_folder.glob("*/*.png"))[:4]):
        (new / f"{i}.png").write_bytes(file.read_bytes())
    assert main(["predict", str(model), str(new), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["path"]) == [f"{i}.png" for i in range(4)]
    assert "given_label" not in table
    assert set(table["predicted_label"]) <= {"circle", "square", "triangle"}


def test_cli_predict_missing_feature_column_exits_2(csv_file, tmp_path, capsys):
    """Check that predicting a table without a trained column is bad input."""
    model = tmp_path / "model.joblib"
    args = ["train", str(csv_file), "--target", "label", "--out", str(model)]
    assert main([*args, *FAST]) == 0
    new = tmp_path / "new.csv"
    pd.read_csv(csv_file).drop(columns="size").to_csv(new, index=False)
    status = main(["predict", str(model), str(new), "--out", str(tmp_path / "p.csv")])
    assert status == 2
    assert "size" in capsys.readouterr().err


# demo -------------------------------------------------------------------------


def test_cli_demo_reports_and_writes_figure(tmp_path, capsys):
    """Check the demo end to end with two epochs per run."""
    plot = tmp_path / "demo.png"
    assert main(["demo", "--plot", str(plot), *FAST]) == 0
    out = capsys.readouterr().out
    assert "MislabelDetector flagged" in out
    assert "precision" in out and "recall" in out
    assert "DMIClassifier (L_DMI)" in out and "cross-entropy" in out
    assert plot.stat().st_size > 0


def test_cli_demo_report_formats_results():
    """Check that the report shows the counts and both accuracies."""
    results = {
        "n_train": 1257,
        "n_mislabeled": 250,
        "n_flagged": 300,
        "precision": 0.8,
        "recall": 0.96,
        "dmi_accuracy": 0.951,
        "ce_accuracy": 0.9,
        "max_epochs": 30,
    }
    report = _demo_report(results)
    assert "1257 training rows of which 250 mislabeled" in report
    assert "flagged 300 rows: precision 0.80, recall 0.96" in report
    assert "0.951" in report and "0.900" in report


def test_cli_predict_refuses_data_of_another_kind(csv_file, npz_file, tmp_path, capsys):
    """Check that a model is not applied to another kind of data.

    A table model on an .npz was refused with "--id applies to CSV and
    Parquet tables" (no --id was given); an .npz model on a table or images
    with scikit-learn's messages about features or dimensions.
    """
    images = _write_images(tmp_path / "images")
    models = {}
    for name, data in [("table", csv_file), ("array", npz_file)]:
        models[name] = tmp_path / f"{name}.joblib"
        argv = ["train", str(data), "--out", str(models[name]), *FAST]
        assert main([*argv, "--target", "label"] if name == "table" else argv) == 0
    cases = [
        ("table", npz_file, "is not one"),
        ("table", images, "is images"),
        ("array", csv_file, "is a table"),
        ("array", images, "is images"),
    ]
    for model, data, message in cases:
        capsys.readouterr()
        out = tmp_path / "predictions.csv"
        assert main(["predict", str(models[model]), str(data), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "predict takes data of the kind the model was trained on" in err
        assert message in err and err.count("\n") == 1
        assert not out.exists()


def test_cli_image_folder_names_the_files_it_does_not_read(tmp_path, capsys):
    """Check that nested images and other files are counted, not dropped silently."""
    folder = _write_images(tmp_path / "images")
    (folder / "circle" / "more").mkdir()
    Image.new("L", (8, 8)).save(folder / "circle" / "more" / "deep.png")
    (folder / "square" / "notes.txt").write_text("not an image")
    (folder / "square" / ".DS_Store").write_bytes(b"hidden")
    out = tmp_path / "ranked.csv"
    assert main(["detect", str(folder), "--out", str(out), *FAST]) == 0
    stdout = capsys.readouterr().out
    assert (
        "Note: 2 file(s) in " in stdout
        and "(1 image(s) outside the class folders themselves, 1 not PNG or JPEG)"
        in stdout
        and "15 images are." in stdout
    )
    assert len(pd.read_csv(out)) == 15
