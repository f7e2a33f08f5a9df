"""How the command line reads the columns of a table, and says so.

:func:`plan_columns` decides, column by column, how a CSV/Parquet table is
read (numeric, date, categorical, text, the row ID, or dropped, and why);
:func:`format_plan` prints that decision; :func:`make_table_preprocessor`
builds the scikit-learn transformer that applies it, so that a saved model
reads new tables the same way. The rules (docs/cli.md, "How table columns
are read"):

- ``--id``, ``--text``, ``--features`` and ``--drop`` are followed as given.
- Empty and constant columns are dropped. Without ``--features``, so is an
  ID-like column: unique values and a name such as ``id``, ``patient_id`` or
  ``PatientID``, or a running number (0, 1, 2, ...); the first ID-like column
  by name that is not a feature (nor named in ``--drop``) is the row ID of
  the outputs when ``--id`` is not given.
- A column whose values are numbers, up to a few tokens such as ``'n/a'`` or
  ``'?'`` (at least 90% numbers), is numeric; the tokens are missing values.
- A column of ISO 8601 dates (``2020-01-31``, at least 90% of the values) is
  read as the number of days since 1970-01-01.
- Missing numbers and dates are imputed with the column's median; a missing
  category is a category of its own.
- Other text columns are one-hot encoded, unless their values are mostly
  unique (more than 20 distinct values, at least half the rows): that is free
  text or an identifier, and the command stops and says to pass ``--text``,
  ``--id`` or ``--drop``.

Heavy modules are imported inside the functions; the transform functions are
module-level so that a pickled model finds them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# TF-IDF vocabulary cap: enough for short texts, and it keeps the first layer
# of the default MLP at about a million weights.
TFIDF_MAX_FEATURES = 5000
# A string column is numeric (or a date) when this share of its non-missing
# values parses as a number (or date); the rest are read as missing.
PARSE_SHARE = 0.9
# A string column with more distinct values than this, and at least
# UNIQUE_SHARE of its rows distinct, is not one-hot encoded.
MAX_CATEGORIES_CHECKED = 20
UNIQUE_SHARE = 0.5
_REPORT_ROWS = 30
_ID_NAMES = {"id", "idx", "index", "key", "uuid", "guid", "unnamed: 0"}
_ID_SUFFIX = re.compile(r"[\s_.\-](id|uuid|guid|key)$|[a-z](ID|Id)$")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
_EPOCH = "1970-01-01"


@dataclass
class Column:
    """How one column is read: its role and a note for the report."""

    name: object
    role: str  # target, id, numeric, date, categorical, text, dropped
    note: str = ""
    id_like: bool = False  # unique values and an ID-like name


# ------------------------------------------------------------------ planning
def plan_columns(df, *, target, text=(), id_column=None, features=None, drop=()):
    """Decide how each column of ``df`` is read; return ``(plan, id_column)``.

    ``id_column`` in the result is the given ``--id``, else the first ID-like
    column by name, else None (the row position).
    """
    _check_named_columns(df, target, text, id_column, features, drop)
    plan, refused = [], []
    for name in df.columns:
        if name == target:
            n_classes = df[name].nunique()
            column = Column(name, "target", f"{n_classes} classes")
        elif name == id_column:
            column = Column(name, "id", "--id" + _duplicates_note(df[name]))
        elif name in text:
            column = Column(name, "text", "TF-IDF (--text)" + _missing(df[name]))
        elif name in drop:
            column = Column(name, "dropped", "--drop")
        elif features is not None and name not in features:
            id_like = _unique(df[name]) and _id_like_name(name)
            column = Column(name, "dropped", "not in --features", id_like)
        else:
            column = _read_as(df[name], name, chosen=features is not None)
            if column.role == "refused":
                refused.append(column)
        plan.append(column)
    if refused:
        raise ValueError(_refusal(refused))
    if id_column is None:
        id_column = _find_id(plan)
    if not any(c.role in _FEATURE_ROLES for c in plan):
        raise ValueError(
            "no feature column is left to learn from: "
            + "; ".join(f"{c.name!r}: {c.role} {c.note}".strip() for c in plan)
        )
    return plan, id_column


_FEATURE_ROLES = ("numeric", "date", "categorical", "text")


def _find_id(plan):
    """Make the first ID-like column that is not a feature the row ID.

    A column left out by ``--features`` qualifies; one named in ``--drop``
    does not. Return its name, or None.
    """
    for column in plan:
        if column.id_like:
            column.role = "id"
            column.note = "ID-like name, unique values: the row ID (--id chooses)"
            return column.name
    return None


def _check_named_columns(df, target, text, id_column, features, drop):
    """Raise for a named column that is not in ``df``, or named twice."""
    available = ", ".join(map(str, list(df.columns)[:20]))
    if len(df.columns) > 20:
        available += f", ... ({len(df.columns)} columns)"
    named = [("--id", [id_column] if id_column is not None else [])]
    named += [("--text", text), ("--features", features or []), ("--drop", drop)]
    for option, columns in named:
        for column in columns:
            if column not in df.columns:
                raise ValueError(
                    f"{option} column {column!r} is not in the table; its "
                    f"columns are: {available}"
                )
            if column == target:
                raise ValueError(
                    f"{option} column {column!r} is the label column (--target)"
                )
    if id_column is not None and id_column in text:
        raise ValueError(f"column {id_column!r} is both --id and --text")
    for column in text:
        if column in drop:
            raise ValueError(f"column {column!r} is both --text and --drop")


def _read_as(series, name, chosen):
    """Return how a feature column is read (role "refused": not readable)."""
    from pandas.api.types import (
        is_bool_dtype,
        is_datetime64_any_dtype,
        is_numeric_dtype,
    )

    values = series.dropna()
    if len(values) == 0:
        return Column(name, "dropped", "empty: every value is missing")
    if series.nunique(dropna=False) == 1:
        return Column(name, "dropped", f"constant ({_show(values.iloc[0])})")
    unique = _unique(series)
    if not chosen and unique and _id_like_name(name):
        return Column(name, "dropped", "ID-like (an ID name, unique values)", True)
    if is_bool_dtype(series):
        return Column(name, "categorical", "true/false" + _missing_category(series))
    if is_numeric_dtype(series):
        if not chosen and unique and _running_number(values):
            return Column(name, "dropped", "ID-like: a running number (0, 1, 2, ...)")
        return Column(name, "numeric", _imputed(int(series.isna().sum())))
    if is_datetime64_any_dtype(series):
        return Column(name, "date", _date_note(series, len(values)))
    return _read_strings(series, values, name)


def _read_strings(series, values, name):
    """Read a column of strings as numbers, dates or categories."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().mean() >= PARSE_SHARE:
        tokens = values[numbers.isna()]
        note = ""
        if len(tokens):
            shown = ", ".join(_show(t) for t in tokens.unique()[:3])
            more = ", ..." if tokens.nunique() > 3 else ""
            note = f"{len(tokens)} non-numeric value(s) ({shown}{more}) read as missing"
        n_missing = len(series) - len(values) + len(tokens)
        return Column(name, "numeric", _join(note, _imputed(n_missing)))
    if _iso_dates(values).notna().mean() >= PARSE_SHARE:
        return Column(name, "date", _date_note(series, len(values)))
    n_unique = values.nunique()
    if n_unique > MAX_CATEGORIES_CHECKED and n_unique >= UNIQUE_SHARE * len(values):
        return Column(name, "refused", f"{n_unique} distinct values in {len(values)}")
    note = f"{n_unique} categories" + _missing_category(series)
    return Column(name, "categorical", note)


