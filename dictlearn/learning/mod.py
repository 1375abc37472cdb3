r"""MOD, the method of optimal directions (Engan, Aase & Husøy 1999).

The dictionary step is the least-squares fit of the dictionary to the current codes,

.. math:: D = \arg\min_D \|X - Z D\|_F^2 = (Z^\top Z)^{-1} Z^\top X ,

followed by the projection of the atoms on their constraint set. On the sphere the codes are
rescaled by the atom norms so that ``Z D`` — and the l0 objective — is unchanged by the
normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._loop import Info, Result
from .._validation import check_choice, check_nonneg_scalar
from ._driver import Updater, learn
from ._registry import register_learner
from .atoms import CONSTRAINTS, project_atoms

__all__ = ["MODUpdate", "mod", "mod_solve", "mod_update"]


def mod_update(D: Any, X: Any, Z: Any, *, constraint: str = "sphere", positive: bool = False,
               ridge: float = 1e-10, xp: ModuleType) -> tuple[Any, Any]:
    """One MOD dictionary step: least squares, then projection on the constraint set.

    Parameters
    ----------
    D : array of shape (n_atoms, n_features)
        The current dictionary (kept for atoms no code uses).
    X : array of shape (n_samples, n_features)
    Z : array of shape (n_samples, n_atoms)
    constraint : {"sphere", "ball"}
    positive : bool
        Clip negative entries of the least-squares solution (projected MOD).
    ridge : float
        Tikhonov term ``ridge · tr(ZᵀZ)/n_atoms`` added to ``ZᵀZ`` for stability.

    Returns
    -------
    (D, Z)
        The new dictionary and the codes rescaled so that ``Z D`` is unchanged by the
        normalisation (sphere, no clipping).

    Examples
    --------
    >>> import numpy as np
    >>> D0 = np.array([[1.0, 0.0], [0.0, 1.0]]); Z = np.array([[2.0, 0.0], [0.0, 3.0]])
    >>> X = Z @ np.array([[0.6, 0.8], [0.8, -0.6]])
    >>> np.round(mod_update(D0, X, Z, xp=np)[0], 6)
    array([[ 0.6,  0.8],
           [ 0.8, -0.6]])
    """
    used = xp.sum(xp.abs(Z), axis=0) > 0
    ZtZ = xp.matrix_transpose(Z) @ Z
    D_new, ratio = mod_solve(D, ZtZ, xp.matrix_transpose(Z) @ X, used, constraint=constraint,
                             positive=positive, ridge=ridge, xp=xp)
    return D_new, (Z if ratio is None else Z * ratio[None, :])


def mod_solve(D: Any, ZtZ: Any, ZtX: Any, used: Any, *, constraint: str = "sphere",
              positive: bool = False, ridge: float = 1e-10,
              xp: ModuleType) -> tuple[Any, Any]:
    """MOD's step from its sufficient statistics ``ZᵀZ``, ``ZᵀX`` and the used atoms (sums
    over the signals: :mod:`dictlearn.distributed` reduces them across workers).

    Returns the new dictionary and the per-atom factor ``ratio`` by which the codes are
    multiplied so that ``Z D`` is unchanged by the normalisation (None with ``positive``).
    """
    k = D.shape[0]
    scale = float(xp.sum(xp.linalg.diagonal(ZtZ))) / k
    eye = xp.eye(k, dtype=D.dtype, device=getattr(D, "device", None))
    # unused atoms: their row of ZᵀZ is zero; pin them to the old atom via the ridge term
    reg = ridge * max(scale, float(xp.finfo(D.dtype).smallest_normal))
    unused_pin = xp.astype(~used, D.dtype)
    A = ZtZ + reg * eye + eye * unused_pin[None, :]
    rhs = ZtX + unused_pin[:, None] * D
    D_ls = xp.linalg.solve(A, rhs)
    D_new = project_atoms(D_ls, constraint=constraint, positive=positive, xp=xp)
    if positive:
        return D_new, None
    n_old = xp.linalg.vector_norm(D_ls, axis=1)
    n_new = xp.linalg.vector_norm(D_new, axis=1)
    tiny = float(xp.finfo(D.dtype).smallest_normal)
    return D_new, xp.where(n_new > tiny, n_old / xp.where(n_new > tiny, n_new, 1.0), 1.0)


@register_learner("mod", coding_method="omp", max_iter=50, alpha=1.0, constraint="sphere",
                  build=lambda p: MODUpdate(p.constraint, p.positive_dict))
class MODUpdate(Updater):
    """MOD's dictionary step as an :class:`~dictlearn.learning._driver.Updater`."""

    name = "MOD"

    def __init__(self, constraint: str = "sphere", positive: bool = False,
                 ridge: float = 1e-10) -> None:
        self.constraint = check_choice(constraint, "constraint", set(CONSTRAINTS))
        self.positive = bool(positive)
        self.ridge = check_nonneg_scalar(ridge, "ridge")

    def update(self, D, X, Z, aux, *, xp):
        D, Z = mod_update(D, X, Z, constraint=self.constraint, positive=self.positive,
                          ridge=self.ridge, xp=xp)
        return D, Z, aux, None


def mod(X: Any, n_atoms: int, *, coding_method: str | None = "omp",
        n_nonzero_coefs: int | None = None, alpha: float | None = None, positive_code: bool = False,
        positive_dict: bool = False, constraint: str = "sphere",
        coding_options: dict[str, Any] | None = None, init: Any = "data", max_iter: int = 50,
        tol: float = 1e-6, random_state: Any = None, callback: Callable[[Info], Any] | None = None,
        verbose: bool = False, dead_atoms: str = "resample") -> Result:
    """Learn a dictionary with MOD: sparse coding alternated with a least-squares fit.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_atoms : int
    coding_method : str, default="omp"
        Any :func:`dictlearn.sparse_encode` method; greedy methods need ``n_nonzero_coefs``,
        penalised ones ``alpha``.
    n_nonzero_coefs, alpha : see ``coding_method``
    positive_code, positive_dict : bool
        Non-negative codes / atoms.
    constraint : {"sphere", "ball"}
    coding_options : dict, optional
        Extra options of the coding method.
    init : {"data", "random"} or array, default="data"
    max_iter : int, default=50
    tol : float, default=1e-6
        Stop when the objective changes by less than ``tol`` relative.
    random_state, callback, verbose, dead_atoms
        See :func:`~dictlearn.learning.fit_dictionary`.

    Returns
    -------
    Result

    Notes
    -----
    Alternates :math:`Z \\leftarrow \\text{code}(X, D)` and
    :math:`D \\leftarrow (Z^\\top Z)^{-1} Z^\\top X` (rows are signals and atoms), then
    normalises the atoms. For fixed codes the dictionary step is the exact minimiser of
    :math:`\\|X - ZD\\|_F^2`.

    References
    ----------
    K. Engan, S. O. Aase, J. H. Husøy, "Method of optimal directions for frame design",
    ICASSP 1999.

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(300, 8, 12, 2, random_state=0)
    >>> res = mod(p.X, 12, coding_method="fista", alpha=0.01, max_iter=5, random_state=0)
    >>> res.dictionary.shape, res.n_iter
    ((12, 8), 5)
    """
    return learn(X, n_atoms, MODUpdate(constraint, positive_dict), default_coding="omp",
                 coding_method=coding_method, alpha=alpha, n_nonzero_coefs=n_nonzero_coefs,
                 positive_code=positive_code, coding_options=coding_options, init=init,
                 max_iter=max_iter, tol=tol, random_state=random_state, callback=callback,
                 verbose=verbose, dead_atoms=dead_atoms)
