"""SparseCoder follows scikit-learn's conventions: it passes ``check_estimator``."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from dictlearn import SparseCoder, sparse_encode

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

_rng = np.random.default_rng(0)
# A fixed dictionary cannot fit every check's data: like scikit-learn does for its own
# SparseCoder, give each check a dictionary with that check's number of features.
_N_FEATURES = {
    "check_array_api_input": 10,
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
    "check_transformers_unfitted_stateless": 5,
    "check_fit_idempotent": 2,
    "check_transformer_preserve_dtypes": 3,
    "check_set_output_transform": 5,
    "check_global_output_transform_pandas": 5,
    "check_set_output_transform_pandas": 5,
    "check_set_output_transform_polars": 5,
    "check_global_set_output_transform_polars": 5,
    "check_dataframe_column_names_consistency": 8,
    "check_estimators_overwrite_params": 2,
    "check_estimators_fit_returns_self": 2,
    "check_readonly_memmap_input": 2,
    "check_n_features_in_after_fitting": 4,
    "check_positive_only_tag_during_fit": 4,
    "check_fit2d_1sample": 10,
    "check_fit2d_1feature": 1,
    "check_fit_check_is_fitted": 2,
    "check_n_features_in": 2,
    "check_transformer_n_iter": 3,
}


def _check_name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


def _cases():
    est = SparseCoder(_rng.normal(size=(5, 3)), alpha=0.1)
    out = []
    for _, check in estimator_checks_generator(est, legacy=True):
        name = _check_name(check)
        n_features = _N_FEATURES.get(name, 3)
        D = np.random.default_rng(1).normal(size=(5, n_features))
        out.append(pytest.param(D, check, id=name))
    return out


@pytest.mark.parametrize("dictionary, check", _cases())
def test_sklearn_check_estimator(dictionary, check):
    check(SparseCoder(dictionary, alpha=0.1))


def test_transform_is_sparse_encode():
    rng = np.random.default_rng(3)
    D = rng.normal(size=(6, 4))
    X = rng.normal(size=(7, 4))
    coder = SparseCoder(D, alpha=0.2, tol=1e-10)
    np.testing.assert_allclose(
        coder.fit(X).transform(X), sparse_encode(X, D, alpha=0.2, tol=1e-10), rtol=0, atol=0
    )
    assert coder.components_ is D
    rec = coder.inverse_transform(coder.transform(X))
    assert rec.shape == X.shape


def test_get_set_params_and_clone():
    D = np.eye(3)
    coder = SparseCoder(D, alpha=0.3, method="ista")
    params = coder.get_params()
    assert params["alpha"] == 0.3 and params["method"] == "ista"
    c2 = clone(coder).set_params(alpha=0.5)
    assert c2.alpha == 0.5 and coder.alpha == 0.3


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="method must be one of"):
        SparseCoder(np.eye(3), method="nope").fit(np.ones((2, 3)))


def test_wrong_n_features_is_a_clear_error():
    with pytest.raises(ValueError, match="expecting 3 features"):
        SparseCoder(np.eye(3)).transform(np.ones((2, 4)))
