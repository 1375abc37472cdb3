"""Proximal maps and projections, written once in array-API code.

Each prox acts row-wise on codes ``Z`` (n_samples, n_atoms) and takes a threshold ``theta``
(a scalar, or an array broadcastable against ``Z``: per atom for LISTA, per sample for
per-sample step sizes). They are pure: inputs are never modified.

The table :data:`PROXES` maps names to :class:`ProxMap` objects (function, vector-Jacobian
product, metadata): solvers, LISTA layers and encoders select them by name (:func:`get_prox`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np

from ._xp import get_namespace

__all__ = ["PROXES", "ProxMap", "get_prox", "hard_threshold", "nonneg_soft_threshold",
           "project_nonneg", "project_unit_ball_rows", "project_unit_sphere_rows", "sigmoid",
           "soft_threshold", "support_selection_mask", "support_selection_soft", "top_k",
           "top_k_mask", "winner_take_all_lifetime"]


def soft_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    r"""Soft threshold, the prox of ``θ‖·‖₁``: ``sign(z) · max(|z| − θ, 0)``.

    Parameters
    ----------
    Z : array of shape (n_samples, n_atoms)
    theta : float or array broadcastable to ``Z``, >= 0

    Returns
    -------
    array of shape (n_samples, n_atoms)

    Notes
    -----
    :math:`\operatorname{prox}_{\theta\|\cdot\|_1}(z)
    = \arg\min_u \tfrac12\|u - z\|^2 + \theta\|u\|_1`.
    It is firmly non-expansive: ``‖p(a) − p(b)‖² ≤ ⟨p(a) − p(b), a − b⟩``.

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[-1.,  0.,  2.]])
    """
    xp = xp or get_namespace(Z)
    if isinstance(theta, (int, float)):
        # z − clip(z, −θ, θ): two passes over Z instead of four (sign, abs, max, product)
        return Z - xp.clip(Z, -theta, theta)
    return xp.sign(Z) * xp.maximum(xp.abs(Z) - theta, 0.0)


def nonneg_soft_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    """One-sided soft threshold, the prox of ``θ‖·‖₁ + ι(z ≥ 0)``: ``max(z − θ, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> nonneg_soft_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[0., 0., 2.]])
    """
    xp = xp or get_namespace(Z)
    return xp.maximum(Z - theta, 0.0)


def hard_threshold(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    """Hard threshold: keep entries with ``|z| > θ``, zero the rest.

    It is the prox of ``(θ²/2)‖·‖₀``.

    Examples
    --------
    >>> import numpy as np
    >>> hard_threshold(np.array([[-2.0, 0.5, 3.0]]), 1.0)
    array([[-2.,  0.,  3.]])
    """
    xp = xp or get_namespace(Z)
    return xp.where(xp.abs(Z) > theta, Z, xp.zeros_like(Z))


def top_k_mask(Z: Any, k: int, *, xp: ModuleType | None = None, positive: bool = False) -> Any:
    """Boolean mask of the ``k`` largest entries of each row (by magnitude, or by value when
    ``positive``). Ties are broken by the lower index, so exactly ``k`` entries are kept."""
    xp = get_namespace(Z)  # argsort's descending/stable need the standard's signature
    n_atoms = Z.shape[-1]
    if not 0 <= k <= n_atoms:
        raise ValueError(f"k must be in [0, n_atoms={n_atoms}]; got {k}")
    key = Z if positive else xp.abs(Z)
    order = xp.argsort(key, axis=-1, descending=True, stable=True)
    ranks = xp.argsort(order, axis=-1, stable=True)
    return ranks < k


def top_k(Z: Any, k: int, *, xp: ModuleType | None = None, positive: bool = False) -> Any:
    """Keep the ``k`` largest-magnitude entries of each row, zero the others.

    This is the projection onto ``{z : ‖z‖₀ ≤ k}`` (the prox of its indicator). With
    ``positive=True`` the ``k`` largest values are kept and negatives are zeroed: the
    projection onto k-sparse non-negative vectors.

    Examples
    --------
    >>> import numpy as np
    >>> top_k(np.array([[-3.0, 1.0, 2.0, 0.5]]), 2)
    array([[-3.,  0.,  2.,  0.]])
    """
    xp = get_namespace(Z)
    mask = top_k_mask(Z, k, xp=xp, positive=positive)
    out = xp.where(mask, Z, xp.zeros_like(Z))
    if positive:
        out = xp.maximum(out, 0.0)
    return out


def project_nonneg(Z: Any, *, xp: ModuleType | None = None) -> Any:
    """Projection onto the non-negative orthant."""
    xp = xp or get_namespace(Z)
    return xp.maximum(Z, 0.0)


def _row_norms(D: Any, xp: ModuleType) -> Any:
    return xp.linalg.vector_norm(D, axis=-1, keepdims=True)


def project_unit_ball_rows(D: Any, *, xp: ModuleType | None = None) -> Any:
    """Project each row (atom) onto the unit ball ``‖d‖₂ ≤ 1``.

    Examples
    --------
    >>> import numpy as np
    >>> project_unit_ball_rows(np.array([[3.0, 4.0], [0.3, 0.4]]))
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    xp = xp or get_namespace(D)
    return D / xp.maximum(_row_norms(D, xp), 1.0)


