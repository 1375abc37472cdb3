"""IHT: k-sparsity, monotone residual of normalized IHT, recovery, the shared step, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import dictlearn
from dictlearn.datasets import make_sparse_problem, random_dictionary
from dictlearn.prox import top_k
from tests._helpers import asxp, tonp


@given(
    n_features=st.integers(3, 20),
    ratio=st.sampled_from([1, 2, 4]),
    k=st.integers(1, 6),
    positive=st.booleans(),
    normalized=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_codes_are_k_sparse(n_features, ratio, k, positive, normalized, seed):
    n_atoms = n_features * ratio
    k = min(k, n_atoms)
    rng = np.random.default_rng(seed)
    D = random_dictionary(n_atoms, n_features, random_state=rng)
    X = rng.standard_normal((5, n_features))
    res = dictlearn.iht(X, D, n_nonzero_coefs=k, positive=positive, normalized=normalized,
                        max_iter=50)
    nnz = (res.codes != 0).sum(axis=1)
    assert np.all(nnz <= k)
    assert np.all(np.isfinite(res.codes))
    if positive:
        assert np.all(res.codes >= 0)


@pytest.mark.parametrize("normalized", [True, False])
def test_residual_never_increases(normalized):
    prob = make_sparse_problem(20, 32, 96, 4, snr_db=20, random_state=7)
    X, D = prob.X, 3.0 * prob.dictionary  # scaled atoms: the adaptive step must cope
    prev = np.sum(X * X, axis=1)
    for t in range(1, 15):
        Z = dictlearn.iht(X, D, n_nonzero_coefs=4, normalized=normalized, max_iter=t,
                          tol=0.0).codes
        rr = np.sum((X - Z @ D) ** 2, axis=1)
        assert np.all(rr <= prev * (1 + 1e-10) + 1e-12)
        prev = rr


def test_normalized_iht_recovers_sparse_codes():
    rng = np.random.default_rng(0)
    m = 64
    D = np.vstack([np.eye(m), scipy.linalg.hadamard(m) / np.sqrt(m)])
    D = D[rng.permutation(2 * m)]
    Z = np.zeros((30, 2 * m))
    for i in range(30):
        Z[i, rng.choice(2 * m, 3, replace=False)] = rng.choice([-1, 1], 3) * rng.uniform(1, 2, 3)
    res = dictlearn.iht(Z @ D, D, n_nonzero_coefs=3, tol=1e-12, max_iter=500)
    np.testing.assert_allclose(res.codes, Z, atol=1e-8)


def test_plain_iht_is_the_shared_step():
    prob = make_sparse_problem(10, 16, 48, 3, random_state=1)
    X, D = prob.X, prob.dictionary
    L = dictlearn.lipschitz_constant(D)
    one = dictlearn.iht(X, D, n_nonzero_coefs=3, normalized=False, max_iter=1).codes
    np.testing.assert_allclose(one, top_k(X @ D.T / L, 3), rtol=1e-10, atol=1e-12)


def test_array_api_strict_and_dtype(xp, dtype_name):
    prob = make_sparse_problem(8, 12, 24, 2, random_state=3)
    X = asxp(xp, prob.X, dtype_name)
    D = asxp(xp, prob.dictionary, dtype_name)
    res = dictlearn.iht(X, D, n_nonzero_coefs=2, max_iter=100)
    assert res.codes.dtype == X.dtype and type(res.codes) is type(X)
    ref = dictlearn.iht(prob.X, prob.dictionary, n_nonzero_coefs=2, max_iter=100)
    atol = 1e-3 if dtype_name == "float32" else 1e-10
    np.testing.assert_allclose(tonp(res.codes), ref.codes, atol=atol)
    Z = dictlearn.sparse_encode(prob.X, prob.dictionary, method="iht", n_nonzero_coefs=2,
                                max_iter=100)
    np.testing.assert_array_equal(Z, ref.codes)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n_nonzero_coefs": 0}, ValueError, "n_nonzero_coefs must be >= 1"),
        ({"n_nonzero_coefs": 33}, ValueError, "n_nonzero_coefs must be <= n_atoms"),
        ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
        ({"max_iter": -3}, ValueError, "max_iter must be >= 1"),
        ({"init": np.ones((2, 2))}, ValueError, "init must have shape"),
    ],
)
def test_bad_input(kwargs, err, match):
    prob = make_sparse_problem(5, 16, 32, 3, random_state=0)
    with pytest.raises(err, match=match):
        dictlearn.iht(prob.X, prob.dictionary, **kwargs)
