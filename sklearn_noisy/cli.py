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

The reference is docs/cli.md. How table columns are read is decided and
reported by ``_cli_columns``; what is written, and the one rule for existing
files, by ``_cli_output`` (every output is checked before any work starts).
Training reports every epoch on stderr through the estimators' ``verbose``.

The heavy modules (torch, skorch, scikit-learn, pandas, matplotlib) are
imported inside each sub-command, so ``--help`` answers at once. Bad input
(a missing file or column, an output that is an input, a single class, an
unreadable image) exits with status 2 and a one-line message, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._cli_data import IMAGE_SIZE as _IMAGE_SIZE
from ._cli_data import load_data as _load_data
from ._cli_data import make_preprocessor as _preprocessor
from ._cli_output import check_outputs as _check_outputs
from ._cli_output import check_plot_format as _check_plot_format
from ._cli_output import image_grid_path as _image_grid_path
from ._cli_output import open_output as _open_output
from ._cli_output import save_figure as _save_figure
from ._cli_output import write_csv as _write_csv

__all__ = ["main"]

_PROG = "sklearn-noisy"
_METHODS = ("sei", "sei_paper", "aum", "loss", "confidence")
_RULES = ("auto", "mixture", "sign", "count", "threshold_samples")
# Cross-entropy epochs of the network CleanLabelClassifier fits on the kept
# rows when --max-epochs is not given (DMIClassifier's default max_epochs).
_DEFAULT_CE_EPOCHS = 20
# MislabelDetector's and DMIClassifier's default max_epochs, for --help.
_DETECT_EPOCHS = 30
_TRAIN_EPOCHS = 20
# Demo epochs: the whole demo took 17 s on 2 CPU cores (load average 12).
_DEMO_EPOCHS = 30


def _verbose(args):
    """Return the estimators' verbose: progress is on unless --no-progress."""
    return 0 if args.progress is False else 1


def _check_device(device):
    """Raise a ValueError for a device string torch cannot use here."""
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a torch device") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device!r}: torch sees no CUDA device here")


def _estimator_kwargs(args):
    _check_device(args.device)
    kwargs = {
        "device": args.device,
        "random_state": args.random_state,
        "verbose": _verbose(args),
    }
    if args.max_epochs is not None:
        kwargs["max_epochs"] = args.max_epochs
    if getattr(args, "num_workers", None):
        kwargs["num_workers"] = args.num_workers
    return kwargs


def _plan_outputs(args, outputs, inputs, announce=True):
    """Check every output against the inputs and the overwrite rule; say them.

    ``outputs`` is a list of ``(option, path)``; nothing is written, read or
    trained before this passes (see ``_cli_output``).
    """
    _check_outputs(outputs, inputs, overwrite=args.overwrite)
    if announce and outputs:
        print(f"Will write: {', '.join(str(path) for _, path in outputs)}")


# ------------------------------------------------------------------- demo
def _run_demo(max_epochs=_DEMO_EPOCHS, random_state=0, verbose=0):
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
    common = {"random_state": random_state, "verbose": verbose}
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
    if args.plot:
        _check_plot_format(args.plot)
    _plan_outputs(args, [("--plot", args.plot)] if args.plot else [], [])
    # The estimators choose torch's threads themselves (one per process unless
    # SKLEARN_NOISY_NUM_THREADS or OMP_NUM_THREADS says otherwise).
    results = _run_demo(args.max_epochs, args.random_state, _verbose(args))
    print(_demo_report(results))
    if args.plot:
        from .plotting import MislabelScoreDisplay, TrainingDynamicsDisplay

        detector, mask = results["detector"], results["is_mislabeled"]

        def draw(axes):
            MislabelScoreDisplay.from_estimator(
                detector, is_mislabeled=mask, ax=axes[:2]
            )
            TrainingDynamicsDisplay.from_estimator(detector, mask, ax=axes[2])

        _save_figure(args.plot, draw, args.overwrite, shape=(1, 3), figsize=(16, 4.5))
        print(f"Figure written to {args.plot}")
    return 0


