r"""ALISTA's analytic weight ``W̃`` and the step bound ``L̃`` that makes its layers convergent.

Liu et al. (2019) fix the weight of every layer to ``W̃``, the minimiser of the mutual coherence
``‖W̃ᵀA‖_F`` subject to ``diag(W̃ᵀA) = 1`` (:func:`alista_weight`), and learn a step ``γ_k`` and
a threshold ``θ_k`` per layer. Their reference code starts from ``γ = 1``; a layer is a
proximal-gradient step, and the untrained network a convergent iteration, only for
``γ ≤ 1/L̃`` with ``L̃`` the largest eigenvalue of ``D W̃`` (:func:`alista_lipschitz`), about
``n_atoms/n_features`` for unit-norm atoms: ``γ = 1`` diverges on dictionaries more than 2×
overcomplete (the 4× quick-start of ``docs/amortized.md`` went from +4.5 to +71 dB in 8 layers).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._xp import to_numpy

__all__ = ["alista_lipschitz", "alista_weight", "warn_if_not_unit_norm"]


def alista_weight(dictionary: Any) -> np.ndarray:
    r"""ALISTA's analytic weight ``W̃`` (n_features, n_atoms), computed on the host.

    ``W̃ = argmin ‖W̃ᵀ A‖_F²`` subject to ``w̃_iᵀ a_i = 1`` for every atom ``a_i`` (the
    columns of ``A = Dᵀ``): a quadratic with one linear constraint per column, solved in
    closed form by ``w̃_i = M⁺ a_i / (a_iᵀ M⁺ a_i)`` with ``M = A Aᵀ = Dᵀ D``.

    References
    ----------
    Liu, Chen, Wang & Yin (2019), ALISTA: Analytic weights are as good as learned weights in
    LISTA, ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from dictlearn.datasets import random_dictionary
    >>> D = random_dictionary(12, 6, random_state=0)
    >>> Wt = alista_weight(D)
    >>> bool(np.allclose(np.sum(D.T * Wt, axis=0), 1.0))   # diag(W̃ᵀ A) = 1
    True
    """
    D = np.asarray(to_numpy(dictionary), dtype=np.float64)
    A = D.T
    Minv_A = np.linalg.pinv(A @ A.T, hermitian=True) @ A
    lev = np.sum(A * Minv_A, axis=0, keepdims=True)
    if np.any(lev <= 1e3 * np.finfo(np.float64).eps):
        raise ValueError("dictionary: ALISTA's weight needs nonzero atoms; atoms "
                         f"{np.flatnonzero(lev[0] <= 1e3 * np.finfo(np.float64).eps).tolist()[:5]}"
                         " are zero")
    return Minv_A / lev


def alista_lipschitz(dictionary: Any, W_tilde: Any = None) -> float:
    r"""The largest eigenvalue ``L̃`` of ``D W̃`` (n_atoms, n_atoms): ALISTA's step bound.

    With ``P = Aᵀ M⁺ A``, the orthogonal projector on the row space of ``A = Dᵀ``, and
    ``C = diag(P)`` (the atoms' leverage scores), ``W̃ = M⁺ A C⁻¹`` and
    ``D W̃ = P C⁻¹``: similar to the symmetric ``C^{-1/2} P C^{-1/2}``, so its eigenvalues
    are real and non-negative and ``L̃ = ‖P C^{-1/2}‖₂²``. An ALISTA layer
    ``η_θ(Z + γ (X − Z D) W̃)`` is then a proximal-gradient step in the metric ``C`` on

    ``½ ‖Z D − X‖²_{M⁺} + (θ/γ) Σ_i c_i |z_i|``,

    which decreases that objective at every layer when ``γ ≤ 1/L̃`` (and diverges for any
    ``γ > 2/L̃`` on signals outside a sparse support: ``L̃ ≈ n_atoms/n_features`` for
    unit-norm atoms, so the unit step ``γ = 1`` of the reference code diverges on a
    dictionary more than 2× overcomplete).

    Examples
    --------
    >>> from dictlearn.datasets import random_dictionary
    >>> D = random_dictionary(64, 16, random_state=0)    # 4x overcomplete
    >>> 3.0 < alista_lipschitz(D) < 6.0
    True
    """
    D = np.asarray(to_numpy(dictionary), dtype=np.float64)
    Wt = alista_weight(D) if W_tilde is None else np.asarray(to_numpy(W_tilde), np.float64)
    # nonzero eigenvalues of D W̃ (k x k) are those of W̃ D (m x m), a smaller matrix
    return float(np.max(np.linalg.eigvals(Wt @ D).real))


def warn_if_not_unit_norm(D: Any) -> None:
    """ALISTA's weight assumes unit-norm atoms (Liu et al. 2019 normalise ``A``'s columns)."""
    norms = np.linalg.norm(np.asarray(to_numpy(D), dtype=np.float64), axis=1)
    if np.max(np.abs(norms - 1.0)) > 1e-3:
        warnings.warn(
            f"LISTA(variant='alista'): the dictionary's atom norms range from {norms.min():.3g} "
            f"to {norms.max():.3g}; ALISTA's analytic weight assumes unit-norm atoms, and "
            "without them its untrained network solves a lasso whose l1 weights follow the "
            "atoms' leverage scores, not the plain lasso of ISTA (its codes can be several dB "
            "worse). Normalise the atoms (dictlearn.prox.project_unit_sphere_rows) "
            "and rescale the codes, or use variant='cp'.", UserWarning, stacklevel=4)