def _refusal(refused):
    names = ", ".join(f"{c.name!r} ({c.note})" for c in refused)
    first = refused[0].name
    return (
        f"column(s) {names} hold mostly unique strings; one-hot encoding them "
        f"would make a feature per row. Pass --text {first} to read free text "
        f"(TF-IDF), --id {first} if it identifies rows, or --drop {first}"
    )


def _unique(series):
    """Whether every value is present and different from the others."""
    return bool(series.notna().all() and series.is_unique)


def _id_like_name(name):
    name = str(name)
    return name.strip().lower() in _ID_NAMES or bool(_ID_SUFFIX.search(name))


def _running_number(values):
    from pandas.api.types import is_integer_dtype

    if not is_integer_dtype(values):
        return False
    ordered = values.sort_values().to_numpy()
    return len(ordered) > 2 and bool((ordered[1:] - ordered[:-1] == 1).all())


def _iso_dates(values, check=True):
    """Parse ISO 8601 dates, NaT where a value is not one.

    With ``check``, a column whose first values do not look like dates is not
    parsed at all (NaT throughout): reading a table stays fast.
    """
    import pandas as pd

    strings = values.astype(str)
    if check and strings.head(200).str.match(_ISO_DATE).mean() < PARSE_SHARE:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    return pd.to_datetime(strings, errors="coerce", format="ISO8601", utc=True)


