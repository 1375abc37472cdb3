"""Scikit-learn style estimators of convolutional sparse coding and dictionary learning.

:class:`ConvolutionalSparseCoder` codes signals on given atoms (``transform`` returns the
activations); :class:`ConvolutionalDictionaryLearning` learns the atoms (batch ``fit`` or
online ``partial_fit``) with :func:`~dictlearn.signal.learning.learn_conv_dictionary` and
saves them in the library's one model-file format (``.npz``, no pickle, the sample rate kept).

Signals ``X``: (n_times,), (n_channels, n_times), (n_signals, n_channels, n_times), or a list
of (n_channels, n_times) signals of different lengths (coded one by one; ``transform`` then
returns a list).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .._base import BaseEstimator, TransformerMixin, store_params
from .._io import FixedArrayModel, load_model, save_model
from .._loop import Info, Status, finite, warn_status
from .._scale import Scale
from .._validation import as_array, check_array, check_choice, check_positive_int
from .._xp import check_random_state, get_namespace, to_namespace
from ..learning import LearningState, alternation_value, learning_step, unscale_history
from .coding import csc_encode, csc_method_spec, reconstruct
from .learning import (
    ConvCodingStep,
    ConvDictionaryUpdate,
    ConvStatistics,
    learn_conv_dictionary,
    signal_windows,
    start_conv_state,
)

__all__ = ["ConvolutionalDictionaryLearning", "ConvolutionalSparseCoder"]


def _check_rate(learned: float | None, given: float | None, owner: str) -> None:
    """Refuse data at another sample rate than the atoms'."""
    if learned is None or given is None:
        return
    if not isinstance(given, numbers.Real) or not given > 0:
        raise ValueError(f"sample_rate must be a positive number (Hz); got {given!r}")
    if not math.isclose(float(given), float(learned), rel_tol=1e-9):
        raise ValueError(
            f"{owner}: the dictionary was learned at {float(learned):g} Hz and the data are "
            f"{float(given):g} Hz; resample the data to {float(learned):g} Hz first "
            f"(dictlearn.signal.resample, scipy.signal.resample_poly) or learn a dictionary "
            f"at {float(given):g} Hz")


def _is_list(X: Any) -> bool:
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(
        hasattr(x, "shape") or isinstance(x, (list, tuple)) for x in X) and not _same(X)


def _same(X: Any) -> bool:
    return len({tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)
                for x in X}) <= 1


def _atoms_like(D: Any, X: Any) -> Any:
    X = as_array(X, "X")
    return to_namespace(D, get_namespace(X), X) if hasattr(X, "dtype") else D


def _code(X: Any, D: Any, *, n_channels: int, method: str, options: dict[str, Any],
          owner: str) -> Any:
    """Activations of ``X`` (an array or a list of signals) on ``D`` (K, C, L)."""
    if _is_list(X):
        return [_code(x, D, n_channels=n_channels, method=method, options=options,
                      owner=owner) for x in X]
    X = check_array(X, "X", owner=owner, ndim=(1, 2, 3))
    C = 1 if X.ndim == 1 else int(X.shape[-2])
    if C != n_channels:
        raise ValueError(f"X has {C} channel(s) (axis -2 of shape {tuple(X.shape)}), but "
                         f"{owner} has atoms of {n_channels} channel(s)")
    D = to_namespace(D, get_namespace(X), X)
    if X.ndim == 1:
        D = D[:, 0, :]
    return csc_encode(X, D, method=method, **options)


def _reconstruct(Z: Any, D: Any) -> Any:
    if isinstance(Z, (list, tuple)):
        return [_reconstruct(z, D) for z in Z]
    Z = check_array(Z, "codes", ndim=(2, 3), axes=None)
    return reconstruct(Z, to_namespace(D, get_namespace(Z), Z))


