"""numba twin of :mod:`dictlearn.kernels.adam` (NumPy arrays in and out; imported lazily).

One pass over the parameter, its gradient and the two moments instead of a dozen: the same
operations in the same order as the reference, in the arrays' dtype (the scalars are cast to
it, as NumPy does), without fast-math, so both twins give the same bits.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["adam_step"]


# error_model="numpy": a division by zero gives inf/NaN as in NumPy, not a Python exception
# (whose check on every element kept the loop from being vectorised: 20x slower)
@numba.njit(cache=True, error_model="numpy")
def _step(p, g, m0, v0, first, lr, b1, c1, b2, c2, eps, p_out, m, v):  # pragma: no cover
    for i in range(p.size):
        gi = g[i]
        mi = gi * c1
        vi = gi * gi
        vi = vi * c2
        if not first:
            mi = mi + m0[i] * b1
            vi = vi + v0[i] * b2
        s = np.sqrt(vi)
        s = s + eps
        s = mi / s
        s = s * lr
        p_out[i] = p[i] - s
        m[i] = mi
        v[i] = vi


def adam_step(p, g, m0, v0, lr, b1, b2, eps):
    """The Adam step of :func:`dictlearn.kernels.adam.adam_step` in one compiled pass."""
    dt = np.result_type(p, g)
    p, g = np.ascontiguousarray(p, dtype=dt), np.ascontiguousarray(g, dtype=dt)
    first = m0 is None
    m0 = g if first else np.ascontiguousarray(m0, dtype=dt)
    v0 = g if first else np.ascontiguousarray(v0, dtype=dt)
    out = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    c = dt.type
    _step(p.reshape(-1), g.reshape(-1), m0.reshape(-1), v0.reshape(-1), first, c(lr), c(b1),
          c(1.0 - b1), c(b2), c(1.0 - b2), c(eps), *(o.reshape(-1) for o in out))
    return out
