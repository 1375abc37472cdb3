"""The convolutional sparse-coding solvers against the mathematics and against each other.

Every registered l1 method (FISTA, ADMM, and any other registered later) reaches the same
objective and the KKT conditions, computed here by brute-force correlation; planted events
are recovered within ±1 sample; MP's picks are those of a brute-force recomputation; ADMM's
iterates are SPORCO's ``ConvBPDN`` with the same options.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dictlearn import Status
from dictlearn.kernels import get_kernel
from dictlearn.kernels.conv_mp import cross_correlation_table
from dictlearn.signal import (
    CSC_METHODS,
    ConvOperator,
    csc_admm,
    csc_encode,
    csc_method_spec,
    csc_mp,
    csc_objective,
    csc_omp,
    reconstruct,
)
from dictlearn.signal.coding import csc_fista
from tests._helpers import asxp, tonp

L1_METHODS = sorted({csc_method_spec(m).name for m in CSC_METHODS
                     if csc_method_spec(m).penalty == "l1"})
GREEDY = ["mp", "omp"]


def _atoms(rng, K, C, L):
    D = rng.standard_normal((K, C, L))
    return D / np.linalg.norm(D.reshape(K, -1), axis=1)[:, None, None]


def _problem(seed=0, n=2, K=4, C=1, L=8, T=120, density=0.03, noise=0.05):
    rng = np.random.default_rng(seed)
    D = _atoms(rng, K, C, L)
    Z = np.zeros((n, K, T - L + 1))
    m = rng.random(Z.shape) < density
    Z[m] = rng.standard_normal(m.sum())
    X = reconstruct(Z, D) + noise * rng.standard_normal((n, C, T))
    return X, D


def _brute_correlation(X, D, Z):
    """``𝒟ᵀ(x − 𝒟z)`` by direct sums: (n, K, T_v)."""
    n, C, T = X.shape
    K, _, L = D.shape
    R = X.copy()
    for i in range(n):
        for k in range(K):
            for c in range(C):
                R[i, c] -= np.convolve(Z[i, k], D[k, c])
    out = np.zeros((n, K, T - L + 1))
    for i in range(n):
        for k in range(K):
            for c in range(C):
                out[i, k] += np.correlate(R[i, c], D[k, c], mode="valid")
    return out


def _kkt_violation(X, D, Z, alpha, positive=False):
    Cr = _brute_correlation(X, D, Z)
    on = Z != 0
    v_on = np.abs(Cr - alpha * np.sign(Z))[on]
    v_off = (np.maximum(Cr[~on] - alpha, 0) if positive
             else np.maximum(np.abs(Cr[~on]) - alpha, 0))
    return max(v_on.max(initial=0.0), v_off.max(initial=0.0)) / alpha


def _solve(method, X, D, alpha, **kw):
    spec = csc_method_spec(method)
    opts = {k: v for k, v in {"tol": 1e-11, "max_iter": 30000, **kw}.items()
            if spec.accepts(k)}
    return csc_encode(X, D, method=method, alpha=alpha, return_result=True, **opts)


@pytest.mark.parametrize("C", [1, 2])
@pytest.mark.parametrize("positive", [False, True])
def test_every_l1_method_reaches_the_same_objective_and_kkt(C, positive):
    assert {"fista", "admm"} <= set(L1_METHODS)
    X, D = _problem(seed=C, C=C)
    amax = float(np.max(ConvOperator.build(D, X.shape[2], xp=np).alpha_max(X)))
    alpha = 0.1 * amax
    F = {}
    for m in L1_METHODS:
        res = _solve(m, X, D, alpha, positive=positive)
        assert res.status is Status.converged, m
        Z = tonp(res.codes)
        if positive:
            assert np.all(Z >= 0), m
        assert _kkt_violation(X, D, Z, alpha, positive) < 1e-4, m
        F[m] = tonp(csc_objective(X, D, Z, alpha=alpha, positive=positive)[0])
    best = np.min(np.stack(list(F.values())), axis=0)
    for m, v in F.items():
        np.testing.assert_array_less(v - best, 1e-6 * best + 1e-12, err_msg=m)


def _coherence(D):
    """Largest |⟨S_t d_k, S_t' d_k'⟩| over distinct (atom, shift) pairs."""
    G = cross_correlation_table(D, xp=np).copy()
    L = D.shape[2]
    G[np.arange(D.shape[0]), np.arange(D.shape[0]), L - 1] = 0.0
    return float(np.max(np.abs(G)))


def _planted(data):
    """Signals of well-separated events (gaps >= atom_length) of unit-norm atoms whose
    shifts have coherence <= 0.6 (so that a single event is identifiable: for one event
    the lasso's exact recovery condition is coherence < 1, with a margin for the noise)."""
    L = data.draw(st.integers(4, 12), label="atom_length")
    C = data.draw(st.integers(1, 3), label="n_channels")
    K = data.draw(st.integers(1, 4), label="n_atoms")
    n_events = data.draw(st.integers(1, 4), label="n_events")
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    rng = np.random.default_rng(seed)
    D = _atoms(rng, K, C, L)
    while _coherence(D) > 0.6:
        D = _atoms(rng, K, C, L)
    gaps = rng.integers(L, 3 * L, size=n_events)
    starts = np.cumsum(gaps)
    T = int(starts[-1] + 2 * L)
    Tv = T - L + 1
    ks = rng.integers(0, K, size=n_events)
    amps = rng.uniform(1.0, 2.0, size=n_events) * rng.choice([-1.0, 1.0], size=n_events)
    Z = np.zeros((K, Tv))
    Z[ks, starts] = amps
    X = reconstruct(Z, D) + 1e-3 * rng.standard_normal((C, T))
    return X, D, list(zip(ks.tolist(), starts.tolist(), amps.tolist(), strict=True))


def _assert_recovered(Z, events, K, tol_frac):
    amin = min(abs(a) for _, _, a in events)
    near = np.zeros(Z.shape, dtype=bool)
    for k, t, a in events:
        window = Z[k, max(t - 1, 0):t + 2]
        assert np.max(np.abs(window)) >= 0.5 * abs(a), (k, t, a, window)
        near[k, max(t - 1, 0):t + 2] = True
    assert np.all(np.abs(Z[~near]) <= tol_frac * amin)


@settings(deadline=None, max_examples=15)
@given(data=st.data())
def test_planted_events_are_recovered_within_one_sample(data):
    X, D, events = _planted(data)
    amax = float(np.max(ConvOperator.build(D, X.shape[-1], xp=np).alpha_max(X[None])))
    for m in ["fista", "admm"]:
        Z = tonp(csc_encode(X, D, method=m, alpha=0.01 * amax, tol=1e-8, max_iter=20000))
        _assert_recovered(Z, events, D.shape[0], 0.25)
    for m in GREEDY:
        Z = tonp(csc_encode(X, D, method=m, n_nonzero_coefs=len(events)))
        _assert_recovered(Z, events, D.shape[0], 0.0)
        assert np.count_nonzero(Z) <= len(events)


def test_greedy_positive_and_tol():
    X, D = _problem(seed=3, n=3, C=2, noise=0.01)
    for fn in (csc_mp, csc_omp):
        res = fn(X, D, positive=True, n_nonzero_coefs=15)
        assert np.all(tonp(res.codes) >= 0)
        res = fn(X, D, tol=0.05)
        R = X - reconstruct(res.codes, D)
        rel = np.sum(R ** 2, axis=(1, 2)) / np.sum(X ** 2, axis=(1, 2))
        np.testing.assert_allclose(rel, tonp(res.criterion), rtol=1e-8, atol=1e-12)
        assert np.all(rel <= 0.05 + 1e-12)


def test_omp_residual_is_orthogonal_to_the_picked_shifts():
    X, D = _problem(seed=4, n=2, C=2, noise=0.1)
    Z = tonp(csc_omp(X, D, n_nonzero_coefs=12).codes)
    Cr = _brute_correlation(X, D, Z)
    assert np.count_nonzero(Z) == 24
    np.testing.assert_allclose(Cr[Z != 0], 0.0, atol=1e-10)


@pytest.mark.parametrize("engine", ["reference", "numba"])
@pytest.mark.parametrize("positive", [False, True])
def test_mp_picks_equal_a_brute_force_recomputation(engine, positive):
    if engine == "numba":
        pytest.importorskip("numba")
    X, D = _problem(seed=5, n=2, K=3, C=2, L=6, T=80, noise=0.1)
    Dn = D / np.linalg.norm(D.reshape(3, -1), axis=1)[:, None, None]
    op = ConvOperator.build(Dn, X.shape[2], xp=np)
    C0 = op.adjoint(X)
    xx = np.sum(X ** 2, axis=(1, 2))
    _, used, _, picks = get_kernel("conv_mp", engine)(
        C0, cross_correlation_table(Dn, xp=np), xx, -np.ones(2), n_nonzero_coefs=20,
        positive=positive, orthogonal=False, **({"xp": np} if engine == "reference" else {}))
    Tv = C0.shape[2]
    for i in range(2):
        Z = np.zeros((1, 3, Tv))
        for j in tonp(picks)[i, :int(used[i])]:
            corr = _brute_correlation(X[i:i + 1], Dn, Z)[0]
            score = corr if positive else np.abs(corr)
            assert j == int(np.argmax(score))
            k, t = divmod(int(j), Tv)
            Z[0, k, t] += corr[k, t]


@pytest.mark.parametrize("orthogonal", [False, True])
@settings(deadline=None, max_examples=10)
@given(L=st.integers(2, 10), C=st.integers(1, 3), K=st.integers(1, 4), n=st.integers(1, 3),
       positive=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_conv_mp_engines_agree(orthogonal, L, C, K, n, positive, seed):
    pytest.importorskip("numba")
    rng = np.random.default_rng(seed)
    D = _atoms(rng, K, C, L)
    X = rng.standard_normal((n, C, 3 * L + 20))
    op = ConvOperator.build(D, X.shape[2], xp=np)
    args = (op.adjoint(X), cross_correlation_table(D, xp=np), np.sum(X ** 2, axis=(1, 2)),
            0.05 * np.sum(X ** 2, axis=(1, 2)))
    opts = {"n_nonzero_coefs": 25, "positive": positive, "orthogonal": orthogonal}
    ref = get_kernel("conv_mp", "reference")(*args, xp=np, **opts)
    fast = get_kernel("conv_mp", "numba")(*args, **opts)
    np.testing.assert_array_equal(fast[1], ref[1])
    np.testing.assert_array_equal(fast[3], ref[3])
    np.testing.assert_allclose(fast[0], ref[0], rtol=1e-9, atol=1e-11)


def test_admm_iterates_are_sporcos_convbpdn():
    cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    rng = np.random.default_rng(6)
    D = _atoms(rng, 5, 1, 8)[:, 0, :]
    x = rng.standard_normal(200)  # fft_length(200) = 200: SPORCO's grid
    x /= np.max(np.abs(x))  # peak 1: where our default rho rules are SPORCO's
    alpha = 0.2
    for it in (1, 7, 40):
        opt = cbpdn.ConvBPDN.Options({"MaxMainIter": it, "RelStopTol": 0.0,
                                      "NoBndryCross": True, "Verbose": False,
                                      "AutoRho": {"RsdlRatio": 1.2}})
        y = np.squeeze(cbpdn.ConvBPDN(D.T.copy(), x, alpha, opt, dimN=1).solve()).T
        ours = csc_admm(x, D, alpha=alpha, tol=0.0, max_iter=it, residual_ratio=1.2).codes
        np.testing.assert_allclose(ours, y[:, :193], atol=1e-10)
        assert np.all(y[:, 193:] == 0)


@pytest.mark.parametrize("method", ["fista", "admm"])
def test_warm_start_from_the_solution_costs_no_iteration(method):
    X, D = _problem(seed=7)
    alpha = 0.05
    res = _solve(method, X, D, alpha, tol=1e-9)
    again = _solve(method, X, D, alpha, tol=1e-6, init=res.codes)
    assert again.n_iter == 0 and again.status is Status.converged
    np.testing.assert_array_equal(again.codes, res.codes)


@pytest.mark.parametrize("method", ["fista", "admm", "mp", "omp"])
def test_float32_is_kept(method):
    X, D = _problem(seed=8, C=2)
    X32, D32 = X.astype(np.float32), D.astype(np.float32)
    kw = {"n_nonzero_coefs": 5} if method in GREEDY else {"alpha": 0.05, "tol": 1e-4}
    res = csc_encode(X32, D32, method=method, return_result=True, **kw)
    assert res.codes.dtype == np.float32
    assert res.codes.shape == (2, 4, 113)


@pytest.mark.parametrize("method", ["fista", "admm"])
@pytest.mark.parametrize("C", [1, 2])
def test_array_api_strict_matches_numpy(xp, method, C):
    X, D = _problem(seed=9, C=C)
    ref = csc_encode(X, D, method=method, alpha=0.05, tol=1e-9, max_iter=20000)
    out = csc_encode(asxp(xp, X), asxp(xp, D), method=method, alpha=0.05, tol=1e-9,
                     max_iter=20000)
    np.testing.assert_allclose(tonp(out), ref, atol=1e-6)


@pytest.mark.parametrize("method", ["fista", "admm", "mp"])
def test_second_device_is_kept(method):
    xs = pytest.importorskip("array_api_strict")
    X, D = _problem(seed=10, C=2)
    dev = xs.Device("device1")
    Xd, Dd = xs.asarray(X, device=dev), xs.asarray(D, device=dev)
    kw = {"n_nonzero_coefs": 4, "engine": "reference"} if method in GREEDY else {"alpha": 0.05}
    out = csc_encode(Xd, Dd, method=method, **kw)
    assert out.device == dev
    ref = csc_encode(X, D, method=method, **kw)
    host = np.asarray(xs.asarray(out, device=xs.Device("CPU_DEVICE")))
    np.testing.assert_allclose(host, ref, atol=1e-6)


def test_admm_stops_on_sporcos_residual_rule():
    X, D = _problem(seed=11)
    res = csc_admm(X, D, alpha=0.05, stop="residual", tol=1e-3, check_every=1)
    assert res.status is Status.converged
    assert np.all(tonp(res.criterion) <= 1e-3)


@pytest.mark.parametrize("method", L1_METHODS + GREEDY)
def test_bad_inputs_are_named(method):
    X, D = _problem(seed=12)
    kw = {"n_nonzero_coefs": 3} if method in GREEDY else {"alpha": 0.1}
    with pytest.raises(ValueError, match="longer"):
        csc_encode(X[..., :5], D, method=method, **kw)
    bad = X.copy()
    bad[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN|nan|finite"):
        csc_encode(bad, D, method=method, **kw)


@pytest.mark.parametrize("fn", [csc_mp, csc_omp])
def test_greedy_budget_errors(fn):
    X, D = _problem(seed=13)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        fn(X, D, n_nonzero_coefs=0)
    with pytest.raises(ValueError, match=r"n_nonzero_coefs.*tol|neither"):
        fn(X, D)


def test_admm_option_errors():
    X, D = _problem(seed=14)
    with pytest.raises(ValueError, match="relax"):
        csc_admm(X, D, relax=2.0)
    with pytest.raises(ValueError, match="stop"):
        csc_admm(X, D, stop="change")
    with pytest.raises(ValueError, match="rho"):
        csc_admm(X, D, rho=0.0)
    assert csc_fista is CSC_METHODS["fista"] and csc_admm is CSC_METHODS["cbpdn"]
