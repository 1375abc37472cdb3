r"""The shared proximal-gradient step, written once, and its vector-Jacobian products.

With ``f(Z) = ½‖X − Z D‖²``, ``∇f(Z) = Z G − X Dᵀ`` (``G = D Dᵀ``), so one step of size
``1/L`` is

.. math:: Z^+ = \eta_\theta(V),\quad V = X W + Z S,\quad
          W = D^\top/L,\ S = I - G/L,\ \theta = \alpha/L ,

with ``η`` a map of :data:`dictlearn.prox.PROXES`. :func:`proximal_step` is that pure
function (:func:`step_forward` also returns ``V`` for the backward pass): ISTA repeats it,
FISTA applies it at an extrapolated point, LISTA layers apply it with learned ``W``, ``S``,
``θ``, and autoencoder encoders apply it once from ``Z = 0``. Its *coupled* form, used by
LISTA-CP, ALISTA and step-size LISTA, ties ``S = I − D W``, so that
``V = Z + (X − Z D) W`` (:func:`coupled_step_forward`).

Reverse-mode derivatives with the upstream gradient ``Ḡ = ∂ℓ/∂Z⁺`` and
``V̄ = Ḡ ⊙ η'(V)`` (the map's own :meth:`~dictlearn.prox.ProxMap.vjp`):

* explicit form: ``W̄ = Xᵀ V̄``, ``S̄ = Zᵀ V̄``, ``Z̄ = V̄ Sᵀ``;
* coupled form: ``W̄ = (X − Z D)ᵀ V̄``, ``Z̄ = V̄ − (V̄ Wᵀ) Dᵀ``;
* ``θ̄ = Σ (∂η/∂θ) ⊙ Ḡ`` summed over the axes along which ``θ`` was broadcast
  (:func:`sum_to_shape`).

:class:`LeastSquares` holds the per-batch precomputations of the iterative solvers in the
cheaper of the two forms:

- **Gram form** ``B + Z S`` with ``B = X Dᵀ/L``: one (n, k)×(k, k) product per step, used when
  ``n_atoms < 2·n_features``;
- **direct form**, the coupled step with ``W = Dᵀ/L``: ``Z + (X − Z D) Dᵀ/L``, two
  (n, k)×(k, m) products, used otherwise (overcomplete dictionaries of low-dimensional
  signals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .._linalg import gram
from ..objectives import gap_direct, gap_gram

__all__ = ["LeastSquares", "choose_form", "coupled_step_forward", "coupled_step_vjp",
           "proximal_step", "step_forward", "step_vjp", "sum_to_shape"]


def _explicit(B: Any, Z: Any, S: Any) -> Any:
    """``V = B + Z S`` (``V = B`` for ``Z = None``, i.e. ``Z = 0``)."""
    return B if Z is None else B + Z @ S


def _coupled(X: Any, Z: Any, D: Any, W: Any) -> Any:
    """``V = Z + (X − Z D) W`` (``V = X W`` for ``Z = None``)."""
    return X @ W if Z is None else Z + (X - Z @ D) @ W


def step_forward(B: Any, Z: Any, S: Any, theta: Any, prox: Callable[..., Any], *,
                 xp: ModuleType) -> tuple[Any, Any]:
    """The shared step ``η_θ(B + Z S)`` and its pre-activation ``V`` (kept for the backward).

    ``Z=None`` stands for ``Z = 0`` (a first LISTA layer, an autoencoder's encoder): ``V = B``.
    :func:`proximal_step` is its first output.
    """
    V = _explicit(B, Z, S)
    return prox(V, theta, xp=xp), V


def proximal_step(B: Any, Z: Any, S: Any, theta: Any, prox: Callable[..., Any], *,
                  xp: ModuleType) -> Any:
    """One proximal-gradient step in Gram form: ``prox_θ(B + Z S)`` with ``B = X W``.

    Parameters
    ----------
    B : array of shape (n_samples, n_atoms)
        ``X W`` (``X Dᵀ/L`` for ISTA).
    Z : array of shape (n_samples, n_atoms), or None for zeros
    S : array of shape (n_atoms, n_atoms)
        ``I − D Dᵀ/L`` for ISTA; learned in LISTA.
    theta : float or array broadcastable to (n_samples, n_atoms)
    prox : callable ``prox(V, theta, *, xp)``
        A :class:`dictlearn.prox.ProxMap` or one of the plain functions of
        :mod:`dictlearn.prox`.

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.prox import get_prox
    >>> D = np.eye(2); X = np.array([[2.0, 0.05]]); L = 1.0
    >>> proximal_step(X @ D.T / L, np.zeros((1, 2)), np.eye(2) - D @ D.T / L, 0.1,
    ...               get_prox("soft"), xp=np)
    array([[1.9, 0. ]])
    """
    return step_forward(B, Z, S, theta, prox, xp=xp)[0]


def step_vjp(Z: Any, S: Any, V: Any, theta: Any, Z_out: Any, G: Any, prox: Any, *,
             xp: ModuleType) -> tuple[Any, Any, Any, Any]:
    """Backward of :func:`step_forward`: ``(B̄, Z̄, S̄, θ̄)`` (``Z̄``, ``S̄`` None when ``Z`` is).

    ``prox`` is a :class:`dictlearn.prox.ProxMap`; ``θ̄`` has the full shape of ``V``.
    """
    gV, gT = prox.vjp(V, theta, Z_out, G, xp=xp)
    if Z is None:
        return gV, None, None, gT
    return gV, gV @ xp.matrix_transpose(S), xp.matrix_transpose(Z) @ gV, gT


def coupled_step_forward(X: Any, Z: Any, D: Any, W: Any, theta: Any, prox: Callable[..., Any], *,
                         xp: ModuleType) -> tuple[Any, Any]:
    """The step with ``S = I − D W``: ``η_θ(Z + (X − Z D) W)`` and its pre-activation."""
    V = _coupled(X, Z, D, W)
    return prox(V, theta, xp=xp), V


def coupled_step_vjp(X: Any, Z: Any, D: Any, W: Any, V: Any, theta: Any, Z_out: Any, G: Any,
                     prox: Any, *, xp: ModuleType) -> tuple[Any, Any, Any]:
    """Backward of :func:`coupled_step_forward`: ``(W̄, Z̄, θ̄)``."""
    gV, gT = prox.vjp(V, theta, Z_out, G, xp=xp)
    t = xp.matrix_transpose
    if Z is None:
        return t(X) @ gV, None, gT
    R = X - Z @ D
    return t(R) @ gV, gV - (gV @ t(W)) @ t(D), gT


def sum_to_shape(g: Any, shape: tuple[int, ...], *, xp: ModuleType) -> Any:
    """Sum a full (n_samples, n_atoms) gradient down to the shape ``θ`` was broadcast from.

    ``()`` or ``(1,)``: one scalar; ``(n_atoms,)`` or ``(1, n_atoms)``: per atom;
    ``(n_samples, 1)``: per sample.
    """
    shape = tuple(shape)
    if shape in ((), (1,), (1, 1)):
        return xp.reshape(xp.sum(g), shape)
    if shape == (g.shape[1],):
        return xp.sum(g, axis=0)
    if shape == (1, g.shape[1]):
        return xp.sum(g, axis=0, keepdims=True)
    if shape == (g.shape[0], 1):
        return xp.sum(g, axis=1, keepdims=True)
    if shape == tuple(g.shape):
        return g
    raise ValueError(f"cannot reduce a gradient of shape {tuple(g.shape)} to shape {shape}")


def choose_form(n_atoms: int, n_features: int) -> str:
    """``"gram"`` when a (k×k) product is cheaper than two (k×m) ones, else ``"direct"``."""
    return "gram" if n_atoms < 2 * n_features else "direct"


@dataclass(frozen=True)
class LeastSquares:
    """``½‖X − Z D‖²`` for a batch of rows, with step ``1/L``, in Gram or direct form.

    Only the row-wise arrays (``B``, ``X``, ``xx``) are subset by :meth:`take`; the
    dictionary-sized ones are shared.
    """

    form: str
    L: float
    B: Any  # X Dᵀ / L, (n, k)
    xx: Any  # ‖x‖², (n,)
    X: Any  # (n, m) in direct form, else None
    D: Any  # (k, m)
    S: Any  # I − G/L in Gram form, else None
    Dt_L: Any  # Dᵀ/L in direct form, else None
    G: Any  # D Dᵀ in Gram form, else None
    xp: ModuleType

    @classmethod
    def build(cls, X: Any, D: Any, L: float, *, xp: ModuleType, form: str = "auto"):
        k, m = D.shape
        if form == "auto":
            form = choose_form(k, m)
        if form not in ("gram", "direct"):
            raise ValueError(f"form must be 'auto', 'gram' or 'direct'; got {form!r}")
        Dt = xp.matrix_transpose(D)
        B = (X @ Dt) / L
        xx = xp.sum(X * X, axis=1)
        if form == "gram":
            eye = xp.eye(k, dtype=D.dtype, device=getattr(D, "device", None))
            G = gram(D, xp)
            return cls("gram", L, B, xx, None, D, eye - G / L, None, G, xp)
        return cls("direct", L, B, xx, X, D, None, Dt / L, None, xp)

    def forward(self, Z: Any) -> Any:
        """The gradient step ``Z − ∇f(Z)/L`` (the argument of the prox): the pre-activation
        of :func:`step_forward` (Gram form) or of :func:`coupled_step_forward` (direct form)."""
        if self.form == "gram":
            return _explicit(self.B, Z, self.S)
        return _coupled(self.X, Z, self.D, self.Dt_L)

    def take(self, rows: Any) -> LeastSquares:
        xp = self.xp
        X = None if self.X is None else xp.take(self.X, rows, axis=0)
        return LeastSquares(
            self.form, self.L, xp.take(self.B, rows, axis=0), xp.take(self.xx, rows, axis=0),
            X, self.D, self.S, self.Dt_L, self.G, xp,
        )

    def objective_and_gap(self, Z: Any, alpha: float, positive: bool):
        """Per-row lasso objective, duality gap and the gap's rounding floor."""
        xp = self.xp
        eps = float(xp.finfo(Z.dtype).eps)
        if self.form == "direct":
            F, gap = gap_direct(self.X, self.D, Z, alpha, positive, xp)
        else:
            F, gap = gap_gram(self.xx, self.B * self.L, self.G, Z, alpha, positive, xp)
        # The gap is first order in the rounding of z and of the dual point: a few machine
        # epsilons of ‖x‖² is the smallest gap the working precision can certify.
        return F, gap, 10 * eps * self.xx
