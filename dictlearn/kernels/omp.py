r"""Batch OMP in the Gram domain: the reference Array-API kernel ``omp_gram``.

Every sample runs Orthogonal Matching Pursuit from ``b = x Dᵀ`` and ``G = D Dᵀ`` only
(Rubinstein, Zibulevsky & Elad 2008): at each step the atom of largest correlation
``c = b − γ G_S`` joins the support ``S``, the Cholesky factor of ``G_SS`` grows by one row
``[wᵀ, √(G_jj − wᵀw)]`` with ``L w = G_Sj``, and ``γ = G_SS⁻¹ b_S`` is refit. The squared
residual is ``‖x‖² − γ·b_S``. An atom whose new pivot ``G_jj − wᵀw`` is below
``cond_tol · G_jj`` is (numerically) in the span of the support: it is skipped and never
selected again for that sample, so repeated or nearly dependent atoms cannot break the factor.

With ``positive=True`` the atom of largest *positive* correlation joins, and the fit on the
support is kept non-negative by Lawson–Hanson steps: when the refit has non-positive entries
the code moves from the previous feasible fit towards it until the first entry reaches zero,
that atom leaves the support (and is not selected again), and the fit is recomputed.

This module is the Array-API twin, vectorised over samples (rows stay in a fixed number of
slots, the Gram of the support is factored afresh for all rows at once); the numba twin in
:mod:`dictlearn.kernels.omp_numba` runs the same steps per sample with progressive Cholesky
updates.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import register_kernel

__all__ = ["omp_gram"]

#: Most elements of one (rows, slots, atoms) work array; larger batches run in row blocks.
_BLOCK_ELEMENTS = 1 << 22


def _support_gram(G: Any, S: Any, act: Any, xp: ModuleType) -> Any:
    """``G_SS`` per row, (n, K, K), with the identity on inactive slots."""
    n, K = S.shape
    Gsel = xp.take(G, xp.reshape(S, (-1,)), axis=0)  # (n*K, k)
    Gsel = xp.reshape(Gsel, (n, K, G.shape[0]))
    idx = xp.broadcast_to(S[:, None, :], (n, K, K))
    GS = xp.take_along_axis(Gsel, idx, axis=2)
    both = act[:, :, None] & act[:, None, :]
    eye = xp.eye(K, dtype=G.dtype, device=getattr(G, "device", None))
    return xp.where(both, GS, xp.broadcast_to(eye, (n, K, K))), Gsel


def _cho_solve(L: Any, b: Any, xp: ModuleType) -> Any:
    y = xp.linalg.solve(L, b[..., None])
    return xp.linalg.solve(xp.matrix_transpose(L), y)[..., 0]


def _fit(G: Any, XDt: Any, S: Any, act: Any, xp: ModuleType):
    """Least squares on each row's support: ``γ``, ``b_S`` and ``G_S`` rows."""
    GS, Gsel = _support_gram(G, S, act, xp)
    L = xp.linalg.cholesky(GS)
    zero = xp.zeros_like(XDt[:, :1])
    bS = xp.where(act, xp.take_along_axis(XDt, S, axis=1), zero)
    return _cho_solve(L, bS, xp), bS, L, Gsel


def _compact(S: Any, act: Any, gam: Any, xp: ModuleType):
    """Move active slots first, keeping their order."""
    order = xp.argsort(xp.astype(~act, xp.int8), axis=1, stable=True)
    return (xp.take_along_axis(S, order, axis=1), xp.take_along_axis(act, order, axis=1),
            xp.take_along_axis(gam, order, axis=1))


def _nonneg_fix(G, XDt, S, act, s, gam_old, gam_new, rows, xp):
    """Lawson–Hanson steps on ``rows`` until every refit is positive on its support."""
    K = S.shape[1]
    zero = xp.zeros_like(gam_new)
    inf = xp.full_like(gam_new, float("inf"))
    for _ in range(K + 1):
        neg = act & (gam_new <= 0) & rows[:, None]
        bad = xp.any(neg, axis=1)
        if not bool(xp.any(bad)):
            break
        denom = xp.where(neg, gam_old - gam_new, xp.ones_like(gam_new))
        ratio = xp.where(neg, gam_old / denom, inf)
        first = xp.argmin(ratio, axis=1)
        step = xp.where(bad, xp.min(ratio, axis=1), xp.zeros_like(ratio[:, 0]))[:, None]
        mid = gam_old + step * (gam_new - gam_old)
        kill = (xp.arange(K, device=getattr(S, "device", None))[None, :] == first[:, None])
        kill = kill & bad[:, None]
        act = act & ~kill
        gam_old = xp.where(bad[:, None], xp.where(kill, zero, mid), gam_old)
        s = s - xp.astype(bad, s.dtype)
        S, act, gam_old = _compact(S, act, gam_old, xp)
        refit = _fit(G, XDt, S, act, xp)[0]
        gam_new = xp.where(bad[:, None], refit, gam_new)
    return S, act, s, gam_new


