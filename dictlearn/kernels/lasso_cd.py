r"""Gram-domain coordinate descent for the lasso: the reference Array-API kernel.

Cyclic coordinate descent on :math:`F(z) = \tfrac12\|x - zD\|^2 + \alpha\|z\|_1`, all samples
at once: with ``c = b − zG`` (``b = x Dᵀ``, ``G = D Dᵀ``) the exact minimiser along atom ``j``
is ``z_j ← S_α(c_j + G_jj z_j) / G_jj`` (one-sided with ``positive``), after which
``c ← c − Δz_j G_j``. One sweep over all atoms is the step of the shared loop driver
(:func:`dictlearn._loop.run_loop`), which stops each sample on its duality gap. The numba
twin (:mod:`dictlearn.kernels.lasso_cd_numba`) runs the same updates per sample with active
sets and an exact support refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .._loop import run_loop
from ..objectives import gap_gram, sample_objective
from . import register_kernel

__all__ = ["lasso_cd_gram"]


@dataclass(frozen=True)
class _CDState:
    Z: Any
    C: Any  # b − Z G
    B: Any  # X Dᵀ
    xx: Any
    xp: ModuleType

    def take(self, rows: Any) -> _CDState:
        xp = self.xp
        return _CDState(*(xp.take(a, rows, axis=0) for a in (self.Z, self.C, self.B, self.xx)),
                        xp)


def _sweep(state: _CDState, G: Any, alpha: float, positive: bool) -> _CDState:
    xp = state.xp
    Z, C = state.Z, state.C
    k = G.shape[0]
    atoms = xp.arange(k, device=getattr(Z, "device", None))
    zero = xp.zeros_like(Z[:, 0])
    for j in range(k):
        gjj = G[j, j]
        u = C[:, j] + gjj * Z[:, j]
        if positive:
            znew = xp.maximum(u - alpha, zero) / gjj
        else:
            znew = xp.sign(u) * xp.maximum(xp.abs(u) - alpha, zero) / gjj
        delta = znew - Z[:, j]
        Z = Z + delta[:, None] * xp.astype(atoms == j, Z.dtype)[None, :]
        C = C - delta[:, None] * G[j, :][None, :]
    return _CDState(Z, C, state.B, state.xx, xp)


@register_kernel("lasso_cd_gram", "reference")
def lasso_cd_gram(X: Any, D: Any, Z0: Any, *, alpha: float, positive: bool, tol: float,
                  max_iter: int, xp: ModuleType, blas: bool = True,
                  objective: bool = False) -> tuple[Any, ...]:
    """Lasso codes of the rows of ``X`` on the atoms ``D`` by cyclic coordinate descent.

    A sample stops when its duality gap is ``<= tol·F + 10·eps·‖x‖²``. ``blas`` is for the
    numba twin (``X Dᵀ`` and ``D Dᵀ`` by BLAS or in its own loops); here the products are
    always the array library's. ``objective``: also return the objective per sample
    (:func:`dictlearn.objectives.sample_objective`), as a fifth result.

    Returns
    -------
    Z : array (n, k)
    n_iter : array (n,) of int
        Sweeps per sample.
    criterion : array (n,)
        Relative duality gap at the end.
    converged : array (n,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(2); X = np.array([[1.0, -0.05]])
    >>> Z, it, crit, conv = lasso_cd_gram(X, D, None, alpha=0.1, positive=False, tol=1e-10,
    ...                                   max_iter=10, xp=np)
    >>> Z, bool(conv[0])
    (array([[0.9, 0. ]]), True)
    """
    XDt = X @ xp.matrix_transpose(D)
    G = D @ xp.matrix_transpose(D)
    xx = xp.sum(X * X, axis=1)
    n = XDt.shape[0]
    Z = xp.zeros_like(XDt) if Z0 is None else Z0
    state = _CDState(Z, XDt - Z @ G, XDt, xx, xp)
    eps = float(xp.finfo(XDt.dtype).eps)

    def criterion(s: _CDState):
        F, gap = gap_gram(s.xx, s.B, G, s.Z, alpha, positive, xp)
        tiny = float(xp.finfo(F.dtype).smallest_normal)
        return gap - (tol * F + 10 * eps * s.xx), gap / xp.maximum(F, tiny)

    res = run_loop(state, step=lambda s: _sweep(s, G, alpha, positive), criterion=criterion,
                   codes=lambda s: s.Z, n_samples=n, max_iter=max_iter, check_every=1, xp=xp,
                   check_initial=True)
    out = (res.codes, res.n_iter_per_sample, res.criterion, res.converged)
    if objective:
        return (*out, sample_objective(X, D, res.codes, alpha=alpha, xp=xp))
    return out
