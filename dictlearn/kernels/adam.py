"""Reference twin of the Adam step on one parameter array (Array-API code, every backend).

``adam_step(p, g, m0, v0, lr, b1, b2, eps)`` returns the new ``(p, m, v)``:

    m = b1 m0 + (1 − b1) g,   v = b2 v0 + (1 − b2) g²,   p − lr · m / (√v + eps)

(``m0``, ``v0`` ``None`` for zeros: the first step), never modifying its inputs. In NumPy each
operation is a pass over the arrays, a dozen in all: for LISTA's 16 layers of 250×500 and
500×500 weights the step is bound by memory traffic, and the numba twin
(:mod:`dictlearn.kernels.adam_numba`) makes it one pass.

Examples
--------
>>> import numpy as np
>>> p, m, v = adam_step(np.array([1.0]), np.array([5.0]), None, None, 0.1, 0.9, 0.999, 1e-8,
...                     xp=np)
>>> m, v
(array([0.5]), array([0.025]))
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import register_kernel

__all__ = ["adam_step", "large"]


def large(p: Any, *_: Any) -> bool:
    """The ``engine="auto"`` rule of the numba twin: parameters of 1,024 entries or more (for a
    step size or a threshold, the compiled call costs more than the dozen NumPy passes)."""
    return int(getattr(p, "size", 0)) >= 1024


@register_kernel("adam_step", "reference")
def adam_step(p: Any, g: Any, m0: Any, v0: Any, lr: float, b1: float, b2: float, eps: float, *,
              xp: ModuleType) -> tuple[Any, Any, Any]:
    # every array below is new: the in-place operators only touch them (eight new arrays
    # instead of twelve; the inputs are never modified)
    m = g * (1.0 - b1)
    if m0 is not None:
        m += m0 * b1
    v = g * g
    v *= 1.0 - b2
    if v0 is not None:
        v += v0 * b2
    step = xp.sqrt(v)
    step += eps
    step = m / step
    step *= lr
    return p - step, m, v
