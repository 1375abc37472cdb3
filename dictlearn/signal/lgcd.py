r"""Locally greedy coordinate descent (LGCD) for convolutional sparse coding, registered as the
CSC method ``"lgcd"``.

The solver of alphacsc for long signals (Moreau, Gramfort & Oudre 2018): coordinate descent
on the lasso ``½‖x − Σ_k d_k ∗ z_k‖² + α Σ_k‖z_k‖₁`` where, in each segment of the time axis
(``2·atom_length − 1`` samples), the coordinate whose closed-form update changes most is
updated, and the correlations ``𝒟ᵀr`` change only within ``atom_length − 1`` samples of it.
The passes over the segments are a named kernel (:mod:`dictlearn.kernels.lgcd`, with a numba
twin); this module prepares the problem on the host, drives the passes with the library's
loop (:func:`dictlearn._loop.run_loop`) and certifies each signal with the duality gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._loop import Info, Result, run_loop
from .._scale import scale_invariant
from .._validation import check_choice, check_positive_int
from .._xp import device_of, to_host, to_namespace
from ..kernels import ENGINES, call
from ..kernels.conv_mp import cross_correlation_table
from ..objectives import gap_residual
from ._conv import ConvOperator
from .coding import check_csc_inputs, finish_codes, register_csc_method

__all__ = ["csc_lgcd"]

#: The first segment threshold (``stop="gap"``), relative to the largest first update.
THR_START = 1e-2
#: A gap check once the passes since the last one have visited this many sweeps' worth of
#: coordinates (see ``csc_lgcd``'s notes).
SWEEPS_PER_CHECK = 1


@dataclass(frozen=True)
class _State:
    """The signals still iterating: codes, correlations ``𝒟ᵀr``, residuals, segment flags."""

    Z: np.ndarray  # (n, K, Tv)
    C: np.ndarray  # (n, K, Tv)
    R: np.ndarray  # (n, Ch, T)
    active: np.ndarray  # (n, n_seg) bool
    moved: np.ndarray  # (n,) largest |Δz| of the last pass
    thr: np.ndarray  # (n,) the change below which a segment goes inactive
    X: np.ndarray  # (n, Ch, T)

    def take(self, rows: Any) -> _State:
        return _State(*(np.take(a, rows, axis=0) for a in (
            self.Z, self.C, self.R, self.active, self.moved, self.thr, self.X)))


@register_csc_method("lgcd", penalty="l1", iterative=True, backends=("array-api", "numba"))
@scale_invariant({"alpha": 1, "init": 1})  # dictlearn/_scale.py
def csc_lgcd(X: Any, atoms: Any, *, alpha: float = 0.1, positive: bool = False,
             init: Any = None, max_iter: int = 1000, tol: float = 1e-6, stop: str = "gap",
             check_every: int = 10, callback: Callable[[Info], Any] | None = None,
             record_history: bool = False, engine: str = "auto") -> Result:
    r"""Locally greedy coordinate descent for convolutional sparse coding (LGCD).

    Minimises, per signal, :math:`\tfrac12\|x - \sum_k d_k * z_k\|_2^2 + \alpha\sum_k\|z_k\|_1`
    (with :math:`z \ge 0` when ``positive``), activations shared across channels.

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    alpha : float >= 0, default=0.1
    positive : bool, default=False
    init : array of the codes' shape, optional
        Warm start: the residual and its correlations are recomputed from it by FFT.
    max_iter : int, default=1000
        Most passes over the segments per signal.
    tol : float >= 0, default=1e-6
        ``stop="gap"``: a signal stops when its duality gap is at most ``tol`` times its
        objective (plus a rounding floor of ``50·eps·‖x‖²``), the gap being recomputed by FFT
        before a signal is declared converged; ``stop="change"``: when the largest coordinate
        change of a pass is at most ``tol·max|z|``.
    stop : {"gap", "change"}, default="gap"
    check_every : int, default=10
        Passes between two checks of the stopping rule, at least. With ``stop="gap"`` a
        check also waits until the passes since the last one have visited as many
        coordinates as there are (late passes visit only the few segments still moving,
        while a check reads every coordinate), so checks stay a bounded share of the work.
    callback : callable, optional
        Called with an :class:`~dictlearn.Info` after each check (``info.state.Z`` holds the
        codes of the signals still iterating); returning True stops.
    record_history : bool, default=False
    engine : {"auto", "reference", "numba"}, default="auto"
        The passes' kernel: ``"numba"`` (parallel over signals) or the NumPy reference;
        ``"auto"`` picks numba when it is available.

    Returns
    -------
    Result
        ``codes`` of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)`` in the
        caller's array library and device, passes per signal in ``n_iter_per_sample``, the
        relative gap (or change) in ``criterion``.

    Notes
    -----
    LGCD is sequential host work: arrays of another library are copied to the host once and
    the results copied back to their device. With ``c = 𝒟ᵀ(x − 𝒟z)`` and
    :math:`n_k = \|d_k\|^2`, the exact minimiser along coordinate ``(k, t)`` is
    :math:`z'_k[t] = S_\alpha(c_k[t] + n_k z_k[t]) / n_k`. The time axis is cut into segments
    of ``2L − 1`` samples (``L`` the atom length); a pass updates, in each segment in turn, the
    coordinate with the largest :math:`|z'_k[t] - z_k[t]|` and then ``c`` on the
    ``2L − 1`` shifts it reaches through the atoms' cross-correlations (computed once by FFT,
    :func:`~dictlearn.kernels.conv_mp.cross_correlation_table`) and the residual on ``L``
    samples. A segment whose best change is zero is skipped until a neighbouring update
    reaches it, so a pass costs little where the signal is silent. Greedy selection makes each
    update the most useful one of its segment, and the segments are independent enough that a
    pass costs ``O(n_atoms · n_times)`` (Moreau, Gramfort & Oudre 2018 prove convergence to
    the lasso solution). The gap of
    :func:`dictlearn.objectives.gap_residual` is computed from the maintained ``r`` and ``c``
    at each check and from scratch (FFT) before a signal stops. Between two checks the
    passes visit at least one sweep's worth of coordinates (a count, not a time: the
    iterates do not depend on the machine).

    References
    ----------
    Moreau, Gramfort & Oudre (2018), "DICOD: Distributed convolutional coordinate descent for
    convolutional sparse coding", ICML.
    Dupré La Tour, Moreau, Jas & Gramfort (2018), "Multivariate convolutional sparse coding for
    electromagnetic brain signals", NeurIPS (alphacsc).

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.signal import csc_encode
    >>> x = np.zeros(40); x[5:8] = [1.0, 2.0, 1.0]; x[20:23] = [-0.5, -1.0, -0.5]
    >>> res = csc_encode(x, np.array([[1.0, 2.0, 1.0]]) / np.sqrt(6), method="lgcd",
    ...                  alpha=0.01, return_result=True)
    >>> np.flatnonzero(res.codes[0]).tolist(), res.status.value
    ([5, 20], 'converged')
    """
    xp, Xc, Dc, lead, op, init, tol, max_iter, alpha = check_csc_inputs(
        X, atoms, "csc_lgcd", init=init, tol=tol, max_iter=max_iter, alpha=alpha)
    check_choice(stop, "stop", {"gap", "change"})
    check_choice(engine, "engine", set(ENGINES))
    check_every = check_positive_int(check_every, "check_every")
    positive = bool(positive)

    Xh, D = to_host(Xc), to_host(Dc)
    n, _, T = Xh.shape
    hop = ConvOperator.build(D, T, xp=np)
    K, L, Tv = hop.n_atoms, hop.atom_length, hop.n_times_valid
    if init is None:
        Z, R = np.zeros((n, K, Tv), dtype=Xh.dtype), Xh.copy()
    else:
        Z = to_host(init).reshape(n, K, Tv).copy()
        if positive:
            Z = np.maximum(Z, 0.0)
        R = np.ascontiguousarray(Xh - hop.apply(Z))
    C = np.ascontiguousarray(hop.adjoint(R))
    H = np.ascontiguousarray(cross_correlation_table(D, xp=np))
    seg_len = 2 * L - 1
    n_seg = -(-Tv // seg_len)
    eps = float(np.finfo(Xh.dtype).eps)
    tiny = float(np.finfo(Xh.dtype).smallest_normal)
    if stop == "gap":  # a hundredth of the largest first update, then tenfold smaller
        nk = H[np.arange(K), np.arange(K), L - 1][None, :, None]
        u = C if positive else np.abs(C)
        thr = THR_START * np.max((np.maximum(u - alpha, 0) / nk).reshape(n, -1), axis=1)
    else:
        thr = np.zeros(n)
    thr = thr.astype(Xh.dtype)
    thr_min = float(np.sqrt(eps) * np.max(thr))
    state = _State(Z, C, R, np.ones((n, n_seg), dtype=bool), np.full(n, np.inf, Xh.dtype),
                   thr, Xh)

    # A check reads every coordinate (the gap needs ‖𝒟ᵀr‖∞, ‖z‖₁ and ‖r‖²) while a late
    # pass visits only the few active segments: a check runs once the passes since the last
    # one have visited at least ``SWEEPS_PER_CHECK`` times as many coordinates as there are
    # (and every ``check_every`` passes at most), so checks cost a bounded share of the work.
    # The rule counts coordinates, not seconds: the iterates do not depend on the machine.
    work = {"since": 0, "passes": 0, "last": None}

    def step(s: _State) -> _State:
        work["since"] += int(np.count_nonzero(s.active)) * K * seg_len
        work["passes"] += 1
        _, _, _, _, moved = call("lgcd_passes", engine, np, D, H, s.Z, s.C, s.R, s.active,
                                 alpha=alpha, positive=positive, n_passes=1, thr=s.thr,
                                 thr_min=thr_min, seg_len=seg_len)
        s.moved[...] = moved
        return s

    def due(s: _State) -> bool:
        last = work["last"]
        if (last is None or work["passes"] >= max_iter or last[0].shape[0] != s.Z.shape[0]
                or work["since"] >= SWEEPS_PER_CHECK * s.Z.size):
            work["since"] = 0
            return True
        return False

    def gap(s: _State, rows: Any = slice(None)):
        m = s.X[rows].shape[0]
        F, g = gap_residual(*(a[rows].reshape(m, -1) for a in (s.X, s.R, s.C, s.Z)),
                            alpha, positive, np)
        xx = np.sum(s.X[rows].reshape(m, -1) ** 2, axis=1)
        return g - (tol * F + 50 * eps * xx), g / np.maximum(F, tiny)

    def criterion_gap(s: _State):
        if not due(s):  # not yet: the loop decides nothing this block
            return None
        excess, shown = gap(s)
        done = np.flatnonzero(excess <= 0)
        if done.size:  # certify from scratch: a fresh residual and correlations by FFT
            s.R[done] = s.X[done] - hop.apply(s.Z[done])
            s.C[done] = hop.adjoint(s.R[done])
            excess[done], shown[done] = gap(s, done)
        work["last"] = (excess, shown)
        return excess, shown

    def criterion_change(s: _State):
        scale = np.maximum(np.max(np.abs(s.Z.reshape(s.Z.shape[0], -1)), axis=1), tiny)
        return s.moved - tol * scale, s.moved / scale

    res = run_loop(state, step=step,
                   criterion=criterion_gap if stop == "gap" else criterion_change,
                   codes=lambda s: s.Z.reshape(s.Z.shape[0], -1), n_samples=n,
                   max_iter=max_iter, check_every=check_every, xp=np, callback=callback,
                   check_initial=stop == "gap", record_history=record_history)
    dev = device_of(Xc)
    back = {"codes": to_namespace(res.codes, xp, Xc),
            "criterion": to_namespace(res.criterion, xp, Xc),
            "n_iter_per_sample": xp.asarray(res.n_iter_per_sample, device=dev),
            "converged": xp.asarray(res.converged, device=dev)}
    return finish_codes(replace(res, **back), lead, op)
