r"""Online dictionary learning (Mairal, Bach, Ponce & Sapiro 2009, 2010).

Each mini-batch ``X_t`` (η signals) is coded on the current dictionary, then the sufficient
statistics of the surrogate objective are updated (rows-as-atoms form),

.. math:: A_t = \beta_t A_{t-1} + Z_t^\top Z_t, \qquad B_t = \beta_t B_{t-1} + Z_t^\top X_t ,

and the dictionary is updated by one pass of block-coordinate descent on the surrogate
:math:`\tfrac12 \operatorname{tr}(D^\top A D) - \operatorname{tr}(D^\top B)` with warm start
from the previous dictionary (Algorithm 2):

.. math:: u_j = d_j + \frac{b_j - a_j D}{A_{jj}}, \qquad d_j = \Pi(u_j),

with :math:`\Pi` the projection on the atom set (unit ball by default; sphere and non-negative
variants are offered).

Forgetting. By default :math:`\beta_t = (1 - 1/t)^\rho` with ρ = 5 (``forget_factor``; section
3.4 of the 2010 paper; ρ = 0 gives equal weights to all batches, larger ρ forgets faster), and,
as SPAMS' ``trainDL`` does, the statistics of the signals seen more than one pass over the data
(epoch) before the current one are dropped (``epoch_window=True``): the statistics are kept as
two parts, those of the previous epoch and those of the current one, and when an epoch ends the
older part is subtracted and the current part becomes the previous one. The codes of a signal
seen two epochs ago were computed with a poorer dictionary, and the signal has been coded again
since. ``forget_factor="minibatch"`` with ``epoch_window=False`` is the paper's mini-batch rule
:math:`\beta_t = (\theta + 1 - \eta)/(\theta + 1)` with :math:`\theta = t\eta` for
:math:`t < \eta` and :math:`\eta^2 + t - \eta` afterwards (the rule scikit-learn uses; the
default before, slower: docs/learning.md, "Benchmark").
"""

from __future__ import annotations

import copy
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

__all__ = ["DEFAULT_FORGET_FACTOR", "OnlineStatistics", "OnlineUpdate", "bcd_update",
           "check_forget_factor", "forgetting_weight", "online_dictionary_learning"]

#: The default ρ of ``β_t = (1 − 1/t)^ρ`` (the best measured on image patches and planted
#: dictionaries, docs/learning.md).
DEFAULT_FORGET_FACTOR = 5.0


def check_forget_factor(forget_factor: Any) -> float | str:
    """``forget_factor`` checked: a float ρ ≥ 0 or ``"minibatch"`` (None: the default ρ)."""
    if forget_factor is None:
        return DEFAULT_FORGET_FACTOR
    if isinstance(forget_factor, str):
        if forget_factor != "minibatch":
            raise ValueError("forget_factor must be a float >= 0 or 'minibatch'; "
                             f"got {forget_factor!r}")
        return forget_factor
    return check_nonneg_scalar(forget_factor, "forget_factor")


