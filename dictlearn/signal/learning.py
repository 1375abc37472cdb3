r"""Convolutional dictionary learning (CDL), batch and online, on the one alternating driver.

Signals ``x_n`` (n_channels, n_times) are modelled as ``x_n ≈ Σ_k d_k ∗ z_{n,k}`` with atoms
``d_k`` (n_channels, atom_length) in the unit ball and sparse activations; learning minimises

.. math:: \sum_n \tfrac12\Big\|x_n - \sum_k d_k * z_{n,k}\Big\|_2^2
          + \alpha \sum_{n,k} \|z_{n,k}\|_1 \quad\text{s.t. } \|d_k\|_2 \le 1 ,

alternating, on :func:`dictlearn.learning.fit_dictionary` (the library's one driver):

1. **coding step**: :func:`~dictlearn.signal.csc_encode` with any registered CSC method, warm
   started from the previous activations in batch mode;
2. **dictionary step** from the sufficient statistics (alphacsc's ``compute_ztz`` and
   ``compute_ztX``), whose size does not depend on the signal length:

   .. math:: [z^\top z]_{k,k'}[\tau] = \sum_n\sum_t z_{n,k}[t]\, z_{n,k'}[t+\tau],\quad
             [z^\top x]_{k,c}[l] = \sum_n\sum_t z_{n,k}[t]\, x_{n,c}[t+l],

   with :math:`|\tau| < L`, both by FFT. The data term is then
   :math:`\tfrac12\langle D, \mathcal{H}D\rangle - \langle D, z^\top x\rangle + \text{const}`
   with :math:`(\mathcal{H}D)_{k,c}[l] = \sum_{k',l'} [z^\top z]_{k,k'}[l-l']\, d_{k',c}[l']`,
   minimised by projected FISTA on the unit balls (alphacsc's ``update_d``); with ``rank1``
   every atom is ``d_k = u_k v_k^\top`` and the steps alternate on ``u`` and ``v``
   (alphacsc's ``update_uv``), ``u_k`` of unit norm;
3. **dead atoms**: atoms that no activation uses are re-drawn from the window of the signals
   that the model reconstructs worst (counted in the history).

Online learning (Mairal et al. 2009; Liu et al. 2017 for CDL) keeps the statistics across
mini-batches of signals (or windows of a long recording) with the forgetting weight of
:func:`dictlearn.learning.online.forgetting_weight`: ``S_t = β_t S_{t−1} + S(batch_t)``.

The driver works on 2-D arrays: it sees the signals flattened to rows (n_signals,
n_channels·n_times) and only takes rows and sums of squares of them; the coding step and the
updater below restore the (channels, time) axes, and the dictionary keeps its
(n_atoms, n_channels, atom_length) shape (the updater's geometry hooks).

References
----------
T. Dupré la Tour, T. Moreau, M. Jas, A. Gramfort, "Multivariate convolutional sparse coding for
electromagnetic brain signals", NeurIPS 2018 (alphacsc). J. Mairal, F. Bach, J. Ponce,
G. Sapiro, "Online dictionary learning for sparse coding", ICML 2009. J. Liu, C. Garcia-Cardona,
B. Wohlberg, W. Yin, "Online convolutional dictionary learning", ICIP 2017.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .._loop import Info, Result
from .._validation import (
    check_array,
    check_choice,
    check_nonneg_scalar,
    check_positive_int,
)
from .._xp import check_random_state, get_namespace
from ..learning import LearningState, Updater, fit_dictionary, start_state
from ..learning.atoms import dead_atom_mask
from ..learning.online import forgetting_weight
from ._conv import ConvOperator, fft_length
from .coding import csc_encode, csc_method_spec, csc_objective

__all__ = ["ConvCodingStep", "ConvDictionaryUpdate", "ConvStatistics", "code_statistics",
           "learn_conv_dictionary", "prepare_signals", "resolve_alpha", "shift_coherence",
           "signal_windows", "update_atoms"]


# --------------------------------------------------------------------------- statistics
def code_statistics(Z: Any, X: Any, atom_length: int, *, xp: ModuleType) -> tuple[Any, Any]:
    """``ztz`` (K, K, 2L−1) and ``ztX`` (K, C, L): the correlations of the activations with
    themselves and with the signals, summed over signals (alphacsc's ``compute_ztz``,
    ``compute_ztX``), by FFT.

    Parameters
    ----------
    Z : array of shape (n_signals, n_atoms, n_times_valid)
    X : array of shape (n_signals, n_channels, n_times)
    atom_length : int

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.zeros((1, 1, 4)); Z[0, 0, 1] = 2.0
    >>> ztz, ztX = code_statistics(Z, np.arange(5.0).reshape(1, 1, 5), 2, xp=np)
    >>> np.round(ztz, 12) + 0.0, np.round(ztX, 12) + 0.0
    (array([[[0., 4., 0.]]]), array([[[2., 4.]]]))
    """
    L = int(atom_length)
    T = int(X.shape[2])
    nfft = fft_length(T)
    Zh = xp.fft.rfft(Z, n=nfft, axis=-1)  # (n, K, F)
    Xh = xp.fft.rfft(X, n=nfft, axis=-1)  # (n, C, F)
    ZhH = xp.conj(xp.permute_dims(Zh, (2, 1, 0)))  # (F, K, n)
    G = xp.fft.irfft(xp.permute_dims(ZhH @ xp.permute_dims(Zh, (2, 0, 1)), (1, 2, 0)),
                     n=nfft, axis=-1)  # (K, K, nfft): lag τ at τ mod nfft
    ztz = xp.concat([G[..., nfft - L + 1:], G[..., :L]], axis=-1)
    B = xp.fft.irfft(xp.permute_dims(ZhH @ xp.permute_dims(Xh, (2, 0, 1)), (1, 2, 0)),
                     n=nfft, axis=-1)
    return ztz, B[..., :L]


def shift_coherence(D: Any, *, xp: ModuleType) -> Any:
    """``|⟨d_i, S_τ d_j⟩| / (‖d_i‖‖d_j‖)`` maximised over the shifts ``τ``: (K, K), by FFT
    (1 on the diagonal; zero-norm atoms give 0).

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[[1.0, 2.0, 0.0, 0.0]], [[0.0, 0.0, 1.0, 2.0]], [[1.0, -1.0, 0, 0]]])
    >>> np.round(shift_coherence(D, xp=np), 3)
    array([[1.   , 1.   , 0.632],
           [1.   , 1.   , 0.632],
           [0.632, 0.632, 1.   ]])
    """
    L = int(D.shape[2])
    nfft = fft_length(2 * L - 1)
    Dh = xp.fft.rfft(D, n=nfft, axis=-1)  # (K, C, F)
    P = xp.conj(xp.permute_dims(Dh, (2, 0, 1))) @ xp.permute_dims(Dh, (2, 1, 0))
    corr = xp.max(xp.abs(xp.fft.irfft(xp.permute_dims(P, (1, 2, 0)), n=nfft, axis=-1)),
                  axis=-1)
    norms = xp.sqrt(xp.sum(D * D, axis=(1, 2)))
    denom = norms[:, None] * norms[None, :]
    return xp.where(denom > 0, corr / xp.where(denom > 0, denom, 1.0), 0.0)


@dataclass(frozen=True)
class _Quadratic:
    """``f(D) = ½⟨D, 𝓗D⟩ − ⟨D, ztX⟩``: the data term in the atoms, from the statistics."""

    ztz_hat: Any  # (F, K, K)
    ztX: Any  # (K, C, L)
    nfft: int
    L: int
    xp: ModuleType

    @classmethod
    def build(cls, ztz: Any, ztX: Any, *, xp: ModuleType) -> _Quadratic:
        L = int(ztX.shape[2])
        nfft = fft_length(3 * L - 2)
        zh = xp.fft.rfft(ztz, n=nfft, axis=-1)
        return cls(xp.permute_dims(zh, (2, 0, 1)), ztX, nfft, L, xp)

    def hess(self, D: Any) -> Any:
        """``(𝓗D)_{k,c}[l] = Σ_{k',l'} ztz_{k,k'}[l − l'] d_{k',c}[l']``."""
        xp, L = self.xp, self.L
        Dh = xp.permute_dims(xp.fft.rfft(D, n=self.nfft, axis=-1), (2, 0, 1))  # (F, K, C)
        out = xp.fft.irfft(xp.permute_dims(self.ztz_hat @ Dh, (1, 2, 0)), n=self.nfft, axis=-1)
        return out[..., L - 1:2 * L - 1]

    def value_grad(self, D: Any) -> tuple[float, Any]:
        HD = self.hess(D)
        xp = self.xp
        return float(xp.sum(D * (0.5 * HD - self.ztX))), HD - self.ztX


def _power(apply: Callable[[Any], Any], x0: Any, xp: ModuleType, n_iter: int = 30) -> float:
    """The largest eigenvalue of the PSD map ``apply`` (power iteration), 5% above."""
    x = x0 / max(float(xp.linalg.vector_norm(xp.reshape(x0, (-1,)))), 1e-300)
    lam = 0.0
    for _ in range(n_iter):
        y = apply(x)
        lam = float(xp.linalg.vector_norm(xp.reshape(y, (-1,))))
        if lam <= 0.0:
            return 0.0
        x = y / lam
    return 1.05 * lam


def _projected_fista(x0: Any, value_grad: Callable[[Any], tuple[float, Any]],
                     project: Callable[[Any], Any], lipschitz: float, *, max_iter: int,
                     tol: float, xp: ModuleType) -> Any:
    """Projected FISTA with a restart whenever the objective rises (so that the result is
    never worse than ``x0``); stops when ``‖Δx‖ ≤ tol‖x‖``."""
    if lipschitz <= 0.0:
        return x0
    x, (fx, _) = x0, value_grad(x0)
    y, t = x0, 1.0
    for _ in range(max_iter):
        _, gy = value_grad(y)
        xn = project(y - gy / lipschitz)
        fn, _ = value_grad(xn)
        if fn > fx:  # momentum overshot: restart from x with a plain projected step
            _, gx = value_grad(x)
            xn = project(x - gx / lipschitz)
            fn, _ = value_grad(xn)
            t = 1.0
            if fn > fx:
                break
        tn = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = xn + ((t - 1.0) / tn) * (xn - x)
        step = float(xp.linalg.vector_norm(xp.reshape(xn - x, (-1,))))
        size = float(xp.linalg.vector_norm(xp.reshape(xn, (-1,))))
        x, fx, t = xn, fn, tn
        if step <= tol * max(size, 1e-300):
            break
    return x


def _ball(V: Any, axes: tuple[int, ...], xp: ModuleType) -> Any:
    """Each slice (over ``axes``) scaled into the unit ball."""
    norms = xp.sqrt(xp.sum(V * V, axis=axes, keepdims=True))
    return V / xp.maximum(norms, 1.0)


def _rank1_factors(D: Any, xp: ModuleType) -> tuple[Any, Any]:
    """``u`` (K, C) of unit norm and ``v`` (K, L) with ``d_k ≈ u_k v_kᵀ`` (the leading
    singular pair; exact for rank-1 atoms)."""
    U, S, Vh = xp.linalg.svd(D, full_matrices=False)
    return U[:, :, 0], S[:, 0:1] * Vh[:, 0, :]


def _outer(u: Any, v: Any) -> Any:
    return u[:, :, None] * v[:, None, :]


def update_atoms(D: Any, ztz: Any, ztX: Any, *, rank1: bool = False, max_iter: int = 100,
                 tol: float = 1e-7, xp: ModuleType) -> Any:
    r"""The dictionary step: minimise ``½⟨D, 𝓗D⟩ − ⟨D, ztX⟩`` over atoms in the unit ball.

    Projected FISTA from ``D`` with step ``1/L`` (``L`` by power iteration on ``𝓗``); with
    ``rank1``, up to 10 alternations of projected FISTA on ``u`` (unit ball, then normalised)
    and ``v`` (unit ball) as alphacsc's ``update_uv``. The result is never worse than ``D``.

    Examples
    --------
    >>> import numpy as np
    >>> ztz = np.zeros((1, 1, 3)); ztz[0, 0, 1] = 1.0
    >>> ztX = np.array([[[0.3, 0.4]]])
    >>> np.round(update_atoms(np.array([[[1.0, 0.0]]]), ztz, ztX, xp=np), 6)
    array([[[0.3, 0.4]]])
    """
    q = _Quadratic.build(ztz, ztX, xp=xp)
    eps = float(xp.finfo(D.dtype).eps)
    tol = max(float(tol), 10 * eps)
    if not rank1:
        lip = _power(q.hess, xp.ones_like(D[:, :1, :]) + D[:, :1, :], xp)
        return _projected_fista(D, q.value_grad, lambda V: _ball(V, (1, 2), xp), lip,
                                max_iter=max_iter, tol=tol, xp=xp)
    u, v = _rank1_factors(D, xp)
    f_old = q.value_grad(D)[0]
    for _ in range(10):
        def vg_u(uu, v=v):
            f, G = q.value_grad(_outer(uu, v))
            return f, xp.sum(G * v[:, None, :], axis=2)

        lip_u = _power(lambda a, v=v: xp.sum(q.hess(_outer(a, v)) * v[:, None, :], axis=2),
                       xp.ones_like(u) + u, xp)
        u = _projected_fista(u, vg_u, lambda a: _ball(a, (1,), xp), lip_u, max_iter=max_iter,
                             tol=tol, xp=xp)
        def vg_v(vv, u=u):
            f, G = q.value_grad(_outer(u, vv))
            return f, xp.sum(G * u[:, :, None], axis=1)

        lip_v = _power(lambda a, u=u: xp.sum(q.hess(_outer(u, a)) * u[:, :, None], axis=1),
                       xp.ones_like(v) + v, xp)
        v = _projected_fista(v, vg_v, lambda a: _ball(a, (1,), xp), lip_v, max_iter=max_iter,
                             tol=tol, xp=xp)
        f_new = q.value_grad(_outer(u, v))[0]
        if f_old - f_new <= tol * abs(f_new):
            break
        f_old = f_new
    # u of unit norm, its scale moved to v (d = u vᵀ unchanged; ‖v‖ = ‖d‖ ≤ 1)
    nu = xp.sqrt(xp.sum(u * u, axis=1, keepdims=True))
    nonzero = nu > 0
    u = xp.where(nonzero, u / xp.where(nonzero, nu, 1.0), u)
    return _outer(u, v * nu)


# --------------------------------------------------------------------------- the learner
@dataclass(frozen=True)
class ConvStatistics:
    """The CDL learner's state: the (weighted) statistics of the last dictionary step, the
    mini-batches seen and the penalty ``alpha`` the activations were coded with.

    Attributes
    ----------
    ztz : array of shape (n_atoms, n_atoms, 2 atom_length − 1)
    ztX : array of shape (n_atoms, n_channels, atom_length)
    t : int
    alpha : float
    """

    ztz: Any
    ztX: Any
    t: int = 0
    alpha: float = 0.0


@dataclass(frozen=True)
class ConvCodingStep:
    """The coding step of CDL on the driver's flattened rows: ``csc_encode`` and the CSC
    lasso objective (:func:`~dictlearn.signal.csc_objective`) per signal."""

    n_channels: int
    method: str = "fista"
    alpha: float = 0.1
    positive: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def signals(self, X: Any, xp: ModuleType) -> Any:
        return xp.reshape(X, (X.shape[0], self.n_channels, -1))

    def codes(self, Z: Any, X: Any, D: Any, xp: ModuleType) -> Any:
        return xp.reshape(Z, (X.shape[0], D.shape[0], -1))

    def __call__(self, X: Any, D: Any, *, init: Any = None) -> Any:
        xp = get_namespace(X)
        opts = dict(self.options)
        opts["alpha"] = self.alpha
        if self.positive:
            opts["positive"] = True
        if init is not None and csc_method_spec(self.method).accepts("init"):
            opts["init"] = self.codes(init, X, D, xp)
        Z = csc_encode(self.signals(X, xp), D, method=self.method, **opts)
        return xp.reshape(Z, (X.shape[0], -1))

    def objective(self, X: Any, D: Any, Z: Any, *, xp: ModuleType) -> Any:
        return csc_objective(self.signals(X, xp), D, self.codes(Z, X, D, xp), alpha=self.alpha,
                             positive=self.positive)[0]


class ConvDictionaryUpdate(Updater):
    """The dictionary step of CDL (batch or online) and its geometry hooks.

    Parameters
    ----------
    n_channels, atom_length : int
    rank1 : bool
        Atoms ``u_k v_kᵀ``.
    online : bool
        Keep the statistics across mini-batches with the forgetting weight ``β_t``.
    forget : float, optional
        ρ of ``β_t = (1 − 1/t)^ρ``; None: the mini-batch rule of Mairal et al. (2010).
    max_iter, tol : int, float
        Of the projected-gradient dictionary step.
    """

    name = "cdl"
    constraint = "ball"

    def __init__(self, n_channels: int, atom_length: int, *, rank1: bool = False,
                 online: bool = False, forget: float | None = None, max_iter: int = 100,
                 tol: float = 1e-7) -> None:
        self.n_channels = int(n_channels)
        self.atom_length = int(atom_length)
        self.rank1 = bool(rank1)
        self.minibatch = bool(online)
        self.name = "online cdl" if online else "cdl"
        self.forget = None if forget is None else check_nonneg_scalar(forget, "forget")
        self.max_iter, self.tol = int(max_iter), float(tol)

    # ---- geometry
    def dictionary_shape(self, n_atoms: int, n_features: int) -> tuple[int, ...]:
        return (n_atoms, self.n_channels, self.atom_length)

    def _signals(self, X: Any, xp: ModuleType) -> Any:
        return xp.reshape(X, (X.shape[0], self.n_channels, -1))

    def _codes(self, Z: Any, X: Any, xp: ModuleType) -> Any:
        n_valid = int(X.shape[1]) // self.n_channels - self.atom_length + 1
        return xp.reshape(Z, (X.shape[0], -1, n_valid))

    def _rank1(self, D: Any, xp: ModuleType) -> Any:
        return _outer(*_rank1_factors(D, xp)) if self.rank1 else D

    def _normalise(self, D: Any, xp: ModuleType) -> Any:
        norms = xp.sqrt(xp.sum(D * D, axis=(1, 2), keepdims=True))
        return D / xp.where(norms > 0, norms, 1.0)

    def _gaussian(self, rng: np.random.Generator, k: int, like: Any, xp: ModuleType) -> Any:
        G = rng.standard_normal((k, self.n_channels, self.atom_length))
        return xp.asarray(G, dtype=like.dtype, device=getattr(like, "device", None))

    def initial_dictionary(self, X: Any, n_atoms: int, *, init: Any, rng: np.random.Generator,
                           xp: ModuleType) -> Any:
        """``"chunk"``: windows of the signals at random signals and shifts (alphacsc's
        default); ``"random"``: Gaussian atoms; or an array (n_atoms, n_channels, atom_length);
        scaled to unit norm (rank-1: their leading singular pair)."""
        shape = (n_atoms, self.n_channels, self.atom_length)
        if not isinstance(init, str):
            D = check_array(init, "init", like=X, ndim=(2, 3), atoms=True)
            D = xp.reshape(D, (D.shape[0], 1, D.shape[1])) if D.ndim == 2 else D + 0.0
            if tuple(D.shape) != shape:
                raise ValueError(f"init must have shape (n_atoms, n_channels, atom_length) = "
                                 f"{shape}; got {tuple(D.shape)}")
            return self._normalise(self._rank1(D, xp), xp)
        check_choice(init, "init", {"chunk", "random"})
        D = self._gaussian(rng, n_atoms, X, xp)
        if init == "chunk":
            X3 = self._signals(X, xp)
            n, T = int(X3.shape[0]), int(X3.shape[2])
            rows = rng.integers(0, n, size=n_atoms)
            starts = rng.integers(0, T - self.atom_length + 1, size=n_atoms)
            chunks = [X3[int(i), :, int(s):int(s) + self.atom_length]
                      for i, s in zip(rows, starts, strict=True)]
            C = xp.stack(chunks)
            empty = xp.sum(C * C, axis=(1, 2)) <= float(xp.finfo(X.dtype).smallest_normal)
            D = xp.where(empty[:, None, None], D, C)  # silent windows: Gaussian atoms
        return self._normalise(self._rank1(D, xp), xp)

    def project(self, D: Any, aux: Any, *, xp: ModuleType) -> Any:
        return _ball(D, (1, 2), xp)

    def dead_mask(self, D: Any, *, max_coherence: float | None, xp: ModuleType) -> Any:
        """Zero-norm atoms, and with ``max_coherence`` the atoms that duplicate an atom of
        lower index up to a shift (:func:`shift_coherence` above ``max_coherence``)."""
        dead = dead_atom_mask(xp.reshape(D, (D.shape[0], -1)), xp=xp)
        if max_coherence is None or int(D.shape[0]) < 2:
            return dead
        K = int(D.shape[0])
        ar = xp.arange(K, device=getattr(D, "device", None))
        lower = ar[None, :] < ar[:, None]
        return dead | xp.any((shift_coherence(D, xp=xp) > max_coherence) & lower
                             & ~dead[None, :], axis=1)

    def resample(self, D: Any, X: Any, Z: Any, dead: Any, *, rng: np.random.Generator,
                 xp: ModuleType) -> tuple[Any, int]:
        """Each dead atom becomes the window (of the atoms' length) of the signals with the
        largest reconstruction error, normalised (rank-1: its leading singular pair); the
        windows chosen do not overlap."""
        dead_idx = [i for i, d in enumerate(np.asarray(_host_bool(dead, xp))) if d]
        if not dead_idx:
            return D, 0
        X3, L = self._signals(X, xp), self.atom_length
        Z3 = self._codes(Z, X, xp)
        R = X3 - ConvOperator.build(D, int(X3.shape[2]), xp=xp).apply(Z3)
        e = xp.cumulative_sum(xp.sum(R * R, axis=1), axis=1, include_initial=True)
        err = e[:, L:] - e[:, :-L]  # (n, n_valid): residual energy of each window
        n_valid = int(err.shape[1])
        dev = getattr(X, "device", None)
        shifts = xp.arange(n_valid, device=dev)[None, :]
        signals = xp.arange(int(err.shape[0]), device=dev)[:, None]
        fill = self._gaussian(rng, len(dead_idx), D, xp)
        new = []
        for j in range(len(dead_idx)):
            flat = int(xp.argmax(xp.reshape(err, (-1,))))
            i, s = divmod(flat, n_valid)
            patch = X3[i, :, s:s + L]
            if float(xp.sum(patch * patch)) <= float(xp.finfo(D.dtype).smallest_normal):
                patch = fill[j, ...]
            new.append(patch)
            near = (signals == i) & (shifts > s - L) & (shifts < s + L)
            err = xp.where(near, -xp.inf, err)
        new = self._normalise(self._rank1(xp.stack(new), xp), xp)
        pos = np.zeros(int(D.shape[0]), dtype=np.int64)
        pos[dead_idx] = np.arange(len(dead_idx))
        mask = np.zeros(int(D.shape[0]), dtype=bool)
        mask[dead_idx] = True
        picked = xp.take(new, xp.asarray(pos, device=dev), axis=0)
        D = xp.where(xp.asarray(mask, device=dev)[:, None, None], picked, D)
        return D, len(dead_idx)

    # ---- the learner
    def init_state(self, D: Any, *, xp: ModuleType) -> ConvStatistics:
        K, C, L = (int(s) for s in D.shape)
        dev = getattr(D, "device", None)
        return ConvStatistics(xp.zeros((K, K, 2 * L - 1), dtype=D.dtype, device=dev),
                              xp.zeros((K, C, L), dtype=D.dtype, device=dev))

    def update(self, D: Any, X: Any, Z: Any, aux: ConvStatistics, *, xp: ModuleType):
        ztz, ztX = code_statistics(self._codes(Z, X, xp), self._signals(X, xp),
                                   self.atom_length, xp=xp)
        t = aux.t + 1
        if self.minibatch:
            beta = forgetting_weight(t, int(X.shape[0]), self.forget)
            ztz, ztX = beta * aux.ztz + ztz, beta * aux.ztX + ztX
        D = update_atoms(D, ztz, ztX, rank1=self.rank1, max_iter=self.max_iter, tol=self.tol,
                         xp=xp)
        usage = ztz[:, :, self.atom_length - 1]
        usage = xp.sum(usage * xp.eye(int(D.shape[0]), dtype=D.dtype,
                                      device=getattr(D, "device", None)), axis=1)
        return D, Z, dataclasses.replace(aux, ztz=ztz, ztX=ztX, t=t), usage

    def on_resample(self, aux: ConvStatistics, dead: Any, *, xp: ModuleType) -> ConvStatistics:
        keep = xp.astype(~dead, aux.ztz.dtype)
        return dataclasses.replace(aux, ztz=aux.ztz * keep[:, None, None] * keep[None, :, None],
                                   ztX=aux.ztX * keep[:, None, None])


def _host_bool(mask: Any, xp: ModuleType) -> list[bool]:
    return [bool(mask[i]) for i in range(int(mask.shape[0]))]


# --------------------------------------------------------------------------- entry point
def prepare_signals(X: Any, *, owner: str = "learn_conv_dictionary") -> tuple[ModuleType, Any]:
    """Validate training signals: ``(xp, X3)`` with ``X3`` of shape (n, C, T), not all zero."""
    X = check_array(X, "X", owner=owner, ndim=(1, 2, 3), allow_all_zero=False)
    xp = get_namespace(X)
    if X.ndim < 3:
        X = xp.reshape(X, (1,) * (3 - X.ndim) + tuple(X.shape))
    if int(X.shape[2]) < 2:
        raise ValueError(f"X has one time sample (shape {tuple(X.shape)}); a signal needs at "
                         "least 2")
    return xp, X


def signal_windows(X: Any, window: int | None, *, owner: str) -> tuple[ModuleType, Any]:
    """Training signals as one array (n, C, T): an array as :func:`prepare_signals` gives it;
    a list of signals (n_channels, n_times) of different lengths, or any signals when
    ``window`` is given, cut into consecutive windows of ``window`` samples (default for a
    list: the shortest signal's length), the last one of each signal zero-padded."""
    listed = isinstance(X, (list, tuple)) and all(
        hasattr(x, "shape") or isinstance(x, (list, tuple)) for x in X)
    if not listed or (window is None and _same_shapes(X)):
        xp, X3 = prepare_signals(X, owner=owner)
        parts = [X3[i, ...] for i in range(int(X3.shape[0]))] if window is not None else None
    else:
        if not len(X):
            raise ValueError("X is an empty list of signals")
        checked = [prepare_signals(x, owner=owner) for x in X]
        xp, parts = checked[0][0], [x3[0, ...] for _, x3 in checked]
        if len({int(p.shape[0]) for p in parts}) > 1:
            raise ValueError(f"the signals of X must have one number of channels; got "
                             f"{sorted({int(p.shape[0]) for p in parts})}")
    if parts is None:
        return xp, X3
    w = min(int(p.shape[1]) for p in parts) if window is None else check_positive_int(
        window, "window")
    out = []
    for p in parts:
        T = int(p.shape[1])
        for s in range(0, T, w):
            piece = p[:, s:min(s + w, T)]
            if int(piece.shape[1]) < w:
                pad = xp.zeros((int(p.shape[0]), w - int(piece.shape[1])), dtype=p.dtype,
                               device=getattr(p, "device", None))
                piece = xp.concat([piece, pad], axis=1)
            out.append(piece)
    return xp, xp.stack(out)


def _same_shapes(X: Any) -> bool:
    shapes = {tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape) for x in X}
    return len(shapes) <= 1


def resolve_alpha(X3: Any, D: Any, *, alpha: float | None, alpha_scale: float | None,
                  positive: bool, xp: ModuleType) -> float:
    """The absolute penalty: ``alpha`` when given, else ``alpha_scale · max_n ‖𝒟ᵀx_n‖∞`` on
    the dictionary ``D`` (``α_max``: the smallest penalty that zeroes every activation)."""
    if alpha is not None:
        return check_nonneg_scalar(alpha, "alpha")
    if alpha_scale is None:
        raise ValueError("give alpha (absolute) or alpha_scale (a fraction of alpha_max); "
                         "got None for both")
    scale = check_nonneg_scalar(alpha_scale, "alpha_scale")
    amax = ConvOperator.build(D, int(X3.shape[2]), xp=xp).alpha_max(X3, positive=positive)
    return scale * float(xp.max(amax))


def learn_conv_dictionary(X: Any, n_atoms: int, atom_length: int, *, alpha: float | None = None,
                          alpha_scale: float | None = 0.1, method: str = "fista",
                          positive: bool = False, rank1: bool = False, max_iter: int = 50,
                          tol: float = 1e-4, batch_size: int | None = None,
                          forget: float | None = None, init: Any = "chunk",
                          coding_options: dict[str, Any] | None = None,
                          dead_atoms: str = "resample", random_state: Any = None,
                          callback: Callable[[Info], Any] | None = None, verbose: bool = False,
                          state: LearningState | None = None) -> Result:
    r"""Learn shift-invariant atoms from signals (batch, or online with ``batch_size``).

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    n_atoms, atom_length : int
    alpha : float, optional
        Absolute l1 weight. When None (the default), ``alpha_scale · α_max`` with ``α_max``
        the penalty that zeroes every activation on the initial dictionary (alphacsc's
        ``lmbd_max="fixed"``): the same setting suits data of any amplitude.
    alpha_scale : float, default=0.1
    method : str, default="fista"
        Any :data:`~dictlearn.signal.CSC_METHODS` name (lasso methods).
    positive : bool, default=False
        Non-negative activations.
    rank1 : bool, default=False
        Multichannel atoms ``d_k = u_k v_kᵀ`` (``u_k`` (n_channels,) of unit norm).
    max_iter, tol : int, float
        Alternations (mini-batch steps when online) and the relative change of the objective
        that stops learning (per epoch when online); 0 runs ``max_iter``.
    batch_size : int, optional
        Online learning with mini-batches of this many signals (windows); None: batch.
    forget : float, optional
        Online forgetting ρ (:func:`~dictlearn.learning.online.forgetting_weight`).
    init : {"chunk", "random"} or array of shape (n_atoms, n_channels, atom_length)
    coding_options : dict, optional
        Options of the CSC method (``max_iter``, ``tol``, …).
    dead_atoms : {"resample", "keep"}
    random_state, callback, verbose
        As :func:`dictlearn.learning.fit_dictionary` (``info.dictionary`` is
        (n_atoms, n_channels, atom_length)).
    state : LearningState, optional
        Resume (its ``aux`` is a :class:`ConvStatistics`, which holds ``alpha``).

    Returns
    -------
    Result
        ``dictionary`` (n_atoms, n_channels, atom_length), ``codes`` (batch) of shape
        (n_signals, n_atoms, n_times − atom_length + 1), ``history`` (per iteration the mean
        CSC objective over the batch, ``n_resampled``, …), ``state.aux.alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 1, 200))
    >>> res = learn_conv_dictionary(X, 3, 16, max_iter=3, random_state=0)
    >>> res.dictionary.shape, res.codes.shape, len(res.history)
    ((3, 1, 16), (4, 3, 185), 3)
    """
    xp, X3 = prepare_signals(X)
    n_atoms = check_positive_int(n_atoms, "n_atoms")
    atom_length = check_positive_int(atom_length, "atom_length")
    n, C, T = (int(s) for s in X3.shape)
    if atom_length > T:
        raise ValueError(f"atom_length ({atom_length} samples) is longer than the signals X "
                         f"({T} samples); use atoms of at most {T} samples")
    if csc_method_spec(method).penalty != "l1":
        raise ValueError(f"method must be a lasso (l1) CSC method; {method!r} is not")
    online = batch_size is not None
    upd = ConvDictionaryUpdate(C, atom_length, rank1=rank1, online=online, forget=forget)
    Xf = xp.reshape(X3, (n, C * T))
    rng = check_random_state(random_state)
    if state is None:
        state = start_state(Xf, n_atoms, updater=upd, init=init, rng=rng, xp=xp)
        a = resolve_alpha(X3, state.dictionary, alpha=alpha, alpha_scale=alpha_scale,
                          positive=positive, xp=xp)
        state = dataclasses.replace(state, aux=dataclasses.replace(state.aux, alpha=a))
    coder = ConvCodingStep(C, method, float(state.aux.alpha), bool(positive),
                           dict(coding_options or {}))
    res = fit_dictionary(Xf, n_atoms, updater=upd, coder=coder, max_iter=max_iter, tol=tol,
                         batch_size=batch_size or n, random_state=rng, callback=callback,
                         verbose=verbose, dead_atoms=dead_atoms, state=state)
    codes = None if res.codes is None else xp.reshape(res.codes, (n, n_atoms, -1))
    return dataclasses.replace(res, codes=codes)
