"""Gram-domain coordinate descent for the lasso: the numba twin of ``lasso_cd_gram``.

Per sample (``prange`` over chunks of samples), with ``b = x Dᵀ``, ``G = D Dᵀ`` and the
correlations ``c = b − z G`` kept up to date:

1. a full pass over all atoms (an atom at zero with ``|c_j| ≤ α`` costs one comparison);
2. passes over the active set (the nonzero coordinates) until they move little;
3. a support refit: with the active set ``A`` and signs ``s``, solve
   ``G_AA z_A = b_A − α s`` by Cholesky; if the signs hold and ``|c_j| ≤ α`` off ``A`` the
   refit satisfies the KKT conditions, i.e. it is the exact lasso solution;
4. the duality gap (module :mod:`dictlearn.objectives`) decides when to stop otherwise.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._numba_common import gram, n_chunks, sq_norm

__all__ = ["lasso_cd_gram"]

INNER_RTOL = 1e-2
INNER_MAX = 20
GROW_MIN = 4


@numba.njit(cache=True)
def _gap(z, c, b, xx, alpha, positive):
    """Primal value and duality gap from ``c = b − zG`` (see objectives.gap_gram)."""
    zb = 0.0
    zc = 0.0
    l1 = 0.0
    cmax = 0.0
    for j in range(z.shape[0]):
        zj = z[j]
        if zj != 0.0:
            zb += zj * b[j]
            zc += zj * c[j]
            l1 += abs(zj)
        v = c[j] if positive else abs(c[j])
        if v > cmax:
            cmax = v
    rr = max(xx - zb - zc, 0.0)
    xr = xx - zb
    F = 0.5 * rr + alpha * l1
    if alpha > 0:
        s = alpha / max(cmax, alpha)
    else:
        s = 1.0 if cmax == 0 else 0.0
    return F, F - (s * xr - 0.5 * s * s * rr)


@numba.njit(cache=True)
def _correlations(z, b, G, c):
    """``c = b − z G`` from the nonzeros of ``z``."""
    k = z.shape[0]
    for i in range(k):
        c[i] = b[i]
    for j in range(k):
        zj = z[j]
        if zj != 0.0:
            for i in range(k):
                c[i] -= zj * G[j, i]


@numba.njit(cache=True)
def _refit(z, c, b, G, alpha, positive, A, zA, rhs, y, L, c2, cap):
    """Solve the KKT system on the support of ``z`` with its signs.

    When the signs hold, the refit minimises ``F`` over codes with that support and those signs,
    so it is at least as good as ``z``: ``z`` and ``c`` are replaced and True is returned. It is
    then a lasso solution exactly when ``|c_j| ≤ α`` off the support, which the duality gap
    computed next certifies.
    """
    k = z.shape[0]
    na = 0
    for j in range(k):
        if z[j] != 0.0:
            if na == cap:
                return False
            A[na] = j
            na += 1
    if na == 0:
        return False
    for t in range(na):  # Cholesky of G_AA
        for u in range(t + 1):
            acc = G[A[t], A[u]]
            for v in range(u):
                acc -= L[t, v] * L[u, v]
            if u == t:
                if not acc > 1e-10 * G[A[t], A[t]]:
                    return False
                L[t, t] = math.sqrt(acc)
            else:
                L[t, u] = acc / L[u, u]
    for t in range(na):
        rhs[t] = b[A[t]] - (alpha if z[A[t]] > 0 else -alpha)
    for t in range(na):
        acc = rhs[t]
        for u in range(t):
            acc -= L[t, u] * y[u]
        y[t] = acc / L[t, t]
    for t in range(na - 1, -1, -1):
        acc = y[t]
        for u in range(t + 1, na):
            acc -= L[u, t] * zA[u]
        zA[t] = acc / L[t, t]
    for t in range(na):  # signs must hold
        if zA[t] * z[A[t]] <= 0.0:
            return False
    for i in range(k):
        c2[i] = b[i]
    for t in range(na):
        g = zA[t]
        row = A[t]
        for i in range(k):
            c2[i] -= g * G[row, i]
    for t in range(na):
        z[A[t]] = zA[t]
    for i in range(k):
        c[i] = c2[i]
    return True


@numba.njit(cache=True)
def _lasso_one(b, G, xx, alpha, positive, tol, floor, max_iter, z, c, W, inW, cw, A, zA, rhs,
               y, L, c2, cap, topv, topj):
    """Working-set coordinate descent for one sample (see the module docstring)."""
    k = b.shape[0]
    _correlations(z, b, G, c)
    nw = 0
    for j in range(k):
        inW[j] = z[j] != 0.0
        if inW[j]:
            W[nw] = j
            nw += 1
    F, gap = _gap(z, c, b, xx, alpha, positive)
    if gap <= tol * F + floor:
        return 0, gap / max(F, 1e-300), True
    for it in range(1, max_iter + 1):
        # grow the working set by the worst KKT violators (|c_j| > α), largest first
        grow = min(max(GROW_MIN, nw), k - nw)
        cnt = 0
        for j in range(k):  # one pass, keeping the `grow` largest violations sorted
            if inW[j]:
                continue
            v = c[j] if positive else abs(c[j])
            if v <= alpha or (cnt == grow and v <= topv[cnt - 1]):
                continue
            pos = cnt if cnt < grow else grow - 1
            while pos > 0 and topv[pos - 1] < v:
                topv[pos] = topv[pos - 1]
                topj[pos] = topj[pos - 1]
                pos -= 1
            topv[pos] = v
            topj[pos] = j
            if cnt < grow:
                cnt += 1
        for t in range(cnt):
            inW[topj[t]] = True
            W[nw] = topj[t]
            nw += 1
        # coordinate descent restricted to W, keeping only c_W up to date
        for t in range(nw):
            cw[t] = c[W[t]]
        for _inner in range(INNER_MAX):
            dmax = 0.0
            zmax = 0.0
            for t in range(nw):
                j = W[t]
                gjj = G[j, j]
                zj = z[j]
                u = cw[t] + gjj * zj
                if u > alpha:
                    znew = (u - alpha) / gjj
                elif u < -alpha and not positive:
                    znew = (u + alpha) / gjj
                else:
                    znew = alpha * 0  # zero in the working dtype
                delta = znew - zj
                if delta != 0.0:
                    z[j] = znew
                    for s in range(nw):
                        cw[s] -= delta * G[j, W[s]]
                    if abs(delta) > dmax:
                        dmax = abs(delta)
                if abs(znew) > zmax:
                    zmax = abs(znew)
            if dmax <= INNER_RTOL * zmax:
                break
        if not _refit(z, c, b, G, alpha, positive, A, zA, rhs, y, L, c2, cap):
            _correlations(z, b, G, c)
        F, gap = _gap(z, c, b, xx, alpha, positive)
        if gap <= tol * F + floor:
            return it, gap / max(F, 1e-300), True
    return max_iter, gap / max(F, 1e-300), False


@numba.njit(cache=True, parallel=True)
def _lasso_batch(X, XDt, G, Z0, alpha, positive, tol, floor_eps, max_iter, Z, n_iter, crit, conv,
                 cap, n_chunks):
    n = X.shape[0]
    k = G.shape[0]
    warm = Z0.shape[0] == n
    size = (n + n_chunks - 1) // n_chunks
    for ch in numba.prange(n_chunks):
        c = np.empty(k, dtype=X.dtype)
        c2 = np.empty(k, dtype=X.dtype)
        cw = np.empty(k, dtype=X.dtype)
        W = np.empty(k, dtype=np.int64)
        inW = np.empty(k, dtype=np.bool_)
        A = np.empty(k, dtype=np.int64)
        topv = np.empty(k, dtype=X.dtype)
        topj = np.empty(k, dtype=np.int64)
        zA = np.empty(cap, dtype=X.dtype)
        rhs = np.empty(cap, dtype=X.dtype)
        y = np.empty(cap, dtype=X.dtype)
        L = np.empty((cap, cap), dtype=X.dtype)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            for j in range(k):
                Z[i, j] = Z0[i, j] if warm else 0.0
            xx = sq_norm(X[i])
            b = XDt[i]
            it, r, ok = _lasso_one(b, G, xx, alpha, positive, tol, floor_eps * xx, max_iter,
                                   Z[i], c, W, inW, cw, A, zA, rhs, y, L, c2, cap, topv, topj)
            n_iter[i] = it
            crit[i] = r
            conv[i] = ok


def lasso_cd_gram(X, D, Z0, *, alpha, positive, tol, max_iter, xp=np):
    """Numba coordinate descent; same arguments and returns as the reference kernel."""
    X = np.ascontiguousarray(X)
    dt = X.dtype.type
    D = np.ascontiguousarray(D, dtype=X.dtype)
    XDt = X @ D.T  # one BLAS product
    G = gram(D)
    n, k = X.shape[0], D.shape[0]
    Z0 = np.zeros((0, k), dtype=X.dtype) if Z0 is None else np.ascontiguousarray(Z0, X.dtype)
    Z = np.empty((n, k), dtype=X.dtype)
    n_iter = np.zeros(n, dtype=np.int64)
    crit = np.zeros(n, dtype=X.dtype)
    conv = np.zeros(n, dtype=np.bool_)
    cap = max(1, min(k, X.shape[1]))
    eps = float(np.finfo(X.dtype).eps)
    _lasso_batch(X, XDt, G, Z0, dt(alpha), bool(positive), dt(tol), dt(10 * eps), int(max_iter),
                 Z, n_iter, crit, conv, cap, n_chunks(n))
    return Z, n_iter, crit, conv
