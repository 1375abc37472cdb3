"""Sparse autoencoders: gradients, sparsity guarantees, KL target rate, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dictlearn
from dictlearn import SparseAutoencoder, Status, TrainingDivergedWarning
from dictlearn._xp import get_namespace
from dictlearn.datasets import make_sparse_problem
from dictlearn.prox import top_k
from tests._helpers import asxp, tonp

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

XNP = get_namespace(np.zeros(1))


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return load_digits().data[:600] / 16.0


def _setup(seed, sparsity, tied, aux):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 5))
    kw = {"k": 3} if sparsity == "topk" else {}
    if sparsity == "wta":
        kw["wta_fraction"] = 0.3
    sae = SparseAutoencoder(8, sparsity=sparsity, tied=tied, weight_decay=0.01,
                            dead_latents="auxk" if aux else None, aux_k=2, **kw)
    sae._check_params()
    p = sae._init_params(X, XNP, rng)
    p = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in p.items()}
    if sparsity == "kl":
        p["theta"] = p["theta"] * 0
    dead = (rng.random(8) < 0.5) if aux else None
    return sae, X, p, dead, rng


@given(seed=st.integers(0, 2**31 - 1),
       sparsity=st.sampled_from(["l1", "kl", "topk", "wta", "lifetime"]),
       tied=st.booleans(), aux=st.booleans())
def test_objective_gradient_matches_finite_differences(seed, sparsity, tied, aux):
    sae, X, p, dead, rng = _setup(seed, sparsity, tied, aux)
    act = sae._act(True, 3 if sparsity == "topk" else None)
    Z0 = sae._encode(p, X, act, XNP)[0]
    E = X - Z0 @ p["D"] - p["b"]  # the auxiliary loss's target is held constant (Gao et al.)
    _, g, _ = sae._objective(p, X, act, XNP, dead=dead, residual=E)
    # stay away from the kinks of ReLU / top-k / WTA / |z| so the loss is smooth around p
    _, V, _ = sae._encode(p, X, act, XNP)
    pre = V - p["theta"]
    assume(np.min(np.abs(pre)) > 1e-3)
    s = np.sort(pre, axis=1)
    assume(np.min(np.diff(s, axis=1)) > 1e-3)
    s0 = np.sort(pre, axis=0)
    assume(np.min(np.diff(s0, axis=0)) > 1e-3)
    h = 1e-6
    for name in p:
        U = rng.standard_normal(p[name].shape)
        up = dict(p, **{name: p[name] + h * U})
        dn = dict(p, **{name: p[name] - h * U})
        fd = (sae._objective(up, X, act, XNP, dead=dead, grads=False, residual=E)[0]
              - sae._objective(dn, X, act, XNP, dead=dead, grads=False, residual=E)[0]) / (2 * h)
        assert np.isclose(np.sum(g[name] * U), fd, rtol=1e-5, atol=1e-7), name


def test_topk_keeps_exactly_k(digits):
    sae = SparseAutoencoder(48, sparsity="topk", k=5, max_epochs=3, random_state=0).fit(digits)
    Z = sae.transform(digits)
    p = sae.params_
    pre = (digits - p["b"]) @ p["W"] - p["theta"]
    n_pos = (pre > 0).sum(axis=1)
    nnz = (Z != 0).sum(axis=1)
    assert np.array_equal(nnz, np.minimum(5, n_pos))
    assert np.mean(nnz == 5) > 0.95
    # the annealing schedule starts above k and ends at k
    assert sae._k_start() > 5


def test_tied_topk_encoder_is_one_iht_step(digits):
    sae = SparseAutoencoder(32, sparsity="topk", k=4, tied=True, max_epochs=2,
                            random_state=0).fit(digits)
    p = sae.params_
    V = (digits - p["b"]) @ p["D"].T - p["theta"]
    assert np.array_equal(sae.transform(digits), top_k(V, 4, positive=True))


def test_kl_training_reaches_the_target_rate(digits):
    rho = 0.05
    sae = SparseAutoencoder(64, sparsity="kl", rho=rho, beta=3.0, learning_rate=3e-3,
                            max_epochs=40, n_iter_no_change=None, random_state=0).fit(digits)
    mean_act = float(sae.transform(digits).mean())
    assert abs(mean_act - rho) < 0.2 * rho, mean_act
    # without the penalty the sigmoid units stay far from the target
    free = SparseAutoencoder(64, sparsity="kl", rho=rho, beta=0.0, learning_rate=3e-3,
                             max_epochs=5, random_state=0).fit(digits)
    assert abs(float(free.transform(digits).mean()) - rho) > 0.2 * rho


def test_l1_penalty_sparsifies_and_decoder_is_a_dictionary(digits):
    kw = dict(sparsity="l1", max_epochs=20, learning_rate=3e-3, random_state=0)
    dense = SparseAutoencoder(64, alpha=0.0, **kw)
    sparse = SparseAutoencoder(64, alpha=0.05, unit_norm_decoder=True, **kw)
    Zd = dense.fit(digits).transform(digits)
    Zs = sparse.fit(digits).transform(digits)
    assert (Zs > 0).sum(axis=1).mean() < 0.6 * (Zd > 0).sum(axis=1).mean()
    D = sparse.components_
    assert D.shape == (64, 64)
    assert np.allclose(np.linalg.norm(D, axis=1), 1.0)
    codes = dictlearn.sparse_encode(digits[:20] - sparse.params_["b"], D, alpha=0.05)
    assert codes.shape == (20, 64)


def test_dead_latent_handling_revives_units(digits):
    kw = dict(n_atoms=64, sparsity="topk", k=2, k_start=2, learning_rate=1e-2, max_epochs=6,
              n_iter_no_change=None, random_state=1)
    base = SparseAutoencoder(**kw).fit(digits)
    dead0 = int(((base.transform(digits) > 0).sum(axis=0) == 0).sum())
    res = SparseAutoencoder(dead_latents="resample", **kw).fit(digits)
    dead1 = int(((res.transform(digits) > 0).sum(axis=0) == 0).sum())
    aux = SparseAutoencoder(dead_latents="auxk", dead_after=100, **kw).fit(digits)
    dead2 = int(((aux.transform(digits) > 0).sum(axis=0) == 0).sum())
    assert dead0 > 0
    assert dead1 < dead0 and dead2 <= dead0, (dead0, dead1, dead2)


@pytest.mark.parametrize("sparsity", ["l1", "kl", "topk", "wta", "lifetime"])
def test_save_load_round_trip(tmp_path, digits, sparsity):
    sae = SparseAutoencoder(16, sparsity=sparsity, k=3, tied=sparsity == "wta", max_epochs=2,
                            random_state=0).fit(digits[:200])
    sae.save(tmp_path / "m.npz")
    back = SparseAutoencoder.load(tmp_path / "m.npz")
    assert back.sparsity == sparsity and back.status_ == sae.status_
    assert np.array_equal(back.transform(digits), sae.transform(digits))
    Z = sae.transform(digits)
    assert np.array_equal(back.inverse_transform(Z), sae.inverse_transform(Z))
    with pytest.raises(ValueError, match="holds a SparseAutoencoder, not a LISTA"):
        dictlearn.LISTA.load(tmp_path / "m.npz")


def test_bad_input_is_refused(digits):
    with pytest.raises(ValueError, match="k must be <= n_atoms"):
        SparseAutoencoder(8, sparsity="topk", k=9).fit(digits)
    with pytest.raises(ValueError, match="needs k"):
        SparseAutoencoder(8, sparsity="topk").fit(digits)
    for rho in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"rho must be a target activation rate in \(0, 1\)"):
            SparseAutoencoder(8, sparsity="kl", rho=rho).fit(digits)
    X = digits.copy()
    X[3, 3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        SparseAutoencoder(8).fit(X)
    with pytest.raises(ValueError, match="sparsity must be one of"):
        SparseAutoencoder(8, sparsity="l2").fit(digits)
    with pytest.raises(ValueError, match="n_atoms must be >= 1"):
        SparseAutoencoder(0).fit(digits)
    sae = SparseAutoencoder(8, max_epochs=1).fit(digits)
    with pytest.raises(ValueError, match="features"):
        sae.transform(digits[:, :10])
    with pytest.raises(ValueError, match="codes must have shape"):
        sae.inverse_transform(np.zeros((2, 5)))


def test_diverging_learning_rate_keeps_last_good_weights(digits):
    sae = SparseAutoencoder(16, optimizer="sgd", learning_rate=1e4, max_epochs=3,
                            random_state=0)
    with pytest.warns(TrainingDivergedWarning):
        sae.fit(digits)
    assert sae.status_ == Status.diverged
    assert all(np.all(np.isfinite(v)) for v in sae.params_.values())


def test_overcomplete_float32_readonly_and_strict():
    p = make_sparse_problem(300, 8, 16, 2, positive=True, random_state=0)
    X = p.X.astype(np.float32)
    X.setflags(write=False)
    sae = SparseAutoencoder(16, sparsity="topk", k=2, max_epochs=2, random_state=0).fit(X)
    assert sae.transform(X).dtype == np.float32 and sae.components_.shape == (16, 8)
    xps = pytest.importorskip("array_api_strict")
    for sparsity in ("l1", "topk", "kl", "wta", "lifetime"):
        ref = SparseAutoencoder(16, sparsity=sparsity, k=2, max_epochs=2, random_state=0)
        ref.fit(p.X)
        got = SparseAutoencoder(16, sparsity=sparsity, k=2, max_epochs=2, random_state=0)
        Xs = asxp(xps, p.X)
        got.fit(Xs)
        out = got.transform(Xs)
        assert type(out) is type(Xs)
        assert np.allclose(tonp(out), ref.transform(p.X), atol=1e-8)
