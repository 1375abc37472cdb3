"""Named hot loops, each with a reference Array-API version and optional compiled twins.

A kernel is looked up by name and engine:

- ``"reference"``: Array-API code that runs on every backend (NumPy, CuPy, array-api-strict);
  it is the fallback and the test oracle;
- ``"numba"``: a ``@njit(cache=True)`` twin, parallel over samples, for NumPy inputs only.

``engine="auto"`` picks numba for NumPy inputs when numba is installed and not disabled by the
environment variable ``DICTLEARN_DISABLE_NUMBA=1`` (and, for kernels registered with a ``when``
rule, when the rule holds for the arrays, e.g. sparse codes), and the reference otherwise.
Compiled twins are registered as ``"module:function"`` strings and imported on first use, so
numba is never imported (and nothing is compiled or cached) unless a numba kernel runs.

:func:`call` is the one boundary between the algorithms and the kernels: it resolves the
engine, passes the reference twin the caller's arrays and ``xp``, and passes a compiled twin
NumPy arrays, bringing its results back into the caller's namespace.

Examples
--------
>>> from dictlearn.kernels import available_kernels, resolve_engine
>>> import numpy as np
>>> sorted(available_kernels())[:4]
['adam_step', 'code_statistics', 'codes_times_dictionary', 'conv_mp']
>>> resolve_engine("reference", np)
'reference'
>>> from dictlearn.kernels import call
>>> call("codes_times_dictionary", "reference", np, np.eye(2), np.ones((2, 3)))
array([[1., 1., 1.],
       [1., 1., 1.]])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._xp import blas_one_thread, is_numpy, numba_enabled, to_numpy

__all__ = ["ENGINES", "KERNELS", "available_kernels", "call", "compiled_for_loop", "get_kernel",
           "register_kernel", "resolve_engine"]

#: Engines a public function accepts.
ENGINES = ("auto", "reference", "numba")

#: (kernel name, engine) → the function, or a ``"module:function"`` string imported lazily.
KERNELS: dict[tuple[str, str], Callable[..., Any] | str] = {}

#: (kernel name, engine) → a rule on the call's arrays that ``engine="auto"`` must satisfy to
#: pick that engine (a compiled twin that only wins on some inputs).
AUTO_WHEN: dict[tuple[str, str], Callable[..., bool]] = {}


def register_kernel(name: str, engine: str, target: Callable[..., Any] | str | None = None, *,
                    when: Callable[..., bool] | None = None):
    """Register ``target`` as kernel ``name`` for ``engine`` (usable as a decorator).

    ``when(*arrays)``, if given, is checked by ``engine="auto"`` before choosing ``engine``.
    """
    if engine not in ENGINES or engine == "auto":
        raise ValueError(f"engine must be 'reference' or 'numba'; got {engine!r}")

    def deco(fn):
        KERNELS[(name, engine)] = fn
        if when is not None:
            AUTO_WHEN[(name, engine)] = when
        return fn

    return deco if target is None else deco(target)


def available_kernels() -> set[str]:
    """Names of the registered kernels."""
    return {name for name, _ in KERNELS}


def resolve_engine(engine: str, xp: ModuleType) -> str:
    """The concrete engine (``"reference"`` or ``"numba"``) for arrays of namespace ``xp``.

    Raises
    ------
    ValueError
        For an unknown engine, or ``engine="numba"`` with non-NumPy arrays.
    ImportError
        For ``engine="numba"`` when numba is missing or disabled by ``DICTLEARN_DISABLE_NUMBA``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine == "auto":
        return "numba" if is_numpy(xp) and numba_enabled() else "reference"
    if engine == "numba":
        if not is_numpy(xp):
            raise ValueError(
                "engine='numba' runs on NumPy arrays only; got arrays of "
                f"{getattr(xp, '__name__', xp)} (use engine='auto' or 'reference')"
            )
        if not numba_enabled():
            raise ImportError(
                "engine='numba' needs numba installed and DICTLEARN_DISABLE_NUMBA unset: "
                "pip install 'dictlearn-xp[numba]'"
            )
    return engine


