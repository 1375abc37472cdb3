"""A minimal batch OMP registered as ``"omp"`` ONLY when dictlearn does not provide one.

Used solely by the learning tests so that K-SVD and MOD can be tested with their usual coding
step before the real OMP lands; delete this file once ``dictlearn.coding`` registers "omp".
"""

import numpy as np

from dictlearn._loop import Result, Status
from dictlearn.coding import METHODS, register_method


def _omp(X, dictionary, *, n_nonzero_coefs, positive=False, **_ignored):
    """Vectorised Gram OMP: every sample picks ``n_nonzero_coefs`` atoms greedily."""
    X = np.asarray(X)
    D = np.asarray(dictionary)
    dtype = np.result_type(X.dtype, D.dtype)
    G = D @ D.T
    C = X @ D.T
    n, k = C.shape
    rows = np.arange(n)
    support = np.zeros((n, 0), dtype=np.int64)
    active = np.ones(n, dtype=bool)
    coef = np.zeros((n, 0))
    corr = C.copy()
    tiny = 1e-12 * max(1.0, float(np.abs(C).max()))
    for _ in range(n_nonzero_coefs):
        score = corr.copy() if positive else np.abs(corr)
        score[rows[:, None], support] = -np.inf
        j = np.argmax(score, axis=1)
        active &= score[rows, j] > tiny
        if not active.any():
            break
        # inactive rows repeat their first atom with a zero weight (kept out by the mask)
        j = np.where(active, j, support[:, 0] if support.shape[1] else j)
        support = np.concatenate([support, j[:, None]], axis=1)
        Gs = G[support[:, :, None], support[:, None, :]]
        s = support.shape[1]
        Gs = Gs + 1e-12 * np.eye(s)
        cs = C[rows[:, None], support]
        new = np.linalg.solve(Gs, cs[:, :, None])[:, :, 0]
        coef = np.where(active[:, None], new, np.concatenate([coef, np.zeros((n, 1))], 1))
        corr = C - np.einsum("ns,nsk->nk", coef, G[support])
    Z = np.zeros((n, k), dtype=dtype)
    np.add.at(Z, (np.repeat(rows, support.shape[1]), support.ravel()), coef.ravel())
    return Result(Z, Status.converged, n_nonzero_coefs)


def ensure_omp():
    """Register the fallback under ``"omp"`` unless a real one exists."""
    if "omp" not in METHODS:
        register_method("omp")(_omp)
