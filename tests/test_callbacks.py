"""Tests for the progress and singular-batch callbacks (the recorders are also
tested with the estimators)."""

import io

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

from sklearn_noisy import MislabelDetector
from sklearn_noisy._core.dmi import DMILoss, dmi_matrix
from sklearn_noisy.callbacks import (
    DMIGradientClipping,
    EpochProgress,
    SingularBatchRecorder,
)
from sklearn_noisy.modules import MLP


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _fit(callback, max_epochs=3):
    X = np.random.RandomState(0).rand(40, 4).astype(np.float32)
    net = NeuralNetClassifier(
        MLP,
        module__n_features=4,
        module__n_classes=2,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=max_epochs,
        train_split=None,
        verbose=0,
        callbacks=[callback],
    )
    return net.fit(X, np.arange(40) % 2)


def test_epoch_progress_logs_one_line_per_epoch_when_not_a_terminal():
    """Check that a stream that is not a terminal gets one line per epoch."""
    stream = io.StringIO()
    _fit(EpochProgress("net", phase="warm-up", stream=stream))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("net warm-up epoch 1/3: cross-entropy ")
    assert lines[2].startswith("net warm-up epoch 3/3: ")


def test_epoch_progress_draws_a_labelled_bar_on_a_terminal():
    """Check that a terminal gets a tqdm bar titled with label and phase."""
    pytest.importorskip("tqdm")
    stream = _Terminal()
    net = _fit(EpochProgress("net", phase="L_DMI", stream=stream))
    output = stream.getvalue()
    assert "net L_DMI" in output and "3/3" in output and "epoch" in output
    assert "epoch 1/3:" not in output  # no log lines besides the bar
    assert dict(net.callbacks_)["EpochProgress"].bar_ is None  # closed


def test_epoch_progress_log_mode_forces_lines_on_a_terminal():
    """Check that mode='log' writes lines even on a terminal."""
    stream = _Terminal()
    _fit(EpochProgress("net", mode="log", stream=stream), max_epochs=2)
    assert stream.getvalue().count("\n") == 2


@pytest.mark.filterwarnings(  # random features: the ranking is meaningless
    "ignore::sklearn_noisy._mislabel_detector.UntrustedRankingWarning"
)
def test_mislabel_detector_verbose_logs_every_epoch(capsys):
    """Check that the detector's verbose reports each epoch on stderr."""
    X = np.random.RandomState(0).rand(60, 4)
    MislabelDetector(max_epochs=3, verbose=1, random_state=0).fit(X, np.arange(60) % 3)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert [line.split(":")[0] for line in captured.err.splitlines()] == [
        f"MislabelDetector training epoch {k}/3" for k in (1, 2, 3)
    ]


class _BatchDeterminants(SingularBatchRecorder):
    """Also recompute |det U| of every training batch from its predictions."""

    def on_train_begin(self, net, **kwargs):
        self.dets_ = []

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, y_pred=y_pred)
        if training:
            U = dmi_matrix(y_pred.detach().double(), batch[1])
            self.dets_.append(abs(float(torch.linalg.det(U))))


@pytest.mark.parametrize("eps", [1e-3, 1e-4])
def test_singular_batch_recorder_counts_batches_at_or_below_eps(eps):
    """Check the recorded share against |det U| recomputed for every batch.

    Batches of 4 rows over 3 classes often miss a class (a singular U); the
    recorder reads the criterion's own |det U| and eps.
    """
    rng = np.random.RandomState(0)
    X = rng.rand(48, 4).astype(np.float32)
    y = np.arange(48) % 3
    recorder = _BatchDeterminants()
    torch.manual_seed(0)  # the network's initialisation
    net = NeuralNetClassifier(
        MLP,
        module__n_features=4,
        module__n_classes=3,
        criterion=DMILoss,
        criterion__eps=eps,
        batch_size=4,
        max_epochs=1,
        train_split=None,
        verbose=0,
        callbacks=[("singular", recorder)],
    ).fit(X, y)
    dets = np.array(recorder.dets_)
    expected = np.mean(dets <= eps)
    assert 0 < expected < 1
    assert net.history[-1, "dmi_singular_share"] == pytest.approx(expected)


