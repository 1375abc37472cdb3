r"""The dictionary step of convolutional dictionary learning: projected FISTA on the data
term of the statistics (:class:`~dictlearn.signal._statistics.DataTerm`), atoms in the unit
ball (alphacsc's ``update_d``), or rank-1 atoms ``d_k = u_k v_kᵀ`` by alternating on ``u`` and
``v`` (alphacsc's ``update_uv``).

The Lipschitz constant of the gradient is the largest eigenvalue of ``𝓗`` (power iteration);
FISTA restarts when the objective rises, so the result is never worse than the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ._statistics import DataTerm

__all__ = ["ball", "outer", "rank1_factors", "update_atoms"]


def _power(apply: Callable[[Any], Any], x0: Any, xp: ModuleType, n_iter: int = 30) -> float:
    """The largest eigenvalue of the PSD map ``apply`` (power iteration), 5% above."""
    x = x0 / max(float(xp.linalg.vector_norm(xp.reshape(x0, (-1,)))), 1e-300)
    lam = 0.0
    for _ in range(n_iter):
        y = apply(x)
        lam = float(xp.linalg.vector_norm(xp.reshape(y, (-1,))))
        if lam <= 0.0:
            return 0.0
        x = y / lam
    return 1.05 * lam


def _projected_fista(x0: Any, value_grad: Callable[[Any], tuple[float, Any]],
                     project: Callable[[Any], Any], lipschitz: float, *, max_iter: int,
                     tol: float, xp: ModuleType) -> Any:
    """Projected FISTA with a restart whenever the objective rises (so that the result is
    never worse than ``x0``); stops when ``‖Δx‖ ≤ tol‖x‖``."""
    if lipschitz <= 0.0:
        return x0
    x, (fx, _) = x0, value_grad(x0)
    y, t = x0, 1.0
    for _ in range(max_iter):
        _, gy = value_grad(y)
        xn = project(y - gy / lipschitz)
        fn, _ = value_grad(xn)
        if fn > fx:  # momentum overshot: restart from x with a plain projected step
            _, gx = value_grad(x)
            xn = project(x - gx / lipschitz)
            fn, _ = value_grad(xn)
            t = 1.0
            if fn > fx:
                break
        tn = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = xn + ((t - 1.0) / tn) * (xn - x)
        step = float(xp.linalg.vector_norm(xp.reshape(xn - x, (-1,))))
        size = float(xp.linalg.vector_norm(xp.reshape(xn, (-1,))))
        x, fx, t = xn, fn, tn
        if step <= tol * max(size, 1e-300):
            break
    return x


def ball(V: Any, axes: tuple[int, ...], xp: ModuleType) -> Any:
    """Each slice (over ``axes``) scaled into the unit ball (the projection on it)."""
    norms = xp.sqrt(xp.sum(V * V, axis=axes, keepdims=True))
    return V / xp.maximum(norms, 1.0)


def rank1_factors(D: Any, xp: ModuleType) -> tuple[Any, Any]:
    """``u`` (K, C) of unit norm and ``v`` (K, L) with ``d_k ≈ u_k v_kᵀ`` (the leading
    singular pair; exact for rank-1 atoms)."""
    U, S, Vh = xp.linalg.svd(D, full_matrices=False)
    return U[:, :, 0], S[:, 0:1] * Vh[:, 0, :]


def outer(u: Any, v: Any) -> Any:
    """The atoms ``u_k v_kᵀ`` (K, C, L) of ``u`` (K, C) and ``v`` (K, L)."""
    return u[:, :, None] * v[:, None, :]


def update_atoms(D: Any, ztz: Any, ztX: Any, *, rank1: bool = False, max_iter: int = 100,
                 tol: float = 1e-7, xp: ModuleType) -> Any:
    r"""The dictionary step: minimise ``½⟨D, 𝓗D⟩ − ⟨D, ztX⟩`` over atoms in the unit ball.

    Projected FISTA from ``D`` with step ``1/L`` (``L`` by power iteration on ``𝓗``); with
    ``rank1``, up to 10 alternations of projected FISTA on ``u`` (unit ball, then normalised)
    and ``v`` (unit ball) as alphacsc's ``update_uv``. The result is never worse than ``D``.

    Examples
    --------
    >>> import numpy as np
    >>> ztz = np.zeros((1, 1, 3)); ztz[0, 0, 1] = 1.0
    >>> ztX = np.array([[[0.3, 0.4]]])
    >>> np.round(update_atoms(np.array([[[1.0, 0.0]]]), ztz, ztX, xp=np), 6)
    array([[[0.3, 0.4]]])
    """
    q = DataTerm.build(ztz, ztX, xp=xp)
    eps = float(xp.finfo(D.dtype).eps)
    tol = max(float(tol), 10 * eps)
    if not rank1:
        lip = _power(q.hess, xp.ones_like(D[:, :1, :]) + D[:, :1, :], xp)
        return _projected_fista(D, q.value_grad, lambda V: ball(V, (1, 2), xp), lip,
                                max_iter=max_iter, tol=tol, xp=xp)
    u, v = rank1_factors(D, xp)
    f_old = q.value_grad(D)[0]
    for _ in range(10):
        def vg_u(uu, v=v):
            f, G = q.value_grad(outer(uu, v))
            return f, xp.sum(G * v[:, None, :], axis=2)

        lip_u = _power(lambda a, v=v: xp.sum(q.hess(outer(a, v)) * v[:, None, :], axis=2),
                       xp.ones_like(u) + u, xp)
        u = _projected_fista(u, vg_u, lambda a: ball(a, (1,), xp), lip_u, max_iter=max_iter,
                             tol=tol, xp=xp)
        def vg_v(vv, u=u):
            f, G = q.value_grad(outer(u, vv))
            return f, xp.sum(G * u[:, :, None], axis=1)

        lip_v = _power(lambda a, u=u: xp.sum(q.hess(outer(u, a)) * u[:, :, None], axis=1),
                       xp.ones_like(v) + v, xp)
        v = _projected_fista(v, vg_v, lambda a: ball(a, (1,), xp), lip_v, max_iter=max_iter,
                             tol=tol, xp=xp)
        f_new = q.value_grad(outer(u, v))[0]
        if f_old - f_new <= tol * abs(f_new):
            break
        f_old = f_new
    # u of unit norm, its scale moved to v (d = u vᵀ unchanged; ‖v‖ = ‖d‖ ≤ 1)
    nu = xp.sqrt(xp.sum(u * u, axis=1, keepdims=True))
    nonzero = nu > 0
    u = xp.where(nonzero, u / xp.where(nonzero, nu, 1.0), u)
    return outer(u, v * nu)
