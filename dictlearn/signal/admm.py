r"""ADMM for convolutional sparse coding in the frequency domain (Wohlberg 2016).

The lasso of :mod:`dictlearn.signal.coding`, ``½‖x − Σ_k d_k ∗ z_k‖² + α Σ_k‖z_k‖₁``, is split
as ``min f(x) + g(y)`` subject to ``x = y``, with ``x`` and ``y`` on the operator's FFT grid of
``nfft ≥ n_times`` samples:

.. math:: f(x) = \tfrac12\Big\|\sum_k d_k \circledast x_k - s\Big\|^2 ,\qquad
          g(y) = \alpha\|y\|_1 + \iota_{\mathcal V}(y)\ (+\ \iota_{y\ge0}(y)),

``s`` the signal zero-padded to the grid, ``⊛`` circular convolution and ``𝒱`` the set of
activations that vanish outside the valid shifts ``0 ≤ t ≤ n_times − atom_length``. On ``𝒱``
the circular convolution never wraps around and equals the full one, so the solution of the
split problem is the one of the "valid" model. The iteration (scaled dual ``u``, relaxation
``λ``) is SPORCO's ``ConvBPDN``:

.. math:: \hat x = (\hat D^H\hat D + \rho I)^{-1}(\hat D^H \hat s + \rho\,\widehat{(y-u)})
          \quad\text{per frequency},\qquad
          y = \operatorname{prox}_{g/\rho}(\lambda x + (1-\lambda)y + u),\qquad
          u \leftarrow u + \lambda x + (1-\lambda)y_{\rm old} - y .

Per frequency ``D̂`` is the (n_channels × n_atoms) matrix of the atoms' transforms. Its
Gram ``D̂ᴴD̂ = W Λ Wᴴ`` (rank ``m = min(n_atoms, n_channels)``, computed once) gives
``(D̂ᴴD̂ + ρI)⁻¹ b = b/ρ − W diag(λ_j / (ρ(ρ + λ_j))) Wᴴ b`` for every ``ρ``: with one channel
this is the Sherman–Morrison solve of Wohlberg (2016), with several it replaces the iterated
Sherman–Morrison solve, and a change of ``ρ`` costs nothing. The ``y``-step is the soft
threshold of :mod:`dictlearn.prox` times the indicator of the valid shifts. ``ρ`` starts at
``50a + 1`` and adapts per signal by residual balancing (Wohlberg 2015, SPORCO's ``AutoRho``
defaults: period 1, scaling 1000 capped by ``sqrt`` of the residual ratio, target
``1 + 18.3^{log10 a + 1}``; but a ratio of 10 before a change, see ``residual_ratio``), with
``a = α/‖X‖∞``: SPORCO's rules assume signals of peak 1, and relative to the peak they make
the iteration the same for ``c·X`` and ``c·α`` at any scale ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .._loop import Info, Result, run_loop
from .._scale import scale_invariant
from .._validation import check_choice, check_nonneg_scalar, check_positive_int
from ..coding.proximal_gradient import gap_criterion
from ..prox import get_prox
from ._conv import ConvLeastSquares, ConvOperator
from .coding import check_csc_inputs, finish_codes, register_csc_method

__all__ = ["csc_admm"]


@dataclass(frozen=True)
class _Solve:
    """The x-step's factor: ``W`` (m, K, F) and ``λ`` (m, F) of ``D̂ᴴD̂ = W Λ Wᴴ``."""

    W: Any
    lam: Any

    @classmethod
    def build(cls, op: ConvOperator) -> _Solve:
        xp, Dh = op.xp, op.D_hat  # (K, C, F)
        K, C = op.n_atoms, op.n_channels
        tiny = float(xp.finfo(op.atoms.dtype).smallest_normal)
        if C == 1:  # Sherman–Morrison: one direction per frequency
            lam = xp.sum(xp.real(Dh * xp.conj(Dh)), axis=(0, 1))  # (F,)
            W = xp.conj(Dh[:, 0, :]) / xp.astype(xp.sqrt(xp.maximum(lam, tiny)), Dh.dtype)
            return cls(W[None, ...], lam[None, :])
        Dt = xp.permute_dims(Dh, (2, 1, 0))  # (F, C, K): the matrix D̂ per frequency
        if K <= C:  # eigenvectors of D̂ᴴD̂ (K×K)
            lam, W = xp.linalg.eigh(xp.matrix_transpose(xp.conj(Dt)) @ Dt)
            return cls(xp.permute_dims(W, (2, 1, 0)), xp.permute_dims(lam, (1, 0)))
        # C < K: left singular vectors of A = D̂ᴴ from the C×C Gram A ᴴA = D̂ D̂ᴴ
        lam, V = xp.linalg.eigh(Dt @ xp.matrix_transpose(xp.conj(Dt)))
        A = xp.matrix_transpose(xp.conj(Dt))  # (F, K, C)
        scale = xp.astype(xp.sqrt(xp.maximum(lam, tiny)), Dh.dtype)[:, None, :]
        W = (A @ V) / scale  # (F, K, C)
        return cls(xp.permute_dims(W, (2, 1, 0)), xp.permute_dims(lam, (1, 0)))

    def apply(self, b: Any, rho: Any, xp: ModuleType) -> Any:
        """``(D̂ᴴD̂ + ρI)⁻¹ b`` for ``b`` (n, K, F) and ``ρ`` (n, 1, 1)."""
        out = b / rho
        for j in range(self.W.shape[0]):
            w, lam = self.W[j, ...], self.lam[j, ...]
            h = xp.sum(xp.conj(w) * b, axis=1)  # (n, F)
            g = lam / (rho[:, 0, :] * (rho[:, 0, :] + lam))  # (n, F)
            out = out - w * (xp.astype(g, h.dtype) * h)[:, None, :]
        return out


