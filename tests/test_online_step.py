"""One online step's fast paths: the lasso's learners' entry, the objective kernel, the
incremental Cholesky factor of the active-set method and the sparse-codes rule."""

from __future__ import annotations

import numpy as np
import pytest

import dictlearn
from dictlearn.coding import method_spec
from dictlearn.datasets import make_sparse_problem
from dictlearn.kernels import call
from dictlearn.learning import online_dictionary_learning
from dictlearn.learning._coding import make_coder
from dictlearn.objectives import sample_objective


@pytest.fixture(scope="module")
def problem():
    p = make_sparse_problem(200, 24, 48, 4, snr_db=25, random_state=3)
    return p.X, p.dictionary


def _coder(**kw):
    opts = {"alpha": 0.05, "n_nonzero_coefs": None, "positive_code": False,
            "coding_options": None, "n_atoms": 48}
    opts.update(kw)
    return make_coder("lasso", default="lasso", **opts)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("engine", ["auto", "reference"])
def test_lasso_step_gives_the_codes_of_lasso(problem, positive, engine):
    """The learners' entry (no validation, BLAS products) codes like ``dictlearn.lasso``."""
    X, D = problem
    assert method_spec("lasso").step is dictlearn.coding.lasso_cd.lasso_step
    ref = dictlearn.lasso(X, D, alpha=0.05, positive=positive, engine=engine).codes
    Z = method_spec("lasso").step(X, D, xp=np, alpha=0.05, positive=positive, engine=engine)
    np.testing.assert_allclose(Z, ref, atol=1e-9)
    assert (np.count_nonzero(Z, axis=1) > 0).all()
    if positive:
        assert Z.min() >= 0


def test_encode_uses_the_step_and_warm_starts(problem):
    X, D = problem
    coder = _coder()
    Z = coder.encode(X, D, xp=np)
    np.testing.assert_allclose(Z, coder(X, D), atol=1e-9)
    Z2 = coder.encode(X, D, xp=np, init=Z)  # a warm start at the solution stays there
    np.testing.assert_allclose(Z2, Z, atol=1e-9)


def test_encode_without_a_step_calls_the_method(problem):
    X, D = problem
    coder = make_coder("omp", default="lasso", alpha=None, n_nonzero_coefs=3,
                       positive_code=False, coding_options=None, n_atoms=48)
    assert method_spec("omp").step is None
    np.testing.assert_array_equal(coder.encode(X, D, xp=np), coder(X, D))


@pytest.mark.parametrize("penalty", ["l1", "cauchy", "l0"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_objective_kernel_matches_the_objective(problem, penalty, dtype):
    pytest.importorskip("numba")
    X, D = (a.astype(dtype) for a in problem)
    Z = dictlearn.lasso(X, D, alpha=0.05).codes
    want = sample_objective(X, D, Z, alpha=0.05, penalty=penalty, sigma=0.7, xp=np)
    got = call("sample_objective", "numba", np, X, D, Z, alpha=0.05, penalty=penalty,
               sigma=0.7)
    assert got.dtype == np.dtype(dtype) and got.shape == (X.shape[0],)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12)
    ref = call("sample_objective", "reference", np, X, D, Z, alpha=0.05, penalty=penalty,
               sigma=0.7)
    np.testing.assert_array_equal(ref, want)


def test_coder_objective_on_strict_arrays(problem):
    xps = pytest.importorskip("array_api_strict")
    X, D = problem
    Z = dictlearn.lasso(X, D, alpha=0.05).codes
    got = _coder().objective(xps.asarray(X), xps.asarray(D), xps.asarray(Z), xp=xps)
    want = sample_objective(X, D, Z, alpha=0.05, xp=np)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)


def test_active_set_solves_dense_supports_exactly():
    """Supports of dozens of atoms (the incremental Cholesky factor, with drops): the active
    set's codes satisfy the KKT conditions."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 64))
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    res = dictlearn.lasso(X, D, alpha=0.05, engine="numba", tol=1e-12)
    Z = res.codes
    assert np.count_nonzero(Z, axis=1).mean() > 20
    C = (X - Z @ D) @ D.T  # KKT: c_j = α sign(z_j) on the support, |c_j| ≤ α off it
    on = Z != 0
    np.testing.assert_allclose(C[on], 0.05 * np.sign(Z[on]), atol=1e-8)
    assert np.abs(C[~on]).max() <= 0.05 + 1e-8


def test_sparse_codes_rule_counts_a_sample_of_rows():
    from dictlearn.kernels.learning import SPARSITY_ROWS, sparse_codes

    rule = sparse_codes(0)
    Z = np.zeros((4 * SPARSITY_ROWS, 10))
    Z[:, 0] = 1.0
    assert rule(Z)  # 10% non-zeros
    Z[:, :5] = 1.0
    assert not rule(Z)  # 50%
    assert not rule(np.zeros((0, 10)))


def test_online_learning_unchanged_by_the_fast_path(problem):
    """The learners' entry and the objective kernel give the run of the validated calls."""
    X, _ = problem
    fast = online_dictionary_learning(X, 48, alpha=0.05, batch_size=40, max_iter=15,
                                      random_state=0)
    slow = online_dictionary_learning(X, 48, alpha=0.05, batch_size=40, max_iter=15,
                                      random_state=0, engine="reference",
                                      coding_method="fista",
                                      coding_options={"tol": 1e-12, "max_iter": 20000})
    np.testing.assert_allclose(fast.dictionary, slow.dictionary, atol=1e-5)
    objs = [r["objective"] for r in fast.history]
    np.testing.assert_allclose(objs, [r["objective"] for r in slow.history], rtol=1e-6)


