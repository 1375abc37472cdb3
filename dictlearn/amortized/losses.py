r"""Losses and sparsity penalties of amortized inference, each with its gradient.

Every function returns ``(value, gradient)`` with the value a Python float averaged over the
``n`` rows of the batch, and the gradient with respect to the codes (or the reconstruction)
an array of the same shape. They are shared by LISTA and the sparse autoencoders.

- reconstruction: ``(1/2n) Σ ‖x − x̂‖²``, gradient ``(x̂ − x)/n``;
- code MSE: ``(1/2n) Σ ‖z − z*‖²``, gradient ``(z − z*)/n``;
- NMSE: ``Σ ‖z − z*‖² / Σ ‖z*‖²``, gradient ``2(z − z*)/Σ‖z*‖²``;
- lasso: ``(1/n) Σ ½‖x − zD‖² + α‖z‖₁``, gradient ``((zD − x)Dᵀ + α sign z)/n``;
- L1: ``(λ/n) Σ |z|``, gradient ``λ sign(z)/n``;
- KL: ``β Σ_j KL(ρ ‖ ρ̂_j)``, gradient ``β(−ρ/ρ̂_j + (1−ρ)/(1−ρ̂_j))/n``;
- lifetime: ``λ Σ_j (Σ_i z_ij/n)² / (Σ_i z_ij²/n)``, see :func:`lifetime_penalty`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = [
    "code_mse",
    "kl_penalty",
    "l1_penalty",
    "lasso_loss",
    "lifetime_penalty",
    "nmse",
    "reconstruction_loss",
]


def reconstruction_loss(X: Any, X_hat: Any, *, xp: ModuleType) -> tuple[float, Any]:
    """``(1/2n) Σ‖x − x̂‖²`` and its gradient ``(x̂ − x)/n`` with respect to ``x̂``.

    Examples
    --------
    >>> import numpy as np
    >>> reconstruction_loss(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), xp=np)[0]
    0.5
    """
    n = X.shape[0]
    E = X_hat - X
    return 0.5 * float(xp.sum(E * E)) / n, E / n


def code_mse(Z: Any, Z_target: Any, *, xp: ModuleType) -> tuple[float, Any]:
    """``(1/2n) Σ‖z − z*‖²`` and its gradient ``(z − z*)/n``."""
    return reconstruction_loss(Z_target, Z, xp=xp)


def nmse(Z: Any, Z_target: Any, *, xp: ModuleType) -> tuple[float, Any]:
    """Normalised squared error ``Σ‖z − z*‖² / Σ‖z*‖²`` (linear; ``10 log10`` of it is the
    NMSE in dB of Chen et al. 2018) and its gradient."""
    ref = float(xp.sum(Z_target * Z_target))
    if ref == 0.0:
        raise ValueError("Z_target is all zeros: the NMSE is undefined")
    E = Z - Z_target
    return float(xp.sum(E * E)) / ref, (2.0 / ref) * E


def lasso_loss(X: Any, Z: Any, D: Any, alpha: float, *, xp: ModuleType) -> tuple[float, Any]:
    """Mean lasso objective ``(1/n) Σ ½‖x − zD‖² + α‖z‖₁`` and its (sub)gradient in ``z``
    (``sign(0) = 0``): the unsupervised loss of LISTA (Ablin et al. 2019)."""
    n = X.shape[0]
    R = Z @ D - X
    val = (0.5 * float(xp.sum(R * R)) + alpha * float(xp.sum(xp.abs(Z)))) / n
    return val, (R @ xp.matrix_transpose(D) + alpha * xp.sign(Z)) / n


def l1_penalty(Z: Any, weight: float, *, xp: ModuleType) -> tuple[float, Any]:
    """``(λ/n) Σ|z|`` and its (sub)gradient ``λ sign(z)/n``."""
    n = Z.shape[0]
    return weight * float(xp.sum(xp.abs(Z))) / n, (weight / n) * xp.sign(Z)


def kl_penalty(
    Z: Any,
    rho: float,
    weight: float,
    *,
    xp: ModuleType,
    rho_hat: Any = None,
    momentum: float = 0.0,
    eps: float = 1e-6,
) -> tuple[float, Any, Any]:
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
