"""Every bad input gets a clear error naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from dictlearn import SparseCoder, fista, ista, lasso_objective, sparse_encode
from dictlearn._xp import check_random_state, optional_import

rng = np.random.default_rng(0)
D = rng.standard_normal((6, 4))
X = rng.standard_normal((5, 4))


@pytest.mark.parametrize("method", ["ista", "fista"])
@pytest.mark.parametrize(
    "X_, D_, kwargs, err, match",
    [
        (np.where(np.eye(5, 4) > 0, np.nan, X), D, {}, ValueError, "X contains NaN"),
        (X, np.where(np.eye(6, 4) > 0, np.inf, D), {}, ValueError, "dictionary contains NaN"),
        (X[0], D, {}, ValueError, "X must be a 2-D array; got 1-D"),
        (X[None], D, {}, ValueError, "X must be a 2-D array; got 3-D"),
        (X, D[0], {}, ValueError, "dictionary must be a 2-D array"),
        (X[:, :3], D, {}, ValueError, "same n_features"),
        (X[:0], D, {}, ValueError, "X must not be empty"),
        (X, np.vstack([D, np.zeros((1, 4))]), {}, ValueError, "zero-norm atoms.*atom 6"),
        (X, D, {"alpha": -0.1}, ValueError, "alpha must be a finite number >= 0"),
        (X, D, {"alpha": np.nan}, ValueError, "alpha must be a finite number"),
        (X, D, {"alpha": "1"}, TypeError, "alpha must be a real number"),
        (X, D, {"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
        (X, D, {"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        (X, D, {"max_iter": 2.5}, TypeError, "max_iter must be an int"),
        (X, D, {"init": np.zeros((5, 5))}, ValueError, r"init must have shape .*\(5, 6\)"),
        (X, D, {"stop": "never"}, ValueError, "stop must be one of"),
        (X + 1j, D, {}, TypeError, "X must have a real numeric dtype"),
        (X.astype(str), D, {}, TypeError, "X must have a real numeric dtype"),
        ("abc", D, {}, TypeError, "X must be an array; got str"),
        (None, D, {}, TypeError, "X must be an array; got None"),
    ],
)
def test_bad_input(method, X_, D_, kwargs, err, match):
    with pytest.raises(err, match=match):
        sparse_encode(X_, D_, method=method, **kwargs)


def test_unknown_method_and_option():
    with pytest.raises(ValueError, match="method must be one of"):
        sparse_encode(X, D, method="nope")
    with pytest.raises(TypeError, match="n_nonzero_coefs"):
        sparse_encode(X, D, method="fista", n_nonzero_coefs=3)


def test_arrays_from_two_libraries():
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="one array library"):
        fista(X, xps.asarray(D))


def test_arrays_on_two_devices():
    xps = pytest.importorskip("array_api_strict")
    devices = list(xps.__array_namespace_info__().devices())
    if len(devices) < 2:
        pytest.skip("array-api-strict offers a single device")
    a = xps.asarray(X, device=devices[0])
    b = xps.asarray(D, device=devices[1])
    with pytest.raises(ValueError, match="one device"):
        ista(a, b)


def test_lasso_objective_checks_codes_shape():
    with pytest.raises(ValueError, match="codes must have shape"):
        lasso_objective(X, D, np.zeros((5, 3)), alpha=0.1)


def test_sparse_coder_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        SparseCoder(D).transform(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="sparse input"):
        import scipy.sparse

        SparseCoder(D).transform(scipy.sparse.csr_matrix(X))


def test_random_state_and_optional_import_errors():
    with pytest.raises(TypeError, match="random_state"):
        check_random_state("seed")
    with pytest.raises(ValueError, match="random_state"):
        check_random_state(-1)
    with pytest.raises(ImportError, match="pip install"):
        optional_import("surely_not_a_module_dictlearn")
