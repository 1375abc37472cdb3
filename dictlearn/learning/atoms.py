r"""Atoms: initialisation, constraint sets, projections and the dead-atom policy.

Every learner keeps its dictionary ``D`` (n_atoms, n_features) in a constraint set after every
update:

- ``"sphere"``: ``‖d_j‖₂ = 1`` (K-SVD, MOD, the usual choice);
- ``"ball"``: ``‖d_j‖₂ ≤ 1`` (the convex set of Mairal et al. 2010);
- with ``positive_dict=True``, additionally ``d_j ≥ 0`` entrywise.

The projections reuse :mod:`dictlearn.prox`; the non-negative sphere is reached by clipping
first and normalising second, which is the exact Euclidean projection onto
``{d ≥ 0, ‖d‖ = 1}`` whenever the clipped row is non-zero (a row with no positive entry has
no unique projection and is reported as dead).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .._validation import check_choice
from .._xp import check_random_state
from ..prox import project_nonneg, project_unit_ball_rows, project_unit_sphere_rows

__all__ = ["CONSTRAINTS", "check_atoms_constraint", "dead_atom_mask", "init_dictionary",
           "project_atoms", "resample_atoms"]

#: The atom constraint sets.
CONSTRAINTS = ("sphere", "ball")


def project_atoms(D: Any, *, constraint: str = "sphere", positive: bool = False,
                  xp: ModuleType) -> Any:
    """Project every atom (row) of ``D`` onto the constraint set.

    Parameters
    ----------
    D : array of shape (n_atoms, n_features)
    constraint : {"sphere", "ball"}
    positive : bool
        Clip negative entries first (non-negative atoms).

    Returns
    -------
    array of shape (n_atoms, n_features)
        Zero rows stay zero (see :func:`dead_atom_mask`).

    Examples
    --------
    >>> import numpy as np
    >>> project_atoms(np.array([[3.0, -4.0]]), positive=True, xp=np)
    array([[1., 0.]])
    """
    check_choice(constraint, "constraint", set(CONSTRAINTS))
    if positive:
        D = project_nonneg(D, xp=xp)
    if constraint == "sphere":
        return project_unit_sphere_rows(D, xp=xp)
    return project_unit_ball_rows(D, xp=xp)


def check_atoms_constraint(D: Any, *, constraint: str = "sphere", positive: bool = False,
                           xp: ModuleType, rtol: float | None = None) -> bool:
    """True when every atom satisfies the constraint to ``rtol`` (dtype-based by default)."""
    if rtol is None:
        rtol = 100 * float(xp.finfo(D.dtype).eps)
    norms = xp.linalg.vector_norm(D, axis=1)
    if constraint == "sphere":
        ok = bool(xp.all(xp.abs(norms - 1.0) <= rtol))
    else:
        ok = bool(xp.all(norms <= 1.0 + rtol))
    if positive:
        ok = ok and bool(xp.all(D >= 0))
    return ok


def init_dictionary(X: Any, n_atoms: int, *, init: Any = "data", constraint: str = "sphere",
                    positive: bool = False, random_state: Any = None, xp: ModuleType) -> Any:
    """A starting dictionary for the learners.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Training signals (already validated).
    n_atoms : int
    init : {"data", "random"} or array of shape (n_atoms, n_features)
        ``"data"`` picks ``n_atoms`` distinct signals at random (the K-SVD and SPAMS default;
        Gaussian atoms fill in when there are fewer non-zero signals than atoms);
        ``"random"`` draws Gaussian atoms; an array is used as given (copied).
    constraint, positive
        See :func:`project_atoms`. The atoms start with unit norm whatever the set (a
        ``"ball"`` learner too), so that the start is the same for ``X`` and ``c·X``.
    random_state : None, int or Generator

    Returns
    -------
    array of shape (n_atoms, n_features), in ``X``'s namespace, dtype and device.
    """
    m = X.shape[1]
    device = getattr(X, "device", None)
    rng = check_random_state(random_state)
    if not isinstance(init, str):
        D = xp.asarray(init, dtype=X.dtype, device=device)
        if tuple(D.shape) != (n_atoms, m):
            raise ValueError(
                f"init must have shape (n_atoms, n_features) = {(n_atoms, m)}; "
                f"got {tuple(D.shape)}"
            )
        if not bool(xp.all(xp.isfinite(D))):
            raise ValueError("init contains NaN or infinity")
        D = D + 0.0  # copy: never mutate or alias the caller's array
    else:
        check_choice(init, "init", {"data", "random"})
        D = _gaussian_rows(rng, (n_atoms, m), positive=positive, like=X, xp=xp)
        if init == "data":
            # the indices of the non-zero signals stay on X's device; only the permutation
            # is drawn on the host (the same draw as ``rng.permutation(nonzero)``)
            norms = xp.linalg.vector_norm(X, axis=1)
            nonzero = xp.nonzero(norms > float(xp.finfo(X.dtype).smallest_normal))[0]
            order = rng.permutation(int(nonzero.shape[0]))[:n_atoms]
            if order.size:
                take = xp.take(nonzero, xp.asarray(order, device=device), axis=0)
                picked = xp.take(X, take, axis=0)
                D = xp.concat([picked, D[order.size:, :]], axis=0)
    # unit atoms on every constraint set (SPAMS and scikit-learn normalise their start too):
    # a start that does not depend on the scale of X. Zero rows (e.g. a non-negative
    # projection of a signal with no positive entry) get random unit rows.
    check_choice(constraint, "constraint", set(CONSTRAINTS))
    return _fill_zero_rows(project_atoms(D, constraint="sphere", positive=positive, xp=xp),
                           rng, xp=xp)


def _gaussian_rows(rng: np.random.Generator, shape: tuple[int, int], *, positive: bool,
                   like: Any, xp: ModuleType) -> Any:
    """Gaussian rows (their absolute values when ``positive``) in ``like``'s dtype/device."""
    G = rng.standard_normal(shape)
    return xp.asarray(np.abs(G) if positive else G, dtype=like.dtype,
                      device=getattr(like, "device", None))


