"""Backward passes of the maps of the prox table, of the shared step, of unrolled steps and of
the losses and penalties, against finite differences (Hypothesis draws sizes, seeds and maps)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dictlearn import objectives as losses
from dictlearn._xp import get_namespace
from dictlearn.amortized.unrolled import Layer, unrolled_forward, unrolled_vjp
from dictlearn.coding.step import (
    LeastSquares,
    coupled_step_forward,
    coupled_step_vjp,
    proximal_step,
    step_forward,
    step_vjp,
    sum_to_shape,
)
from dictlearn.prox import PROXES, get_prox
from tests._helpers import asxp, tonp

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

H = 1e-6
XNP = get_namespace(np.zeros(1))  # array-api-compat NumPy (plain NumPy lacks argsort(descending))


def _fd(f, x, u):
    return (f(x + H * u) - f(x - H * u)) / (2 * H)


def _margin_ok(act, V, theta):
    """True when V is at least 1e-3 away from every kink of the activation."""
    a = np.abs(V)
    if act.name in ("soft", "hard", "soft_ss"):
        if np.min(np.abs(a - theta)) < 1e-3:
            return False
    if act.name in ("nonneg_soft", "topk", "wta"):
        if np.min(np.abs(V - theta)) < 1e-3:
            return False
    if act.name in ("topk", "soft_ss"):
        key = V - theta if act.name == "topk" else a
        s = np.sort(key, axis=1)
        if np.min(np.diff(s, axis=1)) < 1e-3:
            return False
    if act.name == "wta":
        s = np.sort(np.maximum(V - theta, 0), axis=0)
        d = np.diff(s, axis=0)
        if np.min(d[d > 0], initial=1.0) < 1e-3:
            return False
    return True


#: Every map of the one table, its parameters bound.
ACTS = [get_prox(name, k=2, fraction=0.3 if name == "soft_ss" else 0.5) for name in PROXES]


def test_every_map_of_the_table_is_checked():
    assert [a.name for a in ACTS] == list(PROXES)
    assert {"soft", "nonneg_soft", "hard", "topk", "sigmoid", "soft_ss", "wta"} <= set(PROXES)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 6), k=st.integers(3, 8),
       which=st.integers(0, len(ACTS) - 1))
def test_activation_vjp_matches_finite_differences(seed, n, k, which):
    act = ACTS[which]
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, k))
    theta = 0.3
    assume(_margin_ok(act, V, theta))
    C = rng.standard_normal((n, k))
    U = rng.standard_normal((n, k))
    Z = act(V, theta, xp=XNP)
    gV, gT = act.vjp(V, theta, Z, C, xp=XNP)
    fd_v = _fd(lambda v: np.sum(C * act(v, theta, xp=XNP)), V, U)
    assert np.isclose(np.sum(gV * U), fd_v, rtol=1e-6, atol=1e-7)
    fd_t = _fd(lambda t: np.sum(C * act(V, t, xp=XNP)), theta, 1.0)
    if not act.exact_theta_grad:  # hard: straight-through, the soft threshold's derivative
        assert act.name == "hard"
        soft = get_prox("soft")
        assert np.allclose(gT, soft.vjp(V, theta, soft(V, theta, xp=XNP), C, xp=XNP)[1])
        assert fd_t == pytest.approx(0.0, abs=1e-7)
    else:
        assert np.isclose(np.sum(gT), fd_t, rtol=1e-6, atol=1e-7)


def test_step_forward_is_the_shared_step():
    rng = np.random.default_rng(0)
    B, Z, S = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    out, V = step_forward(B, Z, S, 0.2, get_prox("soft"), xp=XNP)
    assert np.array_equal(out, proximal_step(B, Z, S, 0.2, get_prox("soft"), xp=XNP))
    assert np.array_equal(V, B + Z @ S)


@pytest.mark.parametrize("coupled", [False, True])
def test_lista_layer_forward_is_the_solver_step(coupled):
    """K LISTA layers with ISTA's weights are K solver steps: the layers' pre-activations are
    ``LeastSquares.forward`` (the argument of the solvers' prox) and their outputs
    :func:`proximal_step`."""
    rng = np.random.default_rng(1)
    X, D = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    L = float(np.linalg.norm(D, 2) ** 2)
    ls = LeastSquares.build(X, D, L, xp=XNP, form="direct" if coupled else "gram")
    soft, theta = get_prox("soft"), 0.1 / L
    W = ls.Dt_L if coupled else D.T / L
    layer = Layer(W, theta, soft, None if coupled else ls.S)
    Zs, Vs = unrolled_forward(X, [layer] * 4, D=D, xp=XNP)
    Z = np.zeros((5, 4))
    for Zk, Vk in zip(Zs, Vs, strict=True):
        V = ls.forward(Z)
        if coupled:  # the direct form is the coupled step with W = Dᵀ/L
            assert np.array_equal(Vk, V)
        else:  # B = X Dᵀ/L vs X (Dᵀ/L): rounding only
            assert np.allclose(Vk, V, rtol=1e-12, atol=1e-14)
            assert np.array_equal(Zk, proximal_step(X @ W, Z, ls.S, theta, soft, xp=XNP))
        assert np.allclose(Zk, soft(V, theta, xp=XNP), rtol=1e-12, atol=1e-14)
        Z = Zk


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5), m=st.integers(2, 6),
       k=st.integers(2, 7), coupled=st.booleans())
def test_step_vjp_matches_finite_differences(seed, n, m, k, coupled):
    rng = np.random.default_rng(seed)
    act = get_prox("soft")
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    Z, W = rng.standard_normal((n, k)), rng.standard_normal((m, k)) * 0.3
    S = rng.standard_normal((k, k)) * 0.3
    C = rng.standard_normal((n, k))
    theta = 0.2
    if coupled:
        def f(Z_, W_, t_):
            return np.sum(C * coupled_step_forward(X, Z_, D, W_, t_, act, xp=XNP)[0])
        out, V = coupled_step_forward(X, Z, D, W, theta, act, xp=XNP)
        assume(np.min(np.abs(np.abs(V) - theta)) > 1e-3)
        gW, gZ, gT = coupled_step_vjp(X, Z, D, W, V, theta, out, C, act, xp=XNP)
        gS = None
    else:
        def f(Z_, W_, t_, S_=S):
            return np.sum(C * step_forward(X @ W_, Z_, S_, t_, act, xp=XNP)[0])
        out, V = step_forward(X @ W, Z, S, theta, act, xp=XNP)
        assume(np.min(np.abs(np.abs(V) - theta)) > 1e-3)
        gB, gZ, gS, gT = step_vjp(Z, S, V, theta, out, C, act, xp=XNP)
        gW = X.T @ gB
        US = rng.standard_normal(S.shape)
        assert np.isclose(np.sum(gS * US), _fd(lambda s: f(Z, W, theta, s), S, US), rtol=1e-6,
                          atol=1e-7)
    UZ, UW = rng.standard_normal(Z.shape), rng.standard_normal(W.shape)
    assert np.isclose(np.sum(gZ * UZ), _fd(lambda z: f(z, W, theta), Z, UZ), rtol=1e-6,
                      atol=1e-7)
    assert np.isclose(np.sum(gW * UW), _fd(lambda w: f(Z, w, theta), W, UW), rtol=1e-6,
                      atol=1e-7)
    assert np.isclose(np.sum(gT), _fd(lambda t: f(Z, W, t), theta, 1.0), rtol=1e-6, atol=1e-7)


def _layers(rng, m, k, K, coupled, name):
    act = get_prox(name, k=2)
    out = []
    for _ in range(K):
        W = rng.standard_normal((m, k)) * 0.3
        S = None if coupled else np.eye(k) + rng.standard_normal((k, k)) * 0.1
        out.append(Layer(W, np.array([0.1 + 0.1 * rng.random()]), act, S))
    return out


@given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 4), coupled=st.booleans(),
       name=st.sampled_from(["soft", "nonneg_soft", "sigmoid"]), every_layer=st.booleans())
def test_unrolled_vjp_matches_finite_differences(seed, K, coupled, name, every_layer):
    rng = np.random.default_rng(seed)
    n, m, k = 4, 5, 6
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    layers = _layers(rng, m, k, K, coupled, name)
    Cs = [rng.standard_normal((n, k)) if (every_layer or i == K - 1) else None
          for i in range(K)]

    def loss(lays):
        Zs, _ = unrolled_forward(X, lays, D=D, xp=XNP)
        return sum(np.sum(C * Zk) for C, Zk in zip(Cs, Zs, strict=True) if C is not None)

    Zs, Vs = unrolled_forward(X, layers, D=D, xp=XNP)
    for V, lay in zip(Vs, layers, strict=True):
        assume(np.min(np.abs(np.abs(V) - lay.theta)) > 1e-3)
        assume(np.min(np.abs(V - lay.theta)) > 1e-3)
    grads = unrolled_vjp(X, layers, Zs, Vs, Cs, D=D, xp=XNP)
    j = int(rng.integers(K))
    gW, gS, gT, _ = grads[j]
    UW = rng.standard_normal(layers[j].W.shape)

    def with_(W=None, S=None, t=None):
        lays = list(layers)
        lj = lays[j]
        lays[j] = Layer(lj.W if W is None else W, lj.theta if t is None else t, lj.act,
                        lj.S if S is None else S)
        return loss(lays)

    assert np.isclose(np.sum(gW * UW), _fd(lambda w: with_(W=w), layers[j].W, UW),
                      rtol=1e-5, atol=1e-7)
    gt = float(sum_to_shape(gT, (1,), xp=XNP)[0])
    assert np.isclose(gt, _fd(lambda t: with_(t=t), layers[j].theta, np.ones(1)),
                      rtol=1e-5, atol=1e-7)
    if not coupled:
        US = rng.standard_normal(layers[j].S.shape)
        assert np.isclose(np.sum(gS * US), _fd(lambda s: with_(S=s), layers[j].S, US),
                          rtol=1e-5, atol=1e-7)


@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, len(ACTS) - 1),
       theta=st.sampled_from([0.0, 0.3, 0.7]))
def test_linearize_is_the_forward_and_the_vjp_with_ones(seed, which, theta):
    """The one-pass derivatives of the fused layers (``ProxMap.linearize``) are the map's
    forward and its vector-Jacobian product, for every map of the table."""
    act = ACTS[which]
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((4, 7)).astype(np.float32)
    th = np.array([theta], dtype=np.float32)
    Z, JV, JT = act.linearize(V, th, xp=XNP)
    ref = act(V, th, xp=XNP)
    assert Z.dtype == JV.dtype == JT.dtype == np.float32
    assert np.array_equal(Z, ref)
    G = rng.standard_normal(V.shape).astype(np.float32)
    gv, gt = act.vjp(V, th, ref, G, xp=XNP)
    # the same products up to their order (sigmoid: G·(Z(1 − Z)) against (G·Z)(1 − Z))
    assert np.allclose(G * JV, gv, rtol=1e-6, atol=0) and np.allclose(G * JT, gt, rtol=1e-6,
                                                                       atol=0)


@given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 4), kind=st.sampled_from(
    ["explicit", "coupled", "gamma"]), name=st.sampled_from(["soft", "soft_ss", "sigmoid"]),
    first=st.integers(0, 3))
def test_fused_layers_match_finite_differences(seed, K, kind, name, first):
    """The fused training path (``unrolled_forward(tape=True)``: residuals, ``R W``, the maps'
    derivatives kept) against finite differences and against the backward rebuilt from the
    pre-activations, for explicit, coupled and step-size (``γ``) layers, stopping at
    ``first``."""
    rng = np.random.default_rng(seed)
    n, m, k = 4, 5, 6
    first = min(first, K - 1)
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    act = get_prox(name, fraction=0.34)
    layers = [Layer(rng.standard_normal((m, k)) * 0.3, np.array([0.1 + 0.1 * rng.random()]),
                    act, np.eye(k) + rng.standard_normal((k, k)) * 0.1 if kind == "explicit"
                    else None, np.array([0.5 + rng.random()]) if kind == "gamma" else None)
              for _ in range(K)]
    C = rng.standard_normal((n, k))

    def loss(lays):
        return np.sum(C * unrolled_forward(X, lays, D=D, xp=XNP)[0][-1])

    Zs, Vs = unrolled_forward(X, layers, D=D, xp=XNP)
    for V, lay in zip(Vs, layers, strict=True):
        assume(_margin_ok(act, V, lay.theta[0]))
    Zt, tape = unrolled_forward(X, layers, D=D, xp=XNP, tape=True)
    assert all(np.array_equal(a, b) for a, b in zip(Zs, Zt, strict=True))
    Cs = [None] * (K - 1) + [C]
    fused = unrolled_vjp(X, layers, Zt, tape, Cs, D=D, xp=XNP, first=first)
    rebuilt = unrolled_vjp(X, layers, Zs, Vs, Cs, D=D, xp=XNP, first=first)
    assert all(g is None for g in fused[:first])
    for j in range(first, K):
        for a, b in zip(fused[j], rebuilt[j], strict=True):
            assert (a is None) == (b is None) and (a is None or np.allclose(a, b, atol=1e-12))
        lj = layers[j]
        for field in ("W", "S", "theta", "gamma"):
            g = getattr(fused[j], field)
            if field == "W" and kind == "gamma":
                assert g is None  # W is fixed: gamma carries the gradient
                continue
            if g is None:
                assert getattr(lj, field) is None
                continue
            x0 = getattr(lj, field)
            U = rng.standard_normal(x0.shape)

            def at(x, j=j, field=field, lj=lj):
                lays = list(layers)
                lays[j] = Layer(**{**lj.__dict__, field: x})
                return loss(lays)

            assert np.isclose(np.sum(g * U), _fd(at, x0, U), rtol=1e-5, atol=1e-7), field


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 6), k=st.integers(2, 6))
def test_loss_gradients_match_finite_differences(seed, n, k):
    rng = np.random.default_rng(seed)
    m = 4
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    Z, T, U = rng.standard_normal((n, k)), rng.standard_normal((n, k)), rng.standard_normal((n, k))
    P = rng.uniform(0.05, 0.95, (n, k))  # sigmoid-range activations for KL
    A = np.abs(rng.standard_normal((n, k))) + 0.1
    checks = [
        (lambda z: losses.code_mse(z, T, xp=XNP), Z),
        (lambda z: losses.nmse(z, T, xp=XNP), Z),
        (lambda z: losses.reconstruction_loss(T, z, xp=XNP), Z),
        (lambda z: losses.lasso_loss(X, z, D, 0.3, xp=XNP), Z),
        (lambda z: losses.l1_penalty(z, 0.7, xp=XNP), Z),
        (lambda z: losses.cauchy_penalty(z, 0.7, sigma=0.5, xp=XNP), Z),
        (lambda z: losses.kl_penalty(z, 0.1, 3.0, xp=XNP)[:2], P),
        (lambda z: losses.lifetime_penalty(z, 0.5, xp=XNP), A),
    ]
    for fn, at in checks:
        _, g = fn(at)
        fd = _fd(lambda z, fn=fn: fn(z)[0], at, U)
        assert np.isclose(np.sum(g * U), fd, rtol=1e-5, atol=1e-8)


def test_kl_running_average_and_zero_at_target():
    Z = np.full((10, 3), 0.2)
    v, g, _r = losses.kl_penalty(Z, 0.2, 3.0, xp=XNP)
    assert v == pytest.approx(0.0, abs=1e-12) and np.allclose(g, 0.0)
    v2, g2, r2 = losses.kl_penalty(Z, 0.05, 3.0, xp=XNP, rho_hat=np.full(3, 0.05), momentum=0.9)
    assert np.allclose(r2, 0.9 * 0.05 + 0.1 * 0.2)
    assert v2 > 0 and np.all(g2 > 0)  # too active: the gradient pushes activations down


def test_forward_and_backward_run_on_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    n, m, k, K = 5, 6, 8, 3
    X, D = rng.standard_normal((n, m)), rng.standard_normal((k, m))
    for coupled in (False, True):
        for name in ("soft", "nonneg_soft", "hard", "topk", "sigmoid"):
            lays = _layers(rng, m, k, K, coupled, name)
            Cs = [None] * (K - 1) + [rng.standard_normal((n, k))]
            Zs, Vs = unrolled_forward(X, lays, D=D, xp=XNP)
            ref = unrolled_vjp(X, lays, Zs, Vs, Cs, D=D, xp=XNP)
            sl = [Layer(asxp(xps, la.W), asxp(xps, la.theta), la.act,
                        None if la.S is None else asxp(xps, la.S)) for la in lays]
            Xs, Ds = asxp(xps, X), asxp(xps, D)
            Zs2, Vs2 = unrolled_forward(Xs, sl, D=Ds, xp=xps)
            got = unrolled_vjp(Xs, sl, Zs2, Vs2, [None] * (K - 1) + [asxp(xps, Cs[-1])], D=Ds,
                               xp=xps)
            assert np.allclose(tonp(Zs2[-1]), Zs[-1])
            for (a, b, c, _), (a2, b2, c2, _) in zip(ref, got, strict=True):
                assert np.allclose(tonp(a2), a) and np.allclose(tonp(c2), c)
                if b is not None:
                    assert np.allclose(tonp(b2), b)
    for name in ("soft_ss", "wta"):
        act = get_prox(name, fraction=0.4)
        V = rng.standard_normal((n, k))
        C = rng.standard_normal((n, k))
        Z = act(V, 0.1, xp=XNP)
        Zs_ = act(asxp(xps, V), 0.1, xp=xps)
        assert np.allclose(tonp(Zs_), Z)
        gv, gt = act.vjp(asxp(xps, V), 0.1, Zs_, asxp(xps, C), xp=xps)
        rv, rt = act.vjp(V, 0.1, Z, C, xp=XNP)
        assert np.allclose(tonp(gv), rv) and np.allclose(tonp(gt), rt)
    for fn in (lambda x, a, b: losses.lifetime_penalty(a, 0.5, xp=x),
               lambda x, a, b: losses.kl_penalty(a * 0 + 0.3, 0.1, 3.0, xp=x)[:2],
               lambda x, a, b: losses.nmse(a, b, xp=x)):
        A, B = np.abs(rng.standard_normal((n, k))), rng.standard_normal((n, k))
        v1, g1 = fn(XNP, A, B)
        v2, g2 = fn(xps, asxp(xps, A), asxp(xps, B))
        assert v1 == pytest.approx(v2) and np.allclose(tonp(g2), g1)


def test_activation_rejects_bad_parameters():
    with pytest.raises(ValueError, match="prox must be one of"):
        get_prox("relu6")
    with pytest.raises(ValueError, match="k >= 1"):
        get_prox("topk")
    with pytest.raises(ValueError, match="fraction"):
        get_prox("wta", fraction=1.5)
    with pytest.raises(ValueError, match="k must be <= n_atoms"):
        get_prox("topk", k=9)(np.zeros((2, 4)), 0.0, xp=XNP)
    with pytest.raises(ValueError, match="needs fraction"):  # an unbound entry of the table
        PROXES["soft_ss"](np.zeros((2, 4)), 0.0, xp=XNP)


def test_objectives_share_one_per_sample_objective():
    """The mean lasso loss of training is the mean of the public lasso objective, and the
    Cauchy coding objective is the residual term plus the Cauchy penalty."""
    rng = np.random.default_rng(5)
    X, D, Z = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal((6, 3))
    F = losses.lasso_objective(X, D, Z, alpha=0.3)
    assert losses.lasso_loss(X, Z, D, 0.3, xp=XNP)[0] == pytest.approx(float(np.mean(F)))
    assert np.allclose(losses.gap_direct(X, D, Z, 0.3, False, XNP)[0], F)
    Fc = losses.sample_objective(X, D, Z, alpha=0.7, xp=XNP, penalty="cauchy", sigma=0.5)
    F0 = losses.sample_objective(X, D, Z, alpha=0.7, xp=XNP, penalty="l0", ZD=Z @ D)
    pen = losses.cauchy_penalty(Z, 0.7, sigma=0.5, xp=XNP)[0]
    assert float(np.mean(Fc - F0)) == pytest.approx(pen)
    with pytest.raises(ValueError, match="penalty must be one of"):
        losses.sample_objective(X, D, Z, alpha=0.1, xp=XNP, penalty="l2")
