r"""Objectives, duality gaps and Lipschitz constants.

The lasso objective per sample ``x`` (a row of ``X``) with codes ``z`` (a row of ``Z``) is

.. math:: F(z) = \tfrac12 \|x - z D\|_2^2 + \alpha \|z\|_1 ,

the quantity scikit-learn's ``sparse_encode(..., algorithm="lasso_lars", alpha=alpha)`` and
SPAMS' ``lasso(lambda1=alpha)`` both minimise (scikit-learn's ``Lasso`` estimator instead divides
the quadratic by ``n_features``). With ``r = x − zD`` and ``c = r Dᵀ``, the point
``θ = s·r`` with ``s = α / max(α, ‖c‖_∞)`` is dual feasible, and the duality gap
``F(z) − (½‖x‖² − ½‖x − θ‖²) = F(z) − (s x·r − ½ s²‖r‖²)`` is ≥ 0 and vanishes exactly at
a solution. With ``positive=True`` (codes ≥ 0) the dual constraint is one-sided,
``max_j c_j ≤ α``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ._linalg import spectral_norm_sq
from ._validation import check_array, check_nonneg_scalar, check_signals_dictionary
from ._xp import get_namespace

__all__ = ["lasso_duality_gap", "lasso_objective", "lipschitz_constant"]


def _gap_terms(rr: Any, xr: Any, l1: Any, cmax: Any, alpha: float, xp: ModuleType):
    """Primal value and duality gap from per-sample ``‖r‖²``, ``x·r``, ``‖z‖₁``, ``max c``."""
    F = 0.5 * rr + alpha * l1
    if alpha == 0.0:
        # Least squares: the gap is ½‖P r‖² with P the projection on the atoms' span; the
        # bound below (s = 0 unless c = 0) is ½‖r‖², valid and zero only when r = 0.
        s = xp.where(cmax > 0, xp.zeros_like(cmax), xp.ones_like(cmax))
    else:
        s = alpha / xp.maximum(cmax, alpha)
    dual = s * xr - 0.5 * s * s * rr
    return F, F - dual


def _corr_max(C: Any, positive: bool, xp: ModuleType) -> Any:
    if positive:
        return xp.maximum(xp.max(C, axis=1), 0.0)
    return xp.max(xp.abs(C), axis=1)


def gap_direct(X: Any, D: Any, Z: Any, alpha: float, positive: bool, xp: ModuleType):
    """``(F, gap, R)`` per sample from the residual ``R = X − Z D`` (direct form)."""
    R = X - Z @ D
    C = R @ xp.matrix_transpose(D)
    rr = xp.sum(R * R, axis=1)
    xr = xp.sum(X * R, axis=1)
    l1 = xp.sum(xp.abs(Z), axis=1)
    F, gap = _gap_terms(rr, xr, l1, _corr_max(C, positive, xp), alpha, xp)
    return F, gap


def gap_gram(xx: Any, XDt: Any, G: Any, Z: Any, alpha: float, positive: bool, xp: ModuleType):
    """``(F, gap)`` per sample in the Gram domain, from ``‖x‖²``, ``X Dᵀ`` and ``G = D Dᵀ``.

    ``‖r‖² = ‖x‖² − 2 z·(x Dᵀ) + z G zᵀ`` and ``c = x Dᵀ − z G``: no residual is formed.
    """
    ZG = Z @ G
    zc = xp.sum(Z * XDt, axis=1)
    rr = xp.maximum(xx - 2.0 * zc + xp.sum(Z * ZG, axis=1), 0.0)
    xr = xx - zc
    l1 = xp.sum(xp.abs(Z), axis=1)
    F, gap = _gap_terms(rr, xr, l1, _corr_max(XDt - ZG, positive, xp), alpha, xp)
    return F, gap


def lasso_objective(X: Any, dictionary: Any, codes: Any, *, alpha: float) -> Any:
    """Lasso objective ``½‖x − z D‖² + α‖z‖₁`` for every sample.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    dictionary : array of shape (n_atoms, n_features)
    codes : array of shape (n_samples, n_atoms)
    alpha : float >= 0

    Returns
    -------
    array of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(2); X = np.array([[1.0, 0.0]]); Z = np.array([[0.5, 0.0]])
    >>> lasso_objective(X, D, Z, alpha=0.1)
    array([0.175])
    """
    alpha = check_nonneg_scalar(alpha, "alpha")
    xp, X, D = check_signals_dictionary(X, dictionary)
    Z = _check_codes(codes, X, D, xp)
    R = X - Z @ D
    return 0.5 * xp.sum(R * R, axis=1) + alpha * xp.sum(xp.abs(Z), axis=1)


def lasso_duality_gap(
    X: Any, dictionary: Any, codes: Any, *, alpha: float, positive: bool = False
) -> Any:
    """Duality gap of the lasso at ``codes``, per sample: ≥ 0, and 0 exactly at a solution.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    dictionary : array of shape (n_atoms, n_features)
    codes : array of shape (n_samples, n_atoms)
    alpha : float >= 0
    positive : bool
        Gap of the non-negative lasso (codes constrained to be ≥ 0).

    Returns
    -------
    array of shape (n_samples,)

    Notes
    -----
    See the module docstring: ``θ = α r / max(α, ‖r Dᵀ‖_∞)`` is dual feasible and
    ``gap = F(z) − (½‖x‖² − ½‖x − θ‖²)``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(2); X = np.array([[1.0, -0.05]])
    >>> Z = np.array([[0.9, 0.0]])            # the exact solution for alpha = 0.1
    >>> float(lasso_duality_gap(X, D, Z, alpha=0.1)[0]) < 1e-15
    True
    """
    alpha = check_nonneg_scalar(alpha, "alpha")
    xp, X, D = check_signals_dictionary(X, dictionary)
    Z = _check_codes(codes, X, D, xp)
    return gap_direct(X, D, Z, alpha, positive, xp)[1]


def _check_codes(codes: Any, X: Any, D: Any, xp: ModuleType) -> Any:
    return check_array(codes, "codes", like=X, shape=(X.shape[0], D.shape[0]))


def lipschitz_constant(dictionary: Any, *, method: str = "auto") -> float:
    """Lipschitz constant ``L = ‖D‖₂²`` of the gradient of ``½‖x − z D‖²``.

    Computed exactly from the smaller Gram matrix, or by power iteration for large
    dictionaries (see :func:`dictlearn._linalg.spectral_norm_sq`).

    Examples
    --------
    >>> import numpy as np
    >>> round(lipschitz_constant(np.array([[3.0, 0.0], [0.0, 1.0]])), 6)
    9.0
    """
    xp = get_namespace(dictionary)
    return spectral_norm_sq(dictionary, xp=xp, method=method)
