"""Compile every numba kernel ahead of its first use: ``python -m dictlearn compile``.

A numba kernel compiles on its first call for each dtype (tens of seconds per kernel on a
small machine) and is then cached on disk (``cache=True``: next to the installed module, or in
``NUMBA_CACHE_DIR`` / a per-user folder when that is not writable), so later processes only
load it (about two seconds). :func:`warm_up` runs each kernel once on a tiny problem through the
public function that uses it, with ``engine="numba"``, so a user can pay the compilation at
install time (``pip install ... && python -m dictlearn compile``) instead of in the middle of
the first fit. Measured figures: ``docs/distributed.md`` ("Compiled kernels").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["WARMUPS", "warm_up"]


def _problem(dtype: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 8)).astype(dtype)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((20, 8)).astype(dtype), D


def _signals(dtype: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 1, 5)).astype(dtype)
    A /= np.linalg.norm(A, axis=2, keepdims=True)
    return rng.standard_normal((2, 1, 64)).astype(dtype), A


def _omp(dtype: Any) -> None:
    import dictlearn

    dictlearn.omp(*_problem(dtype), n_nonzero_coefs=3, engine="numba")


def _lasso(dtype: Any) -> None:
    import dictlearn

    dictlearn.lasso(*_problem(dtype), alpha=0.1, engine="numba")


def _fista(dtype: Any) -> None:
    import dictlearn

    X, D = _problem(dtype)
    dictlearn.fista(X, D, alpha=0.1, tol=1e-6, engine="numba")  # working sets + screening
    dictlearn.fista(X, D, alpha=0.1, tol=0.0, max_iter=3, engine="numba")  # plain iterates


def _iht(dtype: Any) -> None:
    import dictlearn

    dictlearn.iht(*_problem(dtype), n_nonzero_coefs=3, engine="numba")


def _online(dtype: Any) -> None:
    from dictlearn.learning import online_dictionary_learning

    from . import call

    X, D = _problem(dtype)
    online_dictionary_learning(X, 16, alpha=0.1, batch_size=10, max_iter=2, random_state=0,
                               engine="numba")
    Z = np.zeros((X.shape[0], D.shape[0]), dtype=dtype)
    call("sample_objective", "numba", np, X, D, Z, alpha=0.1, penalty="l1", sigma=1.0)


def _conv_mp(dtype: Any) -> None:
    from dictlearn.signal import csc_mp

    csc_mp(*_signals(dtype), n_nonzero_coefs=4, engine="numba")


def _lgcd(dtype: Any) -> None:
    from dictlearn.signal import csc_lgcd

    csc_lgcd(*_signals(dtype), alpha=0.1, max_iter=5, engine="numba")


def _adam(dtype: Any) -> None:
    from . import call

    p = np.ones((64, 32), dtype=dtype)  # above the size where the numba kernel is chosen
    call("adam_step", "numba", np, p, p, p, p, 1e-3, 0.9, 0.999, 1e-8)


#: kernel group -> a call that compiles it for one dtype (the ``numba`` engine, tiny inputs)
WARMUPS: dict[str, Callable[[Any], None]] = {
    "omp": _omp, "lasso": _lasso, "fista": _fista, "iht": _iht, "online": _online,
    "conv_mp": _conv_mp, "lgcd": _lgcd, "adam": _adam,
}


def warm_up(kernels: Iterable[str] | None = None,
            dtypes: Iterable[str] = ("float64", "float32"),
            report: Callable[[str, str, float], Any] | None = None) -> dict[tuple[str, str], float]:
    """Compile (or load from the cache) the numba kernels for the given dtypes.

    Parameters
    ----------
    kernels : iterable of str, optional
        Names from :data:`WARMUPS` (default: all).
    dtypes : iterable of {"float64", "float32"}
    report : callable, optional
        Called as ``report(kernel, dtype, seconds)`` after each one.

    Returns
    -------
    dict
        ``(kernel, dtype) -> seconds``.

    Raises
    ------
    ValueError
        For an unknown kernel or dtype name, or when numba is not installed or disabled.

    Examples
    --------
    >>> times = warm_up(["omp"], ["float64"])  # doctest: +SKIP
    """
    from .._xp import numba_enabled

    names = list(WARMUPS) if kernels is None else list(kernels)
    unknown = sorted(set(names) - set(WARMUPS))
    if unknown:
        raise ValueError(f"kernels must be among {sorted(WARMUPS)}; got {unknown}")
    dts = list(dtypes)
    bad = sorted(set(dts) - {"float64", "float32"})
    if bad:
        raise ValueError(f"dtypes must be among ['float32', 'float64']; got {bad}")
    if not numba_enabled():
        raise ValueError("numba is not installed (or DICTLEARN_DISABLE_NUMBA is set): there "
                         "is nothing to compile")
    times = {}
    for name in names:
        for dt in dts:
            t = time.perf_counter()
            WARMUPS[name](np.dtype(dt))
            times[name, dt] = time.perf_counter() - t
            if report is not None:
                report(name, dt, times[name, dt])
    return times
