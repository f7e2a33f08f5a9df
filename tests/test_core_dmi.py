"""Tests for the L_DMI loss of sklearn_noisy._core.dmi."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import sklearn_noisy
from sklearn_noisy._core.dmi import DMILoss, dmi_loss, dmi_matrix, swapped_classes

# database=None: keep hypothesis from writing .hypothesis/ into the checkout.
HYPOTHESIS_SETTINGS = settings(
    max_examples=50, deadline=None, database=None, derandomize=True
)
EPS = 1e-3


def _reference_dmi_matrix(logits, target):
    """Slow, row-by-row U = onehot(target)^T softmax(logits) in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    n_classes = logits.shape[1]
    U = np.zeros((n_classes, n_classes))
    for row, label in zip(logits, target, strict=True):
        proba = np.exp(row - row.max())
        U[label] += proba / proba.sum()
    return U


def _reference_dmi_loss(logits, target, eps=EPS):
    """Slow L_DMI = -log(|det U| + eps), transcribed from Xu et al. (2019)."""
    return -np.log(abs(np.linalg.det(_reference_dmi_matrix(logits, target))) + eps)


def _reference_dmi_loss_large(logits, target, eps=EPS):
    """-log(|det U| + eps) via the log-determinant, for U whose det overflows."""
    U = _reference_dmi_matrix(logits, target)
    return -np.logaddexp(np.linalg.slogdet(U)[1], np.log(eps))


def _batch(seed, n_samples, n_classes, scale=1.0, dtype=torch.float64):
    """Random logits and targets holding every class at least once."""
    rng = np.random.default_rng(seed)
    target = np.concatenate(
        [np.arange(n_classes), rng.integers(n_classes, size=n_samples - n_classes)]
    )
    logits = scale * rng.standard_normal((n_samples, n_classes))
    return torch.tensor(logits, dtype=dtype), torch.tensor(target)


# value and gradient against the NumPy reference -----------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_samples, n_classes", [(8, 2), (32, 3), (128, 10)])
def test_dmi_loss_matches_reference(seed, n_samples, n_classes):
    """Check that dmi_loss equals the slow NumPy reference in float64."""
    logits, target = _batch(seed, n_samples, n_classes, scale=3.0)
    loss = dmi_loss(logits, target)
    assert loss.dtype == torch.float64
    expected = _reference_dmi_loss(logits.numpy(), target.numpy())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_dmi_loss_float32_matches_reference(seed):
    """Check that float32 logits give a float32 loss close to the reference."""
    logits, target = _batch(seed, 64, 4, scale=2.0, dtype=torch.float32)
    loss = dmi_loss(logits, target)
    assert loss.dtype == torch.float32
    expected = _reference_dmi_loss(logits.numpy(), target.numpy())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_dmi_matrix_matches_reference(seed):
    """Check that dmi_matrix holds raw counts: row sums are the class counts."""
    logits, target = _batch(seed, 40, 5)
    U = dmi_matrix(logits, target).numpy()
    np.testing.assert_allclose(
        U, _reference_dmi_matrix(logits.numpy(), target.numpy()), rtol=1e-12
    )
    np.testing.assert_allclose(U.sum(1), np.bincount(target.numpy(), minlength=5))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n_samples, n_classes", [(12, 2), (30, 4)])
def test_dmi_loss_gradient_matches_finite_differences(seed, n_samples, n_classes):
    """Check that the gradient w.r.t. logits matches NumPy central differences."""
    logits, target = _batch(seed, n_samples, n_classes, scale=2.0)
    logits.requires_grad_(True)
    dmi_loss(logits, target).backward()

    x, t, h = logits.detach().numpy(), target.numpy(), 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (
            _reference_dmi_loss(plus, t) - _reference_dmi_loss(minus, t)
        ) / (2 * h)
    np.testing.assert_allclose(logits.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_dmi_loss_gradcheck(seed):
    """Check that torch.autograd.gradcheck passes in float64."""
    logits, target = _batch(seed, 16, 3)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: dmi_loss(z, target), (logits,))


