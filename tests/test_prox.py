"""Proximal maps: the properties that make proximal-gradient methods converge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dictlearn import prox
from tests._helpers import asxp, tonp

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
                    elements=finite)
thetas = st.floats(0.0, 10.0)


@given(data=st.data(), theta=thetas)
def test_soft_threshold_is_firmly_nonexpansive(data, theta):
    a = data.draw(arrays)
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=finite))
    pa, pb = prox.soft_threshold(a, theta), prox.soft_threshold(b, theta)
    lhs = np.sum((pa - pb) ** 2)
    rhs = np.sum((pa - pb) * (a - b))
    assert lhs <= rhs + 1e-9 * (1 + abs(rhs))


@given(a=arrays, theta=thetas)
def test_soft_threshold_is_the_l1_prox(a, theta):
    # p minimises ½‖u − a‖² + θ‖u‖₁: its optimality condition is a − p ∈ θ ∂‖p‖₁.
    p = prox.soft_threshold(a, theta)
    g = a - p
    on = p != 0
    np.testing.assert_allclose(g[on], theta * np.sign(p[on]), atol=1e-9 * (1 + np.abs(a).max()))
    assert np.all(np.abs(g[~on]) <= theta + 1e-12)


@given(a=arrays, theta=thetas)
def test_nonneg_soft_threshold(a, theta):
    p = prox.nonneg_soft_threshold(a, theta)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p, np.maximum(prox.soft_threshold(a, theta), 0.0))


@given(a=arrays, theta=thetas)
def test_hard_threshold_keeps_or_kills(a, theta):
    p = prox.hard_threshold(a, theta)
    keep = np.abs(a) > theta
    np.testing.assert_array_equal(p[keep], a[keep])
    assert np.all(p[~keep] == 0)


@given(data=st.data())
def test_top_k_keeps_exactly_k(data):
    a = data.draw(arrays)
    k = data.draw(st.integers(0, a.shape[1]))
    p = prox.top_k(a, k)
    kept = prox.top_k_mask(a, k)
    assert np.all(kept.sum(axis=1) == k)
    np.testing.assert_array_equal(p[kept], a[kept])
    # every kept magnitude is at least every dropped one (the projection onto k-sparse sets)
    for row, m in zip(np.abs(a), kept, strict=True):
        if 0 < k < a.shape[1]:
            assert row[m].min() >= row[~m].max()


@given(a=arrays)
def test_projections_are_idempotent(a):
    for proj in (prox.project_unit_ball_rows, prox.project_unit_sphere_rows, prox.project_nonneg):
        once = proj(a)
        np.testing.assert_allclose(proj(once), once, rtol=1e-12, atol=1e-12)
    norms = np.linalg.norm(prox.project_unit_ball_rows(a), axis=1)
    assert np.all(norms <= 1 + 1e-12)
    sph = np.linalg.norm(prox.project_unit_sphere_rows(a), axis=1)
    nz = np.linalg.norm(a, axis=1) > 0
    np.testing.assert_allclose(sph[nz], 1.0)


def test_prox_maps_on_every_namespace_and_dtype(xp, dtype_name):
    a = np.array([[-2.0, 0.5, 3.0, -0.2], [1.0, -1.0, 0.0, 4.0]])
    A = asxp(xp, a, dtype_name)
    for name in prox.PROXES:
        fn = prox.get_prox(name, k=2, fraction=0.5)
        out = fn(A, 0.7, xp=xp)
        assert out.dtype == A.dtype, name
        ref = fn(a, 0.7, xp=np)
        np.testing.assert_allclose(tonp(out), ref, rtol=1e-6)
    tk = prox.top_k(A, 2, xp=xp)
    assert tk.dtype == A.dtype
    np.testing.assert_array_equal(tonp(tk) != 0, prox.top_k(a, 2) != 0)
    for proj in (prox.project_unit_ball_rows, prox.project_unit_sphere_rows):
        np.testing.assert_allclose(tonp(proj(A, xp=xp)), proj(a), rtol=1e-6)


def test_top_k_positive_and_bad_k():
    a = np.array([[-5.0, 1.0, 2.0]])
    np.testing.assert_array_equal(prox.top_k(a, 1, positive=True), [[0.0, 0.0, 2.0]])
    with pytest.raises(ValueError, match="k must be in"):
        prox.top_k(a, 4)


def test_prox_does_not_modify_input():
    a = np.array([[-2.0, 0.5, 3.0]])
    a.setflags(write=False)
    for name in prox.PROXES:
        prox.get_prox(name, k=1, fraction=0.5)(a, 1.0)
    prox.top_k(a, 1)
    assert a.tolist() == [[-2.0, 0.5, 3.0]]


def test_get_prox_unknown_name():
    with pytest.raises(ValueError, match="prox must be one of"):
        prox.get_prox("nope")


def test_support_selection_trusts_only_entries_above_the_threshold():
    """Chen et al. (2018): an entry passes unshrunk iff it is in the top p % of its row *and*
    above θ; everything at or below θ is zero; the rest is soft-thresholded."""
    from dictlearn.prox import support_selection_mask, support_selection_soft

    rng = np.random.default_rng(0)
    V = rng.standard_normal((50, 40))
    theta, frac = 0.7, 0.2
    out = support_selection_soft(V, theta, frac)
    keep = support_selection_mask(V, theta, frac)
    k = int(np.ceil(frac * 40))
    kth = np.sort(np.abs(V), axis=1)[:, -k][:, None]
    assert np.array_equal(keep, (np.abs(V) >= kth) & (np.abs(V) > theta))
    assert np.all(out[np.abs(V) <= theta] == 0)
    assert np.array_equal(out[keep], V[keep])
    rest = ~keep & (np.abs(V) > theta)
    assert np.allclose(out[rest], V[rest] - theta * np.sign(V[rest]))
    # a large threshold trusts nothing: plain soft thresholding
    assert not support_selection_mask(V, 10.0, frac).any()
