"""LGCD for convolutional sparse coding: the two kernel twins agree, the solver reaches the lasso
solution (gap, KKT, FISTA's objective), positive codes, warm starts, multichannel signals,
float32, array-api-strict inputs and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dictlearn
from dictlearn.kernels import get_kernel
from dictlearn.kernels.conv_mp import cross_correlation_table
from dictlearn.signal import (
    ConvOperator,
    csc_encode,
    csc_fista,
    csc_lgcd,
    csc_objective,
    reconstruct,
)
from tests._helpers import tonp

NUMBA = dictlearn._xp.numba_enabled()
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba unavailable")


def _problem(n_signals=1, n_channels=1, n_atoms=3, L=8, T=160, n_events=6, seed=0,
             noise=0.05):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_channels, L))
    D /= np.linalg.norm(D.reshape(n_atoms, -1), axis=1)[:, None, None]
    Tv = T - L + 1
    Z = np.zeros((n_signals, n_atoms, Tv))
    for i in range(n_signals):
        Z[i].flat[rng.choice(n_atoms * Tv, n_events, replace=False)] = \
            rng.uniform(1, 2, n_events) * rng.choice([-1, 1], n_events)
    X = reconstruct(Z, D) + noise * rng.standard_normal((n_signals, n_channels, T))
    op = ConvOperator.build(D, T, xp=np)
    alpha = 0.2 * float(np.max(op.alpha_max(X)))
    return X, D, Z, alpha


def _kkt(X, D, Z, alpha, positive=False):
    """Largest violation of the lasso's optimality conditions, relative to alpha."""
    op = ConvOperator.build(D, X.shape[-1], xp=np)
    C = op.adjoint(X - op.apply(Z))
    if positive:
        off = np.max(np.where(Z > 0, 0.0, C - alpha))
        on = np.max(np.abs(np.where(Z > 0, C - alpha, 0.0)))
    else:
        off = np.max(np.where(Z != 0, 0.0, np.abs(C) - alpha))
        on = np.max(np.abs(np.where(Z != 0, C - alpha * np.sign(Z), 0.0)))
    return max(off, on) / alpha


def test_cross_correlation_table_matches_direct_sums():
    rng = np.random.default_rng(3)
    D = rng.standard_normal((3, 2, 5))
    H = cross_correlation_table(D, xp=np)
    L = 5
    for k in range(3):
        for j in range(3):
            for s in range(-(L - 1), L):
                direct = sum(D[k, c, l + s] * D[j, c, l] for c in range(2) for l in range(L)
                             if 0 <= l + s < L)
                assert abs(H[k, j, s + L - 1] - direct) < 1e-12


@needs_numba
@settings(deadline=None, max_examples=12)
@given(n=st.integers(1, 3), ch=st.integers(1, 2), K=st.integers(1, 4), L=st.integers(2, 9),
       T=st.integers(20, 90), positive=st.booleans(), n_passes=st.integers(1, 12),
       seed=st.integers(0, 2**31 - 1))
