"""Tests for the Display classes of sklearn_noisy.plotting."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_noisy import MislabelDetector  # noqa: E402
from sklearn_noisy.noise import (  # noqa: E402
    inject_label_noise,
    make_transition_matrix,
)
from sklearn_noisy.plotting import (  # noqa: E402
    MislabelScoreDisplay,
    SuspiciousImagesDisplay,
    TrainingDynamicsDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def noisy_digits(digits):
    """Return 400 digits, their pair-noised labels and the mislabeled mask."""
    X, y = digits[0][:400], digits[1][:400]
    T = make_transition_matrix(10, 0.2, kind="pair")
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=0)
    return X, y_noisy, y_noisy != y


@pytest.fixture(scope="module")
def detector(noisy_digits):
    """Return a detector fitted (3 epochs) with the trajectory recorded."""
    X, y_noisy, _ = noisy_digits
    return MislabelDetector(
        max_epochs=3, record_trajectory=True, random_state=0, module__hidden_units=(32,)
    ).fit(X, y_noisy)


@pytest.fixture(scope="module")
def detector_without_trajectory(noisy_digits):
    X, y_noisy, _ = noisy_digits
    return MislabelDetector(
        max_epochs=2, random_state=0, module__hidden_units=(32,)
    ).fit(X, y_noisy)


# MislabelScoreDisplay ---------------------------------------------------------


def test_mislabel_score_display_from_estimator_draws_histogram_and_threshold(
    detector,
):
    """Check that one axes holds the histogram and a line at offset_."""
    display = MislabelScoreDisplay.from_estimator(detector, bins=20)
    assert len(display.figure_.axes) == 1
    assert display.ax_pr_ is None and display.pr_line_ is None
    assert len(display.hist_) == 1
    assert len(display.hist_[0].patches) == 20
    heights = [patch.get_height() for patch in display.hist_[0].patches]
    assert sum(heights) == len(detector.train_scores_)
    assert display.threshold_line_.get_xdata()[0] == pytest.approx(detector.offset_)
    assert "sei" in display.ax_.get_xlabel()


def test_mislabel_score_display_with_truth_draws_two_histograms_and_pr(
    detector, noisy_digits
):
    """Check that a known mask adds a clean/mislabeled split and a PR axes."""
    is_mislabeled = noisy_digits[2]
    display = MislabelScoreDisplay.from_estimator(detector, is_mislabeled=is_mislabeled)
    assert len(display.figure_.axes) == 2
    assert display.ax_pr_ is display.figure_.axes[1]
    clean, wrong = display.hist_
    assert sum(p.get_height() for p in clean.patches) == np.sum(~is_mislabeled)
    assert sum(p.get_height() for p in wrong.patches) == np.sum(is_mislabeled)
    assert display.threshold_line_.get_xdata()[0] == pytest.approx(detector.offset_)
    recall, precision = display.pr_line_.get_data()
    assert recall.min() >= 0 and recall.max() == pytest.approx(1.0)
    assert 0 < display.average_precision_ <= 1


def test_mislabel_score_display_single_axes_skips_pr_curve(detector, noisy_digits):
    """Check that a single Axes gets the histograms only."""
    _, ax = plt.subplots()
    display = MislabelScoreDisplay.from_estimator(
        detector, is_mislabeled=noisy_digits[2], ax=ax
    )
    assert display.ax_ is ax and display.ax_pr_ is None
    assert display.pr_line_ is None and display.average_precision_ is not None


def test_mislabel_score_display_from_estimator_scores_given_rows(
    detector, noisy_digits
):
    """Check that X restricts the plot to those training rows."""
    X = noisy_digits[0][:50]
    display = MislabelScoreDisplay.from_estimator(detector, X)
    np.testing.assert_allclose(display.scores, detector.score_samples(X))
    assert sum(p.get_height() for p in display.hist_[0].patches) == 50


def test_mislabel_score_display_from_predictions_without_offset():
    """Check that scores alone plot without a threshold line."""
    scores = np.linspace(-1, 1, 50)
    display = MislabelScoreDisplay.from_predictions(scores, method="loss")
    assert display.threshold_line_ is None
    assert display.offset is None
    assert "loss" in display.ax_.get_xlabel()


def test_mislabel_score_display_all_clean_mask_has_no_pr_curve():
    """Check that a mask without any mislabeled sample draws no PR curve."""
    scores = np.linspace(-1, 1, 50)
    display = MislabelScoreDisplay.from_predictions(
        scores, offset=0.0, is_mislabeled=np.zeros(50, dtype=bool)
    )
    assert display.ax_pr_ is None and display.average_precision_ is None
    assert len(display.figure_.axes) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scores": [[1.0, 2.0]]}, "1-D array"),
        ({"scores": [0.0, np.nan]}, "finite"),
        ({"scores": [0.0, 1.0], "is_mislabeled": [True]}, "is_mislabeled"),
        ({"scores": [0.0, 1.0], "is_mislabeled": [2, 0]}, "is_mislabeled"),
    ],
)
def test_mislabel_score_display_bad_input_raises(kwargs, match):
    """Check that malformed scores or masks raise a ValueError naming them."""
    with pytest.raises(ValueError, match=match):
        MislabelScoreDisplay.from_predictions(**kwargs)


def test_mislabel_score_display_unfitted_detector_raises():
    """Check that an unfitted detector raises a ValueError that says fit."""
    with pytest.raises(ValueError, match="fit"):
        MislabelScoreDisplay.from_estimator(MislabelDetector())


def test_mislabel_score_display_three_axes_raise(detector):
    """Check that ax must be one Axes or a pair."""
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="pair of Axes"):
        MislabelScoreDisplay.from_estimator(detector, ax=axes)


# TrainingDynamicsDisplay ------------------------------------------------------


def test_training_dynamics_display_plots_mean_against_variability(detector):
    """Check that every sample is a point at (std, mean) of its trajectory."""
    display = TrainingDynamicsDisplay.from_estimator(detector)
    assert sorted(display.scatters_) == ["flagged", "kept"]
    flagged = display.scatters_["flagged"].get_offsets()
    kept = display.scatters_["kept"].get_offsets()
    assert len(flagged) + len(kept) == len(detector.train_scores_)
    assert len(flagged) == len(detector.label_issues_)
    trajectory = detector.trajectory_.astype(np.float64)
    is_flagged = detector.train_scores_ < detector.offset_
    np.testing.assert_allclose(flagged[:, 0], trajectory[is_flagged].std(axis=1))
    np.testing.assert_allclose(flagged[:, 1], trajectory[is_flagged].mean(axis=1))
    assert "variability" in display.ax_.get_xlabel()


def test_training_dynamics_display_with_truth_has_four_groups(detector, noisy_digits):
    """Check that a known mask splits the points into four groups."""
    display = TrainingDynamicsDisplay.from_estimator(detector, noisy_digits[2])
    assert len(display.scatters_) == 4
    n_points = sum(len(s.get_offsets()) for s in display.scatters_.values())
    assert n_points == len(detector.train_scores_)
    n_found = len(display.scatters_["mislabeled, flagged"].get_offsets())
    assert n_found == np.sum(
        noisy_digits[2] & (detector.train_scores_ < detector.offset_)
    )


def test_training_dynamics_display_without_trajectory_raises(
    detector_without_trajectory,
):
    """Check that a detector fit without record_trajectory raises clearly."""
    with pytest.raises(ValueError, match="record_trajectory=True"):
        TrainingDynamicsDisplay.from_estimator(detector_without_trajectory)


# SuspiciousImagesDisplay ------------------------------------------------------


def test_suspicious_images_display_titles_show_given_and_predicted(
    detector, noisy_digits
):
    """Check that the n lowest-scoring images are shown with both labels."""
    X, y_noisy, _ = noisy_digits
    display = SuspiciousImagesDisplay.from_estimator(detector, X, y_noisy, n=5)
    order = np.argsort(detector.train_scores_, kind="stable")[:5]
    np.testing.assert_array_equal(display.indices, order)
    assert len(display.images_) == 5
    assert display.axes_.shape == (2, 3)  # the sixth cell is switched off
    assert not display.axes_[1, 2].axison
    predicted = detector.classes_[detector.train_proba_.argmax(axis=1)]
    for ax, i in zip(display.axes_.ravel()[:5], order, strict=True):
        title = ax.get_title()
        assert f"given: {y_noisy[i]}" in title
        assert f"predicted: {predicted[i]}" in title
    assert display.images_[0].get_array().shape == (8, 8)


def test_suspicious_images_display_accepts_channels_first(detector, noisy_digits):
    """Check that (n, 3, H, W) images are shown as colour images."""
    X, y_noisy, _ = noisy_digits
    images = np.repeat(X.reshape(-1, 1, 8, 8), 3, axis=1)
    display = SuspiciousImagesDisplay.from_estimator(
        detector, images, y_noisy, n=2, n_cols=2
    )
    assert display.axes_.shape == (1, 2)
    assert display.images_[0].get_array().shape == (8, 8, 3)


def test_suspicious_images_display_titles_show_names(detector, noisy_digits):
    """Check that names (file names) replace the row index in the titles."""
    X, y_noisy, _ = noisy_digits
    names = np.array(
        [f"class_{y}/scan_{k:04d}.png" for k, y in enumerate(y_noisy)], dtype=object
    )
    names[np.argsort(detector.train_scores_, kind="stable")[0]] = "a/" + "x" * 40
    display = SuspiciousImagesDisplay.from_estimator(
        detector, X, y_noisy, n=3, names=names
    )
    titles = [ax.get_title() for ax in display.axes_.ravel()[:3]]
    assert titles[0].startswith("\u2026xxx") and len(titles[0].split("\n")[0]) == 24
    for title, i in zip(titles[1:], display.indices[1:], strict=True):
        assert title.startswith(names[i] + "\n")
        assert "#" not in title
    with pytest.raises(ValueError, match="'names' parameter"):
        SuspiciousImagesDisplay.from_estimator(detector, X, y_noisy, names=names[:3])


@pytest.mark.parametrize(
    "images, n, match",
    [
        (np.zeros((5, 64)), 4, "training data"),
        (np.zeros((400, 63)), 4, "square image"),
        (np.zeros((400, 8, 8)), 0, "'n' parameter"),
    ],
)
def test_suspicious_images_display_bad_input_raises(
    detector, noisy_digits, images, n, match
):
    """Check that mismatched or non-image input raises a ValueError."""
    with pytest.raises(ValueError, match=match):
        SuspiciousImagesDisplay.from_estimator(detector, images, noisy_digits[1], n=n)


# matplotlib missing -------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda det, data: MislabelScoreDisplay.from_estimator(det),
        lambda det, data: TrainingDynamicsDisplay.from_estimator(det),
        lambda det, data: SuspiciousImagesDisplay.from_estimator(det, data[0], data[1]),
    ],
    ids=["scores", "dynamics", "images"],
)
def test_displays_without_matplotlib_raise_import_error(
    monkeypatch, detector, noisy_digits, draw
):
    """Check that a missing matplotlib raises an ImportError that says how."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        draw(detector, noisy_digits)