@pytest.mark.parametrize("engine", ["auto", "reference"])
def test_encode_with_objective_gives_the_objective_of_the_codes(problem, engine):
    """The lasso's entry computes the objective as it codes: the values of
    ``sample_objective`` to rounding."""
    X, D = problem
    assert method_spec("lasso").step_objective and not method_spec("fista").step_objective
    coder = _coder(coding_options={"engine": engine})
    Z, obj = coder.encode_with_objective(X, D, xp=np)
    np.testing.assert_array_equal(Z, coder.encode(X, D, xp=np))
    want = coder.objective(X, D, Z, xp=np)
    assert obj.shape == (X.shape[0],) and obj.dtype == X.dtype
    np.testing.assert_allclose(obj, want, rtol=1e-12)
    Z2, obj2 = coder.encode_with_objective(X, D, xp=np, init=Z)  # a warm start too
    np.testing.assert_allclose(Z2, Z, atol=1e-9)
    np.testing.assert_allclose(obj2, want, rtol=1e-9)


def test_encode_with_objective_without_the_step_objective(problem):
    """A method whose entry has no objective: ``encode`` then ``objective``."""
    X, D = problem
    coder = make_coder("omp", default="lasso", alpha=None, n_nonzero_coefs=3,
                       positive_code=False, coding_options=None, n_atoms=48)
    Z, obj = coder.encode_with_objective(X, D, xp=np)
    np.testing.assert_array_equal(Z, coder(X, D))
    np.testing.assert_array_equal(obj, coder.objective(X, D, Z, xp=np))
    assert (obj > 0).all()


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lasso_kernel_objective_matches_the_objective(problem, positive, dtype):
    pytest.importorskip("numba")
    X, D = (a.astype(dtype) for a in problem)
    for engine in ("numba", "reference"):
        Z, _, _, _, obj = call("lasso_cd_gram", engine, np, X, D, None, alpha=0.05,
                               positive=positive, tol=1e-8, max_iter=500, objective=True)
        want = sample_objective(X, D, Z, alpha=0.05, xp=np)
        assert obj.dtype == np.dtype(dtype)
        np.testing.assert_allclose(obj, want, rtol=1e-5 if dtype == "float32" else 1e-12)
        assert len(call("lasso_cd_gram", engine, np, X, D, None, alpha=0.05,
                        positive=positive, tol=1e-8, max_iter=500)) == 4


def test_lasso_kernel_objective_of_exact_fits_is_recomputed():
    """An almost exact fit (α = 0 on noise-free signals): the Gram-domain objective would be
    rounding noise of ``‖x‖²``; the kernel recomputes it from the residual (the bits of the
    objective kernel)."""
    pytest.importorskip("numba")
    p = make_sparse_problem(100, 32, 16, 3, random_state=1)
    X = p.X
    Z, _, _, _, obj = call("lasso_cd_gram", "numba", np, X, p.dictionary, None, alpha=0.0,
                           positive=False, tol=1e-12, max_iter=500, objective=True)
    xx = (X * X).sum(axis=1)
    assert (obj <= 1e-20 * xx).all()
    np.testing.assert_array_equal(
        obj, call("sample_objective", "numba", np, X, p.dictionary, Z, alpha=0.0, penalty="l1",
                  sigma=1.0))


@pytest.mark.parametrize("constraint,positive", [("ball", False), ("sphere", False),
                                                 ("ball", True)])
@pytest.mark.parametrize("n_passes", [1, 2])
def test_bcd_from_the_product_and_the_changes_is_the_sweep_of_the_reference(
        constraint, positive, n_passes):
    """Several blocks (150 = 2 × 64 + 22 atoms), more than eight updated atoms before most
    (the kernel's eight-row passes), unused atoms: the numba sweep (``A D`` plus the changes
    so far) gives the reference's atom-by-atom sweep."""
    pytest.importorskip("numba")
    from dictlearn.kernels.learning_numba import BCD_BLOCK
    from dictlearn.learning import bcd_update

    k, m = 150, 12
    assert k > 2 * BCD_BLOCK
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((400, k)) * (rng.random((400, k)) < 0.2)
    Z[:, [3, 40, 130]] = 0.0  # unused atoms: left as they are
    X = rng.standard_normal((400, m))
    A, B = Z.T @ Z, Z.T @ X
    D = rng.standard_normal((k, m))
    D = np.abs(D) if positive else D
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ref = bcd_update(D, A, B, constraint=constraint, positive=positive, n_passes=n_passes,
                     engine="reference", xp=np)
    fast = bcd_update(D, A, B, constraint=constraint, positive=positive, n_passes=n_passes,
                      engine="numba", xp=np)
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(fast[[3, 40, 130]], D[[3, 40, 130]])
    assert np.abs(fast - D).max() > 0.1  # the sweep moved the other atoms
