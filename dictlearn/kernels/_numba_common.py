"""Pieces shared by the numba kernels: ``G = D Dᵀ``, per-sample ``x Dᵀ`` and work chunks.

A call of a numba kernel runs exactly one parallel region: ``x Dᵀ`` is computed per sample
inside it (which also saves writing and reading an (n_samples, n_atoms) array) and the small
``G = D Dᵀ`` by a serial loop before it. On a busy two-core machine every parallel region
(BLAS or numba) waits for its threads to be scheduled: a multi-threaded BLAS call for the
256×64 Gram matrix took a median of 16–20 ms there against 0.4 ms single-threaded.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["FMA", "cho_solve", "cholesky_sub", "forward", "gram", "n_chunks", "prepare",
           "project", "sample", "sq_norm", "use_blas"]

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


@numba.njit(cache=True, inline="always", fastmath=FMA)
def sample(X, i, Dt, XDt, buf):
    """``(x Dᵀ, ‖x‖²)`` of row ``i``: from ``XDt`` when precomputed, else into ``buf``."""
    if XDt.shape[0] == X.shape[0]:
        return XDt[i], sq_norm(X[i])
    xx = project(X[i], Dt, buf)
    return buf, xx


@numba.njit(cache=True, fastmath=FMA)
def cholesky_sub(G, idx, L, s, rtol):
    """Cholesky factor ``L[:s, :s]`` of ``G[idx[:s]][:, idx[:s]]`` from scratch; False at a
    pivot ``≤ rtol·G_tt`` (the support is numerically dependent), True when complete."""
    for t in range(s):
        for u in range(t + 1):
            acc = G[idx[t], idx[u]]
            for v in range(u):
                acc -= L[t, v] * L[u, v]
            if u == t:
                if not acc > rtol * G[idx[t], idx[t]]:
                    return False
                L[t, t] = math.sqrt(acc)
            else:
                L[t, u] = acc / L[u, u]
    return True


@numba.njit(cache=True, inline="always", fastmath=FMA)
def forward(L, rhs, out, s):
    """Solve ``L[:s, :s] out = rhs`` (lower triangular)."""
    for t in range(s):
        acc = rhs[t]
        for u in range(t):
            acc -= L[t, u] * out[u]
        out[t] = acc / L[t, t]


@numba.njit(cache=True, inline="always", fastmath=FMA)
def cho_solve(L, b, y, out, s):
    """Solve ``L Lᵀ out = b`` on the leading ``s`` entries (``y``: work; may alias ``b``)."""
    forward(L, b, y, s)
    for t in range(s - 1, -1, -1):
        acc = y[t]
        for u in range(t + 1, s):
            acc -= L[u, t] * out[u]
        out[t] = acc / L[t, t]


def n_chunks(n: int) -> int:
    """Work units for ``prange``: several per thread, for balance."""
    return max(1, min(n, 8 * numba.get_num_threads()))


#: Compute ``X Dᵀ`` by BLAS before the kernel (instead of per sample inside it) for these
#: dtypes; set from measurements, see docs/solvers.md.
BLAS_DTYPES: tuple[str, ...] = ()


def use_blas(X: np.ndarray, D: np.ndarray) -> bool:
    """Whether the kernels take ``X Dᵀ`` from one BLAS product."""
    return X.dtype.name in BLAS_DTYPES


def prepare(X: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(X, Dt, XDt, G)`` for a kernel: contiguous arrays in ``X``'s dtype, ``XDt`` empty
    unless :func:`use_blas`."""
    X = np.ascontiguousarray(X)
    D = np.ascontiguousarray(D, dtype=X.dtype)
    Dt = np.ascontiguousarray(D.T)
    XDt = X @ Dt if use_blas(X, D) else np.empty((0, D.shape[0]), dtype=X.dtype)
    return X, Dt, XDt, gram(D)
