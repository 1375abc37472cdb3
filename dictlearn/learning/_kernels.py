"""numba twins of two dense products of the online learner that sparse codes make cheap.

- :func:`code_statistics`: ``(β A + ZᵀZ, β B + ZᵀX)``, the sufficient statistics of a
  mini-batch; the reference is the dense array-API expression.
- :func:`codes_times_dictionary`: ``Z D`` (the reconstruction in the objective).

With ``s`` non-zeros per code the kernels cost ``n s²`` and ``n s m`` instead of ``n k²`` and
``n k m``. They are used for NumPy arrays when numba is enabled and the codes are sparse
(under 30% non-zeros); everything else takes the reference path.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .._xp import is_numpy, numba_enabled

__all__ = ["code_statistics", "codes_times_dictionary"]

_JIT: dict[str, Any] = {}


def _compiled(name: str):
    if name not in _JIT:
        import numba

        @numba.njit(cache=True)
        def stats(A, B, Z, X, beta):  # pragma: no cover - compiled
            n, k = Z.shape
            m = X.shape[1]
            A *= beta
            B *= beta
            idx = np.empty(k, dtype=np.int64)
            for i in range(n):
                c = 0
                for a in range(k):
                    if Z[i, a] != 0.0:
                        idx[c] = a
                        c += 1
                for p in range(c):
                    a = idx[p]
                    za = Z[i, a]
                    for q in range(c):
                        A[a, idx[q]] += za * Z[i, idx[q]]
                    for f in range(m):
                        B[a, f] += za * X[i, f]
            return A, B

        @numba.njit(cache=True)
        def zd(Z, D):  # pragma: no cover - compiled
            n, k = Z.shape
            m = D.shape[1]
            out = np.zeros((n, m), dtype=D.dtype)
            for i in range(n):
                for a in range(k):
                    z = Z[i, a]
                    if z != 0.0:
                        for f in range(m):
                            out[i, f] += z * D[a, f]
            return out

        _JIT["stats"], _JIT["zd"] = stats, zd
    return _JIT[name]


def _use_kernel(Z: Any, xp: ModuleType, engine: str) -> bool:
    if engine == "reference" or not is_numpy(xp):
        return False
    if engine == "numba":
        return True
    return numba_enabled() and Z.size > 0 and np.count_nonzero(Z) < 0.3 * Z.size


def code_statistics(A: Any, B: Any, Z: Any, X: Any, beta: float, *, xp: ModuleType,
                    engine: str = "auto") -> tuple[Any, Any]:
    """``(β A + ZᵀZ, β B + ZᵀX)`` without modifying ``A`` or ``B``.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[1.0, 0.0], [0.0, 2.0]]); X = np.eye(2)
    >>> A, B = code_statistics(np.eye(2), np.zeros((2, 2)), Z, X, 0.5, xp=np)
    >>> A
    array([[1.5, 0. ],
           [0. , 4.5]])
    """
    if _use_kernel(Z, xp, engine):
        dt = np.result_type(A.dtype, Z.dtype)
        return _compiled("stats")(np.array(A, dtype=dt, order="C"),
                                  np.array(B, dtype=dt, order="C"),
                                  np.ascontiguousarray(Z), np.ascontiguousarray(X),
                                  dt.type(beta))
    Zt = xp.matrix_transpose(Z)
    return beta * A + Zt @ Z, beta * B + Zt @ X


def codes_times_dictionary(Z: Any, D: Any, *, xp: ModuleType, engine: str = "auto") -> Any:
    """``Z D``, skipping the zeros of sparse codes on NumPy."""
    if _use_kernel(Z, xp, engine):
        return _compiled("zd")(np.ascontiguousarray(Z), np.ascontiguousarray(D, dtype=Z.dtype))
    return Z @ D