# ----------------------------------------------------------------- detect
def _ranking(detector, data):
    """Return the rows as a DataFrame, most suspicious first.

    Columns: the row ID, the given and predicted labels, ``score`` (the
    ``--method`` score that ranks and flags), ``flagged``, then every method's
    score from the same run as ``score_<method>``.
    """
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
    methods = sorted(detector.method_scores_, key=lambda m: m != detector.method)
    for method in methods:
        table[f"score_{method}"] = detector.method_scores_[method]
    return table.iloc[np.argsort(scores, kind="stable")]


def _detect_summary(detector, ranking, out):
    """Return the report printed after ``detect``: counts, cut, per class."""
    n, flagged = len(ranking), ranking["flagged"]
    per_class = (
        ranking.groupby("given_label", sort=True)["flagged"]
        .agg(["sum", "size"])
        .astype(int)
    )
    width = max(5, *(len(str(c)) for c in per_class.index))
    lines = [
        f"Flagged {int(flagged.sum())} of {n} rows ({flagged.mean():.1%}) as likely "
        f"mislabeled (method={detector.method}, "
        f"contamination={detector.contamination}, threshold={detector.offset_:.4g}).",
        "Scores: the lower, the more likely the label is wrong; rows scoring "
        "below the threshold are flagged.",
        f"  {'label':<{width}}  flagged  rows",
    ]
    lines += [
        f"  {str(label):<{width}}  {row['sum']:>7}  {row['size']}"
        for label, row in per_class.iterrows()
    ]
    lines += _trust_report(detector)
    lines.append(f"Ranked rows written to {out}")
    return "\n".join(lines)


# True while main() runs as the program (argv from sys.argv), not called
# from Python: process-wide settings are the program's to change.
_OWN_PROCESS = False


def _load(path, **options):
    """Read DATA, as :func:`~sklearn_noisy._cli_data.load_data` does.

    An image folder read by the program's own process also limits glibc's
    heap fragmentation (:func:`~sklearn_noisy._cli_images.limit_heap_fragmentation`).
    """
    data = _load_data(path, **options)
    if data.streamed and _OWN_PROCESS:
        from ._cli_images import limit_heap_fragmentation

        limit_heap_fragmentation()
    return data


def _load_args(args):
    """Read DATA as the detect and train options describe it."""
    return _load(
        args.data,
        target=args.target,
        text=args.text or (),
        id_column=args.id,
        features=args.features,
        drop=args.drop or (),
        image_size=args.image_size or _IMAGE_SIZE,
    )


def _print_columns(args, data):
    """Print how a table's columns were read (nothing for other inputs)."""
    from ._cli_columns import format_plan

    if data.columns:
        print(format_plan(data.columns, Path(args.data).name, len(data.X)))
    if data.skipped:
        from ._cli_data import IMAGE_SUFFIXES

        images = sum(
            Path(name).suffix.lower() in IMAGE_SUFFIXES for name in data.skipped
        )
        print(
            f"Note: {len(data.skipped)} file(s) in {args.data} are not read "
            f"({images} image(s) outside the class folders themselves, "
            f"{len(data.skipped) - images} not PNG or JPEG), e.g. "
            f"{data.skipped[0]!r}; {len(data.ids)} images are."
        )


