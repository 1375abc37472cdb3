"""The inventory of bad and unusual inputs: one row per input, the exception and a fragment of
its message. Damaged model files have their own table in tests/test_model_files.py (DAMAGES).

Rules checked across the table: the error names the parameter; inputs are never modified; one
rule for object arrays everywhere (numbers are converted, anything else is a ``TypeError``).
"""

from __future__ import annotations

import numpy as np
import pytest

import dictlearn
from dictlearn import LISTA, DictionaryLearning, SparseAutoencoder, SparseCoder
from dictlearn.datasets import make_sparse_problem
from dictlearn.signal import ConvolutionalDictionaryLearning, ConvolutionalSparseCoder

_P = make_sparse_problem(20, 6, 8, 2, random_state=0)
X, D = _P.X, _P.dictionary
_ZERO_ATOM = np.vstack([np.zeros((1, 6)), D[1:]])
_WORDS = np.array([[1.0, "a"]], dtype=object)


def _nan(a):
    a = np.array(a, dtype=float)
    a.flat[0] = np.nan
    return a


def fista(x=X, d=D, **kw):
    return lambda: dictlearn.fista(x, d, **{"alpha": 0.1, **kw})


def encode(x=X, d=D, **kw):
    return lambda: dictlearn.sparse_encode(x, d, **kw)


# (id, call, exception, message fragment)
BAD_INPUTS = [
    # --- the signals X
    ("X-none", fista(None), TypeError, "X must be an array; got None"),
    ("X-string", fista("abc"), TypeError, "X must be an array; got str"),
    ("X-dict", fista({"a": 1}), TypeError, "X must be an array; got dict"),
    ("X-1d", fista(X[0]), ValueError, "X must be a 2-D array; got 1-D"),
    ("X-3d", fista(X[None]), ValueError, "X must be a 2-D array; got 3-D"),
    ("X-empty", fista(X[:0]), ValueError, "X must not be empty"),
    ("X-nan", fista(_nan(X)), ValueError, "X contains NaN or infinity"),
    ("X-inf", fista(X * np.inf), ValueError, "X contains NaN or infinity"),
    ("X-complex", fista(X + 1j), TypeError, "Complex data not supported"),
    ("X-strings", fista(X.astype(str)), TypeError, "X must have a real numeric dtype"),
    ("X-object-words", fista(_WORDS, np.eye(2)), TypeError,
     "X must be a numeric array; its object entries are not numbers"),
    ("X-object-none", fista(np.array([[1.0, None]], dtype=object), np.eye(2)), TypeError,
     "its object entries are not numbers: None is not a number"),
    ("X-features", fista(X[:, :5]), ValueError,
     "X has 5 features, but fista is expecting 6 features as input"),
    # --- the dictionary
    ("D-zero-atom", fista(d=_ZERO_ATOM), ValueError, "dictionary has zero-norm atoms"),
    ("D-nan", fista(d=_nan(D)), ValueError, "dictionary contains NaN or infinity"),
    ("D-1d", fista(d=D[0]), ValueError, "dictionary must be a 2-D array"),
    ("D-object-words", fista(np.ones((1, 2)), _WORDS), TypeError,
     "dictionary must be a numeric array"),
    # --- options
    ("alpha-negative", fista(alpha=-1.0), ValueError, "alpha must be a finite number >= 0"),
    ("alpha-nan", fista(alpha=float("nan")), ValueError, "alpha must be a finite number"),
    ("alpha-string", fista(alpha="0.1"), TypeError, "alpha must be a real number; got str"),
    ("max_iter-zero", fista(max_iter=0), ValueError, "max_iter must be >= 1"),
    ("max_iter-float", fista(max_iter=1.5), TypeError, "max_iter must be an int"),
    ("tol-negative", fista(tol=-1.0), ValueError, "tol must be a finite number >= 0"),
    ("init-shape", fista(init=np.zeros((2, 2))), ValueError, "init must have shape"),
    ("method-unknown", encode(method="nope"), ValueError, "method must be one of"),
    ("option-unknown", encode(method="omp", alpha=0.1), TypeError, "alpha"),
    ("k-too-large", encode(method="omp", n_nonzero_coefs=99), ValueError, "n_nonzero_coefs"),
    ("k-zero", encode(method="iht", n_nonzero_coefs=0), ValueError,
     "n_nonzero_coefs must be >= 1"),
    # --- scales (dictlearn/_scale.py)
    ("codes-underflow", fista(X * 1e-300, D * 1e30, alpha=1e-320), ValueError,
     "not representable in float64: they underflow"),
    ("codes-overflow", encode(X * 1e300, D * 1e-30, method="omp", n_nonzero_coefs=2),
     ValueError, "not representable in float64: they overflow"),
    ("autoencoder-scale", lambda: SparseAutoencoder(4).fit(X * 1e-300), ValueError,
     "X has max |X| = "),
    # --- estimators
    ("coder-features", lambda: SparseCoder(D).fit(X[:, :5]), ValueError,
     "X has 5 features, but SparseCoder is expecting 6"),
    ("coder-method", lambda: SparseCoder(D, method="pca").fit(X), ValueError,
     "method must be one of"),
    ("learner-all-zero", lambda: DictionaryLearning(4).fit(np.zeros((5, 3))), ValueError,
     "X is all zeros"),
    ("learner-method", lambda: DictionaryLearning(4, method="pca").fit(X), ValueError,
     "method must be one of"),
    ("learner-n_atoms", lambda: DictionaryLearning(0).fit(X), ValueError,
     "n_atoms must be >= 1"),
    ("learner-unfitted", lambda: DictionaryLearning(4).transform(X), ValueError, "not fitted"),
    ("lista-features", lambda: LISTA(D, 2).initialize(X[:, :5]), ValueError,
     "X has 5 features, but LISTA is expecting 6"),
    ("lista-unfitted", lambda: LISTA(D, 2).transform(X), ValueError, "not fitted"),
    ("autoencoder-nan", lambda: SparseAutoencoder(4).fit(_nan(X)), ValueError,
     "X contains NaN or infinity"),
    ("csc-long-atoms", lambda: ConvolutionalSparseCoder(np.ones((2, 9))).fit_transform(
        np.ones(5)), ValueError, "atoms are longer"),
    ("cdl-nan", lambda: ConvolutionalDictionaryLearning(2, 4).fit(_nan(np.ones(50))),
     ValueError, "X contains NaN or infinity"),
    # --- model files (the damaged-file table is tests/test_model_files.py)
    ("load-missing", lambda: DictionaryLearning.load("/nonexistent/model"), FileNotFoundError,
     "no such model file: '/nonexistent/model'"),
    ("load-not-a-file", lambda: SparseCoder.load(3.5), TypeError, ""),
]


