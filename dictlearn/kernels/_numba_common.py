"""Pieces shared by the numba kernels: ``G = D Dᵀ``, ``‖x‖²``, ``x Dᵀ`` and work chunks.

``X Dᵀ`` is one BLAS product (faster than any loop here). The small ``G = D Dᵀ`` is computed in
a numba loop: on a busy two-core machine a multi-threaded BLAS call on a 256×64 matrix was
measured 30× slower than a single thread (threads waiting for each other), while this loop
takes well under a millisecond.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gram", "n_chunks", "project", "sq_norm"]


@numba.njit(cache=True, parallel=True)
def _gram(D, Dt, G):
    k, m = D.shape
    for i in numba.prange(k):
        for j in range(k):
            G[i, j] = 0.0
        for f in range(m):
            d = D[i, f]
            for j in range(k):
                G[i, j] += d * Dt[f, j]


def gram(D: np.ndarray) -> np.ndarray:
    """``D Dᵀ`` (symmetric by construction)."""
    D = np.ascontiguousarray(D)
    G = np.empty((D.shape[0], D.shape[0]), dtype=D.dtype)
    _gram(D, np.ascontiguousarray(D.T), G)
    return G


@numba.njit(cache=True, inline="always")
def project(x, Dt, b):
    """``b = x Dᵀ`` from ``Dt`` of shape (n_features, n_atoms); returns ``‖x‖²``."""
    m, k = Dt.shape
    for j in range(k):
        b[j] = 0.0
    xx = 0.0
    for f in range(m):
        xf = x[f]
        xx += xf * xf
        for j in range(k):
            b[j] += xf * Dt[f, j]
    return xx


@numba.njit(cache=True, inline="always")
def sq_norm(x):
    """``‖x‖²``."""
    acc = 0.0
    for f in range(x.shape[0]):
        acc += x[f] * x[f]
    return acc


def n_chunks(n: int) -> int:
    """Work units for ``prange``: several per thread, for balance."""
    return max(1, min(n, 8 * numba.get_num_threads()))
