"""The ``sklearn-noisy`` command line (also ``python -m sklearn_noisy``).

Sub-commands:

- ``demo``: digits with injected pair noise; detection, L_DMI against
  cross-entropy, and a figure.
- ``detect DATA``: rank the rows of a CSV/Parquet table, an ``.npz`` file
  or an image folder by how likely their label is wrong.
- ``train DATA``: fit a noise-robust classifier and save it with joblib.
- ``predict MODEL DATA``: predict with a saved model.

The heavy modules (torch, skorch, scikit-learn, pandas, matplotlib) are
imported inside each sub-command, so ``--help`` answers at once. Bad input
(a missing file or column, a single class, an unreadable image) exits with
status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["main"]

_PROG = "sklearn-noisy"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_METHODS = ("sei", "aum", "loss", "confidence")
_RULES = ("auto", "mixture", "sign", "count", "threshold_samples")
# TF-IDF vocabulary cap: enough for short texts, and it keeps the first layer
# of the default MLP at about a million weights.
_TFIDF_MAX_FEATURES = 5000
# Cross-entropy epochs of the network CleanLabelClassifier fits on the kept
# rows when --max-epochs is not given (DMIClassifier's default max_epochs).
_DEFAULT_CE_EPOCHS = 20
# Demo epochs: the whole demo took 17 s on 2 CPU cores (load average 12).
_DEMO_EPOCHS = 30
_IMAGE_SIZE = 28
# Grey-scale from RGB with the ITU-R 601-2 luma weights, as PIL's convert("L").
_LUMA = (0.299, 0.587, 0.114)


@dataclass
class _Data:
    """Loaded input: features, labels (or None), and one id per row."""

    X: object
    y: object
    ids: object
    id_name: str
    kind: str  # "table", "array" or "images"
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------- reading
def _load(
    path, *, target=None, text=None, image_size=_IMAGE_SIZE, channels=None, labels=True
):
    """Read DATA; ``labels=True`` requires labels, False reads them if present."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        return _read_images(path, image_size, channels, labels)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path, labels)
    if suffix in _TABLE_SUFFIXES:
        return _read_table(path, target, text, labels)
    raise ValueError(
        f"cannot read {path}: expected a .csv, .parquet or .npz file, or a folder "
        f"with one sub-folder of PNG/JPEG images per class"
    )


def _read_table(path, target, text, labels):
    import numpy as np
    import pandas as pd

    read = pd.read_csv if path.suffix.lower() == ".csv" else pd.read_parquet
    df = read(path)
    if target is None and labels:
        raise ValueError(f"name the label column of {path.name} with --target")
    # When predicting, the label column is optional: read it if present.
    required = [("--target", target)] if labels else []
    for option, column in [*required, ("--text", text)]:
        if column is not None and column not in df.columns:
            raise ValueError(
                f"{option} column {column!r} is not in {path.name}; its columns "
                f"are: {', '.join(map(str, df.columns[:20]))}"
            )
    y = df.pop(target) if target in df.columns else None
    if y is not None and y.isna().any():
        raise ValueError(
            f"label column {target!r} of {path.name} has {int(y.isna().sum())} "
            f"missing value(s); drop those rows"
        )
    if df.shape[1] == 0:
        raise ValueError(f"{path.name} has no feature columns besides {target!r}")
    if text is not None:
        df[text] = df[text].fillna("").astype(str)
    y = None if y is None else y.to_numpy()
    info = {"target": target, "text": text}
    return _Data(df, y, np.arange(len(df)), "row", "table", info)


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
        and f.suffix.lower() in _IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in f.relative_to(root).parts)
    ]
    if not files:
        raise ValueError(f"no PNG or JPEG images found in {root}")
    return files


def _read_images(root, size, channels, labels):
    """Read an image folder into ``(n, C, size, size)`` floats in [0, 1]."""
    import numpy as np
    from PIL import Image

    files = _image_files(root, labels)
    rgb = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for k, (file, _) in enumerate(files):
        try:
            with Image.open(file) as image:
                image = image.convert("RGB").resize(
                    (size, size), Image.Resampling.BILINEAR
                )
                rgb[k] = np.asarray(image)
        except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError too
            raise ValueError(
                f"cannot read {file}: not a valid PNG or JPEG image "
                f"({type(exc).__name__})"
            ) from None
    if channels is None:  # grey-scale when every image is
        grey = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        channels = 1 if grey else 3
    X = rgb.astype(np.float32) / 255
    X = X @ np.asarray(_LUMA, dtype=np.float32) if channels == 1 else X
    X = X[:, None] if channels == 1 else X.transpose(0, 3, 1, 2)
    y = [label for _, label in files]
    y = np.asarray(y) if all(label is not None for label in y) else None
    ids = np.asarray([f.relative_to(root).as_posix() for f, _ in files])
    info = {"image_size": size, "channels": channels}
    return _Data(np.ascontiguousarray(X), y, ids, "path", "images", info)


