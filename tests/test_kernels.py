"""Every kernel engine agrees with the reference Array-API kernel; the registry and engines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dictlearn
from dictlearn.datasets import make_sparse_problem
from dictlearn.kernels import available_kernels, get_kernel, resolve_engine

NUMBA = dictlearn._xp.numba_enabled()
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba unavailable")
COMPILED = ["numba"]


def _problem(n, m, k, s, seed, dtype):
    prob = make_sparse_problem(n, m, k, min(s, k), snr_db=25, random_state=seed)
    return prob.X.astype(dtype), prob.dictionary.astype(dtype)


def test_every_kernel_has_a_reference_and_a_numba_twin():
    from dictlearn.kernels import KERNELS

    for name in available_kernels():
        assert (name, "reference") in KERNELS
        assert (name, "numba") in KERNELS


@needs_numba
@pytest.mark.parametrize("engine", COMPILED)
@given(
    n=st.integers(1, 12),
    m=st.integers(3, 20),
    ratio=st.sampled_from([1, 2, 3]),
    s=st.integers(1, 6),
    K=st.integers(1, 8),
    positive=st.booleans(),
    use_tol=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_omp_engines_agree(engine, n, m, ratio, s, K, positive, use_tol, seed):
    k = m * ratio
    K = min(K, k)
    X, D = _problem(n, m, k, s, seed, "float64")
    tol = 0.1 * float(np.mean(np.sum(X * X, axis=1))) if use_tol else -1.0
    opts = {"n_nonzero_coefs": K, "tol": tol, "positive": positive, "cond_tol": 1e-8}
    Zr, ur, rr = get_kernel("omp_gram", "reference")(X, D, xp=np, **opts)
    Zc, uc, rc = get_kernel("omp_gram", engine)(X, D, **opts)
    np.testing.assert_array_equal(uc, ur)
    np.testing.assert_allclose(Zc, Zr, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(rc, rr, rtol=1e-7, atol=1e-10)


@needs_numba
@pytest.mark.parametrize("engine", COMPILED)
@given(
    n=st.integers(1, 10),
    m=st.integers(3, 16),
    ratio=st.sampled_from([1, 2, 3]),
    s=st.integers(1, 5),
    alpha_frac=st.floats(0.05, 0.8),
    positive=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_lasso_engines_agree(engine, n, m, ratio, s, alpha_frac, positive, seed):
    k = m * ratio
    X, D = _problem(n, m, k, s, seed, "float64")
    alpha = alpha_frac * float(np.max(np.abs(X @ D.T)))
    opts = {"alpha": alpha, "positive": positive, "tol": 1e-13, "max_iter": 50_000}
    Zr, _, _, cr = get_kernel("lasso_cd_gram", "reference")(X, D, None, xp=np, **opts)
    Zc, _, _, cc = get_kernel("lasso_cd_gram", engine)(X, D, None, **opts)
    assert bool(np.all(cr)) and bool(np.all(cc))
    Fr = dictlearn.lasso_objective(X, D, Zr, alpha=alpha)
    Fc = dictlearn.lasso_objective(X, D, Zc, alpha=alpha)
    np.testing.assert_allclose(Fc, Fr, rtol=1e-9, atol=1e-12)
    # a lasso solution is unique for atoms in general position
    np.testing.assert_allclose(Zc, Zr, atol=1e-4 * max(1.0, float(np.abs(Zr).max())))


@needs_numba
@pytest.mark.parametrize("kernel", ["omp_gram", "lasso_cd_gram"])
def test_float32_engines_agree(kernel):
    X, D = _problem(30, 16, 40, 3, 11, "float32")
    if kernel == "omp_gram":
        opts = {"n_nonzero_coefs": 3, "tol": -1.0, "positive": False, "cond_tol": 1e-3}
        Zr = get_kernel(kernel, "reference")(X, D, xp=np, **opts)[0]
        Zc = get_kernel(kernel, "numba")(X, D, **opts)[0]
    else:
        opts = {"alpha": 0.1, "positive": False, "tol": 1e-6, "max_iter": 5000}
        Zr = get_kernel(kernel, "reference")(X, D, None, xp=np, **opts)[0]
        Zc = get_kernel(kernel, "numba")(X, D, None, **opts)[0]
    assert Zc.dtype == np.float32 and Zr.dtype == np.float32
    np.testing.assert_allclose(Zc, Zr, atol=2e-3)


@pytest.mark.skipif(not dictlearn._xp.has_module("spams"), reason="spams unavailable")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bench_spams_omp_codes_are_full(dtype):
    """The benches' SPAMS ``omp`` returns k-sparse codes in both dtypes (without an explicit
    ``eps`` SPAMS' float32 ``omp`` returned all-zero codes, and the sweep timed that)."""
    from dictlearn.bench.encode import _spams_omp
    from dictlearn.bench.sweep import _contenders

    X, D = _problem(50, 16, 40, 3, 3, dtype)
    for Z in (_spams_omp(X, D, 3), _contenders("auto", 3, 0.1, 1)["spams omp"][1](X, D)):
        Z = np.asarray(Z.todense()).T if hasattr(Z, "todense") else np.asarray(Z)
        assert Z.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(np.count_nonzero(Z, axis=1), 3)


