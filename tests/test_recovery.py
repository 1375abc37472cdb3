"""Exact support and sign recovery by l1 under the coherence condition k < (1 + 1/μ)/2.

Dictionaries are [I | H/√m] (Hadamard, μ = 1/√m), with Hypothesis drawing atom signs and
permutations, feature permutations, the support and the values (THEORY.md). With
``|z_i| ≥ 1`` and small ``α``, the lasso solution has the true support and signs and equals
the closed form ``z_S = x_S − α (D_S D_Sᵀ)⁻¹ s``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from dictlearn import fista
from dictlearn.metrics import mutual_coherence
from tests._helpers import asxp, tonp

M = 64


@st.composite
def coherence_problems(draw):
    H = scipy.linalg.hadamard(M) / np.sqrt(M)
    D = np.vstack([np.eye(M), H])  # rows are atoms: 2M atoms of dimension M, μ = 1/√M
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    D = D * rng.choice([-1.0, 1.0], size=(2 * M, 1))
    D = D[rng.permutation(2 * M)][:, rng.permutation(M)]
    mu = mutual_coherence(D)
    kmax = int(np.ceil((1 + 1 / mu) / 2) - 1)  # largest k with k < (1 + 1/μ)/2
    k = draw(st.integers(1, kmax))
    support = rng.choice(2 * M, size=k, replace=False)
    mags = np.array(draw(st.lists(st.floats(1.0, 10.0), min_size=k, max_size=k)))
    signs = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=k, max_size=k)))
    z = np.zeros(2 * M)
    z[support] = mags * signs
    return D, z, support, mu, k


@given(prob=coherence_problems())
def test_lasso_recovers_support_signs_and_closed_form(prob):
    D, z, S, mu, k = prob
    assert k < (1 + 1 / mu) / 2
    alpha = 0.05
    x = (z @ D)[None, :]
    zh = fista(x, D, alpha=alpha, tol=1e-13, max_iter=50000).codes[0]
    found = np.flatnonzero(np.abs(zh) > 1e-9)
    assert set(found) == set(S)
    np.testing.assert_array_equal(np.sign(zh[S]), np.sign(z[S]))
    DS = D[S]
    oracle = z[S] - alpha * np.linalg.solve(DS @ DS.T, np.sign(z[S]))
    np.testing.assert_allclose(zh[S], oracle, atol=1e-7)


@given(prob=coherence_problems())
def test_recovery_on_every_namespace_in_float32(prob):
    import array_api_strict as xps

    D, z, S, _, _ = prob
    X = np.vstack([z @ D, -(z @ D)])
    for xp in (np, xps):
        res = fista(asxp(xp, X, "float32"), asxp(xp, D, "float32"), alpha=0.05, tol=1e-6,
                    max_iter=50000)
        Z = tonp(res.codes)
        assert Z.dtype == np.float32
        for row, sgn in zip(Z, (1.0, -1.0), strict=True):
            assert set(np.flatnonzero(np.abs(row) > 1e-3)) == set(S)
            np.testing.assert_array_equal(np.sign(row[S]), sgn * np.sign(z[S]))
