r"""K unrolled steps of the shared proximal-gradient step: forward and backward.

Every layer is the step of :mod:`dictlearn.coding.step`, ``Z⁺ = η_θ(X W + Z S)``, or its
coupled form ``η_θ(Z + (X − Z D) W)`` (LISTA-CP, ALISTA, step-size LISTA); the backward pass
chains that module's vector-Jacobian products, and each map ``η`` brings its own
(:data:`dictlearn.prox.PROXES`). The derivatives are checked against finite differences in
``tests/test_amortized_backward.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..coding.step import coupled_step_forward, coupled_step_vjp, step_forward, step_vjp
from ..prox import ProxMap

__all__ = ["Layer", "unrolled_forward", "unrolled_vjp"]


@dataclass(frozen=True)
class Layer:
    """One unrolled step: ``W`` (n_features, n_atoms), ``θ``, the map ``act`` (from
    :func:`dictlearn.prox.get_prox`), and ``S`` (n_atoms, n_atoms) — or ``S=None`` for the
    coupled form ``S = I − D W``."""

    W: Any
    theta: Any
    act: ProxMap
    S: Any = None


def unrolled_forward(X: Any, layers: Sequence[Layer], *, D: Any = None,
                     xp: ModuleType) -> tuple[list[Any], list[Any]]:
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


def unrolled_vjp(X: Any, layers: Sequence[Layer], Zs: Sequence[Any], Vs: Sequence[Any],
                 grads: Sequence[Any], *, D: Any = None, xp: ModuleType,
                 first: int = 0) -> list[tuple[Any, Any, Any]]:
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