@pytest.mark.parametrize("call, exc, fragment",
                         [pytest.param(c, e, f, id=i) for i, c, e, f in BAD_INPUTS])
def test_bad_input_is_refused_clearly(call, exc, fragment):
    with pytest.raises(exc) as info:
        call()
    assert fragment in str(info.value)


def test_inputs_are_never_modified():
    x, d = X.copy(), D.copy()
    for _, call, exc, _ in BAD_INPUTS[:5]:
        with pytest.raises(exc):
            call()
    dictlearn.fista(x, d, alpha=0.1)
    dictlearn.fista(x * 1e300, d, alpha=1e299)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(d, D)


#: every public entry point that takes signals: (id, call(X))
_ENTRIES = [
    ("sparse_encode", lambda x: dictlearn.sparse_encode(x, D, alpha=0.1)),
    ("omp", lambda x: dictlearn.omp(x, D, n_nonzero_coefs=2).codes),
    ("lasso", lambda x: dictlearn.lasso(x, D, alpha=0.1).codes),
    ("SparseCoder", lambda x: SparseCoder(D, alpha=0.1).fit_transform(x)),
    ("DictionaryLearning", lambda x: DictionaryLearning(
        4, method="mod", alpha=0.1, max_iter=2, random_state=0).fit(x).components_),
    ("LISTA", lambda x: LISTA(D, 2).initialize(x).transform(x)),
    ("SparseAutoencoder", lambda x: SparseAutoencoder(
        4, max_epochs=1, batch_size=10, random_state=0).fit(x).transform(x)),
]


@pytest.mark.parametrize("entry", [e for _, e in _ENTRIES], ids=[i for i, _ in _ENTRIES])
def test_one_rule_for_object_arrays(entry):
    """Object arrays of numbers are converted (as scikit-learn does), everywhere; anything
    else in them is a TypeError, everywhere (_validation.as_array)."""
    np.testing.assert_array_equal(entry(X.astype(object)), entry(X))
    words = X.astype(object)
    words[0, 0] = "a"
    with pytest.raises(TypeError, match="X must be a numeric array; its object entries"):
        entry(words)
