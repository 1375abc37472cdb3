"""Synthetic sparse-coding problems with known ground truth.

Random numbers are drawn on the host with NumPy's Generator from ``random_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_nonneg_scalar, check_positive_int
from ._xp import check_random_state

__all__ = ["SparseProblem", "make_sparse_problem", "random_dictionary"]


@dataclass(frozen=True)
class SparseProblem:
    """A synthetic problem ``X = Z D + noise`` with its ground truth.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    dictionary : ndarray of shape (n_atoms, n_features)
    codes : ndarray of shape (n_samples, n_atoms)
        The true sparse codes.
    noise_std : float
        Standard deviation of the added Gaussian noise (0 when noiseless).
    """

    X: np.ndarray
    dictionary: np.ndarray
    codes: np.ndarray
    noise_std: float


def random_dictionary(
    n_atoms: int, n_features: int, *, random_state: Any = None, dtype: Any = np.float64
) -> np.ndarray:
    """Gaussian dictionary with unit-norm rows (atoms), shape (n_atoms, n_features).

    Examples
    --------
    >>> D = random_dictionary(8, 4, random_state=0)
    >>> D.shape, bool(np.allclose(np.linalg.norm(D, axis=1), 1.0))
    ((8, 4), True)
    """
    n_atoms = check_positive_int(n_atoms, "n_atoms")
    n_features = check_positive_int(n_features, "n_features")
    rng = check_random_state(random_state)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D.astype(dtype, copy=False)


def make_sparse_problem(
    n_samples: int = 1000,
    n_features: int = 64,
    n_atoms: int = 256,
    n_nonzero_coefs: int | None = 5,
    *,
    dictionary: Any = None,
    sparsity: float | None = None,
    code_distribution: str = "gaussian",
    positive: bool = False,
    snr_db: float | None = None,
    dtype: Any = np.float64,
    random_state: Any = None,
) -> SparseProblem:
    """Signals ``X = Z D + E`` from a known dictionary and sparse codes.

    Parameters
    ----------
    n_samples, n_features, n_atoms : int
        Sizes; ``n_features`` and ``n_atoms`` are taken from ``dictionary`` when given.
    n_nonzero_coefs : int or None, default=5
        Exactly this many nonzeros per code, on a uniformly drawn support.
    dictionary : array of shape (n_atoms, n_features), optional
        Use this dictionary instead of a unit-norm Gaussian one.
    sparsity : float in (0, 1], optional
        Bernoulli(``sparsity``) supports instead of exactly ``n_nonzero_coefs`` (the protocol of
        Chen et al. 2018: Bernoulli(0.1) × Gaussian).
    code_distribution : {"gaussian", "rademacher", "uniform"}
        Values on the support: N(0, 1), ±1, or ±U[1, 2] (bounded away from 0).
    positive : bool
        Non-negative code values (absolute values of the draws).
    snr_db : float, optional
        Add white Gaussian noise with std ``std(ZD)·10^(−snr_db/20)``; noiseless if None.
    dtype : float32 or float64
    random_state : None, int or Generator

    Returns
    -------
    SparseProblem

    Examples
    --------
    >>> p = make_sparse_problem(10, 16, 32, 3, snr_db=30, random_state=0)
    >>> p.X.shape, p.codes.shape, int((p.codes != 0).sum(axis=1).max())
    ((10, 16), (10, 32), 3)
    """
    rng = check_random_state(random_state)
    n_samples = check_positive_int(n_samples, "n_samples")
    if dictionary is None:
        D = random_dictionary(n_atoms, n_features, random_state=rng)
    else:
        D = np.array(dictionary, dtype=np.float64)
        if D.ndim != 2:
            raise ValueError(f"dictionary must be 2-D (n_atoms, n_features); got shape {D.shape}")
    n_atoms = D.shape[0]
    if sparsity is not None:
        p = check_nonneg_scalar(sparsity, "sparsity", allow_zero=False)
        if p > 1:
            raise ValueError(f"sparsity must be in (0, 1]; got {sparsity}")
        support = rng.random((n_samples, n_atoms)) < p
    else:
        k = check_positive_int(n_nonzero_coefs, "n_nonzero_coefs", upper=n_atoms,
                               upper_name="n_atoms")
        order = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :k]
        support = np.zeros((n_samples, n_atoms), dtype=bool)
        np.put_along_axis(support, order, True, axis=1)
    if code_distribution == "gaussian":
        vals = rng.standard_normal((n_samples, n_atoms))
    elif code_distribution == "rademacher":
        vals = rng.choice([-1.0, 1.0], size=(n_samples, n_atoms))
    elif code_distribution == "uniform":
        vals = rng.uniform(1.0, 2.0, (n_samples, n_atoms)) * rng.choice([-1.0, 1.0],
                                                                        (n_samples, n_atoms))
    else:
        raise ValueError(
            "code_distribution must be 'gaussian', 'rademacher' or 'uniform'; "
            f"got {code_distribution!r}"
        )
    if positive:
        vals = np.abs(vals)
    Z = np.where(support, vals, 0.0)
    clean = Z @ D
    noise_std = 0.0
    X = clean
    if snr_db is not None:
        noise_std = float(np.std(clean) * 10.0 ** (-float(snr_db) / 20.0))
        X = clean + noise_std * rng.standard_normal(clean.shape)
    return SparseProblem(X.astype(dtype), D.astype(dtype), Z.astype(dtype), noise_std)
