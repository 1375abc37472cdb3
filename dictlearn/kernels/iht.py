r"""Iterative hard thresholding: the reference Array-API kernel ``iht_l0``.

The reference twin is the loop of :mod:`dictlearn.coding.iht` (the shared step with the top-k
map, or normalized IHT, on the loop driver; every backend). The numba twin
(:mod:`dictlearn.kernels.iht_numba`) runs the same steps per sample in the Gram domain with a
top-k selection by insertion instead of sorts.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import register_kernel

__all__ = ["iht_l0"]


@register_kernel("iht_l0", "reference")
def iht_l0(X: Any, D: Any, Z0: Any, *, n_nonzero_coefs: int, normalized: bool, positive: bool,
           tol: float, max_iter: int, check_every: int, lipschitz: float | None,
           max_shrink: int, shrink_c: float, kappa: float,
           xp: ModuleType) -> tuple[Any, Any, Any, Any]:
    """IHT codes of the rows of ``X`` with ``n_nonzero_coefs`` nonzeros.

    ``lipschitz`` is ``‖D‖₂²`` for plain IHT (None for normalized IHT); ``shrink_c`` and
    ``kappa`` are normalized IHT's ``c`` and ``κ``.

    Returns
    -------
    Z : array (n, k)
    n_iter : array (n,) of int
    criterion : array (n,)
        ``‖z_k − z_{k−1}‖/‖z_k‖`` at each row's last check.
    converged : array (n,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> Z, it, crit, conv = iht_l0(np.array([[3.0, -0.1, 2.0]]), np.eye(3), None,
    ...     n_nonzero_coefs=2, normalized=True, positive=False, tol=1e-8, max_iter=50,
    ...     check_every=1, lipschitz=None, max_shrink=60, shrink_c=0.01, kappa=2.0, xp=np)
    >>> Z, bool(conv[0])
    (array([[3., 0., 2.]]), True)
    """
    from ..coding.iht import solve_iht

    res = solve_iht(X, D, Z0, K=n_nonzero_coefs, normalized=normalized, positive=positive,
                    tol=tol, max_iter=max_iter, check_every=check_every, lipschitz=lipschitz,
                    max_shrink=max_shrink, xp=xp)
    return res.codes, res.n_iter_per_sample, res.criterion, res.converged
