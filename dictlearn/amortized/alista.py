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

from .._linalg import spectral_norm_sq
from .._xp import get_namespace


def _float64(a: Any) -> tuple[Any, Any]:
    """``a`` (an array of any library, or a nested list) in float64, on its own device."""
    if not hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray):
        a = np.asarray(a, dtype=np.float64)
    xp = get_namespace(a)
    return xp.astype(a, xp.float64), xp

__all__ = ["alista_lipschitz", "alista_weight", "warn_if_not_unit_norm"]


def alista_weight(dictionary: Any) -> Any:
    r"""ALISTA's analytic weight ``W̃`` (n_features, n_atoms), in float64, in the dictionary's
    array library and on its device.

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
    D, xp = _float64(dictionary)
    A = xp.matrix_transpose(D)
    Minv_A = xp.linalg.pinv(A @ D) @ A
    lev = xp.sum(A * Minv_A, axis=0, keepdims=True)
    zero = lev[0, :] <= 1e3 * float(np.finfo(np.float64).eps)
    if bool(xp.any(zero)):
        idx = xp.nonzero(zero)[0]
        raise ValueError("dictionary: ALISTA's weight needs nonzero atoms; atoms "
                         f"{[int(idx[i]) for i in range(min(5, int(idx.shape[0])))]} are zero")
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

    ``W_tilde``, when given, is :func:`alista_weight`'s ``W̃`` for this dictionary (e.g. read
    back from a model file): the eigenvalue is computed from its form, on the dictionary's
    device, as the largest eigenvalue of the symmetric ``C^{-1/2} P C^{-1/2}`` with
    ``c_i = 1 / (w̃_iᵀ M w̃_i)``.
    """
    D, xp = _float64(dictionary)
    Wt = alista_weight(D) if W_tilde is None else xp.astype(W_tilde, xp.float64)
    # C from W̃ alone: w̃_iᵀ M w̃_i = 1 / c_i; then P C^{-1/2} = Aᵀ W̃ C^{1/2} (symmetric
    # eigenproblem, on the dictionary's device)
    c = 1.0 / xp.sum(Wt * ((xp.matrix_transpose(D) @ D) @ Wt), axis=0)
    return spectral_norm_sq(D @ Wt * xp.sqrt(c)[None, :], xp=xp, method="eigh")


def warn_if_not_unit_norm(D: Any) -> None:
    """ALISTA's weight assumes unit-norm atoms (Liu et al. 2019 normalise ``A``'s columns)."""
    D, xp = _float64(D)
    norms = xp.linalg.vector_norm(D, axis=1)
    if float(xp.max(xp.abs(norms - 1.0))) > 1e-3:
        warnings.warn(
            f"LISTA(variant='alista'): the dictionary's atom norms range from "
            f"{float(xp.min(norms)):.3g} to {float(xp.max(norms)):.3g}; ALISTA's analytic "
            "weight assumes unit-norm atoms, and "
            "without them its untrained network solves a lasso whose l1 weights follow the "
            "atoms' leverage scores, not the plain lasso of ISTA (its codes can be several dB "
            "worse). Normalise the atoms (dictlearn.prox.project_unit_sphere_rows) "
            "and rescale the codes, or use variant='cp'.", UserWarning, stacklevel=4)
