"""Olshausen–Field: Cauchy-prior inference, gain adaptation, learning on whitened patches."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictlearn import DictionaryLearning
from dictlearn.datasets import image_patches, natural_images
from dictlearn.learning import cauchy_encode, olshausen_field


def _energy(X, D, Z, alpha, sigma):
    R = X - Z @ D
    return 0.5 * np.sum(R * R, axis=1) + alpha * np.sum(np.log1p((Z / sigma) ** 2), axis=1)


@given(seed=st.integers(0, 10_000), alpha=st.floats(0.001, 0.5), sigma=st.floats(0.05, 2.0))
def test_cauchy_inference_reaches_a_stationary_point(seed, alpha, sigma):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 8))
    for init, Z0 in (("zeros", np.zeros((5, 12))), ("projection", X @ D.T)):
        res = cauchy_encode(X, D, alpha=alpha, sigma=sigma, tol=1e-10, max_iter=20000,
                            init=init)
        Z = res.codes
        grad = -(X - Z @ D) @ D.T + alpha * 2 * Z / (sigma**2 + Z**2)
        assert np.abs(grad).max() < 1e-5 * max(1.0, np.abs(X @ D.T).max())
        # never worse than the starting point (unit atoms: the projection is X Dᵀ)
        assert np.all(_energy(X, D, Z, alpha, sigma) <= _energy(X, D, Z0, alpha, sigma) + 1e-12)


def test_projection_start_keeps_a_small_atom_in_the_heavy_tail():
    """The paper's start z_j = d_j·x/‖d_j‖²: an atom of norm 0.05 that alone explains x has
    two stationary points (0.134 in the prior's quadratic well, about 19.6 in its tail); from
    zeros inference stops in the well, from the projection (z = 20) in the tail."""
    D = np.array([[0.05, 0.0], [0.0, 1.0]])
    X = np.array([[1.0, 0.0]])
    kw = {"alpha": 0.022, "sigma": 0.316, "tol": 1e-12, "max_iter": 20000}
    z0 = cauchy_encode(X, D, init="zeros", **kw).codes[0, 0]
    zp = cauchy_encode(X, D, **kw).codes[0, 0]  # default: the projection
    assert abs(z0 - 0.134) < 0.01 and 19.0 < zp < 20.0
    assert _energy(X, D, np.array([[zp, 0.0]]), 0.022, 0.316) \
        < _energy(X, D, np.array([[z0, 0.0]]), 0.022, 0.316)
    with pytest.raises(ValueError, match="init"):
        cauchy_encode(X, D, init="ones")


def test_projection_start_keeps_every_atom_alive(patches):
    """The paper's rule (no gain floor): from zero starts, atoms that begin little used fall
    into the prior's quadratic well and their gains collapse; from the paper's projection
    start none does."""
    kw = {"batch_size": 100, "max_iter": 150, "dead_atoms": "keep", "random_state": 0}
    gains = {init: olshausen_field(patches, 64, coding_options={"max_iter": 60, "tol": 1e-2,
                                                                "init": init}, **kw)
             .state.aux.gain for init in ("zeros", "projection")}
    assert gains["zeros"].min() < 0.01  # and falling geometrically
    assert gains["projection"].min() > 0.1


def test_sparse_prior_shrinks_small_coefficients():
    D = np.eye(4)
    X = np.array([[2.0, 0.01, -0.02, 1.0]])
    Z = cauchy_encode(X, D, alpha=0.05, sigma=0.1, tol=1e-10, max_iter=5000).codes
    assert np.all(np.abs(Z[0, 1:3]) < 0.5 * np.abs(X[0, 1:3]))  # small ones shrink a lot
    assert np.all(np.abs(Z[0, [0, 3]] - X[0, [0, 3]]) < 0.15 * np.abs(X[0, [0, 3]]))


@pytest.fixture(scope="module")
def patches():
    return image_patches(natural_images(), 8, 4000, whiten=True, random_state=0)


def test_gains_hold_atom_norms_and_track_variance(patches):
    seen = []

    def cb(info):
        seen.append(np.linalg.norm(info.dictionary, axis=1))

    res = olshausen_field(patches, 64, batch_size=100, max_iter=40, dead_atoms="keep",
                          coding_options={"max_iter": 60, "tol": 1e-2}, random_state=0,
                          callback=cb)
    gain, var = res.state.aux.gain, res.state.aux.var
    np.testing.assert_allclose(seen[-1], gain, rtol=1e-10)
    assert len(seen) == 40
    assert not np.allclose(gain, 1.0)  # the gains did adapt
    # atoms whose coefficients are too variable grew, the quiet ones shrank
    high, low = var > 0.1, var < 0.1
    if high.any() and low.any():
        assert gain[high].mean() > gain[low].mean()


def test_learning_decreases_objective_and_finds_structure(patches):
    res = olshausen_field(patches, 64, batch_size=100, max_iter=120, learning_rate=3.0,
                          coding_options={"max_iter": 60, "tol": 1e-2}, random_state=0)
    obj = np.array([h["objective"] for h in res.history])
    assert obj[-20:].mean() < 0.9 * obj[:5].mean()
    D = res.dictionary / np.linalg.norm(res.dictionary, axis=1, keepdims=True)
    # whitened images have no DC: learned atoms carry far less DC power than random unit
    # vectors (whose median DC fraction is about 0.45/64)
    dc = D.sum(axis=1) ** 2 / D.shape[1]
    assert np.median(dc) < 0.25 / D.shape[1]


def test_min_gain_floors_the_gains(patches):
    kw = dict(batch_size=100, max_iter=30, dead_atoms="keep", random_state=0,
              coding_options={"max_iter": 30, "tol": 1e-2})
    free = olshausen_field(patches, 64, **kw).state.aux.gain
    floored = olshausen_field(patches, 64, min_gain=0.95, **kw).state.aux.gain
    assert free.min() < 0.9 * free.mean()  # without the floor the quiet atoms shrink
    # the floor is 0.95 x the mean before flooring (the lift raises the mean a little)
    assert floored.min() > free.min() + 0.1 and floored.min() >= 0.9 * floored.mean()
    with pytest.raises(ValueError, match="min_gain"):
        olshausen_field(patches, 16, min_gain=1.0)


def test_l1_prior_and_estimator(patches):
    est = DictionaryLearning(32, method="olshausen_field", coding_method="fista", alpha=0.05,
                             batch_size=100, max_iter=10, random_state=0)
    Z = est.fit_transform(patches[:500])
    assert Z.shape == (500, 32) and np.mean(Z == 0) > 0.3  # the l1 prior gives exact zeros


def test_bad_parameters(patches):
    with pytest.raises(ValueError, match="prior"):
        olshausen_field(patches, 16, prior="gauss")
    with pytest.raises(ValueError, match="var_eta"):
        olshausen_field(patches, 16, var_eta=2.0)
    with pytest.raises(ValueError, match="sigma"):
        olshausen_field(patches, 16, sigma=0.0)
    with pytest.raises(ValueError, match="n_atoms"):
        olshausen_field(patches, 0)
