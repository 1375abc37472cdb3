"""Helpers for tests: conversions between NumPy and the namespace under test, and loading
the repository's scripts (examples, docs/dev/scripts) as modules."""

import importlib.util
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def asxp(xp, a, dtype_name="float64"):
    """Host NumPy array → array of namespace ``xp`` with the named dtype."""
    return xp.asarray(np.asarray(a, dtype=dtype_name))


def tonp(a):
    """Any array → NumPy (array-api-strict supports the buffer protocol / __dlpack__)."""
    if isinstance(a, np.ndarray):
        return a
    return np.asarray(a)


def load_script(relpath, name=None):
    """The script at ``ROOT/relpath`` (e.g. ``"examples/denoise.py"``) as a module, registered
    in ``sys.modules`` under ``name`` (default: its stem) so that dataclasses can find it."""
    path = ROOT / relpath
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
