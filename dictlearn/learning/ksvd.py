r"""K-SVD (Aharon, Elad & Bruckstein 2006) and approximate K-SVD (Rubinstein, Zibulevsky &
Elad 2008).

The dictionary step sweeps the atoms once. For atom ``j`` with support
``ω = {i : z_ij ≠ 0}`` (the signals that use it) and the restricted error without it,

.. math:: E_\omega = X_\omega - Z_\omega D + z_{\omega j} d_j ,

the atom and its coefficients become the best rank-1 approximation of ``E_ω``:
``E_ω ≈ s u vᵀ`` gives ``d_j = vᵀ`` and ``z_{ωj} = s u`` (exact K-SVD, one SVD per atom).
The approximate K-SVD replaces the SVD by one step of the power method from the current
coefficients ``g = z_{ωj}``: ``d_j = gᵀE_ω / ‖gᵀE_ω‖`` and ``g = E_ω d_jᵀ``, computed without
forming ``E_ω``. Both keep the supports, never increase ``‖X − Z D‖_F`` and update the codes
with the atoms. With non-negative atoms or codes the rank-1 step alternates projected updates
of ``d`` and ``g`` (the NN-K-SVD of Aharon et al. 2005).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._loop import Info, Result
from .._validation import check_choice
from .._xp import is_numpy
from ._driver import Updater, learn
from ._registry import register_learner
from .atoms import CONSTRAINTS, project_atoms

__all__ = ["KSVDUpdate", "ksvd", "ksvd_update"]


def _set_column(Z: Any, j: int, idx: Any, vals: Any, mask: Any, xp: ModuleType) -> Any:
    """``Z`` with ``Z[idx, j] = vals`` (``idx`` = ascending positions of ``mask``); in place on
    NumPy (``Z`` is a private copy), functional elsewhere."""
    if is_numpy(xp):
        Z[idx, j] = vals
        return Z
    pos = xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1
    full = xp.where(mask, xp.take(vals, xp.clip(pos, 0, None), axis=0), 0.0)
    onehot = xp.arange(Z.shape[1], device=getattr(Z, "device", None)) == j
    return xp.where(onehot[None, :], full[:, None], Z)


def _rank1_nonneg(E: Any, d: Any, g: Any, *, pos_d: bool, pos_g: bool, n_iter: int,
                  xp: ModuleType) -> tuple[Any, Any]:
    """Projected alternating rank-1 fit ``E ≈ g d`` with ``‖d‖ = 1`` (NN-K-SVD)."""
    tiny = float(xp.finfo(E.dtype).smallest_normal)
    for _ in range(n_iter):
        d_new = g @ E
        if pos_d:
            d_new = xp.maximum(d_new, 0.0)
        nd = float(xp.linalg.vector_norm(d_new))
        if nd <= tiny:
            break
        d = d_new / nd
        g = E @ d
        if pos_g:
            g = xp.maximum(g, 0.0)
    return d, g


def ksvd_update(D: Any, X: Any, Z: Any, *, approximate: bool = False, positive_dict: bool = False,
                positive_code: bool = False, nonneg_iter: int = 10,
                xp: ModuleType) -> tuple[Any, Any]:
    """One K-SVD sweep over the atoms: returns the new dictionary and codes.

    Parameters
    ----------
    D : array of shape (n_atoms, n_features)
    X : array of shape (n_samples, n_features)
    Z : array of shape (n_samples, n_atoms)
        Codes from the coding step; their supports are kept.
    approximate : bool
        One power-method step instead of an SVD per atom (Rubinstein et al. 2008).
    positive_dict, positive_code : bool
        Non-negative atoms / codes (projected alternating rank-1 updates).
    nonneg_iter : int
        Alternations of the non-negative rank-1 fit.

    Returns
    -------
    (D, Z)
        Unit-norm atoms; unused atoms are returned unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> D0 = np.array([[1.0, 0.0], [0.0, 1.0]]); Z = np.array([[2.0, 0.0], [0.0, 3.0]])
    >>> X = np.array([[1.2, 1.6], [2.4, -1.8]])
    >>> D, Z1 = ksvd_update(D0, X, Z, xp=np)
    >>> bool(np.allclose(Z1 @ D, X))
    True
    """
    k = Z.shape[1]
    D = D + 0.0  # private copies: rows are replaced one atom at a time
    Z = Z + 0.0
    nonneg = positive_dict or positive_code
    tiny = float(xp.finfo(D.dtype).smallest_normal)
    for j in range(k):
        zj = Z[:, j]
        mask = zj != 0
        idx = xp.nonzero(mask)[0]
        if int(idx.shape[0]) == 0:
            continue
        Xw = xp.take(X, idx, axis=0)  # (p, m)
        Zw = xp.take(Z, idx, axis=0)  # (p, k)
        g = xp.take(zj, idx, axis=0)  # (p,)
        dj = D[j, :]
        if approximate and not nonneg:
            d = g @ Xw - (g @ Zw) @ D + float(g @ g) * dj
            nd = float(xp.linalg.vector_norm(d))
            if nd <= tiny:
                continue
            d = d / nd
            g = Xw @ d - Zw @ (D @ d) + g * float(dj @ d)
        else:
            E = Xw - Zw @ D + g[:, None] * dj[None, :]
            if approximate:
                d, g = dj, g
            else:
                U, S, Vh = xp.linalg.svd(E, full_matrices=False)
                d, g = Vh[0, :], S[0] * U[:, 0]
                if nonneg and float(xp.sum(d)) < 0:  # pick the sign with positive mass
                    d, g = -d, -g
            if nonneg:
                if positive_dict:
                    d = xp.maximum(d, 0.0)
                nd = float(xp.linalg.vector_norm(d))
                d = d / nd if nd > tiny else dj
                g = E @ d
                if positive_code:
                    g = xp.maximum(g, 0.0)
                d, g = _rank1_nonneg(E, d, g, pos_d=positive_dict, pos_g=positive_code,
                                     n_iter=nonneg_iter, xp=xp)
        D[j, :] = d
        Z = _set_column(Z, j, idx, g, mask, xp)
    return D, Z


@register_learner("ksvd", coding_method="omp", max_iter=50, alpha=1.0, constraint="sphere",
                  build=lambda p: KSVDUpdate(approximate=p.approximate, constraint=p.constraint,
                                             positive_dict=p.positive_dict,
                                             positive_code=p.positive_code))
class KSVDUpdate(Updater):
    """K-SVD's dictionary step (updates the codes too)."""

    name = "K-SVD"

    def __init__(self, *, approximate: bool = False, constraint: str = "sphere",
                 positive_dict: bool = False, positive_code: bool = False) -> None:
        self.approximate = bool(approximate)
        self.constraint = check_choice(constraint, "constraint", set(CONSTRAINTS))
        self.positive = bool(positive_dict)
        self.positive_code = bool(positive_code)
        if self.approximate:
            self.name = "approximate K-SVD"

    def update(self, D, X, Z, aux, *, xp):
        D, Z = ksvd_update(D, X, Z, approximate=self.approximate, positive_dict=self.positive,
                           positive_code=self.positive_code, xp=xp)
        D = project_atoms(D, constraint=self.constraint, positive=self.positive, xp=xp)
        return D, Z, aux, None


