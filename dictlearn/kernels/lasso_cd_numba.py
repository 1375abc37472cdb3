"""Exact lasso per sample: the numba twin of ``lasso_cd_gram``.

Per sample (``prange`` over chunks of samples), with ``b = x Dᵀ``, ``G = D Dᵀ`` and the
correlations ``c = b − z G``, a cold start first runs the primal active-set method of
Osborne, Presnell & Turlach (2000) (:func:`_active_set_one`): add the worst KKT violator with
the sign of its correlation, solve ``G_AA z_A = b_A − α s_A``, step back to the first sign
change and drop that atom if the solution breaks a sign. On the standard problem it ends in
about ``nnz`` rounds with a gap at rounding level. Should it stall (a singular ``G_AA``, more
atoms than features, a new atom that cannot move) or for a warm start, coordinate descent on a
working set takes over from the current codes; each of its outer rounds is

1. one scan of ``c`` that gives ``max_j |c_j|`` (hence the duality gap, the stopping rule of
   :mod:`dictlearn.objectives`) and the few largest KKT violations ``|c_j| > α`` outside the
   working set ``W``, which join ``W`` (at least ``GROW_MIN``, doubling ``|W|`` at most);
2. coordinate descent restricted to ``W``, keeping only ``c_W`` up to date (an update costs
   ``|W|``, not ``n_atoms``), until the codes move by less than ``INNER_RTOL``;
3. a support refit: with the support ``A`` and signs ``s``, ``z_A = G_AA⁻¹(b_A − α s)`` by
   Cholesky. If the signs hold, the refit is the best code with that support and those signs,
   so it replaces ``z`` and ``c`` is recomputed from it; it is the exact lasso solution as soon
   as ``A`` and ``s`` are right, which the next scan certifies with a zero gap.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._numba_common import (
    FMA,
    gram,
    largest_violations,
    n_chunks,
    nonzeros,
    objective_row,
    project,
    prune_to_support,
    rows_dot,
    sq_norm,
    support_gap,
    use_blas,
)

__all__ = ["lasso_cd_gram"]

INNER_RTOL = 1e-2
INNER_MAX = 20
GROW_MIN = 4
PRUNE = True
ACTIVE_SET = True
#: The objective a sample's solve ends with is ``½(‖x‖² − z·b − z·c) + α‖z‖₁`` (the Gram
#: domain, no pass over the features), whose rounding error is a few ``eps·‖x‖²``: it is
#: returned when it exceeds ``OBJ_GRAM·‖x‖²`` (relative error under ~1e-12); smaller ones (an
#: almost exact fit) are recomputed from the residual ``x − zD``, and all of them in float32.
OBJ_GRAM = 1e-3


@numba.njit(cache=True, fastmath=FMA)
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


@numba.njit(cache=True, fastmath=FMA)
def _correlations_on(z, b, G, c, S, ns):
    """``c = b − z G`` for ``z`` supported on ``S[:ns]`` (in increasing order: the bits of
    :func:`_correlations`, without its branch per atom; ``S`` from :func:`nonzeros`)."""
    k = z.shape[0]
    for i in range(k):
        c[i] = b[i]
    for t in range(ns):
        j = S[t]
        zj = z[j]
        for i in range(k):
            c[i] -= zj * G[j, i]


@numba.njit(cache=True, fastmath=FMA)
def _refit(z, c, b, G, alpha, A, zA, rhs, y, L, cap):
    """Exact codes on the support of ``z`` with its signs; True when the signs hold.

    Then ``z`` and ``c`` are replaced (see the module docstring); otherwise nothing changes.
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
    for t in range(na):  # the signs of the support, then the same solve as the active set
        rhs[t] = 1.0 if z[A[t]] > 0 else -1.0
    if not _solve_signed(G, b, alpha, A, rhs, na, L, y, zA, 0):
        return False
    for t in range(na):  # signs must hold
        if zA[t] * z[A[t]] <= 0.0:
            return False
    for t in range(na):
        z[A[t]] = zA[t]
    _correlations_on(z, b, G, c, A, na)  # A: the support in increasing order
    return True


