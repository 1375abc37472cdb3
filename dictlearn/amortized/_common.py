"""Helpers shared by the amortized estimators: training-parameter checks and row splits."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .._validation import check_nonneg_scalar, check_positive_int
from .._xp import device_of

__all__ = ["split_rows"]


def split_rows(n: int, validation_fraction: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Shuffle ``range(n)`` into training and validation rows (host integer arrays)."""
    f = check_nonneg_scalar(validation_fraction, "validation_fraction", upper=1, open_upper=True)
    if f > 0 and n < 2:
        raise ValueError(f"validation_fraction={validation_fraction} needs at least 2 samples "
                         f"(one to train on, one to validate); got n_samples={n}: pass more "
                         "samples or validation_fraction=0")
    order = rng.permutation(n)
    n_val = round(f * n)
    if f > 0 and n_val == 0:
        n_val = 1
    if n_val == 0:
        return order, None
    if n - n_val < 1:
        raise ValueError(f"validation_fraction={validation_fraction} leaves no training sample "
                         f"out of {n}")
    return order[n_val:], order[:n_val]


def check_training(batch_size: Any, max_epochs: Any, n_iter_no_change: Any, tol: Any,
                   learning_rate: Any) -> None:
    check_positive_int(batch_size, "batch_size")
    check_positive_int(max_epochs, "max_epochs")
    if n_iter_no_change is not None:
        check_positive_int(n_iter_no_change, "n_iter_no_change")
    check_nonneg_scalar(tol, "tol")
    check_nonneg_scalar(learning_rate, "learning_rate", allow_zero=False)


def take_rows(A: Any, rows: np.ndarray, xp: ModuleType) -> Any:
    return xp.take(A, xp.asarray(rows, device=device_of(A)), axis=0)
