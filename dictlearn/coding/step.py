r"""The shared proximal-gradient step.

With ``f(Z) = ½‖X − Z D‖²``, ``∇f(Z) = Z G − X Dᵀ`` (``G = D Dᵀ``), so one step of size
``1/L`` is

.. math:: Z^+ = \operatorname{prox}_\theta\big(X W + Z S\big),\quad
          W = D^\top/L,\ S = I - G/L,\ \theta = \alpha/L .

:func:`proximal_step` is that pure function: ISTA repeats it, FISTA applies it at an
extrapolated point, LISTA layers apply it with learned ``W``, ``S``, ``θ``, and autoencoder
encoders apply it once from ``Z = 0``.

:class:`LeastSquares` holds the per-batch precomputations of the iterative solvers in the
cheaper of two equivalent forms:

- **Gram form** ``B + Z S`` with ``B = X Dᵀ/L``: one (n, k)×(k, k) product per step, used when
  ``n_atoms < 2·n_features``;
- **direct form** ``Z − ((Z D) − X) Dᵀ/L``: two (n, k)×(k, m) products, used otherwise
  (overcomplete dictionaries of low-dimensional signals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .._linalg import gram
from ..objectives import gap_direct, gap_gram

__all__ = ["LeastSquares", "choose_form", "proximal_step"]


def proximal_step(
    B: Any, Z: Any, S: Any, theta: Any, prox: Callable[..., Any], *, xp: ModuleType
) -> Any:
    """One proximal-gradient step in Gram form: ``prox_θ(B + Z S)`` with ``B = X W``.

    Parameters
    ----------
    B : array of shape (n_samples, n_atoms)
        ``X W`` (``X Dᵀ/L`` for ISTA).
    Z : array of shape (n_samples, n_atoms)
    S : array of shape (n_atoms, n_atoms)
        ``I − D Dᵀ/L`` for ISTA; learned in LISTA.
    theta : float or array broadcastable to (n_samples, n_atoms)
    prox : callable ``prox(V, theta, *, xp)``

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.prox import soft_threshold
    >>> D = np.eye(2); X = np.array([[2.0, 0.05]]); L = 1.0
    >>> proximal_step(X @ D.T / L, np.zeros((1, 2)), np.eye(2) - D @ D.T / L, 0.1,
    ...               soft_threshold, xp=np)
    array([[1.9, 0. ]])
    """
    return prox(B + Z @ S, theta, xp=xp)


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
        """The gradient step ``Z − ∇f(Z)/L`` (the argument of the prox)."""
        if self.form == "gram":
            return self.B + Z @ self.S
        return self.B + Z - (Z @ self.D) @ self.Dt_L

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
