"""Convolutional MP / OMP: the numba twin of :func:`dictlearn.kernels.conv_mp.conv_mp`.

Signals run in parallel (``prange``). Each keeps its correlations in a work copy and, as
MPTK does, the maximum of every block of ``B`` shifts of every atom: a pick scans the block
maxima (``K·T_v/B`` values) instead of all ``K·T_v`` correlations, and a local update
recomputes only the blocks it touched. Picks, ties (first atom, then first shift) and the
arithmetic of the updates are the reference kernel's; OMP's Cholesky factor grows in place
(and doubles its buffers when full).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._numba_common import FMA

__all__ = ["conv_mp"]

_B = 64  # shifts per block


@numba.njit(cache=True, inline="always")
def _score(v, positive):
    return v if positive else abs(v)


@numba.njit(cache=True, fastmath=FMA)
def _refresh(c, blocked, bmax, barg, lo, hi, positive, orthogonal):
    K, Tv = c.shape
    for a in range(K):
        for b in range(lo // _B, (hi - 1) // _B + 1):
            best, arg = -np.inf, -1
            for t in range(b * _B, min(Tv, (b + 1) * _B)):
                if orthogonal and blocked[a, t]:
                    continue
                v = _score(c[a, t], positive)
                if v > best:
                    best, arg = v, t
            bmax[a, b], barg[a, b] = best, arg


@numba.njit(cache=True, fastmath=FMA)
def _update(c, G, k, t, amp, L):
    K, Tv = c.shape
    lo, hi = max(0, t - L + 1), min(Tv, t + L)
    for a in range(K):
        for u in range(lo, hi):
            c[a, u] = c[a, u] - amp * G[k, a, u - t + L - 1]
    return lo, hi


@numba.njit(cache=True, fastmath=FMA)
def _forward(Lc, rhs, out, s):
    for i in range(s):
        acc = rhs[i]
        for j in range(i):
            acc -= Lc[i, j] * out[j]
        out[i] = acc / Lc[i, i]


@numba.njit(cache=True, fastmath=FMA)
def _cho_solve(Lc, b, y, out, s):
    _forward(Lc, b, y, s)
    for i in range(s - 1, -1, -1):
        acc = y[i]
        for j in range(i + 1, s):
            acc -= Lc[j, i] * out[j]
        out[i] = acc / Lc[i, i]


@numba.njit(cache=True, fastmath=FMA)
def _gram_entry(G, k1, t1, k2, t2, L):
    d = t2 - t1
    return G[k1, k2, d + L - 1] if abs(d) < L else 0.0


@numba.njit(cache=True, fastmath=FMA)
def _refactor(G, ks, ts, idx, m, Lc, L):
    """Cholesky factor of the Gram of the support entries ``idx[:m]`` (from scratch)."""
    for i in range(m):
        for j in range(i + 1):
            acc = _gram_entry(G, ks[idx[i]], ts[idx[i]], ks[idx[j]], ts[idx[j]], L)
            for v in range(j):
                acc -= Lc[i, v] * Lc[j, v]
            if i == j:
                Lc[i, i] = math.sqrt(acc) if acc > 0 else 1.0
            else:
                Lc[i, j] = acc / Lc[j, j]


@numba.njit(cache=True, fastmath=FMA)
def _nonneg(G, ks, ts, bS, old, new, s, L, Lw, idx, bw, y, sol):
    """Lawson–Hanson steps (the reference's ``_nonneg``); returns the fit in ``new``."""
    active = np.ones(s, dtype=np.bool_)
    for _ in range(s + 1):
        found = False
        best, bi = np.inf, -1
        for i in range(s):
            if active[i] and new[i] <= 0:
                found = True
                r = old[i] / (old[i] - new[i])
                if r < best:
                    best, bi = r, i
        if not found:
            break
        active[bi] = False
        for i in range(s):
            old[i] = old[i] + best * (new[i] - old[i]) if active[i] else 0.0
        m = 0
        for i in range(s):
            if active[i]:
                idx[m] = i
                bw[m] = bS[i]
                m += 1
        for i in range(s):
            new[i] = 0.0
        if m:
            _refactor(G, ks, ts, idx, m, Lw, L)
            _cho_solve(Lw, bw, y, sol, m)
            for i in range(m):
                new[idx[i]] = sol[i]
    for i in range(s):
        if not active[i]:
            new[i] = 0.0


@numba.njit(cache=True, fastmath=FMA)
def _one(c, G, xx, tol, kmax, positive, orthogonal, cond_tol, z, picks):
    K, Tv = c.shape
    L = (G.shape[2] + 1) // 2
    nb = (Tv + _B - 1) // _B
    blocked = np.zeros((K, Tv), dtype=np.bool_)
    bmax = np.empty((K, nb))
    barg = np.empty((K, nb), dtype=np.int64)
    _refresh(c, blocked, bmax, barg, 0, Tv, positive, orthogonal)
    cap = 16
    ks = np.empty(cap, dtype=np.int64)
    ts = np.empty(cap, dtype=np.int64)
    bS = np.empty(cap)
    gam = np.zeros(cap)
    prev = np.zeros(cap)
    Lc = np.zeros((cap, cap))
    w = np.empty(cap)
    g = np.empty(cap)
    y = np.empty(cap)
    s = 0
    n_picks = 0
    rr = xx
    while n_picks < kmax and rr > tol:
        best, k, t = -np.inf, -1, -1
        for a in range(K):
            for b in range(nb):
                if bmax[a, b] > best:
                    best, k, t = bmax[a, b], a, barg[a, b]
        if not best > 0:
            break
        amp = c[k, t]
        if not orthogonal:
            picks[n_picks] = k * Tv + t
            n_picks += 1
            z[k, t] += amp
            lo, hi = _update(c, G, k, t, amp, L)
            _refresh(c, blocked, bmax, barg, lo, hi, positive, orthogonal)
            rr = max(rr - amp * amp, 0.0)
            continue
        blocked[k, t] = True
        _refresh(c, blocked, bmax, barg, t, t + 1, positive, orthogonal)
        if s == cap:  # grow the buffers
            cap *= 2
            ks2, ts2 = np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64)
            bS2, gam2, Lc2 = np.empty(cap), np.zeros(cap), np.zeros((cap, cap))
            ks2[:s], ts2[:s], bS2[:s], gam2[:s] = ks[:s], ts[:s], bS[:s], gam[:s]
            Lc2[:s, :s] = Lc[:s, :s]
            ks, ts, bS, gam, Lc = ks2, ts2, bS2, gam2, Lc2
            prev, w, g, y = np.zeros(cap), np.empty(cap), np.empty(cap), np.empty(cap)
        for i in range(s):
            g[i] = _gram_entry(G, ks[i], ts[i], k, t, L)
        _forward(Lc, g, w, s)
        gjj = G[k, k, L - 1]
        d = gjj
        for i in range(s):
            d -= w[i] * w[i]
        if not d > cond_tol * gjj:
            continue
        picks[n_picks] = k * Tv + t
        n_picks += 1
        acc = amp
        for i in range(s):
            acc += gam[i] * g[i]
        for i in range(s):
            Lc[s, i] = w[i]
            prev[i] = gam[i]
        Lc[s, s] = math.sqrt(d)
        ks[s], ts[s], bS[s], prev[s] = k, t, acc, 0.0
        s += 1
        _cho_solve(Lc, bS, y, gam, s)
        if positive:
            _nonneg(G, ks, ts, bS, prev.copy(), gam, s, L, np.zeros((s, s)),
                    np.empty(s, dtype=np.int64), np.empty(s), np.empty(s), np.empty(s))
        for i in range(s):
            if gam[i] != prev[i]:
                lo, hi = _update(c, G, ks[i], ts[i], gam[i] - prev[i], L)
                _refresh(c, blocked, bmax, barg, lo, hi, positive, orthogonal)
        if positive:
            m = 0
            for i in range(s):
                if gam[i] != 0.0:
                    ks[m], ts[m], bS[m], gam[m] = ks[i], ts[i], bS[i], gam[i]
                    m += 1
            if m < s:
                s = m
                idx = np.arange(s)
                _refactor(G, ks, ts, idx, s, Lc, L)
        rr = xx
        for i in range(s):
            rr -= gam[i] * bS[i]
        rr = max(rr, 0.0)
    if orthogonal:
        for i in range(s):
            z[ks[i], ts[i]] = gam[i]
    return n_picks, rr


