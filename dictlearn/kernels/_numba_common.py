"""Pieces shared by the numba kernels: ``G = D Dᵀ``, per-sample ``x Dᵀ`` and work chunks.

A call of a numba kernel runs exactly one parallel region: ``x Dᵀ`` is computed per sample
inside it (which also saves writing and reading an (n_samples, n_atoms) array) and the small
``G = D Dᵀ`` by a serial loop before it. On a busy two-core machine every parallel region
(BLAS or numba) waits for its threads to be scheduled: a multi-threaded BLAS call for the
256×64 Gram matrix took a median of 16–20 ms there against 0.4 ms single-threaded.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

__all__ = [
    "FMA",
    "bits_float",
    "float_bits",
    "gram",
    "insert_top",
    "largest_violations",
    "lasso_gap",
    "n_chunks",
    "nonzeros",
    "objective_row",
    "project",
    "prune_to_support",
    "rows_dot",
    "sq_norm",
    "support_gap",
    "use_blas",
]

#: LLVM fast-math flags of the kernels: only contraction of a*b+c into fused multiply-adds
#: (no reassociation, so sums keep their order and NaN/inf semantics are unchanged).
FMA = {"contract"}


@intrinsic
def float_bits(typingctx, x):
    """The bit pattern of the float ``x`` as a signed integer of its width (a bitcast).

    For non-negative finite floats the bit patterns order as the values (negative ones,
    sign bit set, are negative integers), and integer max/min reductions vectorise where a
    float max (a chain of scalar compares) does not.
    """
    if not isinstance(x, types.Float):
        return None
    ity = types.int32 if x.bitwidth == 32 else types.int64

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(ity))

    return ity(x), codegen


@intrinsic
def bits_float(typingctx, i, like):
    """The float of the dtype of ``like`` whose bit pattern is the integer ``i``."""
    if not (isinstance(i, types.Integer) and isinstance(like, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        ity = context.get_value_type(types.int32 if like.bitwidth == 32 else types.int64)
        return builder.bitcast(builder.sext(args[0], ity) if i.bitwidth < ity.width
                               else builder.trunc(args[0], ity) if i.bitwidth > ity.width
                               else args[0], context.get_value_type(like))

    return like(i, like), codegen


@numba.njit(cache=True, fastmath=FMA)
def _gram(D, Dt, G):
    k, m = D.shape
    for i in range(k):
        for j in range(k):
            G[i, j] = 0.0
        for f in range(m):
            d = D[i, f]
            for j in range(k):
                G[i, j] += d * Dt[f, j]


def gram(D: np.ndarray) -> np.ndarray:
    """``D Dᵀ`` (symmetric by construction)."""
    D = np.ascontiguousarray(D)
    G = np.empty((D.shape[0], D.shape[0]), dtype=D.dtype)
    _gram(D, np.ascontiguousarray(D.T), G)
    return G


@numba.njit(cache=True, inline="always", fastmath=FMA)
def project(x, Dt, b):
    """``b = x Dᵀ`` from ``Dt`` of shape (n_features, n_atoms); returns ``‖x‖²``."""
    m, k = Dt.shape
    for j in range(k):
        b[j] = 0.0
    xx = 0.0
    for f in range(m):
        xf = x[f]
        xx += xf * xf
        for j in range(k):
            b[j] += xf * Dt[f, j]
    return xx


@numba.njit(cache=True, inline="always")
def nonzeros(z, idx):
    """The indices of the non-zeros of ``z`` into ``idx`` (in order); returns their count.

    Without a branch per entry (the count advances on a non-zero): a row of sparse codes is
    scanned at about one entry per cycle, where a branch mispredicts at each non-zero.
    """
    c = 0
    for a in range(z.shape[0]):
        idx[c] = a
        c += z[a] != 0.0
    return c


@numba.njit(cache=True, fastmath=FMA)
def objective_row(x, D, z, alpha, penalty, sigma, r, idx):
    """``½‖x − zD‖² + α·pen(z)`` of one sample from the non-zeros of ``z`` (``r``: a buffer
    of ``n_features``, ``idx`` one of ``n_atoms`` ints); ``penalty`` 0: ``‖z‖₁``,
    1: ``Σ log(1 + (z/σ)²)``, 2: none.

    The objective of the numba ``sample_objective`` kernel and of the lasso kernel's samples,
    with the kernels' contraction into fused multiply-adds (:data:`FMA`; a caller's flags
    reach a callee compiled into it): both give the same bits.
    """
    m = x.shape[0]
    for f in range(m):
        r[f] = x[f]
    pen = 0.0
    for p in range(nonzeros(z, idx)):
        a = idx[p]
        za = z[a]
        for f in range(m):
            r[f] -= za * D[a, f]
        if penalty == 0:
            pen += abs(za)
        elif penalty == 1:
            pen += np.log1p((za / sigma) ** 2)
    rr = 0.0
    for f in range(m):
        rr += r[f] * r[f]
    return 0.5 * rr + alpha * pen if penalty != 2 else 0.5 * rr


@numba.njit(cache=True, inline="always", fastmath=FMA)
def sq_norm(x):
    """``‖x‖²``."""
    acc = 0.0
    for f in range(x.shape[0]):
        acc += x[f] * x[f]
    return acc


@numba.njit(cache=True, inline="always", fastmath=FMA)
def lasso_gap(xx, zb, zc, l1, cmax, alpha):
    """Lasso objective ``F`` and duality gap from ``z·b``, ``z·c``, ``‖z‖₁`` and ``max c``.

    With ``c = b − zG``, ``‖r‖² = ‖x‖² − z·b − z·c`` and the dual point ``θ = r/max(α, cmax)``
    (:mod:`dictlearn.objectives`).
    """
    rr = max(xx - zb - zc, 0.0)
    F = 0.5 * rr + alpha * l1
    if alpha > 0:
        sc = alpha / max(cmax, alpha)
    else:
        sc = 1.0 if cmax == 0 else 0.0
    return F, F - (sc * (xx - zb) - 0.5 * sc * sc * rr)


@numba.njit(cache=True, inline="always", fastmath=FMA)
def support_gap(z, b, c, W, nw, xx, alpha, cmax):
    """:func:`lasso_gap` for codes ``z`` supported on ``W[:nw]``."""
    zb = 0.0
    zc = 0.0
    l1 = 0.0
    for t in range(nw):
        zj = z[W[t]]
        zb += zj * b[W[t]]
        zc += zj * c[W[t]]
        l1 += abs(zj)
    return lasso_gap(xx, zb, zc, l1, cmax, alpha)


@numba.njit(cache=True, inline="always", fastmath=FMA)
def largest_violations(c, alpha, positive, skip, skip2, grow, topv, topj):
    """The ``grow`` largest KKT violations ``|c_j| > α`` (``c_j > α`` with ``positive``) among
    the atoms with neither ``skip`` nor ``skip2`` set, into ``topv``/``topj`` in decreasing
    order, by insertion (no sort of all atoms). Returns their count and ``max_j |c_j|``."""
    cnt = 0
    cmax = 0.0
    for j in range(c.shape[0]):
        v = c[j] if positive else abs(c[j])
        if v > cmax:
            cmax = v
        if skip[j] or skip2[j] or v <= alpha or grow == 0 or (cnt == grow and v <= topv[cnt - 1]):
            continue
        cnt = insert_top(v, j, cnt, grow, topv, topj)
    return cnt, cmax


@numba.njit(cache=True, inline="always")
def insert_top(v, j, cnt, K, topv, topj, any_order=False):
    """Insert key ``v`` of atom ``j`` into the top-``K`` buffer ``topv``/``topj`` (decreasing;
    ties go to the lower index: atoms come in increasing order, or ``any_order``); returns the
    new count. A full buffer loses its last entry: the caller checks that ``v`` beats it."""
    pos = cnt if cnt < K else K - 1
    while pos > 0 and (topv[pos - 1] < v
                       or (any_order and topv[pos - 1] == v and topj[pos - 1] > j)):
        topv[pos] = topv[pos - 1]
        topj[pos] = topj[pos - 1]
        pos -= 1
    topv[pos] = v
    topj[pos] = j
    return cnt + 1 if cnt < K else cnt


@numba.njit(cache=True, inline="always")
def prune_to_support(z, W, inW, nw):
    """Keep in the working set ``W[:nw]`` only the atoms with ``z_j ≠ 0``; returns its size."""
    nw2 = 0
    for t in range(nw):
        j = W[t]
        if z[j] != 0.0:
            W[nw2] = j
            nw2 += 1
        else:
            inW[j] = False
    return nw2


@numba.njit(cache=True, parallel=True)
def _rows_dot(A, B, out, nch):
    size = (A.shape[0] + nch - 1) // nch
    for ch in numba.prange(nch):
        s = ch * size
        e = min(A.shape[0], s + size)
        if s < e:
            np.dot(A[s:e], B, out[s:e])


def rows_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for C-contiguous float arrays, the rows of ``A`` shared among numba's
    threads, one BLAS call each: the kernels run with the BLAS on one thread
    (:func:`dictlearn._xp.blas_one_thread`), so their products take numba's threads instead.

    Examples
    --------
    >>> A, B = np.arange(6.0).reshape(3, 2), np.eye(2)
    >>> bool(np.array_equal(rows_dot(A, B), A))
    True
    """
    A, B = np.ascontiguousarray(A), np.ascontiguousarray(B, dtype=A.dtype)
    out = np.empty((A.shape[0], B.shape[1]), dtype=A.dtype)
    nch = max(1, min(A.shape[0], numba.get_num_threads()))
    if A.shape[0] and A.shape[1] and B.shape[1]:
        _rows_dot(A, B, out, nch)
    else:
        out[...] = A @ B
    return out


def n_chunks(n: int) -> int:
    """Work units for ``prange``: several per thread, for balance."""
    return max(1, min(n, 8 * numba.get_num_threads()))


#: Compute ``X Dᵀ`` by BLAS before the kernel (instead of per sample inside it) for these
#: dtypes; set from measurements, see docs/solvers.md.
BLAS_DTYPES: tuple[str, ...] = ()


def use_blas(X: np.ndarray, D: np.ndarray) -> bool:
    """Whether the kernels take ``X Dᵀ`` from one BLAS product."""
    return X.dtype.name in BLAS_DTYPES
