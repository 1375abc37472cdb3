r"""K unrolled steps of the shared proximal-gradient step: forward and backward.

Every layer is the step of :mod:`dictlearn.coding.step`, ``Z⁺ = η_θ(X W + Z S)``, or its
coupled form ``η_θ(Z + (X − Z D) W)`` (LISTA-CP), optionally with a learned scalar step
``γ`` in front of a fixed weight: ``η_θ(Z + γ (X − Z D) W)`` (ALISTA's ``W̃``, step-size
LISTA's ``Dᵀ``). The backward pass chains that module's vector-Jacobian products, and each map
``η`` brings its own (:data:`dictlearn.prox.PROXES`).

**Fused layers.** For training, :func:`unrolled_forward` with ``tape=True`` keeps, per layer,
exactly what the backward pass needs and nothing else (a :class:`Saved` record): the residual
``R = X − Z D`` of a coupled layer (so the backward does not recompute ``Z D``), ``P = R W``
of a ``γ`` layer (its step's gradient is ``Σ V̄ ⊙ P``: no ``Rᵀ V̄`` product at all), and the
map's derivatives ``J_V``, ``J_θ`` entry by entry (:meth:`dictlearn.prox.ProxMap.linearize`:
the backward pass is two products per layer, ``η``'s support is computed once). The products per
layer (batch ``n``, ``k`` atoms, ``m`` features):

=================  ===========================  ====================================
layer              forward                      backward
=================  ===========================  ====================================
explicit           ``X W``, ``Z S``             ``Xᵀ V̄``, ``Zᵀ V̄``, ``V̄ Sᵀ``
coupled            ``Z D``, ``R W``             ``Rᵀ V̄``, ``V̄ Wᵀ``, ``(V̄ Wᵀ) Dᵀ``
coupled with γ     ``Z D``, ``R W``             ``V̄ Wᵀ``, ``(V̄ Wᵀ) Dᵀ``
=================  ===========================  ====================================

(the first layer, ``Z = 0``, and the first differentiated layer skip the products of ``Z̄``).
The derivatives are checked against finite differences in
``tests/test_amortized_backward.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

from ..coding.step import sum_to_shape
from ..prox import ProxMap

__all__ = ["Layer", "LayerGrads", "Saved", "unrolled_forward", "unrolled_vjp"]


@dataclass(frozen=True)
class Layer:
    """One unrolled step: ``W`` (n_features, n_atoms), ``θ``, the map ``act`` (from
    :func:`dictlearn.prox.get_prox`), and ``S`` (n_atoms, n_atoms) — or ``S=None`` for the
    coupled form ``S = I − D W``; ``gamma`` (coupled form only): a step ``γ`` in front of a
    fixed ``W``, ``η_θ(Z + γ (X − Z D) W)``, whose gradient replaces ``W``'s."""

    W: Any
    theta: Any
    act: ProxMap
    S: Any = None
    gamma: Any = None


@dataclass(frozen=True)
class Saved:
    """What the backward pass of one layer needs from its forward pass.

    Attributes
    ----------
    R : array (n, n_features) or None
        ``X − Z D`` of a coupled layer without ``γ`` (``W̄ = Rᵀ V̄``).
    P : array (n, n_atoms) or None
        ``R W`` of a ``γ`` layer (``γ̄ = Σ V̄ ⊙ P``).
    JV, JT : arrays (n, n_atoms)
        The map's derivatives in ``V`` and ``θ`` (:meth:`~dictlearn.prox.ProxMap.linearize`).
    """

    R: Any
    P: Any
    JV: Any
    JT: Any


class LayerGrads(NamedTuple):
    """Gradients of one layer's weights (``None`` for a weight the layer does not have, or for
    a layer before ``first``); ``theta`` has the shape of the layer's ``θ``."""

    W: Any
    S: Any
    theta: Any
    gamma: Any = None


def _pre(X: Any, Z: Any, lay: Layer, D: Any) -> tuple[Any, Any, Any]:
    """The pre-activation ``V`` of a layer, with its ``R`` and ``P`` (see :class:`Saved`)."""
    if lay.S is not None:  # explicit form: B + Z S with B = X W
        B = X @ lay.W
        return (B if Z is None else B + Z @ lay.S), None, None
    R = X if Z is None else X - Z @ D
    P = R @ lay.W
    if lay.gamma is None:
        return (P if Z is None else Z + P), R, None
    step = lay.gamma * P
    return (step if Z is None else Z + step), None, P


