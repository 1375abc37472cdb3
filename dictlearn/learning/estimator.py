"""``DictionaryLearning``: the scikit-learn style estimator over every learner (one code path).

``fit`` calls :func:`~dictlearn.learning.fit_dictionary` with the learner's dictionary step and
the coding step built from the parameters; ``partial_fit`` runs one alternation
(:func:`~dictlearn.learning.learning_step`) of a mini-batch learner on the given batch and keeps
its state (sufficient statistics or gains) to resume; ``transform`` is
:func:`dictlearn.sparse_encode` with the same coding step.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .._base import BaseEstimator, TransformerMixin, store_params
from .._io import load_model, save_model
from .._loop import Info, Result, Status, finite, warn_status
from .._scale import Scale
from .._validation import check_array, check_positive_int
from .._xp import check_random_state, get_namespace, to_namespace
from ..coding import method_spec
from ..distributed import is_dask_array
from . import ksvd, mod, olshausen_field, online  # noqa: F401  (the learners register)
from ._coding import make_coder, resolve_coding_method
from ._driver import (
    LearningState,
    alternation_value,
    fit_dictionary,
    learning_scale,
    learning_step,
    split_record,
    start_state,
    unscale_history,
)
from ._registry import UpdaterParams, learner_spec

__all__ = ["DictionaryLearning", "dict_learning"]


def dict_learning(X: Any, n_atoms: int, *, method: str = "online", **params: Any) -> Any:
    """Learn a dictionary with any learner; returns a :class:`~dictlearn.Result`.

    ``method`` is a registered learner (``"online"``, ``"olshausen_field"``, ``"mod"``,
    ``"ksvd"``; see :data:`dictlearn.learning.LEARNERS`); the other parameters are those of
    :class:`DictionaryLearning`.

    Examples
    --------
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(200, 8, 10, 2, random_state=0)
    >>> dict_learning(p.X, 10, method="mod", coding_method="fista", alpha=0.05,
    ...               max_iter=3).dictionary.shape
    (10, 8)
    """
    est = DictionaryLearning(n_atoms, method=method, **params)
    est.fit(X)
    return est.result_


class DictionaryLearning(TransformerMixin, BaseEstimator):
    """Dictionary learning as a scikit-learn transformer.

    Parameters
    ----------
    n_atoms : int, optional
        Number of atoms; defaults to ``n_features``.
    method : {"online", "olshausen_field", "mod", "ksvd"}, default="online"
        Mairal et al. (2010), Olshausen & Field (1996), Engan et al. (1999), Aharon et al.
        (2006).
    coding_method : str, optional
        Any :func:`dictlearn.sparse_encode` method; default ``"lasso"`` (online, falling back
        to ``"fista"``), ``"cauchy"`` (Olshausen–Field) or ``"omp"`` (MOD, K-SVD).
    alpha : float, optional
        Penalty weight (``½‖x − zD‖² + α‖z‖₁`` for lasso coding); default 1.0, or 0.022 for
        Olshausen–Field.
    n_nonzero_coefs : int, optional
        Sparsity for greedy coding (default 10% of ``n_features``).
    batch_size : int, default=256
        Mini-batch size of ``"online"`` and ``"olshausen_field"``.
    max_iter : int, optional
        Iterations: mini-batch steps (online: 1000, Olshausen–Field: 2000) or sweeps (MOD,
        K-SVD: 50).
    tol : float, default=1e-6
        Relative change of the objective that stops learning (per epoch for mini-batch
        learners); 0 runs ``max_iter`` iterations.
    constraint : {"sphere", "ball"}, optional
        Atom set (default ``"ball"`` for online, ``"sphere"`` otherwise).
    positive_code, positive_dict : bool, default=False
    forget_factor : float or "minibatch", optional
        Online learning's ρ (None: the default ρ = 5) or the paper's mini-batch rule (see
        :func:`~dictlearn.learning.online_dictionary_learning`).
    approximate : bool, default=False
        Approximate K-SVD.
    sigma : float, default=0.316
        Scale of the Cauchy prior (Olshausen–Field).
    var_goal, learning_rate : float, default=0.1, 1.0
        Olshausen–Field's target variance of every coefficient and its dictionary step size
        (:func:`~dictlearn.learning.olshausen_field`). Like ``alpha`` and ``sigma`` they are in
        the data's units: for ``c·X`` use ``c²·alpha``, ``c·sigma``, ``c²·var_goal`` and
        ``learning_rate / c²`` to learn the dictionary of ``X``.
    dead_atoms : {"resample", "keep"}, default="resample"
    init : {"data", "random"} or array, default="data"
    coding_options : dict, optional
        Extra options of the coding method (``max_iter``, ``tol``, …).
    random_state : None, int or Generator
    callback : callable, optional
        ``callback(Info)`` after every iteration; return True to stop.
    verbose : bool, default=False
        Progress line on stderr.

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_features)
    n_iter_ : int
    history_ : list of dict
        Per iteration: objective, atoms resampled, samples seen, time.
    n_features_in_ : int
    status_ : Status
        Why the last ``fit`` stopped (``max_iter_reached`` is a used budget, not a failure);
        after ``partial_fit``: ``max_iter_reached``, or ``nonfinite`` when the step met a NaN
        or infinity (the previous state is kept). A failure is warned about once.
    result_ : Result
        The last ``fit``'s result (not saved).

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn import DictionaryLearning
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(300, 8, 12, 2, random_state=0)
    >>> est = DictionaryLearning(12, alpha=0.05, batch_size=50, max_iter=30, random_state=0)
    >>> Z = est.fit_transform(p.X)
    >>> Z.shape, est.components_.shape, est.n_iter_
    ((300, 12), (12, 8), 30)
    """

    def __init__(self, n_atoms: int | None = None, *, method: str = "online",
                 coding_method: str | None = None, alpha: float | None = None,
                 n_nonzero_coefs: int | None = None, batch_size: int = 256,
                 max_iter: int | None = None, tol: float = 1e-6, constraint: str | None = None,
                 positive_code: bool = False, positive_dict: bool = False,
                 forget_factor: float | None = None, approximate: bool = False,
                 sigma: float = 0.316, var_goal: float = 0.1, learning_rate: float = 1.0,
                 dead_atoms: str = "resample", init: Any = "data",
                 coding_options: dict[str, Any] | None = None, random_state: Any = None,
                 callback: Callable[[Info], Any] | None = None, verbose: bool = False) -> None:
        store_params(self, locals())

    # ----------------------------------------------------------------- helpers
    def _n_atoms(self, n_features: int) -> int:
        if self.n_atoms is None:
            return n_features
        return check_positive_int(self.n_atoms, "n_atoms")

    def _parts(self, n_features: int):
        """The (updater, coder) pair of the learner, from the parameters."""
        spec = learner_spec(self.method)
        n_atoms = self._n_atoms(n_features)
        name = resolve_coding_method(self.coding_method, default=spec.coding_method)
        penalty = method_spec(name).penalty
        n_nonzero_coefs = self.n_nonzero_coefs
        if penalty == "l0" and n_nonzero_coefs is None:
            n_nonzero_coefs = max(1, min(n_atoms, round(0.1 * n_features)))
        opts = dict(self.coding_options or {})
        if penalty == "cauchy":
            opts.setdefault("sigma", self.sigma)
        coder = make_coder(name, default=spec.coding_method,
                           alpha=spec.alpha if self.alpha is None else self.alpha,
                           n_nonzero_coefs=n_nonzero_coefs, positive_code=self.positive_code,
                           coding_options=opts, n_atoms=n_atoms)
        upd = spec.build(UpdaterParams(
            spec.constraint if self.constraint is None else self.constraint,
            positive_dict=self.positive_dict, positive_code=self.positive_code,
            forget_factor=self.forget_factor, approximate=self.approximate,
            learning_rate=self.learning_rate, var_goal=self.var_goal))
        return upd, coder

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _validate(self, X: Any, *, reset: bool):
        X = check_array(X, "X", owner=type(self).__name__, allow_all_zero=not reset,
                        n_features=None if reset else self.n_features_in_)
        return get_namespace(X), X

    def _set_fitted(self, state: LearningState) -> None:
        self._state = state
        self.components_ = state.dictionary
        self.n_iter_ = state.n_iter
        self.history_ = state.history
        self.n_resampled_ = state.n_resampled

    # ----------------------------------------------------------------- API
    def fit(self, X: Any, y: Any = None) -> DictionaryLearning:
        """Learn the dictionary from the rows of ``X`` (n_samples, n_features); a Dask array
        chunked by rows is learned from on its workers (:func:`dictlearn.distributed.fit`)."""
        if is_dask_array(X):
            from ..distributed import fit

            return fit(self, X)
        _, X = self._validate(X, reset=True)
        n_atoms = self._n_atoms(X.shape[1])
        upd, coder = self._parts(X.shape[1])
        max_iter = (learner_spec(self.method).max_iter if self.max_iter is None
                    else self.max_iter)
        res: Result = fit_dictionary(
            X, n_atoms, updater=upd, coder=coder, init=self.init, max_iter=max_iter,
            tol=self.tol, batch_size=self.batch_size, random_state=self.random_state,
            callback=self.callback, verbose=self.verbose, dead_atoms=self.dead_atoms)
        self.n_features_in_ = int(X.shape[1])
        self.result_ = res
        self._set_fitted(res.state)
        self.status_ = res.status
        warn_status(type(self).__name__, res.status)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> DictionaryLearning:
        """One alternation (coding step + dictionary step) on the batch ``X``.

        Meant for the mini-batch learners (``"online"``: statistics ``A``, ``B`` and ``t`` are
        kept; ``"olshausen_field"``: gains); for MOD and K-SVD it runs one iteration on ``X``.
        The first call initialises the dictionary from ``X``; later calls resume from the
        kept state (also after :meth:`load`).
        """
        first = not hasattr(self, "components_")
        xp, X = self._validate(X, reset=first)
        upd, coder = self._parts(X.shape[1])
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        # the signals divided by the scale of the first batch (dictlearn/_scale.py)
        sc = learning_scale(X, None if first else self._state, coder, xp=xp)
        X, coder, upd = sc.down(X), coder.scaled(sc), upd.scaled(sc)
        if first:
            state = start_state(X, self._n_atoms(X.shape[1]), updater=upd, init=self.init,
                                rng=self._rng, xp=xp)
            state = dataclasses.replace(state, scale=sc.s)
            self.n_features_in_ = int(X.shape[1])
        else:
            state, arrays = self._state, split_record(self._state.aux)[0]
            state = dataclasses.replace(
                state, dictionary=to_namespace(state.dictionary, xp, X),
                aux=dataclasses.replace(state.aux, **{k: to_namespace(v, xp, X)
                                                      for k, v in arrays.items()}))
        new, _, obj = learning_step(state, X, updater=upd, coder=coder, xp=xp,
                                    dead_atoms=self.dead_atoms, rng=self._rng)
        unscale_history(new.history[-1:], sc)
        ok = finite(alternation_value(new, obj, xp=xp))
        self._set_fitted(new if ok else state)  # the non-finite rule: keep the last good
        self.status_ = Status.max_iter_reached if ok else Status.nonfinite
        warn_status(type(self).__name__, self.status_)
        return self

    def transform(self, X: Any) -> Any:
        """Codes of shape (n_samples, n_atoms) from the learner's coding step (a lazy Dask
        array for a Dask ``X``)."""
        self._check_fitted()
        if is_dask_array(X):
            from ..distributed import transform as dask_transform

            return dask_transform(self, X, n_atoms=int(self.components_.shape[0]))
        xp, X = self._validate(X, reset=False)
        D = to_namespace(self.components_, xp, X)
        _, coder = self._parts(X.shape[1])
        return coder(X, D)

    def inverse_transform(self, X: Any) -> Any:
        """Signals ``Z D`` (n_samples, n_features) from codes ``X`` (n_samples, n_atoms)."""
        self._check_fitted()
        Z = check_array(X, "codes")
        D = to_namespace(self.components_, get_namespace(Z), Z)
        if Z.shape[1] != D.shape[0]:
            raise ValueError(
                f"codes must have n_atoms = {D.shape[0]} columns; got shape {tuple(Z.shape)}"
            )
        return Z @ D

    # ----------------------------------------------------------------- persistence
    def _state_template(self, m: int) -> Any:
        """The learner's state record for ``m`` features (zeros on the host): its fields name
        what a model file holds, its arrays give the shapes."""
        upd, _ = self._parts(m)
        return upd.init_state(np.zeros((self._n_atoms(m), m)), xp=get_namespace(np.zeros(1)))

    def _schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        """Validate the parameters and saved scalars; the arrays a model file must hold, with
        their shapes."""
        m = int(meta["n_features_in_"])
        arrays, scalars = split_record(self._state_template(m))
        Status(meta.get("status_", "max_iter_reached"))  # ValueError for an unknown status
        if not isinstance(meta["aux"], dict) or set(meta["aux"]) != set(scalars):
            raise ValueError(f"the learner's state has the scalars {sorted(scalars)}; the file "
                             f"holds {sorted(meta['aux'])}")
        return {"components_": (self._n_atoms(m), m),
                **{f"aux__{k}": tuple(v.shape) for k, v in arrays.items()}}

    def save(self, file: Any) -> Any:
        """Save the fitted model (``.npz``, no pickle; see :func:`dictlearn._io.save_model`).

        The learner's state record is saved field by field: arrays as ``aux__<field>``,
        scalars in ``meta["aux"]``. Returns the path written (``.npz`` appended when missing),
        or ``file`` for a file object.
        """
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "callback"}
        rs = params.get("random_state")
        if rs is not None and not isinstance(rs, numbers.Integral):
            params["random_state"] = None  # generators are not saved
        elif rs is not None:
            params["random_state"] = int(rs)
        if not isinstance(params.get("init"), str):
            params["init"] = "data"
        arrays, scalars = split_record(self._state.aux)
        meta = {"n_iter_": int(self.n_iter_), "n_features_in_": int(self.n_features_in_),
                "n_resampled_": int(self.n_resampled_),
                "n_samples_seen": int(self._state.n_samples_seen),
                "history_": _jsonable_history(self.history_), "aux": scalars,
                "status_": self.status_.value, "scale": float(self._state.scale)}
        arrays = {"components_": self.components_,
                  **{f"aux__{k}": v for k, v in arrays.items()}}
        return save_model(file, type(self).__name__, params, meta, arrays)

    @classmethod
    def load(cls, file: Any) -> DictionaryLearning:
        """Load a model saved by :meth:`save` (NumPy arrays; ``partial_fit`` can resume)."""
        return load_model(file, cls, cls._schema, cls._restore)

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any]) -> DictionaryLearning:
        est, m = self, int(meta["n_features_in_"])
        record = type(est._state_template(m))
        aux = record(**{k[len("aux__"):]: v for k, v in arrays.items() if k.startswith("aux__")},
                     **meta["aux"])
        state = LearningState(arrays["components_"], aux, int(meta["n_iter_"]),
                              int(meta["n_samples_seen"]), int(meta["n_resampled_"]),
                              list(meta["history_"]), Scale.saved(meta))
        est.n_features_in_ = m
        est._set_fitted(state)
        est.status_ = Status(meta.get("status_", "max_iter_reached"))
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        return tags


def _jsonable_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with non-finite floats as None (JSON)."""
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in h.items()} for h in history]