def _preprocessor(data):
    """Return the transformer that turns ``data.X`` into numbers, or None.

    Tables: numeric columns imputed (median) and standardised, the others
    one-hot encoded (unknown categories ignored at predict time), the
    ``--text`` column TF-IDF encoded. Arrays: standardised. Images: none.
    """
    from sklearn.preprocessing import StandardScaler

    if data.kind == "images":
        return None
    if data.kind == "array":
        return StandardScaler()
    from pandas.api.types import is_bool_dtype, is_numeric_dtype
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    text, X = data.info.get("text"), data.X
    columns = [c for c in X.columns if c != text]
    numeric = [c for c in columns if is_numeric_dtype(X[c]) and not is_bool_dtype(X[c])]
    categorical = [c for c in columns if c not in numeric]
    scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    tfidf = TfidfVectorizer(max_features=_TFIDF_MAX_FEATURES, sublinear_tf=True)
    steps = [
        ("numeric", scale, numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
    ]
    steps = [step for step in steps if step[2]]
    if text is not None:
        steps.append(("text", tfidf, text))
    return ColumnTransformer(steps)


# --------------------------------------------------------------- progress
def _epoch_progress_bar(desc=""):
    """Return a skorch callback that shows a tqdm bar over the epochs.

    The class is built here so that importing this module imports neither
    skorch nor tqdm; ``__reduce__`` points pickling back at this function,
    so a model saved with the callback loads again.
    """
    from skorch.callbacks import Callback
    from tqdm import tqdm

    class EpochProgressBar(Callback):
        def __init__(self, desc=""):
            self.desc = desc

        def on_train_begin(self, net, **kwargs):
            self.bar_ = tqdm(
                total=net.max_epochs, desc=self.desc, unit="epoch", leave=False
            )

        def on_epoch_end(self, net, **kwargs):
            self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}")
            self.bar_.update(1)

        def on_train_end(self, net, **kwargs):
            self.bar_.close()
            self.bar_ = None

        def __reduce__(self):
            return (_epoch_progress_bar, (self.desc,))

    return EpochProgressBar(desc)


def _callbacks(args, desc):
    """Return the progress callback list when progress is on, else None."""
    show = args.progress
    if show is None:
        show = sys.stderr.isatty()
    return [_epoch_progress_bar(desc)] if show else None


def _check_device(device):
    """Raise a ValueError for a device string torch cannot use here."""
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a torch device") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device!r}: torch sees no CUDA device here")


def _estimator_kwargs(args, desc):
    _check_device(args.device)
    kwargs = {
        "device": args.device,
        "random_state": args.random_state,
        "callbacks": _callbacks(args, desc),
    }
    if args.max_epochs is not None:
        kwargs["max_epochs"] = args.max_epochs
    return kwargs


# ---------------------------------------------------------------- figures
def _check_out_path(path):
    """Fail before training if ``path`` cannot be written for want of a folder."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: no folder {folder}")


def _check_plot_path(path):
    """Fail before training if matplotlib cannot write ``path``'s format."""
    if path is None:
        return
    _check_out_path(path)
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if Path(path).suffix.lower().lstrip(".") not in formats:
        raise ValueError(
            f"cannot save a plot as {path}: use one of the extensions "
            f"{', '.join('.' + f for f in sorted(formats))}"
        )


