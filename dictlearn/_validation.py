"""Input checks that raise clear errors naming the parameter, what was expected and what came.

One entry validates every array a caller hands in (signals, codes, dictionaries):
:func:`check_array`; :func:`check_signals_dictionary` validates the pair of a coding call on
top of it. ``owner`` (the calling class or function) names who expects what, as in
scikit-learn's messages ("X has 5 features, but LISTA is expecting 8 features as input").

The rules, the same everywhere: lists, tuples and objects with ``__array__`` become NumPy
arrays; object arrays holding numbers are converted (as scikit-learn does), anything else in
them raises ``TypeError``; sparse matrices, complex, string and non-numeric dtypes are refused;
integers and booleans become the working float dtype (float32 stays float32); NaN and infinity
are refused. Checks never modify their inputs; conversions return new arrays.
"""

from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any

import numpy as np

from ._xp import _is_array, device_of, float_dtype, get_namespace

__all__ = ["check_array", "check_choice", "check_coding_inputs", "check_nonneg_scalar",
           "check_positive_int", "check_signals_atoms", "check_signals_dictionary"]


class _ComplexDataError(TypeError, ValueError):
    """Complex input: a dtype error (``TypeError``) that scikit-learn expects as ``ValueError``."""


def as_array(x: Any, name: str) -> Any:
    """``x`` as an array of some array library; lists and numeric object arrays become NumPy."""
    if x is None:
        raise TypeError(f"{name} must be an array; got None")
    if hasattr(x, "tocsr") or hasattr(x, "toarray"):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    if not _is_array(x):
        if not (isinstance(x, (list, tuple)) or hasattr(x, "__array__")):
            raise TypeError(f"{name} must be an array; got {type(x).__name__}")
        x = np.asarray(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        try:
            if any(v is None for v in x.flat):  # NumPy would make None a NaN
                raise TypeError("None is not a number")
            x = x.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array; its object entries are not "
                            f"numbers: {exc}") from exc
    return x


