"""Pieces shared by the numba kernels: ``G = D Dᵀ``, per-sample ``x Dᵀ`` and work chunks.

A call of a numba kernel runs exactly one parallel region: ``x Dᵀ`` is computed per sample
inside it (which also saves writing and reading an (n_samples, n_atoms) array) and the small
``G = D Dᵀ`` by a serial loop before it. On a busy two-core machine every parallel region
(BLAS or numba) waits for its threads to be scheduled: a multi-threaded BLAS call for the
256×64 Gram matrix took a median of 16–20 ms there against 0.4 ms single-threaded.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["FMA", "gram", "n_chunks", "project", "sq_norm", "use_blas"]

#: LLVM fast-math flags of the kernels: only contraction of a*b+c into fused multiply-adds
#: (no reassociation, so sums keep their order and NaN/inf semantics are unchanged).
FMA = {"contract"}


@numba.njit(cache=True, fastmath=FMA)
def _gram(D, Dt, G):
    k, m = D.shape
    for i in range(k):
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


@numba.njit(cache=True, inline="always", fastmath=FMA)
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


@numba.njit(cache=True, inline="always", fastmath=FMA)
def sq_norm(x):
    """``‖x‖²``."""
    acc = 0.0
    for f in range(x.shape[0]):
        acc += x[f] * x[f]
    return acc


def n_chunks(n: int) -> int:
    """Work units for ``prange``: several per thread, for balance."""
    return max(1, min(n, 8 * numba.get_num_threads()))


#: Compute ``X Dᵀ`` by BLAS before the kernel (instead of per sample inside it) for these
#: dtypes; set from measurements, see docs/solvers.md.
BLAS_DTYPES: tuple[str, ...] = ()


def use_blas(X: np.ndarray, D: np.ndarray) -> bool:
    """Whether the kernels take ``X Dᵀ`` from one BLAS product."""
    return X.dtype.name in BLAS_DTYPES
