"""Array namespaces, devices, working dtypes and optional dependencies.

Every public function resolves the array namespace of its inputs once, here, and passes
``xp`` down. Nothing below this module imports NumPy for array work unless it is on the
NumPy fast path (``is_numpy(xp)``) or on the host random-number path (:func:`check_random_state`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = ["check_random_state", "device_of", "get_namespace", "is_numpy", "optional_import",
           "to_device", "to_namespace", "to_numpy"]

#: Installation hints for optional dependencies, by import name.
_EXTRAS = {
    "numba": "pip install 'dictlearn-xp[numba]'",
    "cupy": "pip install 'dictlearn-xp[cupy]' (CUDA 12) or 'dictlearn-xp[cupy-cuda13]'",
    "matplotlib": "pip install 'dictlearn-xp[plot]'",
    "dask": "pip install 'dictlearn-xp[dask]'",
    "sklearn": "pip install scikit-learn",
    "spams": "pip install spams-bin",
}


def _is_array(x: Any) -> bool:
    return array_api_compat.is_array_api_obj(x)


def get_namespace(*arrays: Any) -> ModuleType:
    """Return the array-API namespace shared by ``arrays`` (``None`` entries are ignored).

    Raises
    ------
    TypeError
        If the arrays come from different array libraries.
    """
    arrs = [a for a in arrays if a is not None]
    if not arrs:
        return array_api_compat.array_namespace(np.empty(0))
    try:
        return array_api_compat.array_namespace(*arrs)
    except TypeError as exc:
        kinds = sorted({type(a).__module__ + "." + type(a).__name__ for a in arrs})
        raise TypeError(
            f"all arrays must come from one array library; got {', '.join(kinds)}"
        ) from exc


def is_numpy(xp: ModuleType) -> bool:
    """True when ``xp`` is NumPy (or array-api-compat's NumPy wrapper)."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp: ModuleType) -> bool:
    """True when ``xp`` is CuPy (or array-api-compat's CuPy wrapper)."""
    return array_api_compat.is_cupy_namespace(xp)


def device_of(x: Any) -> Any:
    """Device of an array, as understood by its library."""
    return array_api_compat.device(x)


def to_device(x: Any, device: Any) -> Any:
    """Move ``x`` to ``device`` (only called where a move is explicit and documented)."""
    return array_api_compat.to_device(x, device)


def to_numpy(x: Any) -> np.ndarray:
    """Return a NumPy view or copy of a host array; refuses device arrays silently copied.

    Only used for NumPy inputs (kernels, SciPy delegation) and for explicit host-side work
    such as saving files or plotting.
    """
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def to_host(a: Any) -> np.ndarray:
    """One explicit, contiguous copy of any array to host NumPy, for host-only work (LGCD's
    sequential passes, ``decompose``'s files and events): through the namespace's first
    (CPU) device when the array refuses a direct copy, as array-api-strict's second device
    does; CuPy arrays come back with ``.get()``."""
    try:
        return np.ascontiguousarray(to_numpy(a))
    except (RuntimeError, TypeError, ValueError):
        xp = get_namespace(a)
        cpu = xp.__array_namespace_info__().devices()[0]
        return np.ascontiguousarray(to_numpy(to_device(a, cpu)))


def to_namespace(a: Any, xp: ModuleType, like: Any) -> Any:
    """``a`` in namespace ``xp`` with ``like``'s dtype and device: the one host/device move.

    An array of another library (or a list, or a host copy of a model's weights) goes through
    the host once, explicitly; an array already in ``xp`` is moved when its device differs
    (e.g. a model fitted on one device applied to data on another) and cast when its dtype
    differs.
    ``a`` is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> to_namespace([1, 2], np, np.zeros(1, dtype=np.float32)).dtype
    dtype('float32')
    """
    if not _is_array(a) or get_namespace(a) is not xp:
        a = xp.asarray(np.asarray(to_numpy(a)), device=device_of(like))
    elif device_of(a) != device_of(like):  # a model's weights follow the data to its device
        a = to_device(a, device_of(like))
    if a.dtype != like.dtype:
        a = xp.astype(a, like.dtype)
    return a


def optional_import(name: str) -> ModuleType:
    """Import an optional dependency or raise ``ImportError`` with an install hint."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        hint = _EXTRAS.get(name.split(".")[0], f"pip install {name}")
        raise ImportError(f"{name} is required for this feature: {hint}") from exc


def has_module(name: str) -> bool:
    """True when ``name`` can be imported (does not import it twice)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def numba_enabled() -> bool:
    """True when numba kernels may be used (installed and not disabled).

    Set the environment variable ``DICTLEARN_DISABLE_NUMBA=1`` to turn numba off.
    """
    if os.environ.get("DICTLEARN_DISABLE_NUMBA", "").strip() not in ("", "0", "false", "False"):
        return False
    return has_module("numba")


_BLAS: dict[str, Any] = {"controller": None, "depth": 0, "limiter": None}
_BLAS_LOCK = threading.Lock()


def _blas_controller() -> Any:
    """A ``threadpoolctl.ThreadpoolController`` over the host BLAS libraries, made once (False
    without threadpoolctl). SciPy's own BLAS, which numba's ``np.dot`` calls, is loaded first:
    a controller sees the libraries loaded when it is made."""
    if _BLAS["controller"] is None:
        if has_module("threadpoolctl"):
            import scipy.linalg  # noqa: F401
            from threadpoolctl import ThreadpoolController

            _BLAS["controller"] = ThreadpoolController()
        else:
            _BLAS["controller"] = False
    return _BLAS["controller"]


@contextlib.contextmanager
def blas_one_thread() -> Iterator[None]:
    """A context in which the host BLAS runs on one thread (nested and concurrent uses share
    one limit, lifted when the last ends; about 10 µs to enter).

    For code that alternates BLAS products with numba's parallel kernels: every compiled
    kernel call (:func:`dictlearn.kernels.call`) and the loop of mini-batch learning. Each
    pool's threads spin for a while after their work, so with both at their defaults they
    compete for the cores: on two cores, ``python -m dictlearn.bench encode`` timed OMP at 80 ms
    instead of 17.5 ms, and ``python -m dictlearn.bench learn --planted`` 1,000 online steps
    at 7.9 s instead of 0.79 s (docs/benchmarks.md). The kernels' own parallelism is numba's.
    Does nothing without ``threadpoolctl``.
    """
    ctl = _blas_controller()
    if not ctl:
        yield
        return
    with _BLAS_LOCK:
        if _BLAS["depth"] == 0:
            _BLAS["limiter"] = ctl.limit(limits=1, user_api="blas")
        _BLAS["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["depth"] -= 1
            if _BLAS["depth"] == 0:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` (None, int, Generator or RandomState) into a NumPy Generator.

    Random numbers are always drawn on the host with NumPy and moved once to the device.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if random_state is not None and int(random_state) < 0:
            raise ValueError(f"random_state must be a non-negative int; got {random_state}")
        return np.random.default_rng(random_state)
    raise TypeError(
        "random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {type(random_state).__name__}"
    )


def float_dtype(xp: ModuleType, *arrays: Any) -> Any:
    """The working floating dtype for ``arrays``: float32 only when every array is float32.

    Integer and boolean inputs are promoted to the library's default float (float64 where
    available); complex inputs are refused by validation before this is called.
    """
    dtypes = [a.dtype for a in arrays if a is not None]
    if dtypes and all(d == xp.float32 for d in dtypes):
        return xp.float32
    return xp.float64


def eps(xp: ModuleType, dtype: Any) -> float:
    """Machine epsilon of a floating dtype."""
    return float(xp.finfo(dtype).eps)


def weighted_choice(rng: np.random.Generator, weights: Any, size: int, *, replace: bool,
                    xp: ModuleType) -> Any:
    """``rng.choice(len(weights), size, replace, p=weights / sum(weights))`` with the weights
    left on their device: the uniforms are drawn on the host and moved once, the inverse-CDF
    search runs where the weights are.

    NumPy's algorithm step for step (``Generator.choice``: ``searchsorted(cdf, u, "right")``;
    without replacement, redraw for the duplicates after zeroing the chosen weights), so the
    indices equal NumPy's for the same generator. Without replacement and with fewer non-zero
    weights than ``size``, the draw is made with replacement (NumPy would raise).

    Returns
    -------
    int64 array of shape (size,), on the weights' device.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([0.0, 1.0, 3.0, 0.0])
    >>> a = weighted_choice(np.random.default_rng(0), w, 2, replace=False, xp=np)
    >>> b = np.random.default_rng(0).choice(4, size=2, replace=False, p=w / w.sum())
    >>> bool(np.array_equal(a, b))
    True
    """
    dev = device_of(weights)
    p = xp.astype(weights, xp.float64)
    nnz = int(xp.sum(xp.astype(p > 0, xp.int64)))
    if nnz < size:
        replace = True
    n = int(p.shape[0])
    found = xp.zeros((0,), dtype=xp.int64, device=dev)
    idx = xp.arange(n, dtype=xp.int64, device=dev)
    while int(found.shape[0]) < size:
        r = size - int(found.shape[0]) if not replace else size
        u = xp.asarray(rng.random(r), dtype=xp.float64, device=dev)
        if found.shape[0]:
            chosen = xp.any(idx[:, None] == found[None, :], axis=1)
            p = xp.where(chosen, 0.0, p)
        cdf = xp.cumulative_sum(p)
        cdf = cdf / cdf[-1]
        new = xp.astype(xp.searchsorted(cdf, u, side="right"), xp.int64)
        if replace:
            return new
        # keep the first occurrence of each index, in draw order (np.unique's return_index)
        earlier = idx[:r, None] > idx[None, :r]
        dup = xp.any((new[:, None] == new[None, :]) & earlier, axis=1)
        found = xp.concat([found, new[xp.nonzero(~dup)[0]]])
    return found