class _GradNorms(Callback):
    """Record the joint gradient norm of every training step."""

    def initialize(self):
        self.norms_ = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms_.append(
            float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
        )


def _net_with_clipping(criterion, max_norm, clip=None):
    """Train a small net through ``clip`` (default: a new clipping at max_norm).

    Returns the gradient norm of every step, after clipping.
    """
    rng = np.random.RandomState(0)
    X = rng.rand(64, 4).astype(np.float32)
    norms = _GradNorms()
    clip = DMIGradientClipping(max_norm) if clip is None else clip
    NeuralNetClassifier(
        MLP,
        module__n_features=4,
        module__n_classes=2,
        criterion=criterion,
        batch_size=16,
        max_epochs=2,
        train_split=None,
        verbose=0,
        # skorch calls the callbacks in order: the recorder sees clipped grads.
        callbacks=[("clip", clip), ("norms", norms)],
    ).fit(X, np.arange(64) % 2)
    return np.array(norms.norms_)


def test_dmi_gradient_clipping_clips_l_dmi_steps_only():
    """Check that L_DMI steps are clipped to max_norm and CE steps are not."""
    unclipped = _net_with_clipping(DMILoss, None)
    assert unclipped.max() > 1e-3
    clipped = _net_with_clipping(DMILoss, 1e-3)
    assert clipped.max() <= 1e-3 * (1 + 1e-5)
    ce = _net_with_clipping(torch.nn.CrossEntropyLoss, 1e-3)
    assert ce.min() > 1e-3


class _FakeNet:
    criterion_ = DMILoss()


def _assert_clips_like_torch(seed, max_norm_of):
    """Clip one backward's gradients both ways; assert they are bitwise equal.

    ``max_norm_of`` maps the gradients' joint norm to the max_norm to use.
    """
    torch.manual_seed(seed)
    module = MLP(8, 3, hidden_units=(16, 16))
    (module(torch.randn(32, 8)) ** 2).sum().backward()
    grads = [p.grad.clone() for p in module.parameters()]
    max_norm = max_norm_of(float(torch.cat([g.flatten() for g in grads]).norm()))
    torch.nn.utils.clip_grad_norm_(list(module.parameters()), max_norm)
    expected = [p.grad.clone() for p in module.parameters()]
    for p, g in zip(module.parameters(), grads, strict=True):
        p.grad.copy_(g)
    DMIGradientClipping(max_norm).on_grad_computed(
        _FakeNet(), list(module.named_parameters())
    )
    for p, e in zip(module.parameters(), expected, strict=True):
        assert torch.equal(p.grad, e)


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 5.0, 1e3])
def test_dmi_gradient_clipping_equals_torch_clip_grad_norm(max_norm):
    """Check that the clipped gradients equal torch's clip_grad_norm_ bitwise."""
    _assert_clips_like_torch(0, lambda norm: max_norm)


@pytest.mark.parametrize("factor", [1 - 1e-3, 1 - 1e-5, 1.0, 1 + 1e-7, 1 + 1e-3])
def test_dmi_gradient_clipping_equals_torch_near_the_norm(factor):
    """Check bitwise equality with torch where max_norm is close to the norm."""
    _assert_clips_like_torch(1, lambda norm: norm * factor)


def test_dmi_gradient_clipping_keeps_no_parameters_after_fit():
    """Check that the parameter list lives only during a training call."""

    class Clipping(DMIGradientClipping):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            self.seen_.append(len(self.parameters_))
            super().on_grad_computed(net, named_parameters, **kwargs)

    clip = Clipping(1e-3)
    clip.seen_ = []
    norms = _net_with_clipping(DMILoss, 1e-3, clip)
    assert norms.max() <= 1e-3 * (1 + 1e-5)  # this instance clipped
    assert set(clip.seen_) == {6}  # weights and biases of the MLP's 3 layers
    assert clip.parameters_ is None
