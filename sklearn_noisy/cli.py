"""The ``sklearn-noisy`` command line (also ``python -m sklearn_noisy``).

Sub-commands:

- ``demo``: digits with injected pair noise; detection, L_DMI against
  cross-entropy, and a figure.
- ``detect DATA``: rank the rows of a CSV/Parquet table, an ``.npz`` file
  or an image folder by how likely their label is wrong.
- ``train DATA``: fit a noise-robust classifier and save it with joblib.
- ``predict MODEL DATA``: predict with a saved model.
- ``review DATA``: write an HTML page to review the flagged rows and export
  decisions (keep, relabel, drop) as CSV.
- ``apply DATA DECISIONS``: apply those decisions to a copy of DATA.

The heavy modules (torch, skorch, scikit-learn, pandas, matplotlib) are
imported inside each sub-command, so ``--help`` answers at once. Bad input
(a missing file or column, a single class, an unreadable image) exits with
status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._cli_data import IMAGE_SIZE as _IMAGE_SIZE
from ._cli_data import load_data as _load
from ._cli_data import make_preprocessor as _preprocessor

__all__ = ["main"]

_PROG = "sklearn-noisy"
_METHODS = ("sei", "aum", "loss", "confidence")
_RULES = ("auto", "mixture", "sign", "count", "threshold_samples")
# Cross-entropy epochs of the network CleanLabelClassifier fits on the kept
# rows when --max-epochs is not given (DMIClassifier's default max_epochs).
_DEFAULT_CE_EPOCHS = 20
# Demo epochs: the whole demo took 17 s on 2 CPU cores (load average 12).
_DEMO_EPOCHS = 30


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


def _load_args(args):
    """Read DATA as the detect and train options describe it."""
    return _load(
        args.data,
        target=args.target,
        text=args.text,
        image_size=args.image_size or _IMAGE_SIZE,
    )


def _cmd_detect(args):
    _check_out_path(args.out)
    _check_plot_path(args.plot)
    data = _load_args(args)
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
    data = _load_args(args)
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


# ---------------------------------------------------------- review/apply
def _cmd_review(args):
    from ._cli_review import run_review

    return run_review(args)


def _cmd_apply(args):
    from ._cli_review import run_apply

    return run_apply(args)


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

    review = commands.add_parser(
        "review", help="write an HTML page to review the flagged rows"
    )
    _add_options(
        review, data=True, epochs_help="training epochs (30)", out_help="HTML page"
    )
    review.add_argument("--method", choices=_METHODS, default="sei", help="score (sei)")
    review.add_argument(
        "--contamination",
        type=_contamination,
        default="auto",
        help=f"share flagged (a float) or a rule: {', '.join(_RULES)} (auto)",
    )
    review.add_argument(
        "--rows",
        type=_positive_int,
        metavar="N",
        help="list the N most suspicious rows, flagged or not (default: the flagged)",
    )
    review.set_defaults(handler=_cmd_review)

    apply = commands.add_parser(
        "apply", help="apply the decisions exported from a review page"
    )
    apply.add_argument("data", metavar="DATA", help="the data that was reviewed")
    apply.add_argument(
        "decisions", metavar="DECISIONS", help="CSV exported from the review page"
    )
    apply.add_argument("--target", metavar="COLUMN", help="label column (tables)")
    apply.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="cleaned copy: a CSV/Parquet table like DATA, an .npz, or for an "
        "image folder a CSV of path,label",
    )
    apply.set_defaults(handler=_cmd_apply)
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
