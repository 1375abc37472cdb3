"""Batch OMP in the Gram domain: the numba twin of :func:`dictlearn.kernels.omp.omp_gram`.

Samples run in parallel (``prange``); each keeps its correlations ``c``, the Cholesky factor of
its support's Gram matrix (grown one row per step, Rubinstein, Zibulevsky & Elad 2008) and its
fit in small preallocated buffers. The steps are those of the reference kernel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._numba_common import FMA, gram, n_chunks, project, sq_norm, use_blas

__all__ = ["omp_gram"]

#: Take ``X Dᵀ`` from BLAS one block of rows at a time (``BLOCK_ELEMENTS`` entries of
#: ``X Dᵀ`` per block, so that the block's products are still in cache when the kernel reads
#: them) instead of per sample inside the kernel.
BLOCKED_BLAS = True
BLOCK_ELEMENTS = 1 << 18


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _forward(L, rhs, out, s):
    """Solve ``L[:s, :s] out = rhs`` (lower triangular)."""
    for t in range(s):
        acc = rhs[t]
        for u in range(t):
            acc -= L[t, u] * out[u]
        out[t] = acc / L[t, t]


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _cho_solve(L, b, y, out, s):
    _forward(L, b, y, s)
    for t in range(s - 1, -1, -1):
        acc = y[t]
        for u in range(t + 1, s):
            acc -= L[u, t] * out[u]
        out[t] = acc / L[t, t]


@numba.njit(cache=True, fastmath=FMA)
def _refactor(G, idx, L, s):
    """Cholesky factor of ``G[idx[:s]][:, idx[:s]]`` from scratch (after a removal)."""
    for t in range(s):
        for u in range(t + 1):
            acc = G[idx[t], idx[u]]
            for v in range(u):
                acc -= L[t, v] * L[u, v]
            if u == t:
                L[t, t] = math.sqrt(max(acc, 0.0)) if acc > 0 else 1.0
            else:
                L[t, u] = acc / L[u, u]


@numba.njit(cache=True, fastmath=FMA)
def _omp_one(b0, G, xx, K, tol, positive, cond_tol, z, c, excl, L, idx, bS, gam, gnew, y, w):
    k = b0.shape[0]
    for j in range(k):
        c[j] = b0[j]
        excl[j] = False
    s = 0
    rr = xx
    for _ in range(k + 1):
        best = -1
        bv = 0.0
        for j in range(k):
            if excl[j]:
                continue
            v = c[j] if positive else abs(c[j])
            if v > bv:
                bv = v
                best = j
        if s >= K or rr <= tol or best < 0:
            break
        # progressive Cholesky: L w = G_{S, j}, pivot d = G_jj - w·w
        for t in range(s):
            y[t] = G[idx[t], best]
        _forward(L, y, w, s)
        gjj = G[best, best]
        d = gjj
        for t in range(s):
            d -= w[t] * w[t]
        excl[best] = True
        if not d > cond_tol * gjj:
            continue  # in the span of the support: skip this atom for good
        for t in range(s):
            L[s, t] = w[t]
        L[s, s] = math.sqrt(d)
        idx[s] = best
        bS[s] = b0[best]
        gam[s] = 0.0
        s += 1
        _cho_solve(L, bS, y, gnew, s)
        if positive:  # Lawson–Hanson steps towards the refit, dropping atoms that reach 0
            for _inner in range(K + 1):
                first = -1
                step = np.inf
                for t in range(s):
                    if gnew[t] <= 0:
                        r = gam[t] / (gam[t] - gnew[t])
                        if r < step:
                            step = r
                            first = t
                if first < 0:
                    break
                for t in range(s):
                    gam[t] = gam[t] + step * (gnew[t] - gam[t])
                for t in range(first, s - 1):
                    idx[t] = idx[t + 1]
                    bS[t] = bS[t + 1]
                    gam[t] = gam[t + 1]
                s -= 1
                _refactor(G, idx, L, s)
                _cho_solve(L, bS, y, gnew, s)
        for t in range(s):
            gam[t] = gnew[t]
        for j in range(k):
            c[j] = b0[j]
        acc = 0.0
        for t in range(s):
            g = gam[t]
            row = idx[t]
            for j in range(k):
                c[j] -= g * G[row, j]
            acc += g * bS[t]
        rr = max(xx - acc, 0.0)
    for t in range(s):
        z[idx[t]] = gam[t]
    return s, rr


#: Fast-math flags of the selection scan: with no NaNs (the inputs are checked finite) and
#: reassociation, the max over the atoms vectorises; the max itself is exact.
_SCAN = {"contract", "reassoc", "nsz", "nnan"}


@numba.njit(cache=True, fastmath=_SCAN)
def _argmax_kept(c, keep):
    """First ``j`` maximising ``|c_j|·keep_j`` (``keep`` 1 or 0), or -1 when that max is 0:
    one vectorised max, then a scan for its first position."""
    m = c[0] * 0
    for j in range(c.shape[0]):
        m = max(m, abs(c[j]) * keep[j])
    if not m > 0:
        return -1
    for j in range(c.shape[0]):
        if abs(c[j]) * keep[j] == m:
            return j
    return -1


@numba.njit(cache=True, fastmath=FMA)
def _omp_one_fast(b0, G, xx, K, tol, cond_tol, z, c, keep, L, Q, idx, bS, gam, y):
    """Unconstrained OMP with the correlations updated by one row per step.

    ``Q[t] = q_t Dᵀ`` where ``q_t`` is the t-th Gram–Schmidt direction of the support, so
    ``Q[t] = (G[j] − Σ_u L[t,u] Q[u]) / L[t,t]``, ``w_u = Q[u, j]``, and the new residual's
    correlations are ``c − (c_j / L[t,t]) Q[t]`` with ``‖r‖²`` lowered by ``(c_j / L[t,t])²``.
    """
    k = b0.shape[0]
    for j in range(k):
        c[j] = b0[j]
        keep[j] = 1.0
    best = _argmax_kept(c, keep)
    s = 0
    rr = xx
    for _ in range(k + 1):
        if s >= K or rr <= tol or best < 0:
            break
        gjj = G[best, best]
        d = gjj
        for t in range(s):
            d -= Q[t, best] * Q[t, best]
        keep[best] = 0.0
        if d > cond_tol * gjj:
            piv = np.sqrt(d)  # stays in the working dtype (float32 or float64)
            for t in range(s):
                L[s, t] = Q[t, best]
            L[s, s] = piv
            inv = (gjj * 0 + 1) / piv
            coef = c[best] * inv
            idx[s] = best
            bS[s] = b0[best]
            for j in range(k):
                Q[s, j] = G[best, j]
            for t in range(s):
                wt = L[s, t]
                for j in range(k):
                    Q[s, j] -= wt * Q[t, j]
            for j in range(k):
                Q[s, j] *= inv
            rr -= coef * coef
            s += 1
            for j in range(k):
                c[j] -= coef * Q[s - 1, j]
        best = _argmax_kept(c, keep)
    _cho_solve(L, bS, y, gam, s)
    acc = 0.0
    for t in range(s):
        z[idx[t]] = gam[t]
        acc += gam[t] * bS[t]
    return s, max(xx - acc, 0.0)


@numba.njit(cache=True, parallel=True, fastmath=FMA)
def _omp_batch(X, Dt, XDt, G, K, tol, positive, cond_tol, Z, used, rr, n_chunks):
    n = X.shape[0]
    k = G.shape[0]
    size = (n + n_chunks - 1) // n_chunks
    for ch in numba.prange(n_chunks):
        buf = np.empty(k, dtype=X.dtype)
        pre = XDt.shape[0] == n
        c = np.empty(k, dtype=X.dtype)
        excl = np.empty(k, dtype=np.bool_)
        keep = np.empty(k, dtype=X.dtype)
        L = np.zeros((K, K), dtype=X.dtype)
        Q = np.empty((K, k), dtype=X.dtype)
        idx = np.zeros(K, dtype=np.int64)
        bS = np.empty(K, dtype=X.dtype)
        gam = np.empty(K, dtype=X.dtype)
        gnew = np.empty(K, dtype=X.dtype)
        y = np.empty(K, dtype=X.dtype)
        w = np.empty(K, dtype=X.dtype)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            for j in range(k):
                Z[i, j] = 0.0
            if pre:
                b = XDt[i]
                xx = sq_norm(X[i])
            else:
                xx = project(X[i], Dt, buf)
                b = buf
            if positive:
                s, r = _omp_one(b, G, xx, K, tol, positive, cond_tol, Z[i], c, excl,
                                L, idx, bS, gam, gnew, y, w)
            else:
                s, r = _omp_one_fast(b, G, xx, K, tol, cond_tol, Z[i], c, keep, L, Q,
                                     idx, bS, gam, y)
            used[i] = s
            rr[i] = r


def omp_gram(X, D, *, n_nonzero_coefs, tol, positive, cond_tol, xp=np):
    """Numba batch OMP; same arguments and returns as the reference kernel."""
    X = np.ascontiguousarray(X)
    D = np.ascontiguousarray(D, dtype=X.dtype)
    Dt = np.ascontiguousarray(D.T)
    XDt = X @ Dt if use_blas(X, D) and not BLOCKED_BLAS else np.empty((0, D.shape[0]),
                                                                       dtype=X.dtype)
    G = gram(D)
    n, k = X.shape[0], D.shape[0]
    Z = np.empty((n, k), dtype=X.dtype)
    used = np.zeros(n, dtype=np.int64)
    rr = np.empty(n, dtype=X.dtype)
    dt = X.dtype.type
    step = max(1, BLOCK_ELEMENTS // k) if BLOCKED_BLAS else n
    for s in range(0, n, max(step, 1)):
        e = min(n, s + step)
        B = X[s:e] @ Dt if BLOCKED_BLAS else XDt
        _omp_batch(X[s:e], Dt, B, G, int(n_nonzero_coefs), dt(tol), bool(positive),
                   dt(cond_tol), Z[s:e], used[s:e], rr[s:e], n_chunks(e - s))
    return Z, used, rr
