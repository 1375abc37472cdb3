r"""An exact lasso solver for CPU (``method="lasso"``, alias ``"lasso_cd"``): a primal
active-set method with a coordinate-descent fallback (numba), or cyclic coordinate descent
(Array-API reference), all in the Gram domain."""

from __future__ import annotations

from typing import Any

from .._loop import Result, Status
from .._scale import Scale
from .._validation import check_choice, check_coding_inputs, check_nonneg_scalar
from ..kernels import ENGINES, call
from ._registry import register_method

__all__ = ["lasso", "lasso_step"]


def lasso(X: Any, dictionary: Any, *, alpha: float = 1.0, positive: bool = False, init: Any = None,
          max_iter: int = 1000, tol: float = 1e-6, engine: str = "auto") -> Result:
    r"""Exact lasso codes in the Gram domain (active set + coordinate descent).

    Minimises, for every row ``x`` of ``X``,
    :math:`F(z) = \tfrac12\|x - zD\|_2^2 + \alpha\|z\|_1` (with ``z ≥ 0`` when ``positive``),
    the objective of :func:`dictlearn.fista`, scikit-learn's ``lasso_lars``/``lasso_cd``
    coding and SPAMS' ``lasso(lambda1=alpha)``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    dictionary : array of shape (n_atoms, n_features)
    alpha : float >= 0, default=1.0
    positive : bool, default=False
        Non-negative codes.
    init : array of shape (n_samples, n_atoms), optional
        Warm start.
    max_iter : int, default=1000
        Most outer iterations (full passes) per sample.
    tol : float >= 0, default=1e-6
        A sample stops when its duality gap is at most ``tol`` times its objective (plus a
        rounding floor of ``10·eps·‖x‖²``). The support refit usually ends with a gap at
        rounding level.
    engine : {"auto", "reference", "numba"}, default="auto"
        ``"numba"``: per sample, the primal active-set method, with working-set coordinate
        descent and a support refit as fallback (and for warm starts), parallel over samples;
        ``"reference"``: cyclic coordinate descent in Array-API code, all samples at once (any
        backend). ``"auto"`` picks numba for NumPy inputs when available.

    Returns
    -------
    Result
        ``codes``, ``status`` (``converged`` when every sample met ``tol``), full passes per
        sample in ``n_iter_per_sample`` and the relative duality gap in ``criterion``.

    Notes
    -----
    With ``b = x Dᵀ``, ``G = D Dᵀ`` and ``c = b − zG``, the numba engine starts with the primal
    active-set method (Osborne, Presnell & Turlach 2000): the atom ``j`` with the largest
    violation :math:`|c_j| > \alpha` joins the active set ``A`` with sign
    :math:`s_j = \operatorname{sign}(c_j)`, the codes on ``A`` become
    :math:`z_A = G_{AA}^{-1}(b_A - \alpha s_A)`, and if that breaks a sign the step stops at the
    first sign change and that atom leaves. Each round costs one scan of ``c`` and
    :math:`|A|` rows of ``G``, like an OMP step. If it stalls, coordinate descent takes over.
    Coordinate ``j`` is minimised exactly
    by :math:`z_j \leftarrow S_\alpha(c_j + G_{jj} z_j)/G_{jj}`, followed by
    :math:`c \leftarrow c - \Delta z_j\, G_{j,:}` (Friedman, Hastie & Tibshirani 2010). The
    numba engine alternates one full pass (which costs a comparison for an atom that stays at
    zero) with passes over the active set, then tries the exact solution on the support
    ``A`` with signs ``s``: :math:`z_A = G_{AA}^{-1}(b_A - \alpha s)`. When ``z_A`` keeps the
    signs ``s`` and :math:`|c_j| \le \alpha` off ``A``, the KKT conditions hold and ``z`` is a
    lasso solution (the homotopy/LARS certificate of Osborne, Presnell & Turlach 2000).
    Otherwise descent continues; the duality gap of :mod:`dictlearn.objectives` decides. The
    active-set rounds are bounded by ``4·n_atoms + 8`` on their own; ``max_iter`` bounds the
    coordinate-descent rounds.

    References
    ----------
    Friedman, Hastie & Tibshirani (2010), "Regularization paths for generalized linear models
    via coordinate descent", J. Stat. Softw. 33(1).
    Osborne, Presnell & Turlach (2000), "A new approach to variable selection in least squares
    problems", IMA J. Numer. Anal. 20(3).
    Fercoq, Gramfort & Salmon (2015), "Mind the duality gap: safer rules for the lasso", ICML.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> D = np.eye(3); X = np.array([[1.0, -0.05, 0.3]])
    >>> res = dictlearn.lasso(X, D, alpha=0.1)
    >>> np.round(res.codes, 6), res.status.value
    (array([[0.9, 0. , 0.2]]), 'converged')
    """
    xp, X, D, init, tol, max_iter = check_coding_inputs(X, dictionary, "lasso", init=init,
                                                        tol=tol, max_iter=max_iter)
    alpha = check_nonneg_scalar(alpha, "alpha")
    check_choice(engine, "engine", set(ENGINES))
    positive = bool(positive)
    sc = Scale.of(X, xp)  # solve on X / s (dictlearn/_scale.py): scale-invariant
    X, init, alpha = sc.down(X), sc.down(init), sc.down(alpha)
    Z, it, crit, conv = _solve(X, D, init, alpha=alpha, positive=positive, tol=tol,
                               max_iter=max_iter, engine=engine, blas=False, xp=xp)
    status = Status.converged if bool(xp.all(conv)) else Status.max_iter_reached
    return sc.result(Result(Z, status, int(xp.max(it)), it, conv, crit), owner="lasso")


