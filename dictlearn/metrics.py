"""Metrics shared by iterative and amortized inference, in array-API code."""

from __future__ import annotations

import math
from typing import Any

from ._xp import get_namespace

__all__ = [
    "babel",
    "l0_norm",
    "mutual_coherence",
    "nmse_db",
    "support_recovery",
]


def _normalized_gram(D: Any, xp) -> Any:
    n = xp.linalg.vector_norm(D, axis=1, keepdims=True)
    Dn = D / n
    return xp.abs(Dn @ xp.matrix_transpose(Dn))


def mutual_coherence(dictionary: Any) -> float:
    r"""Mutual coherence
    :math:`\mu(D) = \max_{i \ne j} |\langle d_i, d_j\rangle| / (\|d_i\|\|d_j\|)`.

    OMP and basis pursuit recover every k-sparse code exactly when
    :math:`k < (1 + 1/\mu)/2` (Donoho & Elad 2003; Tropp 2004).

    Examples
    --------
    >>> import numpy as np
    >>> mutual_coherence(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    0.7071067811865475
    """
    xp = get_namespace(dictionary)
    A = _normalized_gram(dictionary, xp)
    k = A.shape[0]
    if k < 2:
        return 0.0
    off = A - xp.eye(k, dtype=A.dtype, device=getattr(A, "device", None)) * A
    return float(xp.max(off))


def babel(dictionary: Any, k: int) -> float:
    r"""Babel function :math:`\mu_1(k) = \max_i \max_{|\Lambda|=k, i\notin\Lambda}
    \sum_{j\in\Lambda} |\langle d_i, d_j\rangle|` (Tropp 2004), for unit-normalised atoms.

    :math:`\mu_1(k) \le k\mu`; OMP recovers every k-sparse code when
    :math:`\mu_1(k-1) + \mu_1(k) < 1`.

    Examples
    --------
    >>> import numpy as np
    >>> babel(np.eye(3), 2)
    0.0
    """
    xp = get_namespace(dictionary)
    A = _normalized_gram(dictionary, xp)
    n = A.shape[0]
    if not 0 <= k < n:
        raise ValueError(f"k must be in [0, n_atoms - 1 = {n - 1}]; got {k}")
    if k == 0:
        return 0.0
    off = A - xp.eye(n, dtype=A.dtype, device=getattr(A, "device", None)) * A
    srt = xp.sort(off, axis=1, descending=True)
    return float(xp.max(xp.sum(srt[:, :k], axis=1)))


def nmse_db(estimate: Any, truth: Any) -> float:
    r"""Normalised mean squared error in decibels,
    :math:`10\log_{10}(\sum\|\hat z - z\|^2 / \sum\|z\|^2)` over the whole set.

    Examples
    --------
    >>> import numpy as np
    >>> round(nmse_db(np.array([[1.1, 0.0]]), np.array([[1.0, 0.0]])), 6)
    -20.0
    """
    xp = get_namespace(estimate, truth)
    err = float(xp.sum((estimate - truth) ** 2))
    ref = float(xp.sum(truth**2))
    if ref == 0.0:
        raise ValueError("truth is all zeros: NMSE is undefined")
    if err == 0.0:
        return -math.inf
    return 10.0 * math.log10(err / ref)


def l0_norm(codes: Any, *, atol: float = 0.0) -> Any:
    """Number of entries with ``|z| > atol`` per row, shape (n_samples,)."""
    xp = get_namespace(codes)
    return xp.sum(xp.astype(xp.abs(codes) > atol, xp.int64), axis=1)


def support_recovery(estimate: Any, truth: Any, *, atol: float = 0.0) -> dict[str, float]:
    """Support recovery of sparse codes, over all rows.

    Returns
    -------
    dict with ``precision`` (true nonzeros among found ones), ``recall`` (found among true),
    ``f1``, and ``exact`` (fraction of rows whose support is recovered exactly).
    Entries count as nonzero when ``|z| > atol``.

    Examples
    --------
    >>> import numpy as np
    >>> support_recovery(np.array([[1.0, 0.2, 0.0]]), np.array([[2.0, 0.0, 0.0]]))["precision"]
    0.5
    """
    xp = get_namespace(estimate, truth)
    if tuple(estimate.shape) != tuple(truth.shape):
        raise ValueError(
            f"estimate and truth must have one shape; got {tuple(estimate.shape)} "
            f"and {tuple(truth.shape)}"
        )
    e = xp.abs(estimate) > atol
    t = truth != 0
    tp = float(xp.sum(xp.astype(e & t, xp.float64)))
    ne = float(xp.sum(xp.astype(e, xp.float64)))
    nt = float(xp.sum(xp.astype(t, xp.float64)))
    precision = tp / ne if ne else 1.0
    recall = tp / nt if nt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = float(xp.mean(xp.astype(xp.all(e == t, axis=1), xp.float64)))
    return {"precision": precision, "recall": recall, "f1": f1, "exact": exact}