class ConvolutionalSparseCoder(FixedArrayModel, TransformerMixin, BaseEstimator):
    r"""Convolutional sparse coding on fixed atoms, as a transformer.

    ``transform`` solves, per signal, ``min_z ½‖x − Σ_k d_k ∗ z_k‖² + α Σ_k ‖z_k‖₁``
    (optionally ``z ≥ 0``) with :func:`~dictlearn.signal.csc_encode`.

    Parameters
    ----------
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
    method : str, default="fista"
        Any :data:`~dictlearn.signal.CSC_METHODS` name.
    alpha : float, default=0.1
        Absolute l1 weight (scale it with the data: ``α_max = ‖𝒟ᵀx‖∞`` zeroes every
        activation).
    positive : bool, default=False
    max_iter : int, default=1000
    tol : float, default=1e-6
        The method's tolerance (relative duality gap for FISTA).
    sample_rate : float, optional
        The atoms' sample rate (Hz); ``transform(X, sample_rate=...)`` refuses another.

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_channels, atom_length)
        Set by ``fit`` (the validated atoms).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[1.0, 2.0, 1.0]]) / np.sqrt(6)
    >>> x = np.zeros(20); x[5:8] = 3 * d[0]
    >>> coder = ConvolutionalSparseCoder(d, alpha=0.01)
    >>> z = coder.fit_transform(x)
    >>> z.shape, int(np.argmax(z[0])), bool(np.allclose(coder.inverse_transform(z)[0], x,
    ...                                                   atol=0.02))
    ((1, 18), 5, True)
    """

    def __init__(self, atoms: Any, *, method: str = "fista", alpha: float = 0.1,
                 positive: bool = False, max_iter: int = 1000, tol: float = 1e-6,
                 sample_rate: float | None = None) -> None:
        store_params(self, locals())

    _model_array = "atoms"

    def _check_params(self) -> None:
        """The parameters but the atoms (saving and loading check them)."""
        self._options()
        _check_rate(self.sample_rate, self.sample_rate, type(self).__name__)

    def _checked_array(self) -> Any:
        return check_array(self.atoms, "atoms", atoms=True, ndim=(2, 3))

    def _atoms(self) -> Any:
        D = check_array(self.atoms, "atoms", atoms=True, ndim=(2, 3))
        xp = get_namespace(D)
        return xp.reshape(D, (D.shape[0], 1, D.shape[1])) if D.ndim == 2 else D

    def _options(self) -> dict[str, Any]:
        csc_method_spec(self.method)
        opts: dict[str, Any] = {"alpha": self.alpha, "max_iter": self.max_iter, "tol": self.tol}
        if self.positive:
            opts["positive"] = True
        return opts

    def fit(self, X: Any = None, y: Any = None) -> ConvolutionalSparseCoder:
        """Validate the parameters and atoms (nothing is learned)."""
        self._options()
        _check_rate(self.sample_rate, self.sample_rate, type(self).__name__)
        self.components_ = self._atoms()
        return self

    def transform(self, X: Any, sample_rate: float | None = None) -> Any:
        """Activations of shape ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)``
        (a list for a list of signals)."""
        _check_rate(self.sample_rate, sample_rate, type(self).__name__)
        D = self._atoms()
        return _code(X, D, n_channels=int(D.shape[1]), method=self.method,
                     options=self._options(), owner=type(self).__name__)

    def inverse_transform(self, Z: Any) -> Any:
        """Signals ``Σ_k d_k ∗ z_k`` from activations (a list for a list)."""
        return _reconstruct(Z, self._atoms())


