"""Metrics shared by iterative and amortized inference, in array-API code."""

from __future__ import annotations

import math
from typing import Any

from ._xp import get_namespace

__all__ = ["babel", "dead_atoms", "dictionary_recovery", "gabor_fraction", "gabor_r2", "l0_norm",
           "mutual_coherence", "nmse_db", "support_recovery"]


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


def _gabor(params: Any, yy: Any, xx: Any, jac: bool = False) -> Any:
    """The 2-D Gabor ``exp(−x'²/2σx² − y'²/2σy²)(a cos 2πf x' + b sin 2πf x') + c`` on the
    grid, ``params = (x0, y0, θ, σx, σy, f, a, b, c)`` (x' along the carrier, y' along the
    stripes, c the offset); with ``jac``, its Jacobian (n_pixels, 9) instead."""
    import numpy as np

    x0, y0, th, sx, sy, f, a, b, off = params
    c, s = np.cos(th), np.sin(th)
    xr = (xx - x0) * c + (yy - y0) * s
    yr = -(xx - x0) * s + (yy - y0) * c
    env = np.exp(-0.5 * ((xr / sx) ** 2 + (yr / sy) ** 2))
    k = 2 * np.pi * f
    cos, sin = np.cos(k * xr), np.sin(k * xr)
    car = a * cos + b * sin
    if not jac:
        return env * car + off
    dcar = b * cos - a * sin  # d car / d(k x')
    g_xr = env * (-xr / sx**2 * car + k * dcar)  # dg/dx'
    g_yr = env * (-yr / sy**2 * car)  # dg/dy'
    return np.stack([-c * g_xr + s * g_yr, -s * g_xr - c * g_yr, yr * g_xr - xr * g_yr,
                     env * car * xr**2 / sx**3, env * car * yr**2 / sy**3,
                     env * dcar * 2 * np.pi * xr, env * cos, env * sin, np.ones_like(env)],
                    axis=1)


def _gabor_r2_one(atom: Any, yy: Any, xx: Any, n_starts: int) -> float:
    import numpy as np
    from scipy.optimize import least_squares

    d = atom.ravel()
    ss_tot = float(((d - d.mean()) ** 2).sum())
    if ss_tot <= 0.0:
        return 0.0
    h, w = atom.shape
    e = d * d
    y0, x0 = float((e * yy).sum() / e.sum()), float((e * xx).sum() / e.sum())
    spread = float(np.sqrt((e * ((yy - y0) ** 2 + (xx - x0) ** 2)).sum() / e.sum() / 2))
    sig = min(max(spread, 1.0), max(h, w) / 2)
    # starts: a grid of orientations, frequencies and widths, the carrier's amplitudes (a, b)
    # and the offset c solved by linear least squares for each; the best n_starts are refined
    starts = []
    one = np.ones_like(d)
    for th in np.arange(8) * np.pi / 8:
        for f in (0.06, 0.12, 0.2, 0.3, 0.4):
            for sx, sy in ((sig, sig), (0.6 * sig, 1.2 * sig)):
                p = [x0, y0, th, sx, sy, f, 1.0, 0.0, 0.0]
                basis = np.stack([_gabor(p, yy, xx), _gabor([*p[:6], 0.0, 1.0, 0.0], yy, xx),
                                  one], 1)
                abc, *_ = np.linalg.lstsq(basis, d, rcond=None)
                res = float(((basis @ abc - d) ** 2).sum())
                starts.append((res, p[:6] + list(abc)))
    starts.sort(key=lambda t: t[0])
    lo = [-1.0, -1.0, -np.inf, 0.3, 0.3, 0.0, -np.inf, -np.inf, -np.inf]
    hi = [w, h, np.inf, 2.0 * max(h, w), 2.0 * max(h, w), 0.5, np.inf, np.inf, np.inf]
    best = starts[0][0]
    for _, p0 in starts[:n_starts]:
        p0 = np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
        fit = least_squares(lambda q: _gabor(q, yy, xx) - d, p0, bounds=(lo, hi),
                            jac=lambda q: _gabor(q, yy, xx, jac=True), max_nfev=50,
                            x_scale="jac")
        best = min(best, float(2.0 * fit.cost))
        if best <= 0.05 * ss_tot:  # R² ≥ 0.95: the other starts cannot change the verdict
            break
    return max(0.0, 1.0 - best / ss_tot)


