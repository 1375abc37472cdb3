"""scikit-learn style estimators that wrap the functions (one code path)."""

from __future__ import annotations

from typing import Any

from ._base import BaseEstimator, TransformerMixin, store_params
from ._io import FixedArrayModel
from ._loop import warn_status
from ._validation import as_array, check_array, check_nonneg_scalar, check_positive_int
from ._xp import get_namespace, to_namespace
from .coding import method_spec, sparse_encode
from .distributed import is_dask_array

__all__ = ["SparseCoder"]


class SparseCoder(FixedArrayModel, TransformerMixin, BaseEstimator):
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

    ``save``/``load`` keep the parameters and the dictionary in a model file (``.npz``):

    >>> import io
    >>> buf = io.BytesIO(); _ = coder.save(buf); _ = buf.seek(0)
    >>> SparseCoder.load(buf).get_params()["alpha"]
    0.1
    """

    def __init__(self, dictionary: Any, *, method: str = "fista", alpha: float = 1.0,
                 n_nonzero_coefs: int | None = None, max_iter: int = 1000, tol: float = 1e-6,
                 positive: bool = False) -> None:
        store_params(self, locals())

    def _options(self) -> dict[str, Any]:
        """The estimator's parameters that the chosen method takes (others are ignored,
        e.g. ``n_nonzero_coefs`` for the lasso methods and ``alpha`` for OMP)."""
        spec = method_spec(self.method)  # ValueError naming the registered methods
        names = ("alpha", "n_nonzero_coefs", "max_iter", "tol", "positive")
        return {k: getattr(self, k) for k in names
                if spec.accepts(k) and getattr(self, k) is not None}

    def _check_params(self) -> None:
        """The parameters but the dictionary (saving and loading check them)."""
        self._options()
        for name in ("alpha", "tol"):
            check_nonneg_scalar(getattr(self, name), name)
        check_positive_int(self.max_iter, "max_iter")
        if self.n_nonzero_coefs is not None:
            check_positive_int(self.n_nonzero_coefs, "n_nonzero_coefs")

    def _checked_array(self) -> Any:
        return check_array(self.dictionary, "dictionary", atoms=True)

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

    def _inputs(self, X: Any) -> tuple[Any, Any]:
        """``X`` checked against the dictionary's n_features, and the dictionary moved to
        ``X``'s namespace, device and dtype (``sparse_encode`` checks it further)."""
        D = as_array(self.dictionary, "dictionary")
        n_features = int(D.shape[1]) if D.ndim == 2 else None
        X = check_array(X, "X", owner=type(self).__name__, n_features=n_features)
        return X, to_namespace(D, get_namespace(X), X)

    def _encode(self, X: Any):
        X, D = self._inputs(X)
        opts = self._options()
        result = sparse_encode(X, D, method=self.method, return_result=True, **opts)
        self.components_ = self.dictionary
        self.n_components_ = int(D.shape[0])
        self.n_features_in_ = int(D.shape[1])
        self.n_iter_ = max(int(result.n_iter), 1)
        self.status_ = result.status
        warn_status(type(self).__name__, result.status, max_iter=True, stacklevel=4)
        return result

    def transform(self, X: Any) -> Any:
        """Codes of shape (n_samples, n_atoms) (a lazy Dask array for a Dask ``X``)."""
        if is_dask_array(X):
            from .distributed import transform

            return transform(self, X, n_atoms=int(as_array(self.dictionary, "dictionary")
                                                  .shape[0]))
        X, D = self._inputs(X)
        result = sparse_encode(X, D, method=self.method, return_result=True, **self._options())
        warn_status(type(self).__name__, result.status, max_iter=True)
        return result.codes

    def inverse_transform(self, codes: Any) -> Any:
        """Signals ``Z D`` of shape (n_samples, n_features)."""
        Z = check_array(codes, "codes")
        D = as_array(self.dictionary, "dictionary")
        if Z.shape[1] != D.shape[0]:
            raise ValueError(
                f"codes must have n_atoms = {D.shape[0]} columns; got shape {tuple(Z.shape)}")
        return Z @ to_namespace(D, get_namespace(Z), Z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
