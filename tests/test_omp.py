"""OMP: exact recovery under the coherence bound, orthogonality, scikit-learn parity, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import dictlearn
from dictlearn.datasets import make_sparse_problem, random_dictionary
from dictlearn.metrics import mutual_coherence
from tests._helpers import asxp, tonp

NUMBA = dictlearn._xp.numba_enabled()
ENGINES = ["reference", pytest.param("numba", marks=pytest.mark.skipif(
    not NUMBA, reason="numba unavailable"))]


def _low_coherence(m: int, rng: np.random.Generator) -> np.ndarray:
    """[I | H/√m] with random atom signs and order: μ = 1/√m."""
    D = np.vstack([np.eye(m), scipy.linalg.hadamard(m) / np.sqrt(m)])
    D *= rng.choice([-1.0, 1.0], size=(2 * m, 1))
    return D[rng.permutation(2 * m)]


@pytest.mark.parametrize("engine", ENGINES)
@given(m=st.sampled_from([16, 32, 64]), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_exact_recovery_below_coherence_bound(engine, m, seed, data):
    rng = np.random.default_rng(seed)
    D = _low_coherence(m, rng)
    mu = mutual_coherence(D)
    kmax = int(np.ceil((1 + 1 / mu) / 2) - 1)  # largest k with k < (1 + 1/μ)/2
    k = data.draw(st.integers(1, kmax), label="k")
    assert k < (1 + 1 / mu) / 2
    n = 6
    Z = np.zeros((n, 2 * m))
    for i in range(n):
        S = rng.choice(2 * m, size=k, replace=False)
        Z[i, S] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(0.1, 10.0, size=k)
    X = Z @ D
    res = dictlearn.omp(X, D, n_nonzero_coefs=k, engine=engine)
    np.testing.assert_array_equal(res.codes != 0, Z != 0)
    np.testing.assert_allclose(res.codes, Z, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.criterion, 0.0, atol=1e-12 * float((X * X).sum()))


def test_exact_recovery_array_api_strict():
    import array_api_strict as xps

    rng = np.random.default_rng(0)
    D = _low_coherence(16, rng)
    Z = np.zeros((4, 32))
    for i in range(4):
        Z[i, rng.choice(32, 2, replace=False)] = [1.5, -0.7]
    res = dictlearn.omp(xps.asarray(Z @ D), xps.asarray(D), n_nonzero_coefs=2)
    assert isinstance(res.codes, type(xps.asarray(1.0)))
    np.testing.assert_allclose(tonp(res.codes), Z, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
@given(
    n_features=st.integers(4, 24),
    ratio=st.sampled_from([1, 2, 4]),
    k=st.integers(1, 8),
    positive=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_atom_twice_and_residual_orthogonal(engine, n_features, ratio, k, positive, seed):
    n_atoms = n_features * ratio
    k = min(k, n_features)
    rng = np.random.default_rng(seed)
    D = random_dictionary(n_atoms, n_features, random_state=rng)
    X = rng.standard_normal((7, n_features))
    res = dictlearn.omp(X, D, n_nonzero_coefs=k, positive=positive, engine=engine)
    Z = res.codes
    used = res.n_iter_per_sample
    # each step adds a distinct atom: the number of nonzeros equals the number of steps
    np.testing.assert_array_equal((Z != 0).sum(axis=1), used)
    assert np.all(used <= k)
    if not positive:  # generic atoms: k ≤ n_features independent atoms, all k are used
        np.testing.assert_array_equal(used, k)
    else:
        assert np.all(Z >= 0)
    R = X - Z @ D
    C = R @ D.T
    scale = np.linalg.norm(X, axis=1, keepdims=True)
    assert np.all(np.abs(np.where(Z != 0, C, 0.0)) <= 1e-9 * scale)
    np.testing.assert_allclose(res.criterion, np.sum(R * R, axis=1), rtol=1e-8, atol=1e-10)


@given(
    n_atoms=st.integers(8, 96),
    n_features=st.integers(8, 40),
    k=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_sklearn_orthogonal_mp_gram(n_atoms, n_features, k, seed):
    from sklearn.linear_model import orthogonal_mp_gram

    k = min(k, n_atoms, n_features)
    prob = make_sparse_problem(20, n_features, n_atoms, k, snr_db=30, random_state=seed)
    X, D = prob.X, prob.dictionary
    ours = dictlearn.omp(X, D, n_nonzero_coefs=k).codes
    ref = orthogonal_mp_gram(D @ D.T, D @ X.T, n_nonzero_coefs=k).T
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)
    ours_tol = dictlearn.omp(X, D, tol=0.05).codes
    ref_tol = orthogonal_mp_gram(D @ D.T, D @ X.T, tol=0.05,
                                 norms_squared=np.sum(X * X, axis=1)).T
    # scikit-learn always adds a first atom; we add none when ‖x‖² already meets tol
    small = np.sum(X * X, axis=1) <= 0.05
    np.testing.assert_allclose(ours_tol[~small], ref_tol[~small], rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours_tol[small], 0.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_tolerance_stops_each_sample(engine):
    prob = make_sparse_problem(50, 32, 64, 4, snr_db=40, random_state=3)
    X, D = prob.X, prob.dictionary
    tol = 0.2 * float(np.median(np.sum(X * X, axis=1)))
    res = dictlearn.omp(X, D, n_nonzero_coefs=10, tol=tol, engine=engine)
    R = X - res.codes @ D
    rr = np.sum(R * R, axis=1)
    stopped_early = res.n_iter_per_sample < 10
    assert stopped_early.any()
    assert np.all(rr[stopped_early] <= tol * (1 + 1e-9))
    # one atom fewer would not have met the tolerance
    fewer = dictlearn.omp(X, D, n_nonzero_coefs=10, engine=engine,
                          max_iter=1).codes  # one atom, the first step
    r1 = np.sum((X - fewer @ D) ** 2, axis=1)
    assert np.all(r1[res.n_iter_per_sample > 1] > tol)


@pytest.mark.parametrize("engine", ENGINES)
def test_degenerate_dictionary_no_nan(engine):
    rng = np.random.default_rng(1)
    base = random_dictionary(12, 8, random_state=rng)
    near = base[:3] + 1e-12 * rng.standard_normal((3, 8))
    D = np.vstack([base, base[:5], -base[5:7], near])  # repeats, opposite, nearly dependent
    X = rng.standard_normal((30, 8))
    res = dictlearn.omp(X, D, n_nonzero_coefs=8, engine=engine)
    Z = res.codes
    assert np.all(np.isfinite(Z))
    # the atoms used per sample are linearly independent: no copy of a chosen direction
    for i in range(X.shape[0]):
        S = np.flatnonzero(Z[i])
        assert np.linalg.matrix_rank(D[S], tol=1e-6) == S.size
    # 8 independent atoms span R^8: the residual vanishes
    np.testing.assert_allclose(X - Z @ D, 0.0, atol=1e-8)


@pytest.mark.parametrize("engine", ENGINES)
def test_nonnegative_recovers_nonnegative_codes(engine):
    rng = np.random.default_rng(5)
    D = _low_coherence(32, rng)
    Z = np.zeros((10, 64))
    for i in range(10):
        Z[i, rng.choice(64, 3, replace=False)] = rng.uniform(0.5, 2.0, 3)
    res = dictlearn.omp(Z @ D, D, n_nonzero_coefs=3, positive=True, engine=engine)
    np.testing.assert_allclose(res.codes, Z, atol=1e-10)


def test_dtype_inputs_and_registry(dtype_name):
    prob = make_sparse_problem(20, 16, 32, 3, random_state=0)
    X = prob.X.astype(dtype_name)
    D = prob.dictionary.astype(dtype_name)
    X.setflags(write=False)
    D.setflags(write=False)
    X0, D0 = X.copy(), D.copy()
    Z = dictlearn.sparse_encode(X, D, method="omp", n_nonzero_coefs=3)
    assert Z.dtype == np.dtype(dtype_name)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(D, D0)
    coder = dictlearn.SparseCoder(D, method="omp", n_nonzero_coefs=3)
    np.testing.assert_allclose(coder.transform(X), Z, rtol=1e-5)


def test_strict_reference_matches_numpy(xp):
    prob = make_sparse_problem(15, 12, 24, 3, snr_db=20, random_state=2)
    res = dictlearn.omp(asxp(xp, prob.X), asxp(xp, prob.dictionary), n_nonzero_coefs=4,
                        engine="reference")
    ref = dictlearn.omp(prob.X, prob.dictionary, n_nonzero_coefs=4, engine="reference")
    np.testing.assert_allclose(tonp(res.codes), ref.codes, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"n_nonzero_coefs": 0}, ValueError, "n_nonzero_coefs must be >= 1"),
        ({"n_nonzero_coefs": 33}, ValueError, "n_nonzero_coefs must be <= n_atoms"),
        ({"n_nonzero_coefs": 2.5}, TypeError, "n_nonzero_coefs must be an int"),
        ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
        ({"tol": float("nan")}, ValueError, "tol"),
        ({"engine": "cuda"}, ValueError, "engine must be one of"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_bad_parameters(kwargs, err, match):
    prob = make_sparse_problem(5, 16, 32, 3, random_state=0)
    with pytest.raises(err, match=match):
        dictlearn.omp(prob.X, prob.dictionary, **kwargs)


def test_bad_arrays():
    prob = make_sparse_problem(5, 16, 32, 3, random_state=0)
    X, D = prob.X, prob.dictionary
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        dictlearn.omp(Xn, D, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="same n_features"):
        dictlearn.omp(X[:, :5], D, n_nonzero_coefs=2)
    D0 = D.copy()
    D0[3] = 0.0
    with pytest.raises(ValueError, match="zero-norm atoms"):
        dictlearn.omp(X, D0, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="must not be empty"):
        dictlearn.omp(X[:0], D, n_nonzero_coefs=2)


def test_numba_engine_refuses_non_numpy():
    import array_api_strict as xps

    prob = make_sparse_problem(5, 16, 32, 3, random_state=0)
    X, D = xps.asarray(prob.X), xps.asarray(prob.dictionary)
    if NUMBA:
        with pytest.raises(ValueError, match="engine='numba' runs on NumPy arrays only"):
            dictlearn.omp(X, D, n_nonzero_coefs=2, engine="numba")


def test_default_sizes():
    prob = make_sparse_problem(6, 40, 64, 3, random_state=0)
    res = dictlearn.omp(prob.X, prob.dictionary)
    assert int(res.n_iter_per_sample.max()) == 4  # max(1, n_features // 10)


def test_reference_row_blocks_agree(monkeypatch):
    from dictlearn.kernels import omp as omp_kernel

    prob = make_sparse_problem(50, 16, 32, 3, snr_db=30, random_state=8)
    whole = dictlearn.omp(prob.X, prob.dictionary, n_nonzero_coefs=4, engine="reference")
    monkeypatch.setattr(omp_kernel, "_BLOCK_ELEMENTS", 4 * 32 * 7)  # blocks of 7 rows
    blocks = dictlearn.omp(prob.X, prob.dictionary, n_nonzero_coefs=4, engine="reference")
    np.testing.assert_array_equal(blocks.codes != 0, whole.codes != 0)
    np.testing.assert_allclose(blocks.codes, whole.codes, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(blocks.n_iter_per_sample, whole.n_iter_per_sample)
