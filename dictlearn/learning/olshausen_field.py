r"""Olshausen & Field (1996): sparse coding of natural images with adaptive atom gains.

Each mini-batch of (whitened) image patches is coded by sparse inference under a sparse prior,
then the dictionary takes one gradient step on the reconstruction error,

.. math:: D \leftarrow D + \eta\, \tfrac1n Z^\top (X - Z D),

and every atom is rescaled to its *gain* :math:`g_j`. The gains adapt so that each
coefficient's output variance stays at a target (the paper's ``VAR_GOAL``): with
:math:`v_j` a running average of :math:`z_j^2` (rate ``var_eta`` per signal),

.. math:: g_j \leftarrow g_j\,(v_j/v_\text{goal})^{\gamma} ,\qquad \|d_j\| = g_j ,

so an atom whose coefficients grow gets a larger norm (and smaller coefficients) until its
variance returns to the goal. The rule is stable only if inference starts, as the paper's
does, from every atom's projection ``d_j·x/‖d_j‖²`` (:func:`cauchy_encode`'s default): from
zeros an atom of small gain gets small coefficients, where the Cauchy prior is quadratic
(Gaussian), its variance falls and its gain shrinks further, to 0. Optionally
(``min_gain > 0``, not in the paper) no gain may fall below ``min_gain`` times the mean gain.
Without the gain rule the l1 or log prior would shrink the codes and
inflate the atoms without bound.

Priors (the coding step):

- ``"cauchy"``: :math:`\tfrac12\|x - zD\|^2 + \alpha\sum_j\log(1 + (z_j/\sigma)^2)`, the
  paper's prior, minimised here by accelerated gradient descent with adaptive restart (the
  paper used conjugate gradients); registered as the ``sparse_encode`` method ``"cauchy"``;
- ``"l1"``: the lasso (any lasso method of :func:`dictlearn.sparse_encode`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._linalg import spectral_norm_sq
from .._loop import Info, Result, run_loop
from .._scale import Scale
from .._validation import (
    check_array,
    check_choice,
    check_nonneg_scalar,
    check_positive_int,
    check_signals_dictionary,
)
from ..coding import register_method
from ..coding.step import LeastSquares
from ..objectives import cauchy_prior_grad
from ._driver import LearningState, Updater, learn
from ._registry import register_learner
from .atoms import project_atoms

__all__ = ["OlshausenFieldGains", "OlshausenFieldUpdate", "cauchy_encode", "olshausen_field"]


@dataclass(frozen=True)
class _CauchyState:
    Z: Any
    Z_prev: Any
    Y: Any
    t: Any
    ls: LeastSquares

    def take(self, rows):
        xp = self.ls.xp
        return _CauchyState(*(xp.take(a, rows, axis=0) for a in (self.Z, self.Z_prev, self.Y,
                                                                   self.t)), self.ls.take(rows))


@register_method("cauchy", penalty="cauchy", iterative=True)
def cauchy_encode(X: Any, dictionary: Any, *, alpha: float = 0.022, sigma: float = 0.316,
                  init: Any = "projection", max_iter: int = 500, tol: float = 1e-4,
                  check_every: int = 5, callback: Callable[[Info], Any] | None = None) -> Result:
    r"""Sparse inference under the log prior of Olshausen & Field (1996).

    Minimises, per sample, :math:`E(z) = \tfrac12\|x - zD\|^2 + \alpha\sum_j \log(1 +
    (z_j/\sigma)^2)` by gradient descent with Nesterov momentum and gradient restart, step
    :math:`1/(L + 2\alpha/\sigma^2)` (the gradient's Lipschitz constant). The energy is not
    convex: the result is a stationary point reached from ``init``. The paper's start
    (``cgf_fitS`` of Olshausen's sparsenet) is every atom's own projection,
    :math:`z_j = d_j\cdot x/\|d_j\|^2`: an atom of small norm starts with a large
    coefficient, out in the prior's heavy tail, and keeps it when the data term wants it.
    From zeros such an atom stays in the prior's quadratic well near 0, its coefficients'
    variance falls and the gain rule shrinks it further, to death (11 of 64 atoms of 8×8 in
    4000 updates on the sample photographs, 17 on the photographs halved).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    dictionary : array of shape (n_atoms, n_features)
    alpha : float, default=0.022
        Prior weight (``β·σ_N²`` of the paper: 2.2 × 0.01).
    sigma : float, default=0.316
        Prior scale (the paper's σ, for images of variance 0.1).
    init : {"projection", "zeros"} or array of shape (n_samples, n_atoms), default="projection"
        The start: the atoms' projections ``X Dᵀ / ‖d_j‖²`` (the paper's), zeros, or given
        codes (a warm start).
    max_iter : int, default=500
    tol : float, default=1e-4
        Stop a sample when ``‖z_k − z_{k−1}‖ ≤ tol·‖z_k‖``.
    check_every : int, default=5
    callback : callable, optional

    Returns
    -------
    Result

    References
    ----------
    B. A. Olshausen, D. J. Field, "Emergence of simple-cell receptive field properties by
    learning a sparse code for natural images", Nature 381, 607–609, 1996.

    Examples
    --------
    >>> import numpy as np
    >>> res = cauchy_encode(np.array([[1.0, 0.02]]), np.eye(2), alpha=0.01, sigma=0.1,
    ...                     tol=1e-8)
    >>> z = res.codes  # stationary: z - x + 2 alpha z / (sigma^2 + z^2) = 0
    >>> np.round(z, 3), bool(np.allclose(z - [1.0, 0.02] + 0.02 * z / (0.01 + z**2), 0,
    ...                                  atol=1e-6))
    (array([[0.98 , 0.007]]), True)
    """
    xp, X, D = check_signals_dictionary(X, dictionary, owner="cauchy")
    alpha = check_nonneg_scalar(alpha, "alpha")
    sigma = check_nonneg_scalar(sigma, "sigma", allow_zero=False)
    tol = check_nonneg_scalar(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    check_every = check_positive_int(check_every, "check_every")
    n, k = X.shape[0], D.shape[0]
    projection = False
    if isinstance(init, str):
        projection = check_choice(init, "init", {"zeros", "projection"}) == "projection"
        init = None
    init = None if init is None else check_array(init, "init", like=X, shape=(n, k))
    sc = Scale.of(X, xp)  # solve on X / s (dictlearn/_scale.py): α in s², σ in s units
    X, init, alpha, sigma = sc.down(X), sc.down(init), sc.down(alpha, 2), sc.down(sigma)
    L = spectral_norm_sq(D, xp=xp) + 2.0 * alpha / sigma**2
    ls = LeastSquares.build(X, D, L, xp=xp)
    dev = getattr(X, "device", None)
    if projection:  # the paper's start: z_j = d_j·x / ‖d_j‖²
        nrm = xp.sum(D * D, axis=1)
        tiny = float(xp.finfo(X.dtype).smallest_normal)
        init = (X @ xp.matrix_transpose(D)) / xp.maximum(nrm, tiny)
    Z0 = xp.zeros((n, k), dtype=X.dtype, device=dev) if init is None else init
    state = _CauchyState(Z0, Z0, Z0, xp.ones((n, 1), dtype=X.dtype, device=dev), ls)

    def step(s: _CauchyState) -> _CauchyState:
        Y = s.Y
        Z = s.ls.forward(Y) - (alpha / L) * cauchy_prior_grad(Y, sigma, xp=xp)
        dZ = Z - s.Z
        bad = xp.sum((Y - Z) * dZ, axis=1, keepdims=True) > 0
        t = xp.where(bad, xp.ones_like(s.t), s.t)
        t_next = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * t * t))
        return _CauchyState(Z, s.Z, Z + ((t - 1.0) / t_next) * dZ, t_next, s.ls)

    def criterion(s: _CauchyState):
        dn = xp.linalg.vector_norm(s.Z - s.Z_prev, axis=1)
        zn = xp.linalg.vector_norm(s.Z, axis=1)
        tiny = float(xp.finfo(zn.dtype).smallest_normal)
        return dn - tol * zn, dn / xp.maximum(zn, tiny)

    return sc.result(run_loop(state, step=step, criterion=criterion, codes=lambda s: s.Z,
                              n_samples=n, max_iter=max_iter, check_every=check_every, xp=xp,
                              callback=callback), owner="cauchy")


@dataclass(frozen=True)
class OlshausenFieldGains:
    """The Olshausen–Field learner's state: the gain (norm) of every atom and the running
    variance of its coefficients.

    Attributes
    ----------
    gain : array of shape (n_atoms,)
    var : array of shape (n_atoms,)
    """

    gain: Any
    var: Any


@register_learner("olshausen_field", coding_method="cauchy", max_iter=2000, alpha=0.022,
                  constraint="sphere",
                  build=lambda p: OlshausenFieldUpdate(positive_dict=p.positive_dict,
                                                     learning_rate=p.learning_rate,
                                                     var_goal=p.var_goal))
class OlshausenFieldUpdate(Updater):
    """Gradient step on the dictionary plus the gain adaptation of Olshausen & Field."""

    name = "Olshausen-Field"
    minibatch = True
    constraint = "sphere"  # directions; the norms are the gains (see ``project``)

    def __init__(self, *, learning_rate: float = 1.0, var_goal: float = 0.1,
                 var_eta: float = 0.001, gain_rate: float = 0.02,
                 min_gain: float = 0.0, positive_dict: bool = False) -> None:
        self.learning_rate = check_nonneg_scalar(learning_rate, "learning_rate",
                                                 allow_zero=False)
        self.var_goal = check_nonneg_scalar(var_goal, "var_goal", allow_zero=False)
        self.var_eta = check_nonneg_scalar(var_eta, "var_eta", upper=1)
        self.gain_rate = check_nonneg_scalar(gain_rate, "gain_rate")
        self.min_gain = check_nonneg_scalar(min_gain, "min_gain", upper=1, open_upper=True)
        self.positive = bool(positive_dict)

    def scaled(self, sc: Scale) -> OlshausenFieldUpdate:
        """The step for ``X / s``: ``var_goal / s²`` (a variance of the codes) and
        ``learning_rate · s²`` (the gradient ``Zᵀ(X − ZD)`` scales by ``s²``)."""
        if not sc.scaled:
            return self
        new = copy.copy(self)
        new.var_goal = float(sc.down(self.var_goal, 2))
        new.learning_rate = float(sc.up(self.learning_rate, 2))
        return new

    def init_state(self, D, *, xp) -> OlshausenFieldGains:
        k = D.shape[0]
        dev = getattr(D, "device", None)
        return OlshausenFieldGains(xp.linalg.vector_norm(D, axis=1),
                                   xp.full((k,), self.var_goal, dtype=D.dtype, device=dev))

    def project(self, D, aux: OlshausenFieldGains | None, *, xp):
        U = project_atoms(D, constraint="sphere", positive=self.positive, xp=xp)
        return U if aux is None else U * aux.gain[:, None]

    def update(self, D, X, Z, aux: OlshausenFieldGains, *, xp):
        n = int(X.shape[0])
        R = X - Z @ D
        D = D + (self.learning_rate / n) * (xp.matrix_transpose(Z) @ R)
        # running variance, exactly as the per-signal loop v ← (1−e)v + e z² of the paper
        e = self.var_eta
        w = e * (1.0 - e) ** np.arange(n - 1, -1, -1, dtype=np.float64)
        w = xp.asarray(w, dtype=D.dtype, device=getattr(D, "device", None))
        var = (1.0 - e) ** n * aux.var + w @ (Z * Z)
        gain = aux.gain * (var / self.var_goal) ** self.gain_rate
        if self.min_gain > 0:  # no gain below min_gain times the mean gain
            floor = self.min_gain * xp.mean(gain)
            gain = xp.maximum(gain, floor)
        aux = OlshausenFieldGains(gain, var)
        # an atom whose coefficient variance fell below 1% of the goal is unused (dead)
        usage = xp.where(var > 0.01 * self.var_goal, var, xp.zeros_like(var))
        return self.project(D, aux, xp=xp), Z, aux, usage

    def on_resample(self, aux: OlshausenFieldGains, dead, *, xp) -> OlshausenFieldGains:
        one = xp.ones_like(aux.gain)
        return OlshausenFieldGains(xp.where(dead, xp.mean(aux.gain) * one, aux.gain),
                                   xp.where(dead, self.var_goal * one, aux.var))


def olshausen_field(X: Any, n_atoms: int, *, prior: str = "cauchy", alpha: float = 0.022,
                    sigma: float = 0.316, coding_method: str | None = None, batch_size: int = 100,
                    max_iter: int = 2000, tol: float = 0.0, learning_rate: float = 1.0,
                    var_goal: float = 0.1, var_eta: float = 0.001, gain_rate: float = 0.02,
                    min_gain: float = 0.0, positive_code: bool = False, positive_dict: bool = False,
                    coding_options: dict[str, Any] | None = None, init: Any = "random",
                    random_state: Any = None, callback: Callable[[Info], Any] | None = None,
                    verbose: bool = False, dead_atoms: str = "keep",
                    state: LearningState | None = None) -> Result:
    """Learn a dictionary as Olshausen & Field (1996): sparse inference, gradient step, gains.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Whitened image patches (see :func:`dictlearn.datasets.image_patches`), variance ≈
        ``var_goal``-scaled as in the paper.
    n_atoms : int
    prior : {"cauchy", "l1"}, default="cauchy"
        ``log(1 + (z/σ)²)`` (coding method ``"cauchy"``) or ``|z|`` (coding method
        ``"lasso"``, falling back to ``"fista"``).
    alpha : float, default=0.022
        Prior weight.
    sigma : float, default=0.316
        Scale of the Cauchy prior.
    coding_method : str, optional
        Override the coding method implied by ``prior``.
    batch_size : int, default=100
    max_iter : int, default=2000
        Mini-batch updates.
    tol : float, default=0.0
    learning_rate : float, default=1.0
        η of the gradient step (per mini-batch average).
    var_goal, var_eta, gain_rate : float
        Target coefficient variance, its averaging rate per signal and the exponent γ of the
        gain update (the paper's ``VAR_GOAL = 0.1``, ``0.001`` and ``α = 0.02``).
    min_gain : float in [0, 1), default=0.0
        Floor on every gain as a fraction of the mean gain, applied after the gain update
        (0 = the paper). A floor keeps rarely used atoms out of the Gaussian regime of the
        prior, where they stop learning; needed only when inference starts from zeros
        (``coding_options={"init": "zeros"}``; see the module notes).
    positive_code, positive_dict : bool
    coding_options, init, random_state, callback, verbose, dead_atoms, state
        See :func:`~dictlearn.learning.online_dictionary_learning`.

    Returns
    -------
    Result
        ``state.aux`` (:class:`OlshausenFieldGains`) holds the ``gain`` and running ``var``
        of every atom.

    References
    ----------
    B. A. Olshausen, D. J. Field, Nature 381, 1996; "Sparse coding with an overcomplete basis
    set: a strategy employed by V1?", Vision Research 37(23), 1997.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).laplace(size=(200, 16)) * 0.3
    >>> res = olshausen_field(X, 20, max_iter=5, random_state=0)
    >>> res.dictionary.shape, res.state.aux.gain.shape
    ((20, 16), (20,))
    """
    check_choice(prior, "prior", {"cauchy", "l1"})
    opts = dict(coding_options or {})
    if prior == "cauchy":
        opts.setdefault("sigma", check_nonneg_scalar(sigma, "sigma", allow_zero=False))
    default = "cauchy" if prior == "cauchy" else "lasso"
    upd = OlshausenFieldUpdate(learning_rate=learning_rate, var_goal=var_goal,
                               var_eta=var_eta, gain_rate=gain_rate,
                               min_gain=min_gain, positive_dict=positive_dict)
    return learn(X, n_atoms, upd, default_coding=default, coding_method=coding_method,
                 alpha=alpha, n_nonzero_coefs=None, positive_code=positive_code,
                 coding_options=opts, init=init, max_iter=max_iter, tol=tol,
                 batch_size=batch_size, random_state=random_state, callback=callback,
                 verbose=verbose, dead_atoms=dead_atoms, state=state)
