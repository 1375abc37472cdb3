"""Training signals for convolutional dictionary learning: validation, windows of long or
uneven recordings, and the absolute penalty from ``alpha_scale``."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .._validation import check_array, check_nonneg_scalar, check_positive_int
from .._xp import get_namespace
from ._conv import ConvOperator

__all__ = ["prepare_signals", "resolve_alpha", "signal_windows"]


def prepare_signals(X: Any, *, owner: str = "learn_conv_dictionary") -> tuple[ModuleType, Any]:
    """Validate training signals: ``(xp, X3)`` with ``X3`` of shape (n, C, T), not all zero."""
    X = check_array(X, "X", owner=owner, ndim=(1, 2, 3), allow_all_zero=False)
    xp = get_namespace(X)
    if X.ndim < 3:
        X = xp.reshape(X, (1,) * (3 - X.ndim) + tuple(X.shape))
    if int(X.shape[2]) < 2:
        raise ValueError(f"X has one time sample (shape {tuple(X.shape)}); a signal needs at "
                         "least 2")
    return xp, X


def signal_windows(X: Any, window: int | None, *, owner: str) -> tuple[ModuleType, Any]:
    """Training signals as one array (n, C, T): an array as :func:`prepare_signals` gives it;
    a list of signals (n_channels, n_times) of different lengths, or any signals when
    ``window`` is given, cut into consecutive windows of ``window`` samples (default for a
    list: the shortest signal's length), the last one of each signal zero-padded."""
    listed = isinstance(X, (list, tuple)) and all(
        hasattr(x, "shape") or isinstance(x, (list, tuple)) for x in X)
    if not listed or (window is None and _same_shapes(X)):
        xp, X3 = prepare_signals(X, owner=owner)
        parts = [X3[i, ...] for i in range(int(X3.shape[0]))] if window is not None else None
    else:
        if not len(X):
            raise ValueError("X is an empty list of signals")
        checked = [prepare_signals(x, owner=owner) for x in X]
        xp, parts = checked[0][0], [x3[0, ...] for _, x3 in checked]
        if len({int(p.shape[0]) for p in parts}) > 1:
            raise ValueError(f"the signals of X must have one number of channels; got "
                             f"{sorted({int(p.shape[0]) for p in parts})}")
    if parts is None:
        return xp, X3
    w = min(int(p.shape[1]) for p in parts) if window is None else check_positive_int(
        window, "window")
    out = []
    for p in parts:
        T = int(p.shape[1])
        for s in range(0, T, w):
            piece = p[:, s:min(s + w, T)]
            if int(piece.shape[1]) < w:
                pad = xp.zeros((int(p.shape[0]), w - int(piece.shape[1])), dtype=p.dtype,
                               device=getattr(p, "device", None))
                piece = xp.concat([piece, pad], axis=1)
            out.append(piece)
    return xp, xp.stack(out)


def _same_shapes(X: Any) -> bool:
    shapes = {tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape) for x in X}
    return len(shapes) <= 1


def resolve_alpha(X3: Any, D: Any, *, alpha: float | None, alpha_scale: float | None,
                  positive: bool, xp: ModuleType) -> float:
    """The absolute penalty: ``alpha`` when given, else ``alpha_scale · max_n ‖𝒟ᵀx_n‖∞`` on
    the dictionary ``D`` (``α_max``: the smallest penalty that zeroes every activation)."""
    if alpha is not None:
        return check_nonneg_scalar(alpha, "alpha")
    if alpha_scale is None:
        raise ValueError("give alpha (absolute) or alpha_scale (a fraction of alpha_max); "
                         "got None for both")
    scale = check_nonneg_scalar(alpha_scale, "alpha_scale")
    amax = ConvOperator.build(D, int(X3.shape[2]), xp=xp).alpha_max(X3, positive=positive)
    return scale * float(xp.max(amax))
