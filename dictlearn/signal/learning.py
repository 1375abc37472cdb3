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
   After the step, an atom whose energy is off-centre is moved to the middle with its
   activations moved back (the same model), and the step is run again from there; in batch
   mode the move is kept only when it does not raise the objective;
3. **dead atoms**: atoms that no activation uses, or that duplicate another up to a shift,
   are re-drawn from the windows of largest residual energy that no atom explains yet
   (counted in the history). Initial atoms are windows centred on the signals' events.

The modules below do one job each: :mod:`~dictlearn.signal._statistics` (the statistics and
the data term), :mod:`~dictlearn.signal._atom_update` (the dictionary step),
:mod:`~dictlearn.signal._atoms` (initial, replacement and centred atoms),
:mod:`~dictlearn.signal._signals` (training signals); this one joins them on the driver.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .._loop import Info, Result
from .._scale import Scale
from .._validation import check_array, check_choice, check_nonneg_scalar, check_positive_int
from .._xp import check_random_state, get_namespace
from ..learning import LearningState, Updater, fit_dictionary, start_state
from ..learning.atoms import dead_atom_mask
from ..learning.online import forgetting_weight
from ._atom_update import ball, outer, rank1_factors, update_atoms
from ._atoms import (
    centring_shifts,
    energy_windows,
    replacement_windows,
    shift_atoms,
    shift_codes,
    uniform_windows,
)
from ._conv import ConvOperator
from ._signals import prepare_signals, resolve_alpha, signal_windows
from ._statistics import DataTerm, code_statistics, shift_coherence, shift_statistics
from .coding import csc_encode, csc_method_spec, csc_objective

__all__ = ["ConvCodingStep", "ConvDictionaryUpdate", "ConvStatistics", "code_statistics",
           "learn_conv_dictionary", "prepare_signals", "resolve_alpha", "shift_coherence",
           "signal_windows", "start_conv_state", "update_atoms"]


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
        In the units of the learning (those of ``X / state.scale``, see
        :mod:`dictlearn._scale`); ``alpha · state.scale`` in the signals' units.
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

    def encode(self, X: Any, D: Any, *, xp: ModuleType, init: Any = None) -> Any:
        """The learning driver's entry (:meth:`dictlearn.learning.CodingStep.encode`)."""
        return self(X, D, init=init)

    def encode_with_objective(self, X: Any, D: Any, *, xp: ModuleType,
                              init: Any = None) -> tuple[Any, Any]:
        """:meth:`encode` and :meth:`objective` (the driver's entry,
        :meth:`dictlearn.learning.CodingStep.encode_with_objective`)."""
        Z = self.encode(X, D, xp=xp, init=init)
        return Z, self.objective(X, D, Z, xp=xp)

    def objective(self, X: Any, D: Any, Z: Any, *, xp: ModuleType) -> Any:
        return csc_objective(self.signals(X, xp), D, self.codes(Z, X, D, xp), alpha=self.alpha,
                             positive=self.positive)[0]

    def scaled(self, sc: Scale) -> ConvCodingStep:
        """The coding step of the signals ``X / s`` (:mod:`dictlearn._scale`): ``alpha / s``."""
        return dataclasses.replace(self, alpha=float(sc.down(self.alpha)))