def lasso_step(X: Any, dictionary: Any, *, xp: Any, alpha: float = 1.0, positive: bool = False,
               init: Any = None, max_iter: int = 1000, tol: float = 1e-6,
               engine: str = "auto", with_objective: bool = False) -> Any:
    """The codes of :func:`lasso` for a learner's inner loop (:attr:`MethodSpec.step`).

    The learner has checked ``X`` once and scaled it (:mod:`dictlearn._scale`), and the
    dictionary is its own: no per-call validation, scaling or :class:`~dictlearn.Result`. The
    products ``X Dᵀ`` and ``D Dᵀ`` are BLAS products (the numba engine otherwise forms them in
    its own loops, which suits large one-off calls on a busy machine); the codes are those of
    :func:`lasso` to rounding. ``with_objective``: return ``(codes, objective)``, the
    objective per sample of :func:`dictlearn.objectives.sample_objective` (the numba kernel
    computes it as it finishes each sample).

    Examples
    --------
    >>> import numpy as np
    >>> lasso_step(np.array([[1.0, -0.05, 0.3]]), np.eye(3), alpha=0.1, xp=np).round(6)
    array([[0.9, 0. , 0.2]])
    """
    out = _solve(X, dictionary, init, alpha=float(alpha), positive=bool(positive),
                 tol=float(tol), max_iter=int(max_iter), engine=engine, blas=True, xp=xp,
                 objective=bool(with_objective))
    return (out[0], out[4]) if with_objective else out[0]


def _solve(X: Any, D: Any, init: Any, *, alpha: float, positive: bool, tol: float,
           max_iter: int, engine: str, blas: bool, xp: Any,
           objective: bool = False) -> tuple[Any, ...]:
    """The kernel ``lasso_cd_gram`` on checked, scaled inputs (a positive fit starts from
    ``max(init, 0)``): ``(Z, n_iter, criterion, converged)``, and the objective per sample
    with ``objective``."""
    if positive and init is not None:
        init = xp.maximum(init, 0.0)
    return call("lasso_cd_gram", engine, xp, X, D, init, alpha=alpha, positive=positive,
                tol=tol, max_iter=max_iter, blas=blas, objective=objective)


register_method("lasso", penalty="l1", backends=("array-api", "numba"),
                aliases=("lasso_cd",), step=lasso_step)(lasso)
