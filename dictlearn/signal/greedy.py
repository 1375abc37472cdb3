r"""Greedy convolutional coding: matching pursuit and OMP over all shifts (MPTK style).

Per signal ``x`` (n_channels, n_times) the atoms are normalised, ``d̃_k = d_k/‖d_k‖``, and a
step picks the atom and shift of largest correlation with the residual,

.. math:: (k, t) = \arg\max_{k,t} |\langle r, S_t \tilde d_k\rangle|
          = \arg\max_{k,t} |(\mathcal{D}^\top r)_k[t]| / \|d_k\| ,

(``S_t`` the shift by ``t`` samples, the inner product summed over channels; the largest
positive one with ``positive``). Matching pursuit adds the correlation to that coefficient;
OMP refits all coefficients on the support by least squares. The correlations are updated
locally from the atoms' cross-correlation table, computed once by FFT
(:mod:`dictlearn.kernels.conv_mp`). A signal stops after ``n_nonzero_coefs`` picks or when
its residual energy is at most ``tol·‖x‖²``. The codes are returned on the caller's atoms
(``z_k = γ_k/‖d_k‖``), in the layout of :func:`dictlearn.signal.csc_encode`.
"""

from __future__ import annotations

from typing import Any

from .._loop import Result, Status
from .._scale import scale_invariant
from .._validation import check_choice, check_nonneg_scalar, check_positive_int
from ..kernels import ENGINES, call
from ..kernels.conv_mp import cross_correlation_table
from ._conv import ConvOperator
from .coding import check_csc_inputs, finish_codes, register_csc_method

__all__ = ["csc_mp", "csc_omp"]


def _greedy(X: Any, atoms: Any, owner: str, n_nonzero_coefs: Any, tol: Any, positive: bool,
            orthogonal: bool, engine: str) -> Result:
    if n_nonzero_coefs is None and tol is None:
        raise ValueError(f"{owner} needs n_nonzero_coefs (picks per signal) or tol (a "
                         "residual energy target relative to ‖x‖²); got neither")
    xp, X, D, lead, op, *_ = check_csc_inputs(X, atoms, owner)
    check_choice(engine, "engine", set(ENGINES))
    cap = op.n_atoms * op.n_times_valid
    k = cap if n_nonzero_coefs is None else min(
        check_positive_int(n_nonzero_coefs, "n_nonzero_coefs"), cap)
    rel = -1.0 if tol is None else check_nonneg_scalar(tol, "tol")
    norms = xp.sqrt(xp.sum(xp.reshape(D * D, (D.shape[0], -1)), axis=1))
    Dn = D / norms[:, None, None]
    opn = ConvOperator.build(Dn, op.n_times, xp=xp)
    C = opn.adjoint(X)
    G = cross_correlation_table(Dn, xp=xp)
    xx = xp.sum(xp.reshape(X * X, (X.shape[0], -1)), axis=1)
    Z, used, rr, _ = call("conv_mp", engine, xp, C, G, xx, rel * xx, n_nonzero_coefs=k,
                          positive=bool(positive), orthogonal=orthogonal)
    Z = Z / norms[None, :, None]
    n = X.shape[0]
    conv = xp.ones((n,), dtype=xp.bool, device=getattr(X, "device", None))
    n_iter = int(xp.max(used)) if n else 0
    tiny = float(xp.finfo(X.dtype).smallest_normal)
    result = Result(xp.reshape(Z, (n, -1)), Status.converged, n_iter, used, conv,
                    rr / xp.maximum(xx, tiny))
    return finish_codes(result, lead, op)


@register_csc_method("mp", penalty="l0", greedy=True, backends=("array-api", "numba"))
@scale_invariant({})  # dictlearn/_scale.py (tol is relative)
def csc_mp(X: Any, atoms: Any, *, n_nonzero_coefs: int | None = None, tol: float | None = None,
           positive: bool = False, engine: str = "auto") -> Result:
    r"""Convolutional matching pursuit: greedy picks of (atom, shift), MPTK style.

    Each step picks the atom and shift of largest correlation with the residual (normalised
    atoms, summed over channels), adds that correlation to its coefficient and removes the
    atom from the residual; only correlations within ``atom_length − 1`` shifts change.
    A pair may be picked more than once.

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    n_nonzero_coefs : int >= 1, optional
        Picks per signal (so at most that many nonzeros).
    tol : float >= 0, optional
        Stop when the residual energy is at most ``tol·‖x‖²``. At least one of
        ``n_nonzero_coefs`` and ``tol`` is required.
    positive : bool, default=False
        Pick only positive correlations (non-negative codes).
    engine : {"auto", "reference", "numba"}, default="auto"

    Returns
    -------
    Result
        ``codes`` of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)``,
        ``n_iter_per_sample`` the picks, ``criterion`` the relative residual energy.

    References
    ----------
    Mallat & Zhang (1993), IEEE Trans. Signal Process. 41(12); Krstulović & Gribonval (2006),
    "MPTK: matching pursuit made tractable", ICASSP.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(20); x[5:8] = [1.0, 2.0, 1.0]
    >>> z = csc_mp(x, np.array([[1.0, 2.0, 1.0]]), n_nonzero_coefs=1).codes
    >>> int(np.argmax(z[0])), float(np.round(z[0, 5], 12))
    (5, 1.0)
    """
    return _greedy(X, atoms, "csc_mp", n_nonzero_coefs, tol, positive, False, engine)


@register_csc_method("omp", penalty="l0", greedy=True, backends=("array-api", "numba"))
@scale_invariant({})  # dictlearn/_scale.py (tol is relative)
def csc_omp(X: Any, atoms: Any, *, n_nonzero_coefs: int | None = None,
            tol: float | None = None, positive: bool = False, engine: str = "auto") -> Result:
    r"""Convolutional orthogonal matching pursuit: MP's picks, least-squares refits.

    The pick is :func:`csc_mp`'s; then every coefficient on the support is refit,
    :math:`\gamma = G_{SS}^{-1} b_S` with :math:`G_{SS}` the Gram matrix of the picked
    shifted atoms (from the cross-correlation table, its Cholesky factor grown by one row per
    pick) and :math:`b_S` their correlations with the signal, so the residual is orthogonal
    to every picked shifted atom. With ``positive``, Lawson–Hanson steps keep the fit
    non-negative. A shift numerically dependent on the support is skipped.

    Parameters
    ----------
    X, atoms, n_nonzero_coefs, tol, positive, engine
        As :func:`csc_mp` (``n_nonzero_coefs`` bounds the support size).

    Returns
    -------
    Result
        As :func:`csc_mp`'s.

    References
    ----------
    Pati, Rezaiifar & Krishnaprasad (1993), Asilomar; Krstulović & Gribonval (2006), ICASSP.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[1.0, 2.0, 1.0]])
    >>> x = np.zeros(20); x[2:5] += d[0]; x[4:7] -= 0.5 * d[0]  # two overlapping events
    >>> res = csc_omp(x, d, n_nonzero_coefs=2)
    >>> np.round(res.codes[0, :6], 12) + 0.0, float(np.round(res.criterion[0], 12))
    (array([ 0. ,  0. ,  1. ,  0. , -0.5,  0. ]), 0.0)
    """
    return _greedy(X, atoms, "csc_omp", n_nonzero_coefs, tol, positive, True, engine)
