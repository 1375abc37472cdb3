r"""Outlier detection from sparse-code statistics (a scikit-learn outlier detector).

A coder or learner fitted on normal data codes every sample; an anomaly is coded differently:
it is reconstructed worse, it needs more (or fewer, or larger) coefficients, and it uses atoms
that normal data rarely use. :class:`SparseOutlierDetector` turns these four statistics into one
score by a fixed, documented rule (see its Notes).
"""

from __future__ import annotations

import math
import numbers
from types import ModuleType
from typing import Any

from ._base import BaseEstimator, store_params
from ._validation import check_array
from ._xp import eps, get_namespace, to_namespace

try:  # pragma: no cover - exercised with and without scikit-learn
    from sklearn.base import OutlierMixin, clone
except ImportError:  # pragma: no cover
    import copy

    class OutlierMixin:
        """``fit_predict`` when scikit-learn is absent."""

        def fit_predict(self, X, y=None, **kwargs):
            return self.fit(X, y, **kwargs).predict(X)

    def clone(estimator):
        return copy.deepcopy(estimator)


__all__ = ["STATISTICS", "SparseOutlierDetector", "code_statistics"]

#: The per-sample statistics, in the order of :func:`code_statistics`'s columns.
STATISTICS = ("residual", "l0", "l1", "rarity")
#: Statistics whose deviation counts in both directions (a code can be too small or too large).
_TWO_SIDED = frozenset({"l0", "l1"})
_MAD_TO_STD = 1.482602218505602  # 1 / Φ⁻¹(3/4): the MAD of a Gaussian is 0.6745 σ


def _quantile(v: Any, q: float, xp: ModuleType) -> float:
    """The ``q``-quantile of a 1-D array (linear interpolation, NumPy's default rule)."""
    s = xp.sort(v)
    pos = q * (int(s.shape[0]) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, int(s.shape[0]) - 1)
    a, b = float(s[lo]), float(s[hi])
    return a + (pos - lo) * (b - a)


def _reconstruct(coder: Any, Z: Any, xp: ModuleType) -> Any:
    if hasattr(coder, "inverse_transform"):
        return coder.inverse_transform(Z)
    D = to_namespace(coder.components_, xp, Z)
    return Z @ D


def code_statistics(X: Any, Z: Any, X_hat: Any, usage: Any, *, floor: float = 0.0) -> dict:
    r"""The four per-sample statistics of sparse codes.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Signals.
    Z : array of shape (n_samples, n_atoms)
        Their codes.
    X_hat : array of shape (n_samples, n_features)
        Their reconstructions from ``Z``.
    usage : array of shape (n_atoms,)
        Probability ``p_j`` in (0, 1) that a normal code uses atom ``j``.
    floor : float, default=0.0
        Added to the mean squared residual before the logarithm (keeps exact fits finite).

    Returns
    -------
    dict of str to array of shape (n_samples,)
        ``residual``: ``log(‖x − x̂‖²/n_features + floor)``; ``l0``: ``#{j : z_j ≠ 0}``;
        ``l1``: ``‖z‖₁``; ``rarity``: the support's negative log-likelihood when each atom
        is used independently with probability ``p_j``,
        ``−Σ_j (a_j log p_j + (1 − a_j) log(1 − p_j))`` with ``a_j = 1[z_j ≠ 0]`` (its
        description length in nats).

    Examples
    --------
    >>> import numpy as np
    >>> s = code_statistics(np.ones((1, 2)), np.array([[2.0, 0.0]]), np.ones((1, 2)),
    ...                     np.array([0.5, 0.75]), floor=1e-12)
    >>> float(s["l0"][0]), float(s["l1"][0]), round(float(s["rarity"][0]), 4)  # -log(.5 * .25)
    (1.0, 2.0, 2.0794)
    """
    xp = get_namespace(X, Z, X_hat, usage)
    R = X - X_hat
    res = xp.sum(R * R, axis=1) / float(X.shape[1])
    active = xp.astype(Z != 0, Z.dtype)
    l0 = xp.sum(active, axis=1)
    p = xp.astype(usage, Z.dtype)
    s_on, s_off = -xp.log(p), -xp.log(1.0 - p)
    rare = active @ (s_on - s_off) + xp.sum(s_off)
    return {"residual": xp.log(res + floor), "l0": l0, "l1": xp.sum(xp.abs(Z), axis=1),
            "rarity": rare}


