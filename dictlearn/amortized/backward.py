r"""Backward passes of the shared proximal-gradient step and of K unrolled steps.

The forward map of every amortized method is the step of :mod:`dictlearn.coding.step`,

.. math:: Z^+ = \eta_\theta(V),\qquad V = X W + Z S ,

(ISTA: ``W = Dᵀ/L``, ``S = I − D Dᵀ/L``, ``θ = α/L``; LISTA: learned per layer; an
autoencoder encoder: one step from ``Z = 0``). Its *coupled* form, used by LISTA-CP,
ALISTA and step-size LISTA, ties ``S = I − D W``, so that ``V = Z + (X − Z D) W``.

Reverse-mode derivatives (vector-Jacobian products) with the upstream gradient
``Ḡ = ∂ℓ/∂Z⁺`` and ``V̄ = Ḡ ⊙ η'(V)``:

* explicit form: ``W̄ = Xᵀ V̄``, ``S̄ = Zᵀ V̄``, ``Z̄ = V̄ Sᵀ``;
* coupled form: ``W̄ = (X − Z D)ᵀ V̄``, ``Z̄ = V̄ − (V̄ Wᵀ) Dᵀ``;
* ``θ̄ = Σ (∂η/∂θ) ⊙ Ḡ`` summed over the axes along which ``θ`` was broadcast.

The activations' derivatives (:class:`Activation`) are exact almost everywhere (the maps are
piecewise smooth). The one exception is the threshold of the hard threshold, whose derivative
is zero almost everywhere: there the straight-through surrogate ``−sign(v)·1[|v| > θ]`` (the
soft threshold's) is used, so that thresholds of IHT-like layers can still be learned. Every
other derivative is checked against finite differences in ``tests/test_amortized_backward.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..prox import (
    hard_threshold,
    nonneg_soft_threshold,
    sigmoid,
    soft_threshold,
    support_selection_mask,
    support_selection_soft,
    top_k,
    winner_take_all_lifetime,
)

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Layer",
    "coupled_step_forward",
    "coupled_step_vjp",
    "step_forward",
    "step_vjp",
    "sum_to_shape",
    "unrolled_forward",
    "unrolled_vjp",
]

#: Names accepted by :class:`Activation`.
ACTIVATIONS = ("soft", "nonneg_soft", "hard", "topk", "sigmoid", "soft_ss", "wta")


@dataclass(frozen=True)
class Activation:
    """A proximal map (or activation) ``η_θ`` together with its vector-Jacobian product.

    Parameters
    ----------
    name : {"soft", "nonneg_soft", "hard", "topk", "sigmoid", "soft_ss", "wta"}
        ``soft``: soft threshold; ``nonneg_soft``: ``max(v − θ, 0)`` (a ReLU with bias ``−θ``);
        ``hard``: hard threshold (straight-through for θ); ``topk``: the ``k`` largest entries
        of ``v − θ`` per row (positive values only when ``positive``, else by magnitude and
        ``θ`` must be 0); ``sigmoid``: ``σ(v − θ)``; ``soft_ss``: soft threshold with support
        selection of a ``fraction`` of each row; ``wta``: lifetime winner-take-all keeping a
        ``fraction`` of each column over the batch.
    k : int, optional
        For ``topk``.
    fraction : float, optional
        For ``soft_ss`` and ``wta``.
    positive : bool, default=True
        For ``topk``.

    Examples
    --------
    >>> import numpy as np
    >>> act = Activation("soft")
    >>> V = np.array([[-2.0, 0.5, 3.0]])
    >>> act(V, 1.0, xp=np)
    array([[-1.,  0.,  2.]])
    >>> gV, gtheta = act.vjp(V, 1.0, act(V, 1.0, xp=np), np.ones((1, 3)), xp=np)
    >>> gV, gtheta
    (array([[1., 0., 1.]]), array([[ 1., -0., -1.]]))
    """

    name: str
    k: int | None = None
    fraction: float | None = None
    positive: bool = True

    def __post_init__(self) -> None:
        if self.name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}; got {self.name!r}")
        if self.name == "topk" and (self.k is None or int(self.k) < 1):
            raise ValueError(f"the topk activation needs k >= 1; got k={self.k}")
        if self.name in ("soft_ss", "wta") and (
            self.fraction is None or not 0.0 <= float(self.fraction) <= 1.0
        ):
            raise ValueError(
                f"the {self.name} activation needs a fraction in [0, 1]; got {self.fraction}"
            )

    def __call__(self, V: Any, theta: Any, *, xp: ModuleType) -> Any:
        n = self.name
        if n == "soft":
            return soft_threshold(V, theta, xp=xp)
        if n == "nonneg_soft":
            return nonneg_soft_threshold(V, theta, xp=xp)
        if n == "hard":
            return hard_threshold(V, theta, xp=xp)
        if n == "sigmoid":
            return sigmoid(V, theta, xp=xp)
        if n == "soft_ss":
            return support_selection_soft(V, theta, self.fraction, xp=xp)
        if n == "wta":
            return winner_take_all_lifetime(V, theta, self.fraction, xp=xp)
        self._check_k(V)
        return top_k(V - theta, int(self.k), xp=xp, positive=self.positive)

    def _check_k(self, V: Any) -> None:
        if int(self.k) > V.shape[-1]:
            raise ValueError(f"k must be <= n_atoms ({V.shape[-1]}); got k={self.k}")

    def vjp(self, V: Any, theta: Any, Z: Any, G: Any, *, xp: ModuleType) -> tuple[Any, Any]:
        """``(V̄, θ̄)`` for the upstream gradient ``G`` at pre-activation ``V`` and output ``Z``.

        ``θ̄`` has the full shape of ``V``; reduce it with :func:`sum_to_shape`.
        """
        n = self.name
        zero = xp.zeros_like(G)
        if n in ("soft", "hard"):
            active = xp.abs(V) > theta
            gV = xp.where(active, G, zero)
            return gV, -xp.sign(V) * gV
        if n == "nonneg_soft":
            gV = xp.where(V > theta, G, zero)
            return gV, -gV
        if n == "sigmoid":
            gV = G * Z * (1.0 - Z)
            return gV, -gV
        if n == "soft_ss":
            active = xp.abs(V) > theta
            shrunk = active & ~support_selection_mask(V, theta, float(self.fraction), xp=xp)
            gV = xp.where(active, G, zero)
            return gV, xp.where(shrunk, -xp.sign(V) * G, zero)
        # topk and wta: the output is (V − θ) on a locally constant support
        gV = xp.where(Z != 0, G, zero)
        return gV, -gV


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


def step_forward(
    B: Any, Z: Any, S: Any, theta: Any, act: Activation, *, xp: ModuleType
) -> tuple[Any, Any]:
    """The shared step ``η_θ(B + Z S)`` and its pre-activation ``V`` (kept for the backward).

    Identical to :func:`dictlearn.coding.step.proximal_step` (a test checks it); ``Z=None``
    stands for ``Z = 0`` (the first layer, or an autoencoder's encoder): ``V = B``.
    """
    V = B if Z is None else B + Z @ S
    return act(V, theta, xp=xp), V


def step_vjp(
    Z: Any, S: Any, V: Any, theta: Any, Z_out: Any, G: Any, act: Activation, *, xp: ModuleType
) -> tuple[Any, Any, Any, Any]:
    """Backward of :func:`step_forward`: ``(B̄, Z̄, S̄, θ̄)`` (``Z̄``, ``S̄`` None when ``Z`` is).

    ``θ̄`` has the full shape of ``V``.
    """
    gV, gT = act.vjp(V, theta, Z_out, G, xp=xp)
    if Z is None:
        return gV, None, None, gT
    return gV, gV @ xp.matrix_transpose(S), xp.matrix_transpose(Z) @ gV, gT


def coupled_step_forward(
    X: Any, Z: Any, D: Any, W: Any, theta: Any, act: Activation, *, xp: ModuleType
) -> tuple[Any, Any]:
    """The step with ``S = I − D W``: ``η_θ(Z + (X − Z D) W)`` and its pre-activation."""
    V = X @ W if Z is None else Z + (X - Z @ D) @ W
    return act(V, theta, xp=xp), V


def coupled_step_vjp(
    X: Any, Z: Any, D: Any, W: Any, V: Any, theta: Any, Z_out: Any, G: Any, act: Activation,
    *, xp: ModuleType,
) -> tuple[Any, Any, Any]:
    """Backward of :func:`coupled_step_forward`: ``(W̄, Z̄, θ̄)``."""
    gV, gT = act.vjp(V, theta, Z_out, G, xp=xp)
    t = xp.matrix_transpose
    if Z is None:
        return t(X) @ gV, None, gT
    R = X - Z @ D
    return t(R) @ gV, gV - (gV @ t(W)) @ t(D), gT


@dataclass(frozen=True)
class Layer:
    """One unrolled step: ``W`` (n_features, n_atoms), ``θ``, the activation, and ``S``
    (n_atoms, n_atoms) — or ``S=None`` for the coupled form ``S = I − D W``."""

    W: Any
    theta: Any
    act: Activation
    S: Any = None


def unrolled_forward(
    X: Any, layers: Sequence[Layer], *, D: Any = None, xp: ModuleType
) -> tuple[list[Any], list[Any]]:
    """Run ``K`` steps from ``Z₀ = 0``; return the codes after each layer and the
    pre-activations ``(Z_1..Z_K, V_1..V_K)``."""
    Zs: list[Any] = []
    Vs: list[Any] = []
    Z = None
    for lay in layers:
        if lay.S is None:
            Z, V = coupled_step_forward(X, Z, D, lay.W, lay.theta, lay.act, xp=xp)
        else:
            Z, V = step_forward(X @ lay.W, Z, lay.S, lay.theta, lay.act, xp=xp)
        Zs.append(Z)
        Vs.append(V)
    return Zs, Vs


def unrolled_vjp(
    X: Any,
    layers: Sequence[Layer],
    Zs: Sequence[Any],
    Vs: Sequence[Any],
    grads: Sequence[Any],
    *,
    D: Any = None,
    xp: ModuleType,
    first: int = 0,
) -> list[tuple[Any, Any, Any]]:
    """Backward through :func:`unrolled_forward`.

    Parameters
    ----------
    grads : sequence of length K
        ``∂ℓ/∂Z_k`` for a loss on the output of layer ``k`` (``None`` where the loss does not
        see that layer), so losses on intermediate layers (layer-wise training) are allowed.
    first : int, default=0
        Stop the backward pass at layer ``first``: the weights of the layers before it get zero
        gradients without the cost of differentiating them (training only the last layers).

    Returns
    -------
    list of ``(W̄_k, S̄_k or None, θ̄_k)`` per layer, with ``θ̄_k`` of full shape.
    """
    K = len(layers)
    out: list[tuple[Any, Any, Any]] = [None] * K  # type: ignore[list-item]
    G = None
    for k in range(K - 1, -1, -1):
        if k < first:
            lay = layers[k]
            out[k] = (xp.zeros_like(lay.W), None if lay.S is None else xp.zeros_like(lay.S),
                      xp.zeros_like(Vs[k]))
            continue
        gk = grads[k]
        if gk is not None:
            G = gk if G is None else G + gk
        lay = layers[k]
        if G is None:
            z = xp.zeros_like(lay.W)
            out[k] = (z, None if lay.S is None else xp.zeros_like(lay.S), xp.zeros_like(Vs[k]))
            continue
        Zin = Zs[k - 1] if k > 0 else None
        if lay.S is None:
            gW, gZ, gT = coupled_step_vjp(X, Zin, D, lay.W, Vs[k], lay.theta, Zs[k], G, lay.act,
                                          xp=xp)
            out[k] = (gW, None, gT)
        else:
            gB, gZ, gS, gT = step_vjp(Zin, lay.S, Vs[k], lay.theta, Zs[k], G, lay.act, xp=xp)
            if gS is None:
                gS = xp.zeros_like(lay.S)
            out[k] = (xp.matrix_transpose(X) @ gB, gS, gT)
        G = gZ
    return out
