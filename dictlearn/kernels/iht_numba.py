r"""Iterative hard thresholding per sample: the numba twin of ``iht_l0``.

Per sample (``prange`` over chunks of samples), in the Gram domain: with ``b = x Dᵀ`` (one BLAS
product for all samples), ``G = D Dᵀ`` and the negative gradient ``g = c = b − z G`` kept up to
date by the rows of ``G`` of the atoms that changed (at most ``2s`` rows per step), each step is

.. math:: z \leftarrow H_s(z + \mu g),

with ``H_s`` the ``s`` largest entries (by magnitude, or by value when ``positive``; ties to the
lower index) found by insertion into an ``s``-slot buffer in one scan of the ``k`` entries (no
sort; once a support of ``s`` atoms exists, its smallest key bounds the s-th largest from below
and the scan rejects every entry under it with one compare). Plain IHT uses ``μ = 1/L``;
normalized IHT (Blumensath & Davies 2010) takes
``μ = ‖g_Γ‖²/‖g_Γ D‖²`` on the support ``Γ`` (that of ``H_s(g)`` at the start), where
``‖g_Γ D‖² = g_Γ G_ΓΓ g_Γᵀ`` costs ``s²``, and when the support changes it shrinks ``μ`` by
``κ(1 − c)`` until ``μ ≤ (1 − c)‖z̃ − z‖²/‖(z̃ − z)D‖²`` (``c = 0.01``, ``κ = 2``; at most
``max_shrink`` times), exactly as the reference :func:`dictlearn.coding.iht`. A step that
changes the support costs ``O(k)`` for the scan plus ``O(s·k)`` for the correlations, instead
of two products with the whole dictionary and two sorts; one that provably keeps it costs
``O(s²)`` (:func:`_iht_one`).

Off the support ``z_j = 0``, so the key of atom ``j`` is ``μ|c_j|``: shrinking ``μ`` scales
every such key alike and keeps their order. A step that may change the support therefore scans
the atoms once, for the ``s + 1`` largest ``|c_j|`` off the support (:func:`_topk` of ``c``; only
keys above ``lo/μ``, under which no atom can enter, and above half the largest, a guess that
the certificate below checks, are considered), and every selection of that step (the first and
each retry with a smaller ``μ``) merges the support with those candidates only
(:func:`_merge_select`): ``O(s²)`` instead of a scan. The merge is exact when the largest key
left out (the ``(s + 1)``-th candidate's, or the prefilter's) is strictly below the ``s``-th
selected one, rounding being monotone; otherwise, and on ties there, the full scan
(:func:`_select`) decides.
"""

from __future__ import annotations

import numba
import numpy as np

from ._numba_common import (
    FMA,
    bits_float,
    float_bits,
    insert_top,
    n_chunks,
    rows_dot,
)
from .lasso_cd_numba import _correlations

__all__ = ["iht_l0"]

#: The candidates of a step are the atoms off the support with a key above this fraction of
#: the largest; when the merge cannot prove its selection from them, the full scan decides.
_PREFILTER = 0.5


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _quad(v, idx, n, G):
    """``v_I G_II v_Iᵀ`` over the indices ``idx[:n]`` (``v`` indexed by atom)."""
    acc = 0.0
    for t in range(n):
        a = v[idx[t]]
        if a != 0.0:
            row = 0.0
            for u in range(n):
                row += G[idx[t], idx[u]] * v[idx[u]]
            acc += a * row
    return acc


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _off_max(c, off, positive):
    """``max_j key(c_j)`` over the atoms off the support (``off`` is 1 there, 0 on it), and 0
    at least: an integer max of the bit patterns (:func:`float_bits`), which vectorises."""
    zero = c[0] - c[0]
    hi = float_bits(zero)
    if positive:
        for j in range(c.shape[0]):
            v = float_bits(c[j] * off[j])
            hi = v if v > hi else hi
    else:
        for j in range(c.shape[0]):
            v = float_bits(abs(c[j]) * off[j])
            hi = v if v > hi else hi
    return bits_float(hi, zero)


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _sync(c, G, acc, off, sup, ns):
    """Apply the pending support steps ``acc`` to the correlations off the support."""
    k = c.shape[0]
    for t in range(ns):
        j = sup[t]
        a = acc[j]
        if a != 0.0:
            for i in range(k):
                c[i] -= a * G[j, i] * off[i]
            acc[j] = 0.0


