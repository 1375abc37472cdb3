r"""Online dictionary learning (Mairal, Bach, Ponce & Sapiro 2009, 2010).

Each mini-batch ``X_t`` (η signals) is coded on the current dictionary, then the sufficient
statistics of the surrogate objective are updated (rows-as-atoms form),

.. math:: A_t = \beta_t A_{t-1} + Z_t^\top Z_t, \qquad B_t = \beta_t B_{t-1} + Z_t^\top X_t ,

and the dictionary is updated by one pass of block-coordinate descent on the surrogate
:math:`\tfrac12 \operatorname{tr}(D^\top A D) - \operatorname{tr}(D^\top B)` with warm start
from the previous dictionary (Algorithm 2):

.. math:: u_j = d_j + \frac{b_j - a_j D}{A_{jj}}, \qquad d_j = \Pi(u_j),

with :math:`\Pi` the projection on the atom set (unit ball by default; sphere and non-negative
variants are offered). The forgetting weight :math:`\beta_t` follows section 3.4 of the 2010
paper: by default the mini-batch rule
:math:`\beta_t = (\theta + 1 - \eta)/(\theta + 1)` with :math:`\theta = t\eta` for
:math:`t < \eta` and :math:`\eta^2 + t - \eta` afterwards (the rule scikit-learn uses); with
``forget_factor=ρ``, :math:`\beta_t = (1 - 1/t)^\rho` (ρ = 0 gives equal weights to all
batches, i.e. no rescaling of the past; larger ρ forgets faster).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from .. import kernels
from .._loop import Info, Result
from .._validation import check_choice, check_nonneg_scalar, check_positive_int
from ..kernels import ENGINES
from ._driver import LearningState, Updater, learn
from ._registry import register_learner
from .atoms import CONSTRAINTS

__all__ = ["OnlineStatistics", "OnlineUpdate", "bcd_update", "forgetting_weight",
           "online_dictionary_learning"]


def forgetting_weight(t: int, batch_size: int, forget_factor: float | None) -> float:
    """The weight ``β_t`` of the past statistics at mini-batch ``t`` (1-based).

    Examples
    --------
    >>> forgetting_weight(2, 1, 1.0), forgetting_weight(3, 1, 0.0)
    (0.5, 1.0)
    """
    if forget_factor is None:
        eta = batch_size
        theta = t * eta if t < eta else eta * eta + t - eta
        return (theta + 1.0 - eta) / (theta + 1.0)
    if t <= 1:
        return 0.0
    return (1.0 - 1.0 / t) ** forget_factor


def bcd_update(D: Any, A: Any, B: Any, *, constraint: str = "ball", positive: bool = False,
               n_passes: int = 1, engine: str = "auto", xp: ModuleType) -> Any:
    """Block-coordinate descent on the surrogate ``½ tr(D'AD) − tr(D'B)`` (Algorithm 2).

    Parameters
    ----------
    D : array of shape (n_atoms, n_features)
        Warm start (not modified).
    A : array of shape (n_atoms, n_atoms)
        ``Σ z zᵀ`` (weighted).
    B : array of shape (n_atoms, n_features)
        ``Σ zᵀ x`` (weighted).
    constraint : {"ball", "sphere"}
    positive : bool
    n_passes : int
        Sweeps over the atoms (Mairal et al. use one with warm start).
    engine : {"auto", "reference", "numba"}
        ``"auto"`` uses the numba kernel for NumPy arrays when numba is available.

    Returns
    -------
    array of shape (n_atoms, n_features)
        Atoms with ``A_jj ≈ 0`` (unused) are left unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([2.0, 1.0]); B = np.array([[1.0, 0.0], [0.0, 0.5]])
    >>> bcd_update(np.eye(2), A, B, xp=np, engine="reference")
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    check_choice(engine, "engine", set(ENGINES))
    return kernels.call("online_bcd", engine, xp, D, A, B, constraint=constraint,
                        positive=bool(positive), n_passes=int(n_passes))


@dataclass(frozen=True)
class OnlineStatistics:
    """The online learner's state: the weighted statistics of the surrogate and the step.

    Attributes
    ----------
    A : array of shape (n_atoms, n_atoms)
        ``Σ β z zᵀ``.
    B : array of shape (n_atoms, n_features)
        ``Σ β zᵀ x``.
    t : int
        Mini-batches seen.
    """

    A: Any
    B: Any
    t: int = 0


@register_learner("online", coding_method="lasso", max_iter=1000, alpha=1.0, constraint="ball",
                  build=lambda p: OnlineUpdate(constraint=p.constraint,
                                               positive_dict=p.positive_dict,
                                               forget_factor=p.forget_factor))
