"""The scikit-learn base classes of every estimator (below ``learning/`` and ``amortized/``).

scikit-learn is optional: with it installed the estimators derive from its ``BaseEstimator``
and ``TransformerMixin`` (so ``clone``, pipelines and ``check_estimator`` work); without it a
minimal base provides ``get_params``/``set_params`` and ``fit_transform``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

__all__ = ["BaseEstimator", "TransformerMixin", "keep_fit_on_error", "store_params"]

try:  # pragma: no cover - exercised with and without scikit-learn
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError:  # pragma: no cover

    class BaseEstimator:
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

    class TransformerMixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)


def store_params(est: Any, args: dict[str, Any]) -> None:
    """Store ``__init__``'s arguments (its ``locals()``) as attributes of the same names,
    unchanged: all an estimator's ``__init__`` does (scikit-learn's rule)."""
    for name, value in args.items():
        if name != "self":
            setattr(est, name, value)


def keep_fit_on_error(fit: Any) -> Any:
    """Decorate a ``fit`` that sets attributes as it goes: when it raises (Ctrl-C, a callback
    that raises), the estimator's attributes are put back as they were before the call, so
    it keeps its last complete fit (or stays unfitted), never half-updated."""
    @functools.wraps(fit)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise
    return wrapper
