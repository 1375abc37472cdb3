r"""Frame-based decomposition: a dictionary of frames learned by any learner, each frame coded
by any :func:`dictlearn.sparse_encode` method, the signal resynthesised by overlap-add.

The pipeline of :class:`FrameDecomposition`, for analysis window :math:`w`:

1. :func:`~dictlearn.signal.frame` cuts the signal into windowed frames :math:`f_m`
   (each a row of :math:`C \cdot L` values, channels concatenated);
2. mean removal (``remove_mean=True``): per frame and channel the component along the window,
   :math:`\mu_{m,c} = \langle f_{m,c}, w\rangle / \langle w, w\rangle`, is taken out,
   :math:`f'_{m,c} = f_{m,c} - \mu_{m,c} w` (for a rectangular window: the frame's mean; for a
   tapered one: the segment's DC, windowed, so frames stay tapered);
3. gain (``normalize=True``): :math:`g_m = \|f'_m\|_2` (1 for a silent frame: one whose
   :math:`\|f'_m\|` is within the mean removal's rounding, :math:`8\epsilon\sqrt{CL}\,
   \|f_m\|`; and 1 for every frame when ``normalize=False``), :math:`u_m = f'_m / g_m`;
4. the rows :math:`u_m` are what :class:`~dictlearn.DictionaryLearning` learns from and what
   its coding step codes: :math:`u_m \approx z_m D`.

:meth:`FrameDecomposition.inverse_transform` undoes every step exactly:
:math:`\hat f_m = g_m z_m D + \mu_m \otimes w`, then :func:`~dictlearn.signal.overlap_add`
(which removes the padding), so exact codes give back the signal to rounding.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._base import BaseEstimator, TransformerMixin, store_params
from .._io import load_model, save_model
from .._loop import Status
from .._validation import check_array, check_positive_int
from .._xp import device_of, get_namespace, to_namespace
from ..learning import DictionaryLearning, learner_spec
from .framing import FrameLayout, check_cola, frame, get_frame_window, overlap_add

__all__ = ["FrameCodes", "FrameDecomposition"]


@dataclass(frozen=True, eq=False)
class FrameCodes:
    """What :meth:`FrameDecomposition.transform` returns.

    Attributes
    ----------
    codes : array of shape (n_frames, n_atoms)
    layout : FrameLayout
        From :func:`~dictlearn.signal.frame`: lengths, padding, window, hop.
    means : array of shape (n_frames, n_channels)
        :math:`\\mu_{m,c}` (zeros when ``remove_mean=False``).
    gains : array of shape (n_frames,)
        :math:`g_m` (ones when ``normalize=False``).
    """

    codes: Any
    layout: FrameLayout
    means: Any
    gains: Any


def _as_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    return bool(value)


class FrameDecomposition(TransformerMixin, BaseEstimator):
    r"""Sparse decomposition of signals frame by frame, with exact overlap-add resynthesis.

    Parameters
    ----------
    frame_length : int, default=256
        :math:`L`, samples per frame (per channel).
    hop : int, optional
        :math:`H`; default ``frame_length // 2``. The window/hop pair must be COLA
        (:func:`~dictlearn.signal.check_cola`).
    window : None, str, tuple or array, default="hann"
        Analysis window (see :func:`~dictlearn.signal.get_frame_window`).
    n_atoms : int, default=64
    learner : str, default="online"
        Any learner of :data:`dictlearn.learning.LEARNERS` (``"online"``, ``"mod"``,
        ``"ksvd"``, ``"olshausen_field"``).
    method : str, default="omp"
        Any :func:`dictlearn.sparse_encode` method, used to learn and to code.
    alpha : float, optional
        Penalty of the l1 methods (the learner's default when None; it is relative to the
        frames' scale, so set it, or use ``normalize=True`` for frames of unit norm).
    n_nonzero_coefs : int, optional
        Nonzeros per frame for the greedy methods; default ``max(1, n_atoms // 8)`` (8 for
        64 atoms).
    remove_mean : bool, default=True
        Take out each frame's windowed DC per channel (restored by ``inverse_transform``).
    normalize : bool, default=False
        Code frames of unit norm and keep their gains.
    synthesis : {"ola", "wola"}, default="ola"
        Overlap-add rule (:func:`~dictlearn.signal.frame`); ``"wola"`` for ``"sqrt_hann"``.
    batch_size : int, default=256
        Mini-batch size of the online learners.
    max_iter : int, optional
        Learner iterations; default: for the mini-batch learners (``"online"``,
        ``"olshausen_field"``) about 10 passes over the frames,
        ``max(10, ceil(10 * n_frames / batch_size))`` mini-batches; for MOD and K-SVD the
        learner's default (50 sweeps).
    tol : float, default=1e-6
    coding_options : dict, optional
        Extra options of the coding method.
    sample_rate : int, optional
        Samples per second of the signals; kept (and saved) so that a dictionary is reused
        at its own rate.
    random_state : None, int or Generator
    verbose : bool, default=False

    Attributes
    ----------
    components_ : array of shape (n_atoms, n_channels * frame_length)
        Frame atoms (channels concatenated), in the fitted signal's array library.
    n_channels_ : int
    n_features_in_ : int
        ``n_channels * frame_length``.
    n_iter_ : int
    status_ : Status
    learner_ : DictionaryLearning
        The fitted learner (not saved).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(4000) / 8000
    >>> x = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1250 * t)
    >>> est = FrameDecomposition(64, n_atoms=32, n_nonzero_coefs=4, max_iter=50,
    ...                          random_state=0).fit(x)
    >>> fc = est.transform(x)
    >>> fc.codes.shape, est.components_.shape
    ((126, 32), (32, 64))
    >>> x_hat = est.inverse_transform(fc)
    >>> bool(10 * np.log10(np.sum(x**2) / np.sum((x - x_hat)**2)) > 20)
    True
    """

    def __init__(self, frame_length: int = 256, *, hop: int | None = None,
                 window: Any = "hann", n_atoms: int = 64, learner: str = "online",
                 method: str = "omp", alpha: float | None = None,
                 n_nonzero_coefs: int | None = None, remove_mean: bool = True,
                 normalize: bool = False, synthesis: str = "ola", batch_size: int = 256,
                 max_iter: int | None = None, tol: float = 1e-6,
                 coding_options: dict[str, Any] | None = None, sample_rate: int | None = None,
                 random_state: Any = None, verbose: bool = False) -> None:
        store_params(self, locals())

    # ----------------------------------------------------------------- helpers
    def _hop(self) -> int:
        L = check_positive_int(self.frame_length, "frame_length")
        if self.hop is None:
            return max(1, L // 2)
        return check_positive_int(self.hop, "hop", upper=L, upper_name="frame_length")

    def _check_params(self) -> None:
        check_cola(self.window, self.frame_length, self._hop(), synthesis=self.synthesis)
        check_positive_int(self.n_atoms, "n_atoms")
        _as_bool(self.remove_mean, "remove_mean")
        _as_bool(self.normalize, "normalize")
        if self.sample_rate is not None:
            check_positive_int(self.sample_rate, "sample_rate")

    def _learner(self, n_frames: int = 0) -> DictionaryLearning:
        """The :class:`~dictlearn.DictionaryLearning` this decomposition learns and codes with
        (``n_frames``: the frames it learns from, for the default ``max_iter``)."""
        n_atoms = check_positive_int(self.n_atoms, "n_atoms")
        k = max(1, n_atoms // 8) if self.n_nonzero_coefs is None else self.n_nonzero_coefs
        max_iter = self.max_iter
        if max_iter is None and learner_spec(self.learner).minibatch:
            batch = check_positive_int(self.batch_size, "batch_size")
            max_iter = max(10, math.ceil(10 * n_frames / batch))
        return DictionaryLearning(
            n_atoms, method=self.learner, coding_method=self.method, alpha=self.alpha,
            n_nonzero_coefs=k, batch_size=self.batch_size, max_iter=max_iter, tol=self.tol,
            coding_options=self.coding_options, random_state=self.random_state,
            verbose=self.verbose)

    def _frames(self, x: Any) -> tuple[Any, FrameLayout, Any, Any]:
        """Frames of ``x`` with mean and gain taken out: ``(U, layout, means, gains)``."""
        self._check_params()
        F, layout = frame(x, self.frame_length, self._hop(), window=self.window,
                          synthesis=self.synthesis)
        if hasattr(self, "n_channels_") and layout.n_channels != self.n_channels_:
            raise ValueError(f"x has {layout.n_channels} channel(s), but this "
                             f"{type(self).__name__} was fitted on {self.n_channels_}")
        xp = get_namespace(F)
        n, C, L = F.shape[0], layout.n_channels, layout.frame_length
        F3 = xp.reshape(F, (n, C, L))
        w = to_namespace(layout.window, xp, F)
        if self.remove_mean:
            means = xp.sum(F3 * w, axis=2) / float(np.sum(layout.window ** 2))
            F3 = F3 - means[:, :, None] * w
        else:
            means = xp.zeros((n, C), dtype=F.dtype, device=device_of(F))
        U = xp.reshape(F3, (n, C * L))
        gains = xp.ones((n,), dtype=F.dtype, device=device_of(F))
        if self.normalize:
            # a frame is silent when what is left is zero or the mean removal's rounding
            finfo = xp.finfo(F.dtype)
            floor = (8 * float(finfo.eps) * (C * L) ** 0.5) * xp.sqrt(xp.sum(F * F, axis=1))
            norms = xp.sqrt(xp.sum(U * U, axis=1))
            gains = xp.where(norms > floor + float(finfo.smallest_normal), norms, gains)
            U = U / gains[:, None]
        return U, layout, means, gains

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")

    # ----------------------------------------------------------------- API
    def fit(self, x: Any, y: Any = None) -> FrameDecomposition:
        """Learn the frame dictionary from ``x`` ((n_times,), (n_channels, n_times) or a list
        of such)."""
        for attr in ("n_channels_", "components_"):
            if hasattr(self, attr):
                delattr(self, attr)
        U, layout, _, _ = self._frames(x)
        learner = self._learner(int(U.shape[0])).fit(U)
        self.learner_ = learner
        self.components_ = learner.components_
        self.n_channels_ = layout.n_channels
        self.n_features_in_ = layout.n_features
        self.n_iter_ = int(learner.n_iter_)
        self.status_ = learner.status_
        return self

    def transform(self, x: Any) -> FrameCodes:
        """Code every frame of ``x``: a :class:`FrameCodes` (codes, layout, means, gains)."""
        self._check_fitted()
        U, layout, means, gains = self._frames(x)
        xp = get_namespace(U)
        D = to_namespace(self.components_, xp, U)
        _, coder = self._learner()._parts(self.n_features_in_)
        return FrameCodes(coder(U, D), layout, means, gains)

    def inverse_transform(self, frame_codes: FrameCodes) -> Any:
        """The signal (same shape as ``x``, or a list) from :meth:`transform`'s codes:
        :math:`\\hat f_m = g_m z_m D + \\mu_m \\otimes w`, overlap-added, padding removed."""
        self._check_fitted()
        if not isinstance(frame_codes, FrameCodes):
            raise TypeError("inverse_transform takes the FrameCodes that transform returned; "
                            f"got {type(frame_codes).__name__}")
        layout = frame_codes.layout
        if layout.n_features != self.n_features_in_:
            raise ValueError(f"the codes' layout has frames of {layout.n_features} values, but "
                             f"this {type(self).__name__} codes {self.n_features_in_}")
        D0 = self.components_
        Z = check_array(frame_codes.codes, "codes", like=None,
                        shape=(layout.n_frames, int(D0.shape[0])))
        xp = get_namespace(Z)
        D = to_namespace(D0, xp, Z)
        n, C, L = layout.n_frames, layout.n_channels, layout.frame_length
        means = check_array(frame_codes.means, "means", like=Z, shape=(n, C),
                            axes=("n_frames", "n_channels"))
        gains = check_array(frame_codes.gains, "gains", like=Z, ndim=1, shape=(n,),
                            axes=("n_frames",))
        w = to_namespace(layout.window, xp, Z)
        F = xp.reshape((Z @ D) * gains[:, None], (n, C, L)) + means[:, :, None] * w
        return overlap_add(xp.reshape(F, (n, C * L)), layout)

    # ----------------------------------------------------------------- persistence
    def _schema(self, meta: dict[str, Any]) -> dict[str, tuple]:
        self._check_params()
        self._learner()._parts(int(meta["n_features_in_"]))  # the learner and coder too
        Status(meta["status_"])
        m = int(meta["n_features_in_"])
        if m != int(meta["n_channels_"]) * int(self.frame_length):
            raise ValueError(f"n_features_in_={m} is not n_channels_ * frame_length")
        return {"components_": (int(self.n_atoms), m), "window": (int(self.frame_length),)}

    def save(self, file: Any) -> Any:
        """Save the fitted model (``.npz``, no pickle; :func:`dictlearn._io.save_model`): the
        parameters (``sample_rate`` among them), the atoms and the window."""
        self._check_fitted()
        params = dict(self.get_params())
        rs = params["random_state"]
        params["random_state"] = int(rs) if isinstance(rs, numbers.Integral) else None
        w, _ = get_frame_window(self.window, self.frame_length)
        if not isinstance(self.window, (str, tuple)) and self.window is not None:
            params["window"] = None  # the array is saved as "window"
        elif isinstance(self.window, tuple):
            params["window"] = list(self.window)
        meta = {"n_features_in_": int(self.n_features_in_), "n_channels_": int(self.n_channels_),
                "n_iter_": int(self.n_iter_), "status_": self.status_.value,
                "window_is_array": params["window"] is None and self.window is not None}
        return save_model(file, type(self).__name__, params, meta,
                          {"components_": self.components_, "window": w})

    @classmethod
    def load(cls, file: Any) -> FrameDecomposition:
        """Load a model written by :meth:`save` (host NumPy atoms)."""
        return load_model(file, cls, cls._schema, cls._restore)

    def _restore(self, meta: dict[str, Any], arrays: dict[str, Any]) -> FrameDecomposition:
        est = self
        if meta.get("window_is_array"):
            est.window = arrays["window"]
        elif isinstance(est.window, list):
            est.window = tuple(est.window)
        est.components_ = arrays["components_"]
        est.n_features_in_ = int(meta["n_features_in_"])
        est.n_channels_ = int(meta["n_channels_"])
        est.n_iter_ = int(meta["n_iter_"])
        est.status_ = Status(meta["status_"])
        return est
