"""Linear algebra the array-API standard lacks, in one place.

Native calls first (SciPy for NumPy, cupyx for CuPy), a generic array-API fallback otherwise.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._xp import check_random_state, is_cupy, is_numpy

__all__ = ["cholesky", "solve_triangular", "spectral_norm_sq"]


def gram(D: Any, xp: ModuleType) -> Any:
    """``G = D Dᵀ`` (n_atoms, n_atoms), the atoms' inner products."""
    return D @ xp.matrix_transpose(D)


def spectral_norm_sq(D: Any, *, xp: ModuleType, method: str = "auto", n_iter: int = 100,
                     rtol: float = 1e-7, random_state: Any = 0) -> float:
    """Largest eigenvalue of ``D Dᵀ`` (= ``‖D‖₂²``), the Lipschitz constant of ``∇ ½‖X − Z D‖²``.

    Parameters
    ----------
    D : array of shape (n_atoms, n_features)
    method : {"auto", "eigh", "power"}
        ``"eigh"`` computes the exact value from the smaller Gram matrix; ``"power"`` runs
        power iteration on it, and returns the Rayleigh quotient enlarged by the residual bound
        ``‖G v − λ v‖`` so that the value is an upper bound of ``λ_max`` (a step ``1/L`` then
        never exceeds the convergent range). ``"auto"`` uses ``eigh`` up to 2048 on the smaller
        side and power iteration beyond.
    """
    n_atoms, n_features = D.shape
    small = xp.matrix_transpose(D) @ D if n_features < n_atoms else gram(D, xp)
    m = small.shape[0]
    if method == "auto":
        method = "eigh" if m <= 2048 else "power"
    if method == "eigh":
        if is_numpy(xp):
            return float(np.linalg.eigvalsh(np.asarray(small))[-1])
        return float(xp.max(xp.linalg.eigvalsh(small)))
    if method != "power":
        raise ValueError(f"method must be 'auto', 'eigh' or 'power'; got {method!r}")
    rng = check_random_state(random_state)
    v = xp.asarray(rng.standard_normal(m), dtype=D.dtype, device=getattr(D, "device", None))
    v = v / xp.linalg.vector_norm(v)
    lam = 0.0
    for _ in range(n_iter):
        w = small @ v
        lam_new = float(xp.vecdot(v, w))
        res = float(xp.linalg.vector_norm(w - lam_new * v))
        nw = xp.linalg.vector_norm(w)
        if float(nw) == 0.0:
            return 0.0
        v = w / nw
        if abs(lam_new - lam) <= rtol * abs(lam_new):
            lam = lam_new
            break
        lam = lam_new
    # Rayleigh quotient plus the residual norm bounds the nearest eigenvalue; the largest
    # is at most lam + res only when v is close to its eigenvector, so pad by a small factor.
    return (lam + res) * (1.0 + 1e-3)


def cholesky(A: Any, *, xp: ModuleType) -> Any:
    """Lower Cholesky factor of a symmetric positive definite matrix (batched allowed)."""
    if is_numpy(xp):
        return np.linalg.cholesky(np.asarray(A))
    return xp.linalg.cholesky(A)


def solve_triangular(L: Any, B: Any, *, lower: bool = True, trans: bool = False,
                     xp: ModuleType) -> Any:
    """Solve ``L Y = B`` (or ``Lᵀ Y = B`` with ``trans``) for triangular ``L``."""
    if is_numpy(xp):
        import scipy.linalg

        return scipy.linalg.solve_triangular(
            np.asarray(L), np.asarray(B), lower=lower, trans=1 if trans else 0,
            check_finite=False,
        )
    if is_cupy(xp):
        import cupyx.scipy.linalg

        return cupyx.scipy.linalg.solve_triangular(L, B, lower=lower, trans=1 if trans else 0)
    M = xp.matrix_transpose(L) if trans else L
    return xp.linalg.solve(M, B)


def cho_solve(L: Any, B: Any, *, xp: ModuleType) -> Any:
    """Solve ``A Y = B`` given the lower Cholesky factor ``L`` of ``A``."""
    Y = solve_triangular(L, B, lower=True, xp=xp)
    return solve_triangular(L, Y, lower=True, trans=True, xp=xp)