@dataclass(frozen=True)
class ADMMState:
    """The rows still iterating: ``y`` (sparse), scaled dual ``u`` on the FFT grid, ``ρ``
    and the last normalised primal / dual residuals per row."""

    Y: Any  # (n, K, nfft), zero outside the valid shifts
    U: Any  # (n, K, nfft)
    rho: Any  # (n, 1, 1)
    r: Any  # (n,)
    s: Any  # (n,)
    DS: Any  # D̂ᴴŝ, (n, K, F)
    ls: ConvLeastSquares
    k: int = 0  # iterations done

    @property
    def Z(self) -> Any:
        """The activations ``y`` on the valid shifts, flattened to (n, K·n_times_valid)."""
        op = self.ls.op
        return self.ls.flatten(self.Y[:, :, :op.n_times_valid])

    def take(self, rows: Any) -> ADMMState:
        xp = self.ls.xp

        def tk(a):
            return xp.take(a, rows, axis=0)

        return ADMMState(tk(self.Y), tk(self.U), tk(self.rho), tk(self.r), tk(self.s),
                         tk(self.DS), self.ls.take(rows), self.k)


@dataclass(frozen=True)
class _Config:
    alpha: float
    relax: float
    auto_rho: bool
    xi: float  # residual ratio target
    mu: float = 10.0  # residual ratio that triggers a change
    tau: float = 1000.0  # largest change of rho


def _norm(A: Any, xp: ModuleType) -> Any:
    return xp.sqrt(xp.sum(xp.reshape(A * A, (A.shape[0], -1)), axis=1))


def _step(st: ADMMState, solve: _Solve, mask: Any, prox: Callable[..., Any], cfg: _Config
          ) -> ADMMState:
    ls, xp = st.ls, st.ls.xp
    nfft = ls.op.nfft
    rho = st.rho
    b = st.DS + xp.astype(rho, st.DS.dtype) * xp.fft.rfft(st.Y - st.U, n=nfft, axis=-1)
    X = xp.fft.irfft(solve.apply(b, rho, xp), n=nfft, axis=-1)
    AX = cfg.relax * X + (1.0 - cfg.relax) * st.Y if cfg.relax != 1.0 else X
    V = AX + st.U
    Y = prox(V, cfg.alpha / rho, xp=xp) * mask
    U = V - Y
    one = xp.ones_like(st.r)
    xn, yn, un = _norm(X, xp), _norm(Y, xp), _norm(U, xp)
    rn = xp.maximum(xn, yn)
    r = _norm(X - Y, xp) / xp.where(rn == 0, one, rn)
    dy = _norm(st.Y - Y, xp)
    s = xp.where(un == 0, rho[:, 0, 0] * dy, dy / xp.where(un == 0, one, un))
    if cfg.auto_rho and st.k > 0:  # SPORCO: no change after the first iteration
        rsf = _rho_factor(r, s, cfg, xp)
        rho = rho * rsf[:, None, None]
        U = U / rsf[:, None, None]
    return ADMMState(Y, U, rho, r, s, st.DS, ls, st.k + 1)