def gabor_r2(atoms: Any, patch_shape: tuple[int, int] | None = None, *,
             n_starts: int = 3) -> Any:
    r"""How well a 2-D Gabor function fits each atom: the coefficient of determination R².

    Every atom (a row of ``atoms``, reshaped to ``patch_shape``) is fitted by least squares
    (:func:`scipy.optimize.least_squares`) with the Gabor

    .. math:: g(x, y) = e^{-x'^2/2\sigma_x^2 - y'^2/2\sigma_y^2}\,
              (a\cos 2\pi f x' + b\sin 2\pi f x') + c,

    :math:`x' = (x - x_0)\cos\theta + (y - y_0)\sin\theta`,
    :math:`y' = -(x - x_0)\sin\theta + (y - y_0)\cos\theta`: a localized (envelope), oriented
    (θ) and band-pass (carrier f) function, plus an offset ``c`` (the intercept that makes
    ``R²`` about the mean a coefficient of determination: without it a Gabor on a constant
    background of a fifth of its peak scored R² ≈ 0.6). The fit starts from a grid of 8
    orientations × 5 frequencies × 2 envelopes centred on the atom's energy centroid, with
    ``(a, b, c)`` solved linearly for each; the ``n_starts`` best are refined (50 evaluations
    at most each; once one reaches R² ≥ 0.95 the rest are skipped).
    ``R² = 1 − SS_res/SS_tot`` (``SS_tot`` about the atom's mean). Simple cells' receptive
    fields score near 1; white noise near 0.

    Parameters
    ----------
    atoms : array of shape (n_atoms, h·w)
        Any array library, on any device (one explicit copy to the host: the fits run in
        SciPy).
    patch_shape : (int, int), optional
        ``(h, w)``; default: square.
    n_starts : int, default=3
        Starting points refined by the non-linear least squares.

    Returns
    -------
    ndarray of shape (n_atoms,)
        R² in [0, 1] (0 for a constant atom): host NumPy, like the other per-atom
        diagnostics computed by SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:12, :12]
    >>> g = np.exp(-((xx - 6) ** 2 + (yy - 5) ** 2) / 8) * np.cos(2 * np.pi * 0.2 * xx)
    >>> noise = np.random.default_rng(0).standard_normal(144)
    >>> np.round(gabor_r2(np.stack([g.ravel(), noise])), 2)
    array([1.  , 0.09])
    """
    import numpy as np

    from ._validation import check_positive_int
    from ._xp import to_host

    A = np.asarray(to_host(atoms), dtype=np.float64)  # the fits run on the host (SciPy)
    if A.ndim != 2:
        raise ValueError(f"atoms must be 2-D (n_atoms, h*w); got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("atoms must be finite (no NaN or infinity)")
    if patch_shape is None:
        side = math.isqrt(A.shape[1])
        if side * side != A.shape[1]:
            raise ValueError(f"atoms of {A.shape[1]} features are not square: give patch_shape")
        patch_shape = (side, side)
    h, w = (int(v) for v in patch_shape)
    if h * w != A.shape[1]:
        raise ValueError(f"patch_shape {(h, w)} holds {h * w} values; the atoms have "
                         f"{A.shape[1]}")
    n_starts = check_positive_int(n_starts, "n_starts")
    yy, xx = (g.ravel().astype(np.float64) for g in np.mgrid[:h, :w])
    return np.array([_gabor_r2_one(a.reshape(h, w), yy, xx, n_starts) for a in A])


def gabor_fraction(atoms: Any, patch_shape: tuple[int, int] | None = None, *,
                   threshold: float = 0.8) -> float:
    """Fraction of the atoms that a 2-D Gabor fits with ``R² ≥ threshold`` (:func:`gabor_r2`).

    Examples
    --------
    >>> import numpy as np
    >>> gabor_fraction(np.random.default_rng(0).standard_normal((4, 64)))
    0.0
    """
    r2 = gabor_r2(atoms, patch_shape)
    return float((r2 >= threshold).mean()) if r2.size else 0.0