@numba.njit(cache=True, parallel=True)
def _batch(C, G, xx, tol, kmax, positive, orthogonal, cond_tol, Z, used, rr, picks):
    for i in numba.prange(C.shape[0]):
        c = C[i].copy()
        used[i], rr[i] = _one(c, G, xx[i], tol[i], kmax, positive, orthogonal, cond_tol,
                              Z[i], picks[i])


def conv_mp(C: np.ndarray, G: np.ndarray, xx: np.ndarray, tol: np.ndarray, *,
            n_nonzero_coefs: int, positive: bool, orthogonal: bool,
            cond_tol: float = 1e-10):
    """As :func:`dictlearn.kernels.conv_mp.conv_mp` (NumPy arrays, float64 work)."""
    n, K, Tv = C.shape
    dtype = C.dtype
    C64 = np.ascontiguousarray(C, dtype=np.float64)
    G64 = np.ascontiguousarray(G, dtype=np.float64)
    kmax = int(n_nonzero_coefs)
    Z = np.zeros((n, K, Tv))
    used = np.zeros(n, dtype=np.int64)
    rr = np.zeros(n)
    picks = np.full((n, min(kmax, 1 << 20)), -1, dtype=np.int64)
    kmax = min(kmax, picks.shape[1])
    _batch(C64, G64, np.asarray(xx, dtype=np.float64), np.asarray(tol, dtype=np.float64),
           kmax, bool(positive), bool(orthogonal), float(cond_tol), Z, used, rr, picks)
    width = int(used.max()) if n else 0
    return Z.astype(dtype), used, rr.astype(dtype), picks[:, :width]