def check_array(x: Any, name: str = "X", *, owner: str | None = None, dtype: Any = None,
                like: Any = None, shape: tuple[int, ...] | None = None,
                axes: tuple[str, str] | None = ("n_samples", "n_atoms"),
                n_features: int | None = None, allow_all_zero: bool = True,
                atoms: bool = False, ndim: int | tuple[int, ...] = 2) -> Any:
    """Validate a real array (signals, codes or a dictionary; 2-D unless ``ndim`` says
    otherwise) and return it checked.

    Parameters
    ----------
    x : array-like of shape (n_rows, n_columns)
    name : str
        The parameter's name, used in every message.
    owner : str, optional
        The calling class or function, named in the n_features message.
    dtype : dtype, optional
        Cast to this dtype; default: ``like``'s dtype, else the working float dtype of ``x``
        (float32 stays float32, everything else becomes float64).
    like : array, optional
        ``x`` must come from ``like``'s array library; it takes ``like``'s dtype.
    shape : tuple of int, optional
        The exact shape expected.
    axes : tuple of str or None, default=("n_samples", "n_atoms")
        The names of ``shape``'s axes in the message (the default: codes; None: no names).
    n_features : int, optional
        The number of columns expected.
    allow_all_zero : bool, default=True
        False refuses an array of zeros (training signals).
    atoms : bool, default=False
        True refuses rows of zero norm (the atoms of a dictionary).
    ndim : int or tuple of int, default=2
        The number(s) of dimensions accepted (signals and convolutional atoms take 1 to 3);
        ``n_features`` then counts the last axis.

    Returns
    -------
    array of shape (n_rows, n_columns)
        In ``x``'s array library and device.

    Raises
    ------
    TypeError
        Not an array, sparse, another array library than ``like``, or a non-real dtype.
    ValueError
        Not 2-D, empty, NaN or infinity, a wrong shape or number of features, all zeros, or
        (``atoms=True``) a zero row.

    Examples
    --------
    >>> import numpy as np
    >>> check_array([[1, 2]], "X").dtype
    dtype('float64')
    >>> check_array(np.ones((2, 3)), "X", owner="LISTA", n_features=4)
    Traceback (most recent call last):
    ...
    ValueError: X has 3 features, but LISTA is expecting 4 features as input
    """
    x = as_array(x, name)
    try:
        xp = get_namespace(x, like)
    except TypeError as exc:
        raise TypeError(f"{name} must come from the same array library as X ({exc})") from None
    if xp.isdtype(x.dtype, "complex floating"):
        raise _ComplexDataError(
            f"Complex data not supported: {name} must have a real numeric dtype "
            f"(float32/float64 or integer); got {x.dtype}")
    if not (xp.isdtype(x.dtype, "real floating") or xp.isdtype(x.dtype, "integral")
            or x.dtype == xp.bool):
        raise TypeError(
            f"{name} must have a real numeric dtype (float32/float64 or integer); got {x.dtype}")
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in ndims:
        hint = ""
        if ndims == (2,) and x.ndim == 1:
            hint = (" Reshape your data: array.reshape(-1, 1) for a single feature or "
                    "array.reshape(1, -1) for a single sample.")
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be a {want} array; got {x.ndim}-D with shape "
                         f"{tuple(x.shape)}.{hint}")
    if any(size == 0 for size in x.shape):
        what = "sample(s)" if x.shape[0] == 0 and x.ndim > 1 else (
            "feature(s)" if x.ndim == 2 else "entries along an axis")
        raise ValueError(f"{name} must not be empty: found array with 0 {what} "
                         f"(shape={tuple(x.shape)}) while a minimum of 1 is required.")
    if shape is not None and tuple(x.shape) != tuple(shape):
        named = f"({', '.join(axes)}) = " if axes else ""
        raise ValueError(f"{name} must have shape {named}{tuple(shape)}; got {tuple(x.shape)}")
    if n_features is not None and x.shape[-1] != n_features:
        raise ValueError(f"{name} has {x.shape[-1]} features, but {owner or 'this call'} is "
                         f"expecting {n_features} features as input")
    if dtype is None:
        dtype = like.dtype if like is not None else float_dtype(xp, x)
    if x.dtype != dtype:
        x = xp.astype(x, dtype)
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinity")
    if not allow_all_zero and not bool(xp.any(x != 0)):
        raise ValueError(f"{name} is all zeros: {owner or 'this call'} has nothing to learn "
                         "from")
    if atoms:
        rows = xp.reshape(x, (x.shape[0], -1)) if x.ndim > 1 else xp.reshape(x, (1, -1))
        bad = xp.sum(rows * rows, axis=1) <= float(xp.finfo(x.dtype).smallest_normal)
        if bool(xp.any(bad)):
            idx = int(xp.argmax(xp.astype(bad, xp.int32)))
            raise ValueError(f"{name} has zero-norm atoms (rows); the first is atom {idx}. "
                             "Remove or re-initialise them.")
    return x


def check_signals_dictionary(X: Any, D: Any, *, owner: str | None = None
                             ) -> tuple[ModuleType, Any, Any]:
    """Validate signals ``X`` (n_samples, n_features) and dictionary ``D`` (n_atoms, n_features).

    Both go through :func:`check_array`; they must share an array library and a device, and
    the dictionary must have no zero-norm atom.

    Returns
    -------
    xp, X, D
        The namespace and both arrays cast to the working float dtype (float32 only if both
        are float32).

    Examples
    --------
    >>> import numpy as np
    >>> xp, X, D = check_signals_dictionary(np.ones((2, 3), dtype=np.float32), np.eye(3))
    >>> X.dtype, D.dtype
    (dtype('float64'), dtype('float64'))
    """
    X, D = as_array(X, "X"), as_array(D, "dictionary")
    xp = get_namespace(X, D)
    if device_of(X) != device_of(D):
        raise ValueError(
            f"X and dictionary must be on one device; got {device_of(X)} and {device_of(D)}")
    dtype = float_dtype(xp, X, D)
    D = check_array(D, "dictionary", owner=owner, dtype=dtype, atoms=True)
    try:
        X = check_array(X, "X", owner=owner, dtype=dtype, n_features=D.shape[1])
    except ValueError as exc:
        if "features as input" not in str(exc):
            raise
        raise ValueError(f"{exc} (X and dictionary must have the same n_features, the "
                         f"dictionary's columns: its shape is {tuple(D.shape)})") from None
    return xp, X, D