def _fit_detector(args, data, **params):
    """Preprocess DATA as its columns were read and fit the detector.

    The detector's trust warnings are not let through as Python warnings:
    they are kept in ``fit_warnings_`` and printed with the summary.
    """
    import warnings

    from . import MislabelDetector, UntrustedRankingWarning

    transformer = _preprocessor(data)
    X = data.X if transformer is None else transformer.fit_transform(data.X)
    # An image folder streams: its items carry their labels.
    y = None if data.streamed else data.y
    detector = MislabelDetector(
        method=args.method,
        contamination=args.contamination,
        **params,
        **_estimator_kwargs(args),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        return detector.fit(X, y)


def _trust_report(detector):
    """Lines on how far the ranking can be trusted (the fit diagnostics)."""
    import math

    lines = [
        f"The network fitted {detector.fit_accuracy_:.1%} of the given labels "
        f"after {detector.n_epochs_} epochs (always predicting the most frequent "
        f"label: {detector.majority_rate_:.1%}); flagged rows it predicted as "
        f"their given label early in training: "
        + (
            "none flagged."
            if math.isnan(detector.flagged_agreement_)
            else f"{detector.flagged_agreement_:.0%}; with a positive SEI over "
            f"training: {detector.flagged_sei_agreement_:.0%}."
        )
    ]
    lines += [f"Warning: {message}" for message in detector.fit_warnings_]
    return lines


def _cmd_detect(args):
    outputs = [("--out", args.out)]
    if args.plot:
        _check_plot_format(args.plot)
        outputs.append(("--plot", args.plot))
    _plan_outputs(args, outputs, [args.data], announce=False)
    data = _load_args(args)
    if args.plot and data.kind == "images":
        outputs.append(("--plot (image grid)", _image_grid_path(args.plot)))
    _plan_outputs(args, outputs, [args.data])
    _print_columns(args, data)
    detector = _fit_detector(args, data)
    ranking = _ranking(detector, data)
    _write_csv(ranking, args.out, args.overwrite)
    print(_detect_summary(detector, ranking, args.out))
    if args.plot:
        _save_detect_plots(args, detector, data)
    return 0


def _save_detect_plots(args, detector, data):
    """Save the score histogram; for images, the most suspicious ones next to it."""
    from .plotting import MislabelScoreDisplay, SuspiciousImagesDisplay

    _save_figure(
        args.plot,
        lambda axes: MislabelScoreDisplay.from_estimator(detector, ax=axes[0]),
        args.overwrite,
    )
    print(f"Figure written to {args.plot}")
    if data.kind == "images":
        grid = _image_grid_path(args.plot)
        n = min(16, len(data.y))
        n_cols = min(4, n)
        n_rows = -(-n // n_cols)  # ceiling division
        _save_figure(
            grid,
            lambda axes: SuspiciousImagesDisplay.from_estimator(
                detector, data.X, data.y, n=n, names=data.ids, axes=axes
            ),
            args.overwrite,
            shape=(n_rows, n_cols),
            figsize=(2.2 * n_cols, 2.6 * n_rows),
        )
        print(f"Most suspicious images written to {grid}")


# ---------------------------------------------------------- train/predict
def _classifier(args):
    from . import CleanLabelClassifier, DMIClassifier, MislabelDetector

    kwargs = _estimator_kwargs(args)
    if not args.clean:
        return DMIClassifier(decision=args.decision, **kwargs)
    epochs = kwargs.pop("max_epochs", _DEFAULT_CE_EPOCHS)
    network = DMIClassifier(
        warmup_epochs=epochs, max_epochs=0, validation_fraction=None, **kwargs
    )
    detector = MislabelDetector(max_epochs=epochs, **kwargs)
    return CleanLabelClassifier(estimator=network, detector=detector)


def _cmd_train(args):
    if args.clean and args.decision != "balanced":
        raise ValueError(
            f"--decision {args.decision} shifts DMIClassifier's two-class "
            f"decision; with --clean the final network is trained with "
            f"cross-entropy. Drop one of the two options."
        )
    _plan_outputs(args, [("--out", args.out)], [args.data], announce=False)
    data = _load_args(args)
    n_classes = len(set(map(str, data.y))) if data.y is not None else 0
    if args.decision != "balanced" and n_classes > 2:
        raise ValueError(
            f"--decision {args.decision} shifts a two-class decision; "
            f"{args.data} has {n_classes} classes. Leave --decision out"
        )
    _plan_outputs(args, [("--out", args.out)], [args.data])
    _print_columns(args, data)
    import joblib
    from sklearn.pipeline import Pipeline

    transformer = _preprocessor(data)
    steps = [] if transformer is None else [("preprocess", transformer)]
    model = Pipeline([*steps, ("classifier", _classifier(args))])
    X, y = data.X, data.y
    if data.streamed and args.clean:
        X = X.to_array()  # CleanLabelClassifier takes arrays
    elif data.streamed:
        y = None  # the streamed images carry their labels
    model.fit(X, y)
    # How `predict` must read new data (ignored by scikit-learn).
    model.cli_input_ = {"kind": data.kind, **data.info}
    with _open_output(args.out, args.overwrite, binary=True) as file:
        joblib.dump(model, file)
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

    _plan_outputs(args, [("--out", args.out)], [args.model, args.data])
    model = _load_model(args.model)
    info = getattr(model, "cli_input_", {})
    _check_kind(args, info.get("kind"), _path_kind(args.data))
    data = _load(
        args.data,
        target=args.target or info.get("target"),
        # The trained ID column is used when the new table has it; an --id
        # given now must be there.
        id_column=args.id or info.get("id"),
        id_required=args.id is not None,
        image_size=args.image_size or info.get("image_size", _IMAGE_SIZE),
        channels=info.get("channels"),
        labels=False,
        plan=False,
    )
    if args.target and data.y is None:
        raise ValueError(f"--target column {args.target!r} is not in {args.data}")
    _check_kind(args, info.get("kind"), data.kind)
    for line in _unreadable_values(model, data.X):
        print(line)
    table = pd.DataFrame({data.id_name: data.ids})
    if data.y is not None:
        table["given_label"] = data.y
    table["predicted_label"] = model.predict(data.X)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(data.X)
        for k, label in enumerate(model.classes_):
            table[f"proba_{label}"] = proba[:, k]
    _write_csv(table, args.out, args.overwrite)
    print(f"Wrote {len(table)} predictions to {args.out}")
    if data.y is not None:
        given = table["given_label"].astype(str)
        accuracy = np.mean(given == table["predicted_label"].astype(str))
        print(f"Accuracy against the given labels: {accuracy:.3f}")
    return 0


_KINDS = {
    "table": "a table (CSV or Parquet)",
    "array": "a 2-D array X (.npz)",
    "images": "images (a folder, or a 4-D array X in an .npz)",
}


def _path_kind(path):
    """Return the kind of DATA before reading it: None for an .npz.

    A path that does not exist is None too: reading it says so.
    """
    from ._cli_data import TABLE_SUFFIXES

    path = Path(path)
    if path.is_dir():
        return "images"
    is_table = path.is_file() and path.suffix.lower() in TABLE_SUFFIXES
    return "table" if is_table else None


def _check_kind(args, trained, given):
    """Refuse data of another kind than the model was trained on.

    Called with the kind of DATA's path before reading it (an .npz is known
    once read) and with the kind read. Other kinds met a message about --id
    or the number of features.
    """
    if trained not in _KINDS or given == trained:
        return  # also a model from an older version: the model decides
    if given is None and trained != "table":
        return  # an .npz against an array or image model: known once read
    what = _KINDS[given] if given is not None else "not one"
    raise ValueError(
        f"{args.model} was trained on {_KINDS[trained]}, and {args.data} is "
        f"{what}: predict takes data of the kind the model was trained on"
    )


def _unreadable_values(model, X):
    """Lines naming the number and date cells of new data that do not read.

    Such a cell is filled with the training median, as a missing one is: a
    column of text where numbers were trained gave 0.55 accuracy instead of
    0.75, and said nothing.
    """
    import numpy as np
    from sklearn.compose import ColumnTransformer

    from ._cli_columns import to_days, to_numbers

    preprocess = getattr(model, "named_steps", {}).get("preprocess")
    if not isinstance(preprocess, ColumnTransformer):
        return []
    readers = {"numeric": (to_numbers, "numbers"), "date": (to_days, "dates")}
    lines = []
    for name, _, columns in preprocess.transformers_:
        if name not in readers:
            continue
        read, what = readers[name]
        # A missing column is refused by the model itself, with its name.
        columns = [c for c in columns if c in getattr(X, "columns", ())]
        if not columns:
            continue
        frame = X[columns]
        unread = frame.notna().to_numpy() & np.isnan(read(frame))
        for k, column in enumerate(columns):
            if unread[:, k].any():
                example = frame[column][unread[:, k]].iloc[0]
                lines.append(
                    f"Note: {int(unread[:, k].sum())} of {len(X)} values of column "
                    f"{column!r} are not {what} (e.g. {example!r}); they were "
                    f"filled in with the training median."
                )
    return lines


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
    """Parse --contamination: a rule, a number of rows (int) or a share (float)."""
    if text in _RULES:
        return text
    if text.isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share in (0, 0.5], a number of rows or one of "
            f"{', '.join(_RULES)}; got {text!r}"
        ) from None


def _columns(text):
    """Parse a comma-separated list of column names (the option may repeat)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names, got {text!r}")
    return names


_OUT_RULE = (
    "An existing file is not replaced unless --overwrite is given; no output "
    "may be an input."
)


def _add_options(parser, *, data, epochs_help=None, out_help=None, columns=True):
    """Add the options shared by the sub-commands."""
    if data:
        group = parser.add_argument_group("data")
        group.add_argument("data", metavar="DATA", help="CSV, Parquet, .npz or folder")
        if columns:
            target_help = "label column of a table (required for tables)"
            id_help = (
                "column that identifies rows, copied into the outputs and not "
                "used as a feature (default: an ID-like column such as 'id' or "
                "'patient_id', else the row position)"
            )
        else:  # predict: the model knows how its data were read
            target_help = (
                "label column, to report the accuracy against it (default: the "
                "training label column, when the table has it)"
            )
            id_help = (
                "column that identifies rows, copied into the output (default: "
                "the training ID column when the table has it, else the row "
                "position)"
            )
        group.add_argument("--target", metavar="COLUMN", help=target_help)
        group.add_argument("--id", metavar="COLUMN", help=id_help)
        if columns:
            group.add_argument(
                "--text",
                metavar="COLUMN",
                type=_columns,
                action="extend",
                help="free-text column(s), read as TF-IDF (repeat or separate by "
                "commas; default: none)",
            )
            selection = group.add_mutually_exclusive_group()
            selection.add_argument(
                "--features",
                metavar="COLUMNS",
                type=_columns,
                action="extend",
                help="use only these columns as features, comma-separated "
                "(default: all but the label, ID and dropped columns)",
            )
            selection.add_argument(
                "--drop",
                metavar="COLUMNS",
                type=_columns,
                action="extend",
                help="columns not to use, comma-separated (default: none)",
            )
        group.add_argument(
            "--image-size",
            type=_positive_int,
            metavar="PIXELS",
            help=f"resize images to PIXELS x PIXELS; an image folder is decoded "
            f"one image at a time as training reads it (default: {_IMAGE_SIZE}, "
            f"or the size the model was trained on)",
        )
    output = parser.add_argument_group("output")
    if out_help:
        output.add_argument("--out", metavar="FILE", required=True, help=out_help)
    output.add_argument(
        "--overwrite",
        action="store_true",
        help="replace output files that exist (default: refuse, exit 2)",
    )
    if epochs_help:
        group = parser.add_argument_group("training")
        group.add_argument(
            "--max-epochs", type=_positive_int, metavar="N", help=epochs_help
        )
        group.add_argument(
            "--device", default="cpu", help="torch device, e.g. cuda (default: cpu)"
        )
        group.add_argument(
            "--num-workers",
            type=int,
            default=0,
            metavar="N",
            help="processes that decode the images of an image folder while the "
            "network trains (default: 0, decode in the training process)",
        )
        group.add_argument(
            "--random-state",
            type=int,
            default=0,
            metavar="SEED",
            help="seed of every random choice (default: 0)",
        )
        group.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            help="report every training epoch on stderr: a bar on a terminal, "
            "one line per epoch otherwise (default: on)",
        )


def _add_detector_options(parser):
    """Add the detector's --method and --contamination (detect, review)."""
    parser.add_argument(
        "--method",
        choices=_METHODS,
        default="sei",
        help="the score that ranks and flags (default: %(default)s)",
    )
    parser.add_argument(
        "--contamination",
        type=_contamination,
        default="auto",
        metavar="RULE|SHARE|ROWS",
        help=f"which rows to flag: a rule ({', '.join(_RULES)}), a share in "
        "(0, 0.5] such as 0.1, or a number of rows such as 50 (default: auto = "
        "count: confident learning's count on the first epochs' probabilities, "
        "at most the rows the network then disagrees with)",
    )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Learning with noisy labels: find mislabeled rows, train "
        "noise-robust classifiers.",
        epilog="DATA is a CSV or Parquet table (with --target), an .npz file with "
        "arrays X and y, or a folder with one sub-folder of PNG/JPEG images per "
        "class. " + _OUT_RULE + " Run '%(prog)s COMMAND --help' for a command's "
        "options; the full reference is the documentation's command-line page.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="digits with 20%% pair noise: detection, L_DMI vs cross-entropy",
        description="Digits with 20%% pair noise: MislabelDetector's precision "
        "and recall, and DMIClassifier against cross-entropy on clean test "
        "labels. " + _OUT_RULE,
    )
    demo.add_argument(
        "--plot",
        metavar="FILE",
        default="sklearn-noisy-demo.png",
        help="figure to write (default: %(default)s)",
    )
    _add_options(
        demo, data=False, epochs_help=f"epochs of each run (default: {_DEMO_EPOCHS})"
    )
    demo.set_defaults(handler=_cmd_demo, max_epochs=_DEMO_EPOCHS)

    detect = commands.add_parser(
        "detect",
        help="rank rows by how likely mislabeled",
        description="Train MislabelDetector once and rank the rows of DATA by "
        "how likely their label is wrong (the lower the score, the more "
        "likely). " + _OUT_RULE,
    )
    _add_options(
        detect,
        data=True,
        epochs_help=f"training epochs (default: {_DETECT_EPOCHS})",
        out_help="ranking CSV to write, most suspicious row first (required)",
    )
    _add_detector_options(detect)
    detect.add_argument(
        "--plot",
        metavar="FILE",
        help="score histogram to write; for images also FILE-images.EXT, the "
        "most suspicious images (default: none)",
    )
    detect.set_defaults(handler=_cmd_detect)

    train = commands.add_parser(
        "train",
        help="fit a classifier on noisy labels",
        description="Fit a noise-robust classifier on DATA and save it, with "
        "the way DATA was read, for predict. " + _OUT_RULE,
    )
    _add_options(
        train,
        data=True,
        epochs_help=f"L_DMI epochs after the warm-up (default: {_TRAIN_EPOCHS}); "
        f"with --clean, the epochs of the detector and of the network (default: "
        f"{_DEFAULT_CE_EPOCHS})",
        out_help="model file to write (joblib; required)",
    )
    train.add_argument(
        "--clean",
        action="store_true",
        help="drop the rows MislabelDetector flags, train cross-entropy on the "
        "rest (CleanLabelClassifier) (default: L_DMI on all rows, DMIClassifier)",
    )
    train.add_argument(
        "--decision",
        choices=["balanced", "accuracy"],
        default="balanced",
        help="two classes only: 'balanced' keeps L_DMI's own decision (best "
        "balanced accuracy); 'accuracy' shifts it to the best accuracy on the "
        "true labels, estimated on the validation split through the estimated "
        "noise matrix (DMIClassifier(decision=...); default: balanced)",
    )
    train.set_defaults(handler=_cmd_train)

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict DATA with a model written by train; DATA is read "
        "as the training data was. " + _OUT_RULE,
    )
    predict.add_argument("model", metavar="MODEL", help="file written by train")
    _add_options(
        predict,
        data=True,
        out_help="predictions CSV to write (required)",
        columns=False,
    )
    predict.set_defaults(handler=_cmd_predict)

    review = commands.add_parser(
        "review",
        help="write an HTML page to review the flagged rows",
        description="Train MislabelDetector as detect does and write one "
        "self-contained HTML page of the flagged rows, to keep, relabel or drop "
        "each one and export the decisions for apply. " + _OUT_RULE,
    )
    _add_options(
        review,
        data=True,
        epochs_help=f"training epochs (default: {_DETECT_EPOCHS})",
        out_help="HTML page to write (required)",
    )
    _add_detector_options(review)
    review.add_argument(
        "--rows",
        type=_positive_int,
        metavar="N",
        help="list the N most suspicious rows, flagged or not (default: the flagged)",
    )
    review.set_defaults(handler=_cmd_review)

    apply = commands.add_parser(
        "apply",
        help="apply the decisions exported from a review page",
        description="Write a cleaned copy of DATA with the decisions of a "
        "review page applied: dropped rows removed, relabelled rows with their "
        "new label. " + _OUT_RULE,
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
    apply.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the output file if it exists (default: refuse, exit 2)",
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
    global _OWN_PROCESS
    _OWN_PROCESS = argv is None
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
