"""The numba ISTA/FISTA kernel: plain iterates equal the reference, working sets with gap-safe
screening reach the exact lasso solution and never screen out an atom of it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dictlearn
from dictlearn._linalg import spectral_norm_sq
from dictlearn.datasets import make_sparse_problem
from dictlearn.kernels import get_kernel

pytestmark = pytest.mark.skipif(not dictlearn._xp.numba_enabled(), reason="numba unavailable")


def _problem(n, m, k, s, seed, dtype="float64", positive=False):
    p = make_sparse_problem(n, m, k, min(s, k), snr_db=25, positive=positive, random_state=seed)
    return p.X.astype(dtype), p.dictionary.astype(dtype)


def _opts(D, **kw):
    o = {"positive": False, "acceleration": True, "restart": True, "stop": "gap", "tol": 1e-6,
         "max_iter": 20_000, "check_every": 10, "lipschitz": spectral_norm_sq(D, xp=np),
         "form": "gram", "screen": True, "working_set": True}
    o.update(kw)
    return o


@given(n=st.integers(1, 8), m=st.integers(3, 16), ratio=st.sampled_from([1, 2, 4]),
       s=st.integers(1, 5), alpha_frac=st.floats(0.02, 0.6), positive=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
@settings(deadline=None)
def test_screening_never_removes_an_atom_of_the_exact_solution(n, m, ratio, s, alpha_frac,
                                                                positive, seed):
    X, D = _problem(n, m, m * ratio, s, seed, positive=positive)
    alpha = alpha_frac * float(np.max(np.abs(X @ D.T)))
    Z, _, _, conv, out = get_kernel("fista_l1", "numba")(
        X, D, None, alpha=alpha, **_opts(D, positive=positive, tol=1e-9))
    assert conv.all()
    exact = dictlearn.lasso(X, D, alpha=alpha, positive=positive, tol=1e-14, max_iter=50_000)
    C = (X - exact.codes @ D) @ D.T  # at the solution, |c_j| <= alpha, = alpha on the support
    assert np.all(exact.codes[out] == 0)
    # the gap-safe rule certifies |d_j·θ*| < 1: strictly inside the KKT bound
    viol = (C if positive else np.abs(C))[out]
    assert np.all(viol < alpha * (1 - 1e-9))
    assert np.all(Z[out] == 0)
    F = dictlearn.lasso_objective(X, D, Z, alpha=alpha)
    F0 = dictlearn.lasso_objective(X, D, exact.codes, alpha=alpha)
    np.testing.assert_allclose(F, F0, rtol=2e-9, atol=1e-12)


def test_screening_removes_most_atoms_on_a_sparse_problem():
    X, D = _problem(200, 32, 128, 3, 0)
    _, _, _, conv, out = get_kernel("fista_l1", "numba")(X, D, None, alpha=0.1, **_opts(D))
    assert conv.all()
    assert out.sum(axis=1).mean() > 0.3 * D.shape[0]
    _, _, _, _, none = get_kernel("fista_l1", "numba")(X, D, None, alpha=0.1,
                                                      **_opts(D, screen=False))
    assert not none.any()


@given(m=st.integers(3, 12), ratio=st.sampled_from([1, 2, 4]), steps=st.integers(1, 40),
       accel=st.booleans(), positive=st.booleans(), form=st.sampled_from(["gram", "direct"]),
       seed=st.integers(0, 2**32 - 1))
@settings(deadline=None)
def test_plain_iterates_equal_the_reference(m, ratio, steps, accel, positive, form, seed):
    """With ``tol=0`` the kernel runs exactly ``steps`` iterations of the method."""
    X, D = _problem(6, m, m * ratio, 2, seed, positive=positive)
    o = _opts(D, tol=0.0, max_iter=steps, acceleration=accel, positive=positive, form=form,
              working_set=False, check_every=7)
    Zr, ir, _, _, _ = get_kernel("fista_l1", "reference")(X, D, None, alpha=0.05, xp=np, **o)
    Zc, ic, _, _, _ = get_kernel("fista_l1", "numba")(X, D, None, alpha=0.05, **o)
    np.testing.assert_array_equal(ic, ir)
    np.testing.assert_allclose(Zc, Zr, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("stop", ["change", "gap"])
@pytest.mark.parametrize("form", ["gram", "direct"])
def test_plain_row_blocks_with_rows_leaving_equal_the_reference(monkeypatch, stop, form):
    """Blocks of 7 rows, each row stopping at its own check: per-row iterations, codes and
    criteria equal the reference (rows leaving a block are swapped out of its buffers)."""
    from dictlearn.kernels import fista_numba

    X, D = _problem(40, 8, 24, 2, 4)
    monkeypatch.setattr(fista_numba, "BLOCK_ELEMENTS", 7 * 24)
    o = _opts(D, stop=stop, tol=1e-5, max_iter=400, check_every=3, form=form,
              working_set=False)
    Zr, ir, cr, vr, _ = get_kernel("fista_l1", "reference")(X, D, None, alpha=0.05, xp=np, **o)
    Zc, ic, cc, vc, _ = get_kernel("fista_l1", "numba")(X, D, None, alpha=0.05, **o)
    assert len(set(ir.tolist())) > 3  # rows do leave at different checks
    np.testing.assert_array_equal(ic, ir)
    np.testing.assert_array_equal(vc, vr)
    np.testing.assert_allclose(Zc, Zr, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(cc, cr, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("method", ["ista", "fista"])
@pytest.mark.parametrize("working_set", [True, False])
def test_engines_reach_the_same_codes(method, working_set):
    X, D = _problem(40, 16, 48, 3, 3)
    kw = {"alpha": 0.1, "tol": 1e-10, "max_iter": 50_000}
    ref = dictlearn.sparse_encode(X, D, method=method, engine="reference", return_result=True,
                                  **kw)
    got = dictlearn.sparse_encode(X, D, method=method, engine="numba", return_result=True,
                                  working_set=working_set, **kw)
    assert ref.converged.all() and got.converged.all()
    np.testing.assert_allclose(got.codes, ref.codes, atol=1e-4)
    np.testing.assert_allclose(dictlearn.lasso_objective(X, D, got.codes, alpha=0.1),
                               dictlearn.lasso_objective(X, D, ref.codes, alpha=0.1), rtol=1e-9)
    assert np.all(got.criterion <= 1e-10 + 1e-12)


def test_positive_codes_are_nonnegative_and_optimal():
    X, D = _problem(30, 16, 48, 3, 1, positive=True)
    res = dictlearn.fista(X, D, alpha=0.05, positive=True, tol=1e-10, max_iter=50_000)
    assert res.converged.all() and np.all(res.codes >= 0)
    exact = dictlearn.lasso(X, D, alpha=0.05, positive=True, tol=1e-14)
    np.testing.assert_allclose(res.codes, exact.codes, atol=1e-4)


def test_warm_starts():
    X, D = _problem(30, 16, 48, 3, 2)
    sol = dictlearn.fista(X, D, alpha=0.1, tol=1e-12, max_iter=50_000)
    again = dictlearn.fista(X, D, alpha=0.1, tol=1e-8, init=sol.codes)
    assert int(again.n_iter) == 0
    np.testing.assert_array_equal(again.codes, sol.codes)
    rng = np.random.default_rng(0)
    near = sol.codes + 1e-3 * rng.standard_normal(sol.codes.shape) * (sol.codes != 0)
    cold = dictlearn.fista(X, D, alpha=0.1, tol=1e-10, max_iter=50_000)
    warm = dictlearn.fista(X, D, alpha=0.1, tol=1e-10, max_iter=50_000, init=near)
    assert warm.converged.all()
    assert warm.n_iter_per_sample.sum() < cold.n_iter_per_sample.sum()
    np.testing.assert_allclose(warm.codes, sol.codes, atol=1e-4)


@pytest.mark.parametrize("working_set", [True, False])
def test_float32_stays_float32(working_set):
    X, D = _problem(30, 16, 40, 3, 11, "float32")
    res = dictlearn.fista(X, D, alpha=0.1, tol=1e-5, working_set=working_set, engine="numba")
    ref = dictlearn.fista(X, D, alpha=0.1, tol=1e-5, engine="reference")
    assert res.codes.dtype == np.float32 and res.criterion.dtype == np.float32
    np.testing.assert_allclose(res.codes, ref.codes, atol=2e-3)


def test_engine_errors():
    X, D = _problem(4, 8, 16, 2, 0)
    with pytest.raises(ValueError, match="callback"):
        dictlearn.fista(X, D, engine="numba", callback=lambda info: False)
    with pytest.raises(ValueError, match="working_set"):
        dictlearn.fista(X, D, stop="change", working_set=True)
    with pytest.raises(ValueError, match="engine"):
        dictlearn.fista(X, D, engine="gpu")