def _save_figure(path, draw, shape=(1, 1), figsize=(6, 4)):
    """Call ``draw(axes)`` on a new figure's grid of axes and save it.

    The figure is made without pyplot: no backend is chosen and no figure
    stays open in the calling process.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    draw(figure.subplots(*shape, squeeze=False).ravel())
    figure.savefig(path, dpi=110)


# ------------------------------------------------------------------- demo
def _run_demo(max_epochs=_DEMO_EPOCHS, random_state=0, callbacks=None):
    """Run the demo experiment; return the fitted detector and the numbers.

    ``load_digits`` (scaled to [0, 1]) with 20% pair noise (digit ``i``
    labelled ``i + 1``), split 70/30; MislabelDetector, DMIClassifier and a
    cross-entropy network (the same MLP) train ``max_epochs`` epochs on the
    noisy 70%, and the classifiers are tested on the clean 30%.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import DMIClassifier, MislabelDetector
    from .noise import inject_label_noise, make_transition_matrix

    X, y = load_digits(return_X_y=True)
    X = X / 16
    T = make_transition_matrix(10, 0.2, kind="pair")  # T[i, j] = P(j | true i)
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=random_state)
    X_train, X_test, y_train, _, y_true_train, y_test = train_test_split(
        X, y_noisy, y, test_size=0.3, random_state=random_state, stratify=y
    )
    is_mislabeled = y_train != y_true_train
    common = {"random_state": random_state, "callbacks": callbacks}
    detector = MislabelDetector(
        max_epochs=max_epochs, record_trajectory=True, **common
    ).fit(X_train, y_train)
    dmi = DMIClassifier(max_epochs=max_epochs, **common).fit(X_train, y_train)
    # DMIClassifier without L_DMI epochs is plain cross-entropy on the same MLP.
    ce = DMIClassifier(
        warmup_epochs=max_epochs, max_epochs=0, validation_fraction=None, **common
    ).fit(X_train, y_train)
    flagged = detector.label_issues_
    hits = int(np.count_nonzero(is_mislabeled[flagged]))
    return {
        "detector": detector,
        "is_mislabeled": is_mislabeled,
        "n_train": len(y_train),
        "n_mislabeled": int(is_mislabeled.sum()),
        "n_flagged": len(flagged),
        "precision": hits / max(len(flagged), 1),
        "recall": hits / max(int(is_mislabeled.sum()), 1),
        "dmi_accuracy": float(dmi.score(X_test, y_test)),
        "ce_accuracy": float(ce.score(X_test, y_test)),
        "max_epochs": max_epochs,
    }


def _demo_report(results):
    """Return the demo's report as text (see :func:`_run_demo`)."""
    r = results
    return "\n".join(
        [
            f"Digits, 20% pair noise (digit i labelled i+1), {r['n_train']} training "
            f"rows of which {r['n_mislabeled']} mislabeled; "
            f"{r['max_epochs']} epochs per run.",
            f"MislabelDetector flagged {r['n_flagged']} rows: "
            f"precision {r['precision']:.2f}, recall {r['recall']:.2f}.",
            "Test accuracy on clean labels, trained on the noisy ones:",
            f"  DMIClassifier (L_DMI):  {r['dmi_accuracy']:.3f}",
            f"  cross-entropy, same MLP: {r['ce_accuracy']:.3f}",
        ]
    )


def _cmd_demo(args):
    import torch

    _check_plot_path(args.plot)
    threads = torch.get_num_threads()
    # The demo's MLP is tiny: on a loaded 2-core machine, torch's spinning
    # intra-op threads made it take 190 s against 20 s on one thread.
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    try:
        callbacks = _callbacks(args, "demo")
        results = _run_demo(args.max_epochs, args.random_state, callbacks)
    finally:
        torch.set_num_threads(threads)
    print(_demo_report(results))
    if args.plot:
        from .plotting import MislabelScoreDisplay, TrainingDynamicsDisplay

        detector, mask = results["detector"], results["is_mislabeled"]

        def draw(axes):
            MislabelScoreDisplay.from_estimator(
                detector, is_mislabeled=mask, ax=axes[:2]
            )
            TrainingDynamicsDisplay.from_estimator(detector, mask, ax=axes[2])

        _save_figure(args.plot, draw, shape=(1, 3), figsize=(16, 4.5))
        print(f"Figure written to {args.plot}")
    return 0


# ----------------------------------------------------------------- detect
def _ranking(detector, data):
    """Return the rows as a DataFrame, most suspicious first."""
    import numpy as np
    import pandas as pd

    scores = detector.train_scores_
    table = pd.DataFrame(
        {
            data.id_name: data.ids,
            "given_label": data.y,
            "predicted_label": detector.classes_[detector.train_proba_.argmax(1)],
            "score": scores,
            "flagged": scores < detector.offset_,
        }
    )
    return table.iloc[np.argsort(scores, kind="stable")]


