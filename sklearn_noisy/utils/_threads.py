"""How many threads torch computes with during a fit: decided here, once.

torch starts one intra-op thread per core by default. The estimators' default
networks are small (an MLP, a two-block CNN): a 128-row batch is a fraction of
a millisecond of arithmetic, and OpenMP's spin-waiting threads then cost more
than they save as soon as anything else runs on the machine. Measured on 2
cores with other load (issue 11): ``GridSearchCV(DMIClassifier(...),
n_jobs=2)`` took 51.7 s where one torch thread took 8.0 s, and
``sklearn-noisy detect`` on MR 16m43s against 3m29s with one thread. joblib
already limits its workers (it sets ``OMP_NUM_THREADS`` to ``cpu_count() //
n_jobs`` in each), but the parent process, where ``GridSearchCV`` refits and
the command line trains, kept one thread per core.

The rule, applied by both estimators around ``fit`` and prediction (torch's
own setting is restored afterwards):

1. ``SKLEARN_NOISY_NUM_THREADS=k`` in the environment: ``k`` threads (``0``:
   leave torch's setting alone, e.g. after your own ``torch.set_num_threads``);
2. otherwise, when ``OMP_NUM_THREADS`` is set (by the user, or by joblib in
   its workers), torch already honours it: leave it alone;
3. otherwise one thread per process.

Environment variables reach joblib's worker processes, so one setting covers
a grid search too. The numbers behind the default are in ``docs/speed.md``
(``benchmarks/threads.py``).
"""

from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["ENV_VAR", "intra_op_threads", "torch_threads"]

#: The environment variable that overrides the package's choice.
ENV_VAR = "SKLEARN_NOISY_NUM_THREADS"
# Variables through which a user or joblib already told OpenMP (and torch,
# which reads it at start-up) how many threads to use.
_OPENMP_VARS = ("OMP_NUM_THREADS",)


def intra_op_threads():
    """Return the torch intra-op threads for training, or None to leave torch's.

    Returns
    -------
    n_threads : int or None
        See the module docstring for the rule.
    """
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        try:
            n_threads = int(value)
        except ValueError:
            n_threads = -1
        if n_threads < 0:
            raise ValueError(
                f"The environment variable {ENV_VAR} must be a non-negative "
                f"integer (0 leaves torch's thread setting alone); got {value!r}."
            )
        return n_threads or None
    if any(os.environ.get(var, "").strip() for var in _OPENMP_VARS):
        return None
    return 1


@contextlib.contextmanager
def torch_threads():
    """Run the block with :func:`intra_op_threads` torch threads, then restore."""
    n_threads = intra_op_threads()
    before = torch.get_num_threads()
    if n_threads is None or n_threads == before:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
