r"""ISTA and FISTA: the shared step, and the shared step plus momentum.

Both minimise, per sample, :math:`F(z) = \tfrac12\|x - zD\|^2 + \alpha\|z\|_1`
(optionally with :math:`z \ge 0`), by proximal gradient steps of size :math:`1/L`,
:math:`L = \|D\|_2^2`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .._linalg import spectral_norm_sq
from .._loop import Info, Result, Status, run_loop
from .._scale import Scale
from .._validation import check_choice, check_coding_inputs, check_nonneg_scalar, check_positive_int
from ..kernels import call, compiled_for_loop
from ..prox import get_prox
from ._registry import register_method
from .step import LeastSquares, choose_form

__all__ = ["fista", "ista", "proximal_gradient", "solve_proximal_gradient"]


@dataclass(frozen=True)
class PGState:
    """Rows still iterating: codes, previous codes, extrapolated point and momentum."""

    Z: Any
    Z_prev: Any
    Y: Any  # FISTA's extrapolated point (None for ISTA)
    t: Any  # FISTA's momentum scalar per row, shape (n, 1) (None for ISTA)
    ls: LeastSquares

    def take(self, rows: Any) -> PGState:
        xp = self.ls.xp

        def tk(a):
            return None if a is None else xp.take(a, rows, axis=0)

        return PGState(tk(self.Z), tk(self.Z_prev), tk(self.Y), tk(self.t), self.ls.take(rows))


def _ista_step(state: PGState, theta: float, prox: Callable[..., Any]) -> PGState:
    ls = state.ls
    Z = prox(ls.forward(state.Z), theta, xp=ls.xp)
    return replace(state, Z=Z, Z_prev=state.Z)


def _fista_step(state: PGState, theta: float, prox: Callable[..., Any], restart: bool) -> PGState:
    ls, xp = state.ls, state.ls.xp
    Z = prox(ls.forward(state.Y), theta, xp=xp)
    dZ = Z - state.Z
    t = state.t
    if restart:  # gradient scheme of O'Donoghue & Candès (2015), per row
        bad = xp.vecdot(state.Y - Z, dZ)[:, None] > 0
        t = xp.where(bad, xp.ones_like(t), t)
    t_next = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * t * t))
    Y = Z + ((t - 1.0) / t_next) * dZ
    return PGState(Z, state.Z, Y, t_next, ls)


def change_criterion(tol: float):
    """The rule ``‖z_k − z_{k−1}‖ ≤ tol·‖z_k‖`` for a state with ``Z``, ``Z_prev`` and ``ls``."""
    def criterion(state: Any):
        xp = state.ls.xp
        dn = xp.linalg.vector_norm(state.Z - state.Z_prev, axis=1)
        zn = xp.linalg.vector_norm(state.Z, axis=1)
        return dn - tol * zn, dn / xp.maximum(zn, float(xp.finfo(zn.dtype).smallest_normal))

    return criterion


def gap_criterion(tol: float, alpha: float, positive: bool):
    """The rule ``gap ≤ tol·F`` (plus a rounding floor) for a state with ``Z`` and ``ls``."""
    def criterion(state: PGState):
        xp = state.ls.xp
        F, gap, floor = state.ls.objective_and_gap(state.Z, alpha, positive)
        tiny = float(xp.finfo(F.dtype).smallest_normal)
        return gap - (tol * F + floor), gap / xp.maximum(F, tiny)

    return criterion


def proximal_gradient(X: Any, dictionary: Any, *, alpha: float = 1.0, acceleration: bool = True,
                      positive: bool = False, init: Any = None, max_iter: int = 1000,
                      tol: float = 1e-6, stop: str = "gap", check_every: int = 10,
                      restart: bool = True, form: str = "auto", lipschitz: float | None = None,
                      callback: Callable[[Info], Any] | None = None,
                      record_history: bool = False, engine: str = "auto", screen: bool = True,
                      working_set: bool | None = None) -> Result:
    r"""ISTA (``acceleration=False``, :func:`ista`) or FISTA (:func:`fista`) in one function.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Signals, one per row.
    dictionary : array of shape (n_atoms, n_features)
        Atoms, one per row (no normalisation is assumed).
    alpha : float, default=1.0
        Weight of the l1 penalty (SPAMS' ``lambda1``; scikit-learn's ``sparse_encode`` ``alpha``).
    acceleration : bool, default=True
        FISTA's momentum.
    positive : bool, default=False
        Constrain codes to be non-negative (one-sided soft threshold).
    init : array of shape (n_samples, n_atoms), optional
        Warm start. Rows already optimal to ``tol`` cost no iteration.
    max_iter : int, default=1000
    tol : float, default=1e-6
        With ``stop="gap"``, a sample stops when its duality gap is below ``tol`` times its
        objective (plus a rounding floor of a few machine epsilons of ``‖x‖²``); with
        ``stop="change"``, when ``‖z_k − z_{k−1}‖ ≤ tol·‖z_k‖``.
    stop : {"gap", "change"}, default="gap"
    check_every : int, default=10
        Iterations between checks of the stopping rule (converged samples then leave the batch).
    restart : bool, default=True
        FISTA: adaptive restart of the momentum (O'Donoghue & Candès 2015).
    form : {"auto", "gram", "direct"}, default="auto"
        Gram form (``B + Z S``) when ``n_atoms < 2 n_features``, else the direct form.
    lipschitz : float, optional
        ``L = ‖D‖₂²`` if already known (it is computed otherwise).
    callback : callable, optional
        Called with a :class:`~dictlearn.Info` at every check; return True to stop.
    record_history : bool, default=False
        Keep one record per check in ``Result.history``.
    engine : {"auto", "reference", "numba"}, default="auto"
        ``"reference"``: the Array-API loop (any backend; callbacks and history);
        ``"numba"`` (NumPy inputs, picked by ``"auto"`` when numba is available and there is
        no ``callback``/``record_history``): the kernel of
        :mod:`dictlearn.kernels.fista_numba`.
    screen : bool, default=True
        Numba engine with working sets: gap-safe screening (Fercoq, Gramfort & Salmon 2015)
        removes, per sample, atoms proven to be zero in every solution.
    working_set : bool, optional
        Numba engine: run the method on per-sample working sets of atoms (grown from the KKT
        violations, with screening) instead of on all atoms. Default: when ``tol > 0`` and
        ``stop="gap"``. With ``tol=0`` the numba engine runs the plain iterates, so
        ``max_iter=k`` is exactly ``k`` steps of the method on every engine.

    Returns
    -------
    Result
        ``codes`` of shape (n_samples, n_atoms) in the caller's array library, with ``status``,
        ``n_iter``, per-sample ``converged`` and the final ``criterion``.

    Notes
    -----
    Both engines stop a sample on the same certificate (its duality gap, or the change of its
    codes), so they return the same lasso codes to the tolerance; with working sets the
    iterates differ (each inner iteration costs ``|W|²`` instead of ``n_atoms²``, and the
    step is ``1/L_W`` with ``L_W ≤ L`` the Gershgorin bound of the working set's Gram matrix).

    Examples
    --------
    >>> import numpy as np
    >>> res = proximal_gradient(np.array([[1.0, -0.05]]), np.eye(2), alpha=0.1)
    >>> np.round(res.codes, 6), res.status.value
    (array([[0.9, 0. ]]), 'converged')
    """
    xp, X, D, init, tol, max_iter = check_coding_inputs(
        X, dictionary, "fista" if acceleration else "ista", init=init, tol=tol, max_iter=max_iter)
    alpha = check_nonneg_scalar(alpha, "alpha")
    check_every = check_positive_int(check_every, "check_every")
    check_choice(stop, "stop", {"gap", "change"})
    use_kernel = compiled_for_loop(engine, xp, callback=callback, record_history=record_history)
    ws = (tol > 0 and stop == "gap") if working_set is None else bool(working_set)
    if ws and stop != "gap":
        raise ValueError(f"working_set=True needs stop='gap'; got stop={stop!r}")
    sc = Scale.of(X, xp)  # solve on X / s (dictlearn/_scale.py): scale-invariant
    X, init, alpha = sc.down(X), sc.down(init), sc.down(alpha)
    n, k = X.shape[0], D.shape[0]
    if lipschitz is None:
        L = spectral_norm_sq(D, xp=xp)
    else:
        L = check_nonneg_scalar(lipschitz, "lipschitz", allow_zero=False)
    owner = "fista" if acceleration else "ista"
    if use_kernel:
        if positive and init is not None:
            init = xp.maximum(init, 0.0)
        Z, it, crit, conv, _ = call(
            "fista_l1", "numba", xp, X, D, init, alpha=alpha, positive=bool(positive),
            acceleration=bool(acceleration), restart=bool(restart), stop=stop, tol=tol,
            max_iter=max_iter, check_every=check_every, lipschitz=L,
            form=choose_form(k, X.shape[1]) if form == "auto" else form, screen=bool(screen),
            working_set=ws)
        status = Status.converged if bool(xp.all(conv)) else Status.max_iter_reached
        if not bool(xp.all(xp.isfinite(Z))):
            status = Status.nonfinite
        return sc.result(Result(Z, status, int(xp.max(it)) if n else 0, it, conv, crit),
                         owner=owner)
    ls = LeastSquares.build(X, D, L, xp=xp, form=form)
    Z0 = xp.zeros((n, k), dtype=X.dtype, device=getattr(X, "device", None)) if init is None \
        else init
    return sc.result(solve_proximal_gradient(
        ls, Z0, alpha=alpha, positive=positive, acceleration=acceleration, restart=restart,
        stop=stop, tol=tol, max_iter=max_iter, check_every=check_every, callback=callback,
        record_history=record_history), owner=owner)


def solve_proximal_gradient(ls: Any, Z0: Any, *, alpha: float, positive: bool,
                            acceleration: bool, restart: bool, stop: str, tol: float,
                            max_iter: int, check_every: int,
                            callback: Callable[[Info], Any] | None = None,
                            record_history: bool = False) -> Result:
    """ISTA/FISTA on any smooth least-squares term ``ls``, from codes ``Z0`` (validated).

    ``ls`` offers ``L``, ``xp``, ``forward(Z)`` (the gradient step ``Z − ∇f(Z)/L``),
    ``take(rows)`` and ``objective_and_gap(Z, alpha, positive)``, with codes of shape
    (n_samples, n_coefficients): :class:`~dictlearn.coding.LeastSquares` for a dictionary,
    the convolution operator of :mod:`dictlearn.signal` for shift-invariant coding (its codes
    flattened). This is the one proximal-gradient loop both run on.
    """
    xp = ls.xp
    n = Z0.shape[0]
    if positive:
        Z0 = xp.maximum(Z0, 0.0)
    prox = get_prox("nonneg_soft" if positive else "soft")
    theta = alpha / ls.L
    if acceleration:
        ones = xp.ones((n, 1), dtype=Z0.dtype, device=getattr(Z0, "device", None))
        state = PGState(Z0, Z0, Z0, ones, ls)

        def step(s):
            return _fista_step(s, theta, prox, restart)
    else:
        state = PGState(Z0, Z0, None, None, ls)

        def step(s):
            return _ista_step(s, theta, prox)

    criterion = gap_criterion(tol, alpha, positive) if stop == "gap" else change_criterion(tol)
    return run_loop(state, step=step, criterion=criterion, codes=lambda s: s.Z, n_samples=n,
                    max_iter=max_iter, check_every=check_every, xp=xp, callback=callback,
                    check_initial=(stop == "gap"), record_history=record_history)


@register_method("ista", penalty="l1", iterative=True, backends=("array-api", "numba"))
def ista(X: Any, dictionary: Any, *, alpha: float = 1.0, positive: bool = False, init: Any = None,
         max_iter: int = 1000, tol: float = 1e-6, stop: str = "gap", check_every: int = 10,
         form: str = "auto", lipschitz: float | None = None,
         callback: Callable[[Info], Any] | None = None, record_history: bool = False,
         engine: str = "auto", screen: bool = True, working_set: bool | None = None) -> Result:
    r"""Iterative shrinkage-thresholding (ISTA) for the lasso, per sample.

    Repeats the shared step :math:`z \leftarrow \operatorname{prox}_{\alpha/L}(z - \nabla f(z)/L)`
    with :math:`f(z) = \tfrac12\|x - zD\|^2`. The objective never increases and
    :math:`F(z_k) - F^\star \le L\|z_0 - z^\star\|^2/(2k)` (Beck & Teboulle 2009).

    Parameters
    ----------
    X, dictionary, **options
        Those of :func:`~dictlearn.coding.proximal_gradient` but ``acceleration``, ``restart``.

    Returns
    -------
    Result
        As :func:`~dictlearn.coding.proximal_gradient`'s.

    References
    ----------
    Daubechies, Defrise & De Mol (2004), Comm. Pure Appl. Math. 57;
    Beck & Teboulle (2009), SIAM J. Imaging Sci. 2(1).

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.eye(3); X = np.array([[1.0, -0.05, 0.3]])
    >>> res = dictlearn.ista(X, D, alpha=0.1)
    >>> np.round(res.codes, 6), res.status.value
    (array([[0.9, 0. , 0.2]]), 'converged')
    """
    return proximal_gradient(
        X, dictionary, acceleration=False,
        alpha=alpha, positive=positive, init=init, max_iter=max_iter, tol=tol, stop=stop,
        check_every=check_every, form=form, lipschitz=lipschitz, callback=callback,
        record_history=record_history, engine=engine, screen=screen, working_set=working_set,
    )


@register_method("fista", penalty="l1", iterative=True, backends=("array-api", "numba"))
def fista(X: Any, dictionary: Any, *, alpha: float = 1.0, positive: bool = False, init: Any = None,
          max_iter: int = 1000, tol: float = 1e-6, stop: str = "gap", check_every: int = 10,
          form: str = "auto", lipschitz: float | None = None,
          callback: Callable[[Info], Any] | None = None, record_history: bool = False,
          restart: bool = True, engine: str = "auto", screen: bool = True,
          working_set: bool | None = None) -> Result:
    r"""FISTA: the shared step at an extrapolated point, with Nesterov momentum.

    :math:`z_k = \operatorname{prox}_{\alpha/L}(y_k - \nabla f(y_k)/L)`,
    :math:`t_{k+1} = (1 + \sqrt{1 + 4t_k^2})/2`,
    :math:`y_{k+1} = z_k + \tfrac{t_k - 1}{t_{k+1}}(z_k - z_{k-1})`, with
    :math:`F(z_k) - F^\star \le 2L\|z_0 - z^\star\|^2/(k+1)^2` without restart. With
    ``restart=True`` a sample's momentum restarts (``t = 1``) when
    :math:`(y_k - z_k)\cdot(z_k - z_{k-1}) > 0` (gradient scheme of O'Donoghue & Candès 2015).

    Parameters
    ----------
    X, dictionary, **options
        Those of :func:`~dictlearn.coding.proximal_gradient` but ``acceleration``.

    Returns
    -------
    Result
        As :func:`~dictlearn.coding.proximal_gradient`'s.

    References
    ----------
    Beck & Teboulle (2009), SIAM J. Imaging Sci. 2(1);
    O'Donoghue & Candès (2015), Found. Comput. Math. 15.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.eye(3); X = np.array([[1.0, -0.05, 0.3]])
    >>> np.round(dictlearn.fista(X, D, alpha=0.1).codes, 6)
    array([[0.9, 0. , 0.2]])
    """
    return proximal_gradient(
        X, dictionary, acceleration=True, restart=restart,
        alpha=alpha, positive=positive, init=init, max_iter=max_iter, tol=tol, stop=stop,
        check_every=check_every, form=form, lipschitz=lipschitz, callback=callback,
        record_history=record_history, engine=engine, screen=screen, working_set=working_set,
    )