@numba.njit(cache=True, fastmath=FMA)
def _topk(z, c, mu, tau, positive, K, topv, topj, skip):
    """The ``K`` largest keys of ``w = z + μc`` (``|w_j|``, or ``w_j`` when ``positive``; ties
    to the lower index) into ``topv``/``topj`` by insertion, ``w`` formed on the fly; entries
    with a key below ``tau`` (a lower bound of the K-th largest key) are skipped with one
    compare. ``z=None`` takes ``w = c``; atoms with ``skip_j`` True are left out (``skip=None``:
    none); both are resolved at compile time. Returns their count. (One loop per key kind: no
    test of ``positive`` inside.)"""
    cnt = 0
    kth = -np.inf  # the K-th key once the buffer is full: an entry must exceed it
    if positive:
        for j in range(c.shape[0]):
            v = c[j] if z is None else z[j] + mu * c[j]
            if v < tau or v <= kth or (skip is not None and skip[j]):
                continue
            cnt = insert_top(v, j, cnt, K, topv, topj)
            if cnt == K:
                kth = topv[K - 1]
    else:
        for j in range(c.shape[0]):
            v = abs(c[j]) if z is None else abs(z[j] + mu * c[j])
            if v < tau or v <= kth or (skip is not None and skip[j]):
                continue
            cnt = insert_top(v, j, cnt, K, topv, topj)
            if cnt == K:
                kth = topv[K - 1]
    return cnt


@numba.njit(cache=True, inline="always", fastmath=FMA)
def _emit(z, c, mu, positive, topj, cnt, znew, on_new, nsup):
    """The nonzeros of ``z + μc`` on ``topj[:cnt]`` (positive ones with ``positive``) into
    ``znew``, ``on_new`` and ``nsup``, in that order; returns their count."""
    nn = 0
    for t in range(cnt):
        j = topj[t]
        v = z[j] + mu * c[j]
        if v != 0.0 and not (positive and v < 0):
            znew[j] = v
            on_new[j] = True
            nsup[nn] = j
            nn += 1
    return nn


@numba.njit(cache=True, fastmath=FMA)
def _select(z, c, mu, K, positive, sup, ns, topv, topj, znew, on_new, nsup):
    """``znew = H_K(z + μ c)``: its nonzeros go to ``nsup`` (returned count), ``znew`` and
    ``on_new``, which must be clear elsewhere (:func:`_clear` undoes it).

    When the current support ``sup[:ns]`` has ``K`` atoms, the smallest key of ``z + μ c`` on
    it (less a rounding margin) bounds the K-th largest key from below, and the scan skips
    every entry under it."""
    tau = -np.inf
    if ns == K:
        tau = np.inf
        scale = 0.0
        for t in range(ns):
            j = sup[t]
            v = z[j] + mu * c[j]
            tau = min(tau, v if positive else abs(v))
            scale = max(scale, abs(z[j]) + abs(mu * c[j]))
        tau -= 4.0 * np.finfo(z.dtype).eps * (abs(tau) + scale)  # any rounding of z + μc
    cnt = _topk(z, c, mu, tau, positive, K, topv, topj, None)
    return _emit(z, c, mu, positive, topj, cnt, znew, on_new, nsup)


@numba.njit(cache=True, fastmath=FMA)
def _first_select(z, c, mu, K, positive, topv, topj, znew, on_new, nsup):
    """:func:`_select` from ``z = 0`` when ``topv``/``topj`` hold the ``K + 1`` largest keys
    of ``c`` (ties to the lower index): if ``μ`` times them (rounded, as ``z + μc`` is) stay
    strictly decreasing (and, with ``positive``, the K-th stays positive), ``H_K(z + μc)``
    keeps the first ``K`` in that order and the result is built from them; else -1."""
    prev = mu * topv[0]
    for t in range(1, K + 1):
        cur = mu * topv[t]
        if not cur < prev:
            return -1
        prev = cur
    if positive and not mu * topv[K - 1] > 0:
        return -1
    return _emit(z, c, mu, positive, topj, K, znew, on_new, nsup)


