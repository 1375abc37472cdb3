"""scikit-learn style estimators that wrap the functions (one code path).

scikit-learn is optional: with it installed the estimators derive from its ``BaseEstimator``
and ``TransformerMixin`` (so ``clone``, pipelines and ``check_estimator`` work); without it a
minimal base provides ``get_params``/``set_params``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ._loop import warn_status
from ._validation import _coerce, as_float_array
from ._xp import float_dtype, get_namespace
from .coding import method_spec, sparse_encode

try:  # pragma: no cover - exercised with and without scikit-learn
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import TransformerMixin as _TransformerMixin
except ImportError:  # pragma: no cover

    class _Base:
        """Minimal ``get_params``/``set_params`` when scikit-learn is absent."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(p for p in sig.parameters if p != "self")

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params: Any):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
                setattr(self, k, v)
            return self

    class _TransformerMixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)


__all__ = ["SparseCoder"]


def _check_X(X: Any, n_features: int | None, name: str = "X"):
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    if isinstance(X, np.ndarray) and X.dtype == object:
        X = X.astype(np.float64)  # numbers stored as objects; strings raise here
    X = _coerce(X, name)
    xp = get_namespace(X)
    if xp.isdtype(X.dtype, "complex floating"):
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array for {name} (n_samples, n_features); got {X.ndim}-D with "
            f"shape {tuple(X.shape)}. Reshape your data."
        )
    X = as_float_array(X, name, xp=xp, dtype=float_dtype(xp, X))
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but SparseCoder is expecting {n_features} "
            "features as input (the dictionary's n_features)"
        )
    return xp, X


class SparseCoder(_TransformerMixin, _Base):
    """Sparse coding on a fixed dictionary, as a scikit-learn transformer.

    ``fit`` only validates; ``transform`` calls :func:`dictlearn.sparse_encode` with the
    estimator's parameters, so the estimator and the function share one code path.

    Parameters
    ----------
    dictionary : array of shape (n_atoms, n_features)
        Atoms as rows.
    method : str, default="fista"
        A registered method (see :data:`dictlearn.METHODS`).
    alpha : float, default=1.0
        l1 weight of ``½‖x − zD‖² + α‖z‖₁`` for the lasso methods.
    n_nonzero_coefs : int, optional
        Sparsity of the greedy methods (OMP, IHT); ignored by the lasso methods.
    max_iter : int, default=1000
    tol : float, default=1e-6
    positive : bool, default=False

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_features)
        The dictionary (set by ``fit``).
    n_components_ : int
    n_features_in_ : int
    n_iter_ : int
        Iterations the method needed on the data passed to ``fit`` (at least 1).
    status_ : Status
        Its stopping status on the data passed to ``fit``.
        ``fit`` and ``transform`` warn once (:class:`~dictlearn.ConvergenceWarning`) when it
        is ``max_iter_reached``, ``nonfinite`` or ``diverged``.

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn import SparseCoder
    >>> coder = SparseCoder(np.eye(3), alpha=0.1)
    >>> np.round(coder.fit_transform(np.array([[1.0, -0.05, 0.3]])), 6)
    array([[0.9, 0. , 0.2]])
    """

    def __init__(
        self,
        dictionary: Any,
        *,
        method: str = "fista",
        alpha: float = 1.0,
        n_nonzero_coefs: int | None = None,
        max_iter: int = 1000,
        tol: float = 1e-6,
        positive: bool = False,
    ) -> None:
        self.dictionary = dictionary
        self.method = method
        self.alpha = alpha
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive

    def _options(self) -> dict[str, Any]:
        """The estimator's parameters that the chosen method takes (others are ignored,
        e.g. ``n_nonzero_coefs`` for the lasso methods and ``alpha`` for OMP)."""
        spec = method_spec(self.method)  # ValueError naming the registered methods
        candidates = {
            "alpha": self.alpha,
            "n_nonzero_coefs": self.n_nonzero_coefs,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "positive": self.positive,
        }
        return {k: v for k, v in candidates.items() if spec.accepts(k) and v is not None}

    def fit(self, X: Any, y: Any = None) -> SparseCoder:
        """Validate ``X`` and the parameters; the dictionary is fixed, so nothing is learned.

        The codes of ``X`` are computed once to record ``n_iter_`` (the iterations the
        method needed on this data) and ``status_``.
        """
        self._encode(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """``fit`` then ``transform`` with a single encoding pass."""
        return self._encode(X).codes

    def _encode(self, X: Any):
        n_features = int(_coerce(self.dictionary, "dictionary").shape[1])
        xp, X = _check_X(X, n_features)
        opts = self._options()
        D = _coerce(self.dictionary, "dictionary")
        D = xp.asarray(D) if get_namespace(D) is not xp else D
        if D.dtype != X.dtype:
            D = xp.astype(D, X.dtype)
        result = sparse_encode(X, D, method=self.method, return_result=True, **opts)
        self.components_ = self.dictionary
        self.n_components_ = int(D.shape[0])
        self.n_features_in_ = n_features
        self.n_iter_ = max(int(result.n_iter), 1)
        self.status_ = result.status
        warn_status(type(self).__name__, result.status, max_iter=True, stacklevel=4)
        return result

    def transform(self, X: Any) -> Any:
        """Codes of shape (n_samples, n_atoms)."""
        xp, X = _check_X(X, int(_coerce(self.dictionary, "dictionary").shape[1]))
        D = _coerce(self.dictionary, "dictionary")
        D = xp.asarray(D) if get_namespace(D) is not xp else D
        if D.dtype != X.dtype:
            D = xp.astype(D, X.dtype)
        result = sparse_encode(X, D, method=self.method, return_result=True, **self._options())
        warn_status(type(self).__name__, result.status, max_iter=True)
        return result.codes

    def inverse_transform(self, codes: Any) -> Any:
        """Signals ``Z D`` of shape (n_samples, n_features)."""
        xp = get_namespace(codes)
        D = xp.asarray(self.dictionary)
        if codes.shape[-1] != D.shape[0]:
            raise ValueError(
                f"codes must have n_atoms = {D.shape[0]} columns; got shape {tuple(codes.shape)}"
            )
        return codes @ xp.astype(D, codes.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