def _detect_summary(detector, ranking, out):
    n, flagged = len(ranking), ranking["flagged"]
    per_class = (
        ranking.groupby("given_label", sort=True)["flagged"]
        .agg(["sum", "size"])
        .astype(int)
    )
    width = max(5, *(len(str(c)) for c in per_class.index))
    lines = [
        f"Flagged {int(flagged.sum())} of {n} rows ({flagged.mean():.1%}) as likely "
        f"mislabeled (method={detector.method}, threshold={detector.offset_:.4g}).",
        f"  {'label':<{width}}  flagged  rows",
    ]
    lines += [
        f"  {str(label):<{width}}  {row['sum']:>7}  {row['size']}"
        for label, row in per_class.iterrows()
    ]
    lines.append(f"Ranked rows written to {out}")
    return "\n".join(lines)


def _cmd_detect(args):
    _check_out_path(args.out)
    _check_plot_path(args.plot)
    data = _load(
        args.data,
        target=args.target,
        text=args.text,
        image_size=args.image_size or _IMAGE_SIZE,
    )
    from . import MislabelDetector

    transformer = _preprocessor(data)
    X = data.X if transformer is None else transformer.fit_transform(data.X)
    detector = MislabelDetector(
        method=args.method,
        contamination=args.contamination,
        **_estimator_kwargs(args, "detect"),
    ).fit(X, data.y)
    ranking = _ranking(detector, data)
    ranking.to_csv(args.out, index=False)
    print(_detect_summary(detector, ranking, args.out))
    if args.plot:
        _save_detect_plots(args.plot, detector, data)
    return 0


def _save_detect_plots(path, detector, data):
    """Save the score histogram; for images, the most suspicious ones next to it."""
    from .plotting import MislabelScoreDisplay, SuspiciousImagesDisplay

    _save_figure(
        path, lambda axes: MislabelScoreDisplay.from_estimator(detector, ax=axes[0])
    )
    print(f"Figure written to {path}")
    if data.kind == "images":
        path = Path(path)
        grid = path.with_name(f"{path.stem}-images{path.suffix}")
        n = min(16, len(data.y))
        n_cols = min(4, n)
        n_rows = -(-n // n_cols)  # ceiling division
        _save_figure(
            grid,
            lambda axes: SuspiciousImagesDisplay.from_estimator(
                detector, data.X, data.y, n=n, axes=axes
            ),
            shape=(n_rows, n_cols),
            figsize=(2 * n_cols, 2.4 * n_rows),
        )
        print(f"Most suspicious images written to {grid}")


# ---------------------------------------------------------- train/predict
def _classifier(args):
    from . import CleanLabelClassifier, DMIClassifier, MislabelDetector

    kwargs = _estimator_kwargs(args, "train")
    if not args.clean:
        return DMIClassifier(**kwargs)
    epochs = kwargs.pop("max_epochs", _DEFAULT_CE_EPOCHS)
    network = DMIClassifier(
        warmup_epochs=epochs, max_epochs=0, validation_fraction=None, **kwargs
    )
    detector = MislabelDetector(max_epochs=epochs, **kwargs)
    return CleanLabelClassifier(estimator=network, detector=detector)


def _cmd_train(args):
    _check_out_path(args.out)
    data = _load(
        args.data,
        target=args.target,
        text=args.text,
        image_size=args.image_size or _IMAGE_SIZE,
    )
    import joblib
    from sklearn.pipeline import Pipeline

    transformer = _preprocessor(data)
    steps = [] if transformer is None else [("preprocess", transformer)]
    model = Pipeline([*steps, ("classifier", _classifier(args))])
    model.fit(data.X, data.y)
    # How `predict` must read new data (ignored by scikit-learn).
    model.cli_input_ = {"kind": data.kind, **data.info}
    joblib.dump(model, args.out)
    print(
        f"Trained {type(model[-1]).__name__} on {len(data.y)} rows "
        f"({len(model.classes_)} classes); model written to {args.out}"
    )
    return 0


def _load_model(path):
    import joblib

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling raises almost anything on a bad file
        raise ValueError(
            f"cannot load a model from {path}; is it a file written by "
            f"'{_PROG} train'? ({type(exc).__name__}: {exc})"
        ) from None
    if not hasattr(model, "predict"):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a model")
    return model


def _cmd_predict(args):
    import numpy as np
    import pandas as pd

    _check_out_path(args.out)
    model = _load_model(args.model)
    info = getattr(model, "cli_input_", {})
    data = _load(
        args.data,
        target=args.target or info.get("target"),
        text=args.text or info.get("text"),
        image_size=args.image_size or info.get("image_size", _IMAGE_SIZE),
        channels=info.get("channels"),
        labels=False,
    )
    if args.target and data.y is None:
        raise ValueError(f"--target column {args.target!r} is not in {args.data}")
    table = pd.DataFrame({data.id_name: data.ids})
    if data.y is not None:
        table["given_label"] = data.y
    table["predicted_label"] = model.predict(data.X)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(data.X)
        for k, label in enumerate(model.classes_):
            table[f"proba_{label}"] = proba[:, k]
    table.to_csv(args.out, index=False)
    print(f"Wrote {len(table)} predictions to {args.out}")
    if data.y is not None:
        given = table["given_label"].astype(str)
        accuracy = np.mean(given == table["predicted_label"].astype(str))
        print(f"Accuracy against the given labels: {accuracy:.3f}")
    return 0


# ----------------------------------------------------------------- parser
def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _contamination(text):
    if text in _RULES:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a float in (0, 0.5] or one of {', '.join(_RULES)}; got {text!r}"
        ) from None