@needs_numba
def test_numba_gram_and_projection():
    from dictlearn.kernels._numba_common import gram

    D = np.random.default_rng(0).standard_normal((37, 11))
    G = gram(D)
    np.testing.assert_allclose(G, D @ D.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(G, G.T)


def test_engine_resolution(monkeypatch):
    import array_api_strict as xps

    assert resolve_engine("reference", np) == "reference"
    assert resolve_engine("auto", xps) == "reference"
    with pytest.raises(ValueError, match="engine must be one of"):
        resolve_engine("cuda", np)
    monkeypatch.setenv("DICTLEARN_DISABLE_NUMBA", "1")
    assert resolve_engine("auto", np) == "reference"
    with pytest.raises(ImportError, match="DICTLEARN_DISABLE_NUMBA"):
        resolve_engine("numba", np)
    prob = make_sparse_problem(5, 8, 16, 2, random_state=0)
    # without numba everything still runs, on the reference kernels
    Z = dictlearn.omp(prob.X, prob.dictionary, n_nonzero_coefs=2).codes
    assert Z.shape == (5, 16)
    monkeypatch.setenv("DICTLEARN_DISABLE_NUMBA", "0")
    assert resolve_engine("auto", np) == ("numba" if NUMBA else "reference")


def test_unknown_kernel():
    with pytest.raises(ValueError, match="no kernel 'nope' for engine 'numba'"):
        get_kernel("nope", "numba")


def test_runs_without_numba_installed():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np, dictlearn\n"
        "from dictlearn.kernels import resolve_engine\n"
        "assert resolve_engine('auto', np) == 'reference'\n"
        "X = np.random.default_rng(0).standard_normal((4, 6)); D = np.eye(6)\n"
        "assert dictlearn.omp(X, D, n_nonzero_coefs=2).codes.shape == (4, 6)\n"
        "assert dictlearn.lasso(X, D, alpha=0.1).status.value == 'converged'\n"
        "assert 'numba' not in sys.modules or sys.modules['numba'] is None\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.returncode == 0, out.stderr


def test_benchmarks_run_small(capsys):
    from dictlearn.bench import main

    assert main(["encode", "--n-samples", "60", "--repeat", "1", "--methods", "omp",
                 "lasso[", "iht", "spams"]) == 0
    out = capsys.readouterr().out
    assert "k-sparse coding" in out and "dictlearn omp[reference]" in out
    assert "dictlearn lasso[reference]" in out
    assert main(["sweep", "--n-samples", "50", "100", "--n-atoms", "32", "--dtypes", "float64",
                 "--repeat", "1", "--sklearn-max-samples", "50"]) == 0
    out = capsys.readouterr().out
    assert "time ∝ n_samples^p" in out
    assert "omp/spams" in out and "lasso/sklearn" in out
    assert main(["sweep", "--n-samples", "50", "--n-atoms", "32", "--dtypes", "float32",
                 "--repeat", "1", "--spams-threads", "1", "--methods", "omp"]) == 0
    assert "omp[auto]" in capsys.readouterr().out
    assert main(["encode", "--n-samples", "40", "--repeat", "1", "--iteration-cost", "3",
                 "--methods", "fista"]) == 0
    out = capsys.readouterr().out
    assert "3 FISTA iterations [reference]" in out and "vs_products" in out
    assert "dictlearn fista[reference]" in out


@needs_numba
def test_blas_projection_path_agrees(monkeypatch):
    from dictlearn.kernels import _numba_common

    X, D = _problem(40, 16, 48, 3, 5, "float64")
    fused_o = dictlearn.omp(X, D, n_nonzero_coefs=4).codes
    fused_l = dictlearn.lasso(X, D, alpha=0.05).codes
    monkeypatch.setattr(_numba_common, "BLAS_DTYPES", ("float64",))
    np.testing.assert_allclose(dictlearn.omp(X, D, n_nonzero_coefs=4).codes, fused_o,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dictlearn.lasso(X, D, alpha=0.05).codes, fused_l,
                               rtol=1e-7, atol=1e-10)
