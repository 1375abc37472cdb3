r"""ISTA/FISTA for the lasso: the reference Array-API kernel ``fista_l1``.

The reference twin is the one proximal-gradient loop of :mod:`dictlearn.coding.proximal_gradient`
(the shared step of :mod:`dictlearn.coding.step` on the loop driver, every backend). The numba
twin (:mod:`dictlearn.kernels.fista_numba`) runs the same iterates with one BLAS product and
one fused pass per iteration, or, when a tolerance is set, FISTA on working sets with gap-safe
screening.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import register_kernel

__all__ = ["fista_l1"]


@register_kernel("fista_l1", "reference")
def fista_l1(X: Any, D: Any, Z0: Any, *, alpha: float, positive: bool, acceleration: bool,
             restart: bool, stop: str, tol: float, max_iter: int, check_every: int,
             lipschitz: float, form: str, screen: bool, working_set: bool,
             xp: ModuleType) -> tuple[Any, Any, Any, Any, Any]:
    """ISTA/FISTA codes of the rows of ``X`` (plain iterates; ``screen`` and ``working_set``
    are options of the numba twin and are ignored here).

    Returns
    -------
    Z : array (n, k)
    n_iter : array (n,) of int
    criterion : array (n,)
        Relative duality gap (``stop="gap"``) or relative change at each row's last check.
    converged : array (n,) of bool
    screened : array (n, k) of bool
        All False (no screening).

    Examples
    --------
    >>> import numpy as np
    >>> Z, it, crit, conv, _ = fista_l1(
    ...     np.array([[1.0, -0.05]]), np.eye(2), None, alpha=0.1, positive=False,
    ...     acceleration=True, restart=True, stop="gap", tol=1e-8, max_iter=100, check_every=1,
    ...     lipschitz=1.0, form="gram", screen=False, working_set=False, xp=np)
    >>> np.round(Z, 6), bool(conv[0])
    (array([[0.9, 0. ]]), True)
    """
    from ..coding.proximal_gradient import solve_proximal_gradient
    from ..coding.step import LeastSquares

    ls = LeastSquares.build(X, D, lipschitz, xp=xp, form=form)
    if Z0 is None:
        Z0 = xp.zeros((X.shape[0], D.shape[0]), dtype=X.dtype, device=getattr(X, "device", None))
    res = solve_proximal_gradient(ls, Z0, alpha=alpha, positive=positive,
                                  acceleration=acceleration, restart=restart, stop=stop, tol=tol,
                                  max_iter=max_iter, check_every=check_every)
    none = xp.zeros(res.codes.shape, dtype=xp.bool, device=getattr(res.codes, "device", None))
    return res.codes, res.n_iter_per_sample, res.criterion, res.converged, none
