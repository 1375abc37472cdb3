"""Metrics shared by iterative and amortized inference, in array-API code."""

from __future__ import annotations

import math
from typing import Any

from ._xp import get_namespace

__all__ = ["babel", "dead_atoms", "dictionary_recovery", "l0_norm", "mutual_coherence", "nmse_db",
           "support_recovery"]


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


def _match(learned: Any, truth: Any):
    """|cosine| matrix (true × learned, host NumPy) and the optimal assignment maximising it.

    The cosines are computed where the atoms are; the (n_true, n_learned) matrix is then
    copied to the host once, explicitly (:func:`dictlearn._xp.to_host`), for SciPy's
    sequential Hungarian algorithm.
    """
    from scipy.optimize import linear_sum_assignment

    from ._validation import as_array
    from ._xp import to_host

    learned, truth = as_array(learned, "learned"), as_array(truth, "truth")
    xp = get_namespace(learned, truth)
    L, T = xp.astype(learned, xp.float64), xp.astype(truth, xp.float64)
    if L.ndim != 2 or T.ndim != 2 or L.shape[1] != T.shape[1]:
        raise ValueError(
            "learned and truth must be 2-D (n_atoms, n_features) with one n_features; got "
            f"shapes {tuple(L.shape)} and {tuple(T.shape)}"
        )
    if not (bool(xp.all(xp.isfinite(L))) and bool(xp.all(xp.isfinite(T)))):
        raise ValueError("learned and truth must be finite (no NaN or infinity)")
    ln = xp.linalg.vector_norm(L, axis=1, keepdims=True)
    tn = xp.linalg.vector_norm(T, axis=1, keepdims=True)
    if bool(xp.any(tn == 0)):
        raise ValueError("truth has zero-norm atoms: their direction is undefined")
    C = to_host(xp.abs((T / tn) @ xp.matrix_transpose(L / xp.where(ln > 0, ln, 1.0))))
    rows, cols = linear_sum_assignment(-C)
    return C, rows, cols


def dictionary_recovery(learned: Any, truth: Any, *, threshold: float = 0.99) -> float:
    r"""Fraction of true atoms matched by a learned atom with ``|cos| > threshold``.

    Learned and true atoms are paired one-to-one by the assignment that maximises the total
    ``|cos|`` (Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`); a true
    atom counts as recovered when its partner is within the threshold. Signs and order do
    not matter.

    Parameters
    ----------
    learned : array of shape (n_learned, n_features)
    truth : array of shape (n_true, n_features)
    threshold : float, default=0.99
        The criterion of Aharon, Elad & Bruckstein (2006) is a distance ``1 − |cos| < 0.01``.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(3)
    >>> dictionary_recovery(-D[[2, 0, 1]], D)
    1.0
    >>> dictionary_recovery(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), D)
    0.3333333333333333
    """
    C, rows, cols = _match(learned, truth)
    return float((C[rows, cols] > threshold).sum() / C.shape[0])


def dead_atoms(codes: Any, *, atol: float = 0.0) -> int:
    """Number of atoms (columns of ``codes``) that no sample uses (``|z| <= atol`` everywhere).

    Examples
    --------
    >>> import numpy as np
    >>> dead_atoms(np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 2.0]]))
    1
    """
    xp = get_namespace(codes)
    used = xp.any(xp.abs(codes) > atol, axis=0)
    return int(xp.sum(xp.astype(~used, xp.int64)))
