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


#: Atoms per block of the BCD sweep (:func:`online_bcd`).
BCD_BLOCK = 64


@numba.njit(cache=True, fastmath=False)
def _bcd(D, A, B, C, delta, s0, s1, sphere, positive, thresh, tiny):  # pragma: no cover
    """The sweep ``d_j ← Π(d_j + (b_j − a_j D)/A_jj)`` over the atoms ``s0 ≤ j < s1``.

    ``a_j D``, over the atoms as they are when atom ``j`` is reached, is ``C_j`` (``A D``
    with the atoms as they were when the block began: BLAS products by the caller) plus
    ``a_j Δ``, the changes ``Δ_i`` (into ``delta``) of the block's atoms ``i < j``, eight
    rows of ``Δ`` per pass over ``u``.
    """
    k, m = D.shape
    u = np.empty(m, dtype=D.dtype)
    done = np.empty(k, dtype=np.int64)  # the block's atoms updated so far, in order
    idx = np.empty(k, dtype=np.int64)
    nd = 0
    for j in range(s0, s1):
        for c in range(m):
            delta[j, c] = 0.0
        ajj = A[j, j]
        if ajj <= thresh:
            continue
        for c in range(m):  # u = b_j − a_j D
            u[c] = B[j, c] - C[j, c]
        nz = 0
        for p in range(nd):  # the updated atoms with a_ji != 0, in order
            idx[nz] = done[p]
            nz += A[j, done[p]] != 0.0
        p = 0
        while p + 8 <= nz:  # eight rows of Δ per pass over u
            i0, i1, i2, i3 = idx[p], idx[p + 1], idx[p + 2], idx[p + 3]
            i4, i5, i6, i7 = idx[p + 4], idx[p + 5], idx[p + 6], idx[p + 7]
            a0, a1, a2, a3 = A[j, i0], A[j, i1], A[j, i2], A[j, i3]
            a4, a5, a6, a7 = A[j, i4], A[j, i5], A[j, i6], A[j, i7]
            for c in range(m):
                u[c] = (((((((u[c] - a0 * delta[i0, c]) - a1 * delta[i1, c])
                             - a2 * delta[i2, c]) - a3 * delta[i3, c]) - a4 * delta[i4, c])
                          - a5 * delta[i5, c]) - a6 * delta[i6, c]) - a7 * delta[i7, c]
            p += 8
        while p < nz:
            i0 = idx[p]
            a0 = A[j, i0]
            for c in range(m):
                u[c] -= a0 * delta[i0, c]
            p += 1
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
            delta[j, c] = v - D[j, c]
            D[j, c] = v
        done[nd] = j
        nd += 1
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
    """Block-coordinate descent over the atoms, in blocks of :data:`BCD_BLOCK`; ``D`` is
    copied.

    ``a_j D`` over the atoms as they are when atom ``j`` is reached is ``A D`` at the start
    of the sweep, plus the changes of the earlier blocks (one BLAS product per block), plus
    those of ``j``'s own block (in the kernel): the sweep of the row-by-row descent, to
    rounding, with most of its operations in BLAS products. These are NumPy's, on the
    threads of the learner's other products (a BLAS call from the compiled loop would be
    SciPy's, a second thread pool).
    """
    dt = D.dtype
    thresh, tiny = bcd_thresholds(np.diagonal(A), dt, np)
    A = np.ascontiguousarray(A, dtype=dt)
    B = np.ascontiguousarray(B, dtype=dt)
    D = np.array(D, copy=True, order="C")
    k = D.shape[0]
    delta = np.empty_like(D)
    sphere, positive, thresh, tiny = constraint == "sphere", bool(positive), dt.type(thresh), \
        dt.type(tiny)
    for _ in range(int(n_passes)):
        C = A @ D
        for s0 in range(0, k, BCD_BLOCK):
            s1 = min(k, s0 + BCD_BLOCK)
            _bcd(D, A, B, C, delta, s0, s1, sphere, positive, thresh, tiny)
            if s1 < k:  # the block's changes into a_j D of the later atoms
                C[s1:] += A[s1:, s0:s1] @ delta[s0:s1]
    return D