@numba.njit(cache=True, fastmath=FMA)
def _merge_select(z, c, mu, K, positive, sup, ns, candj, nc, bound, topv, topj, znew,
                  on_new, nsup):
    """:func:`_select` from the support and the candidates ``candj[:nc]`` off it only; every
    other atom off the support has ``key(c_j) <= bound``. Returns -1 when that does not prove
    the result equal to the full scan's."""
    cnt = 0
    for t in range(ns + nc):  # (a warm start's support may hold more than K atoms)
        j = sup[t] if t < ns else candj[t - ns]
        v = z[j] + mu * c[j] if t < ns else c[j] * mu  # z_j = 0 off the support
        v = v if positive else abs(v)
        if cnt < K or v > topv[K - 1] or (v == topv[K - 1] and j < topj[K - 1]):
            cnt = insert_top(v, j, cnt, K, topv, topj, True)
    if bound > -np.inf:
        if cnt < K:
            return -1
        b = mu * bound
        if not b < topv[K - 1]:
            return -1
    return _emit(z, c, mu, positive, topj, cnt, znew, on_new, nsup)


@numba.njit(cache=True, inline="always")
def _union(sup, ns, nsup, nn, on, uni):
    """``uni`` = the old support ``sup[:ns]`` then the new atoms of ``nsup[:nn]``; its size."""
    for t in range(ns):
        uni[t] = sup[t]
    nu = ns
    for t in range(nn):
        if not on[nsup[t]]:
            uni[nu] = nsup[t]
            nu += 1
    return nu


@numba.njit(cache=True, inline="always")
def _clear(znew, on_new, nsup, nn):
    for t in range(nn):
        znew[nsup[t]] = 0.0
        on_new[nsup[t]] = False