@numba.njit(cache=True, fastmath=FMA)
def _solve_signed(G, b, alpha, A, sg, na, L, y, zt, start):
    """``zt = G_AA⁻¹ (b_A − α s_A)`` by Cholesky; False if ``G_AA`` is numerically singular.

    Rows ``< start`` of the factor ``L`` are those of ``A[:start]`` already (an active set
    that only grew or lost a later atom since): only rows ``start…na−1`` are computed, each
    by the same operations as a full factorisation, so the result is the same to the bit.
    """
    for t in range(start, na):
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
        acc = b[A[t]] - alpha * sg[t]
        for u in range(t):
            acc -= L[t, u] * y[u]
        y[t] = acc / L[t, t]
    for t in range(na - 1, -1, -1):
        acc = y[t]
        for u in range(t + 1, na):
            acc -= L[u, t] * zt[u]
        zt[t] = acc / L[t, t]
    return True


@numba.njit(cache=True, fastmath=FMA)
def _active_set_one(b, G, xx, alpha, positive, tol, floor, z, c, A, sg, zt, y, L, cap, idx):
    """Primal active-set method (Osborne, Presnell & Turlach 2000) from ``z = 0``.

    Adds the worst KKT violator with the sign of its correlation, solves the equality-
    constrained problem on the active set, and steps back to the first sign change (dropping
    that atom) when the solution breaks a sign. Returns ``(rounds, rel_gap, status, F)`` with
    status 1 = converged, 0 = hand over to coordinate descent (from the current ``z``), and
    ``F`` the objective of the last check (in the Gram domain, :func:`lasso_gap`).
    """
    k = b.shape[0]
    for i in range(k):
        c[i] = b[i]
    na = 0
    valid = 0  # rows of the Cholesky factor L that hold for A[:na]
    for it in range(4 * k + 8):
        best = -1
        bv = alpha
        cmax = 0.0
        for j in range(k):
            v = c[j] if positive else abs(c[j])
            if v > cmax:
                cmax = v
            if v > bv and z[j] == 0.0:
                bv = v
                best = j
        F, gap = support_gap(z, b, c, A, na, xx, alpha, cmax)
        if gap <= tol * F + floor:
            return it, gap / max(F, 1e-300), 1, F
        if best < 0 or na == cap:
            return it, gap / max(F, 1e-300), 0, F
        A[na] = best
        sg[na] = 1.0 if c[best] > 0 else -1.0
        na += 1
        for _drop in range(na + 1):
            if not _solve_signed(G, b, alpha, A, sg, na, L, y, zt, valid):
                return it, gap / max(F, 1e-300), 0, F
            valid = na
            first = -1
            step = 1.0
            for t in range(na):
                if zt[t] * sg[t] <= 0.0:
                    zc_t = z[A[t]]
                    r = zc_t / (zc_t - zt[t]) if zc_t != zt[t] else 0.0
                    if r < step:
                        step = r
                        first = t
            if first < 0:
                for t in range(na):
                    z[A[t]] = zt[t]
                break
            if first == na - 1 and z[A[first]] == 0.0:
                return it, gap / max(F, 1e-300), 0, F  # the new atom would not move: hand over
            for t in range(na):
                z[A[t]] += step * (zt[t] - z[A[t]])
            z[A[first]] = 0.0
            for t in range(first, na - 1):
                A[t] = A[t + 1]
                sg[t] = sg[t + 1]
            na -= 1
            valid = first  # the factor's rows before the dropped atom still hold
        _correlations_on(z, b, G, c, idx, nonzeros(z, idx))
    return 4 * k + 8, 1.0, 0, 0.0


@numba.njit(cache=True, fastmath=FMA)
def _lasso_one(b, G, xx, alpha, positive, tol, floor, max_iter, z, c, W, inW, cw, A, zA, rhs,
               y, L, cap, topv, topj):
    """Working-set coordinate descent for one sample (see the module docstring); returns
    ``(rounds, rel_gap, converged, F)``, ``F`` the objective of the last check."""
    k = b.shape[0]
    _correlations_on(z, b, G, c, topj, nonzeros(z, topj))
    nw = 0
    for j in range(k):
        inW[j] = z[j] != 0.0
        if inW[j]:
            W[nw] = j
            nw += 1
    rel = 0.0
    F = 0.0
    for it in range(max_iter + 1):
        # scan: max |c_j| for the gap, and the largest violations outside W
        grow = min(max(GROW_MIN, nw), k - nw)
        cnt, cmax = largest_violations(c, alpha, positive, inW, inW, grow, topv, topj)
        F, gap = support_gap(z, b, c, W, nw, xx, alpha, cmax)
        rel = gap / max(F, 1e-300)
        if gap <= tol * F + floor:
            return it, rel, True, F
        if it == max_iter:
            break
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
        if not _refit(z, c, b, G, alpha, A, zA, rhs, y, L, cap):
            _correlations_on(z, b, G, c, topj, nonzeros(z, topj))
        if PRUNE:  # keep the working set to the support
            nw = prune_to_support(z, W, inW, nw)
    return max_iter, rel, False, F


