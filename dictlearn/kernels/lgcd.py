r"""Locally greedy coordinate descent (LGCD) for convolutional sparse coding: the reference
kernel (host NumPy), one block of passes over the segments.

Per signal, with activations ``z`` (n_atoms, n_times_valid), the correlations with the residual
``c = 𝒟ᵀ(x − 𝒟z)`` (same shape) and the residual ``r = x − 𝒟z`` (n_channels, n_times), the
exact minimiser of the lasso along coordinate ``(k, t)`` is

.. math:: z'_k[t] = \frac{S_\alpha\big(c_k[t] + \|d_k\|^2 z_k[t]\big)}{\|d_k\|^2}

(the one-sided threshold ``max(u − α, 0)`` with ``positive``). The time axis is split into
segments of ``seg_len`` samples; in each segment the coordinate whose update
``Δ = z' − z`` is largest in magnitude is updated, then ``c`` and ``r`` change only near ``t``:

.. math:: c_j[t + s] \mathrel{-}= \Delta\, H[k, j, s + L - 1],\quad |s| \le L - 1, \qquad
          r_{\cdot}[t:t + L] \mathrel{-}= \Delta\, d_k ,

with ``H[k, j, s + L − 1] = Σ_c Σ_l d_{k,c}[l + s] d_{j,c}[l]`` the atoms' cross-correlation
table (Moreau, Gramfort & Oudre 2018). A segment whose best ``|Δ|`` is ``≤ thr`` (a threshold
per signal) is marked inactive and skipped until an update in a neighbouring segment reaches
it; one pass visits every active segment once. When a pass updates nothing, the signal's
threshold is divided by ten (set to 0 below ``thr_min``) and every segment is reactivated:
large updates come first and the work goes where the codes still move. The numba twin
(:mod:`dictlearn.kernels.lgcd_numba`) does the same updates in the same order (no fused
multiply-adds), so both produce the same iterates.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from . import register_kernel

__all__ = ["lgcd_passes"]


@register_kernel("lgcd_passes", "reference")
def lgcd_passes(D: Any, H: Any, Z: Any, C: Any, R: Any, active: Any, *, alpha: float,
                positive: bool, n_passes: int, thr: Any, thr_min: float, seg_len: int,
                xp: ModuleType | None = None) -> tuple[Any, Any, Any, Any, Any]:
    """Run ``n_passes`` LGCD passes on every signal, updating ``Z``, ``C``, ``R``,
    ``active`` and ``thr`` in place (host NumPy arrays, the caller's working copies).

    Parameters
    ----------
    D : ndarray (n_atoms, n_channels, atom_length)
    H : ndarray (n_atoms, n_atoms, 2 atom_length − 1)
        The cross-correlation table (see the module docstring).
    Z : ndarray (n, n_atoms, n_times_valid)
    C : ndarray (n, n_atoms, n_times_valid)
        ``𝒟ᵀ(x − 𝒟z)`` per signal.
    R : ndarray (n, n_channels, n_times)
        ``x − 𝒟z`` per signal.
    active : ndarray (n, n_segments) of bool
    thr : ndarray (n,)
        Per signal, the change below which a segment goes inactive.
    alpha, positive, thr_min, seg_len
        The penalty, the sign constraint, the smallest nonzero threshold and the segment
        length.
    n_passes : int
        A signal stops early when a pass with ``thr = 0`` moves nothing.

    Returns
    -------
    Z, C, R, active, moved
        The updated arrays and, per signal, the largest ``|Δ|`` of its last pass.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.ones((1, 1, 1)); H = np.ones((1, 1, 1))
    >>> X = np.array([[[2.0, -0.5, 1.0]]]); Z = np.zeros((1, 1, 3))
    >>> out = lgcd_passes(D, H, Z, X.copy(), X.copy(), np.ones((1, 3), bool), alpha=0.6,
    ...                   positive=False, n_passes=5, thr=np.zeros(1), thr_min=0.0, seg_len=1)
    >>> out[0]
    array([[[1.4, 0. , 0.4]]])
    """
    n, K, Tv = Z.shape
    L = D.shape[2]
    nk = np.array([H[k, k, L - 1] for k in range(K)], dtype=Z.dtype)[:, None]
    n_seg = active.shape[1]
    moved = np.zeros(n, dtype=Z.dtype)
    for i in range(n):
        for _ in range(n_passes):
            best_pass = 0.0
            for s in range(n_seg):
                if not active[i, s]:
                    continue
                lo, hi = s * seg_len, min((s + 1) * seg_len, Tv)
                z = Z[i, :, lo:hi]
                u = C[i, :, lo:hi] + nk * z
                if positive:
                    zn = np.maximum(u - alpha, 0.0) / nk
                else:
                    zn = np.sign(u) * np.maximum(np.abs(u) - alpha, 0.0) / nk
                d = zn - z
                j = int(np.argmax(np.abs(d)))
                k0, t0 = divmod(j, hi - lo)
                dz = d[k0, t0]
                best = abs(float(dz))
                if not best > thr[i]:
                    active[i, s] = False
                    continue
                t0 += lo
                Z[i, k0, t0] += dz
                a, b = max(0, t0 - L + 1), min(Tv, t0 + L)
                C[i, :, a:b] -= dz * H[k0, :, a - t0 + L - 1:b - t0 + L - 1]
                R[i, :, t0:t0 + L] -= dz * D[k0]
                if a < lo:
                    active[i, s - 1] = True
                if b > hi:
                    active[i, s + 1] = True
                best_pass = max(best_pass, best)
            moved[i] = best_pass
            if not best_pass > thr[i]:
                if thr[i] == 0:
                    break
                thr[i] = thr[i] / 10 if thr[i] / 10 > thr_min else 0.0
                active[i] = True
    return Z, C, R, active, moved
