"""The numba IHT kernel runs the reference's steps: same codes, same iterations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dictlearn
from dictlearn.datasets import make_sparse_problem

pytestmark = pytest.mark.skipif(not dictlearn._xp.numba_enabled(), reason="numba unavailable")


@given(n=st.integers(1, 8), m=st.integers(3, 16), ratio=st.sampled_from([1, 2, 4]),
       s=st.integers(1, 5), K=st.integers(1, 6), normalized=st.booleans(),
       positive=st.booleans(), warm=st.booleans(), seed=st.integers(0, 2**32 - 1))
@settings(deadline=None)
def test_numba_equals_reference(n, m, ratio, s, K, normalized, positive, warm, seed):
    k = m * ratio
    p = make_sparse_problem(n, m, k, min(s, k), snr_db=20, positive=positive, random_state=seed)
    X, D = p.X, p.dictionary
    init = p.codes + 0.1 * np.random.default_rng(seed).standard_normal(p.codes.shape) \
        if warm else None
    kw = {"n_nonzero_coefs": min(K, k), "normalized": normalized, "positive": positive,
          "init": init, "max_iter": 60, "tol": 1e-9}
    ref = dictlearn.iht(X, D, engine="reference", **kw)
    got = dictlearn.iht(X, D, engine="numba", **kw)
    np.testing.assert_array_equal(got.n_iter_per_sample, ref.n_iter_per_sample)
    np.testing.assert_array_equal(got.converged, ref.converged)
    np.testing.assert_allclose(got.codes, ref.codes, rtol=1e-8, atol=1e-10)
    assert np.all((got.codes != 0).sum(axis=1) <= min(K, k))
    if positive:
        assert np.all(got.codes >= 0)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("warm", [False, True])
def test_many_samples_per_chunk_equal_the_reference(positive, warm):
    """60 samples run in 8 chunks: the per-atom state a sample leaves behind is cleared for
    the next one (only its final support is touched), warm or cold."""
    p = make_sparse_problem(60, 12, 36, 3, snr_db=20, positive=positive, random_state=7)
    init = p.codes + 0.1 * np.random.default_rng(7).standard_normal(p.codes.shape) \
        if warm else None
    kw = {"n_nonzero_coefs": 3, "positive": positive, "init": init, "max_iter": 80,
          "tol": 1e-9}
    ref = dictlearn.iht(p.X, p.dictionary, engine="reference", **kw)
    got = dictlearn.iht(p.X, p.dictionary, engine="numba", **kw)
    assert len(set(ref.n_iter_per_sample.tolist())) > 3
    np.testing.assert_array_equal(got.n_iter_per_sample, ref.n_iter_per_sample)
    np.testing.assert_allclose(got.codes, ref.codes, rtol=1e-8, atol=1e-10)


def test_ties_go_to_the_lower_index():
    X = np.array([[2.0, -2.0, 2.0, 1.0]])
    for engine in ("numba", "reference"):
        Z = dictlearn.iht(X, np.eye(4), n_nonzero_coefs=2, engine=engine).codes
        np.testing.assert_array_equal(Z, [[2.0, -2.0, 0.0, 0.0]])


def test_float32_stays_float32_and_recovers():
    p = make_sparse_problem(200, 32, 64, 3, snr_db=40, random_state=3)
    X, D = p.X.astype(np.float32), p.dictionary.astype(np.float32)
    got = dictlearn.iht(X, D, n_nonzero_coefs=3, engine="numba")
    ref = dictlearn.iht(X, D, n_nonzero_coefs=3, engine="reference")
    assert got.codes.dtype == np.float32 and got.criterion.dtype == np.float32
    np.testing.assert_allclose(got.codes, ref.codes, atol=1e-4)
    assert dictlearn.metrics.support_recovery(got.codes, p.codes)["f1"] > 0.9


def test_engine_errors():
    p = make_sparse_problem(4, 8, 16, 2, random_state=0)
    with pytest.raises(ValueError, match="callback"):
        dictlearn.iht(p.X, p.dictionary, engine="numba", callback=lambda info: False)
    with pytest.raises(ValueError, match="engine"):
        dictlearn.iht(p.X, p.dictionary, engine="fast")


@pytest.mark.parametrize("engine", ["numba", "reference"])
def test_first_step_is_taken_whole(engine):
    """Blumensath & Davies (2010): the first support Γ is that of H_s(g), and a new support
    equal to Γ takes the normalized step whole. With an orthonormal dictionary μ = 1, so one
    step gives H_s(x) exactly (a step halved by the ω test would give about half of it)."""
    X = np.array([[3.0, -0.1, 2.0, 0.2], [0.5, -4.0, 0.0, 1.0]])
    Z = dictlearn.iht(X, np.eye(4), n_nonzero_coefs=2, max_iter=1, engine=engine).codes
    np.testing.assert_allclose(Z, [[3.0, 0.0, 2.0, 0.0], [0.0, -4.0, 0.0, 1.0]], rtol=1e-12)


@pytest.mark.parametrize("positive", [False, True])
def test_duplicated_atoms_tie_like_the_reference(positive):
    """Every atom twice: off the support the two copies' correlations are equal, so the
    candidates tie in pairs, the merge of the support with them often cannot prove its
    selection and the full scan decides; codes and iteration counts still equal the
    reference's (ties to the lower index)."""
    p = make_sparse_problem(40, 10, 8, 3, snr_db=15, positive=positive, random_state=11)
    D = np.vstack([p.dictionary, p.dictionary])
    kw = {"n_nonzero_coefs": 3, "positive": positive, "max_iter": 80, "tol": 1e-9}
    ref = dictlearn.iht(p.X, D, engine="reference", **kw)
    got = dictlearn.iht(p.X, D, engine="numba", **kw)
    np.testing.assert_array_equal(got.n_iter_per_sample, ref.n_iter_per_sample)
    np.testing.assert_allclose(got.codes, ref.codes, rtol=1e-8, atol=1e-10)
