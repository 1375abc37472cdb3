"""Proximal maps and projections, written once in array-API code.

Each prox acts row-wise on codes ``Z`` (n_samples, n_atoms) and takes a threshold ``theta``
(a scalar, or an array broadcastable against ``Z``: per atom for LISTA, per sample for
per-sample step sizes). They are pure: inputs are never modified.

The registry :data:`PROXES` maps names to maps ``prox(Z, theta, *, xp)`` so that solvers,
LISTA layers and autoencoder encoders select them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from ._xp import get_namespace

__all__ = [
    "PROXES",
    "hard_threshold",
    "nonneg_soft_threshold",
    "project_nonneg",
    "project_unit_ball_rows",
    "project_unit_sphere_rows",
    "soft_threshold",
    "top_k",
]


def soft_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    r"""Soft threshold, the prox of ``θ‖·‖₁``: ``sign(z) · max(|z| − θ, 0)``.

    Parameters
    ----------
    Z : array of shape (n_samples, n_atoms)
    theta : float or array broadcastable to ``Z``, >= 0

    Returns
    -------
    array of shape (n_samples, n_atoms)

    Notes
    -----
    :math:`\operatorname{prox}_{\theta\|\cdot\|_1}(z)
    = \arg\min_u \tfrac12\|u - z\|^2 + \theta\|u\|_1`.
    It is firmly non-expansive: ``‖p(a) − p(b)‖² ≤ ⟨p(a) − p(b), a − b⟩``.

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[-1.,  0.,  2.]])
    """
    xp = xp or get_namespace(Z)
    if isinstance(theta, (int, float)):
        # z − clip(z, −θ, θ): two passes over Z instead of four (sign, abs, max, product)
        return Z - xp.clip(Z, -theta, theta)
    return xp.sign(Z) * xp.maximum(xp.abs(Z) - theta, 0.0)


def nonneg_soft_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    """One-sided soft threshold, the prox of ``θ‖·‖₁ + ι(z ≥ 0)``: ``max(z − θ, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> nonneg_soft_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[0., 0., 2.]])
    """
    xp = xp or get_namespace(Z)
    return xp.maximum(Z - theta, 0.0)


def hard_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    """Hard threshold: keep entries with ``|z| > θ``, zero the rest.

    It is the prox of ``(θ²/2)‖·‖₀``.

    Examples
    --------
    >>> import numpy as np
    >>> hard_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[-2.,  0.,  3.]])
    """
    xp = xp or get_namespace(Z)
    return xp.where(xp.abs(Z) > theta, Z, xp.zeros_like(Z))


def top_k_mask(Z: Any, k: int, *, xp: ModuleType | None = None, positive: bool = False) -> Any:
    """Boolean mask of the ``k`` largest entries of each row (by magnitude, or by value when
    ``positive``). Ties are broken by the lower index, so exactly ``k`` entries are kept."""
    xp = get_namespace(Z)  # argsort's descending/stable need the standard's signature
    n_atoms = Z.shape[-1]
    if not 0 <= k <= n_atoms:
        raise ValueError(f"k must be in [0, n_atoms={n_atoms}]; got {k}")
    key = Z if positive else xp.abs(Z)
    order = xp.argsort(key, axis=-1, descending=True, stable=True)
    ranks = xp.argsort(order, axis=-1, stable=True)
    return ranks < k


def top_k(Z: Any, k: int, *, xp: ModuleType | None = None, positive: bool = False) -> Any:
    """Keep the ``k`` largest-magnitude entries of each row, zero the others.

    This is the projection onto ``{z : ‖z‖₀ ≤ k}`` (the prox of its indicator). With
    ``positive=True`` the ``k`` largest values are kept and negatives are zeroed: the
    projection onto k-sparse non-negative vectors.

    Examples
    --------
    >>> import numpy as np
    >>> top_k(np.array([[-3.0, 1.0, 2.0, 0.5]]), 2)
    array([[-3.,  0.,  2.,  0.]])
    """
    xp = get_namespace(Z)
    mask = top_k_mask(Z, k, xp=xp, positive=positive)
    out = xp.where(mask, Z, xp.zeros_like(Z))
    if positive:
        out = xp.maximum(out, 0.0)
    return out


def project_nonneg(Z: Any, *, xp: ModuleType | None = None) -> Any:
    """Projection onto the non-negative orthant."""
    xp = xp or get_namespace(Z)
    return xp.maximum(Z, 0.0)


def _row_norms(D: Any, xp: ModuleType) -> Any:
    return xp.linalg.vector_norm(D, axis=-1, keepdims=True)


def project_unit_ball_rows(D: Any, *, xp: ModuleType | None = None) -> Any:
    """Project each row (atom) onto the unit ball ``‖d‖₂ ≤ 1``.

    Examples
    --------
    >>> import numpy as np
    >>> project_unit_ball_rows(np.array([[3.0, 4.0], [0.3, 0.4]]))
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    xp = xp or get_namespace(D)
    return D / xp.maximum(_row_norms(D, xp), 1.0)


def project_unit_sphere_rows(D: Any, *, xp: ModuleType | None = None) -> Any:
    """Normalise each row (atom) to unit Euclidean norm; zero rows stay zero."""
    xp = xp or get_namespace(D)
    n = _row_norms(D, xp)
    return D / xp.where(n > 0, n, xp.ones_like(n))


#: Name → prox map ``prox(Z, theta, *, xp)``.
PROXES: dict[str, Callable[..., Any]] = {
    "soft": soft_threshold,
    "nonneg_soft": nonneg_soft_threshold,
    "hard": hard_threshold,
}


def get_prox(name: str) -> Callable[..., Any]:
    """Look up a prox by name, with a clear error for unknown names."""
    try:
        return PROXES[name]
    except KeyError:
        raise ValueError(f"prox must be one of {sorted(PROXES)}; got {name!r}") from None
