r"""Objectives, duality gaps, Lipschitz constants, losses and sparsity penalties.

The lasso objective per sample ``x`` (a row of ``X``) with codes ``z`` (a row of ``Z``) is

.. math:: F(z) = \tfrac12 \|x - z D\|_2^2 + \alpha \|z\|_1 ,

the quantity scikit-learn's ``sparse_encode(..., algorithm="lasso_lars", alpha=alpha)`` and
SPAMS' ``lasso(lambda1=alpha)`` both minimise (scikit-learn's ``Lasso`` estimator instead divides
the quadratic by ``n_features``). With ``r = x − zD`` and ``c = r Dᵀ``, the point
``θ = s·r`` with ``s = α / max(α, ‖c‖_∞)`` is dual feasible, and the duality gap
``F(z) − (½‖x‖² − ½‖x − θ‖²) = F(z) − (s x·r − ½ s²‖r‖²)`` is ≥ 0 and vanishes exactly at
a solution. With ``positive=True`` (codes ≥ 0) the dual constraint is one-sided,
``max_j c_j ≤ α``.

The losses and penalties of training (LISTA, sparse autoencoders) return ``(value, gradient)``:
the value a Python float averaged over the batch's rows, the gradient with respect to the codes
(or the reconstruction) an array of the same shape; each function's docstring gives both.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ._linalg import spectral_norm_sq
from ._validation import check_array, check_nonneg_scalar, check_signals_dictionary
from ._xp import get_namespace

__all__ = ["cauchy_penalty", "cauchy_prior_grad", "code_mse", "gap_direct", "gap_gram",
           "gap_residual",
           "kl_penalty", "l1_penalty", "lasso_duality_gap", "lasso_loss", "lasso_objective",
           "lifetime_penalty", "lipschitz_constant", "nmse", "reconstruction_loss",
           "sample_objective"]

#: Penalties :func:`sample_objective` knows: ``‖z‖₁``, ``Σ log(1 + (z/σ)²)``, none.
PENALTIES = ("l1", "cauchy", "l0")


def _objective_terms(rr: Any, pen: Any, alpha: float) -> Any:
    """The per-sample objective ``½‖r‖² + α·pen(z)`` from ``‖r‖²`` and ``pen(z)``."""
    return 0.5 * rr + alpha * pen


def _cauchy_rows(Z: Any, sigma: float, xp: ModuleType) -> Any:
    return xp.sum(xp.log1p((Z / sigma) ** 2), axis=1)


def sample_objective(X: Any, D: Any, Z: Any, *, alpha: float, xp: ModuleType, penalty: str = "l1",
                     sigma: float = 1.0, ZD: Any = None) -> Any:
    """``½‖x − z D‖² + α·pen(z)`` per sample, on validated arrays (no checks).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    D : array of shape (n_atoms, n_features)
    Z : array of shape (n_samples, n_atoms)
    alpha : float
    penalty : {"l1", "cauchy", "l0"}, default="l1"
        ``‖z‖₁``; ``Σ_j log(1 + (z_j/σ)²)`` (Olshausen & Field's Cauchy prior); or none
        (``"l0"``: greedy codes are scored by their residual alone).
    sigma : float, default=1.0
        Scale of the Cauchy penalty.
    ZD : array of shape (n_samples, n_features), optional
        A precomputed ``Z @ D`` (e.g. from a sparse product kernel).

    Examples
    --------
    >>> import numpy as np
    >>> sample_objective(np.array([[1.0, 0.0]]), np.eye(2), np.array([[0.5, 0.0]]),
    ...                  alpha=0.1, xp=np)
    array([0.175])
    """
    R = X - (Z @ D if ZD is None else ZD)
    rr = xp.sum(R * R, axis=1)
    if penalty == "l1":
        return _objective_terms(rr, xp.sum(xp.abs(Z), axis=1), alpha)
    if penalty == "cauchy":
        return _objective_terms(rr, _cauchy_rows(Z, sigma, xp), alpha)
    if penalty == "l0":
        return 0.5 * rr
    raise ValueError(f"penalty must be one of {list(PENALTIES)}; got {penalty!r}")


def _gap_terms(rr: Any, xr: Any, Z: Any, cmax: Any, alpha: float, xp: ModuleType):
    """Primal value and duality gap from per-sample ``‖r‖²``, ``x·r``, the codes, ``max c``."""
    F = _objective_terms(rr, xp.sum(xp.abs(Z), axis=1), alpha)
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


def gap_residual(X: Any, R: Any, C: Any, Z: Any, alpha: float, positive: bool,
                 xp: ModuleType):
    """``(F, gap)`` per sample from the residual ``R = X − A(Z)`` and ``C = Aᵀ(R)`` of any
    linear operator ``A`` (a dictionary, a convolution): all arrays 2-D, one row per sample
    (flatten the other axes)."""
    rr = xp.sum(R * R, axis=1)
    return _gap_terms(rr, xp.sum(X * R, axis=1), Z, _corr_max(C, positive, xp), alpha, xp)


def gap_direct(X: Any, D: Any, Z: Any, alpha: float, positive: bool, xp: ModuleType):
    """``(F, gap)`` per sample from the residual ``R = X − Z D`` (direct form)."""
    R = X - Z @ D
    return gap_residual(X, R, R @ xp.matrix_transpose(D), Z, alpha, positive, xp)


def gap_gram(xx: Any, XDt: Any, G: Any, Z: Any, alpha: float, positive: bool, xp: ModuleType):
    """``(F, gap)`` per sample in the Gram domain, from ``‖x‖²``, ``X Dᵀ`` and ``G = D Dᵀ``.

    ``‖r‖² = ‖x‖² − 2 z·(x Dᵀ) + z G zᵀ`` and ``c = x Dᵀ − z G``: no residual is formed.
    """
    ZG = Z @ G
    zc = xp.sum(Z * XDt, axis=1)
    rr = xp.maximum(xx - 2.0 * zc + xp.sum(Z * ZG, axis=1), 0.0)
    return _gap_terms(rr, xx - zc, Z, _corr_max(XDt - ZG, positive, xp), alpha, xp)


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
    alpha, xp, X, D, Z = _checked(X, dictionary, codes, alpha)
    return sample_objective(X, D, Z, alpha=alpha, xp=xp)


def lasso_duality_gap(X: Any, dictionary: Any, codes: Any, *, alpha: float,
                      positive: bool = False) -> Any:
    """Duality gap of the lasso at ``codes``, per sample: ≥ 0, and 0 exactly at a solution.

    Parameters
    ----------
    X, dictionary, codes, alpha
        As in :func:`lasso_objective`.
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
    alpha, xp, X, D, Z = _checked(X, dictionary, codes, alpha)
    return gap_direct(X, D, Z, alpha, positive, xp)[1]


def _checked(X: Any, dictionary: Any, codes: Any, alpha: Any) -> tuple:
    alpha = check_nonneg_scalar(alpha, "alpha")
    xp, X, D = check_signals_dictionary(X, dictionary)
    return alpha, xp, X, D, check_array(codes, "codes", like=X, shape=(X.shape[0], D.shape[0]))


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


def reconstruction_loss(X: Any, X_hat: Any, *, xp: ModuleType,
                        host: bool = True) -> tuple[float, Any]:
    """``(1/2n) Σ‖x − x̂‖²`` and its gradient ``(x̂ − x)/n`` with respect to ``x̂``.

    With ``host=False`` the value is a 0-d array of ``xp`` (no host synchronisation; so for the
    losses below).

    Examples
    --------
    >>> import numpy as np
    >>> reconstruction_loss(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), xp=np)[0]
    0.5
    """
    n = X.shape[0]
    E = X_hat - X
    ss = xp.sum(E * E)
    return (0.5 * float(ss) / n if host else ss * (0.5 / n)), E / n


def code_mse(Z: Any, Z_target: Any, *, xp: ModuleType, host: bool = True) -> tuple[float, Any]:
    """``(1/2n) Σ‖z − z*‖²`` and its gradient ``(z − z*)/n``."""
    return reconstruction_loss(Z_target, Z, xp=xp, host=host)


def nmse(Z: Any, Z_target: Any, *, xp: ModuleType, host: bool = True) -> tuple[float, Any]:
    """Normalised squared error ``Σ‖z − z*‖² / Σ‖z*‖²`` (linear; ``10 log10`` of it is the
    NMSE in dB of Chen et al. 2018) and its gradient (``host=False``: all-zero targets give a
    non-finite value instead of the error)."""
    ref = xp.sum(Z_target * Z_target)
    if host:
        ref = float(ref)
        if ref == 0.0:
            raise ValueError("Z_target is all zeros: the NMSE is undefined")
    E = Z - Z_target
    ss = xp.sum(E * E)
    return (float(ss) / ref if host else ss / ref), (2.0 / ref) * E


def lasso_loss(X: Any, Z: Any, D: Any, alpha: float, *, xp: ModuleType,
               host: bool = True) -> tuple[float, Any]:
    """Mean lasso objective ``(1/n) Σ ½‖x − zD‖² + α‖z‖₁`` and its (sub)gradient in ``z``
    (``sign(0) = 0``): the unsupervised loss of LISTA (Ablin et al. 2019)."""
    n = X.shape[0]
    R = Z @ D - X
    F = _objective_terms(xp.sum(R * R, axis=1), xp.sum(xp.abs(Z), axis=1), alpha)
    total = xp.sum(F)
    grad = (R @ xp.matrix_transpose(D) + alpha * xp.sign(Z)) / n
    return (float(total) / n if host else total / n), grad


def l1_penalty(Z: Any, weight: float, *, xp: ModuleType) -> tuple[float, Any]:
    """``(λ/n) Σ|z|`` and its (sub)gradient ``λ sign(z)/n``."""
    n = Z.shape[0]
    return weight * float(xp.sum(xp.abs(Z))) / n, (weight / n) * xp.sign(Z)


def cauchy_prior_grad(Z: Any, sigma: float, *, xp: ModuleType) -> Any:
    """Elementwise derivative ``2z/(σ² + z²)`` of the Cauchy penalty ``log(1 + (z/σ)²)``."""
    return 2.0 * Z / (sigma * sigma + Z * Z)


def cauchy_penalty(Z: Any, weight: float, *, sigma: float = 1.0,
                   xp: ModuleType) -> tuple[float, Any]:
    """``(λ/n) Σ log(1 + (z/σ)²)`` (the sparse prior of Olshausen & Field 1996) and its
    gradient ``λ·2z/(σ² + z²)/n``.

    Examples
    --------
    >>> import numpy as np
    >>> round(cauchy_penalty(np.array([[1.0, 0.0]]), 1.0, xp=np)[0], 6)   # log 2
    0.693147
    """
    n = Z.shape[0]
    val = weight * float(xp.sum(_cauchy_rows(Z, sigma, xp))) / n
    return val, (weight / n) * cauchy_prior_grad(Z, sigma, xp=xp)


def kl_penalty(Z: Any, rho: float, weight: float, *, xp: ModuleType, rho_hat: Any = None,
               momentum: float = 0.0, eps: float = 1e-6) -> tuple[float, Any, Any]:
    r"""KL sparsity penalty of Ng's sparse-autoencoder notes, with a running mean activation.

    .. math:: \beta \sum_j \rho\log\frac{\rho}{\hat\rho_j}
              + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}

    Parameters
    ----------
    Z : array of shape (n, n_atoms)
        Activations in (0, 1) (sigmoid units).
    rho : float in (0, 1)
        Target mean activation.
    weight : float
        ``β``.
    rho_hat : array of shape (n_atoms,), optional
        Running estimate of each unit's mean activation; the batch mean when None.
    momentum : float in [0, 1)
        ``ρ̂ ← m ρ̂ + (1 − m) mean_batch(z)``. Ng's notes compute ``ρ̂`` over the whole
        training set; with mini-batches the running average stands in for it.

    Returns
    -------
    value, gradient with respect to ``Z``, the updated ``ρ̂``

    Notes
    -----
    The gradient is ``β(−ρ/ρ̂_j + (1 − ρ)/(1 − ρ̂_j))/n`` for every row, evaluated at the
    running ``ρ̂`` (Ng's "sparsity delta"); with ``momentum=0`` it is the exact gradient of
    the penalty at the batch mean.

    Examples
    --------
    >>> import numpy as np
    >>> v, g, r = kl_penalty(np.full((4, 2), 0.1), 0.1, 3.0, xp=np)
    >>> round(v, 12), float(np.abs(g).max()) < 1e-12
    (0.0, True)
    """
    n = Z.shape[0]
    batch = xp.mean(Z, axis=0)
    r = batch if rho_hat is None else momentum * rho_hat + (1.0 - momentum) * batch
    r = xp.clip(r, eps, 1.0 - eps)
    val = weight * float(
        xp.sum(rho * xp.log(rho / r) + (1.0 - rho) * xp.log((1.0 - rho) / (1.0 - r)))
    )
    d = weight * (-rho / r + (1.0 - rho) / (1.0 - r)) / n
    return val, xp.broadcast_to(d[None, :], Z.shape), r


def lifetime_penalty(Z: Any, weight: float, *, xp: ModuleType) -> tuple[float, Any]:
    r"""Lifetime sparsity penalty: ``λ Σ_j a_j`` with the Treves–Rolls activity ratio
    ``a_j = (Σ_i z_ij/n)² / (Σ_i z_ij²/n)`` of each unit over the batch.

    ``a_j ∈ (0, 1]`` for non-negative activities: 1 when the unit responds equally to every
    sample, ``1/n`` when it responds to one. Units that never respond count 0.

    Notes
    -----
    With ``m₁ = Σ_i z_i/n``, ``m₂ = Σ_i z_i²/n``:
    :math:`\partial a/\partial z_i = \tfrac{2}{n m_2}(m_1 - a z_i)`.

    References
    ----------
    Treves & Rolls (1991), Network 2; Willmore & Tolhurst (2001), Network 12.

    Examples
    --------
    >>> import numpy as np
    >>> round(lifetime_penalty(np.array([[1.0], [0.0], [0.0], [0.0]]), 1.0, xp=np)[0], 6)
    0.25
    """
    n = Z.shape[0]
    m1 = xp.mean(Z, axis=0)
    m2 = xp.mean(Z * Z, axis=0)
    tiny = float(xp.finfo(Z.dtype).smallest_normal)
    live = m2 > tiny
    safe = xp.where(live, m2, xp.ones_like(m2))
    a = xp.where(live, m1 * m1 / safe, xp.zeros_like(m2))
    g = (2.0 / n) * (m1[None, :] - a[None, :] * Z) / safe[None, :]
    g = xp.where(live[None, :], g, xp.zeros_like(g))
    return weight * float(xp.sum(a)), weight * g