def _add_options(parser, *, data, epochs_help=None, out_help=None):
    """Add the options shared by the sub-commands."""
    if data:
        group = parser.add_argument_group("data")
        group.add_argument("data", metavar="DATA", help="CSV, Parquet, .npz or folder")
        group.add_argument("--target", metavar="COLUMN", help="label column")
        group.add_argument("--text", metavar="COLUMN", help="free-text column (TF-IDF)")
        group.add_argument(
            "--image-size",
            type=_positive_int,
            metavar="PIXELS",
            help=f"resize images to PIXELS x PIXELS (default: {_IMAGE_SIZE}, or the "
            f"size the model was trained on)",
        )
    if out_help:
        parser.add_argument("--out", metavar="FILE", required=True, help=out_help)
    if epochs_help:
        group = parser.add_argument_group("training")
        group.add_argument(
            "--max-epochs", type=_positive_int, metavar="N", help=epochs_help
        )
        group.add_argument("--device", default="cpu", help="torch device (cpu)")
        group.add_argument(
            "--random-state", type=int, default=0, metavar="SEED", help="(0)"
        )
        group.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            help="progress bar on stderr (default: when stderr is a terminal)",
        )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Learning with noisy labels: find mislabeled rows, train "
        "noise-robust classifiers.",
        epilog="DATA is a CSV or Parquet table (with --target), an .npz file with "
        "arrays X and y, or a folder with one sub-folder of PNG/JPEG images per "
        "class. Run '%(prog)s COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo", help="digits with 20%% pair noise: detection, L_DMI vs cross-entropy"
    )
    demo.add_argument(
        "--plot", metavar="FILE", default="sklearn-noisy-demo.png", help="figure"
    )
    _add_options(demo, data=False, epochs_help=f"epochs of each run ({_DEMO_EPOCHS})")
    demo.set_defaults(handler=_cmd_demo, max_epochs=_DEMO_EPOCHS)

    detect = commands.add_parser("detect", help="rank rows by how likely mislabeled")
    _add_options(detect, data=True, epochs_help="training epochs (30)", out_help="CSV")
    detect.add_argument("--method", choices=_METHODS, default="sei", help="score (sei)")
    detect.add_argument(
        "--contamination",
        type=_contamination,
        default="auto",
        help=f"share flagged (a float) or a rule: {', '.join(_RULES)} (auto)",
    )
    detect.add_argument("--plot", metavar="FILE", help="score histogram to write")
    detect.set_defaults(handler=_cmd_detect)

    train = commands.add_parser("train", help="fit a classifier on noisy labels")
    _add_options(train, data=True, epochs_help="training epochs", out_help="model file")
    train.add_argument(
        "--clean",
        action="store_true",
        help="drop the rows MislabelDetector flags, train cross-entropy on the "
        "rest (CleanLabelClassifier); default: L_DMI on all rows (DMIClassifier)",
    )
    train.set_defaults(handler=_cmd_train)

    predict = commands.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", metavar="MODEL", help="file written by train")
    _add_options(predict, data=True, out_help="predictions CSV")
    predict.set_defaults(handler=_cmd_predict)
    return parser


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 on bad input or usage (with a message on stderr),
        1 when an optional dependency is missing.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except ImportError as exc:
        _error(f"{exc} (the command line's extras: pip install 'sklearn-noisy[cli]')")
        return 1
    except (ValueError, TypeError, OSError) as exc:  # FileNotFoundError is OSError
        _error(str(exc))
        return 2


def _error(message):
    message = " ".join(message.split())  # one line, whatever the exception held
    print(f"{_PROG}: error: {message}", file=sys.stderr)
