"""Compiled kernels and mini-batch learning run the host BLAS on one thread
(:func:`dictlearn._xp.blas_one_thread`).

They alternate BLAS products with numba's parallel kernels, and with both thread pools at their
defaults the pools compete for the cores (on two cores, 1,000 online steps took 7.9 s instead
of 0.79 s, OMP on the standard problem 80 ms instead of 17.5 ms: ``python -m dictlearn.bench
learn --planted``, ``python -m dictlearn.bench encode``). Batch learners' own products keep the
BLAS threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from dictlearn import kernels
from dictlearn._xp import blas_one_thread, numba_enabled
from dictlearn.datasets import make_sparse_problem
from dictlearn.learning import mod, online_dictionary_learning

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads() -> int:
    counts = [i["num_threads"] for i in threadpoolctl.threadpool_info()
              if i["user_api"] == "blas"]
    if not counts:
        pytest.skip("no BLAS library that threadpoolctl can see")
    return max(counts)


@pytest.fixture
def two_blas_threads():
    """BLAS on two threads for the test (whatever the environment set), restored after;
    SciPy's BLAS, which numba's kernels call, loaded first so that the limit covers it."""
    import scipy.linalg  # noqa: F401

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if blas_threads() != 2:
            pytest.skip("the BLAS library does not take a thread count")
        yield


def test_online_learning_runs_blas_on_one_thread_and_restores_it(two_blas_threads):
    p = make_sparse_problem(200, 16, 24, 3, random_state=0)
    seen = []
    online_dictionary_learning(p.X, 24, alpha=0.1, batch_size=32, max_iter=4, random_state=0,
                               callback=lambda info: seen.append(blas_threads()))
    assert seen == [1, 1, 1, 1]
    assert blas_threads() == 2


def test_batch_learning_keeps_the_blas_threads(two_blas_threads):
    p = make_sparse_problem(200, 16, 24, 3, random_state=0)
    seen = []
    mod(p.X, 24, n_nonzero_coefs=3, max_iter=3, tol=0.0, random_state=0,
        callback=lambda info: seen.append(blas_threads()))
    assert seen and set(seen) == {2}


def test_nested_and_restored(two_blas_threads):
    with blas_one_thread():
        assert blas_threads() == 1
        with blas_one_thread():
            assert blas_threads() == 1
        assert blas_threads() == 1  # the inner exit keeps the outer limit
    assert blas_threads() == 2


def test_a_compiled_kernel_runs_with_one_blas_thread(two_blas_threads, monkeypatch):
    if not numba_enabled():
        pytest.skip("numba unavailable")
    monkeypatch.setitem(kernels.KERNELS, ("probe", "numba"),
                        lambda x: np.full(1, blas_threads()))
    monkeypatch.setitem(kernels.KERNELS, ("probe", "reference"),
                        lambda x, xp: np.full(1, blas_threads()))
    assert kernels.call("probe", "numba", np, np.zeros(1))[0] == 1
    assert kernels.call("probe", "reference", np, np.zeros(1))[0] == 2
    assert blas_threads() == 2