def ksvd(X: Any, n_atoms: int, *, n_nonzero_coefs: int | None = None,
         coding_method: str | None = "omp", alpha: float | None = None, approximate: bool = False,
         positive_code: bool = False, positive_dict: bool = False, constraint: str = "sphere",
         coding_options: dict[str, Any] | None = None, init: Any = "data", max_iter: int = 50,
         tol: float = 1e-6, random_state: Any = None, callback: Callable[[Info], Any] | None = None,
         verbose: bool = False, dead_atoms: str = "resample") -> Result:
    """Learn a dictionary with K-SVD: sparse coding alternated with rank-1 atom updates.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_atoms : int
    n_nonzero_coefs : int
        Sparsity of the codes (``"omp"`` coding).
    coding_method : str, default="omp"
        Any :func:`dictlearn.sparse_encode` method (penalised ones need ``alpha``).
    alpha : float, optional
    approximate : bool, default=False
        Approximate K-SVD (Rubinstein et al. 2008): one power-method step per atom.
    positive_code, positive_dict : bool
        Non-negative codes / atoms (NN-K-SVD rank-1 steps).
    constraint : {"sphere", "ball"}
        K-SVD atoms have unit norm; ``"ball"`` is accepted for symmetry with the other
        learners (the atoms still come out with unit norm).
    coding_options, init, max_iter, tol, random_state, callback, verbose, dead_atoms
        See :func:`~dictlearn.learning.mod`.

    Returns
    -------
    Result
        ``codes`` are those updated by the last sweep.

    Notes
    -----
    Objective :math:`\\min_{D, Z} \\|X - ZD\\|_F^2` s.t. :math:`\\|z_i\\|_0 \\le k`,
    :math:`\\|d_j\\| = 1`. Each atom update is the exact minimiser over
    :math:`(d_j, z_{\\omega j})` with the other atoms and the supports fixed, so the sweep never
    increases the error. Unused atoms are replaced by the worst-represented signals (section
    IV-E of the paper; see ``dead_atoms``).

    References
    ----------
    M. Aharon, M. Elad, A. Bruckstein, "K-SVD: An algorithm for designing overcomplete
    dictionaries for sparse representation", IEEE TSP 54(11), 2006.
    R. Rubinstein, M. Zibulevsky, M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08, 2008.

    Examples
    --------
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(300, 8, 12, 2, random_state=0)
    >>> res = ksvd(p.X, 12, coding_method="fista", alpha=0.01, max_iter=3, random_state=0)
    >>> res.dictionary.shape, res.codes.shape
    ((12, 8), (300, 12))
    """
    upd = KSVDUpdate(approximate=approximate, constraint=constraint,
                     positive_dict=positive_dict, positive_code=positive_code)
    return learn(X, n_atoms, upd, default_coding="omp", coding_method=coding_method,
                 alpha=alpha, n_nonzero_coefs=n_nonzero_coefs, positive_code=positive_code,
                 coding_options=coding_options, init=init, max_iter=max_iter, tol=tol,
                 random_state=random_state, callback=callback, verbose=verbose,
                 dead_atoms=dead_atoms)
