"""Reference twins of the online learner's kernels (Array-API code, every backend).

- ``code_statistics``: ``(β A + ZᵀZ, β B + ZᵀX)``, the sufficient statistics of a mini-batch;
- ``codes_times_dictionary``: ``Z D`` (the reconstruction in the objective);
- ``sample_objective``: the per-sample objective ``½‖x − zD‖² + α·pen(z)`` of the codes
  (:func:`dictlearn.objectives.sample_objective`; the numba twin in one pass over the
  non-zeros, without forming ``Z D``);
- ``online_bcd``: one or more block-coordinate-descent sweeps over the atoms on the surrogate
  ``½ tr(DᵀAD) − tr(DᵀB)`` (Mairal et al. 2010, Algorithm 2).

With ``s`` non-zeros per code the numba twins of the first two cost ``n s²`` and ``n s m``
instead of ``n k²`` and ``n k m``; ``engine="auto"`` uses them only for sparse codes (under
30% non-zeros, :func:`sparse_codes`).

Examples
--------
>>> import numpy as np
>>> A, B = code_statistics(np.eye(2), np.zeros((2, 2)), np.array([[1.0, 0.0], [0.0, 2.0]]),
...                        np.eye(2), beta=0.5, xp=np)
>>> A
array([[1.5, 0. ],
       [0. , 4.5]])
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from . import register_kernel

__all__ = ["code_statistics", "codes_times_dictionary", "online_bcd", "sample_objective",
           "sparse_codes"]


#: Rows of the codes that :func:`sparse_codes` counts (evenly spaced; all when fewer).
SPARSITY_ROWS = 64


def sparse_codes(position: int) -> Callable[..., bool]:
    """The ``engine="auto"`` rule: the codes (argument ``position``) are under 30% non-zeros,
    counted on at most :data:`SPARSITY_ROWS` evenly spaced rows (a mini-batch's count costs
    as much as the sparse kernel otherwise)."""

    def rule(*arrays: Any) -> bool:
        Z = arrays[position]
        if Z.ndim == 2 and Z.shape[0] > SPARSITY_ROWS:
            Z = Z[:: Z.shape[0] // SPARSITY_ROWS]
        return Z.size > 0 and np.count_nonzero(Z != 0) < 0.3 * Z.size  # (a bool mask: 3x faster)

    return rule


@register_kernel("code_statistics", "reference")
def code_statistics(A: Any, B: Any, Z: Any, X: Any, *, beta: float,
                    xp: ModuleType) -> tuple[Any, Any]:
    """``(β A + ZᵀZ, β B + ZᵀX)`` without modifying ``A`` or ``B``."""
    Zt = xp.matrix_transpose(Z)
    return beta * A + Zt @ Z, beta * B + Zt @ X


@register_kernel("codes_times_dictionary", "reference")
def codes_times_dictionary(Z: Any, D: Any, *, xp: ModuleType) -> Any:
    """``Z D``."""
    return Z @ D


@register_kernel("sample_objective", "reference")
def sample_objective(X: Any, D: Any, Z: Any, *, alpha: float, penalty: str, sigma: float,
                     xp: ModuleType) -> Any:
    """``½‖x − zD‖² + α·pen(z)`` per sample (:func:`dictlearn.objectives.sample_objective`)."""
    from ..objectives import sample_objective as objective

    return objective(X, D, Z, alpha=alpha, xp=xp, penalty=penalty, sigma=sigma)


def bcd_thresholds(diag: Any, dtype: Any, xp: Any) -> tuple[float, float]:
    """``(thresh, tiny)``: atoms with ``A_jj <= thresh`` are unused; ``tiny`` the smallest norm."""
    fi = xp.finfo(dtype)
    scale = float(xp.max(diag)) if diag.shape[0] else 0.0
    tiny = float(fi.smallest_normal)
    return 1e3 * float(fi.eps) * max(scale, tiny), tiny


@register_kernel("online_bcd", "reference")
def online_bcd(D: Any, A: Any, B: Any, *, constraint: str, positive: bool, n_passes: int,
               xp: ModuleType) -> Any:
    """Block-coordinate descent over the atoms; ``D`` is not modified."""
    D = D + 0.0
    diag = xp.linalg.diagonal(A)
    thresh, tiny = bcd_thresholds(diag, D.dtype, xp)
    for _ in range(n_passes):
        for j in range(D.shape[0]):
            ajj = float(diag[j])
            if ajj <= thresh:
                continue  # unused atom: left to the dead-atom policy
            u = D[j, :] + (B[j, :] - A[j, :] @ D) / ajj
            if positive:
                u = xp.maximum(u, 0.0)
            nu = float(xp.linalg.vector_norm(u))
            if constraint == "sphere":
                if nu <= tiny:
                    continue
                u = u / nu
            elif nu > 1.0:
                u = u / nu
            D[j, :] = u
    return D