@numba.njit(cache=True, parallel=True, fastmath=FMA)
def _lasso_batch(X, D, Dt, XDt, G, Z0, alpha, positive, tol, floor_eps, max_iter, Z, n_iter,
                 crit, conv, obj, obj_gram, cap, n_chunks):
    n = X.shape[0]
    with_obj = obj.shape[0] == n
    k = G.shape[0]
    warm = Z0.shape[0] == n
    size = (n + n_chunks - 1) // n_chunks
    for ch in numba.prange(n_chunks):
        buf = np.empty(k, dtype=X.dtype)
        pre = XDt.shape[0] == n
        c = np.empty(k, dtype=X.dtype)
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
        r = np.empty(X.shape[1], dtype=X.dtype)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            for j in range(k):
                Z[i, j] = Z0[i, j] if warm else 0.0
            if pre:
                b = XDt[i]
                xx = sq_norm(X[i])
            else:
                xx = project(X[i], Dt, buf)
                b = buf
            it0 = 0
            st = 0
            if not warm and ACTIVE_SET:
                it0, rel, st, F = _active_set_one(b, G, xx, alpha, positive, tol, floor_eps * xx,
                                                Z[i], c, A, topv, zA, y, L, cap, topj)
                if st == 1:
                    n_iter[i] = it0
                    crit[i] = rel
                    conv[i] = True
            if st != 1:
                it, rel, ok, F = _lasso_one(b, G, xx, alpha, positive, tol, floor_eps * xx,
                                         max_iter, Z[i], c, W, inW, cw, A, zA, rhs, y, L, cap,
                                         topv, topj)
                n_iter[i] = it + it0
                crit[i] = rel
                conv[i] = ok
            if with_obj:  # the sample's objective: that of the last check, or recomputed
                obj[i] = F if F > obj_gram * xx else objective_row(X[i], D, Z[i], alpha, 0,
                                                                   alpha, r, W)


def lasso_cd_gram(X, D, Z0, *, alpha, positive, tol, max_iter, xp=np, blas=False,
                  objective=False):
    """Numba coordinate descent; same arguments and returns as the reference kernel.

    ``blas``: ``X Dᵀ`` and ``G = D Dᵀ`` by BLAS (a learner's mini-batches, with BLAS on one
    thread: 5× faster than the per-sample products) instead of in the kernel's own loops.
    ``objective``: also return each sample's objective, the one the solve ends with
    (:data:`OBJ_GRAM`): that of ``sample_objective`` to ~1e-12 relative, without its pass
    over the residuals.
    """
    X = np.ascontiguousarray(X)
    dt = X.dtype.type
    D = np.ascontiguousarray(D, dtype=X.dtype)
    n, k = X.shape[0], D.shape[0]
    Dt = np.ascontiguousarray(D.T)
    XDt = rows_dot(X, Dt) if blas or use_blas(X, D) else np.empty((0, k), dtype=X.dtype)
    G = D @ Dt if blas else gram(D)
    Z0 = np.zeros((0, k), dtype=X.dtype) if Z0 is None else np.ascontiguousarray(Z0, X.dtype)
    Z = np.empty((n, k), dtype=X.dtype)
    n_iter = np.zeros(n, dtype=np.int64)
    crit = np.zeros(n, dtype=X.dtype)
    conv = np.zeros(n, dtype=np.bool_)
    obj = np.empty(n if objective else 0, dtype=X.dtype)
    cap = max(1, min(k, X.shape[1]))
    eps = float(np.finfo(X.dtype).eps)
    _lasso_batch(X, D, Dt, XDt, G, Z0, dt(alpha), bool(positive), dt(tol), dt(10 * eps),
                 int(max_iter), Z, n_iter, crit, conv, obj,
                 OBJ_GRAM if X.dtype == np.float64 else np.inf, cap, n_chunks(n))
    return (Z, n_iter, crit, conv, obj) if objective else (Z, n_iter, crit, conv)
