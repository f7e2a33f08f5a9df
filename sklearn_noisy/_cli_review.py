"""The ``review`` and ``apply`` sub-commands of the command line (issue 10).

``review DATA --out review.html`` fits a MislabelDetector (with its training
dynamics recorded) and writes the review page of the flagged rows;
``apply DATA DECISIONS --out FILE`` applies the decisions exported from the
page to a copy of DATA. The parsers live in :mod:`sklearn_noisy.cli`; heavy
modules are imported inside the functions.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._cli_data import TABLE_SUFFIXES, check_unique_header
from ._cli_output import open_output

_PROG = "sklearn-noisy"


# ------------------------------------------------------------------ review
def _check_unique_ids(data):
    """Refuse IDs that name several rows, before any training.

    The page's decisions are matched back to rows by ID; ``detect`` accepts
    a repeated ``--id`` (its report notes it), ``review`` cannot.
    """
    repeated = _repeated(data.ids)
    if repeated:
        raise ValueError(
            f"--id column {data.id_name!r} has repeated values ({repeated[0]!r} "
            f"and {len(repeated) - 1} more): review matches decisions to rows by "
            f"ID, so each must name one row. Choose a unique column, or leave "
            f"--id out to identify rows by position"
        )


def _repeated(ids):
    """Return the IDs that repeat an earlier one, in order (as text)."""
    seen, repeated = set(), []
    for value in map(str, ids):
        if value in seen:
            repeated.append(value)
        seen.add(value)
    return repeated


def run_review(args):
    """Fit the detector on DATA and write the review page of its suspects."""
    from .cli import _fit_detector, _load_args, _plan_outputs, _print_columns

    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out {args.out}: the review page is HTML; end it in .html")
    _plan_outputs(args, [("--out", args.out)], [args.data])
    data = _load_args(args)
    _check_unique_ids(data)
    _print_columns(args, data)
    from .review import review_page

    # record_trajectory: the page's sparklines.
    detector = _fit_detector(args, data, record_trajectory=True)
    samples, kind, text = _shown_samples(data, Path(args.data))
    page = review_page(
        detector,
        samples,
        data.y,
        ids=data.ids,
        id_name=data.id_name,
        kind=kind,
        text=text,
        n=args.rows,
        title=f"Review of {Path(args.data).name}",
        export_name=_export_name(args.data),
    )
    with open_output(args.out, args.overwrite, binary=True) as file:
        file.write(page.html.encode("utf-8"))
    print(_review_summary(detector, page, args))
    return 0


def _shown_samples(data, path):
    """Return what the page shows of each row: (samples, kind, text column)."""
    if data.kind == "images" and path.is_dir():
        # Thumbnails from the files themselves, sharper than the training size.
        return [str(path / name) for name in data.ids], "images", None
    if data.kind == "images":
        return data.X, "images", None
    text = data.info.get("text") or None
    if isinstance(text, (list, tuple)):
        # The page shows one text large; further text columns are cells.
        text = text[0] if text else None
    return data.X, "table", text


def _export_name(data_path):
    stem = re.sub(r"[^\w.-]", "_", Path(data_path).stem, flags=re.ASCII)[:80]
    return f"{stem or 'data'}-decisions.csv"


def _review_summary(detector, page, args):
    n, flagged = len(detector.train_scores_), len(detector.label_issues_)
    size = Path(args.out).stat().st_size
    size = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{-(-size // 1000)} kB"
    listed = (
        f"the {page.n_rows} most suspicious" if args.rows else f"{page.n_rows} flagged"
    )
    lines = [
        f"Flagged {flagged} of {n} rows ({flagged / n:.1%}) as likely mislabeled "
        f"(method={detector.method}, threshold={detector.offset_:.4g}).",
        f"Review page of {listed} rows written to {args.out} ({size}); open "
        f"it in a browser, decide, and export the decisions.",
    ]
    if page.n_rows == 0:
        lines.append("No row was flagged: use --rows N to review the N lowest scores.")
    from .cli import _trust_report

    lines += _trust_report(detector)
    target = f" --target {args.target}" if args.target else ""
    lines.append(
        f"Then: {_PROG} apply {args.data} {_export_name(args.data)}{target} "
        f"--out CLEANED"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------- apply
def run_apply(args):
    """Apply a decisions file to a copy of DATA."""
    from .cli import _plan_outputs
    from .review import _read_decisions

    _plan_outputs(args, [("--out", args.out)], [args.data, args.decisions])
    data = Path(args.data)
    if not data.exists():
        raise FileNotFoundError(f"{data} does not exist")
    suffix, out_suffix = data.suffix.lower(), Path(args.out).suffix.lower()
    if data.is_dir():
        kind, wanted = "images", (".csv",)
    elif suffix == ".npz":
        kind, wanted = "npz", (".npz",)
    elif suffix in TABLE_SUFFIXES:
        kind, wanted = "table", (".csv",) if suffix == ".csv" else (".parquet", ".pq")
    else:
        raise ValueError(
            f"cannot apply decisions to {data}: expected a .csv, .parquet or .npz "
            f"file, or an image folder"
        )
    if out_suffix not in wanted:
        raise ValueError(
            f"--out {args.out}: the cleaned {kind} of {data.name} is written as "
            f"{' or '.join(wanted)}"
        )
    _, id_name, records = _read_decisions(args.decisions)
    print(
        f"Applying {len(records)} decisions of {args.decisions} to {data}; "
        f"writing {args.out}"
    )
    apply = {"images": _apply_images, "npz": _apply_npz, "table": _apply_table}[kind]
    n_in, n_out = apply(args, data, id_name)
    counts = {d: sum(r[3] == d for r in records) for d in ("keep", "relabel", "drop")}
    print(
        f"Kept {counts['keep']}, relabelled {counts['relabel']}, dropped "
        f"{counts['drop']} of {n_in} rows; {n_out} rows written to {args.out}"
    )
    return 0


def _apply_table(args, data, id_name):
    import pandas as pd

    from .review import apply_decisions

    if args.target is None:
        raise ValueError(f"name the label column of {data.name} with --target")
    is_csv = data.suffix.lower() == ".csv"
    # Labels and IDs as `review` read them; for a CSV, the output is cut from
    # the cells' own text, so only dropped rows and relabelled cells change.
    typed = pd.read_csv(data) if is_csv else pd.read_parquet(data)
    table = pd.read_csv(data, dtype=str, keep_default_na=False) if is_csv else typed
    if args.target not in typed.columns:
        raise ValueError(
            f"--target column {args.target!r} is not in {data.name}; its columns "
            f"are: {', '.join(map(str, typed.columns[:20]))}"
        )
    if is_csv:
        check_unique_header(data)
    # A CSV's IDs as written (review read "00196" as text, not as 196).
    ids = _table_ids(table if is_csv else typed, id_name, data, args.decisions)
    if ids is not None and _repeated(ids):
        raise ValueError(
            f"{args.decisions} identifies rows by {id_name!r}, but that column "
            f"of {data.name} has repeated values: each ID must name one row "
            f"(review refuses such an --id too)"
        )
    y = typed[args.target].to_numpy()
    table = table.reset_index(drop=True)
    cleaned, y_clean = apply_decisions(table, y, args.decisions, ids=ids)
    kept = cleaned.index.to_numpy()
    cleaned = cleaned.copy()
    if is_csv:
        changed = y_clean != y[kept]
        column = cleaned.columns.get_loc(args.target)
        cleaned.iloc[changed.nonzero()[0], column] = [str(v) for v in y_clean[changed]]
        bom, line_end = _csv_layout(data)
        with open_output(args.out, args.overwrite) as file:
            file.write(bom)
            cleaned.to_csv(file, index=False, lineterminator=line_end)
    else:
        cleaned[args.target] = y_clean
        with open_output(args.out, args.overwrite, binary=True) as file:
            cleaned.to_parquet(file, index=False)
    return len(table), len(cleaned)


def _csv_layout(path):
    """Return the byte-order mark ("" or "\ufeff") and line end of a CSV file.

    The cleaned copy keeps them: without its mark, Excel shows a UTF-8 file's
    accented letters garbled.
    """
    with open(path, "rb") as file:
        head = file.read(65536)
    bom = "\ufeff" if head.startswith(b"\xef\xbb\xbf") else ""
    first = head.split(b"\n", 1)[0]
    return bom, "\r\n" if first.endswith(b"\r") else "\n"


def _table_ids(table, id_name, data, decisions):
    """Return the IDs the decisions file refers to: a column, or positions."""
    from ._cli_data import position_name

    if id_name in table.columns:
        return table[id_name].to_numpy()
    position = position_name(table.columns)
    if id_name == position:
        return None
    raise ValueError(
        f"{decisions} identifies rows by {id_name!r}, which is neither a column of "
        f"{data.name} nor {position!r} (the row position)"
    )


def _apply_npz(args, data, id_name):
    import numpy as np

    from ._cli_data import load_data
    from .review import apply_decisions

    if id_name != "row":
        raise ValueError(
            f"{args.decisions} identifies rows by {id_name!r}; the rows of an .npz "
            f"file are identified by 'row' (their position)"
        )
    loaded = load_data(data)
    with np.load(data, allow_pickle=False) as npz:
        X = npz["X"]  # as stored, not as load_data scales images
    X_clean, y_clean = apply_decisions(X, loaded.y, args.decisions)
    with open_output(args.out, args.overwrite, binary=True) as file:
        np.savez_compressed(file, X=X_clean, y=y_clean)
    return len(X), len(X_clean)


def _apply_images(args, data, id_name):
    import csv

    import numpy as np

    from ._cli_data import _image_files
    from .review import apply_decisions

    if id_name != "path":
        raise ValueError(
            f"{args.decisions} identifies rows by {id_name!r}; the images of a "
            f"folder are identified by 'path' (relative to {data})"
        )
    files = _image_files(data, labels=True)
    paths = np.asarray([f.relative_to(data).as_posix() for f, _ in files])
    labels = np.asarray([label for _, label in files])
    kept, new_labels = apply_decisions(paths, labels, args.decisions, ids=paths)
    with open_output(args.out, args.overwrite) as out:
        writer = csv.writer(out)
        writer.writerow(["path", "label"])
        writer.writerows(zip(kept.tolist(), new_labels.tolist(), strict=True))
    return len(paths), len(kept)
