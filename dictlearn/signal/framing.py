r"""Framing, both ways: :func:`frame` cuts signals into windowed frames with a hop, and
:func:`overlap_add` puts (possibly modified) frames back by weighted overlap-add.

With an analysis window :math:`w` of length :math:`L`, hop :math:`H` and a synthesis window
:math:`s` (``synthesis="ola"``: :math:`s = 1`; ``"wola"``: :math:`s = w`), frame :math:`m` of a
signal :math:`x` is :math:`f_m[n] = w[n]\,x[mH + n]` and the inverse is

.. math:: \hat x[t] = \frac{\sum_m s[t - mH]\, f_m[t - mH]}{\sum_m s[t - mH]\, w[t - mH]}.

The pair is accepted when the product :math:`p = s\,w` satisfies the constant-overlap-add
condition (COLA) :math:`\sum_m p[t - mH] = C` for every :math:`t` (:func:`check_cola`), so the
denominator is the constant :math:`C` on every sample the padding keeps: ``"ola"`` divides the
overlap-added frames by the constant sum of :math:`w` (Hann at hop :math:`L/2`: :math:`C = 1`),
``"wola"`` weights them by :math:`w` again and divides by the constant sum of :math:`w^2`
(``"sqrt_hann"`` at hop :math:`L/2`: :math:`C = 1`). Untouched frames come back exactly (to
rounding); modified frames come back as their weighted average, never amplified.

Padding (``pad=True``) puts :math:`L - H` zeros before each signal and enough after it that
every sample lies where all the frames that can cover it exist, so edge samples get the full
weight :math:`C`; :func:`overlap_add` removes it. Named windows are the periodic windows of
:func:`scipy.signal.get_window` (``fftbins=True``), built once on the host and moved once to the
signal's array library and device; everything else is Array-API code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .._validation import as_array, check_array, check_choice, check_positive_int
from .._xp import device_of, get_namespace, to_host, to_namespace

__all__ = ["FrameLayout", "check_cola", "cola_hops", "frame", "get_frame_window",
           "overlap_add"]

#: Relative deviation of the overlap-added window from its mean that still counts as COLA.
COLA_RTOL = 1e-10


@dataclass(frozen=True)
class FrameLayout:
    """What :func:`overlap_add` needs to rebuild the signals that :func:`frame` cut.

    Attributes
    ----------
    frame_length, hop : int
    n_channels : int
        Channels per signal (1 for 1-D signals); a frame is its channels concatenated.
    lengths : tuple of int
        ``n_times`` of each signal.
    pads : tuple of (int, int)
        Zeros added before and after each signal.
    offsets : tuple of int
        ``frames[offsets[i]:offsets[i + 1]]`` are the frames of signal ``i``.
    window_name : str
        The window's name, ``"rectangular"`` for None, ``"array"`` for a given array.
    window : numpy.ndarray of shape (frame_length,)
        The analysis window (host float64, read-only; not compared by ``==``).
    synthesis : {"ola", "wola"}
    scale : float
        The COLA constant :math:`C`.
    ndim : {1, 2}
        The signals' number of dimensions.
    is_list : bool
        Whether :func:`frame` was given a list (then :func:`overlap_add` returns one).
    """

    frame_length: int
    hop: int
    n_channels: int
    lengths: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    offsets: tuple[int, ...]
    window_name: str
    window: np.ndarray = field(compare=False, repr=False)
    synthesis: str = "ola"
    scale: float = 1.0
    ndim: int = 1
    is_list: bool = False

    @property
    def n_frames(self) -> int:
        """Total number of frames (all signals)."""
        return self.offsets[-1]

    @property
    def n_features(self) -> int:
        """Columns of the frame matrix: ``n_channels * frame_length``."""
        return self.n_channels * self.frame_length

    def synthesis_window(self) -> np.ndarray:
        """:math:`s`: ones (``"ola"``) or the analysis window (``"wola"``)."""
        return self.window if self.synthesis == "wola" else np.ones_like(self.window)


# --------------------------------------------------------------------------- windows
def get_frame_window(window: Any, frame_length: int) -> tuple[np.ndarray, str]:
    """The analysis window as a host float64 array of length ``frame_length``, and its name.

    ``None`` is rectangular; a str or tuple is passed to :func:`scipy.signal.get_window` with
    ``fftbins=True`` (the periodic window); ``"sqrt_<name>"`` is the square root of the
    (non-negative) window ``<name>``; an array is used as given (real, finite, not all zero).

    Examples
    --------
    >>> w, name = get_frame_window("hann", 4)
    >>> w.tolist(), name
    ([0.0, 0.5, 1.0, 0.5], 'hann')
    """
    frame_length = check_positive_int(frame_length, "frame_length")
    if window is None:
        w, name = np.ones(frame_length), "rectangular"
    elif isinstance(window, (str, tuple)):
        from scipy.signal import get_window

        name = window if isinstance(window, str) else repr(window)
        root = isinstance(window, str) and window.startswith("sqrt_")
        spec = window[len("sqrt_"):] if root else window
        try:
            w = np.asarray(get_window(spec, frame_length, fftbins=True), dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"window {name!r} is not a window scipy.signal.get_window knows "
                             f"({exc}); use e.g. 'hann', 'sqrt_hann', 'hamming', None or an "
                             "array") from None
        if root:
            if np.any(w < 0):
                raise ValueError(f"window {name!r}: {spec!r} has negative values; its square "
                                 "root is not defined")
            w = np.sqrt(w)
    else:
        a = as_array(window, "window")
        if not isinstance(a, np.ndarray):
            a = to_host(a)  # a window is a parameter: read on the host, moved with the frames
        if a.ndim != 1 or a.shape[0] != frame_length:
            raise ValueError(f"window must be a 1-D array of length frame_length="
                             f"{frame_length}; got shape {tuple(a.shape)}")
        if a.dtype.kind not in "fiu":
            raise TypeError(f"window must be a real array; got dtype {a.dtype}")
        w, name = np.array(a, dtype=np.float64), "array"
        if not np.all(np.isfinite(w)):
            raise ValueError("window contains NaN or infinity")
        if not np.any(w != 0):
            raise ValueError("window is all zeros")
    w.setflags(write=False)
    return w, name


def _envelope(p: np.ndarray, hop: int) -> np.ndarray:
    """One period (length ``hop``) of :math:`\\sum_m p[t - mH]`: ``out[r] = Σ_j p[r + jH]``."""
    n_blocks = -(-p.shape[0] // hop)
    padded = np.zeros(n_blocks * hop)
    padded[:p.shape[0]] = p
    return padded.reshape(n_blocks, hop).sum(axis=0)


def _is_cola(p: np.ndarray, hop: int) -> tuple[bool, float]:
    env = _envelope(p, hop)
    c = float(env.mean())
    ok = c > 0 and float(np.max(np.abs(env - c))) <= COLA_RTOL * c
    return ok, c


def _product(w: np.ndarray, synthesis: str) -> np.ndarray:
    return w * w if synthesis == "wola" else w


def cola_hops(window: Any, frame_length: int, *, synthesis: str = "ola") -> list[int]:
    """The hops dividing ``frame_length`` at which the pair is COLA, largest first.

    Examples
    --------
    >>> cola_hops("hann", 8)
    [4, 2, 1]
    """
    w, _ = get_frame_window(window, frame_length)
    p = _product(w, check_choice(synthesis, "synthesis", ("ola", "wola")))
    divisors = [h for h in range(frame_length, 0, -1) if frame_length % h == 0]
    return [h for h in divisors if _is_cola(p, h)[0]]


def check_cola(window: Any, frame_length: int, hop: int, *, synthesis: str = "ola") -> float:
    r"""Check that the window/hop pair satisfies COLA; return the constant :math:`C`.

    The condition is on :math:`p = w` (``synthesis="ola"``) or :math:`p = w^2` (``"wola"``):
    :math:`\sum_m p[t - mH] = C > 0` for all :math:`t`, to a relative :data:`COLA_RTOL`.

    Raises
    ------
    ValueError
        Naming the pair (window, frame_length, hop) and the hops that work.

    Examples
    --------
    >>> round(check_cola("hann", 512, 256), 12)
    1.0
    >>> round(check_cola("sqrt_hann", 512, 256, synthesis="wola"), 12)
    1.0
    >>> check_cola("hann", 512, 200)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: window 'hann' with frame_length=512 and hop=200 is not COLA ...work: [256, ..., 1]
    """
    frame_length = check_positive_int(frame_length, "frame_length")
    hop = check_positive_int(hop, "hop", upper=frame_length, upper_name="frame_length")
    synthesis = check_choice(synthesis, "synthesis", ("ola", "wola"))
    w, name = get_frame_window(window, frame_length)
    ok, c = _is_cola(_product(w, synthesis), hop)
    if ok:
        return c
    hops = [h for h in cola_hops(w, frame_length, synthesis=synthesis)][:10]
    what = repr(name) if name != "array" else "the given window array"
    msg = (f"window {what} with frame_length={frame_length} and hop={hop} is not COLA "
           f"(constant overlap-add; synthesis={synthesis!r}), so overlap_add cannot invert "
           f"frame; ")
    msg += f"hops that work: {hops}" if hops else "no hop dividing frame_length works"
    other = "wola" if synthesis == "ola" else "ola"
    if _is_cola(_product(w, other), hop)[0]:
        msg += f"; or keep hop={hop} with synthesis={other!r}"
    raise ValueError(msg)


# --------------------------------------------------------------------------- framing
def _check_signals(x: Any) -> tuple[ModuleType, list[Any], bool, int]:
    """Validated 2-D (n_channels, n_times) signals, the namespace, list flag and ndim."""
    is_list = isinstance(x, list)
    items = x if is_list else [x]
    if is_list and not items:
        raise ValueError("x is an empty list; give at least one signal")
    arrays = [as_array(a, f"x[{i}]" if is_list else "x") for i, a in enumerate(items)]
    xp = get_namespace(*arrays)
    out, ndims, channels = [], set(), set()
    for i, a in enumerate(arrays):
        name = f"x[{i}]" if is_list else "x"
        a = check_array(a, name, ndim=(1, 2), like=None)
        if a.shape[-1] < 2:
            raise ValueError(f"{name} has {a.shape[-1]} sample; framing needs a signal of at "
                             "least 2 samples (shape (n_times,) or (n_channels, n_times))")
        ndims.add(a.ndim)
        a2 = xp.reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
        channels.add(a2.shape[0])
        out.append(a2)
    if len(ndims) > 1 or len(channels) > 1:
        raise ValueError("the signals of a list must all be 1-D or all be 2-D with the same "
                         f"n_channels; got {[tuple(a.shape) for a in arrays]}")
    dtypes = {a.dtype for a in out}
    if len(dtypes) > 1:  # mixed float32/float64: work in float64
        out = [xp.astype(a, xp.float64) for a in out]
    return xp, out, is_list, ndims.pop()


def _n_frames(n_times: int, frame_length: int, hop: int, pad: bool) -> tuple[int, int, int]:
    """(n_frames, pad_before, pad_after) for one signal."""
    if not pad:
        return 1 + (n_times - frame_length) // hop, 0, 0
    before = frame_length - hop
    n = -(-(before + n_times) // hop)
    return n, before, (n - 1) * hop + frame_length - before - n_times


def _cut(a: Any, n: int, before: int, L: int, hop: int, xp: ModuleType) -> Any:
    """Frames ``(n, C, L)`` of ``a`` (C, T) with ``before`` zeros in front, without gathers:
    the padded signal is cut into blocks of ``H`` and frame ``m`` is blocks ``m .. m+R-1``
    (``R = ceil(L/H)``) concatenated, its first ``L`` samples kept."""
    C, T = a.shape
    R = -(-L // hop)
    total = (n + R - 1) * hop  # covers every frame's R blocks
    dev = device_of(a)
    parts = [xp.zeros((C, before), dtype=a.dtype, device=dev)] if before else []
    parts.append(a[:, :total - before] if before + T > total else a)
    if total > before + T:
        parts.append(xp.zeros((C, total - before - T), dtype=a.dtype, device=dev))
    padded = xp.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    blocks = xp.reshape(padded, (C, n + R - 1, hop))
    cut = xp.concat([blocks[:, r:r + n, :] for r in range(R)], axis=2) if R > 1 else blocks
    return xp.permute_dims(cut[:, :, :L], (1, 0, 2))


def frame(x: Any, frame_length: int, hop: int, *, window: Any = None, pad: bool = True,
          synthesis: str = "ola") -> tuple[Any, FrameLayout]:
    r"""Cut signals into windowed frames: ``frames[m] = w * x[:, mH : mH + L]`` (flattened).

    Parameters
    ----------
    x : array of shape (n_times,) or (n_channels, n_times), or a list of such
        Signals of a list may have different lengths (same number of channels). float32 stays
        float32; integers become float64.
    frame_length : int
        :math:`L`, at most the length of the shortest signal.
    hop : int
        :math:`H`, in ``[1, frame_length]``.
    window : None, str, tuple or array of shape (frame_length,), default=None
        Analysis window (None: rectangular); see :func:`get_frame_window`.
    pad : bool, default=True
        Pad both ends so that every sample gets the full COLA weight (undone by
        :func:`overlap_add`). With False frames start at sample 0, trailing samples that no
        full frame reaches are dropped (returned as zeros), and edge samples are divided by
        their partial weight.
    synthesis : {"ola", "wola"}, default="ola"
        The synthesis rule of :func:`overlap_add` (see the module's docstring): ``"ola"`` needs
        COLA of :math:`w`, ``"wola"`` COLA of :math:`w^2` (for ``"sqrt_hann"``).

    Returns
    -------
    frames : array of shape (n_frames, n_channels * frame_length)
        In ``x``'s array library and device; a multichannel frame is its channels
        concatenated; the frames of a list are stacked signal after signal.
    layout : FrameLayout

    Raises
    ------
    ValueError
        NaN or infinity, an empty or one-sample signal, ``frame_length`` longer than a signal,
        a window/hop pair that is not COLA (naming the hops that are).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8.0)
    >>> F, layout = frame(x, 4, 2, window="hann")
    >>> F.shape, layout.pads[0]
    ((5, 4), (2, 2))
    >>> bool(np.allclose(overlap_add(F, layout), x))
    True
    """
    frame_length = check_positive_int(frame_length, "frame_length")
    hop = check_positive_int(hop, "hop", upper=frame_length, upper_name="frame_length")
    if not isinstance(pad, (bool, np.bool_)):
        raise TypeError(f"pad must be a bool; got {type(pad).__name__}")
    xp, signals, is_list, ndim = _check_signals(x)
    for i, a in enumerate(signals):
        if a.shape[1] < frame_length:
            name = f"x[{i}]" if is_list else "x"
            raise ValueError(f"frame_length={frame_length} is longer than {name}, which has "
                             f"n_times={a.shape[1]} samples; use frame_length <= "
                             f"{a.shape[1]}")
    scale = check_cola(window, frame_length, hop, synthesis=synthesis)
    w_host, name = get_frame_window(window, frame_length)
    like = signals[0]
    w = to_namespace(w_host, xp, like)
    n_channels = int(like.shape[0])
    frames, pads, offsets, lengths = [], [], [0], []
    for a in signals:
        T = int(a.shape[1])
        n, before, after = _n_frames(T, frame_length, hop, bool(pad))
        cut = _cut(a, n, before, frame_length, hop, xp)  # (n, C, L)
        frames.append(xp.reshape(cut * w, (n, n_channels * frame_length)))
        pads.append((before, after))
        offsets.append(offsets[-1] + n)
        lengths.append(T)
    out = frames[0] if len(frames) == 1 else xp.concat(frames, axis=0)
    layout = FrameLayout(frame_length, hop, n_channels, tuple(lengths), tuple(pads),
                         tuple(offsets), name, w_host, synthesis, float(scale), ndim, is_list)
    return out, layout


# --------------------------------------------------------------------------- overlap-add
def _ola(f: Any, hop: int, n_out: int, xp: ModuleType) -> Any:
    """Overlap-add of ``f`` (n, C, L) at hop ``H`` → (C, n_out), without scatter-add: each
    frame is cut into ``R = ceil(L/H)`` blocks of ``H`` and block ``r`` of frame ``m`` is added
    to output block ``m + r``."""
    n, C, L = f.shape
    R = -(-L // hop)
    dev = device_of(f)
    if R * hop > L:
        f = xp.concat([f, xp.zeros((n, C, R * hop - L), dtype=f.dtype, device=dev)], axis=2)
    blocks = xp.reshape(f, (n, C, R, hop))
    out = xp.zeros((n + R - 1, C, hop), dtype=f.dtype, device=dev)
    for r in range(R):
        parts = ([xp.zeros((r, C, hop), dtype=f.dtype, device=dev)] if r else [])
        parts.append(blocks[:, :, r, :])
        if R - 1 - r:
            parts.append(xp.zeros((R - 1 - r, C, hop), dtype=f.dtype, device=dev))
        out = out + (xp.concat(parts, axis=0) if len(parts) > 1 else parts[0])
    out = xp.reshape(xp.permute_dims(out, (1, 0, 2)), (C, (n + R - 1) * hop))
    if out.shape[1] < n_out:  # pad=False: samples no frame reaches
        out = xp.concat([out, xp.zeros((C, n_out - out.shape[1]), dtype=f.dtype, device=dev)],
                        axis=1)
    return out[:, :n_out]


def _weight(layout: FrameLayout, n: int, n_out: int) -> np.ndarray:
    """The denominator :math:`\\sum_m s w[t - mH]` on the host, length ``n_out``."""
    p = layout.synthesis_window() * layout.window
    L, H = layout.frame_length, layout.hop
    R = -(-L // H)
    blocks = np.zeros(R * H)
    blocks[:L] = p
    blocks = blocks.reshape(R, H)
    out = np.zeros((n + R - 1, H))
    for r in range(R):
        out[r:r + n] += blocks[r]
    out = out.reshape(-1)
    return np.concatenate([out, np.zeros(max(0, n_out - out.shape[0]))])[:n_out]


def overlap_add(frames: Any, layout: FrameLayout) -> Any:
    r"""Rebuild the signals from (possibly modified) frames by weighted overlap-add.

    :math:`\hat x[t] = \sum_m s[t - mH] f_m[t - mH] / \sum_m s[t - mH] w[t - mH]` with the
    layout's synthesis window :math:`s` (module docstring); the padding is removed.

    Parameters
    ----------
    frames : array of shape (n_frames, n_channels * frame_length)
        As :func:`frame` returned them, or modified (e.g. sparse approximations).
    layout : FrameLayout
        :func:`frame`'s layout.

    Returns
    -------
    array of shape (n_times,) or (n_channels, n_times), or a list of such
        As the signals given to :func:`frame`, in ``frames``' array library and device.

    Examples
    --------
    >>> import numpy as np
    >>> x = [np.ones((2, 9)), np.zeros((2, 12))]
    >>> F, layout = frame(x, 6, 3, window="hann")
    >>> [y.shape for y in overlap_add(F, layout)]
    [(2, 9), (2, 12)]
    """
    if not isinstance(layout, FrameLayout):
        raise TypeError(f"layout must be the FrameLayout that frame returned; got "
                        f"{type(layout).__name__}")
    frames = check_array(frames, "frames", owner="overlap_add", n_features=layout.n_features)
    if frames.shape[0] != layout.n_frames:
        raise ValueError(f"frames has {frames.shape[0]} rows, but the layout holds "
                         f"{layout.n_frames} frames")
    xp = get_namespace(frames)
    L, H, C = layout.frame_length, layout.hop, layout.n_channels
    s = to_namespace(layout.synthesis_window(), xp, frames)
    out = []
    for i, T in enumerate(layout.lengths):
        lo, hi = layout.offsets[i], layout.offsets[i + 1]
        before, after = layout.pads[i]
        n_out = before + T + after
        f = xp.reshape(frames[lo:hi, :], (hi - lo, C, L)) * s
        y = _ola(f, H, n_out, xp)[:, before:before + T]
        weight = _weight(layout, hi - lo, n_out)[before:before + T]
        # COLA makes ``weight`` the constant C wherever padding gave full weight; pad=False
        # edges are divided by their partial weight, and samples of zero weight stay 0.
        covered = weight > layout.scale * np.finfo(np.float64).eps
        inv = np.where(covered, 1.0 / np.where(covered, weight, 1.0), 0.0)
        y = y * to_namespace(inv, xp, frames)
        out.append(y[0, :] if layout.ndim == 1 else y)
    return out if layout.is_list else out[0]
