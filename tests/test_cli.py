"""Tests for the sklearn-noisy command line, run through ``main([...])``."""

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from sklearn_noisy.cli import _demo_report, main

Image = pytest.importorskip("PIL.Image")

# Two epochs of small networks: the whole module runs in well under a minute.
FAST = ["--max-epochs", "2"]
_HEAVY = ("torch", "skorch", "sklearn", "pandas", "matplotlib")


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


def _check_ranking(path, n_rows, id_column):
    table = pd.read_csv(path)
    assert list(table.columns) == [
        id_column,
        "given_label",
        "predicted_label",
        "score",
        "flagged",
    ]
    assert len(table) == n_rows
    assert table[id_column].is_unique
    assert table["score"].is_monotonic_increasing  # most suspicious first
    assert table["flagged"].dtype == bool
    if table["flagged"].any():  # flagged rows come first
        assert table["flagged"].iloc[: table["flagged"].sum()].all()
    assert set(table["predicted_label"]) <= set(table["given_label"])
    return table


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
    table = _check_ranking(out, 45, "row")
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


def test_cli_detect_progress_bar_on_stderr(npz_file, tmp_path, capsys):
    """Check that --progress shows a per-epoch bar on stderr."""
    out = tmp_path / "ranked.csv"
    assert main(["detect", str(npz_file), "--out", str(out), "--progress", *FAST]) == 0
    assert "epoch" in capsys.readouterr().err


# errors ---------------------------------------------------------------------


def _bad_inputs(tmp_path):
    """Return {case: (argv, expected message part)}, files made in tmp_path."""
    out = str(tmp_path / "out.csv")
    table = tmp_path / "t.csv"
    _rows().to_csv(table, index=False)
    one_class = tmp_path / "one.csv"
    _rows().assign(label="ant").to_csv(one_class, index=False)
    (tmp_path / "notes.txt").write_text("hello")
    np.savez(tmp_path / "noy.npz", X=np.zeros((4, 2)))
    (tmp_path / "fake.npz").write_text("not a zip")
    images = _write_images(tmp_path / "images")
    (images / "circle" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    detect = ["detect", "--out", out, *FAST]
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
            [*detect, str(table), "--target", "label", "--contamination", "0.9"],
            "contamination",
        ),
        "plot format": (
            [*detect, str(table), "--target", "label", "--plot", "x.unknown"],
            "cannot save a plot",
        ),
        "output folder": (
            ["detect", str(table), "--target", "label", *FAST]
            + ["--out", str(tmp_path / "no" / "dir" / "out.csv")],
            "no folder",
        ),
        "device": (
            [*detect, str(table), "--target", "label", "--device", "gpu7"],
            "gpu7",
        ),
        "bad model": (
            ["predict", str(table), str(table), "--out", out],
            "cannot load a model",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "missing column",
        "missing text column",
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
    ],
)
def test_cli_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    """Check that bad input exits 2 with a one-line message and no traceback."""
    argv, message = _bad_inputs(tmp_path)[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-noisy: error: ")
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


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


def test_cli_train_clean_npz_with_progress(npz_file, tmp_path):
    """Check --clean and that a model trained with a progress bar pickles."""
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