def forgetting_weight(t: int, batch_size: int, forget_factor: float | str | None) -> float:
    """The weight ``β_t`` of the past statistics at mini-batch ``t`` (1-based).

    ``forget_factor``: ρ of ``(1 − 1/t)^ρ``, or ``"minibatch"`` (also None) for the mini-batch
    rule of Mairal et al. (2010), section 3.4.

    Examples
    --------
    >>> forgetting_weight(2, 1, 1.0), forgetting_weight(3, 1, 0.0)
    (0.5, 1.0)
    >>> round(forgetting_weight(3, 2, "minibatch"), 4)
    0.6667
    """
    if forget_factor is None or forget_factor == "minibatch":
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
        ``Σ β z zᵀ``: all the statistics the dictionary step uses.
    B : array of shape (n_atoms, n_features)
        ``Σ β zᵀ x``.
    t : int
        Mini-batches seen.
    A_prev, B_prev : arrays like ``A`` and ``B``
        The part of ``A`` and ``B`` from the previous epoch (the epoch window; zeros before
        the first epoch ends and without a window).
    n_epoch : int
        Signals seen since the current epoch began.
    """

    A: Any
    B: Any
    t: int = 0
    A_prev: Any = None
    B_prev: Any = None
    n_epoch: int = 0

    def __post_init__(self) -> None:
        if self.A_prev is None:  # a record of the statistics alone: no previous epoch
            object.__setattr__(self, "A_prev", self.A * 0)
            object.__setattr__(self, "B_prev", self.B * 0)


@register_learner("online", coding_method="lasso", max_iter=1000, alpha=1.0, constraint="ball",
                  build=lambda p: OnlineUpdate(constraint=p.constraint,
                                               positive_dict=p.positive_dict,
                                               forget_factor=p.forget_factor))
class OnlineUpdate(Updater):
    """The online learner's dictionary step: statistics update + BCD.

    ``epoch_size`` (signals per epoch) is set by :meth:`for_data` when learning runs over a
    data set; without it (``partial_fit`` on a stream) no epoch window applies.
    """

    name = "online"
    minibatch = True

    def __init__(self, *, constraint: str = "ball", positive_dict: bool = False,
                 forget_factor: float | str | None = DEFAULT_FORGET_FACTOR,
                 epoch_window: bool = True, n_passes: int = 1, engine: str = "auto") -> None:
        self.constraint = check_choice(constraint, "constraint", set(CONSTRAINTS))
        self.positive = bool(positive_dict)
        self.forget_factor = check_forget_factor(forget_factor)
        if not isinstance(epoch_window, bool):
            raise TypeError(f"epoch_window must be a bool; got {type(epoch_window).__name__}")
        self.epoch_window = epoch_window
        self.epoch_size = 0
        self.n_passes = check_positive_int(n_passes, "n_passes")
        self.engine = engine

    def for_data(self, n_samples: int) -> OnlineUpdate:
        """This updater for a run over ``n_samples`` signals: the epoch window's length."""
        new = copy.copy(self)
        new.epoch_size = int(n_samples) if self.epoch_window else 0
        return new

    def init_state(self, D, *, xp) -> OnlineStatistics:
        k, m = D.shape
        dev = getattr(D, "device", None)
        A, B = (xp.zeros((k, k), dtype=D.dtype, device=dev),
                xp.zeros((k, m), dtype=D.dtype, device=dev))
        return OnlineStatistics(A, B, 0, A, B, 0)

    def update(self, D, X, Z, aux: OnlineStatistics, *, xp):
        t, n = aux.t + 1, int(X.shape[0])
        beta = forgetting_weight(t, n, self.forget_factor)
        A, B, A_prev, B_prev, n_epoch = aux.A, aux.B, aux.A_prev, aux.B_prev, aux.n_epoch
        if self.epoch_size and n_epoch >= self.epoch_size:  # an epoch ended: drop the older
            A, B = A - A_prev, B - B_prev
            A_prev, B_prev, n_epoch = A, B, 0
        A, B = kernels.call("code_statistics",
                            "reference" if self.engine == "reference" else "auto", xp,
                            A, B, Z, X, beta=beta)
        if self.epoch_size:
            A_prev, B_prev = beta * A_prev, beta * B_prev
        D = bcd_update(D, A, B, constraint=self.constraint, positive=self.positive,
                       n_passes=self.n_passes, engine=self.engine, xp=xp)
        return (D, Z, OnlineStatistics(A, B, t, A_prev, B_prev, n_epoch + n),
                xp.linalg.diagonal(A))

    def on_resample(self, aux: OnlineStatistics, dead, *, xp) -> OnlineStatistics:
        keep = xp.astype(~dead, aux.A.dtype)
        rows, both = keep[:, None], keep[:, None] * keep[None, :]
        return replace(aux, A=aux.A * both, B=aux.B * rows, A_prev=aux.A_prev * both,
                       B_prev=aux.B_prev * rows)


def online_dictionary_learning(X: Any, n_atoms: int, *, alpha: float | None = 1.0,
                               coding_method: str | None = "lasso",
                               n_nonzero_coefs: int | None = None, batch_size: int = 256,
                               max_iter: int = 1000, tol: float = 0.0,
                               forget_factor: float | str | None = DEFAULT_FORGET_FACTOR,
                               epoch_window: bool = True, n_passes: int = 1,
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
    forget_factor : float or "minibatch", default=5.0
        ρ in ``β_t = (1 − 1/t)^ρ`` (None: the default); ``"minibatch"``: the mini-batch rule
        of section 3.4 (with ``epoch_window=False``, the paper's rule exactly).
    epoch_window : bool, default=True
        Drop the statistics of the signals seen more than one epoch (pass over ``X``) before
        the current one, as SPAMS' ``trainDL`` does.
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
                       forget_factor=forget_factor, epoch_window=epoch_window,
                       n_passes=n_passes, engine=engine)
    return learn(X, n_atoms, upd, default_coding="lasso", coding_method=coding_method,
                 alpha=alpha, n_nonzero_coefs=n_nonzero_coefs, positive_code=positive_code,
                 coding_options=coding_options, init=init, max_iter=max_iter, tol=tol,
                 batch_size=batch_size, random_state=random_state, callback=callback,
                 verbose=verbose, dead_atoms=dead_atoms, state=state)
