"""The exact lasso solver: KKT conditions, FISTA/scikit-learn/SPAMS objectives, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dictlearn
from dictlearn.datasets import make_sparse_problem
from tests._helpers import asxp, tonp

NUMBA = dictlearn._xp.numba_enabled()
ENGINES = ["reference", pytest.param("numba", marks=pytest.mark.skipif(
    not NUMBA, reason="numba unavailable"))]


def _kkt_violation(X, D, Z, alpha, positive):
    """Largest violation of the lasso KKT conditions, relative to alpha."""
    C = (X - Z @ D) @ D.T
    on = Z != 0
    if positive:
        off = np.max(np.where(on, -np.inf, C), axis=1)  # c_j ≤ α off the support
    else:
        off = np.max(np.where(on, -np.inf, np.abs(C)), axis=1)
    off_v = np.maximum(off - alpha, 0.0)
    on_v = np.max(np.where(on, np.abs(C - alpha * np.sign(Z)), 0.0), axis=1)
    return float(np.max(np.maximum(off_v, on_v))) / alpha


@pytest.mark.parametrize("engine", ENGINES)
@given(
    n_features=st.integers(4, 20),
    ratio=st.sampled_from([1, 2, 3]),
    alpha_frac=st.floats(0.05, 0.9),
    positive=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_kkt_conditions(engine, n_features, ratio, alpha_frac, positive, seed):
    n_atoms = n_features * ratio
    prob = make_sparse_problem(6, n_features, n_atoms, min(3, n_atoms), snr_db=20,
                               random_state=seed)
    X, D = prob.X, prob.dictionary
    alpha = alpha_frac * float(np.max(np.abs(X @ D.T)))
    res = dictlearn.lasso(X, D, alpha=alpha, positive=positive, tol=1e-12, max_iter=20000,
                          engine=engine)
    assert res.status.value == "converged"
    Z = res.codes
    if positive:
        assert np.all(Z >= 0)
    assert _kkt_violation(X, D, Z, alpha, positive) < 1e-4
    gap = dictlearn.lasso_duality_gap(X, D, Z, alpha=alpha, positive=positive)
    F = dictlearn.lasso_objective(X, D, Z, alpha=alpha)
    assert np.all(gap >= -1e-12 * F)
    assert np.all(gap <= 1e-9 * F + 1e-12 * np.sum(X * X, axis=1))


@pytest.mark.parametrize("engine", ENGINES)
def test_same_objective_as_fista(engine):
    prob = make_sparse_problem(40, 32, 64, 4, snr_db=30, random_state=1)
    X, D = prob.X, prob.dictionary
    ours = dictlearn.lasso(X, D, alpha=0.1, engine=engine)
    ref = dictlearn.fista(X, D, alpha=0.1, tol=1e-10, max_iter=20000)
    f1 = dictlearn.lasso_objective(X, D, ours.codes, alpha=0.1)
    f2 = dictlearn.lasso_objective(X, D, ref.codes, alpha=0.1)
    np.testing.assert_allclose(f1, f2, rtol=1e-6)
    assert np.all(f1 <= f2 * (1 + 1e-9))


def test_numba_refit_is_exact_and_matches_oracles():
    from sklearn.decomposition import sparse_encode

    prob = make_sparse_problem(200, 64, 256, 5, snr_db=30, random_state=0)
    X, D = prob.X, prob.dictionary
    res = dictlearn.lasso(X, D, alpha=0.1)
    assert res.status.value == "converged"
    F = dictlearn.lasso_objective(X, D, res.codes, alpha=0.1)
    assert float(np.max(res.criterion)) < 1e-10  # refit on the support: gap at rounding level
    Zs = sparse_encode(X, D, algorithm="lasso_lars", alpha=0.1)
    Fs = dictlearn.lasso_objective(X, D, Zs, alpha=0.1)
    assert np.all(F <= Fs * (1 + 1e-9))
    spams = pytest.importorskip("spams")
    Zp = spams.lasso(np.asfortranarray(X.T), D=np.asfortranarray(D.T), lambda1=0.1, mode=2)
    Fp = dictlearn.lasso_objective(X, D, np.asarray(Zp.todense()).T, alpha=0.1)
    np.testing.assert_allclose(F.mean(), Fp.mean(), rtol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_large_alpha_gives_zero_and_warm_start(engine):
    prob = make_sparse_problem(10, 16, 32, 3, random_state=4)
    X, D = prob.X, prob.dictionary
    amax = float(np.max(np.abs(X @ D.T)))
    res = dictlearn.lasso(X, D, alpha=amax * 1.001, engine=engine)
    np.testing.assert_array_equal(res.codes, 0.0)
    sol = dictlearn.lasso(X, D, alpha=0.05, tol=1e-12, engine=engine)
    again = dictlearn.lasso(X, D, alpha=0.05, tol=1e-9, init=sol.codes, engine=engine)
    np.testing.assert_array_equal(again.n_iter_per_sample, 0)
    np.testing.assert_array_equal(again.codes, sol.codes)


def test_array_api_strict_and_dtype(xp, dtype_name):
    prob = make_sparse_problem(8, 12, 24, 3, snr_db=30, random_state=2)
    X = asxp(xp, prob.X, dtype_name)
    D = asxp(xp, prob.dictionary, dtype_name)
    res = dictlearn.lasso(X, D, alpha=0.1, tol=1e-8)
    assert res.codes.dtype == X.dtype
    assert type(res.codes) is type(X)
    ref = dictlearn.lasso(prob.X, prob.dictionary, alpha=0.1, tol=1e-12, engine="reference")
    rtol = 1e-3 if dtype_name == "float32" else 1e-6
    f = dictlearn.lasso_objective(prob.X, prob.dictionary, tonp(res.codes).astype(float),
                                  alpha=0.1)
    f0 = dictlearn.lasso_objective(prob.X, prob.dictionary, ref.codes, alpha=0.1)
    np.testing.assert_allclose(f, f0, rtol=rtol)


def test_registered_and_read_only_inputs():
    prob = make_sparse_problem(10, 16, 32, 3, random_state=0)
    X, D = prob.X.copy(), prob.dictionary.copy()
    X.setflags(write=False)
    D.setflags(write=False)
    a = dictlearn.sparse_encode(X, D, method="lasso", alpha=0.1)
    b = dictlearn.sparse_encode(X, D, method="lasso_cd", alpha=0.1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, prob.X)
    coder = dictlearn.SparseCoder(D, method="lasso", alpha=0.1)
    np.testing.assert_allclose(coder.transform(X), a, atol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"alpha": -0.1}, ValueError, "alpha must be a finite number >= 0"),
        ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"engine": "gpu"}, ValueError, "engine must be one of"),
        ({"init": np.zeros((3, 3))}, ValueError, r"init must have shape \(n_samples, n_atoms\)"),
        ({"alpha": "a"}, TypeError, "alpha must be a real number"),
    ],
)
def test_bad_input(kwargs, err, match):
    prob = make_sparse_problem(5, 16, 32, 3, random_state=0)
    with pytest.raises(err, match=match):
        dictlearn.lasso(prob.X, prob.dictionary, **kwargs)
