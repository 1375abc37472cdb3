"""numba twins of :mod:`dictlearn.kernels.learning` (NumPy arrays in and out; imported lazily)."""

from __future__ import annotations

import numba
import numpy as np

from ._numba_common import FMA, nonzeros, objective_row
from .learning import bcd_thresholds

__all__ = ["code_statistics", "codes_times_dictionary", "online_bcd", "sample_objective"]

#: The penalties of :func:`sample_objective`, as the compiled loop numbers them.
_PENALTY = {"l1": 0, "cauchy": 1, "l0": 2}


@numba.njit(cache=True)
def _stats(A0, B0, Z, X, beta):  # pragma: no cover - compiled
    n, k = Z.shape
    m = X.shape[1]
    A = np.empty_like(A0)  # β A0 and β B0 written in one pass (A0, B0 are not modified)
    B = np.empty_like(B0)
    for a in range(k):
        for q in range(k):
            A[a, q] = A0[a, q] * beta
        for f in range(m):
            B[a, f] = B0[a, f] * beta
    idx = np.empty(k, dtype=np.int64)
    for i in range(n):
        c = nonzeros(Z[i], idx)
        for p in range(c):
            a = idx[p]
            za = Z[i, a]
            for q in range(c):
                A[a, idx[q]] += za * Z[i, idx[q]]
            for f in range(m):
                B[a, f] += za * X[i, f]
    return A, B


@numba.njit(cache=True)
def _zd(Z, D):  # pragma: no cover - compiled
    n, k = Z.shape
    m = D.shape[1]
    out = np.zeros((n, m), dtype=D.dtype)
    for i in range(n):
        for a in range(k):
            z = Z[i, a]
            if z != 0.0:
                for f in range(m):
                    out[i, f] += z * D[a, f]
    return out


@numba.njit(cache=True, fastmath=FMA)
def _objective(X, D, Z, alpha, penalty, sigma):  # pragma: no cover - compiled
    n = Z.shape[0]
    out = np.empty(n, dtype=X.dtype)
    r = np.empty(X.shape[1], dtype=X.dtype)
    idx = np.empty(Z.shape[1], dtype=np.int64)
    for i in range(n):
        out[i] = objective_row(X[i], D, Z[i], alpha, penalty, sigma, r, idx)
    return out


#: Atoms per block of the BCD sweep (:func:`_bcd`).
BCD_BLOCK = 32


@numba.njit(cache=True, fastmath=False)
def _bcd(D, A, B, sphere, positive, n_passes, thresh, tiny, block):  # pragma: no cover
    """One or more sweeps ``d_j ← Π(d_j + (b_j − a_j D)/A_jj)``, atom by atom, in blocks.

    ``a_j D`` over the atoms as they are when atom ``j`` is reached is ``C_j`` (the product
    ``A D`` with the dictionary at the start of the sweep, one BLAS product) plus
    ``a_j Δ`` (the changes of the atoms updated since): the changes of the earlier atoms of
    ``j``'s block one row at a time, those of the earlier blocks added to ``C`` by one BLAS
    product per block. The same sweep as row-by-row descent, to rounding, in BLAS products.
    """
    k, m = D.shape
    u = np.empty(m, dtype=D.dtype)
    delta = np.empty((block, m), dtype=D.dtype)  # the changes of the block's atoms
    for _ in range(n_passes):
        C = np.dot(A, D)
        for s0 in range(0, k, block):
            s1 = min(k, s0 + block)
            for j in range(s0, s1):
                for c in range(m):
                    delta[j - s0, c] = 0.0
                ajj = A[j, j]
                if ajj <= thresh:
                    continue
                for c in range(m):  # u = b_j − a_j D
                    u[c] = B[j, c] - C[j, c]
                for i in range(s0, j):
                    a = A[j, i]
                    if a != 0.0:
                        for c in range(m):
                            u[c] -= a * delta[i - s0, c]
                nu2 = 0.0
                for c in range(m):
                    v = D[j, c] + u[c] / ajj
                    if positive and v < 0:
                        v = 0.0
                    u[c] = v
                    nu2 += v * v
                nu = np.sqrt(nu2)
                if sphere:
                    if nu <= tiny:
                        continue
                    scale = 1.0 / nu
                else:
                    scale = 1.0 / nu if nu > 1.0 else 1.0
                for c in range(m):
                    v = u[c] * scale
                    delta[j - s0, c] = v - D[j, c]
                    D[j, c] = v
            if s1 < k:  # the block's changes into a_j D of the later atoms
                C[s1:] += np.dot(np.ascontiguousarray(A[s1:, s0:s1]), delta[:s1 - s0])
    return D


def code_statistics(A, B, Z, X, *, beta):
    """``(β A + ZᵀZ, β B + ZᵀX)`` skipping the zeros of ``Z``; ``A``, ``B`` are not modified."""
    dt = np.result_type(A.dtype, Z.dtype)
    return _stats(np.ascontiguousarray(A, dtype=dt), np.ascontiguousarray(B, dtype=dt),
                  np.ascontiguousarray(Z), np.ascontiguousarray(X), dt.type(beta))


def codes_times_dictionary(Z, D):
    """``Z D`` skipping the zeros of ``Z``."""
    return _zd(np.ascontiguousarray(Z), np.ascontiguousarray(D, dtype=Z.dtype))


def sample_objective(X, D, Z, *, alpha, penalty, sigma):
    """``½‖x − zD‖² + α·pen(z)`` per sample, one pass over the non-zeros of ``Z``."""
    X = np.ascontiguousarray(X)
    dt = X.dtype.type
    return _objective(X, np.ascontiguousarray(D, dtype=X.dtype),
                      np.ascontiguousarray(Z, dtype=X.dtype), dt(alpha), _PENALTY[penalty],
                      dt(sigma))


def online_bcd(D, A, B, *, constraint, positive, n_passes):
    """Block-coordinate descent over the atoms; ``D`` is copied."""
    thresh, tiny = bcd_thresholds(np.diagonal(A), D.dtype, np)
    dt = D.dtype
    return _bcd(np.array(D, copy=True, order="C"), np.ascontiguousarray(A, dtype=dt),
                np.ascontiguousarray(B, dtype=dt), constraint == "sphere", bool(positive),
                int(n_passes), dt.type(thresh), dt.type(tiny), BCD_BLOCK)
