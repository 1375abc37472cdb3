"""Shared fixtures: array namespaces, dtypes and the Hypothesis profiles.

The ``ci`` profile (loaded when ``CI`` is set, and by default) is deterministic with a fixed
example budget; ``HYPOTHESIS_PROFILE=thorough`` runs many more examples locally.
"""

from __future__ import annotations

import os

# scikit-learn's array-API estimator check runs only with SciPy's array-API mode on; it must be
# set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=20,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _namespaces():
    out = [pytest.param("numpy", id="numpy")]
    out.append(pytest.param("array_api_strict", id="strict"))
    return out


@pytest.fixture(params=_namespaces())
def xp(request):
    """The array namespace under test (NumPy, and array-api-strict to catch NumPy-only calls)."""
    if request.param == "numpy":
        return np
    import array_api_strict

    return array_api_strict


@pytest.fixture(params=["float64", "float32"])
def dtype_name(request):
    return request.param


@pytest.fixture(scope="module")
def single_threaded_blas():
    """Small matrices: one BLAS thread avoids oversubscription on shared CI cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
