"""Helpers for tests: conversions between NumPy and the namespace under test."""

import numpy as np


def asxp(xp, a, dtype_name="float64"):
    """Host NumPy array → array of namespace ``xp`` with the named dtype."""
    return xp.asarray(np.asarray(a, dtype=dtype_name))


def tonp(a):
    """Any array → NumPy (array-api-strict supports the buffer protocol / __dlpack__)."""
    if isinstance(a, np.ndarray):
        return a
    return np.asarray(a)
