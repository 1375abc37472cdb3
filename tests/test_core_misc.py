"""Objectives, Lipschitz constants, synthetic problems and metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dictlearn import lasso_duality_gap, lasso_objective, lipschitz_constant, metrics
from dictlearn._linalg import spectral_norm_sq
from dictlearn.datasets import make_sparse_problem, random_dictionary
from tests._helpers import asxp


@given(seed=st.integers(0, 10**6), alpha=st.floats(0.0, 2.0))
def test_duality_gap_is_nonnegative_anywhere(seed, alpha):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((7, 5))
    X = rng.standard_normal((4, 5))
    Z = rng.standard_normal((4, 7)) * (rng.random((4, 7)) < 0.5)
    for positive in (False, True):
        Zp = np.abs(Z) if positive else Z
        gap = lasso_duality_gap(X, D, Zp, alpha=alpha, positive=positive)
        assert np.all(gap >= -1e-10 * (1 + np.sum(X**2, axis=1)))


def test_gap_is_zero_at_the_orthonormal_closed_form():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    X = rng.standard_normal((3, 6))
    alpha = 0.3
    Z = np.sign(X @ Q.T) * np.maximum(np.abs(X @ Q.T) - alpha, 0)  # soft threshold of XQᵀ
    np.testing.assert_allclose(lasso_duality_gap(X, Q, Z, alpha=alpha), 0.0, atol=1e-12)
    assert np.all(lasso_duality_gap(X, Q, Z * 1.1, alpha=alpha) > 1e-6)


def test_zero_is_optimal_iff_alpha_exceeds_correlations():
    rng = np.random.default_rng(1)
    D = rng.standard_normal((5, 4))
    X = rng.standard_normal((3, 4))
    amax = np.abs(X @ D.T).max(axis=1)
    Z0 = np.zeros((3, 5))
    assert np.allclose(lasso_duality_gap(X, D, Z0, alpha=float(amax.max()) * 1.01), 0, atol=1e-14)
    assert np.all(lasso_duality_gap(X, D, Z0, alpha=float(amax.min()) * 0.5) > 0)


def test_objective_on_every_namespace(xp, dtype_name):
    p = make_sparse_problem(5, 4, 6, 2, random_state=0)
    Z = p.codes * 0.9
    ref = lasso_objective(p.X, p.dictionary, Z, alpha=0.2)
    out = lasso_objective(asxp(xp, p.X, dtype_name), asxp(xp, p.dictionary, dtype_name),
                          asxp(xp, Z, dtype_name), alpha=0.2)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5)
    g = lasso_duality_gap(asxp(xp, p.X, dtype_name), asxp(xp, p.dictionary, dtype_name),
                          asxp(xp, Z, dtype_name), alpha=0.2)
    assert g.dtype == out.dtype


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (40, 3)])
def test_lipschitz_exact_and_power_iteration(xp, shape):
    rng = np.random.default_rng(2)
    Dn = rng.standard_normal(shape)
    exact = np.linalg.norm(Dn, 2) ** 2
    D = asxp(xp, Dn)
    np.testing.assert_allclose(lipschitz_constant(D), exact, rtol=1e-10)
    power = spectral_norm_sq(D, xp=__import__("array_api_compat").array_namespace(D),
                             method="power", n_iter=5000, rtol=1e-12)
    assert exact <= power <= exact * 1.01  # an upper bound, close to the truth


def test_make_sparse_problem():
    p = make_sparse_problem(50, 16, 32, 4, snr_db=20, random_state=3)
    assert p.X.shape == (50, 16) and p.codes.shape == (50, 32)
    assert np.all((p.codes != 0).sum(axis=1) == 4)
    np.testing.assert_allclose(np.linalg.norm(p.dictionary, axis=1), 1.0)
    clean = p.codes @ p.dictionary
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((p.X - clean) ** 2))
    assert abs(snr - 20) < 1.0
    q = make_sparse_problem(50, 16, 32, 4, snr_db=20, random_state=3)
    np.testing.assert_array_equal(p.X, q.X)  # reproducible through random_state
    b = make_sparse_problem(2000, 8, 20, sparsity=0.1, positive=True, random_state=0,
                            dtype=np.float32)
    assert b.X.dtype == np.float32 and np.all(b.codes >= 0)
    assert abs((b.codes != 0).mean() - 0.1) < 0.01
    r = make_sparse_problem(5, 8, 20, 3, code_distribution="rademacher", random_state=0)
    assert set(np.unique(np.abs(r.codes[r.codes != 0]))) == {1.0}
    with pytest.raises(ValueError, match="n_nonzero_coefs must be <= n_atoms"):
        make_sparse_problem(5, 4, 6, 7)
    with pytest.raises(ValueError, match="sparsity must be in"):
        make_sparse_problem(5, 4, 6, sparsity=1.5)
    with pytest.raises(ValueError, match="code_distribution"):
        make_sparse_problem(5, 4, 6, 2, code_distribution="cauchy")


def test_per_sample_noise_and_the_fresh_sample_sampler():
    from dictlearn.datasets import sparse_problem_sampler

    p = make_sparse_problem(400, 250, 500, None, sparsity=0.1, snr_db=40,
                            noise_scale="per_sample", random_state=0)
    clean = p.codes @ p.dictionary
    noise = p.X - clean
    # every row at 40 dB against its own spread (chi-square spread of 250 draws: ~0.4 dB)
    ratio = np.std(clean, axis=1) / np.sqrt(np.mean(noise**2, axis=1))
    row_snr = 20 * np.log10(ratio)
    assert np.all(np.abs(row_snr - 40) < 1.5) and abs(np.median(row_snr) - 40) < 0.2
    with pytest.raises(ValueError, match="noise_scale"):
        make_sparse_problem(5, 4, 6, 2, snr_db=10, noise_scale="row")
    draw = sparse_problem_sampler(p.dictionary, n_nonzero_coefs=None, sparsity=0.1,
                                  dtype=np.float32)
    X1, Z1 = draw(30, np.random.default_rng(5))
    X2, Z2 = draw(30, np.random.default_rng(5))
    assert np.array_equal(Z1, Z2)
    X3, _ = draw(30, np.random.default_rng(6))
    assert X1.dtype == np.float32 and X1.shape == (30, 250) and Z1.shape == (30, 500)
    assert np.array_equal(X1, X2) and not np.array_equal(X1, X3)
    np.testing.assert_allclose(X1, Z1 @ p.dictionary.astype(np.float32), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="sparsity must be in"):
        sparse_problem_sampler(p.dictionary, sparsity=2.0)


def test_coherence_and_babel():
    D = random_dictionary(30, 10, random_state=0)
    G = np.abs(D @ D.T)
    np.fill_diagonal(G, 0)
    assert metrics.mutual_coherence(D) == pytest.approx(G.max())
    srt = -np.sort(-G, axis=1)
    for k in (1, 3, 5):
        assert metrics.babel(D, k) == pytest.approx(srt[:, :k].sum(axis=1).max())
        assert metrics.babel(D, k) <= k * metrics.mutual_coherence(D) + 1e-12
    assert metrics.mutual_coherence(np.eye(4)) == 0.0
    with pytest.raises(ValueError, match="k must be in"):
        metrics.babel(D, 30)


def test_nmse_and_support_recovery(xp):
    t = asxp(xp, [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    e = asxp(xp, [[1.0, 0.5, 2.0], [0.0, 3.0, 0.0]])
    assert metrics.nmse_db(e, t) == pytest.approx(10 * np.log10(0.25 / 14))
    assert metrics.nmse_db(t, t) == -np.inf
    sr = metrics.support_recovery(e, t)
    assert sr["precision"] == pytest.approx(3 / 4) and sr["recall"] == 1.0
    assert sr["exact"] == 0.5
    np.testing.assert_array_equal(np.asarray(metrics.l0_norm(e)), [3, 1])
    with pytest.raises(ValueError, match="one shape"):
        metrics.support_recovery(e, t[:1, :])