SHIFT_DUPLICATE = 0.95  # shift coherence above which two atoms are duplicates


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
    coherence_every = 1  # K x K correlations of short atoms: cheap next to the coding step

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
        return outer(*rank1_factors(D, xp)) if self.rank1 else D

    def _normalise(self, D: Any, xp: ModuleType) -> Any:
        norms = xp.sqrt(xp.sum(D * D, axis=(1, 2), keepdims=True))
        return D / xp.where(norms > 0, norms, 1.0)

    def _gaussian(self, rng: np.random.Generator, k: int, like: Any, xp: ModuleType) -> Any:
        G = rng.standard_normal((k, self.n_channels, self.atom_length))
        return xp.asarray(G, dtype=like.dtype, device=getattr(like, "device", None))

    def initial_dictionary(self, X: Any, n_atoms: int, *, init: Any, rng: np.random.Generator,
                           xp: ModuleType) -> Any:
        """``"events"``: windows of the signals centred on events, drawn with probability
        proportional to their energy (:func:`~dictlearn.signal._atoms.energy_windows`);
        ``"chunk"``: windows at uniformly random signals and shifts (alphacsc's default);
        ``"random"``: Gaussian atoms; or an array (n_atoms, n_channels, atom_length); scaled
        to unit norm (rank-1: their leading singular pair)."""
        shape = (n_atoms, self.n_channels, self.atom_length)
        if not isinstance(init, str):
            D = check_array(init, "init", like=X, ndim=(2, 3), atoms=True)
            D = xp.reshape(D, (D.shape[0], 1, D.shape[1])) if D.ndim == 2 else D + 0.0
            if tuple(D.shape) != shape:
                raise ValueError(f"init must have shape (n_atoms, n_channels, atom_length) = "
                                 f"{shape}; got {tuple(D.shape)}")
            return self._normalise(self._rank1(D, xp), xp)
        check_choice(init, "init", {"events", "chunk", "random"})
        D = self._gaussian(rng, n_atoms, X, xp)
        if init != "random":
            X3 = self._signals(X, xp)
            if init == "events":
                chunks = energy_windows(X3, n_atoms, self.atom_length, rng=rng, xp=xp)
            else:
                chunks = uniform_windows(X3, n_atoms, self.atom_length, rng=rng)
            C = xp.stack([D[j, ...] if c is None else c for j, c in enumerate(chunks)])
            empty = xp.sum(C * C, axis=(1, 2)) <= float(xp.finfo(X.dtype).smallest_normal)
            D = xp.where(empty[:, None, None], D, C)  # silent windows: Gaussian atoms
        return self._normalise(self._rank1(D, xp), xp)

    def project(self, D: Any, aux: Any, *, xp: ModuleType) -> Any:
        return ball(D, (1, 2), xp)

    def dead_mask(self, D: Any, *, max_coherence: float | None, xp: ModuleType) -> Any:
        """Zero-norm atoms, and with ``max_coherence`` the atoms that duplicate an atom of
        lower index up to a shift: :func:`shift_coherence` above ``max_coherence``, or above
        :data:`SHIFT_DUPLICATE` (0.95) if lower — the best of all shifts is a closer match
        than one cosine, and two atoms that close share their events."""
        dead = dead_atom_mask(xp.reshape(D, (D.shape[0], -1)), xp=xp)
        if max_coherence is None or int(D.shape[0]) < 2:
            return dead
        max_coherence = min(float(max_coherence), SHIFT_DUPLICATE)
        K = int(D.shape[0])
        ar = xp.arange(K, device=getattr(D, "device", None))
        lower = ar[None, :] < ar[:, None]
        return dead | xp.any((shift_coherence(D, xp=xp) > max_coherence) & lower
                             & ~dead[None, :], axis=1)

    def resample(self, D: Any, X: Any, Z: Any, dead: Any, *, rng: np.random.Generator,
                 xp: ModuleType) -> tuple[Any, int]:
        """Each dead atom becomes a window of the signals where the residual energy is
        largest and that no other atom already holds up to a shift
        (:func:`~dictlearn.signal._atoms.replacement_windows`), normalised (rank-1: its
        leading singular pair); Gaussian when the residual is silent."""
        flags = _host_bool(dead, xp)
        dead_idx = [i for i, d in enumerate(flags) if d]
        if not dead_idx:
            return D, 0
        X3 = self._signals(X, xp)
        R = X3 - ConvOperator.build(D, int(X3.shape[2]), xp=xp).apply(self._codes(Z, X, xp))
        live = [D[k, ...] for k, d in enumerate(flags) if not d]
        wins = replacement_windows(X3, R, live, len(dead_idx), self.atom_length, xp=xp)
        fill = self._gaussian(rng, len(dead_idx), D, xp)
        new = [fill[j, ...] if w is None else w for j, w in enumerate(wins)]
        new = self._normalise(self._rank1(xp.stack(new), xp), xp)
        dev = getattr(X, "device", None)
        pos = np.zeros(int(D.shape[0]), dtype=np.int64)
        pos[dead_idx] = np.arange(len(dead_idx))
        picked = xp.take(new, xp.asarray(pos, device=dev), axis=0)
        mask = xp.asarray(np.asarray(flags, dtype=bool), device=dev)
        return xp.where(mask[:, None, None], picked, D), len(dead_idx)

    # ---- the learner
    def init_state(self, D: Any, *, xp: ModuleType) -> ConvStatistics:
        K, C, L = (int(s) for s in D.shape)
        dev = getattr(D, "device", None)
        return ConvStatistics(xp.zeros((K, K, 2 * L - 1), dtype=D.dtype, device=dev),
                              xp.zeros((K, C, L), dtype=D.dtype, device=dev))

    def update(self, D: Any, X: Any, Z: Any, aux: ConvStatistics, *, xp: ModuleType):
        """The dictionary step from the (weighted) statistics, then the centring of
        off-centre atoms (:meth:`_centre`)."""
        X3, Z3 = self._signals(X, xp), self._codes(Z, X, xp)
        t = aux.t + 1
        beta = forgetting_weight(t, int(X.shape[0]), self.forget) if self.minibatch else 0.0
        ztz, ztX = self._statistics(Z3, X3, aux, beta, None, xp)
        D = update_atoms(D, ztz, ztX, rank1=self.rank1, max_iter=self.max_iter, tol=self.tol,
                         xp=xp)
        D, Z3, ztz, ztX = self._centre(D, Z3, X3, ztz, ztX, aux, beta, xp)
        usage = ztz[:, :, self.atom_length - 1]
        usage = xp.sum(usage * xp.eye(int(D.shape[0]), dtype=D.dtype,
                                      device=getattr(D, "device", None)), axis=1)
        Z = xp.reshape(Z3, (Z3.shape[0], -1))
        return D, Z, dataclasses.replace(aux, ztz=ztz, ztX=ztX, t=t), usage

    def _statistics(self, Z3: Any, X3: Any, aux: ConvStatistics, beta: float,
                    shifts: list[int] | None, xp: ModuleType) -> tuple[Any, Any]:
        """The batch's statistics plus ``β`` times the kept ones (moved by ``shifts``)."""
        ztz, ztX = code_statistics(Z3, X3, self.atom_length, xp=xp)
        if beta == 0.0:
            return ztz, ztX
        old = (aux.ztz, aux.ztX) if shifts is None else shift_statistics(aux.ztz, aux.ztX,
                                                                          shifts, xp=xp)
        return beta * old[0] + ztz, beta * old[1] + ztX

    def _centre(self, D: Any, Z3: Any, X3: Any, ztz: Any, ztX: Any, aux: ConvStatistics,
                beta: float, xp: ModuleType) -> tuple[Any, Any, Any, Any]:
        """Move the off-centre atoms to the middle (``centring_shifts``), their activations
        back, and run the dictionary step again from there. In batch mode the move is kept
        only when the objective ``½‖x − Σ d_k ∗ z_k‖² + α‖z‖₁`` does not rise (from the
        statistics: exact); online, where the kept statistics lack the lags that come into
        the window, always."""
        shifts = centring_shifts(D, xp=xp)
        if not any(shifts):
            return D, Z3, ztz, ztX
        Z3s = shift_codes(Z3, shifts, xp=xp)
        ztz_s, ztX_s = self._statistics(Z3s, X3, aux, beta, shifts, xp)
        D_s = update_atoms(shift_atoms(D, shifts, xp=xp), ztz_s, ztX_s, rank1=self.rank1,
                           max_iter=self.max_iter, tol=self.tol, xp=xp)
        if not self.minibatch:
            a = float(aux.alpha)
            before = DataTerm.build(ztz, ztX, xp=xp).value_grad(D)[0] + a * float(
                xp.sum(xp.abs(Z3)))
            after = DataTerm.build(ztz_s, ztX_s, xp=xp).value_grad(D_s)[0] + a * float(
                xp.sum(xp.abs(Z3s)))
            if after > before:
                return D, Z3, ztz, ztX
        return D_s, Z3s, ztz_s, ztX_s

    def on_resample(self, aux: ConvStatistics, dead: Any, *, xp: ModuleType) -> ConvStatistics:
        keep = xp.astype(~dead, aux.ztz.dtype)
        return dataclasses.replace(aux, ztz=aux.ztz * keep[:, None, None] * keep[None, :, None],
                                   ztX=aux.ztX * keep[:, None, None])


