"""Locally greedy coordinate descent: the numba twin of
:func:`dictlearn.kernels.lgcd.lgcd_passes`.

Signals run in parallel (``prange``); within a signal the segments are visited in order and
each update touches ``n_atoms × (2 atom_length − 1)`` correlations and ``n_channels ×
atom_length`` residual samples, as in the reference. No fast-math flags: the updates are
the reference's, operation by operation, so both twins give the same iterates.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["lgcd_passes"]


@numba.njit(cache=True)
def _one_signal(D, H, nk, Z, C, R, active, alpha, positive, n_passes, thr, thr_min, seg_len,
                zero):
    K, Tv = Z.shape
    n_ch, L = D.shape[1], D.shape[2]
    n_seg = active.shape[0]
    moved = 0.0
    for _ in range(n_passes):
        best_pass = 0.0
        for s in range(n_seg):
            if not active[s]:
                continue
            lo = s * seg_len
            hi = min(lo + seg_len, Tv)
            best = -1.0
            k0 = 0
            t0 = lo
            dz = zero  # of the codes' dtype: float32 arithmetic stays float32
            for k in range(K):
                nkk = nk[k]
                for t in range(lo, hi):
                    z = Z[k, t]
                    u = C[k, t] + nkk * z
                    if positive:
                        zn = (u - alpha) / nkk if u - alpha > 0.0 else zero
                    elif u > 0.0:
                        zn = (u - alpha) / nkk if u - alpha > 0.0 else zero
                    elif u < 0.0:
                        zn = (u + alpha) / nkk if -u - alpha > 0.0 else zero
                    else:
                        zn = zero
                    d = zn - z
                    ad = abs(d)
                    if ad > best:
                        best = ad
                        k0 = k
                        t0 = t
                        dz = d
            if not best > thr[0]:
                active[s] = False
                continue
            Z[k0, t0] += dz
            a = max(0, t0 - L + 1)
            b = min(Tv, t0 + L)
            off = L - 1 - t0
            for j in range(K):
                for t in range(a, b):
                    C[j, t] -= dz * H[k0, j, t + off]
            for c in range(n_ch):
                for l in range(L):
                    R[c, t0 + l] -= dz * D[k0, c, l]
            if a < lo:
                active[s - 1] = True
            if b > hi:
                active[s + 1] = True
            if best > best_pass:
                best_pass = best
        moved = best_pass
        if not best_pass > thr[0]:
            if thr[0] == 0:
                break
            thr[0] = thr[0] / 10 if thr[0] / 10 > thr_min else 0.0
            active[:] = True
    return moved


@numba.njit(cache=True, parallel=True)
def _passes(D, H, nk, Z, C, R, active, alpha, positive, n_passes, thr, thr_min, seg_len, moved):
    for i in numba.prange(Z.shape[0]):
        moved[i] = _one_signal(D, H, nk, Z[i], C[i], R[i], active[i], alpha, positive,
                               n_passes, thr[i:i + 1], thr_min, seg_len, alpha - alpha)


@numba.njit(cache=True)
def _passes_serial(D, H, nk, Z, C, R, active, alpha, positive, n_passes, thr, thr_min, seg_len,
                   moved):
    for i in range(Z.shape[0]):
        moved[i] = _one_signal(D, H, nk, Z[i], C[i], R[i], active[i], alpha, positive,
                               n_passes, thr[i:i + 1], thr_min, seg_len, alpha - alpha)


def lgcd_passes(D: np.ndarray, H: np.ndarray, Z: np.ndarray, C: np.ndarray, R: np.ndarray,
                active: np.ndarray, *, alpha: float, positive: bool, n_passes: int,
                thr: np.ndarray, thr_min: float, seg_len: int) -> tuple[np.ndarray, ...]:
    """As :func:`dictlearn.kernels.lgcd.lgcd_passes` (arrays updated in place); one signal
    runs without a parallel region (starting one costs milliseconds on a busy machine)."""
    L = D.shape[2]
    nk = np.ascontiguousarray(H[np.arange(H.shape[0]), np.arange(H.shape[0]), L - 1])
    moved = np.zeros(Z.shape[0], dtype=Z.dtype)
    dt = Z.dtype.type
    run = _passes if Z.shape[0] > 1 else _passes_serial
    run(D, H, nk, Z, C, R, active, dt(alpha), bool(positive), int(n_passes), thr, dt(thr_min),
        int(seg_len), moved)
    return Z, C, R, active, moved