def test_kernel_twins_give_the_same_iterates(n, ch, K, L, T, positive, n_passes, seed):
    X, D, _, alpha = _problem(n, ch, K, L, max(T, L + 1), n_events=3, seed=seed)
    op = ConvOperator.build(D, X.shape[-1], xp=np)
    H = cross_correlation_table(D, xp=np)
    seg = 2 * L - 1
    n_seg = -(-op.n_times_valid // seg)
    outs = []
    for engine, extra in (("reference", {"xp": np}), ("numba", {})):
        Z = np.zeros((n, K, op.n_times_valid))
        R = X.copy()
        C = np.ascontiguousarray(op.adjoint(R))
        thr = np.full(n, 0.01)
        out = get_kernel("lgcd_passes", engine)(
            D, H, Z, C, R, np.ones((n, n_seg), bool), alpha=alpha, positive=positive,
            n_passes=n_passes, thr=thr, thr_min=1e-6, seg_len=seg, **extra)
        outs.append((*out, thr))
    for a, b in zip(outs[0], outs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("engine", ["reference", pytest.param("numba", marks=needs_numba)])
def test_reaches_the_lasso_solution(engine):
    X, D, _, alpha = _problem(n_signals=2, seed=1)
    res = csc_lgcd(X, D, alpha=alpha, tol=1e-10, max_iter=20_000, engine=engine)
    assert res.status.value == "converged" and bool(np.all(res.converged))
    F, gap = csc_objective(X, D, res.codes, alpha=alpha)
    assert np.all(gap <= 1e-9 * F + 1e-12)
    assert _kkt(X, D, res.codes, alpha) < 1e-4
    ref = csc_fista(X, D, alpha=alpha, tol=1e-12, max_iter=50_000)
    Ff, _ = csc_objective(X, D, ref.codes, alpha=alpha)
    np.testing.assert_allclose(F, Ff, rtol=1e-6)
    assert res.codes.shape == (2, 3, X.shape[-1] - D.shape[-1] + 1)
    assert np.all(res.n_iter_per_sample >= 1) and res.criterion.shape == (2,)


@needs_numba
def test_engines_reach_the_same_solution():
    X, D, _, alpha = _problem(n_signals=3, n_channels=2, seed=2)
    a = csc_lgcd(X, D, alpha=alpha, tol=1e-12, max_iter=50_000, engine="reference")
    b = csc_lgcd(X, D, alpha=alpha, tol=1e-12, max_iter=50_000, engine="numba")
    np.testing.assert_allclose(a.codes, b.codes, atol=1e-10)


def test_positive_codes_satisfy_their_kkt():
    X, D, _, alpha = _problem(seed=4)
    res = csc_lgcd(X, D, alpha=alpha, positive=True, tol=1e-10, max_iter=20_000)
    assert res.status.value == "converged" and np.all(res.codes >= 0)
    assert np.any(res.codes > 0)
    assert _kkt(X, D, res.codes, alpha, positive=True) < 1e-4
    F = csc_objective(X, D, res.codes, alpha=alpha, positive=True)[0]
    Ff = csc_objective(X, D, csc_fista(X, D, alpha=alpha, positive=True, tol=1e-12,
                                       max_iter=50_000).codes, alpha=alpha, positive=True)[0]
    np.testing.assert_allclose(F, Ff, rtol=1e-6)


def test_warm_start_from_the_solution_stops_at_once_and_from_elsewhere_converges():
    X, D, _, alpha = _problem(seed=5)
    sol = csc_lgcd(X, D, alpha=alpha, tol=1e-10, max_iter=20_000)
    again = csc_lgcd(X, D, alpha=alpha, tol=1e-8, init=sol.codes)
    assert again.status.value == "converged" and again.n_iter == 0
    np.testing.assert_array_equal(again.codes, sol.codes)
    start = sol.codes + 0.3 * np.random.default_rng(0).standard_normal(sol.codes.shape)
    before = start.copy()
    warm = csc_lgcd(X, D, alpha=alpha, tol=1e-10, max_iter=20_000, init=start)
    np.testing.assert_array_equal(start, before)  # the input is not mutated
    np.testing.assert_allclose(csc_objective(X, D, warm.codes, alpha=alpha)[0],
                               csc_objective(X, D, sol.codes, alpha=alpha)[0], rtol=1e-9)


def test_multichannel_shared_activations_recover_the_planted_positions():
    X, D, Z, _ = _problem(n_channels=3, n_atoms=2, L=10, T=300, n_events=4, noise=0.01, seed=6)
    res = csc_lgcd(X[0], D, alpha=0.05, tol=1e-8, max_iter=20_000)
    big = np.abs(res.codes) > 0.5
    assert set(zip(*np.nonzero(big), strict=True)) == set(zip(*np.nonzero(Z[0]), strict=True))


def test_change_rule_and_callback():
    X, D, _, alpha = _problem(seed=7)
    seen = []
    res = csc_lgcd(X, D, alpha=alpha, stop="change", tol=1e-8, max_iter=20_000,
                   callback=lambda info: seen.append(info.iteration) and False)
    assert res.status.value == "converged" and seen and seen == sorted(seen)
    stopped = csc_lgcd(X, D, alpha=alpha, tol=0.0, max_iter=100,
                       callback=lambda info: True)
    assert stopped.status.value == "stopped"
    exact = csc_lgcd(X, D, alpha=alpha, tol=0.0, max_iter=7, check_every=3)
    assert exact.n_iter == 7 and exact.status.value == "max_iter_reached"


def test_registered_and_float32_kept():
    assert dictlearn.signal.csc_method_spec("lgcd").penalty == "l1"
    X, D, _, alpha = _problem(seed=8)
    z = csc_encode(X.astype(np.float32), D.astype(np.float32), method="lgcd", alpha=alpha,
                   tol=1e-4)
    assert z.dtype == np.float32
    z64 = csc_lgcd(X, D, alpha=alpha, tol=1e-10, max_iter=20_000).codes
    F32 = csc_objective(X, D, z.astype(np.float64), alpha=alpha)[0]
    F64 = csc_objective(X, D, z64, alpha=alpha)[0]
    np.testing.assert_allclose(F32, F64, rtol=1e-3)


def test_array_api_strict_inputs_come_back_in_their_namespace_and_device(xp):
    X, D, _, alpha = _problem(n_signals=2, seed=9)
    ref = csc_lgcd(X, D, alpha=alpha, tol=1e-9, max_iter=20_000)
    devices = [None]
    if xp is not np:
        devices.append(xp.Device("device1"))
    for dev in devices:
        Xs, Ds = (xp.asarray(a) if dev is None else xp.asarray(a, device=dev) for a in (X, D))
        res = csc_lgcd(Xs, Ds, alpha=alpha, tol=1e-9, max_iter=20_000)
        assert type(res.codes) is type(Xs) and res.codes.device == Xs.device
        if dev is not None:
            res_codes = xp.asarray(res.codes, device=xp.Device("CPU_DEVICE"))
        else:
            res_codes = res.codes
        np.testing.assert_allclose(tonp(res_codes), ref.codes, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": -1.0}, "alpha"),
    ({"tol": -1.0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
    ({"stop": "objective"}, "stop"),
    ({"engine": "cuda"}, "engine"),
    ({"check_every": 0}, "check_every"),
    ({"init": np.zeros((3, 5))}, "init"),
])
def test_bad_options(kwargs, match):
    X, D, _, _ = _problem()
    with pytest.raises(ValueError, match=match):
        csc_lgcd(X[0], D, **kwargs)


def test_bad_signals():
    D = np.ones((2, 4)) / 2
    with pytest.raises(ValueError, match="longer"):
        csc_lgcd(np.ones(3), D)
    with pytest.raises(ValueError, match=r"NaN|finite|inf"):
        csc_lgcd(np.array([1.0, np.nan, 0.0, 1.0, 2.0]), D)
    with pytest.raises(ValueError, match=r"one time sample|empty"):
        csc_lgcd(np.ones(1), np.ones((1, 1)))
    with pytest.raises(ValueError, match="channel"):
        csc_lgcd(np.ones((2, 20)), np.ones((2, 3, 4)))
