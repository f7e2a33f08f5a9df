"""Data-parallel training through Hugging Face Accelerate, and its pieces."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from data_parallel_common import DETECTOR_PARAMS, DMI_PARAMS, make_data
from scipy.stats import spearmanr

from sklearn_noisy import DMIClassifier, MislabelDetector
from sklearn_noisy.utils._data import BatchPlan
from sklearn_noisy.utils._validation import check_batch_size

HERE = Path(__file__).resolve().parent


@pytest.fixture
def accelerate_state():
    """Give each test a fresh accelerate state (it is process-global)."""
    pytest.importorskip("accelerate")
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    yield
    AcceleratorState._reset_state(True)


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n_samples, batch_size", [(23, 8), (17, 16), (9, 4)])
def test_batch_plan_shares_cover_each_global_batch_once(
    world_size, drop_last, n_samples, batch_size
):
    """Check that the processes' shares partition every single-process batch."""
    plans = [
        BatchPlan(n_samples, batch_size, True, drop_last, 0, rank, world_size)
        for rank in range(world_size)
    ]
    single = BatchPlan(n_samples, batch_size, True, drop_last, 0)
    for _ in range(2):  # two epochs: the permutations stay in step
        shares = [list(plan.epoch()) for plan in plans]
        for k, (index, _) in enumerate(single.epoch()):
            parts = [shares[rank][k] for rank in range(world_size)]
            np.testing.assert_array_equal(torch.cat([p[0] for p in parts]), index)
            # Weights are share sizes relative to an equal split: they average
            # to 1, so mean losses scaled by them average to the batch mean.
            weights = [p[1] for p in parts]
            np.testing.assert_allclose(np.mean(weights), 1.0)


def test_check_batch_size_refuses_a_per_process_share_below_n_classes():
    """Check that L_DMI's per-process batch must exceed the number of classes."""

    class Estimator:
        batch_size = 64

    check_batch_size(Estimator(), 10, world_size=4)
    with pytest.raises(ValueError, match="split over 8 processes, 8 rows each"):
        check_batch_size(Estimator(), 10, world_size=8)


def test_accelerator_single_process_matches_plain_training(accelerate_state):
    """Check that a one-process Accelerator trains exactly as no accelerator."""
    from accelerate import Accelerator

    X, y = make_data()
    plain = MislabelDetector(**DETECTOR_PARAMS).fit(X, y)
    accelerated = MislabelDetector(
        accelerator=Accelerator(cpu=True), **DETECTOR_PARAMS
    ).fit(X, y)
    np.testing.assert_array_equal(accelerated.train_scores_, plain.train_scores_)
    assert type(accelerated.net_.module_).__name__ == "MLP"  # unwrapped


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_accelerator_bf16_mixed_precision_trains(accelerate_state, estimator):
    """Check that bf16 autocast trains both estimators to sensible fits."""
    from accelerate import Accelerator

    X, y = make_data()
    params = DETECTOR_PARAMS if estimator is MislabelDetector else DMI_PARAMS
    model = estimator(
        accelerator=Accelerator(cpu=True, mixed_precision="bf16"), **params
    ).fit(X, y)
    losses = [row["train_loss"] for row in model.net_.history]
    assert np.all(np.isfinite(losses))
    if estimator is MislabelDetector:
        reference = MislabelDetector(**params).fit(X, y)
        rho = spearmanr(model.train_scores_, reference.train_scores_).statistic
        assert rho > 0.95
    else:
        reference = DMIClassifier(**params).fit(X, y)
        assert np.mean(model.predict(X) == reference.predict(X)) > 0.8
        # The L_DMI phase ran, its determinant in float32 under autocast.
        assert model.net_.history[-1, "criterion"] == "dmi"


def test_accelerator_must_be_an_accelerator(accelerate_state):
    """Check that a wrong accelerator is refused naming the parameter."""

    class NotAnAccelerator:
        def prepare(self):
            pass

        def backward(self):
            pass

    X, y = make_data()
    with pytest.raises(TypeError, match="'accelerator' parameter of DMIClassifier"):
        DMIClassifier(accelerator=NotAnAccelerator(), **DMI_PARAMS).fit(X, y)


def test_two_cpu_processes_match_one_process(tmp_path):
    """Check two-process gloo training against a single process.

    With the same global batch and seed, the detector's scores rank as a
    single process's (rank correlation >= 0.99), every sample is recorded
    exactly once per epoch over the two processes, and the classifier
    predicts as a single-process one on most rows (L_DMI runs on each
    process's half batch, so it differs by design).
    """
    pytest.importorskip("accelerate")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(HERE / "data_parallel_worker.py"),
        str(tmp_path),
    ]
    done = subprocess.run(
        command, env=env, cwd=HERE, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = np.load(tmp_path / "result.npz")
    assert int(result["world_size"]) == 2
    X, y = make_data()
    assert result["counts"].shape == (DETECTOR_PARAMS["max_epochs"], len(y))
    np.testing.assert_array_equal(result["counts"], 1)

    single = MislabelDetector(**DETECTOR_PARAMS).fit(X, y)
    assert int(result["n_epochs"]) == single.n_epochs_
    rho = spearmanr(result["scores"], single.train_scores_).statistic
    assert rho >= 0.99
    classifier = DMIClassifier(**DMI_PARAMS).fit(X, y)
    agree = np.mean(result["proba"].argmax(1) == classifier.predict(X))
    assert agree > 0.9


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_accelerator_refuses_non_uniform_sample_weight(accelerate_state, estimator):
    """Check that unequal weights under an accelerator raise, naming them.

    Each process's loss is rescaled by its row share of the global batch; the
    weights would need their weight share, so they are refused, not ignored.
    Equal weights (the plain mean) are accepted.
    """
    from accelerate import Accelerator

    X, y = make_data()
    params = DETECTOR_PARAMS if estimator is MislabelDetector else DMI_PARAMS
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    model = estimator(accelerator=Accelerator(cpu=True), **params)
    with pytest.raises(NotImplementedError, match="sample_weight is not supported"):
        model.fit(X, y, sample_weight=weight)
    model.fit(X, y, sample_weight=np.full(len(y), 2.0))
    assert np.all(np.isfinite([row["train_loss"] for row in model.net_.history]))
