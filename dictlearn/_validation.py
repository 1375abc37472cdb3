"""Input checks that raise clear errors naming the parameter, what was expected and what came.

Checks never modify their inputs; conversions return new arrays.
"""

from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any

import numpy as np

from ._xp import _is_array, device_of, float_dtype, get_namespace

__all__ = [
    "as_float_array",
    "check_dictionary",
    "check_nonneg_scalar",
    "check_positive_int",
    "prepare_signals_and_dictionary",
]


def _coerce(x: Any, name: str) -> Any:
    """Wrap non-array inputs (lists, tuples) as NumPy arrays; refuse everything else."""
    if x is None:
        raise TypeError(f"{name} must be an array; got None")
    if _is_array(x):
        return x
    if isinstance(x, (list, tuple)) or hasattr(x, "__array__"):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(f"{name} must be a numeric array; got an object array")
        return arr
    raise TypeError(f"{name} must be an array; got {type(x).__name__}")


def as_float_array(
    x: Any, name: str, *, xp: ModuleType, dtype: Any, ndim: int = 2
) -> Any:
    """Check ``x``'s dimensions, real numeric dtype and finite values; cast to ``dtype``."""
    if x.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array; got {x.ndim}-D with shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0 or x.shape[-1] == 0:
        what = "sample(s)" if x.shape[0] == 0 else "feature(s)"
        raise ValueError(
            f"{name} must not be empty: found array with 0 {what} (shape={tuple(x.shape)}) "
            "while a minimum of 1 is required."
        )
    kind_ok = (
        xp.isdtype(x.dtype, "real floating")
        or xp.isdtype(x.dtype, "integral")
        or x.dtype == xp.bool
    )
    if not kind_ok:
        raise TypeError(
            f"{name} must have a real numeric dtype (float32/float64 or integer); got {x.dtype}"
        )
    if x.dtype != dtype:
        x = xp.astype(x, dtype)
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinity")
    return x


def check_dictionary(D: Any, *, xp: ModuleType) -> None:
    """Refuse dictionaries with zero-norm atoms (rows)."""
    norms = xp.sum(D * D, axis=1)
    tiny = float(xp.finfo(D.dtype).smallest_normal)
    bad = norms <= tiny
    if bool(xp.any(bad)):
        idx = int(xp.argmax(xp.astype(bad, xp.int32)))
        raise ValueError(
            f"dictionary has zero-norm atoms (rows); the first is atom {idx}. "
            "Remove or re-initialise them."
        )


def prepare_signals_and_dictionary(X: Any, D: Any) -> tuple[ModuleType, Any, Any]:
    """Validate signals ``X`` (n_samples, n_features) and dictionary ``D`` (n_atoms, n_features).

    Returns ``(xp, X, D)`` with both arrays cast to the working float dtype (float32 only if
    both are float32), on the same device.
    """
    X = _coerce(X, "X")
    D = _coerce(D, "dictionary")
    xp = get_namespace(X, D)
    if device_of(X) != device_of(D):
        raise ValueError(
            f"X and dictionary must be on one device; got {device_of(X)} and {device_of(D)}"
        )
    for a, name in ((X, "X"), (D, "dictionary")):
        if a.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array; got {a.ndim}-D with shape {tuple(a.shape)}"
            )
    dtype = float_dtype(xp, X, D)
    X = as_float_array(X, "X", xp=xp, dtype=dtype)
    D = as_float_array(D, "dictionary", xp=xp, dtype=dtype)
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            "X and dictionary must have the same n_features (columns): X has shape "
            f"{tuple(X.shape)}, dictionary has shape {tuple(D.shape)} (n_atoms, n_features)"
        )
    check_dictionary(D, xp=xp)
    return xp, X, D


def check_init(init: Any, shape: tuple[int, int], *, xp: ModuleType, like: Any,
               name: str = "init") -> Any:
    """Validate codes such as a warm start ``init``, of shape (n_samples, n_atoms)."""
    if init is None:
        return None
    init = _coerce(init, name)
    if get_namespace(init, like) is not xp:
        raise TypeError(f"{name} must come from the same array library as X")
    if init.ndim != 2 or tuple(init.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have shape (n_samples, n_atoms) = {tuple(shape)}; "
            f"got {tuple(init.shape)}"
        )
    return as_float_array(init, name, xp=xp, dtype=like.dtype)


def check_nonneg_scalar(value: Any, name: str, *, allow_zero: bool = True) -> float:
    """A finite real scalar >= 0 (> 0 when ``allow_zero`` is False)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        want = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {want}; got {value}")
    return v


def check_positive_int(value: Any, name: str, *, upper: int | None = None,
                       upper_name: str = "") -> int:
    """An int >= 1, and <= ``upper`` when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    v = int(value)
    if v < 1:
        raise ValueError(f"{name} must be >= 1; got {v}")
    if upper is not None and v > upper:
        raise ValueError(f"{name} must be <= {upper_name or upper} ({upper}); got {v}")
    return v


def check_choice(value: Any, name: str, choices) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value
