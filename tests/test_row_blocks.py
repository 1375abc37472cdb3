"""Row blocks in ``sparse_encode`` (``batch_size``): the same codes, iterations and status as
one call; options cut with ``X``; the bound's block size; bad values refused."""

from __future__ import annotations

import numpy as np
import pytest

import dictlearn
from dictlearn.coding._blocks import BLOCK_BYTES, block_rows
from dictlearn.datasets import make_sparse_problem

METHODS = {
    "fista": {"alpha": 0.1},
    "ista": {"alpha": 0.1, "max_iter": 60},
    "iht": {"n_nonzero_coefs": 5},
    "omp": {"n_nonzero_coefs": 5},
    "lasso": {"alpha": 0.1},
}
EXACT = {"omp", "lasso"}  # compiled or per-sample kernels: equal bit for bit


@pytest.fixture(scope="module")
def problem():
    return make_sparse_problem(403, 32, 64, 4, snr_db=30, random_state=3)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_blocks_give_the_codes_of_one_call(problem, method):
    X, D = problem.X, problem.dictionary
    whole = dictlearn.sparse_encode(X, D, method=method, batch_size=None, return_result=True,
                                    **METHODS[method])
    blocked = dictlearn.sparse_encode(X, D, method=method, batch_size=37, return_result=True,
                                      **METHODS[method])
    assert blocked.codes.shape == whole.codes.shape == (403, 64)
    if method in EXACT:
        np.testing.assert_array_equal(blocked.codes, whole.codes)
    else:
        np.testing.assert_allclose(blocked.codes, whole.codes, rtol=0, atol=1e-12)
    assert blocked.status == whole.status
    assert blocked.n_iter == whole.n_iter
    if whole.n_iter_per_sample is not None:
        np.testing.assert_array_equal(blocked.n_iter_per_sample, whole.n_iter_per_sample)
        np.testing.assert_array_equal(blocked.converged, whole.converged)


def test_auto_blocks_bound_the_codes_of_a_block():
    rows = block_rows(10**6, 256, 8, "auto")
    assert rows * 256 * 8 == BLOCK_BYTES
    assert block_rows(10, 256, 8, None) == 10 and block_rows(10, 256, 8, 3) == 3


def test_init_is_cut_with_the_rows(problem):
    X, D = problem.X, problem.dictionary
    init = dictlearn.sparse_encode(X, D, method="ista", alpha=0.1, max_iter=5)
    opts = {"alpha": 0.1, "max_iter": 10, "init": init}
    whole = dictlearn.sparse_encode(X, D, method="fista", batch_size=None, **opts)
    blocked = dictlearn.sparse_encode(X, D, method="fista", batch_size=100, **opts)
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12)
    assert not np.array_equal(whole, dictlearn.sparse_encode(X, D, method="fista", alpha=0.1,
                                                             max_iter=10))


def test_worst_status_of_the_blocks(problem):
    X, D = problem.X.copy(), problem.dictionary
    X[:200] *= 1e3  # the first blocks need many more iterations than the last
    res = dictlearn.sparse_encode(X, D, method="ista", alpha=0.1, max_iter=15, tol=1e-10,
                                  batch_size=200, return_result=True)
    assert res.status == "max_iter_reached"
    assert res.converged.shape == (403,)


def test_history_makes_one_block(problem):
    res = dictlearn.sparse_encode(problem.X, problem.dictionary, method="fista", alpha=0.1,
                                  batch_size=50, record_history=True, return_result=True)
    assert res.history and res.codes.shape == (403, 64)


def test_float32_and_namespace_kept(xp, problem):
    X = xp.asarray(problem.X.astype(np.float32))
    D = xp.asarray(problem.dictionary.astype(np.float32))
    Z = dictlearn.sparse_encode(X, D, method="fista", alpha=0.1, batch_size=64)
    assert Z.dtype == xp.float32 and Z.shape == (403, 64)
    assert type(Z) is type(X)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "big", True])
def test_bad_batch_size(problem, bad):
    with pytest.raises(ValueError, match="batch_size must be 'auto', None or a positive int"):
        dictlearn.sparse_encode(problem.X, problem.dictionary, alpha=0.1, batch_size=bad)


def test_blocks_stay_on_the_device(problem):
    xs = pytest.importorskip("array_api_strict")
    dev = xs.Device("device1")
    X, D = xs.asarray(problem.X, device=dev), xs.asarray(problem.dictionary, device=dev)
    Z = dictlearn.sparse_encode(X, D, method="fista", alpha=0.1, batch_size=100)
    assert Z.device == dev and Z.shape == (403, 64)