# precision ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_dmi_loss_autocast_bfloat16_returns_float32(seed):
    """Check that bf16 logits under CPU autocast give a float32 loss and grad."""
    logits, target = _batch(seed, 64, 4, scale=2.0, dtype=torch.bfloat16)
    logits.requires_grad_(True)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss = dmi_loss(logits, target)
    assert loss.dtype == torch.float32
    expected = _reference_dmi_loss(logits.detach().float().numpy(), target.numpy())
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert logits.grad.dtype == torch.bfloat16
    assert torch.isfinite(logits.grad).all()


# a class missing from the batch ---------------------------------------------


@HYPOTHESIS_SETTINGS
@given(
    n_classes=st.integers(2, 8),
    n_samples=st.integers(1, 64),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.0, 20.0),
)
def test_dmi_loss_missing_class_finite(n_classes, n_samples, seed, scale):
    """Check that a batch missing a class gives -log(eps) and a finite gradient."""
    rng = np.random.default_rng(seed)
    missing = rng.integers(n_classes)
    present = np.setdiff1d(np.arange(n_classes), [missing])
    target = torch.tensor(rng.choice(present, size=n_samples))
    logits = torch.tensor(
        scale * rng.standard_normal((n_samples, n_classes)), requires_grad=True
    )
    loss = dmi_loss(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    np.testing.assert_allclose(loss.item(), -np.log(EPS), rtol=1e-9)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dmi_loss_single_sample_finite(dtype):
    """Check that a one-row batch (rank-1 U) gives a finite loss and gradient."""
    logits = torch.tensor([[1.0, -2.0, 0.5]], dtype=dtype, requires_grad=True)
    loss = dmi_loss(logits, torch.tensor([1]))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


# invariance -----------------------------------------------------------------


@HYPOTHESIS_SETTINGS
@given(
    n_classes=st.integers(2, 8),
    extra=st.integers(0, 60),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_dmi_loss_invariant_to_class_permutation(n_classes, extra, seed, data):
    """Check that |det U| is unchanged when the classes are relabelled.

    Renaming class ``i`` to ``perm[i]`` in the labels and moving logit column
    ``i`` to ``perm[i]`` turns U into ``P U P^T``, whose determinant is the same.
    """
    perm = np.array(data.draw(st.permutations(range(n_classes))))
    logits, target = _batch(seed, n_classes + extra, n_classes, scale=3.0)
    permuted_logits = torch.empty_like(logits)
    permuted_logits[:, perm] = logits
    permuted_target = torch.tensor(perm)[target]

    U = dmi_matrix(logits, target)
    U_perm = dmi_matrix(permuted_logits, permuted_target)
    np.testing.assert_allclose(U_perm[perm][:, perm], U, rtol=1e-12)
    np.testing.assert_allclose(
        abs(float(torch.linalg.det(U_perm))),
        abs(float(torch.linalg.det(U))),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        float(dmi_loss(permuted_logits, permuted_target)),
        float(dmi_loss(logits, target)),
        rtol=1e-9,
        atol=1e-12,
    )


# many classes: the slogdet path ---------------------------------------------


def _confident_batch(seed, n_samples, n_classes, dtype):
    rng = np.random.default_rng(seed)
    target = np.arange(n_samples) % n_classes
    logits = rng.standard_normal((n_samples, n_classes))
    logits[np.arange(n_samples), target] += 10.0
    return torch.tensor(logits, dtype=dtype), torch.tensor(target)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dmi_loss_many_classes_finite(seed, dtype):
    """Check that 100 classes, batch 1024, confident logits stay finite.

    |det U| is about 10^100 there, far beyond float32's range.
    """
    logits, target = _confident_batch(seed, 1024, 100, dtype)
    logits.requires_grad_(True)
    loss = dmi_loss(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    expected = _reference_dmi_loss_large(logits.detach().numpy(), target.numpy())
    assert expected < -200  # log|det U| ~ 230: the slogdet path
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_dmi_loss_many_classes_gradient_matches_finite_differences(seed):
    """Check the slogdet-path gradient by central differences along directions."""
    logits, target = _confident_batch(seed, 1024, 100, torch.float64)
    logits.requires_grad_(True)
    dmi_loss(logits, target).backward()

    x, t, h = logits.detach().numpy(), target.numpy(), 1e-5
    rng = np.random.default_rng(seed)
    for _ in range(3):
        v = rng.standard_normal(x.shape)
        numeric = (
            _reference_dmi_loss_large(x + h * v, t)
            - _reference_dmi_loss_large(x - h * v, t)
        ) / (2 * h)
        analytic = float((logits.grad.numpy() * v).sum())
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


# the module and errors -----------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_dmi_loss_module_equals_function(seed, eps):
    """Check that DMILoss(eps)(logits, target) equals dmi_loss(..., eps=eps)."""
    logits, target = _batch(seed, 32, 3, dtype=torch.float32)
    criterion = DMILoss(eps=eps)
    assert criterion.eps == eps
    assert torch.equal(criterion(logits, target), dmi_loss(logits, target, eps=eps))


@pytest.mark.parametrize("missing_class", [False, True])
def test_dmi_loss_module_keeps_the_batch_abs_det(missing_class):
    """Check that DMILoss keeps |det U| of its last batch, 0 when U is singular."""
    logits, target = _batch(0, 32, 3, dtype=torch.float32)
    if missing_class:
        target = target.clamp(max=1)  # class 2 absent: a zero row in U
    criterion = DMILoss()
    criterion(logits, target)
    expected = abs(
        np.linalg.det(_reference_dmi_matrix(logits.double().numpy(), target.numpy()))
    )
    np.testing.assert_allclose(criterion.last_abs_det_, expected, rtol=1e-4, atol=1e-9)
    assert (criterion.last_abs_det_ <= criterion.eps) == missing_class


@pytest.mark.parametrize(
    "logits_shape, target_shape, match",
    [
        ((8,), (8,), r"logits of shape \(n_samples, n_classes\); got shape \(8,\)"),
        ((8, 2, 2), (8,), r"logits of shape .*got shape \(8, 2, 2\)"),
        ((8, 2), (7,), r"target of shape \(8,\); got shape \(7,\)"),
        ((8, 2), (8, 1), r"target of shape \(8,\); got shape \(8, 1\)"),
    ],
)
def test_dmi_loss_bad_shapes_raise(logits_shape, target_shape, match):
    """Check that malformed logits or targets raise a ValueError naming shapes."""
    logits = torch.zeros(logits_shape)
    target = torch.zeros(target_shape, dtype=torch.long)
    with pytest.raises(ValueError, match=match):
        dmi_loss(logits, target)
    with pytest.raises(ValueError, match=match):
        DMILoss()(logits, target)


# layering -------------------------------------------------------------------

_FORBIDDEN = ("sklearn", "skorch", "pandas", "matplotlib")

# The parent package's __init__ re-exports the estimators (and so imports
# scikit-learn), so the subprocess registers a bare package object for
# ``sklearn_noisy`` and imports every _core module through it: what is checked
# is what the _core layer itself pulls in.
# sample weights --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_dmi_matrix_integer_weights_equal_repeated_rows(seed):
    """Check that a weight of k counts a row in U as k copies of it."""
    logits, target = _batch(seed, 24, 4)
    weight = torch.as_tensor(np.random.default_rng(seed).integers(0, 4, size=24))
    repeated = torch.repeat_interleave(torch.arange(24), weight)
    np.testing.assert_allclose(
        dmi_matrix(logits, target, weight.double()),
        dmi_matrix(logits[repeated], target[repeated]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        float(dmi_loss(logits, target, weight.double())),
        float(dmi_loss(logits[repeated], target[repeated])),
        rtol=1e-10,
    )


@pytest.mark.parametrize("seed", range(3))
def test_dmi_loss_weighted_matches_reference(seed):
    """Check weighted L_DMI against the slow reference of U with scaled rows."""
    logits, target = _batch(seed, 32, 3)
    weight = np.random.default_rng(seed).uniform(0.1, 3.0, size=32)
    proba = torch.softmax(logits, 1).numpy() * weight[:, None]
    U = np.zeros((3, 3))
    np.add.at(U, target.numpy(), proba)
    expected = -np.log(abs(np.linalg.det(U)) + EPS)
    loss = DMILoss()(logits, target, torch.as_tensor(weight))
    assert float(loss) == pytest.approx(expected, rel=1e-10)


def test_dmi_loss_bad_sample_weight_shape_raises():
    """Check that weights of the wrong shape are refused with their shape."""
    logits, target = _batch(0, 8, 2)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(8,\); got"):
        dmi_loss(logits, target, torch.ones(7))


_IMPORT_CORE = """
import json, pkgutil, sys
sys.path.insert(0, {repo_dir!r})
import sklearn_noisy._core as core
for info in pkgutil.iter_modules(core.__path__):
    __import__("sklearn_noisy._core." + info.name)
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in {forbidden!r})
print(json.dumps([loaded, sorted(m for m in sys.modules
                                 if m.startswith("sklearn_noisy._core."))]))
"""


def test_core_import_does_not_import_sklearn_skorch_pandas_matplotlib():
    """Check that importing every _core module loads no sklearn/skorch/pandas/mpl."""
    # The real package: its __init__ imports the estimators lazily.
    repo_dir = str(Path(sklearn_noisy.__file__).parents[1])
    code = _IMPORT_CORE.format(repo_dir=repo_dir, forbidden=_FORBIDDEN)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded, core_modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == []
    assert "sklearn_noisy._core.dmi" in core_modules
    assert "sklearn_noisy._core.modules" in core_modules


def _joint_of_true_classifier(prior, transition):
    """J[noisy i, predicted j] = prior[j] * T[j, i] for predictions = truth."""
    prior, transition = np.asarray(prior), np.asarray(transition)
    return torch.as_tensor((prior[:, None] * transition).T)


@pytest.mark.parametrize(
    "joint, expected",
    [
        # Predictions agree with the labels: no swap.
        (np.diag([0.2, 0.6, 0.2]) * 0.9 + 0.1 / 9, []),
        # Classes 0 and 2 predicted swapped, class 1 right: det < 0 and the
        # swapped assignment agrees more often.
        ([[0.01, 0.0, 0.19], [0.0, 0.6, 0.0], [0.19, 0.0, 0.01]], [0, 2]),
        # Two classes: left to trace > chance (det > 0 is the same test).
        ([[0.1, 0.4], [0.4, 0.1]], []),
        # A 3-cycle is an even permutation (det > 0): not detected.
        ([[0.0, 0.3, 0.0], [0.0, 0.0, 0.3], [0.4, 0.0, 0.0]], []),
    ],
)
def test_swapped_classes_finds_odd_swaps(joint, expected):
    """Check which predicted classes are reported as a swap of the labels."""
    assert swapped_classes(torch.as_tensor(np.asarray(joint, dtype=float))) == expected


def test_swapped_classes_keeps_the_true_classifier_under_one_way_flips():
    """Check that heavy flips into a rare class do not look like a swap.

    Class 0 (30%) is labelled 1 (10%) at rate 0.8: the assignment that swaps
    0 and 1 agrees with the labels more often than the true classes do, but
    det J = det T * prod(prior) > 0.
    """
    transition = [[0.2, 0.8, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    joint = _joint_of_true_classifier([0.3, 0.1, 0.6], transition)
    J = joint.numpy()
    assert J[0, 1] + J[1, 0] + J[2, 2] > np.trace(J)  # the assignment test alone fails
    assert swapped_classes(joint) == []


def test_swapped_classes_survives_many_classes():
    """Check that det J underflowing float64 (200 classes) is still read by sign."""
    n = 200
    joint = torch.full((n, n), 0.2 / (n * n), dtype=torch.float64)
    joint += torch.eye(n, dtype=torch.float64) * 0.8 / n
    assert float(torch.linalg.det(joint.double())) == 0.0  # underflows
    assert swapped_classes(joint) == []
    swapped = joint[:, torch.tensor([1, 0] + list(range(2, n)))]
    assert swapped_classes(swapped) == [0, 1]