class ConvolutionalDictionaryLearning(TransformerMixin, BaseEstimator):
    r"""Convolutional (shift-invariant) dictionary learning, batch or online.

    Learns atoms ``d_k`` (n_channels, atom_length), ``‖d_k‖ ≤ 1``, minimising
    ``Σ_n ½‖x_n − Σ_k d_k ∗ z_{n,k}‖² + α Σ ‖z_{n,k}‖₁`` by alternating CSC and a projected
    gradient dictionary step from the codes' statistics
    (:mod:`dictlearn.signal.learning`).

    Parameters
    ----------
    n_atoms : int, default=8
    atom_length : int, default=64
        In samples.
    alpha : float, optional
        Absolute l1 weight. Default None: ``alpha_scale · α_max`` of the training data on the
        initial atoms, so the default suits signals of any amplitude (EEG in volts, audio in
        [−1, 1]); the value used is ``alpha_``.
    alpha_scale : float, default=0.1
        Fraction of ``α_max`` (used when ``alpha`` is None).
    method : str, default="fista"
        CSC method of the coding step (and of ``transform``).
    max_iter : int, default=50
        Alternations (batch) or mini-batch steps (online).
    tol : float, default=1e-4
        Relative change of the objective that stops learning (per epoch when online).
    rank1 : bool, default=False
        Atoms ``u_k v_kᵀ`` (a spatial pattern times a waveform), for multichannel data.
    positive : bool, default=False
        Non-negative activations.
    forget : float, optional
        Online forgetting ρ, ``β_t = (1 − 1/t)^ρ``; None: Mairal et al.'s mini-batch rule.
    batch_size : int, optional
        ``fit`` learns online with mini-batches of this many signals (windows); None: batch.
    window : int, optional
        Cut the signals into consecutive windows of this many samples before learning (for
        long recordings; lists of signals of different lengths are cut at the shortest
        length by default).
    init : {"events", "chunk", "random"} or array, default="events"
        Windows centred on the signals' events (drawn by energy, no two alike up to a
        shift: the reliable start for transient events), uniformly random windows
        (alphacsc's ``"chunk"``), Gaussian atoms or given atoms. ``alpha_scale`` is a
        fraction of ``α_max`` on these initial atoms, so the same ``alpha_scale`` gives a
        larger ``alpha_`` with ``"events"`` (atoms that match the events) than with
        ``"chunk"``.
    coding_options : dict, optional
        Options of the CSC method (``max_iter``, ``tol``) during learning and ``transform``.
    dead_atoms : {"resample", "keep"}, default="resample"
    random_state : None, int or Generator
    verbose : bool, default=False
    callback : callable, optional
        ``callback(Info)`` after each alternation; return True to stop.
    sample_rate : float, optional
        Of the training signals (Hz); kept in the model file and checked by ``transform``.

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_channels, atom_length)
    alpha_ : float
    n_channels_ : int
    n_iter_ : int
    status_ : Status
    history_ : list of dict
        Per alternation: the mean CSC objective, atoms resampled, signals seen, time.
    n_resampled_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((3, 2, 300))
    >>> cdl = ConvolutionalDictionaryLearning(4, 20, max_iter=3, random_state=0).fit(X)
    >>> cdl.components_.shape, cdl.transform(X).shape, cdl.n_iter_
    ((4, 2, 20), (3, 4, 281), 3)
    """

    def __init__(self, n_atoms: int = 8, atom_length: int = 64, *, alpha: float | None = None,
                 alpha_scale: float = 0.1, method: str = "fista", max_iter: int = 50,
                 tol: float = 1e-4, rank1: bool = False, positive: bool = False,
                 forget: float | None = None, batch_size: int | None = None,
                 window: int | None = None, init: Any = "events",
                 coding_options: dict[str, Any] | None = None, dead_atoms: str = "resample",
                 random_state: Any = None, verbose: bool = False,
                 callback: Callable[[Info], Any] | None = None,
                 sample_rate: float | None = None) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        check_positive_int(self.n_atoms, "n_atoms")
        check_positive_int(self.atom_length, "atom_length")
        if csc_method_spec(self.method).penalty != "l1":
            raise ValueError(f"method must be a lasso (l1) CSC method; got {self.method!r}")
        check_choice(self.dead_atoms, "dead_atoms", {"resample", "keep"})
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
        if self.sample_rate is not None and not (
                isinstance(self.sample_rate, numbers.Real) and self.sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive number (Hz); got "
                             f"{self.sample_rate!r}")

    def _signals(self, X: Any):
        self._check_params()
        xp, X3 = signal_windows(X, self.window, owner=type(self).__name__)
        if int(self.atom_length) > int(X3.shape[2]):
            raise ValueError(f"atom_length ({self.atom_length} samples) is longer than the "
                             f"signals X ({int(X3.shape[2])} samples); use atoms of at most "
                             f"{int(X3.shape[2])} samples")
        return xp, X3

    def _coding_options(self) -> dict[str, Any]:
        opts = dict(self.coding_options or {})
        opts["alpha"] = self.alpha_
        if self.positive:
            opts["positive"] = True
        return opts

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' or 'partial_fit' before using this estimator.")

    def _set_fitted(self, state: LearningState) -> None:
        self._state = state
        self.components_ = state.dictionary
        self.alpha_ = float(state.aux.alpha) * float(state.scale)  # in X's units
        self.n_channels_ = int(state.dictionary.shape[1])
        self.n_iter_ = state.n_iter
        self.history_ = state.history
        self.n_resampled_ = state.n_resampled

    # ------------------------------------------------------------------ API
    def fit(self, X: Any, y: Any = None) -> ConvolutionalDictionaryLearning:
        """Learn the atoms from signals ``X`` (batch, or online when ``batch_size`` is set)."""
        _, X3 = self._signals(X)
        res = learn_conv_dictionary(
            X3, self.n_atoms, self.atom_length, alpha=self.alpha, alpha_scale=self.alpha_scale,
            method=self.method, positive=self.positive, rank1=self.rank1,
            max_iter=self.max_iter, tol=self.tol, batch_size=self.batch_size,
            forget=self.forget, init=self.init, coding_options=self.coding_options,
            dead_atoms=self.dead_atoms, random_state=self.random_state,
            callback=self.callback, verbose=self.verbose)
        self.result_ = res
        self._set_fitted(res.state)
        self.status_ = res.status
        warn_status(type(self).__name__, res.status)
        return self

    def partial_fit(self, X: Any, y: Any = None) -> ConvolutionalDictionaryLearning:
        """One online step (coding + dictionary step from the statistics kept with the
        forgetting weight) on the signals or windows ``X``; the first call initialises the
        atoms and ``alpha_`` from ``X``. Call it on consecutive windows of a recording that
        does not fit in memory."""
        xp, X3 = self._signals(X)
        n, C, T = (int(s) for s in X3.shape)
        upd = ConvDictionaryUpdate(C, self.atom_length, rank1=self.rank1, online=True,
                                   forget=self.forget)
        Xf = xp.reshape(X3, (n, C * T))
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        if not hasattr(self, "components_"):
            state = start_conv_state(X3, check_positive_int(self.n_atoms, "n_atoms"),
                                     updater=upd, init=self.init, alpha=self.alpha,
                                     alpha_scale=self.alpha_scale, positive=self.positive,
                                     rng=self._rng, xp=xp)
        else:
            if C != self.n_channels_:
                raise ValueError(f"X has {C} channel(s), but {type(self).__name__} was fitted "
                                 f"on {self.n_channels_}")
            st = self._state
            aux = dataclasses.replace(st.aux, ztz=to_namespace(st.aux.ztz, xp, X3),
                                      ztX=to_namespace(st.aux.ztX, xp, X3))
            state = dataclasses.replace(st, dictionary=to_namespace(st.dictionary, xp, X3),
                                        aux=aux)
        # learning runs on X / s with the first batch's scale s (dictlearn/_scale.py)
        sc = Scale(float(state.scale), xp)
        coder = ConvCodingStep(C, self.method, float(state.aux.alpha), bool(self.positive),
                               dict(self.coding_options or {}))
        new, _, obj = learning_step(state, sc.down(Xf), updater=upd, coder=coder, xp=xp,
                                    dead_atoms=self.dead_atoms, rng=self._rng)
        unscale_history(new.history[-1:], sc)
        ok = finite(alternation_value(new, obj, xp=xp))
        self._set_fitted(new if ok else state)  # the non-finite rule: keep the last good
        self.status_ = Status.max_iter_reached if ok else Status.nonfinite
        warn_status(type(self).__name__, self.status_)
        return self

    def transform(self, X: Any, sample_rate: float | None = None) -> Any:
        """Activations ``X.shape[:-2] + (n_atoms, n_times − atom_length + 1)`` on the learned
        atoms with ``alpha_`` (a list for a list of signals); ``sample_rate`` (Hz) must match
        the training one when both are known."""
        self._check_fitted()
        _check_rate(self.sample_rate, sample_rate, type(self).__name__)
        return _code(X, self.components_, n_channels=self.n_channels_, method=self.method,
                     options=self._coding_options(), owner=type(self).__name__)

    def inverse_transform(self, Z: Any) -> Any:
        """Signals ``Σ_k d_k ∗ z_k`` from activations (a list for a list)."""
        self._check_fitted()
        return _reconstruct(Z, self.components_)

    # ------------------------------------------------------------------ persistence
    def _schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        self._check_params()
        Status(meta["status_"])
        if not isinstance(meta.get("aux"), dict) or set(meta["aux"]) != {"t", "alpha"}:
            raise ValueError("the learner's state must hold the scalars ['alpha', 't']")
        K, C, L = int(self.n_atoms), int(meta["n_channels_"]), int(self.atom_length)
        return {"components_": (K, C, L), "aux__ztz": (K, K, 2 * L - 1),
                "aux__ztX": (K, C, L)}

    def save(self, file: Any) -> Any:
        """Save the fitted model (``.npz`` without pickle, :func:`dictlearn._io.save_model`):
        the atoms, the online statistics (so ``partial_fit`` resumes after :meth:`load`),
        ``alpha_`` and the parameters, ``sample_rate`` included. Returns the path written."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "callback"}
        rs = params.get("random_state")
        params["random_state"] = int(rs) if isinstance(rs, numbers.Integral) else None
        if not isinstance(params.get("init"), str):
            params["init"] = "events"
        st = self._state
        meta = {"n_iter_": int(self.n_iter_), "n_channels_": int(self.n_channels_),
                "n_resampled_": int(self.n_resampled_),
                "n_samples_seen": int(st.n_samples_seen), "status_": self.status_.value,
                "history_": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                              for k, v in h.items()} for h in self.history_],
                "aux": {"t": int(st.aux.t), "alpha": float(st.aux.alpha)},
                "scale": float(st.scale)}
        return save_model(file, type(self).__name__, params, meta,
                          {"components_": st.dictionary, "aux__ztz": st.aux.ztz,
                           "aux__ztX": st.aux.ztX})

    @classmethod
    def load(cls, file: Any) -> ConvolutionalDictionaryLearning:
        """Load a model written by :meth:`save` (NumPy arrays; ``partial_fit`` resumes)."""
        return load_model(file, cls, cls._schema, cls._restore)

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any]
                 ) -> ConvolutionalDictionaryLearning:
        est = self
        if not float(meta["aux"]["alpha"]) >= 0:
            raise ValueError(f"its alpha is {meta['aux']['alpha']!r}")
        aux = ConvStatistics(arrays["aux__ztz"], arrays["aux__ztX"], int(meta["aux"]["t"]),
                             float(meta["aux"]["alpha"]))
        est._set_fitted(LearningState(arrays["components_"], aux, int(meta["n_iter_"]),
                                      int(meta["n_samples_seen"]), int(meta["n_resampled_"]),
                                      list(meta["history_"]), Scale.saved(meta)))
        est.status_ = Status(meta["status_"])
        return est
