"""Both estimators on CUDA (marked ``gpu``: deselected, and skipped without CUDA).

Run on a GPU machine with ``python -m pytest -m gpu``.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from torch.utils.data import Dataset

from sklearn_noisy import DMIClassifier, MislabelDetector

pytestmark = pytest.mark.gpu

FAST = {"max_epochs": 5, "module__hidden_units": (64,), "random_state": 0}


@pytest.fixture(scope="module")
def noisy_digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    flip = rng.rand(len(y)) < 0.2
    return (X / 16).astype(np.float32), np.where(flip, (y + 1) % 10, y), flip


class PairDataset(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.y[index]


def test_detector_on_cuda_ranks_as_on_cpu(noisy_digits):
    """Check that CUDA training ranks samples as CPU training does."""
    X, y, flip = noisy_digits
    cpu = MislabelDetector(**FAST).fit(X, y)
    cuda = MislabelDetector(device="cuda", **FAST).fit(X, y)
    assert spearmanr(cpu.train_scores_, cuda.train_scores_).statistic > 0.95
    np.testing.assert_array_equal(cuda.score_samples(X), cuda.train_scores_)


def test_dmi_classifier_on_cuda_predicts_as_on_cpu(noisy_digits):
    """Check that a CUDA-trained DMIClassifier agrees with a CPU-trained one."""
    X, y, _ = noisy_digits
    cpu = DMIClassifier(**FAST).fit(X, y)
    cuda = DMIClassifier(device="cuda", **FAST).fit(X, y)
    assert np.mean(cuda.predict(X) == cpu.predict(X)) > 0.9
    assert next(cuda.net_.module_.parameters()).device.type == "cuda"


@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_streamed_dataset_on_cuda_with_pinned_workers(noisy_digits, estimator):
    """Check a Dataset streamed by two workers into CUDA (pinned memory)."""
    X, y, _ = noisy_digits
    params = {**FAST, "device": "cuda"}
    array = estimator(**params).fit(X, y)
    streamed = estimator(num_workers=2, **params).fit(PairDataset(X, y))
    if estimator is MislabelDetector:
        rho = spearmanr(array.train_scores_, streamed.train_scores_).statistic
        assert rho > 0.95
    else:
        assert np.mean(array.predict(X) == streamed.predict(X)) > 0.9


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("estimator", [MislabelDetector, DMIClassifier])
def test_mixed_precision_on_cuda(noisy_digits, estimator, precision):
    """Check bf16/fp16 autocast through Accelerate on CUDA."""
    accelerate = pytest.importorskip("accelerate")
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    X, y, _ = noisy_digits
    accelerator = accelerate.Accelerator(mixed_precision=precision)
    model = estimator(accelerator=accelerator, **FAST).fit(X, y)
    AcceleratorState._reset_state(True)
    losses = [row["train_loss"] for row in model.net_.history]
    assert np.all(np.isfinite(losses))
    reference = estimator(device="cuda", **FAST).fit(X, y)
    if estimator is MislabelDetector:
        rho = spearmanr(model.train_scores_, reference.train_scores_).statistic
        assert rho > 0.9
    else:
        assert np.mean(model.predict(X) == reference.predict(X)) > 0.85


def test_sparse_input_on_cuda(noisy_digits):
    """Check that sparse CSR batches reach the MLP on CUDA."""
    X, y, _ = noisy_digits
    X_sparse = sp.csr_matrix(X)
    dense = MislabelDetector(standardize=False, device="cuda", **FAST).fit(X, y)
    sparse = MislabelDetector(device="cuda", **FAST).fit(X_sparse, y)
    assert spearmanr(dense.train_scores_, sparse.train_scores_).statistic > 0.95
    assert torch.cuda.is_available()