class SparseOutlierDetector(OutlierMixin, BaseEstimator):
    r"""Outlier detector scoring samples by how differently they are sparse-coded.

    ``fit`` fits (a clone of) ``coder`` on normal data, measures each atom's usage frequency
    and the typical value and spread of four statistics of the training codes; a new sample is
    scored by how far its statistics deviate from those. Follows scikit-learn's outlier
    detectors: ``score_samples`` (lower is more abnormal), ``decision_function`` (negative for
    outliers), ``predict`` (−1 outlier, +1 inlier) and ``fit_predict``.

    Parameters
    ----------
    coder : estimator, optional
        Any coder or learner with ``fit(X)`` and ``transform(X)`` (codes) and either
        ``inverse_transform(codes)`` or ``components_``: :class:`~dictlearn.SparseCoder`,
        :class:`~dictlearn.DictionaryLearning`, :class:`~dictlearn.SparseAutoencoder`,
        :class:`~dictlearn.LISTA` (``variant="step"``, trained without codes),
        scikit-learn's dictionary learners. It is cloned at ``fit``. Default:
        ``DictionaryLearning(method="mod", max_iter=20)`` (OMP codes, ``n_atoms = n_features``).
    weights : dict, optional
        Weight of each statistic in the score, keys among ``"residual"``, ``"l0"``, ``"l1"``,
        ``"rarity"`` (missing keys weigh 0); default 1 each.
    contamination : float in (0, 0.5], default=0.1
        Expected share of outliers in the training data: sets ``offset_`` so that this share
        of the training samples is predicted −1.
    random_state : None, int or Generator
        Set as the coder's ``random_state`` (when it has one) unless None.

    Attributes
    ----------
    coder_ : estimator
        The fitted coder.
    usage_ : array of shape (n_atoms,)
        Share of training samples whose code uses each atom.
    center_, scale_ : dict of str to float
        Median and robust spread (``1.4826 × MAD``; the standard deviation when the MAD is 0;
        1 when both are 0) of each statistic on the training data.
    offset_ : float
        ``decision_function = score_samples − offset_``.
    n_features_in_ : int

    Notes
    -----
    For a sample ``x`` with code ``z`` and reconstruction ``x̂`` the statistics are
    (:func:`code_statistics`): ``t_res = log(‖x − x̂‖²/n_features + ε)``, ``t_l0 = ‖z‖₀``,
    ``t_l1 = ‖z‖₁`` and the support's description length
    ``t_rar = −Σ_j (a_j log p_j + (1 − a_j) log(1 − p_j))``, ``a_j = 1[z_j≠0]``, under
    independent atom usage at the training frequencies ``p_j = (c_j + 1)/(n + 2)``, ``c_j`` the
    number of the ``n`` training codes that use atom ``j`` (Laplace's rule: an atom never used
    in training is rare, not impossible). Each is turned into a
    robust z-score against the training data, ``u_k = (t_k − median_k) / scale_k``; the
    residual and rarity count one way (larger is more abnormal), the code sizes both ways
    (``|u_l0|``, ``|u_l1|``: a code can be abnormally small or large). The outlyingness is the
    weighted mean

    .. math:: o(x) = \frac{w_{res} u_{res} + w_{l0}|u_{l0}| + w_{l1}|u_{l1}| + w_{rar} u_{rar}}
                          {w_{res} + w_{l0} + w_{l1} + w_{rar}}

    and ``score_samples(x) = −o(x)``. The residual is taken in logarithm because squared
    residuals spread multiplicatively (a chi-square-like tail); ``ε`` is ``eps × mean(x²)`` of
    the training data.

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn import SparseCoder
    >>> from dictlearn.anomaly import SparseOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> D = np.eye(8)[:4]                      # normal data lives on the first 4 axes
    >>> X = rng.normal(size=(200, 4)) @ D
    >>> det = SparseOutlierDetector(SparseCoder(D, alpha=0.01)).fit(X)
    >>> odd = rng.normal(size=(5, 8))          # these leave the span of the atoms
    >>> det.predict(odd).tolist(), bool(det.score_samples(odd).max() < det.offset_)
    ([-1, -1, -1, -1, -1], True)
    """

    def __init__(self, coder: Any = None, *, weights: dict[str, float] | None = None,
                 contamination: float = 0.1, random_state: Any = None) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------------ checks
    def _weights(self) -> dict[str, float]:
        if self.weights is None:
            return dict.fromkeys(STATISTICS, 1.0)
        if not isinstance(self.weights, dict):
            raise TypeError(f"weights must be a dict from {STATISTICS} to non-negative floats; "
                            f"got {type(self.weights).__name__}")
        bad = sorted(set(self.weights) - set(STATISTICS))
        if bad:
            raise ValueError(f"weights has unknown keys {bad}; expected some of {STATISTICS}")
        w = {k: float(self.weights.get(k, 0.0)) for k in STATISTICS}
        if any(not math.isfinite(v) or v < 0 for v in w.values()) or sum(w.values()) <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all 0; got {self.weights}")
        return w

    def _check_contamination(self) -> float:
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0.0 < c <= 0.5:
            raise ValueError(f"contamination must be in (0, 0.5]; got {c!r}")
        return float(c)

    def _make_coder(self, n_features: int) -> Any:
        if self.coder is None:
            from .learning import DictionaryLearning

            coder = DictionaryLearning(n_features, method="mod", max_iter=20)
        else:
            for m in ("fit", "transform"):
                if not callable(getattr(self.coder, m, None)):
                    raise TypeError(f"coder must have fit and transform methods; "
                                    f"{type(self.coder).__name__} has no {m}")
            coder = clone(self.coder)
        if self.random_state is not None and "random_state" in coder.get_params(deep=False):
            coder.set_params(random_state=self.random_state)
        return coder

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> SparseOutlierDetector:
        """Fit the coder on normal data ``X`` (n_samples, n_features); returns ``self``."""
        w = self._weights()
        contamination = self._check_contamination()
        X = check_array(X, "X", owner=type(self).__name__)
        xp = get_namespace(X)
        coder = self._make_coder(int(X.shape[1])).fit(X)
        Z = coder.transform(X)
        n = int(X.shape[0])
        counts = xp.sum(xp.astype(Z != 0, X.dtype), axis=0)
        self.coder_ = coder
        self.usage_ = counts / float(n)
        self._p = (counts + 1.0) / float(n + 2)  # Laplace's rule: in (0, 1)
        self._floor = eps(xp, X.dtype) * max(float(xp.mean(X * X)), 1e-300)
        stats = self._statistics(X, Z, xp)
        self.center_, self.scale_ = {}, {}
        for k, t in stats.items():
            med = _quantile(t, 0.5, xp)
            mad = _quantile(xp.abs(t - med), 0.5, xp) * _MAD_TO_STD
            sd = float(xp.std(t))
            self.center_[k] = med
            self.scale_[k] = mad if mad > 0 else (sd if sd > 0 else 1.0)
        self.n_features_in_ = int(X.shape[1])
        self.offset_ = _quantile(self._score(stats, w, xp), contamination, xp)
        return self

    # ------------------------------------------------------------------ scores
    def _statistics(self, X: Any, Z: Any, xp: ModuleType) -> dict[str, Any]:
        Z = to_namespace(Z, xp, X)
        X_hat = to_namespace(_reconstruct(self.coder_, Z, xp), xp, X)
        p = to_namespace(self._p, xp, X)
        return code_statistics(X, xp.astype(Z, X.dtype), xp.astype(X_hat, X.dtype), p,
                               floor=self._floor)

    def _score(self, stats: dict[str, Any], w: dict[str, float], xp: ModuleType) -> Any:
        total = None
        for k in STATISTICS:
            if w[k] == 0:
                continue
            u = (stats[k] - self.center_[k]) / self.scale_[k]
            term = w[k] * (xp.abs(u) if k in _TWO_SIDED else u)
            total = term if total is None else total + term
        return -total / sum(w.values())

    def _check_fitted(self) -> None:
        if not hasattr(self, "coder_"):
            raise _not_fitted(f"this {type(self).__name__} is not fitted yet: call fit(X) first")

    def statistics(self, X: Any) -> dict[str, Any]:
        """The four statistics of :func:`code_statistics` for ``X`` (before standardising)."""
        self._check_fitted()
        X = check_array(X, "X", owner=type(self).__name__, n_features=self.n_features_in_)
        xp = get_namespace(X)
        return self._statistics(X, self.coder_.transform(X), xp)

    def score_samples(self, X: Any) -> Any:
        """Minus the outlyingness (Notes), shape (n_samples,): the lower, the more abnormal."""
        stats = self.statistics(X)
        return self._score(stats, self._weights(), get_namespace(*stats.values()))

    def decision_function(self, X: Any) -> Any:
        """``score_samples(X) − offset_``: negative for outliers, shape (n_samples,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> Any:
        """−1 for outliers, +1 for inliers, shape (n_samples,) (integers)."""
        d = self.decision_function(X)
        xp = get_namespace(d)
        one = xp.ones(d.shape, dtype=xp.int64, device=getattr(d, "device", None))
        return xp.where(d >= 0, one, -one)


def _not_fitted(msg: str) -> Exception:
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # pragma: no cover
        return ValueError(msg)
    return NotFittedError(msg)