def compiled_for_loop(engine: str, xp: ModuleType, *, callback: Any = None,
                      record_history: bool = False) -> bool:
    """Whether an iterative method runs its compiled kernel rather than the reference loop.

    Callbacks and history need the loop driver: ``engine="auto"`` then keeps the reference;
    ``engine="numba"`` with either is a ``ValueError``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}")
    compiled = resolve_engine(engine, xp) == "numba"
    if compiled and (callback is not None or record_history):
        if engine == "numba":
            raise ValueError("engine='numba' takes no callback or record_history; got "
                             f"callback={callback!r}, record_history={record_history!r} "
                             "(use engine='reference' or 'auto')")
        return False
    return compiled


def get_kernel(name: str, engine: str) -> Callable[..., Any]:
    """The kernel ``name`` for a concrete ``engine`` (import it on first use)."""
    try:
        target = KERNELS[(name, engine)]
    except KeyError:
        raise ValueError(f"no kernel {name!r} for engine {engine!r}") from None
    if isinstance(target, str):
        module, fn = target.split(":")
        target = getattr(importlib.import_module(module), fn)
        KERNELS[(name, engine)] = target
    return target


def call(name: str, engine: str, xp: ModuleType, *arrays: Any, **opts: Any) -> Any:
    """Run kernel ``name`` on ``arrays`` (``None`` entries pass through) with options ``opts``.

    The reference twin gets the arrays as they are and ``xp=xp``; a compiled twin gets NumPy
    arrays, and its results (an array or a tuple of arrays) come back in ``xp``.

    Parameters
    ----------
    name : str
        A registered kernel (see :func:`available_kernels`).
    engine : {"auto", "reference", "numba"}
    xp : namespace
        The arrays' namespace, resolved once by the caller.
    """
    concrete = resolve_engine(engine, xp)
    if engine == "auto" and concrete != "reference":
        rule = AUTO_WHEN.get((name, concrete))
        if rule is not None and not rule(*arrays):
            concrete = "reference"
    kernel = get_kernel(name, concrete)
    if concrete == "reference":
        return kernel(*arrays, xp=xp, **opts)
    with blas_one_thread():  # the kernel's parallelism is numba's (see blas_one_thread)
        out = kernel(*(None if a is None else to_numpy(a) for a in arrays), **opts)
    if isinstance(out, tuple):
        return tuple(xp.asarray(o) for o in out)
    return xp.asarray(out)


# Register the kernels (reference twins are imported; numba twins stay lazy strings).
from . import adam as _adam  # noqa: E402
from . import conv_mp as _conv_mp  # noqa: E402,F401
from . import fista as _fista  # noqa: E402,F401
from . import iht as _iht  # noqa: E402,F401
from . import lasso_cd as _lasso_cd  # noqa: E402,F401
from . import learning as _learning  # noqa: E402
from . import lgcd as _lgcd  # noqa: E402,F401
from . import omp as _omp  # noqa: E402,F401

register_kernel("adam_step", "numba", "dictlearn.kernels.adam_numba:adam_step", when=_adam.large)
register_kernel("omp_gram", "numba", "dictlearn.kernels.omp_numba:omp_gram")
register_kernel("conv_mp", "numba", "dictlearn.kernels.conv_mp_numba:conv_mp")
register_kernel("fista_l1", "numba", "dictlearn.kernels.fista_numba:fista_l1")
register_kernel("iht_l0", "numba", "dictlearn.kernels.iht_numba:iht_l0")
register_kernel("lasso_cd_gram", "numba", "dictlearn.kernels.lasso_cd_numba:lasso_cd_gram")
register_kernel("lgcd_passes", "numba", "dictlearn.kernels.lgcd_numba:lgcd_passes")
register_kernel("online_bcd", "numba", "dictlearn.kernels.learning_numba:online_bcd")
register_kernel("code_statistics", "numba", "dictlearn.kernels.learning_numba:code_statistics",
                when=_learning.sparse_codes(2))
register_kernel("sample_objective", "numba", "dictlearn.kernels.learning_numba:sample_objective",
                when=_learning.sparse_codes(2))
register_kernel("codes_times_dictionary", "numba",
                "dictlearn.kernels.learning_numba:codes_times_dictionary",
                when=_learning.sparse_codes(0))
