r"""Convolutional (shift-invariant) sparse coding: the registry and its entry point.

Per signal ``x`` of shape (n_channels, n_times) the lasso methods minimise

.. math:: F(z) = \tfrac12 \Big\|x - \sum_k d_k * z_k\Big\|_2^2 + \alpha \sum_k \|z_k\|_1
          \quad(\text{optionally } z \ge 0),

with activations ``z`` of shape (n_atoms, n_times_valid) shared across channels. Methods are
registered in :data:`CSC_METHODS` (a :class:`~dictlearn.coding.MethodTable` of its own kind)
with the same metadata as :data:`dictlearn.METHODS`; :func:`csc_encode` is the one entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .._loop import Info, Result
from .._scale import scale_invariant
from .._validation import (
    check_array,
    check_choice,
    check_nonneg_scalar,
    check_positive_int,
    check_signals_atoms,
)
from .._xp import get_namespace
from ..coding import MethodTable, solve_proximal_gradient
from ._conv import ConvLeastSquares, ConvOperator

__all__ = ["CSC", "CSC_METHODS", "check_csc_inputs", "csc_encode", "csc_fista", "csc_method_spec",
           "csc_objective", "finish_codes", "reconstruct", "register_csc_method"]

#: The convolutional sparse-coding methods of :func:`csc_encode`.
CSC = MethodTable("convolutional sparse-coding")

#: Name (and alias) → method ``fn(X, atoms, **options) -> Result``.
CSC_METHODS = CSC.methods

register_csc_method = CSC.register
csc_method_spec = CSC.spec


def check_csc_inputs(X: Any, atoms: Any, owner: str, *, init: Any = None, tol: Any = 0.0,
                     max_iter: Any = 1, alpha: Any = 0.0) -> tuple:
    """The preamble of a CSC method: ``(xp, X, D, lead, op, init, tol, max_iter, alpha)``.

    ``X`` (n, C, T) and ``D`` (K, C, L) as :func:`~dictlearn._validation.check_signals_atoms`
    gives them, ``op`` their :class:`ConvOperator`, ``init`` (warm start of the codes' shape)
    flattened to (n, K·n_times_valid) or None.
    """
    xp, X, D, lead = check_signals_atoms(X, atoms, owner=owner)
    op = ConvOperator.build(D, X.shape[2], xp=xp)
    tol = check_nonneg_scalar(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    alpha = check_nonneg_scalar(alpha, "alpha")
    if init is not None:
        shape = (*lead, op.n_atoms, op.n_times_valid)
        init = check_array(init, "init", like=X, shape=shape, ndim=len(shape),
                           axes=None)
        init = xp.reshape(init, (X.shape[0], -1))
    return xp, X, D, lead, op, init, tol, max_iter, alpha


def finish_codes(result: Result, lead: tuple[int, ...], op: ConvOperator) -> Result:
    """The result with its codes in the caller's shape ``lead + (n_atoms, n_times_valid)``."""
    shape = (*lead, op.n_atoms, op.n_times_valid)
    return replace(result, codes=op.xp.reshape(result.codes, shape))


@register_csc_method("fista", penalty="l1", iterative=True)
@scale_invariant({"alpha": 1, "init": 1})  # dictlearn/_scale.py
def csc_fista(X: Any, atoms: Any, *, alpha: float = 0.1, positive: bool = False,
              init: Any = None, max_iter: int = 1000, tol: float = 1e-6, stop: str = "gap",
              check_every: int = 10, restart: bool = True, lipschitz: float | None = None,
              callback: Callable[[Info], Any] | None = None,
              record_history: bool = False) -> Result:
    r"""FISTA for convolutional sparse coding: the library's proximal-gradient loop on the
    convolution operator.

    Each step is :math:`z \leftarrow \eta_{\alpha/L}(y + \mathcal{D}^\top(x - \mathcal{D}y)/L)`
    with the soft threshold of :mod:`dictlearn.prox`, :math:`L` the bound
    :meth:`ConvOperator.lipschitz` and both operators by FFT; momentum and adaptive restart
    as :func:`dictlearn.fista`. A signal stops when its duality gap is below ``tol`` times its
    objective.

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    alpha : float, default=0.1
    positive : bool, default=False
    init : array of the codes' shape, optional
        Warm start.
    max_iter, tol, stop, check_every, restart, callback, record_history
        As :func:`dictlearn.fista` (the callback sees codes flattened per signal).
    lipschitz : float, optional
        A known bound on ``‖𝒟‖²``.

    Returns
    -------
    Result
        ``codes`` of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(20); x[5:8] = [1.0, 2.0, 1.0]
    >>> res = csc_fista(x, np.array([[1.0, 2.0, 1.0]]) / np.sqrt(6), alpha=0.01)
    >>> int(np.argmax(res.codes[0])), res.status.value
    (5, 'converged')
    """
    xp, X, _D, lead, op, init, tol, max_iter, alpha = check_csc_inputs(
        X, atoms, "csc_fista", init=init, tol=tol, max_iter=max_iter, alpha=alpha)
    check_choice(stop, "stop", {"gap", "change"})
    check_every = check_positive_int(check_every, "check_every")
    L = None if lipschitz is None else check_nonneg_scalar(lipschitz, "lipschitz",
                                                           allow_zero=False)
    ls = ConvLeastSquares.build(X, op, L)
    n = X.shape[0]
    Z0 = init if init is not None else xp.zeros(
        (n, op.n_atoms * op.n_times_valid), dtype=X.dtype, device=getattr(X, "device", None))
    result = solve_proximal_gradient(
        ls, Z0, alpha=alpha, positive=positive, acceleration=True, restart=restart, stop=stop,
        tol=tol, max_iter=max_iter, check_every=check_every, callback=callback,
        record_history=record_history)
    return finish_codes(result, lead, op)


def csc_encode(X: Any, atoms: Any, *, method: str = "fista", return_result: bool = False,
               **options: Any) -> Any:
    r"""Convolutional sparse codes (activations) of signals on shift-invariant atoms.

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    method : str, default="fista"
        A name in :data:`CSC_METHODS`.
    return_result : bool, default=False
        Return the method's :class:`~dictlearn.Result` instead of the activations.
    **options
        Passed to the method (``alpha``, ``positive``, ``max_iter``, ``tol``, …).

    Returns
    -------
    activations : array of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)``
        ``x ≈ Σ_k d_k ∗ z_k`` (see :func:`dictlearn.signal.reconstruct`).

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.signal import csc_encode
    >>> x = np.zeros(20); x[5:8] = [1.0, 2.0, 1.0]
    >>> z = csc_encode(x, np.array([[1.0, 2.0, 1.0]]) / np.sqrt(6), alpha=0.01)
    >>> z.shape, int(np.argmax(z[0]))
    ((1, 18), 5)
    """
    result = csc_method_spec(method).fn(X, atoms, **options)
    return result if return_result else result.codes


def _checked_codes(X: Any, atoms: Any, codes: Any, owner: str):
    xp, X, _D, lead, op, codes, *_ = check_csc_inputs(X, atoms, owner, init=codes)
    return xp, X, lead, op, codes


def reconstruct(codes: Any, atoms: Any, *, n_times: int | None = None) -> Any:
    r"""The signals ``Σ_k d_k ∗ z_k`` of activations ``codes`` on ``atoms``.

    Parameters
    ----------
    codes : array of shape (n_atoms, n_times_valid) or (n_signals, n_atoms, n_times_valid)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    n_times : int, optional
        Must equal ``n_times_valid + atom_length − 1`` when given.

    Returns
    -------
    array of shape (n_channels, n_times) or (n_signals, n_channels, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((1, 5)); z[0, 1] = 2.0
    >>> np.round(reconstruct(z, np.array([[1.0, -1.0]])), 12) + 0.0
    array([[ 0.,  2., -2.,  0.,  0.,  0.]])
    """
    codes = check_array(codes, "codes", ndim=(2, 3), axes=None)
    lead = tuple(codes.shape[:-2])
    D = check_array(atoms, "atoms", like=codes, atoms=True, ndim=(2, 3))
    xp = get_namespace(codes)
    if D.ndim == 2:
        D = xp.reshape(D, (D.shape[0], 1, D.shape[1]))
    if codes.shape[-2] != D.shape[0]:
        raise ValueError(f"codes have {codes.shape[-2]} atoms (axis -2) but atoms has "
                         f"{D.shape[0]} (codes shape {tuple(codes.shape)}, atoms shape "
                         f"{tuple(D.shape)})")
    T = codes.shape[-1] + D.shape[2] - 1
    if n_times is not None and int(n_times) != T:
        raise ValueError(f"n_times must be n_times_valid + atom_length - 1 = {T}; got {n_times}")
    op = ConvOperator.build(D, T, xp=xp)
    Z = xp.reshape(codes, (-1, *codes.shape[-2:]))
    return xp.reshape(op.apply(Z), (*lead, D.shape[1], T))


def csc_objective(X: Any, atoms: Any, codes: Any, *, alpha: float, positive: bool = False
                  ) -> tuple[Any, Any]:
    r"""Per signal, the objective ``½‖x − Σ_k d_k ∗ z_k‖² + α Σ_k‖z_k‖₁`` and its duality gap.

    The gap uses the dual point ``θ = α r / max(α, ‖𝒟ᵀr‖∞)`` (THEORY.md): it is ≥ 0 for any
    codes and 0 exactly at a solution, so it certifies any solver's answer.

    Returns
    -------
    objective, gap : arrays of shape (n_signals,) (shape (1,) for one signal)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0, -1.0, 0.0]); d = np.array([[1.0, -1.0]]) / np.sqrt(2)
    >>> F, gap = csc_objective(x, d, np.array([[0.0, np.sqrt(2) - 0.1, 0.0]]), alpha=0.1)
    >>> np.round(F, 6), bool(gap[0] < 1e-12)
    (array([0.136421]), True)
    >>> bool(csc_objective(x, d, np.zeros((1, 3)), alpha=0.1)[1][0] > 0.1)
    True
    """
    alpha = check_nonneg_scalar(alpha, "alpha")
    _xp, X, _lead, op, Z = _checked_codes(X, atoms, codes, "csc_objective")
    return ConvLeastSquares.build(X, op).objective_and_gap(Z, alpha, positive)[:2]
