r"""Orthogonal Matching Pursuit (batch OMP in the Gram domain).

For each sample ``x`` OMP builds a support greedily: it adds the atom most correlated with the
residual, refits the codes on the support by least squares, and repeats until
``n_nonzero_coefs`` atoms are in or the squared residual falls to ``tol``.
"""

from __future__ import annotations

from typing import Any

from .._loop import Result, Status
from .._scale import Scale
from .._validation import (
    check_choice,
    check_nonneg_scalar,
    check_positive_int,
    check_signals_dictionary,
)
from .._xp import eps
from ..kernels import ENGINES, call
from ._registry import register_method

__all__ = ["omp"]


def _omp_sizes(n_nonzero_coefs: Any, tol: Any, max_iter: Any, n_atoms: int, n_features: int):
    if tol is not None:
        tol = check_nonneg_scalar(tol, "tol")
    cap = min(n_atoms, n_features)
    if n_nonzero_coefs is None:
        K = cap if tol is not None else max(1, n_features // 10)
    else:
        K = check_positive_int(n_nonzero_coefs, "n_nonzero_coefs", upper=n_atoms,
                               upper_name="n_atoms")
    if max_iter is not None:
        K = min(K, check_positive_int(max_iter, "max_iter"))
    return K, tol


@register_method("omp", penalty="l0", greedy=True, backends=("array-api", "numba"))
def omp(X: Any, dictionary: Any, *, n_nonzero_coefs: int | None = None, tol: float | None = None,
        positive: bool = False, max_iter: int | None = None, engine: str = "auto",
        cond_tol: float | None = None) -> Result:
    r"""Orthogonal Matching Pursuit for every row of ``X``, in the Gram domain.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Signals, one per row.
    dictionary : array of shape (n_atoms, n_features)
        Atoms, one per row. Unit norm is not required (correlations are not normalised, as in
        scikit-learn's ``orthogonal_mp_gram``).
    n_nonzero_coefs : int, optional
        Most atoms per sample, in ``[1, n_atoms]``. Default: ``max(1, n_features // 10)``
        when ``tol`` is None, else ``min(n_atoms, n_features)``.
    tol : float >= 0, optional
        Stop a sample once its squared residual ``‖x − zD‖²`` is ``<= tol`` (scikit-learn's
        meaning). Both limits apply when both are given.
    positive : bool, default=False
        Non-negative OMP: select by the largest positive correlation and keep the fit on the
        support non-negative (Lawson–Hanson steps; an atom that leaves is not selected again).
    max_iter : int, optional
        Extra cap on the number of atoms (one OMP iteration adds one atom).
    engine : {"auto", "reference", "numba"}, default="auto"
        ``"auto"`` runs the numba kernel for NumPy inputs when numba is available and
        ``DICTLEARN_DISABLE_NUMBA`` is unset, and the Array-API reference otherwise.
    cond_tol : float, optional
        An atom whose Cholesky pivot ``G_jj − wᵀw`` is at most ``cond_tol · G_jj`` is in the
        span of the support to working precision and is skipped. Default ``√eps`` of the dtype.

    Returns
    -------
    Result
        ``codes`` (n_samples, n_atoms) in the caller's array library and dtype; ``status`` is
        ``converged``; ``n_iter_per_sample`` holds the atoms used per sample and ``criterion``
        the squared residual norms.

    Notes
    -----
    With ``b = x Dᵀ`` and ``G = D Dᵀ`` computed once (two BLAS products), each step of
    batch OMP (Rubinstein, Zibulevsky & Elad 2008) is

    .. math::

        j = \arg\max_{i \notin S} |b_i - (\gamma G_{S,:})_i|,\quad
        L_{\text{new}} = \begin{bmatrix} L & 0 \\ w^\top & \sqrt{G_{jj} - w^\top w}\end{bmatrix},
        \ L w = G_{S,j},\quad \gamma = G_{SS}^{-1} b_S ,

    and ``‖r‖² = ‖x‖² − γ·b_S``; the residual itself is never formed. An atom already in the
    support has zero correlation and is masked anyway, so no atom is selected twice. OMP
    recovers every k-sparse ``x = zD`` exactly when ``k < (1 + 1/μ(D))/2`` (Tropp 2004).

    References
    ----------
    Pati, Rezaiifar & Krishnaprasad (1993), "Orthogonal matching pursuit", Asilomar.
    Tropp (2004), "Greed is good", IEEE Trans. Inf. Theory 50(10).
    Rubinstein, Zibulevsky & Elad (2008), "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08.
    Bruckstein, Elad & Zibulevsky (2008), "On the uniqueness of nonnegative sparse solutions
    to underdetermined systems of equations", IEEE Trans. Inf. Theory 54(11).

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> X = np.array([[1.2, 1.6]])
    >>> res = dictlearn.omp(X, D, n_nonzero_coefs=1)
    >>> np.round(res.codes, 6)
    array([[0., 0., 2.]])
    """
    xp, X, D = check_signals_dictionary(X, dictionary, owner="omp")
    n, m = X.shape
    k = D.shape[0]
    K, tol = _omp_sizes(n_nonzero_coefs, tol, max_iter, k, m)
    check_choice(engine, "engine", set(ENGINES))
    positive = bool(positive)
    cond = eps(xp, X.dtype) ** 0.5 if cond_tol is None else check_nonneg_scalar(
        cond_tol, "cond_tol")
    sc = Scale.of(X, xp)  # solve on X / s (dictlearn/_scale.py); tol bounds ‖r‖²: s² units
    X, tol = sc.down(X), sc.down(tol, 2)
    Z, used, rr = call("omp_gram", engine, xp, X, D, n_nonzero_coefs=K,
                       tol=-1.0 if tol is None else tol, positive=positive, cond_tol=cond)
    conv = xp.ones((n,), dtype=xp.bool, device=getattr(X, "device", None))
    n_iter = int(xp.max(used)) if n else 0
    return sc.result(Result(Z, Status.converged, n_iter, used, conv, rr), owner="omp",
                     criterion_power=2)
