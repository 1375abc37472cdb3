r"""Iterative hard thresholding for k-sparse codes: the shared step with the top-k prox.

Plain IHT (Blumensath & Davies 2008) is the shared proximal-gradient step of
:mod:`dictlearn.coding.step` with step ``1/L`` and the projection onto k-sparse vectors;
normalized IHT (Blumensath & Davies 2010) chooses the step per sample and iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._linalg import spectral_norm_sq
from .._loop import Info, Result, Status, run_loop
from .._scale import Scale
from .._validation import check_coding_inputs, check_positive_int
from ..kernels import call, compiled_for_loop
from ..prox import get_prox, top_k, top_k_mask
from ._registry import register_method
from .proximal_gradient import change_criterion
from .step import LeastSquares

__all__ = ["iht"]

_C = 0.01  # Blumensath & Davies (2010): c small, κ > 1/(1 − c)
_KAPPA = 2.0


@dataclass(frozen=True)
class IHTState:
    Z: Any
    Z_prev: Any
    ls: LeastSquares  # built with L = 1 for NIHT (forward(Z) − Z is the negative gradient)

    def take(self, rows: Any) -> IHTState:
        xp = self.ls.xp
        return IHTState(xp.take(self.Z, rows, axis=0), xp.take(self.Z_prev, rows, axis=0),
                        self.ls.take(rows))


def _sq_norm_D(V: Any, ls: LeastSquares) -> Any:
    """``‖v D‖²`` per row, by the cheaper of ``v G vᵀ`` and ``‖v D‖²``."""
    xp = ls.xp
    k, m = ls.D.shape
    if ls.G is not None and k <= m:
        return xp.sum((V @ ls.G) * V, axis=1)
    VD = V @ ls.D
    return xp.sum(VD * VD, axis=1)


def _niht_step(state: IHTState, K: int, positive: bool, max_shrink: int) -> IHTState:
    ls, xp = state.ls, state.ls.xp
    Z = state.Z
    g = ls.forward(Z) - Z  # −∇f(z) = (x − zD)Dᵀ with L = 1
    on = Z != 0
    started = xp.any(on, axis=1, keepdims=True)
    if bool(xp.all(started)):
        gamma = on
    else:  # first step: the support of H_s(g)
        start = top_k_mask(xp.maximum(g, 0.0) if positive else g, K, xp=xp)
        gamma = xp.where(started, on, start)
    gG = xp.where(gamma, g, xp.zeros_like(g))
    num = xp.sum(gG * gG, axis=1)
    den = _sq_norm_D(gG, ls)
    tiny = float(xp.finfo(Z.dtype).smallest_normal)
    mu = num / xp.maximum(den, tiny)
    new = top_k(Z + mu[:, None] * g, K, xp=xp, positive=positive)
    for _ in range(max_shrink):
        same = xp.all((new != 0) == gamma, axis=1)  # Γ: at the start, the support of H_s(g)
        dz = new - Z
        dd = _sq_norm_D(dz, ls)
        omega = (1.0 - _C) * xp.sum(dz * dz, axis=1) / xp.maximum(dd, tiny)
        bad = ~same & (mu > omega)
        if not bool(xp.any(bad)):
            break
        mu = xp.where(bad, mu / (_KAPPA * (1.0 - _C)), mu)
        # retry only the rows that failed (top-k is the costly part), then put them back
        idx = xp.nonzero(bad)[0]
        V = xp.take(Z, idx, axis=0) + xp.take(mu, idx, axis=0)[:, None] * xp.take(g, idx, axis=0)
        retry = top_k(V, K, xp=xp, positive=positive)
        pos = xp.cumulative_sum(xp.astype(bad, xp.int64)) - 1
        pos = xp.where(bad, pos, xp.zeros_like(pos))
        new = xp.where(bad[:, None], xp.take(retry, pos, axis=0), new)
    return IHTState(new, Z, ls)


#: Most step shrinks of normalized IHT per iteration.
_MAX_SHRINK = 60


def solve_iht(X: Any, D: Any, Z0: Any, *, K: int, normalized: bool, positive: bool, tol: float,
              max_iter: int, check_every: int, lipschitz: float | None, max_shrink: int,
              xp: Any, callback: Callable[[Info], Any] | None = None,
              record_history: bool = False) -> Result:
    """The Array-API IHT loop on validated, scaled inputs (the reference kernel's body)."""
    if Z0 is None:
        Z0 = xp.zeros((X.shape[0], D.shape[0]), dtype=X.dtype, device=getattr(X, "device", None))
    if normalized:
        ls = LeastSquares.build(X, D, 1.0, xp=xp)

        def step(s: IHTState) -> IHTState:
            return _niht_step(s, K, positive, max_shrink=max_shrink)
    else:
        L = spectral_norm_sq(D, xp=xp) if lipschitz is None else lipschitz
        ls = LeastSquares.build(X, D, L, xp=xp)
        prox = get_prox("topk", k=K, positive=positive)

        def step(s: IHTState) -> IHTState:  # the shared step (either form) with the top-k map
            return IHTState(prox(s.ls.forward(s.Z), 0.0, xp=xp), s.Z, s.ls)

    return run_loop(IHTState(Z0, Z0, ls), step=step, criterion=change_criterion(tol),
                    codes=lambda s: s.Z, n_samples=X.shape[0], max_iter=max_iter,
                    check_every=check_every, xp=xp, callback=callback,
                    record_history=record_history)


@register_method("iht", penalty="l0", iterative=True, backends=("array-api", "numba"))
def iht(X: Any, dictionary: Any, *, n_nonzero_coefs: int | None = None, normalized: bool = True,
        positive: bool = False, init: Any = None, max_iter: int = 300, tol: float = 1e-6,
        check_every: int = 1, callback: Callable[[Info], Any] | None = None,
        record_history: bool = False, engine: str = "auto") -> Result:
    r"""Iterative hard thresholding: k-sparse codes by projected gradient steps.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    dictionary : array of shape (n_atoms, n_features)
    n_nonzero_coefs : int, optional
        Sparsity ``s`` of every code, in ``[1, n_atoms]``; default
        ``max(1, n_features // 10)``.
    normalized : bool, default=True
        Normalized IHT (adaptive step per sample); ``False`` runs plain IHT with step
        ``1/L``, ``L = ‖D‖₂²`` (the shared step with the top-k prox).
    positive : bool, default=False
        Keep the ``s`` largest positive entries (projection onto non-negative s-sparse codes).
    init : array of shape (n_samples, n_atoms), optional
        Warm start (it is projected onto s-sparse codes by the first step).
    max_iter : int, default=300
    tol : float >= 0, default=1e-6
        A sample stops when ``‖z_k − z_{k−1}‖ ≤ tol·‖z_k‖``.
    check_every : int, default=1
    callback : callable, optional
        Called with a :class:`~dictlearn.Info` at every check; return True to stop.
    record_history : bool, default=False
    engine : {"auto", "reference", "numba"}, default="auto"
        ``"numba"`` (NumPy inputs; ``"auto"`` picks it when numba is available and there is no
        ``callback``/``record_history``): the per-sample kernel of
        :mod:`dictlearn.kernels.iht_numba` (Gram domain, top-k by insertion, no sort), the
        same steps as the ``"reference"`` Array-API loop.

    Returns
    -------
    Result
        Codes with at most ``n_nonzero_coefs`` nonzeros per row.

    Notes
    -----
    With ``g = (x − zD)Dᵀ`` and ``H_s`` keeping the ``s`` largest entries, IHT iterates
    :math:`z \leftarrow H_s(z + \mu g)`. Plain IHT uses :math:`\mu = 1/L`. Normalized IHT
    (Blumensath & Davies 2010) takes, with :math:`\Gamma` the current support (at the start,
    that of :math:`H_s(g)`),

    .. math:: \mu = \frac{\|g_\Gamma\|^2}{\|g_\Gamma D\|^2},

    and when the new support differs from :math:`\Gamma` it accepts the step only if
    :math:`\mu \le (1 - c)\|\tilde z - z\|^2 / \|(\tilde z - z)D\|^2`, else shrinks
    :math:`\mu \leftarrow \mu / (\kappa(1 - c))` (here ``c = 0.01``, ``κ = 2``). This makes the
    residual ``‖x − zD‖²`` non-increasing for any dictionary scaling.

    References
    ----------
    Blumensath & Davies (2008), "Iterative thresholding for sparse approximations",
    J. Fourier Anal. Appl. 14.
    Blumensath & Davies (2010), "Normalized iterative hard thresholding: guaranteed stability
    and performance", IEEE J. Sel. Topics Signal Process. 4(2).

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.eye(4); X = np.array([[3.0, -0.1, 2.0, 0.2]])
    >>> np.round(dictlearn.iht(X, D, n_nonzero_coefs=2).codes, 6)
    array([[3., 0., 2., 0.]])
    """
    xp, X, D, init, tol, max_iter = check_coding_inputs(X, dictionary, "iht", init=init, tol=tol,
                                                        max_iter=max_iter)
    (n, m), k = X.shape, D.shape[0]
    if n_nonzero_coefs is None:
        K = max(1, m // 10)
    else:
        K = check_positive_int(n_nonzero_coefs, "n_nonzero_coefs", upper=k, upper_name="n_atoms")
    check_every = check_positive_int(check_every, "check_every")
    positive = bool(positive)
    use_kernel = compiled_for_loop(engine, xp, callback=callback, record_history=record_history)
    sc = Scale.of(X, xp)  # solve on X / s (dictlearn/_scale.py): scale-invariant
    X, init = sc.down(X), sc.down(init)
    L = None if normalized else spectral_norm_sq(D, xp=xp)
    if use_kernel:
        Z, it, crit, conv = call("iht_l0", "numba", xp, X, D, init, n_nonzero_coefs=K,
                                 normalized=normalized, positive=positive, tol=tol,
                                 max_iter=max_iter, check_every=check_every, lipschitz=L,
                                 max_shrink=_MAX_SHRINK, shrink_c=_C, kappa=_KAPPA)
        status = Status.converged if bool(xp.all(conv)) else Status.max_iter_reached
        return sc.result(Result(Z, status, int(xp.max(it)) if n else 0, it, conv, crit),
                         owner="iht")
    return sc.result(solve_iht(X, D, init, K=K, normalized=normalized, positive=positive,
                               tol=tol, max_iter=max_iter, check_every=check_every, lipschitz=L,
                               max_shrink=_MAX_SHRINK, xp=xp, callback=callback,
                               record_history=record_history), owner="iht")
