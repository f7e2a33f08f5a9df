"""Tests for the one place that picks torch's intra-op threads."""

import pytest
import torch

from sklearn_noisy.utils._threads import ENV_VAR, intra_op_threads, torch_threads


@pytest.fixture
def no_thread_vars(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return monkeypatch


def test_intra_op_threads_default_is_one_per_process(no_thread_vars):
    """Check that without any variable a fit uses one torch thread."""
    assert intra_op_threads() == 1


def test_intra_op_threads_honours_openmp_variable(no_thread_vars):
    """Check that OMP_NUM_THREADS (set by users or joblib) leaves torch alone."""
    no_thread_vars.setenv("OMP_NUM_THREADS", "3")
    assert intra_op_threads() is None


@pytest.mark.parametrize("value, expected", [("4", 4), ("0", None), (" 2 ", 2)])
def test_intra_op_threads_package_variable_wins(no_thread_vars, value, expected):
    """Check that SKLEARN_NOISY_NUM_THREADS overrides, 0 meaning torch's own."""
    no_thread_vars.setenv("OMP_NUM_THREADS", "3")
    no_thread_vars.setenv(ENV_VAR, value)
    assert intra_op_threads() == expected


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_intra_op_threads_rejects_bad_values_naming_the_variable(no_thread_vars, value):
    """Check that a bad override raises an error naming the variable."""
    no_thread_vars.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match=ENV_VAR):
        intra_op_threads()


def test_torch_threads_sets_and_restores(no_thread_vars):
    """Check that the block runs with the chosen threads and restores torch's."""
    before = torch.get_num_threads()
    no_thread_vars.setenv(ENV_VAR, str(before + 1))
    with torch_threads():
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
