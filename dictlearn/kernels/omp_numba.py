"""Batch OMP in the Gram domain: the numba twin of :func:`dictlearn.kernels.omp.omp_gram`.

Samples run in parallel (``prange``); each keeps its correlations ``c``, the Cholesky factor of
its support's Gram matrix (grown one row per step, Rubinstein, Zibulevsky & Elad 2008) and its
fit in small preallocated buffers. The steps are those of the reference kernel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._numba_common import FMA, float_bits, n_chunks, rows_dot, sq_norm

__all__ = ["omp_gram"]

#: ``X Dᵀ`` and ``G = D Dᵀ`` come from BLAS, ``X Dᵀ`` one block of rows at a time
#: (``BLOCK_ELEMENTS`` entries per block, so that the block's products are still in cache when
#: the kernel reads them, and overwrites them with the residual's correlations).
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


@numba.njit(cache=True, inline="always")
def _key(c, keep, j):
    """``|c_j|·keep_j`` (``keep`` 1 or 0) as its bit pattern: for non-negative finite floats
    the bit patterns order as the values, and integer max/min reductions vectorise where a
    float max (a chain of scalar compares) does not."""
    return float_bits(abs(c[j]) * keep[j])


@numba.njit(cache=True, inline="always")
def _first_max(c, keep, m):
    """The first ``j`` whose key is ``m`` (a min reduction: no early exit, so it vectorises),
    or -1 when ``m`` is 0 (no kept atom has a non-zero correlation)."""
    k = c.shape[0]
    if m == 0:
        return -1
    p = k
    for j in range(k):
        q = j if _key(c, keep, j) == m else k
        p = q if q < p else p
    return p


@numba.njit(cache=True, inline="always")
def _select(c, keep):
    """First ``j`` maximising ``|c_j|`` among the kept atoms, or -1 when that max is 0: the
    selection a float ``argmax`` makes, ties to the first index."""
    m = _key(c, keep, 0)
    for j in range(1, c.shape[0]):
        v = _key(c, keep, j)
        m = v if v > m else m
    return _first_max(c, keep, m)


@numba.njit(cache=True, fastmath=FMA)
def _omp_one_fast(c, G, xx, K, tol, cond_tol, one, z, keep, L, Q, idx, a, gam):
    """Unconstrained OMP with the correlations updated by one row per step.

    ``c`` holds ``b = x Dᵀ`` on entry and is overwritten by the residual's correlations.
    ``Q[t] = q_t Dᵀ`` where ``q_t`` is the t-th Gram–Schmidt direction of the support, so
    ``Q[t] = (G[j] − Σ_u L[t,u] Q[u]) / L[t,t]`` and ``w_u = Q[u, j]``. The residual's
    coefficient on ``q_t`` is ``a_t = c_j / L[t,t]``: the correlations become ``c − a_t Q[t]``
    (in the pass that scales ``Q[t]``, which also takes the next selection's max),
    ``‖r‖²`` drops by ``a_t²``, and the codes on the
    support solve ``Lᵀ γ = a``. Every vector operation stays in the dtype of ``c`` (``one``
    is 1 in that dtype), so float32 runs in float32 vectors.
    """
    k = c.shape[0]
    for j in range(k):
        keep[j] = one
    best = _select(c, keep)
    s = 0
    rr = xx
    for _ in range(k + 1):
        if s >= K or rr <= tol or best < 0:
            break
        gjj = G[best, best]
        d = gjj
        for t in range(s):
            d -= Q[t, best] * Q[t, best]
        keep[best] = 0 * one
        if not d > cond_tol * gjj:  # in the span of the support: skip this atom for good
            best = _select(c, keep)
            continue
        piv = np.sqrt(d)
        inv = one / piv
        for t in range(s):
            L[s, t] = Q[t, best]
        L[s, s] = piv
        coef = c[best] * inv
        idx[s] = best
        a[s] = coef
        rr -= coef * coef
        qs = Q[s]
        for j in range(k):
            qs[j] = G[best, j]
        for t in range(s):
            wt = L[s, t]
            qt = Q[t]
            for j in range(k):
                qs[j] -= wt * qt[j]
        m = _key(c, keep, best)  # 0: best is no longer kept
        for j in range(k):  # scale the new row, update c and take the max of its keys
            q = qs[j] * inv
            qs[j] = q
            c[j] -= coef * q
            v = _key(c, keep, j)
            m = v if v > m else m
        s += 1
        best = _first_max(c, keep, m)
    for t in range(s - 1, -1, -1):  # Lᵀ γ = a
        acc = a[t]
        for u in range(t + 1, s):
            acc -= L[u, t] * gam[u]
        gam[t] = acc / L[t, t]
    for t in range(s):
        z[idx[t]] = gam[t]
    return s, max(rr, 0 * rr)


@numba.njit(cache=True, parallel=True, fastmath=FMA)
def _omp_batch(X, XDt, G, K, tol, positive, cond_tol, one, Z, used, rr, n_chunks):
    """OMP of the rows of ``X`` from their correlations ``XDt`` (overwritten)."""
    n = X.shape[0]
    k = G.shape[0]
    size = (n + n_chunks - 1) // n_chunks
    for ch in numba.prange(n_chunks):
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
            xx = sq_norm(X[i])
            if positive:
                s, r = _omp_one(XDt[i], G, xx, K, tol, positive, cond_tol, Z[i], c, excl,
                                L, idx, bS, gam, gnew, y, w)
            else:
                s, r = _omp_one_fast(XDt[i], G, xx, K, tol, cond_tol, one, Z[i], keep, L, Q,
                                     idx, bS, gam)
            used[i] = s
            rr[i] = r


def omp_gram(X, D, *, n_nonzero_coefs, tol, positive, cond_tol, xp=np):
    """Numba batch OMP; same arguments and returns as the reference kernel."""
    X = np.ascontiguousarray(X)
    D = np.ascontiguousarray(D, dtype=X.dtype)
    Dt = np.ascontiguousarray(D.T)
    G = D @ Dt
    n, k = X.shape[0], D.shape[0]
    Z = np.empty((n, k), dtype=X.dtype)
    used = np.zeros(n, dtype=np.int64)
    rr = np.empty(n, dtype=X.dtype)
    dt = X.dtype.type
    step = max(1, BLOCK_ELEMENTS // k)
    for s in range(0, n, step):
        e = min(n, s + step)
        _omp_batch(X[s:e], rows_dot(X[s:e], Dt), G, int(n_nonzero_coefs), dt(tol), bool(positive),
                   dt(cond_tol), dt(1), Z[s:e], used[s:e], rr[s:e], n_chunks(e - s))
    return Z, used, rr