def project_unit_sphere_rows(D: Any, *, xp: ModuleType | None = None) -> Any:
    """Normalise each row (atom) to unit Euclidean norm; zero rows stay zero."""
    xp = xp or get_namespace(D)
    n = _row_norms(D, xp)
    return D / xp.where(n > 0, n, xp.ones_like(n))


def sigmoid(Z: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
    """Logistic unit with threshold ``θ`` (a negative bias): ``1 / (1 + exp(−(z − θ)))``.

    Not a proximal map: the activation of Ng's sigmoid autoencoders, with a prox's signature.

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid(np.array([[0.0, 1000.0, -1000.0]]), 0.0)
    array([[0.5, 1. , 0. ]])
    """
    xp = xp or get_namespace(Z)
    V = Z - theta
    E = xp.exp(-xp.abs(V))
    return xp.where(V >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def support_selection_soft(Z: Any, theta: Any, fraction: float, *,
                           xp: ModuleType | None = None) -> Any:
    r"""Soft threshold with support selection (Chen et al. 2018, LISTA-CPSS).

    .. math::

        η^{ss}_θ(v)_i = \begin{cases} v_i & |v_i| > θ \text{ and } i ∈ S^p(v) \\
        \operatorname{sign}(v_i)(|v_i| − θ) & |v_i| > θ,\ i ∉ S^p(v) \\
        0 & |v_i| ≤ θ \end{cases}

    where ``S^p(v)`` holds the ``ceil(p · n_atoms)`` largest-magnitude entries of the row
    (ties at the cut are all included): trusted entries pass unshrunk, but only if they
    exceed the threshold, as in the paper's definition and its reference code.

    Examples
    --------
    >>> import numpy as np
    >>> support_selection_soft(np.array([[-3.0, 0.5, 2.0, 1.5]]), 1.0, 0.25)
    array([[-3. ,  0. ,  1. ,  0.5]])
    >>> support_selection_soft(np.array([[0.8, 0.5, -0.2]]), 1.0, 0.5)   # below θ: zero
    array([[0., 0., 0.]])
    """
    xp = xp or get_namespace(Z)
    keep = support_selection_mask(Z, theta, fraction, xp=xp)
    return xp.where(keep, Z, soft_threshold(Z, theta, xp=xp))


def support_selection_mask(Z: Any, theta: Any, fraction: float, *,
                           xp: ModuleType | None = None) -> Any:
    """The entries :func:`support_selection_soft` passes unshrunk: in the top ``fraction``
    of their row by magnitude and above ``theta``."""
    xp = xp or get_namespace(Z)
    return _largest_magnitude_mask(Z, _n_selected(Z.shape[-1], fraction), xp) & (
        xp.abs(Z) > theta)


def _largest_magnitude_mask(Z: Any, k: int, xp: ModuleType) -> Any:
    """Entries whose magnitude is at least the k-th largest of their row (ties at the k-th
    value are all kept, which has probability zero for continuous data). NumPy arrays use a
    partial sort (``np.partition``), other libraries a full sort."""
    if k <= 0:
        return xp.zeros(Z.shape, dtype=xp.bool, device=getattr(Z, "device", None))
    A = xp.abs(Z)
    n = A.shape[-1]
    if isinstance(A, np.ndarray):
        kth = np.partition(A, n - k, axis=-1)[..., n - k]
    else:
        kth = xp.sort(A, axis=-1)[..., n - k]
    return A >= kth[..., None]


def _n_selected(n: int, fraction: float) -> int:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction}")
    return min(n, math.ceil(fraction * n - 1e-9))


def winner_take_all_lifetime(Z: Any, theta: Any, fraction: float, *,
                             xp: ModuleType | None = None) -> Any:
    """Lifetime winner-take-all (Makhzani & Frey 2015): ``max(z − θ, 0)`` and then, for every
    unit (column), keep only its ``ceil(fraction · n_samples)`` largest activations over the
    batch (rows) and zero the rest.

    It acts on a batch, not on rows one by one: the sparsity is over each unit's lifetime.

    Examples
    --------
    >>> import numpy as np
    >>> winner_take_all_lifetime(np.array([[3.0, 1.0], [2.0, 4.0]]), 0.0, 0.5)
    array([[3., 0.],
           [0., 4.]])
    """
    xp = xp or get_namespace(Z)
    A = xp.maximum(Z - theta, 0.0)
    k = max(1, _n_selected(A.shape[0], fraction))
    mask = xp.matrix_transpose(top_k_mask(xp.matrix_transpose(A), k, xp=xp, positive=True))
    return xp.where(mask, A, xp.zeros_like(A))


def _shifted_top_k(V: Any, theta: Any, *, xp: ModuleType, k: int, positive: bool) -> Any:
    """``top_k(V − θ)``: the ``k`` largest entries of each row after the shift ``θ``."""
    if int(k) > V.shape[-1]:
        raise ValueError(f"k must be <= n_atoms ({V.shape[-1]}); got k={k}")
    shifted = V if isinstance(theta, (int, float)) and theta == 0 else V - theta
    return top_k(shifted, int(k), xp=xp, positive=positive)


# Vector-Jacobian products ``(V̄, θ̄)`` of the maps, for the upstream gradient ``G`` at input
# ``V`` and output ``Z``; ``θ̄`` has the full shape of ``V``.
def _abs_threshold_vjp(V, theta, Z, G, *, xp, **_):
    gV = xp.where(xp.abs(V) > theta, G, xp.zeros_like(G))
    return gV, -xp.sign(V) * gV


def _nonneg_soft_vjp(V, theta, Z, G, *, xp, **_):
    gV = xp.where(V > theta, G, xp.zeros_like(G))
    return gV, -gV


def _sigmoid_vjp(V, theta, Z, G, *, xp, **_):
    gV = G * Z * (1.0 - Z)
    return gV, -gV


def _support_selection_vjp(V, theta, Z, G, *, xp, fraction, **_):
    zero = xp.zeros_like(G)
    active = xp.abs(V) > theta
    shrunk = active & ~support_selection_mask(V, theta, float(fraction), xp=xp)
    return xp.where(active, G, zero), xp.where(shrunk, -xp.sign(V) * G, zero)


def _soft_linearized(V, theta, *, xp, **_):
    """Soft threshold and its derivatives from one comparison: ``J_V = [|v| > θ]``,
    ``J_θ = −sign(v) J_V`` and ``z = v J_V + θ J_θ`` (rounded as :func:`soft_threshold`)."""
    JV = xp.astype(xp.abs(V) > theta, V.dtype)
    JT = -xp.sign(V) * JV
    return V * JV + theta * JT, JV, JT


def _support_selection_linearized(V, theta, *, xp, fraction, **_):
    """Support selection with one partial sort: trusted entries have ``J_θ = 0``."""
    active = xp.abs(V) > theta
    shrunk = active & ~_largest_magnitude_mask(V, _n_selected(V.shape[-1], fraction), xp)
    JV = xp.astype(active, V.dtype)
    JT = -xp.sign(V) * xp.astype(shrunk, V.dtype)
    return V * JV + theta * JT, JV, JT


def _selection_vjp(V, theta, Z, G, *, xp, **_):
    """top-k and WTA: the output is ``V − θ`` on a locally constant support."""
    gV = xp.where(Z != 0, G, xp.zeros_like(G))
    return gV, -gV


@dataclass(frozen=True)
class ProxMap:
    """A map ``η_θ`` of the table :data:`PROXES`: forward, vector-Jacobian product, metadata.

    Obtain one with :func:`get_prox` (which binds and checks ``k`` / ``fraction``); call it as
    ``Z = m(V, theta, xp=xp)`` and differentiate it with ``m.vjp(V, theta, Z, G, xp=xp)``.

    Attributes
    ----------
    name, forward, backward
        Its key in :data:`PROXES`, its function ``forward(V, theta, *, xp, **params)`` and
        ``backward(V, theta, Z, G, *, xp, **params) -> (V̄, θ̄)``.
    is_prox, needs, batchwise
        Whether it is a proximal map (not an activation), the parameters it must be given
        (``"k"`` or ``"fraction"``), whether it acts on the whole batch (columns).
    exact_theta_grad : bool
        False for ``hard``: its ``θ̄`` is the soft threshold's (straight-through), since the
        true derivative is zero almost everywhere.
    params : tuple of (str, value) pairs
        The bound values of ``needs`` (and ``positive`` for top-k).
    linearized : callable or None
        ``linearized(V, theta, *, xp, **params) -> (Z, J_V, J_θ)`` in one pass (see
        :meth:`linearize`); ``None``: the forward and the vector-Jacobian product with ones.

    Examples
    --------
    >>> import numpy as np
    >>> soft = get_prox("soft")
    >>> V = np.array([[-2.0, 0.5, 3.0]])
    >>> soft(V, 1.0, xp=np)
    array([[-1.,  0.,  2.]])
    >>> soft.vjp(V, 1.0, soft(V, 1.0, xp=np), np.ones((1, 3)), xp=np)
    (array([[1., 0., 1.]]), array([[ 1., -0., -1.]]))
    """

    name: str
    forward: Callable[..., Any]
    backward: Callable[..., tuple[Any, Any]]
    is_prox: bool = True
    needs: tuple[str, ...] = ()
    batchwise: bool = False
    exact_theta_grad: bool = True
    params: tuple[tuple[str, Any], ...] = ()
    linearized: Callable[..., tuple[Any, Any, Any]] | None = None

    def bind(self, *, k: int | None = None, fraction: float | None = None,
             positive: bool = True) -> ProxMap:
        """This map with its parameters set and checked."""
        if "k" in self.needs:
            if k is None or int(k) < 1:
                raise ValueError(f"the {self.name} map needs k >= 1; got k={k}")
            return replace(self, params=(("k", int(k)), ("positive", bool(positive))))
        if "fraction" in self.needs:
            if fraction is None or not 0.0 <= float(fraction) <= 1.0:
                raise ValueError(f"the {self.name} map needs a fraction in [0, 1]; got {fraction}")
            return replace(self, params=(("fraction", float(fraction)),))
        return self

    def _kwargs(self) -> dict[str, Any]:
        if len(self.params) < len(self.needs):
            raise ValueError(f"the {self.name} map needs {', '.join(self.needs)}: "
                             f"use get_prox({self.name!r}, ...)")
        return dict(self.params)

    def __call__(self, V: Any, theta: Any, *, xp: ModuleType | None = None) -> Any:
        return self.forward(V, theta, xp=xp or get_namespace(V), **self._kwargs())

    def vjp(self, V: Any, theta: Any, Z: Any, G: Any, *, xp: ModuleType) -> tuple[Any, Any]:
        """``(V̄, θ̄)`` for the upstream gradient ``G`` at input ``V`` and output ``Z``.

        ``θ̄`` has the full shape of ``V``; reduce it with
        :func:`dictlearn.coding.step.sum_to_shape`.
        """
        return self.backward(V, theta, Z, G, xp=xp, **self._kwargs())

    def linearize(self, V: Any, theta: Any, *, xp: ModuleType) -> tuple[Any, Any, Any]:
        """``(Z, J_V, J_θ)``: the output and its derivatives in ``V`` and ``θ``, entry by entry.

        Every map of the table has a diagonal Jacobian in ``V`` (given its support), so
        ``vjp(V, θ, Z, G) = (G ⊙ J_V, G ⊙ J_θ)``: a forward pass that keeps ``J_V``, ``J_θ``
        lets the backward pass skip the map (the fused layers of
        :mod:`dictlearn.amortized.unrolled`).
        """
        if self.linearized is not None:
            return self.linearized(V, theta, xp=xp, **self._kwargs())
        Z = self(V, theta, xp=xp)
        JV, JT = self.vjp(V, theta, Z, xp.ones_like(V), xp=xp)
        return Z, JV, JT


#: The one table of maps ``η_θ`` used by the solvers, LISTA layers and autoencoder encoders.
PROXES: dict[str, ProxMap] = {m.name: m for m in (
    ProxMap("soft", soft_threshold, _abs_threshold_vjp, linearized=_soft_linearized),
    ProxMap("nonneg_soft", nonneg_soft_threshold, _nonneg_soft_vjp),
    ProxMap("hard", hard_threshold, _abs_threshold_vjp, exact_theta_grad=False),
    ProxMap("topk", _shifted_top_k, _selection_vjp, needs=("k",)),
    ProxMap("sigmoid", sigmoid, _sigmoid_vjp, is_prox=False),
    ProxMap("soft_ss", support_selection_soft, _support_selection_vjp, is_prox=False,
            needs=("fraction",), linearized=_support_selection_linearized),
    ProxMap("wta", winner_take_all_lifetime, _selection_vjp, is_prox=False,
            needs=("fraction",), batchwise=True),
)}


def get_prox(name: str, *, k: int | None = None, fraction: float | None = None,
             positive: bool = True) -> ProxMap:
    """The map ``name`` of :data:`PROXES`, with its parameters bound.

    Parameters
    ----------
    name : {"soft", "nonneg_soft", "hard", "topk", "sigmoid", "soft_ss", "wta"}
        The functions of this module in that order (``topk`` keeps the ``k`` largest entries
        of ``v − θ``, positive ones only when ``positive``).
    k : int, optional
        Required by ``topk``.
    fraction : float in [0, 1], optional
        Required by ``soft_ss`` and ``wta``.
    positive : bool, default=True
        For ``topk``.

    Examples
    --------
    >>> import numpy as np
    >>> get_prox("topk", k=1)(np.array([[1.0, 3.0, 2.0]]), 0.5)
    array([[0. , 2.5, 0. ]])
    """
    try:
        entry = PROXES[name]
    except (KeyError, TypeError):
        raise ValueError(f"prox must be one of {list(PROXES)}; got {name!r}") from None
    return entry.bind(k=k, fraction=fraction, positive=positive)
