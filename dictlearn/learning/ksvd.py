r"""K-SVD (Aharon, Elad & Bruckstein 2006) and approximate K-SVD (Rubinstein, Zibulevsky &
Elad 2008).

The dictionary step sweeps the atoms once. For atom ``j`` with support
``ω = {i : z_ij ≠ 0}`` (the signals that use it) and the restricted error without it,

.. math:: E_\omega = X_\omega - Z_\omega D + z_{\omega j} d_j ,

the atom and its coefficients become the best rank-1 approximation of ``E_ω``:
``E_ω ≈ s u vᵀ`` gives ``d_j = vᵀ`` and ``z_{ωj} = s u = E_ω v`` (exact K-SVD; ``v`` is the
leading eigenvector of the Gram ``E_ωᵀE_ω``, its sign keeping the atom's orientation).
The approximate K-SVD replaces the SVD by one step of the power method from the current
coefficients ``g = z_{ωj}``: ``d_j = gᵀE_ω / ‖gᵀE_ω‖`` and ``g = E_ω d_jᵀ``, computed without
forming ``E_ω``. Every step reads ``E_ω`` only through ``E_ωᵀE_ω`` and ``E_ωᵀg`` (sums over
the signals) and ``g = E_ω d`` (row by row) (:class:`RestrictedResidual`), so the Dask fit
keeps the signals on the workers (:mod:`dictlearn.distributed`). Both keep the supports,
never increase ``‖X − Z D‖_F`` and update the codes with the atoms. With non-negative atoms
or codes the rank-1 step alternates projected updates of ``d`` and ``g`` (the NN-K-SVD of
Aharon et al. 2005).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._loop import Info, Result
from .._validation import check_choice
from .._xp import is_numpy
from ._driver import Updater, learn
from ._registry import register_learner
from .atoms import CONSTRAINTS, project_atoms

__all__ = ["DenseCodes", "KSVDUpdate", "RestrictedResidual", "ksvd", "ksvd_sweep",
           "ksvd_update", "rank1_update"]


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


class RestrictedResidual:
    r"""Atom ``j``'s restricted error :math:`E = X_\omega - Z_\omega D + g_0 d_j` on a set of
    rows, with the current values ``g`` of the atom's codes there (:math:`g = g_0` at first).

    The rank-1 step (:func:`rank1_update`) sees ``E`` only through :meth:`gram`,
    :meth:`rmatvec` (sums over the rows) and :meth:`set_column` (row by row), so signals split
    in chunks (``dictlearn.distributed``) add up the chunks' values and keep their codes.
    ``E`` is formed only by :meth:`gram`.
    """

    def __init__(self, Xw: Any, Zw: Any, D: Any, j: int, idx: Any, mask: Any,
                 xp: ModuleType) -> None:
        self.Xw, self.Zw, self.D, self.j, self.idx, self.mask, self.xp = Xw, Zw, D, j, idx, mask, xp
        self.g0 = self.g = Zw[:, j]

    @classmethod
    def of(cls, X: Any, Z: Any, D: Any, j: int, xp: ModuleType) -> RestrictedResidual | None:
        """The rows of ``X`` whose code uses atom ``j`` (None when none does)."""
        mask = Z[:, j] != 0
        idx = xp.nonzero(mask)[0]
        if int(idx.shape[0]) == 0:
            return None
        return cls(xp.take(X, idx, axis=0), xp.take(Z, idx, axis=0), D, j, idx, mask, xp)

    def __getstate__(self) -> dict[str, Any]:  # picklable (Dask workers): the module by name
        return {**self.__dict__, "xp": self.xp.__name__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, xp=importlib.import_module(state["xp"]))

    def gram(self) -> Any:
        """:math:`E^\top E` (n_features × n_features)."""
        dj = self.D[self.j, :]
        E = self.Xw - self.Zw @ self.D + self.g0[:, None] * dj[None, :]
        return E.T @ E

    def rmatvec(self) -> Any:
        """:math:`E^\top g` without forming ``E``."""
        g = self.g
        return g @ self.Xw - (g @ self.Zw) @ self.D + float(self.g0 @ g) * self.D[self.j, :]

    def set_column(self, d: Any, positive: bool) -> None:
        """``g = E d`` (clipped at 0 when ``positive``) without forming ``E``."""
        xp = self.xp
        g = self.Xw @ d - self.Zw @ (self.D @ d) + self.g0 * float(self.D[self.j, :] @ d)
        self.g = xp.maximum(g, 0.0) if positive else g


def _top_direction(G: Any, dj: Any, nonneg: bool, xp: ModuleType) -> Any:
    """The leading eigenvector of the Gram ``G = EᵀE`` (``E``'s first right singular vector),
    its sign chosen so that the atom keeps its orientation (``d·d_j ≥ 0``), or, for the
    non-negative fit, so that it has positive mass (``Σd ≥ 0``)."""
    _, V = xp.linalg.eigh(G)
    d = V[:, -1]
    if float(xp.sum(d) if nonneg else d @ dj) < 0:
        d = -d
    return d


def rank1_update(res: Any, dj: Any, *, approximate: bool = False, positive_dict: bool = False,
                 positive_code: bool = False, nonneg_iter: int = 10,
                 xp: ModuleType) -> Any | None:
    r"""Atom ``j``'s K-SVD step on its restricted error ``res``: the new atom ``d`` (unit norm),
    with ``res``'s column set to the new codes; None when the atom is to be left unchanged.

    ``res`` is a :class:`RestrictedResidual` or anything with its :meth:`gram`,
    :meth:`rmatvec` and :meth:`set_column` (the Dask sweep's sum over chunks). Exact K-SVD:
    ``d`` is the leading right singular vector of ``E`` (from :math:`E^\top E`) and
    :math:`g = E d` (:math:`= s_1 u_1`); approximate: :math:`d = E^\top g/\|E^\top g\|`,
    :math:`g = E d`; non-negative: alternating projected updates from that start.
    """
    nonneg = positive_dict or positive_code
    tiny = float(xp.finfo(dj.dtype).smallest_normal)
    if approximate and not nonneg:
        d = res.rmatvec()
        nd = float(xp.linalg.vector_norm(d))
        if nd <= tiny:
            return None
        d = d / nd
        res.set_column(d, False)
        return d
    d = dj if approximate else _top_direction(res.gram(), dj, nonneg, xp)
    if not nonneg:
        res.set_column(d, False)
        return d
    if positive_dict:
        d = xp.maximum(d, 0.0)
    nd = float(xp.linalg.vector_norm(d))
    d = d / nd if nd > tiny else dj
    res.set_column(d, positive_code)
    for _ in range(nonneg_iter):  # projected alternating rank-1 fit E ≈ g d (NN-K-SVD)
        d_new = res.rmatvec()
        if positive_dict:
            d_new = xp.maximum(d_new, 0.0)
        nd = float(xp.linalg.vector_norm(d_new))
        if nd <= tiny:
            break
        d = d_new / nd
        res.set_column(d, positive_code)
    return d


class DenseCodes:
    """The codes of a K-SVD sweep held in one array: ``atom(j, D)`` gives atom ``j``'s
    :class:`RestrictedResidual`, ``commit`` writes its column back (see :func:`ksvd_sweep`)."""

    def __init__(self, X: Any, Z: Any, xp: ModuleType) -> None:
        self.X, self.Z, self.xp = X, Z + 0.0, xp  # a private copy, updated column by column

    def atom(self, j: int, D: Any) -> RestrictedResidual | None:
        return RestrictedResidual.of(self.X, self.Z, D, j, self.xp)

    def commit(self, res: RestrictedResidual, d: Any) -> None:
        """Atom ``res.j``'s codes become ``res.g`` (its atom becomes ``d``: the sweep's own
        ``D`` holds it)."""
        self.Z = _set_column(self.Z, res.j, res.idx, res.g, res.mask, self.xp)


def ksvd_sweep(D: Any, codes: Any, *, approximate: bool = False, positive_dict: bool = False,
               positive_code: bool = False, nonneg_iter: int = 10, xp: ModuleType) -> Any:
    """One K-SVD sweep over the atoms of ``D`` on ``codes`` (a :class:`DenseCodes`, or the
    chunked codes of :mod:`dictlearn.distributed`, updated in place); returns the new
    dictionary. Atom ``j`` sees the atoms and codes already updated in this sweep."""
    D = D + 0.0  # a private copy: rows are replaced one atom at a time
    for j in range(D.shape[0]):
        res = codes.atom(j, D)
        if res is None:
            continue
        d = rank1_update(res, D[j, :], approximate=approximate, positive_dict=positive_dict,
                         positive_code=positive_code, nonneg_iter=nonneg_iter, xp=xp)
        if d is None:
            continue
        codes.commit(res, d)
        D[j, :] = d
    return D


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
    codes = DenseCodes(X, Z, xp)
    D = ksvd_sweep(D, codes, approximate=approximate, positive_dict=positive_dict,
                   positive_code=positive_code, nonneg_iter=nonneg_iter, xp=xp)
    return D, codes.Z


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
        codes = DenseCodes(X, Z, xp)
        return self.sweep(D, codes, xp=xp), codes.Z, aux, None

    def sweep(self, D: Any, codes: Any, *, xp: ModuleType) -> Any:
        """The dictionary after one sweep on ``codes`` (updated in place), projected on the
        atom set: the one dictionary step of the in-memory and the Dask fits."""
        D = ksvd_sweep(D, codes, approximate=self.approximate, positive_dict=self.positive,
                       positive_code=self.positive_code, xp=xp)
        return project_atoms(D, constraint=self.constraint, positive=self.positive, xp=xp)


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