class OnlineUpdate(Updater):
    """The online learner's dictionary step: statistics update + BCD."""

    name = "online"
    minibatch = True

    def __init__(self, *, constraint: str = "ball", positive_dict: bool = False,
                 forget_factor: float | None = None, n_passes: int = 1,
                 engine: str = "auto") -> None:
        self.constraint = check_choice(constraint, "constraint", set(CONSTRAINTS))
        self.positive = bool(positive_dict)
        self.forget_factor = None if forget_factor is None else check_nonneg_scalar(
            forget_factor, "forget_factor")
        self.n_passes = check_positive_int(n_passes, "n_passes")
        self.engine = engine

    def init_state(self, D, *, xp) -> OnlineStatistics:
        k, m = D.shape
        dev = getattr(D, "device", None)
        return OnlineStatistics(xp.zeros((k, k), dtype=D.dtype, device=dev),
                                xp.zeros((k, m), dtype=D.dtype, device=dev))

    def update(self, D, X, Z, aux: OnlineStatistics, *, xp):
        t = aux.t + 1
        beta = forgetting_weight(t, int(X.shape[0]), self.forget_factor)
        A, B = kernels.call("code_statistics",
                            "reference" if self.engine == "reference" else "auto", xp,
                            aux.A, aux.B, Z, X, beta=beta)
        D = bcd_update(D, A, B, constraint=self.constraint, positive=self.positive,
                       n_passes=self.n_passes, engine=self.engine, xp=xp)
        return D, Z, OnlineStatistics(A, B, t), xp.linalg.diagonal(A)

    def on_resample(self, aux: OnlineStatistics, dead, *, xp) -> OnlineStatistics:
        keep = xp.astype(~dead, aux.A.dtype)
        return replace(aux, A=aux.A * keep[:, None] * keep[None, :], B=aux.B * keep[:, None])


def online_dictionary_learning(X: Any, n_atoms: int, *, alpha: float | None = 1.0,
                               coding_method: str | None = "lasso",
                               n_nonzero_coefs: int | None = None, batch_size: int = 256,
                               max_iter: int = 1000, tol: float = 0.0,
                               forget_factor: float | None = None, n_passes: int = 1,
                               positive_code: bool = False, positive_dict: bool = False,
                               constraint: str = "ball",
                               coding_options: dict[str, Any] | None = None, init: Any = "data",
                               random_state: Any = None,
                               callback: Callable[[Info], Any] | None = None, verbose: bool = False,
                               dead_atoms: str = "resample", state: LearningState | None = None,
                               engine: str = "auto") -> Result:
    """Learn a dictionary online from mini-batches (Mairal et al. 2009/2010).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_atoms : int
    alpha : float, default=1.0
        l1 weight of ``½‖x − zD‖² + α‖z‖₁``.
    coding_method : str, default="lasso"
        ``"lasso"`` (the exact solver; ``"fista"`` when it is not installed) or any
        :func:`dictlearn.sparse_encode` method.
    n_nonzero_coefs : int, optional
        For greedy coding methods.
    batch_size : int, default=256
        η, signals per mini-batch.
    max_iter : int, default=1000
        Mini-batch steps.
    tol : float, default=0.0
        Stop when the mean objective of an epoch changes by less than ``tol`` relative
        (0: run ``max_iter`` steps).
    forget_factor : float, optional
        ρ in ``β_t = (1 − 1/t)^ρ``; None uses the mini-batch rule of section 3.4.
    n_passes : int, default=1
        BCD sweeps per mini-batch.
    positive_code, positive_dict : bool
    constraint : {"ball", "sphere"}, default="ball"
    coding_options, init, random_state, callback, verbose, dead_atoms
        See :func:`~dictlearn.learning.mod`.
    state : LearningState, optional
        Resume learning (``partial_fit``): the statistics ``A``, ``B`` and step count ``t``
        live in ``state.aux`` (an :class:`OnlineStatistics`).
    engine : {"auto", "reference", "numba"}
        Kernel of the BCD step.

    Returns
    -------
    Result
        ``state.aux`` (:class:`OnlineStatistics`) holds ``A``, ``B`` and ``t`` to resume.

    Notes
    -----
    The surrogate :math:`\\hat f_t(D) = \\frac1t\\sum_i \\tfrac12\\|x_i - z_i D\\|^2 +
    \\alpha\\|z_i\\|_1` with the codes frozen is a quadratic in ``D`` whose statistics are
    ``A`` and ``B``; BCD with warm start needs one pass per mini-batch (section 3.3).

    References
    ----------
    J. Mairal, F. Bach, J. Ponce, G. Sapiro, "Online dictionary learning for sparse coding",
    ICML 2009; "Online learning for matrix factorization and sparse coding", JMLR 11, 2010.

    Examples
    --------
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(400, 8, 12, 2, random_state=0)
    >>> res = online_dictionary_learning(p.X, 12, alpha=0.05, batch_size=50, max_iter=20,
    ...                                  random_state=0)
    >>> res.dictionary.shape, res.state.aux.t
    ((12, 8), 20)
    """
    upd = OnlineUpdate(constraint=constraint, positive_dict=positive_dict,
                       forget_factor=forget_factor, n_passes=n_passes, engine=engine)
    return learn(X, n_atoms, upd, default_coding="lasso", coding_method=coding_method,
                 alpha=alpha, n_nonzero_coefs=n_nonzero_coefs, positive_code=positive_code,
                 coding_options=coding_options, init=init, max_iter=max_iter, tol=tol,
                 batch_size=batch_size, random_state=random_state, callback=callback,
                 verbose=verbose, dead_atoms=dead_atoms, state=state)