def _date_note(series, n_values):
    dates = _to_datetime(series).dropna()
    note = f"days since {_EPOCH} ({dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d})"
    unparsed = n_values - len(dates)
    if unparsed:
        note += f"; {unparsed} value(s) not ISO dates read as missing"
    return _join(note, _imputed(len(series) - len(dates)))


def _missing(series):
    n = int(series.isna().sum())
    return f"; {n} missing (read as empty text)" if n else ""


def _imputed(n):
    return f"{n} missing (imputed: median)" if n else ""


def _missing_category(series):
    n = int(series.isna().sum())
    return f"; {n} missing (a category of their own)" if n else ""


def _duplicates_note(series):
    n = int(series.duplicated().sum())
    return f"; not unique ({n} repeated value(s))" if n else ""


def _join(*notes):
    return "; ".join(note for note in notes if note)


def _show(value, width=20):
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= width else text[: width - 4] + "...'"


# ------------------------------------------------------------------ report
def format_plan(plan, source, n_rows):
    """Return the report of how each column was read, one line per column."""
    name_width = min(24, max(len(str(c.name)) for c in plan))
    role_width = max(len(c.role) for c in plan)
    lines = [f"Columns of {source} ({n_rows} rows):"]
    shown = plan if len(plan) <= _REPORT_ROWS else plan[: _REPORT_ROWS - 1]
    for column in shown:
        name = str(column.name)
        if len(name) > name_width:
            name = name[: name_width - 3] + "..."
        line = f"  {name:<{name_width}}  {column.role:<{role_width}}  {column.note}"
        lines.append(line.rstrip())
    if len(shown) < len(plan):
        rest = plan[len(shown) :]
        counts = {}
        for column in rest:
            counts[column.role] = counts.get(column.role, 0) + 1
        summary = ", ".join(f"{n} {role}" for role, n in counts.items())
        lines.append(f"  ... and {len(rest)} more columns: {summary}")
    return "\n".join(lines)


# ------------------------------------------------------------ preprocessing
def make_table_preprocessor(plan):
    """Return the ColumnTransformer that reads the columns as ``plan`` says.

    Numbers and dates: coerced (non-numbers and non-dates become missing),
    median-imputed and standardised. Categories: one-hot, unknown categories
    ignored at predict time. Text: TF-IDF. Other columns are not used.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    def scaled(function):
        return make_pipeline(
            FunctionTransformer(function),
            SimpleImputer(strategy="median"),
            StandardScaler(),
        )

    by_role = {
        role: [c.name for c in plan if c.role == role] for role in _FEATURE_ROLES
    }
    steps = [
        ("numeric", scaled(to_numbers), by_role["numeric"]),
        ("date", scaled(to_days), by_role["date"]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), by_role["categorical"]),
    ]
    steps = [step for step in steps if step[2]]
    for k, name in enumerate(by_role["text"]):
        tfidf = TfidfVectorizer(max_features=TFIDF_MAX_FEATURES, sublinear_tf=True)
        steps.append(
            (f"text{k}", make_pipeline(FunctionTransformer(to_text), tfidf), name)
        )
    return ColumnTransformer(steps)


def to_numbers(frame):
    """Return the columns as floats; a value that is not a number is NaN."""
    import pandas as pd

    return frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)


def to_days(frame):
    """Return the columns as days since 1970-01-01; a non-date is NaN."""
    return frame.apply(_days).to_numpy(dtype=float)


def _to_datetime(series):
    import pandas as pd
    from pandas.api.types import is_datetime64_any_dtype

    if is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series, utc=True)
    else:
        dates = _iso_dates(series.dropna(), check=False).reindex(series.index)
    return dates


def _days(series):
    import pandas as pd

    return (_to_datetime(series) - pd.Timestamp(_EPOCH, tz="UTC")) / pd.Timedelta(
        days=1
    )


def to_text(column):
    """Return a text column as strings, a missing value as the empty string."""
    return column.fillna("").astype(str)