def check_signals_atoms(X: Any, atoms: Any, *, owner: str | None = None
                        ) -> tuple[ModuleType, Any, Any, tuple[int, ...]]:
    """Validate signals and convolutional atoms; return them as 3-D arrays.

    Parameters
    ----------
    X : array of shape (n_times,), (n_channels, n_times) or (n_signals, n_channels, n_times)
    atoms : array of shape (n_atoms, atom_length) or (n_atoms, n_channels, atom_length)
        Mono atoms (2-D) go with mono signals only.

    Returns
    -------
    xp, X, atoms, lead
        ``X`` of shape (n_signals, n_channels, n_times), ``atoms`` of shape
        (n_atoms, n_channels, atom_length), in the working float dtype; ``lead`` is the shape
        of ``X`` before its last two (channel, time) axes: ``()`` for one signal, ``(n,)``
        for a batch (the codes take the shape ``lead + (n_atoms, n_times_valid)``).

    Raises
    ------
    ValueError
        NaN or infinity, an empty or one-sample signal, zero-norm atoms, atoms longer than
        the signals, or a channel mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> xp, X, D, lead = check_signals_atoms(np.ones(10), np.ones((2, 3)))
    >>> X.shape, D.shape, lead
    ((1, 1, 10), (2, 1, 3), ())
    >>> check_signals_atoms(np.ones(3), np.ones((2, 5)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: atoms are longer (5 samples) than the signals X (3 samples); use atoms ...
    """
    X, atoms = as_array(X, "X"), as_array(atoms, "atoms")
    xp = get_namespace(X, atoms)
    if device_of(X) != device_of(atoms):
        raise ValueError(
            f"X and atoms must be on one device; got {device_of(X)} and {device_of(atoms)}")
    dtype = float_dtype(xp, X, atoms)
    D = check_array(atoms, "atoms", owner=owner, dtype=dtype, atoms=True, ndim=(2, 3))
    X = check_array(X, "X", owner=owner, dtype=dtype, ndim=(1, 2, 3))
    lead = tuple(X.shape[:-2])
    if X.ndim < 3:
        X = xp.reshape(X, (1,) * (3 - X.ndim) + tuple(X.shape))
    if D.ndim == 2:
        D = xp.reshape(D, (D.shape[0], 1, D.shape[1]))
    n_times, length = X.shape[2], D.shape[2]
    if n_times < 2:
        raise ValueError(f"X has one time sample (shape {tuple(X.shape)}); a signal needs at "
                         "least 2")
    if D.shape[1] != X.shape[1]:
        raise ValueError(f"atoms have {D.shape[1]} channel(s) but X has {X.shape[1]} "
                         f"(atoms shape {tuple(D.shape)}, X shape {tuple(X.shape)})")
    if length > n_times:
        raise ValueError(f"atoms are longer ({length} samples) than the signals X "
                         f"({n_times} samples); use atoms of at most {n_times} samples")
    return xp, X, D, lead


def check_nonneg_scalar(value: Any, name: str, *, allow_zero: bool = True,
                        upper: float | None = None, open_upper: bool = False) -> float:
    """A finite real scalar >= 0 (> 0 when ``allow_zero`` is False), and <= ``upper`` (<
    ``upper`` when ``open_upper``) when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        want = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {want}; got {value}")
    if upper is not None and (v > upper or (open_upper and v == upper)):
        interval = f"{'[' if allow_zero else '('}0, {upper:g}{')' if open_upper else ']'}"
        raise ValueError(f"{name} must be in {interval}; got {value}")
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


def check_coding_inputs(X: Any, dictionary: Any, owner: str, *, init: Any = None,
                        tol: Any = 0.0, max_iter: Any = 1) -> tuple:
    """The preamble of a coding method: ``(xp, X, D, init, tol, max_iter)`` checked.

    The pair as :func:`check_signals_dictionary`, ``tol >= 0``, ``max_iter >= 1`` and the warm
    start ``init`` of shape (n_samples, n_atoms) (None stays None).
    """
    xp, X, D = check_signals_dictionary(X, dictionary, owner=owner)
    tol = check_nonneg_scalar(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    if init is not None:
        init = check_array(init, "init", like=X, shape=(X.shape[0], D.shape[0]))
    return xp, X, D, init, tol, max_iter
