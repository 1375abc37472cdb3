r"""The LISTA variants as a table of small objects.

Every layer of every variant is the shared step of :mod:`dictlearn.coding.step` with some
weights learned and the others tied to the dictionary. A :class:`Variant` says, in one place:

- ``learned``: the names of the weights of one layer (fields of :class:`LayerWeights`);
- ``init``: their starting values from the dictionary (K steps of ISTA for ``lista``, ``cp``,
  ``step``; for ALISTA ``γ = 1/L̃``, ``θ = α/L`` with ``L̃`` the largest eigenvalue of
  ``D W̃``: K proximal-gradient steps in the metric that ``W̃`` defines, convergent on any
  dictionary);
- ``layer``: the :class:`~dictlearn.amortized.unrolled.Layer` (``W``, ``θ``, map, ``S``) the
  weights make;
- ``grads``: how the gradients of that layer (``W̄``, ``S̄``, ``θ̄``, ``γ̄``, from
  :func:`~dictlearn.amortized.unrolled.unrolled_vjp`) map back to the learned weights.

=========  ==========================================================  ==================
variant    layer ``k``                                                 learned
=========  ==========================================================  ==================
lista      ``η_{θ_k}(X W_k + Z S_k)``                                   ``W, S, theta``
cp         ``η_{θ_k}(Z + (X − Z D) W_k)``  (``S_k = I − D W_k``)        ``W, theta``
ss         as ``cp`` with support selection of ``p_k`` % of each code   ``W, theta``
alista     ``η^{ss}_{θ_k}(Z + γ_k (X − Z D) W̃)``, ``W̃`` analytic        ``gamma, theta``
step       ``ST_{α γ_k}(Z + γ_k (X − Z D) Dᵀ)``                         ``gamma``
=========  ==========================================================  ==================

A network's weights are a tuple of :class:`LayerWeights`, one per layer; the optimiser sees
them flattened to a dict keyed by ``(layer, name)`` (:func:`flatten`, :func:`unflatten`).

Examples
--------
>>> sorted(VARIANTS)
['alista', 'cp', 'lista', 'ss', 'step']
>>> VARIANTS["alista"].learned
('gamma', 'theta')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from types import ModuleType
from typing import Any

from ..coding.step import sum_to_shape
from ..prox import ProxMap, get_prox
from .unrolled import Layer, LayerGrads

__all__ = ["VARIANTS", "LayerWeights", "Shared", "Variant", "flatten", "unflatten"]


@dataclass(frozen=True)
class LayerWeights:
    """The learned weights of one layer (``None`` where the variant does not learn one).

    Attributes
    ----------
    W : array of shape (n_features, n_atoms) or None
    S : array of shape (n_atoms, n_atoms) or None
    theta : array of shape (1,) or None
        Threshold.
    gamma : array of shape (1,) or None
        Step size (ALISTA, step-size LISTA).
    """

    W: Any = None
    S: Any = None
    theta: Any = None
    gamma: Any = None

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, array)`` for the weights that are set."""
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None:
                yield f.name, v


@dataclass(frozen=True)
class Shared:
    """What every layer of one network shares.

    Attributes
    ----------
    D : array of shape (n_atoms, n_features)
    L : float
        ``‖D‖₂²``.
    alpha : float
    prox : ProxMap
        The map of the ``lista``, ``cp`` and ``step`` layers.
    fractions : tuple of float
        Support-selection share of layer ``k`` (``ss``, ``alista``).
    W_tilde : array of shape (n_features, n_atoms) or None
        ALISTA's analytic weight.
    L_tilde : float or None
        The largest eigenvalue of ``D W̃`` (:func:`~dictlearn.amortized.alista_lipschitz`):
        ALISTA's layers are convergent proximal-gradient steps for ``γ ≤ 1/L̃``.
    """

    D: Any
    L: float
    alpha: float
    prox: ProxMap
    fractions: tuple[float, ...]
    W_tilde: Any = None
    L_tilde: float | None = None


@dataclass(frozen=True)
class Variant:
    """One LISTA variant: its learned weights, their initialisation, its layer and the map of
    the layer's gradients back to the weights (see the module docstring)."""

    name: str
    learned: tuple[str, ...]
    init: Callable[[Shared, ModuleType], LayerWeights]
    layer: Callable[[LayerWeights, Shared, int, ModuleType], Layer]
    grads: Callable[[LayerGrads, LayerWeights, Shared, ModuleType], LayerWeights]
    analytic_weight: bool = False


def _t(A: Any, xp: ModuleType) -> Any:
    return xp.matrix_transpose(A)