def start_conv_state(X3: Any, n_atoms: int, *, updater: ConvDictionaryUpdate, init: Any,
                     alpha: float | None, alpha_scale: float | None, positive: bool,
                     rng: np.random.Generator, xp: ModuleType) -> LearningState:
    """The first state of CDL (batch ``fit`` and the first ``partial_fit`` alike): the signals'
    scale (:class:`~dictlearn._scale.Scale`: learning runs on ``X / s``, so that ``c·X`` learns
    the atoms of ``X`` over the whole floating range), the initial atoms and the penalty,
    ``alpha`` or ``alpha_scale · α_max`` on those atoms, in the units of ``X / s``."""
    n, C, T = (int(v) for v in X3.shape)
    sc = Scale.of(X3, xp)
    X3s = sc.down(X3)
    state = start_state(xp.reshape(X3s, (n, C * T)), n_atoms, updater=updater, init=init,
                        rng=rng, xp=xp)
    a = resolve_alpha(X3s, state.dictionary, alpha=alpha, alpha_scale=alpha_scale,
                      positive=positive, xp=xp)
    a = float(sc.down(a)) if alpha is not None else a  # a given alpha is in X's units
    return dataclasses.replace(state, scale=sc.s,
                               aux=dataclasses.replace(state.aux, alpha=a))