@numba.njit(cache=True, fastmath=FMA)
def _iht_one(b, G, gmax, K, positive, normalized, mu_fixed, tol, max_iter, check_every,
             max_shrink, shrink_c, kappa, warm, z, c, acc, on, on_new, off, sup, nsup, w, znew,
             dz, gam, uni, topv, topj, candv, candj):
    """IHT for one sample from ``z``; returns ``(iterations, relative change, converged,
    support size)``.

    ``on``, ``off``, ``acc``, ``znew`` and ``on_new`` come in clear (``off`` all 1): the caller
    clears the entries of the final support ``sup[:size]`` afterwards, so a sample costs no
    pass over the atoms for them. Without a warm start (``warm`` False, ``z = 0``) ``c`` may be
    ``b`` itself (then overwritten).

    While the support ``S`` stays, the correlations off ``S`` are updated lazily: the steps
    since the last exact update add up in ``acc`` and move any ``c_i`` (``i ∉ S``) by at most
    ``Σ_j gmax_j|acc_j|`` (``gmax_j = max_{i≠j} |G_ij|``), so ``H_s`` provably keeps ``S``
    while ``min_S key(z + μc) > μ(max_{i∉S} key(c_i) + Σ_j gmax_j|acc_j|)``; a step then costs
    ``O(s²)``.
    Otherwise ``c`` is brought up to date (``O(s·k)``) and the exact test or the selection
    decides, so the steps are those of the reference kernel.

    The first step of normalized IHT from ``z = 0`` takes ``Γ`` = the support of ``H_s(g)``
    from a scan for the ``s + 1`` largest keys of ``g``; while ``μ`` times those keys stay
    strictly decreasing, ``H_s(0 + μ g)`` (and each retry with a shrunk ``μ``) keeps exactly
    ``Γ`` in the same order, so no further scan is needed (:func:`_first_select`). As in the
    paper, a new support equal to ``Γ`` takes the step whole (no ``ω`` test); at the start that
    is the usual case.
    """
    k = b.shape[0]
    ns_on = 0
    if warm:
        _correlations(z, b, G, c)
        for j in range(k):
            if z[j] != 0.0:
                on[j] = True
                off[j] = 0.0
                sup[ns_on] = j
                ns_on += 1
    hi = 0.0
    hi_ok = False  # hi = max_{i∉S} key(c_i) at the last exact update of c
    l1acc = 0.0
    rel = np.inf
    shrink = kappa * (1.0 - shrink_c)
    K1 = min(K + 1, k)
    for it in range(1, max_iter + 1):
        first = False  # topv/topj hold the K1 largest keys of c (z = 0)
        if normalized:
            ns = ns_on
            for t in range(ns):
                gam[t] = sup[t]
            if ns == 0:  # first step: the support of H_s(g) (of H_s(max(g, 0)) if positive)
                if positive:
                    for j in range(k):
                        w[j] = max(c[j], 0.0)
                    ns = _topk(None, w, 1.0, -np.inf, True, K1, topv, topj, None)
                else:
                    ns = _topk(None, c, 1.0, -np.inf, False, K1, topv, topj, None)
                ns = min(K, ns)
                first = K1 > K
                for t in range(ns):
                    gam[t] = topj[t]
            num = 0.0
            for t in range(ns):
                num += c[gam[t]] * c[gam[t]]
            mu = num / max(_quad(c, gam, ns, G), 1e-300)
        else:
            mu = mu_fixed
        fast = False
        hi_now = False  # hi is this iteration's exact max off the support
        lo = 0.0
        nc = -1  # off-support candidates of this iteration's c (none yet)
        bound = -np.inf
        if ns_on == K:  # does H_s keep the support?
            lo = np.inf
            for t in range(ns_on):
                v = z[sup[t]] + mu * c[sup[t]]
                lo = min(lo, v if positive else abs(v))
            if lo > 0:
                if hi_ok and lo > mu * (hi + l1acc):
                    fast = True
                else:
                    _sync(c, G, acc, off, sup, ns_on)
                    l1acc = 0.0
                    hi = _off_max(c, off, positive)
                    hi_ok = True
                    hi_now = True
                    fast = lo > mu * hi
        dn = 0.0
        zn = 0.0
        if fast:  # z_S += μ c_S; c exact on S, pending off S
            for t in range(ns_on):
                j = sup[t]
                d = mu * c[j]
                dz[t] = d
                z[j] += d
                acc[j] += d
                dn += d * d
                zn += z[j] * z[j]
            l1acc = 0.0
            for t in range(ns_on):
                j = sup[t]
                l1acc += abs(acc[j]) * gmax[j]
                for u in range(ns_on):
                    c[sup[u]] -= dz[t] * G[j, sup[u]]
        else:
            _sync(c, G, acc, off, sup, ns_on)
            l1acc = 0.0
            if not first and nc < 0:
                theta = -np.inf
                if lo > 0 and mu > 0:  # an atom under lo/μ cannot enter at this μ
                    theta = (lo / mu) * (1.0 - 1e-3)
                    if hi_now:  # a guess: rarely does an atom under hi/2 enter
                        theta = max(theta, _PREFILTER * hi)
                # the K1 largest keys of c above theta off the support
                nc = _topk(None, c, 1.0, theta, positive, K1, candv, candj, on)
                bound = candv[K1 - 1] if nc == K1 else theta
            nn = 0
            for s in range(max_shrink + 1):
                _clear(znew, on_new, nsup, nn)
                nn = -1
                if first:
                    nn = _first_select(z, c, mu, K, positive, topv, topj, znew, on_new, nsup)
                    if nn < 0:
                        first = False
                elif nc >= 0:
                    nn = _merge_select(z, c, mu, K, positive, sup, ns_on, candj, nc, bound, topv,
                                       topj, znew, on_new, nsup)
                if nn < 0:
                    nn = _select(z, c, mu, K, positive, sup, ns_on, topv, topj, znew, on_new,
                                 nsup)
                if not normalized or s == max_shrink:
                    break
                same = nn == ns  # the new support is Γ (at the start, that of H_s(g))
                for t in range(nn):
                    if ns_on > 0:
                        same = same and on[nsup[t]]
                    else:
                        hit = False
                        for u in range(ns):
                            hit = hit or gam[u] == nsup[t]
                        same = same and hit
                if same:
                    break
                nu = _union(sup, ns_on, nsup, nn, on, uni)
                dd = 0.0
                for t in range(nu):
                    j = uni[t]
                    d = znew[j] - z[j]
                    dz[j] = d
                    dd += d * d
                omega = (1.0 - shrink_c) * dd / max(_quad(dz, uni, nu, G), 1e-300)
                if mu <= omega:
                    break
                mu = mu / shrink
            nu = _union(sup, ns_on, nsup, nn, on, uni)
            for t in range(nu):
                j = uni[t]
                d = znew[j] - z[j]
                if d != 0.0:
                    dn += d * d
                    for i in range(k):
                        c[i] -= d * G[j, i]
                z[j] = znew[j]
                zn += z[j] * z[j]
                on[j] = False
                off[j] = 1.0
            for t in range(nn):
                j = nsup[t]
                sup[t] = j
                on[j] = True
                off[j] = 0.0
            ns_on = nn
            _clear(znew, on_new, nsup, nn)
            hi_ok = False
        dn = np.sqrt(dn)
        zn = np.sqrt(zn)
        if it % check_every == 0 or it == max_iter:
            rel = dn / max(zn, 1e-300)
            if dn <= tol * zn:
                return it, rel, True, ns_on
    return max_iter, rel, False, ns_on