def _scalar(value: float, like: Any, xp: ModuleType) -> Any:
    return xp.full((1,), value, dtype=like.dtype, device=getattr(like, "device", None))


def _theta0(s: Shared, xp: ModuleType) -> Any:
    return _scalar(s.alpha / s.L, s.D, xp)


def _support(s: Shared, k: int) -> ProxMap:
    return get_prox("soft_ss", fraction=s.fractions[k])


def _theta_grad(gT: Any, xp: ModuleType) -> Any:
    return sum_to_shape(gT, (1,), xp=xp)


def _row_major(A: Any, xp: ModuleType) -> Any:
    """``A`` laid out row by row: the gradients come out of the products row-major, and an
    optimiser step mixing a column-major weight with them is several times slower (NumPy keeps
    ``Dᵀ/L`` column-major; a reshape through 1-D is a row-major copy in every library)."""
    return xp.reshape(xp.reshape(A, (-1,)), A.shape)


def _lista_init(s: Shared, xp: ModuleType) -> LayerWeights:
    k = s.D.shape[0]
    eye = xp.eye(k, dtype=s.D.dtype, device=getattr(s.D, "device", None))
    return LayerWeights(W=_row_major(_t(s.D, xp) / s.L, xp),
                        S=eye - (s.D @ _t(s.D, xp)) / s.L, theta=_theta0(s, xp))


def _cp_init(s: Shared, xp: ModuleType) -> LayerWeights:
    return LayerWeights(W=_row_major(_t(s.D, xp) / s.L, xp), theta=_theta0(s, xp))


def _w_theta_grads(g, w, s, xp) -> LayerWeights:
    return LayerWeights(W=g.W, theta=_theta_grad(g.theta, xp))


def _alista_grads(g, w, s, xp) -> LayerWeights:
    return LayerWeights(gamma=g.gamma, theta=_theta_grad(g.theta, xp))


def _step_grads(g, w, s, xp) -> LayerWeights:
    # θ = α γ: the threshold's gradient flows into the step
    return LayerWeights(gamma=g.gamma + s.alpha * _theta_grad(g.theta, xp))


#: Name → :class:`Variant`.
VARIANTS: dict[str, Variant] = {
    v.name: v for v in (
        Variant(
            "lista", ("W", "S", "theta"), _lista_init,
            lambda w, s, k, xp: Layer(w.W, w.theta, s.prox, w.S),
            lambda g, w, s, xp: LayerWeights(W=g.W, S=g.S, theta=_theta_grad(g.theta, xp)),
        ),
        Variant(
            "cp", ("W", "theta"), _cp_init,
            lambda w, s, k, xp: Layer(w.W, w.theta, s.prox),
            _w_theta_grads,
        ),
        Variant(
            "ss", ("W", "theta"), _cp_init,
            lambda w, s, k, xp: Layer(w.W, w.theta, _support(s, k)),
            _w_theta_grads,
        ),
        Variant(
            "alista", ("gamma", "theta"),
            # γ = 1/L̃ (the largest step of a convergent layer, see alista_lipschitz; the
            # reference code's γ = 1 diverges on a dictionary more than 2x overcomplete) and the
            # reference code's threshold θ = α/L (ISTA's)
            lambda s, xp: LayerWeights(gamma=_scalar(1.0 / s.L_tilde, s.D, xp),
                                       theta=_theta0(s, xp)),
            lambda w, s, k, xp: Layer(s.W_tilde, w.theta, _support(s, k), gamma=w.gamma),
            _alista_grads,
            analytic_weight=True,
        ),
        Variant(
            "step", ("gamma",),
            lambda s, xp: LayerWeights(gamma=_scalar(1.0 / s.L, s.D, xp)),
            lambda w, s, k, xp: Layer(_t(s.D, xp), s.alpha * w.gamma, s.prox, gamma=w.gamma),
            _step_grads,
        ),
    )
}


def flatten(weights: Sequence[LayerWeights],
            layers: Sequence[int] | None = None) -> dict[tuple[int, str], Any]:
    """The weights as a flat dict ``(layer, name) → array`` (for the optimiser), optionally of
    some layers only."""
    keep = range(len(weights)) if layers is None else layers
    return {(i, name): v for i in keep for name, v in weights[i].items()}


def unflatten(weights: Sequence[LayerWeights],
              flat: Mapping[tuple[int, str], Any]) -> tuple[LayerWeights, ...]:
    """``weights`` with the entries of ``flat`` put in place."""
    out = list(weights)
    for (i, name), v in flat.items():
        out[i] = replace(out[i], **{name: v})
    return tuple(out)