@register_kernel("omp_gram", "reference")
def omp_gram(X: Any, D: Any, *, n_nonzero_coefs: int, tol: float, positive: bool, cond_tol: float,
             xp: ModuleType) -> tuple[Any, Any, Any]:
    """Batch OMP of the rows of ``X`` (n, m) on the atoms ``D`` (k, m), in the Gram domain.

    Each row stops after ``n_nonzero_coefs`` atoms, when its squared residual is ``<= tol``, or
    when no atom has a (positive) correlation left.

    Returns
    -------
    Z : array (n, k)
        The codes.
    n_atoms_used : array (n,) of int
    rr : array (n,)
        Squared residual norms ``‖x − z D‖²``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(3); X = np.array([[3.0, -1.0, 0.5]])
    >>> Z, used, rr = omp_gram(X, D, n_nonzero_coefs=2, tol=0.0, positive=False,
    ...                        cond_tol=1e-8, xp=np)
    >>> Z, used, rr
    (array([[ 3., -1.,  0.]]), array([2]), array([0.25]))
    """
    n, k, K = X.shape[0], D.shape[0], int(n_nonzero_coefs)
    block = max(1, _BLOCK_ELEMENTS // (K * k))  # bounds the (rows, K, k) work arrays
    if n > block:
        parts = [omp_gram(X[i:i + block, :], D, n_nonzero_coefs=K, tol=tol, positive=positive,
                          cond_tol=cond_tol, xp=xp) for i in range(0, n, block)]
        return tuple(xp.concat([p[t] for p in parts]) for t in range(3))
    XDt = X @ xp.matrix_transpose(D)
    G = D @ xp.matrix_transpose(D)
    xx = xp.sum(X * X, axis=1)
    dev = getattr(XDt, "device", None)
    S = xp.zeros((n, K), dtype=xp.int64, device=dev)
    act = xp.zeros((n, K), dtype=xp.bool, device=dev)
    s = xp.zeros((n,), dtype=xp.int64, device=dev)
    gam = xp.zeros((n, K), dtype=XDt.dtype, device=dev)
    excl = xp.zeros((n, k), dtype=xp.bool, device=dev)
    done = xp.zeros((n,), dtype=xp.bool, device=dev)
    rr = xx
    atoms = xp.arange(k, device=dev)[None, :]
    slots = xp.arange(K, device=dev)[None, :]
    diag = xp.linalg.diagonal(G)
    for _ in range(k + 1):
        Gsel = xp.reshape(xp.take(G, xp.reshape(S, (-1,)), axis=0), (n, K, k))
        gam_act = xp.where(act, gam, xp.zeros_like(gam))
        c = XDt - (gam_act[:, None, :] @ Gsel)[:, 0, :]
        score = c if positive else xp.abs(c)
        score = xp.where(excl, xp.full_like(score, -float("inf")), score)
        j = xp.argmax(score, axis=1)
        best = xp.max(score, axis=1)
        done = done | (s >= K) | (rr <= tol) | ~(best > 0)
        cand = ~done
        if not bool(xp.any(cand)):
            break
        GS, _ = _support_gram(G, S, act, xp)
        L = xp.linalg.cholesky(GS)
        Gj = xp.take(G, j, axis=0)
        g = xp.where(act, xp.take_along_axis(Gj, S, axis=1), xp.zeros_like(gam))
        w = xp.linalg.solve(L, g[..., None])[..., 0]
        gjj = xp.take(diag, j)
        d = gjj - xp.sum(w * w, axis=1)
        ok = cand & (d > cond_tol * gjj)
        excl = excl | (cand[:, None] & (atoms == j[:, None]))
        slot = (slots == s[:, None]) & ok[:, None]
        S = xp.where(slot, j[:, None], S)
        act = act | slot
        s = s + xp.astype(ok, s.dtype)
        gam_new, _, _, _ = _fit(G, XDt, S, act, xp)
        if positive:
            gam_old = xp.where(act & ~slot, gam, xp.zeros_like(gam))
            S, act, s, gam_new = _nonneg_fix(G, XDt, S, act, s, gam_old, gam_new, ok, xp)
        gam = xp.where(ok[:, None], xp.where(act, gam_new, xp.zeros_like(gam)), gam)
        bS = xp.where(act, xp.take_along_axis(XDt, S, axis=1), xp.zeros_like(gam))
        rr = xp.where(ok, xp.maximum(xx - xp.sum(gam * bS, axis=1), 0.0), rr)
    onehot = xp.astype(S[:, :, None] == atoms[:, None, :], XDt.dtype)
    vals = xp.where(act, gam, xp.zeros_like(gam))
    Z = xp.sum(onehot * vals[:, :, None], axis=1)
    return Z, s, rr
