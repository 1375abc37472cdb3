"""ISTA and FISTA against the mathematics: KKT, duality gap, Beck–Teboulle bounds, oracles."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dictlearn
from dictlearn import Status, fista, ista, lasso_duality_gap, lasso_objective, sparse_encode
from dictlearn.datasets import make_sparse_problem
from tests._helpers import asxp, tonp


def _problem(n=40, m=16, k=32, seed=0, snr=30):
    return make_sparse_problem(n, m, k, 3, snr_db=snr, random_state=seed)


def _kkt_violation(X, D, Z, alpha, positive=False):
    """Largest KKT violation, relative to alpha."""
    C = (X - Z @ D) @ D.T
    on = Z != 0
    v_on = np.abs(C - alpha * np.sign(Z))[on]
    if positive:
        v_off = np.maximum(C[~on] - alpha, 0.0)
    else:
        v_off = np.maximum(np.abs(C[~on]) - alpha, 0.0)
    return max(v_on.max(initial=0.0), v_off.max(initial=0.0)) / alpha


@pytest.mark.parametrize("method", ["ista", "fista"])
@pytest.mark.parametrize("form", ["gram", "direct"])
def test_kkt_and_gap_at_solution(xp, dtype_name, method, form):
    p = _problem()
    alpha = 0.1
    tol = 1e-10 if dtype_name == "float64" else 1e-5
    X, D = asxp(xp, p.X, dtype_name), asxp(xp, p.dictionary, dtype_name)
    res = sparse_encode(X, D, method=method, alpha=alpha, tol=tol, max_iter=20000, form=form,
                        return_result=True)
    assert res.status is Status.converged
    assert res.codes.dtype == X.dtype
    Z = tonp(res.codes).astype(np.float64)
    kkt_tol = 1e-4 if dtype_name == "float64" else 5e-2
    assert _kkt_violation(p.X, p.dictionary, Z, alpha) < kkt_tol
    gap = tonp(lasso_duality_gap(p.X, p.dictionary, Z, alpha=alpha))
    F = tonp(lasso_objective(p.X, p.dictionary, Z, alpha=alpha))
    assert np.all(gap >= -1e-12)
    rel = 1e-8 if dtype_name == "float64" else 1e-3
    assert np.all(gap <= rel * F + 1e-12)


def test_positive_lasso_kkt(xp):
    p = make_sparse_problem(30, 16, 32, 3, positive=True, snr_db=30, random_state=1)
    alpha = 0.05
    res = fista(asxp(xp, p.X), asxp(xp, p.dictionary), alpha=alpha, positive=True, tol=1e-12,
                max_iter=20000)
    Z = tonp(res.codes)
    assert np.all(Z >= 0)
    assert _kkt_violation(p.X, p.dictionary, Z, alpha, positive=True) < 1e-4
    gap = lasso_duality_gap(p.X, p.dictionary, Z, alpha=alpha, positive=True)
    assert np.all(gap >= -1e-12) and np.all(gap < 1e-9)


def _reference_solution(X, D, alpha):
    res = fista(X, D, alpha=alpha, tol=1e-13, max_iter=100000, restart=True)
    assert np.all(lasso_duality_gap(X, D, res.codes, alpha=alpha) < 1e-11)
    return res.codes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beck_teboulle_bounds_and_ista_monotone(seed):
    p = _problem(n=20, m=12, k=24, seed=seed)
    X, D, alpha = p.X, p.dictionary, 0.05
    Zs = _reference_solution(X, D, alpha)
    Fs = lasso_objective(X, D, Zs, alpha=alpha)
    L = dictlearn.lipschitz_constant(D)
    R2 = np.sum(Zs**2, axis=1)  # z0 = 0
    for method, bound in (
        ("ista", lambda k: L * R2 / (2 * k)),
        ("fista", lambda k: 2 * L * R2 / (k + 1) ** 2),
    ):
        seen = []

        def cb(info, seen=seen):
            rows = np.asarray(info.rows)  # rows whose gap fell to rounding level have left
            F = lasso_objective(X[rows], D, info.state.Z, alpha=alpha)
            seen.append((info.iteration, rows, F))

        opts = {"restart": False} if method == "fista" else {}
        sparse_encode(X, D, method=method, alpha=alpha, tol=0.0, max_iter=200, check_every=1,
                      callback=cb, **opts)
        assert [s[0] for s in seen[:3]] == [0, 1, 2]  # the initial check, then every iteration
        prev = None
        for k, rows, F in seen[1:]:
            assert np.all(F - Fs[rows] <= bound(k)[rows] + 1e-12), (method, k)
            if method == "ista" and prev is not None:
                assert np.all(F <= prev[rows] + 1e-12)  # ISTA never increases the objective
            prev = np.full(X.shape[0], np.inf)
            prev[rows] = F


def test_agrees_with_scikit_learn_objective():
    skd = pytest.importorskip("sklearn.decomposition")
    p = make_sparse_problem(300, 64, 256, 5, snr_db=30, random_state=0)
    alpha = 0.1
    Z_sk = skd.sparse_encode(p.X, p.dictionary, algorithm="lasso_lars", alpha=alpha)
    Z = fista(p.X, p.dictionary, alpha=alpha, tol=1e-9, max_iter=20000).codes
    f_sk = lasso_objective(p.X, p.dictionary, Z_sk, alpha=alpha).mean()
    f = lasso_objective(p.X, p.dictionary, Z, alpha=alpha).mean()
    assert abs(f - f_sk) <= 1e-6 * f_sk
    Zp_sk = skd.sparse_encode(p.X, p.dictionary, algorithm="lasso_lars", alpha=alpha,
                              positive=True)
    Zp = fista(p.X, p.dictionary, alpha=alpha, positive=True, tol=1e-9, max_iter=20000).codes
    fp_sk = lasso_objective(p.X, p.dictionary, Zp_sk, alpha=alpha).mean()
    fp = lasso_objective(p.X, p.dictionary, Zp, alpha=alpha).mean()
    assert abs(fp - fp_sk) <= 1e-6 * fp_sk


def test_agrees_with_spams_objective():
    spams = pytest.importorskip("spams")
    p = make_sparse_problem(300, 64, 256, 5, snr_db=30, random_state=4)
    alpha = 0.1
    Zs = spams.lasso(np.asfortranarray(p.X.T), D=np.asfortranarray(p.dictionary.T),
                     lambda1=alpha, mode=2)
    Zs = np.asarray(Zs.todense()).T
    Z = fista(p.X, p.dictionary, alpha=alpha, tol=1e-9, max_iter=20000).codes
    fs = lasso_objective(p.X, p.dictionary, Zs, alpha=alpha).mean()
    f = lasso_objective(p.X, p.dictionary, Z, alpha=alpha).mean()
    assert abs(f - fs) <= 1e-6 * fs


def test_gram_and_direct_forms_agree():
    p = _problem()
    a = fista(p.X, p.dictionary, alpha=0.1, form="gram", tol=1e-12, max_iter=20000).codes
    b = fista(p.X, p.dictionary, alpha=0.1, form="direct", tol=1e-12, max_iter=20000).codes
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_warm_start_at_the_solution_costs_no_iteration():
    p = _problem()
    Z = fista(p.X, p.dictionary, alpha=0.1, tol=1e-12, max_iter=20000).codes
    res = fista(p.X, p.dictionary, alpha=0.1, tol=1e-8, init=Z)
    assert res.status is Status.converged
    assert int(np.max(res.n_iter_per_sample)) == 0
    np.testing.assert_array_equal(res.codes, Z)


def test_per_sample_stopping_rows_leave_early():
    p = _problem(n=20)
    X = p.X.copy()
    X[:5] *= 1e-3  # tiny signals: their solution is 0, reached before any iteration
    res = ista(X, p.dictionary, alpha=0.1, tol=1e-8, max_iter=5000)
    assert np.all(res.n_iter_per_sample[:5] == 0)
    assert np.all(res.codes[:5] == 0)
    assert np.all(res.n_iter_per_sample[5:] > 0)
    assert res.converged.all()


def test_change_criterion_and_max_iter_status():
    p = _problem()
    res = ista(p.X, p.dictionary, alpha=0.1, stop="change", tol=1e-9, max_iter=5)
    assert res.status is Status.max_iter_reached and res.n_iter == 5
    assert not res.converged.any()
    res = fista(p.X, p.dictionary, alpha=0.1, stop="change", tol=1e-6, max_iter=10000)
    assert res.status is Status.converged


def test_callback_can_stop():
    p = _problem()
    res = fista(p.X, p.dictionary, alpha=0.1, tol=0.0, callback=lambda info: info.iteration >= 20)
    assert res.status is Status.stopped and res.n_iter == 20


def test_history_is_recorded():
    p = _problem()
    res = fista(p.X, p.dictionary, alpha=0.1, record_history=True, check_every=5)
    assert res.history and res.history[0]["iteration"] == 0
    its = [h["iteration"] for h in res.history]
    assert its == sorted(its)


def test_huge_float32_signals_are_scaled_not_overflowed():
    """‖x‖² overflows float32: the solver codes X / s (a power of two) and scales back
    (dictlearn/_scale.py) instead of stopping with ``nonfinite``."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 4)).astype(np.float32)
    X = np.full((3, 4), 3e19, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and NumPy has nothing to warn about
        res = fista(X, D, alpha=0.1 * 3e19)
    ref = fista(X / np.float32(3e19), D, alpha=0.1)
    assert res.status is Status.converged and res.codes.dtype == np.float32
    np.testing.assert_allclose(res.codes / np.float32(3e19), ref.codes, rtol=1e-4, atol=1e-5)


def test_results_stay_in_the_callers_namespace(xp, dtype_name):
    p = _problem(n=10)
    X, D = asxp(xp, p.X, dtype_name), asxp(xp, p.dictionary, dtype_name)
    Z = sparse_encode(X, D, alpha=0.1)
    assert type(Z) is type(X) and Z.dtype == X.dtype
    assert dictlearn._xp.device_of(Z) == dictlearn._xp.device_of(X)


def test_integer_input_is_promoted_to_float64():
    X = np.array([[1, 0, 2]], dtype=np.int64)
    Z = sparse_encode(X, np.eye(3, dtype=np.int32), alpha=0.1)
    assert Z.dtype == np.float64
    np.testing.assert_allclose(Z, [[0.9, 0.0, 1.9]], atol=1e-6)


def test_inputs_are_never_modified():
    p = _problem()
    X, D = p.X.copy(), p.dictionary.copy()
    init = np.ones((X.shape[0], D.shape[0]))
    for a in (X, D, init):
        a.setflags(write=False)
    for method in ("ista", "fista"):
        sparse_encode(X, D, method=method, alpha=0.1, init=init, max_iter=50)
    np.testing.assert_array_equal(X, p.X)
    np.testing.assert_array_equal(D, p.dictionary)
    assert np.all(init == 1)