def unrolled_forward(X: Any, layers: Sequence[Layer], *, D: Any = None, xp: ModuleType,
                     tape: bool = False) -> tuple[list[Any], list[Any]]:
    """Run ``K`` steps from ``Z₀ = 0``.

    Returns the codes after each layer and, per layer, the pre-activation ``V`` (default) or,
    with ``tape=True``, the :class:`Saved` record of what :func:`unrolled_vjp` needs (the
    fused training path).
    """
    Zs: list[Any] = []
    kept: list[Any] = []
    Z = None
    for lay in layers:
        V, R, P = _pre(X, Z, lay, D)
        if tape:
            Z, JV, JT = lay.act.linearize(V, lay.theta, xp=xp)
            kept.append(Saved(R if lay.gamma is None else None, P, JV, JT))
        else:
            Z = lay.act(V, lay.theta, xp=xp)
            kept.append(V)
        Zs.append(Z)
    return Zs, kept


def _saved(X: Any, layers: Sequence[Layer], Zs: Sequence[Any], Vs: Sequence[Any], D: Any,
           xp: ModuleType) -> list[Saved]:
    """:class:`Saved` records rebuilt from the pre-activations (the forward without tape)."""
    out = []
    for k, (lay, V) in enumerate(zip(layers, Vs, strict=True)):
        _, JV, JT = lay.act.linearize(V, lay.theta, xp=xp)
        _, R, P = (None, None, None) if lay.S is not None else _pre(
            X, Zs[k - 1] if k > 0 else None, lay, D)
        out.append(Saved(R, P, JV, JT))
    return out


def _theta_shape(theta: Any) -> tuple[int, ...]:
    return tuple(getattr(theta, "shape", ()))


def unrolled_vjp(X: Any, layers: Sequence[Layer], Zs: Sequence[Any], saved: Sequence[Any],
                 grads: Sequence[Any], *, D: Any = None, xp: ModuleType,
                 first: int = 0) -> list[LayerGrads | None]:
    """Backward through :func:`unrolled_forward`.

    Parameters
    ----------
    saved : sequence of length K
        The forward's :class:`Saved` records (``tape=True``), or its pre-activations ``V``
        (the records are then rebuilt, at the cost of the forward's products again).
    grads : sequence of length K
        ``∂ℓ/∂Z_k`` for a loss on the output of layer ``k`` (``None`` where the loss does not
        see that layer), so losses on intermediate layers (layer-wise training) are allowed.
    first : int, default=0
        Stop the backward pass at layer ``first``: the layers before it get ``None`` without
        the cost of differentiating them (training only the last layers).

    Returns
    -------
    list of :class:`LayerGrads` (``W̄``, ``S̄``, ``θ̄``, ``γ̄``) per layer, ``None`` before
    ``first``. A layer no loss sees gets zeros.
    """
    K = len(layers)
    if K and not isinstance(saved[0], Saved):
        saved = _saved(X, layers, Zs, saved, D, xp)
    t = xp.matrix_transpose
    out: list[LayerGrads | None] = [None] * K
    G = None
    # the weight gradients come out in the weights' (row-major) layout: ``(V̄ᵀ R)ᵀ`` is a
    # faster product than ``Rᵀ V̄`` in NumPy, but its transposed result makes every later
    # elementwise pass (the optimiser's) several times slower
    for k in range(K - 1, first - 1, -1):
        gk = grads[k]
        if gk is not None:
            G = gk if G is None else G + gk
        lay, s = layers[k], saved[k]
        Zin = Zs[k - 1] if k > 0 else None
        if G is None:
            out[k] = LayerGrads(
                None if lay.gamma is not None else xp.zeros_like(lay.W),
                None if lay.S is None else xp.zeros_like(lay.S),
                xp.zeros_like(lay.theta) if hasattr(lay.theta, "shape") else 0.0,
                None if lay.gamma is None else xp.zeros_like(lay.gamma))
            continue
        gV = G * s.JV
        gT = sum_to_shape(G * s.JT, _theta_shape(lay.theta), xp=xp)
        need_gZ = Zin is not None and k > first
        if lay.S is not None:
            gW = t(X) @ gV
            gS = xp.zeros_like(lay.S) if Zin is None else t(Zin) @ gV
            out[k] = LayerGrads(gW, gS, gT)
            G = gV @ t(lay.S) if need_gZ else None
            continue
        if lay.gamma is None:
            out[k] = LayerGrads(t(s.R) @ gV, None, gT)
            back = gV @ t(lay.W)
        else:
            gG = xp.reshape(xp.sum(gV * s.P), _theta_shape(lay.gamma))
            out[k] = LayerGrads(None, None, gT, gG)
            back = (gV @ t(lay.W)) * lay.gamma if need_gZ else None
        G = gV - back @ t(D) if need_gZ else None
    return out