@numba.njit(cache=True, parallel=True, fastmath=FMA)
def _iht_batch(XDt, G, Z0, K, positive, normalized, mu_fixed, tol, max_iter, check_every,
               max_shrink, shrink_c, kappa, Z, n_iter, crit, conv, nch):
    n, k = XDt.shape
    warm = Z0.shape[0] == n
    gmax = np.zeros(k, dtype=G.dtype)
    for i in range(k):
        for j in range(k):
            if i != j:
                gmax[i] = max(gmax[i], abs(G[i, j]))
    size = (n + nch - 1) // nch
    for ch in numba.prange(nch):
        c = np.empty(k, dtype=G.dtype)
        acc = np.zeros(k, dtype=G.dtype)
        on = np.zeros(k, dtype=np.bool_)
        on_new = np.zeros(k, dtype=np.bool_)
        off = np.ones(k, dtype=G.dtype)
        sup = np.empty(k, dtype=np.int64)
        nsup = np.empty(k, dtype=np.int64)
        w = np.empty(k, dtype=G.dtype)
        znew = np.zeros(k, dtype=G.dtype)
        dz = np.zeros(k, dtype=G.dtype)
        gam = np.empty(k, dtype=np.int64)
        uni = np.empty(k, dtype=np.int64)
        topv = np.empty(k, dtype=G.dtype)
        topj = np.empty(k, dtype=np.int64)
        candv = np.empty(k, dtype=G.dtype)
        candj = np.empty(k, dtype=np.int64)
        for i in range(ch * size, min(n, (ch + 1) * size)):
            for j in range(k):
                Z[i, j] = Z0[i, j] if warm else 0.0
            cc = c if warm else XDt[i]
            it, r, ok, ns = _iht_one(XDt[i], G, gmax, K, positive, normalized, mu_fixed, tol,
                                     max_iter, check_every, max_shrink, shrink_c, kappa, warm,
                                     Z[i], cc, acc, on, on_new, off, sup, nsup, w, znew,
                                     dz, gam, uni, topv, topj, candv, candj)
            for t in range(ns):  # clear the state of the final support for the next sample
                j = sup[t]
                on[j] = False
                off[j] = 1.0
                acc[j] = 0.0
            n_iter[i] = it
            crit[i] = r
            conv[i] = ok


def iht_l0(X, D, Z0, *, n_nonzero_coefs, normalized, positive, tol, max_iter, check_every,
           lipschitz, max_shrink, shrink_c, kappa, xp=np):
    """Numba IHT; same arguments and returns as the reference kernel."""
    X = np.ascontiguousarray(X)
    dt = X.dtype.type
    D = np.ascontiguousarray(D, dtype=X.dtype)
    n, k = X.shape[0], D.shape[0]
    Z0 = np.zeros((0, k), dtype=X.dtype) if Z0 is None else np.ascontiguousarray(Z0, X.dtype)
    XDt = rows_dot(X, D.T)  # overwritten by the correlations of cold-started rows
    G = D @ D.T
    Z = np.empty((n, k), dtype=X.dtype)
    n_iter = np.zeros(n, dtype=np.int64)
    crit = np.zeros(n, dtype=X.dtype)
    conv = np.zeros(n, dtype=np.bool_)
    mu = 1.0 / lipschitz if lipschitz else 1.0
    _iht_batch(XDt, G, Z0, int(n_nonzero_coefs), bool(positive), bool(normalized), dt(mu),
               dt(tol), int(max_iter), int(check_every), int(max_shrink), float(shrink_c),
               float(kappa), Z, n_iter, crit, conv, n_chunks(n))
    return Z, n_iter, crit, conv