def _rho_factor(r: Any, s: Any, cfg: _Config, xp: ModuleType) -> Any:
    """Residual balancing (Wohlberg 2015): the factor of ``ρ`` per row."""
    one = xp.ones_like(r)
    xi, mu, tau = cfg.xi, cfg.mu, cfg.tau
    safe_s, safe_r = xp.where(s == 0, one, s), xp.where(r == 0, one, r)
    mult = xp.sqrt(xp.where(r > s * xi, r / (safe_s * xi), s * xi / safe_r))
    mult = xp.where((r == 0) | (s == 0), xp.full_like(r, tau), xp.minimum(mult, tau))
    return xp.where(r > xi * mu * s, mult, xp.where(s > (mu / xi) * r, 1.0 / mult, one))


def _residual_criterion(tol: float):
    def criterion(st: ADMMState):
        xp = st.ls.xp
        worst = xp.maximum(st.r, st.s)
        return worst - tol, worst

    return criterion


@register_csc_method("admm", penalty="l1", iterative=True, aliases=("cbpdn",))
@scale_invariant({"alpha": 1, "init": 1})  # dictlearn/_scale.py
def csc_admm(X: Any, atoms: Any, *, alpha: float = 0.1, positive: bool = False,
             init: Any = None, max_iter: int = 1000, tol: float = 1e-6, stop: str = "gap",
             check_every: int = 10, rho: float | None = None, relax: float = 1.8,
             auto_rho: bool = True, residual_ratio: float = 10.0,
             callback: Callable[[Info], Any] | None = None,
             record_history: bool = False) -> Result:
    r"""ADMM for convolutional sparse coding (CBPDN), in the frequency domain.

    Minimises per signal ``½‖x − Σ_k d_k ∗ z_k‖² + α Σ_k‖z_k‖₁`` (optionally ``z ≥ 0``) by the
    iteration of Wohlberg (2016) and SPORCO's ``ConvBPDN`` (module docstring), with the
    activations constrained to the valid shifts so that the answer is the one of
    :func:`csc_fista`'s model. Each signal has its own penalty ``ρ``; the returned codes are
    the sparse variable ``y`` (exact zeros).

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    alpha : float, default=0.1
    positive : bool, default=False
    init : array of the codes' shape, optional
        Warm start ``y``; the dual starts at ``(α/ρ) sign(y)`` (SPORCO's choice).
    max_iter : int, default=1000
    tol : float, default=1e-6
        ``stop="gap"``: a signal stops when its duality gap (:func:`csc_objective`) is below
        ``tol`` times its objective; ``stop="residual"``: when SPORCO's normalised primal and
        dual residuals are both below ``tol`` (SPORCO's ``RelStopTol`` is 1e-3).
    stop : {"gap", "residual"}, default="gap"
    check_every : int, default=10
        Iterations between checks; converged signals then leave the batch.
    rho : float, optional
        Initial penalty; default ``50α/‖X‖∞ + 1``: SPORCO's ``50λ + 1``, which assumes
        signals of peak 1, applied to ``α`` relative to the batch's peak (so that scaling
        ``X`` and ``α`` together changes nothing); the residual target likewise.
    relax : float, default=1.8
        Over-relaxation ``λ`` in (0, 2).
    auto_rho : bool, default=True
        Adapt ``ρ`` by residual balancing at every iteration.
    residual_ratio : float, default=10.0
        ``ρ`` changes when the primal and dual residuals differ by more than this factor
        (around the target ratio). SPORCO's ``ConvBPDN`` uses 1.2; with it the iteration
        oscillated and missed a duality gap of 1e-9 within 5000 iterations on 12 of 15
        test signals (K=8–16 atoms, 1–3 channels), against 1 of 15 with 10 (Boyd et al.'s
        value), which also needed fewer iterations on the others (``admm_rho_ratio.py``
        in the issue's notes).
    callback, record_history
        As :func:`csc_fista`.

    Returns
    -------
    Result
        ``codes`` of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)``.

    References
    ----------
    Wohlberg (2016), "Efficient algorithms for convolutional sparse representations",
    IEEE Trans. Image Process. 25(1); Wohlberg (2015), "ADMM penalty parameter selection by
    residual balancing", arXiv:1704.06209; Boyd et al. (2010), Found. Trends Mach. Learn. 3(1).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(20); x[5:8] = [1.0, 2.0, 1.0]
    >>> res = csc_admm(x, np.array([[1.0, 2.0, 1.0]]) / np.sqrt(6), alpha=0.01)
    >>> int(np.argmax(res.codes[0])), res.status.value
    (5, 'converged')
    """
    xp, X, _D, lead, op, init, tol, max_iter, alpha = check_csc_inputs(
        X, atoms, "csc_admm", init=init, tol=tol, max_iter=max_iter, alpha=alpha)
    check_choice(stop, "stop", {"gap", "residual"})
    check_every = check_positive_int(check_every, "check_every")
    relax = check_nonneg_scalar(relax, "relax", allow_zero=False, upper=2.0, open_upper=True)
    # SPORCO's rules (ρ₀ = 50λ + 1, residual target 1 + 18.3^(log10 λ + 1)) are set for
    # signals of peak 1: they are applied to α relative to the batch's peak, so that c·X with
    # c·α runs the same iterations for any c (the iteration is otherwise scale-equivariant)
    peak = float(xp.max(xp.abs(X))) if X.shape[0] else 0.0
    a_rel = alpha / peak if peak > 0 else alpha
    rho0 = 50.0 * a_rel + 1.0 if rho is None else check_nonneg_scalar(rho, "rho",
                                                                        allow_zero=False)
    n, K, nfft, Tv = X.shape[0], op.n_atoms, op.nfft, op.n_times_valid
    dev = getattr(X, "device", None)
    ls = ConvLeastSquares.build(X, op)
    DS = xp.sum(xp.fft.rfft(X, n=nfft, axis=-1)[:, None, :, :] * xp.conj(op.D_hat)[None, ...],
                axis=2)
    mask = xp.astype(xp.arange(nfft, device=dev) < Tv, X.dtype)
    rho_arr = xp.full((n, 1, 1), rho0, dtype=X.dtype, device=dev)
    if init is None:
        Y = xp.zeros((n, K, nfft), dtype=X.dtype, device=dev)
        U = xp.zeros_like(Y)
    else:
        Y0 = xp.reshape(init, (n, K, Tv))
        if positive:
            Y0 = xp.maximum(Y0, 0.0)
        pad = xp.zeros((n, K, nfft - Tv), dtype=X.dtype, device=dev)
        Y = xp.concat([Y0, pad], axis=-1)
        U = (alpha / rho0) * xp.sign(Y)
    zero = xp.zeros((n,), dtype=X.dtype, device=dev)
    state = ADMMState(Y, U, rho_arr, zero, zero, DS, ls)
    xi = 1.0 + 18.3 ** (math.log10(a_rel) + 1.0) if a_rel > 0 else 1.0
    mu = check_nonneg_scalar(residual_ratio, "residual_ratio", allow_zero=False)
    cfg = _Config(alpha, relax, bool(auto_rho), xi, mu)
    solve = _Solve.build(op)
    prox = get_prox("nonneg_soft" if positive else "soft")

    def step(st: ADMMState) -> ADMMState:
        return _step(st, solve, mask, prox, cfg)

    criterion = (gap_criterion(tol, alpha, positive) if stop == "gap"
                 else _residual_criterion(tol))
    result = run_loop(state, step=step, criterion=criterion, codes=lambda s: s.Z, n_samples=n,
                      max_iter=max_iter, check_every=check_every, xp=xp, callback=callback,
                      check_initial=(stop == "gap"), record_history=record_history)
    return finish_codes(result, lead, op)