def _host_bool(mask: Any, xp: ModuleType) -> list[bool]:
    return [bool(mask[i]) for i in range(int(mask.shape[0]))]



def learn_conv_dictionary(X: Any, n_atoms: int, atom_length: int, *, alpha: float | None = None,
                          alpha_scale: float | None = 0.1, method: str = "fista",
                          positive: bool = False, rank1: bool = False, max_iter: int = 50,
                          tol: float = 1e-4, batch_size: int | None = None,
                          forget: float | None = None, init: Any = "events",
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
    init : {"events", "chunk", "random"} or array of shape (n_atoms, n_channels, atom_length)
        Windows centred on the signals' events (drawn by energy, no two alike up to a
        shift), uniformly random windows (alphacsc's ``"chunk"``), Gaussian atoms, or given
        atoms.
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
        state = start_conv_state(X3, n_atoms, updater=upd, init=init, alpha=alpha,
                                 alpha_scale=alpha_scale, positive=positive, rng=rng, xp=xp)
    coder = ConvCodingStep(C, method, float(state.aux.alpha) * float(state.scale),
                           bool(positive), dict(coding_options or {}))
    res = fit_dictionary(Xf, n_atoms, updater=upd, coder=coder, max_iter=max_iter, tol=tol,
                         batch_size=batch_size or n, random_state=rng, callback=callback,
                         verbose=verbose, dead_atoms=dead_atoms, state=state)
    codes = None if res.codes is None else xp.reshape(res.codes, (n, n_atoms, -1))
    return dataclasses.replace(res, codes=codes)
