r"""Convolutional matching pursuit and OMP: the reference kernel ``conv_mp``.

Atoms are unit-norm; ``C`` (n, K, T_v) holds each signal's correlations
``c_k[t] = ⟨r, S_t d_k⟩`` with the shifted atoms (summed over channels) and
``G[k, k', δ + L − 1] = ⟨S_t d_k, S_{t+δ} d_{k'}⟩`` (|δ| < L) the atoms' cross-correlation
table, computed once (MPTK's approach, Krstulović & Gribonval 2006). A step picks
``(k, t) = argmax |c|`` (largest ``c`` with ``positive``) and

- **MP** adds ``a = c_k[t]`` to ``z_k[t]``; the residual loses ``a S_t d_k`` and its energy
  ``a²``, and only the correlations at shifts ``t' ∈ (t − L, t + L)`` change:
  ``c_{k'}[t'] −= a G[k, k', t' − t]``;
- **OMP** adds ``(k, t)`` to the support and refits every coefficient by least squares on it,
  ``γ = G_SS⁻¹ b_S`` with ``b_S`` the signal's correlations, the Cholesky factor of the
  support's Gram growing by one row per step (as :mod:`dictlearn.kernels.omp`); the
  correlations change by ``−Σ_i Δγ_i G[k_i, ·, · − t_i]`` near each support shift, and the
  residual energy is ``‖x‖² − γ·b_S``. With ``positive``, Lawson–Hanson steps keep ``γ > 0``.

A signal stops after ``n_nonzero_coefs`` picks, when its residual energy is ``<= tol`` (an
absolute energy, the caller scales it by ``‖x‖²``), or when no correlation is left (OMP: a
shift already on the support, or numerically dependent on it, is not picked again).

This twin runs one signal at a time on the caller's arrays (local window updates, one
``argmax`` over all shifts per pick); the small Cholesky factor lives on the host.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from .._xp import to_host
from . import register_kernel

__all__ = ["conv_mp", "cross_correlation_table", "support_gram"]


def cross_correlation_table(D: Any, *, xp: ModuleType) -> Any:
    """``G[k, k', δ + L − 1] = Σ_c Σ_l d_{k,c}[l] d_{k',c}[l − δ]`` for ``|δ| < L``, by FFT:
    the inner product ``⟨S_t d_k, S_{t+δ} d_{k'}⟩`` of two shifted atoms. The one table of
    the convolutional solvers (matching pursuit, OMP, LGCD and the support refit), in the
    atoms' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> G = cross_correlation_table(np.array([[[1.0, 2.0]]]), xp=np)
    >>> np.round(G, 12) + 0.0
    array([[[2., 5., 2.]]])
    """
    L = D.shape[2]
    n = 1 << (2 * L - 1).bit_length()
    Dh = xp.fft.rfft(D, n=n, axis=-1)  # (K, C, F)
    # ⟨S_t d_k, S_{t+δ} d_k'⟩ = Σ_l d_k[l] d_k'[l − δ]: the correlation of d_k' with d_k
    P = xp.sum(Dh[:, None, :, :] * xp.conj(Dh)[None, :, :, :], axis=2)  # (K, K, F)
    g = xp.fft.irfft(P, n=n, axis=-1)  # index δ (mod n)
    return xp.astype(xp.concat([g[..., n - (L - 1):], g[..., :L]], axis=-1), D.dtype)


def support_gram(G: np.ndarray, ks: Any, ts: Any, L: int) -> np.ndarray:
    """The Gram matrix ``⟨S_{t_i} d_{k_i}, S_{t_j} d_{k_j}⟩`` of shifted atoms (host NumPy),
    read from the table ``G`` of :func:`cross_correlation_table`: zero where the shifts are
    ``L`` or more apart.

    Examples
    --------
    >>> import numpy as np
    >>> G = cross_correlation_table(np.array([[[1.0, 2.0]]]), xp=np)
    >>> support_gram(G, [0, 0, 0], [0, 1, 5], 2) + 0.0
    array([[5., 2., 0.],
           [2., 5., 0.],
           [0., 0., 5.]])
    """
    ks, ts = np.asarray(ks, dtype=np.intp), np.asarray(ts, dtype=np.intp)
    d = ts[None, :] - ts[:, None]
    near = np.abs(d) < L
    return np.where(near, G[ks[:, None], ks[None, :], np.where(near, d, 0) + L - 1], 0.0)


def _cholesky_grow(Lc: np.ndarray, g: np.ndarray, gjj: float, cond_tol: float):
    """The factor of ``[[G_SS, g], [gᵀ, gjj]]`` or None when the new pivot is too small."""
    s = Lc.shape[0]
    w = np.linalg.solve(Lc, g) if s else np.zeros(0)
    d = gjj - float(w @ w)
    if not d > cond_tol * gjj:
        return None
    out = np.zeros((s + 1, s + 1))
    out[:s, :s] = Lc
    out[s, :s] = w
    out[s, s] = math.sqrt(d)
    return out


def _cho_solve(Lc: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(Lc.T, np.linalg.solve(Lc, b))


def _one(c: Any, G: Any, G_host: np.ndarray, xx: float, K: int, Tv: int, L: int,
         n_nonzero: int, tol: float, positive: bool, orthogonal: bool, cond_tol: float,
         xp: ModuleType):
    """One signal: codes (flat, K·Tv), picks, residual energy. ``c`` is modified."""
    dev = getattr(c, "device", None)
    z = xp.zeros((K * Tv,), dtype=c.dtype, device=dev)
    picks: list[int] = []
    ks: list[int] = []
    ts: list[int] = []
    b_S: list[float] = []
    gam = np.zeros(0)
    Lc = np.zeros((0, 0))
    rr = xx
    blocked = xp.zeros((K * Tv,), dtype=xp.bool, device=dev)
    neg_inf = xp.full_like(z, -math.inf)

    def update(k: int, t: int, a: float) -> None:
        lo, hi = max(0, t - L + 1), min(Tv, t + L)
        c[:, lo:hi] = c[:, lo:hi] - a * G[k, :, lo - t + L - 1:hi - t + L - 1]

    while len(picks) < n_nonzero and rr > tol:
        flat = xp.reshape(c, (-1,))
        score = flat if positive else xp.abs(flat)
        if orthogonal:
            score = xp.where(blocked, neg_inf, score)
        j = int(xp.argmax(score))
        if not float(score[j]) > 0:
            break
        k, t = divmod(j, Tv)
        a = float(flat[j])
        if not orthogonal:
            picks.append(j)
            z[j] = z[j] + a
            update(k, t, a)
            rr = max(rr - a * a, 0.0)
            continue
        blocked[j] = True
        g = np.array([G_host[ks[i], k, t - ts[i] + L - 1] if abs(t - ts[i]) < L else 0.0
                      for i in range(len(ks))])
        grown = _cholesky_grow(Lc, g, float(G_host[k, k, L - 1]), cond_tol)
        if grown is None:
            continue
        picks.append(j)
        ks.append(k)
        ts.append(t)
        b_S.append(float(flat[j]) + float(np.dot(gam, g)))  # ⟨x, S_t d_k⟩ = c + Σ γ_i G
        Lc = grown
        prev = np.append(gam, 0.0)  # the fit the correlations ``c`` reflect
        gam = _cho_solve(Lc, np.asarray(b_S))
        if positive:
            gam = _nonneg(G_host, ks, ts, b_S, prev, gam, L)
        for i in range(len(ks)):
            if gam[i] != prev[i]:
                update(ks[i], ts[i], float(gam[i] - prev[i]))
        keep = [i for i in range(len(ks)) if not (positive and gam[i] == 0.0)]
        if len(keep) < len(ks):
            ks = [ks[i] for i in keep]
            ts = [ts[i] for i in keep]
            b_S = [b_S[i] for i in keep]
            gam = gam[keep]
            Lc = np.linalg.cholesky(support_gram(G_host, ks, ts, L)) if ks else np.zeros((0, 0))
        rr = max(xx - float(np.dot(gam, np.asarray(b_S))), 0.0)
    if orthogonal:
        for i in range(len(ks)):
            z[ks[i] * Tv + ts[i]] = gam[i]
    return z, picks, rr


def _nonneg(G_host: np.ndarray, ks: list[int], ts: list[int], b_S: list[float],
            old: np.ndarray, new: np.ndarray, L: int) -> np.ndarray:
    """Lawson–Hanson: from the feasible fit ``old`` towards ``new`` until the first entry
    reaches zero, drop it (coefficient 0) and refit on the rest, until every kept entry of
    the fit is > 0."""
    active = np.ones(len(ks), dtype=bool)
    b = np.asarray(b_S)
    for _ in range(len(ks) + 1):
        neg = active & (new <= 0)
        if not neg.any():
            break
        ratio = np.where(neg, old / np.where(neg, old - new, 1.0), np.inf)
        i = int(np.argmin(ratio))
        active[i] = False
        old = np.where(active, old + ratio[i] * (new - old), 0.0)
        idx = np.nonzero(active)[0]
        new = np.zeros(len(ks))
        if idx.size:
            Gs = support_gram(G_host, [ks[m] for m in idx], [ts[m] for m in idx], L)
            new[idx] = _cho_solve(np.linalg.cholesky(Gs), b[idx])
    return np.where(active, new, 0.0)


@register_kernel("conv_mp", "reference")
def conv_mp(C: Any, G: Any, xx: Any, tol: Any, *, n_nonzero_coefs: int, positive: bool,
            orthogonal: bool, cond_tol: float = 1e-10, xp: ModuleType):
    """Convolutional MP (``orthogonal=False``) or OMP of every signal.

    Parameters
    ----------
    C : array (n, K, T_v)
        Correlations of the signals with the shifted unit-norm atoms (not modified).
    G : array (K, K, 2L − 1)
        :func:`cross_correlation_table` of the unit-norm atoms.
    xx : array (n,)
        ``‖x‖²`` per signal.
    tol : array (n,)
        Residual energy at which a signal stops (negative: none).

    Returns
    -------
    Z : array (n, K, T_v)
        Coefficients on the unit-norm atoms.
    n_picks : array (n,) of int
    rr : array (n,)
        Residual energies.
    picks : array (n, max(n_picks)) of int
        The flat indices ``k·T_v + t`` picked, in order (−1 after a signal's last).
    """
    n, K, Tv = C.shape
    L = (G.shape[2] + 1) // 2
    dev = getattr(C, "device", None)
    # the small (K, K, 2L-1) table, once, on the host: the explicit copy of docs/index.md
    G_host = G if isinstance(G, np.ndarray) else to_host(G)
    Zs, used, rrs, all_picks = [], [], [], []
    for i in range(n):
        c = xp.asarray(C[i, ...], copy=True)
        z, picks, rr = _one(c, G, G_host, float(xx[i]), K, Tv, L, int(n_nonzero_coefs),
                            float(tol[i]), bool(positive), bool(orthogonal), float(cond_tol), xp)
        Zs.append(xp.reshape(z, (K, Tv)))
        used.append(len(picks))
        rrs.append(rr)
        all_picks.append(picks)
    width = max([len(p) for p in all_picks] + [0])
    all_picks = [p + [-1] * (width - len(p)) for p in all_picks]
    return (xp.stack(Zs), xp.asarray(used, dtype=xp.int64, device=dev),
            xp.asarray(rrs, dtype=C.dtype, device=dev),
            xp.asarray(all_picks, dtype=xp.int64, device=dev))
