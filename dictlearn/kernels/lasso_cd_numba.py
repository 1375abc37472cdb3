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

__all__ = ["lasso_cd_gram"]

INNER_RTOL = 1e-3
INNER_MAX = 50
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
    """Solve the KKT system on the support of ``z``; accept it if it is a solution."""
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
    lim = alpha * (1.0 + 1e-9)
    for i in range(k):
        if z[i] == 0.0:
            v = c2[i] if positive else abs(c2[i])
            if v > lim:
                return False
    for t in range(na):
        z[A[t]] = zA[t]
    for i in range(k):
        c[i] = c2[i]
    return True


@numba.njit(cache=True)
def _lasso_one(b, G, xx, alpha, positive, tol, floor, max_iter, z, c, W, inW, cw, A, zA, rhs,
               y, L, c2, cap):
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
        grow = max(GROW_MIN, nw)
        for _ in range(grow):
            best = -1
            bv = alpha
            for j in range(k):
                if not inW[j]:
                    v = c[j] if positive else abs(c[j])
                    if v > bv:
                        bv = v
                        best = j
            if best < 0:
                break
            inW[best] = True
            W[nw] = best
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
                    znew = 0.0
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
def _lasso_batch(XDt, G, xx, alpha, positive, tol, floor_eps, max_iter, Z, n_iter, crit, conv,
                 cap, n_chunks):
    n, k = XDt.shape
    size = (n + n_chunks - 1) // n_chunks
    for ch in numba.prange(n_chunks):
        c = np.empty(k, dtype=XDt.dtype)
        c2 = np.empty(k, dtype=XDt.dtype)
        cw = np.empty(k, dtype=XDt.dtype)
        W = np.empty(k, dtype=np.int64)
        inW = np.empty(k, dtype=np.bool_)
        A = np.empty(k, dtype=np.int64)
        zA = np.empty(cap, dtype=XDt.dtype)
        rhs = np.empty(cap, dtype=XDt.dtype)
        y = np.empty(cap, dtype=XDt.dtype)
        L = np.empty((cap, cap), dtype=XDt.dtype)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            it, r, ok = _lasso_one(XDt[i], G, xx[i], alpha, positive, tol, floor_eps * xx[i],
                                   max_iter, Z[i], c, W, inW, cw, A, zA, rhs, y, L,
                                   c2, cap)
            n_iter[i] = it
            crit[i] = r
            conv[i] = ok


def lasso_cd_gram(XDt, G, xx, Z0, *, alpha, positive, tol, max_iter, n_features, xp=np):
    """Numba coordinate descent; same arguments and returns as the reference kernel."""
    XDt = np.ascontiguousarray(XDt)
    dt = XDt.dtype.type
    G = np.ascontiguousarray(G, dtype=XDt.dtype)
    xx = np.ascontiguousarray(xx, dtype=XDt.dtype)
    n, k = XDt.shape
    Z = np.zeros((n, k), dtype=XDt.dtype) if Z0 is None else np.array(Z0, dtype=XDt.dtype)
    n_iter = np.zeros(n, dtype=np.int64)
    crit = np.zeros(n, dtype=XDt.dtype)
    conv = np.zeros(n, dtype=np.bool_)
    cap = max(1, min(k, int(n_features)))
    eps = float(np.finfo(XDt.dtype).eps)
    n_chunks = max(1, min(n, 8 * numba.get_num_threads()))
    _lasso_batch(XDt, G, xx, dt(alpha), bool(positive), dt(tol), dt(10 * eps), int(max_iter),
                 Z, n_iter, crit, conv, cap, n_chunks)
    return Z, n_iter, crit, conv