def _fill_zero_rows(D: Any, rng: np.random.Generator, *, xp: ModuleType) -> Any:
    """``D`` with its zero rows (:func:`dead_atom_mask`) replaced by random non-negative unit
    rows."""
    dead = dead_atom_mask(D, xp=xp)
    if not bool(xp.any(dead)):
        return D
    fill = np.abs(rng.standard_normal(tuple(D.shape))) + 1e-3
    fill = xp.asarray(fill / np.linalg.norm(fill, axis=1, keepdims=True), dtype=D.dtype,
                      device=getattr(D, "device", None))
    return xp.where(dead[:, None], fill, D)


def dead_atom_mask(D: Any, Z: Any = None, *, xp: ModuleType, tol: float = 0.0,
                   max_coherence: float | None = None) -> Any:
    """Boolean mask (n_atoms,) of dead atoms.

    An atom is dead when its norm is (numerically) zero; when codes ``Z``
    (n_samples, n_atoms) are given, when no sample uses it (``max |z_ij| <= tol``); and when
    ``max_coherence`` is given, when it duplicates an atom of lower index
    (``|cos(d_i, d_j)| > max_coherence``, the "clear atoms" step of K-SVD implementations).
    """
    norms = xp.linalg.vector_norm(D, axis=1)
    dead = norms <= float(xp.finfo(D.dtype).smallest_normal) ** 0.5
    if Z is not None:
        dead = dead | (xp.max(xp.abs(Z), axis=0) <= tol)
    if max_coherence is not None and D.shape[0] > 1:
        Dn = D / xp.where(dead, 1.0, norms)[:, None]
        C = xp.abs(Dn @ xp.matrix_transpose(Dn))
        k = D.shape[0]
        ar = xp.arange(k, device=getattr(D, "device", None))
        lower = ar[None, :] < ar[:, None]  # (j, i): i < j
        dup = xp.any((C > max_coherence) & lower, axis=1)
        dead = dead | dup
    return dead


def resample_atoms(D: Any, X: Any, Z: Any, dead: Any, *, constraint: str = "sphere",
                   positive: bool = False, random_state: Any = None,
                   xp: ModuleType) -> tuple[Any, int]:
    """Replace the dead atoms by the worst-reconstructed signals of the batch.

    The residuals ``R = X − Z D`` are ranked by ``‖r_i‖``; dead atom number ``q`` (in index
    order) becomes the normalised residual of the ``q``-th worst signal (the signal itself when
    its residual is zero), so new atoms point where the dictionary fails (Aharon et al. 2006,
    section IV-E). Ties and leftover dead atoms (more dead atoms than signals with a residual)
    get random directions from ``random_state``.

    Returns
    -------
    (D, n_resampled)
        The new dictionary (projected onto the constraint set) and the number of atoms replaced.
    """
    n_dead = int(xp.sum(xp.astype(dead, xp.int64)))
    if n_dead == 0:
        return D, 0
    rng = check_random_state(random_state)
    R = X - Z @ D
    err = xp.linalg.vector_norm(R, axis=1)
    tiny = float(xp.finfo(D.dtype).smallest_normal) ** 0.5
    # the worst-reconstructed signals first (a stable sort: ties keep index order), those with
    # a residual form a prefix of that order
    n_take = min(int(xp.sum(xp.astype(err > tiny, xp.int64))), n_dead)
    order = xp.argsort(-err, stable=True)[:n_take]
    new = _gaussian_rows(rng, (n_dead, D.shape[1]), positive=positive, like=D, xp=xp)
    if n_take:
        picked = xp.take(R, order, axis=0)
        if positive:  # a residual may have no positive part; fall back to the signal
            pos = xp.sum(xp.maximum(picked, 0.0), axis=1) > tiny
            sig = xp.take(X, order, axis=0)
            picked = xp.where(pos[:, None], picked, sig)
        new = xp.concat([picked, new[n_take:, :]], axis=0)
    new = _fill_zero_rows(project_atoms(new, constraint="sphere", positive=positive, xp=xp),
                          rng, xp=xp)
    # scatter the new rows: dead atom number q (in index order) takes row q of ``new``
    rank = xp.cumulative_sum(xp.astype(dead, xp.int64)) - 1
    scattered = xp.take(new, xp.where(dead, rank, 0), axis=0)
    D = xp.where(dead[:, None], scattered, D)
    return project_atoms(D, constraint=constraint, positive=positive, xp=xp), n_dead
