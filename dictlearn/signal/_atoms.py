r"""Where convolutional atoms come from and where they sit: the initial windows, the windows
that replace dead or duplicated atoms, and the centring of atoms on their energy.

Convolutional dictionary learning is non-convex, and its local minima are mostly *alignment*
minima: an atom that holds a shifted, truncated copy of a pattern (the rest of the pattern
falls outside the atom's ``L`` samples and cannot come back by gradient steps), or two atoms
that hold the same pattern at two shifts. Three rules avoid them:

1. **initial windows** (:func:`energy_windows`): windows drawn with probability proportional
   to their energy, then moved until their energy centroid is mid-window (mean shift on the
   energy), so that each initial atom holds a whole event rather than a random cut of one
   (alphacsc's ``"chunk"`` draws uniformly);
2. **centring** (:func:`centring_shifts`): an atom whose energy centroid is off the middle by
   ``|s|`` samples is moved by ``s`` and its activations back by ``s``:
   ``d'_k[l] = d_k[l + s]``, ``z'_k[t] = z_k[t − s]``, the same model but for what leaves the
   window, and the dictionary step can then grow the part of the pattern that was cut;
3. **replacement windows** (:func:`replacement_windows`): a dead or duplicated atom is replaced
   by the window of largest residual energy whose content is not already an atom up to a
   shift (shift coherence at most 0.9) — the windows that the current atoms cannot explain,
   as alphacsc's greedy variant adds its atoms, and not a known pattern that the valid
   convolution cannot place at a signal's edge.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._statistics import shift_coherence, shift_time

__all__ = ["centring_shifts", "energy_windows", "replacement_windows", "shift_atoms",
           "shift_codes", "uniform_windows"]

NEW_ATOM_MAX_COHERENCE = 0.9  # a window this close to a live atom (up to a shift) is skipped
MAX_TRIES = 50  # windows tried per replaced atom


def _window_energy(e: Any, L: int, xp: ModuleType) -> Any:
    """Energy of every window of ``L`` samples of ``e`` (n, T): (n, T − L + 1)."""
    c = xp.cumulative_sum(e, axis=1, include_initial=True)
    return c[:, L:] - c[:, :-L]


def _coherence(cand: Any, atoms: list[Any], xp: ModuleType) -> float:
    """The largest shift coherence of the window ``cand`` (C, L) with ``atoms``."""
    return float(xp.max(shift_coherence(xp.stack([cand, *atoms]), xp=xp)[0, 1:]))


def _centre_window(e: Any, s: int, L: int, xp: ModuleType, n_steps: int = 8) -> int:
    """Move the start ``s`` of a window of ``L`` samples of the energy ``e`` (T,) until the
    energy centroid is mid-window (mean shift; at most ``n_steps`` moves)."""
    n_valid = int(e.shape[0]) - L + 1
    pos = xp.arange(L, dtype=e.dtype, device=getattr(e, "device", None))
    for _ in range(n_steps):
        seg = e[s:s + L]
        tot = float(xp.sum(seg))
        if not tot > 0:
            break
        new = min(max(s + round(float(xp.sum(seg * pos)) / tot - (L - 1) / 2), 0), n_valid - 1)
        if new == s:
            break
        s = new
    return s


def energy_windows(X3: Any, k: int, L: int, *, rng: np.random.Generator,
                   xp: ModuleType) -> list[Any | None]:
    r"""``k`` windows (C, L) of the signals ``X3`` (n, C, T), centred on events, no two alike.

    Window starts are drawn with probability proportional to the window's energy
    :math:`\sum_{c,l} x_{n,c}[s+l]^2`, then moved until the energy centroid is mid-window;
    a window never overlaps one drawn before, and one within
    :data:`NEW_ATOM_MAX_COHERENCE` (up to a shift) of a window taken is drawn again (at most
    :data:`MAX_TRIES` times). None where no such window exists (fewer kinds of events than
    ``k``, or silence): the caller starts those atoms from noise, so that they stay unused
    and are replaced when new kinds of events come (online learning).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 1, 100)); x[0, 0, 60:63] = [1.0, 2.0, 1.0]
    >>> w = energy_windows(x, 1, 9, rng=np.random.default_rng(0), xp=np)[0]
    >>> w[0].tolist()
    [0.0, 0.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0]
    """
    n = int(X3.shape[0])
    e = xp.sum(X3 * X3, axis=1)
    w = _window_energy(e, L, xp)
    n_valid = int(w.shape[1])
    dev = getattr(X3, "device", None)
    shifts = xp.arange(n_valid, device=dev)[None, :]
    signals = xp.arange(n, device=dev)[:, None]
    out = []
    for _ in range(k):
        cand = None
        for _ in range(MAX_TRIES):
            cum = xp.cumulative_sum(xp.reshape(w, (-1,)))
            total = float(cum[-1])
            if not total > 0:
                break
            u = xp.asarray(rng.random() * total, dtype=cum.dtype, device=dev)
            i, s = divmod(min(int(xp.searchsorted(cum, u)), n * n_valid - 1), n_valid)
            s = _centre_window(e[i, :], s, L, xp)
            w = xp.where((signals == i) & (shifts > s - L) & (shifts < s + L), 0.0, w)
            window = X3[i, :, s:s + L]
            if not [c for c in out if c is not None] or _coherence(
                    window, [c for c in out if c is not None], xp) <= NEW_ATOM_MAX_COHERENCE:
                cand = window
                break
        out.append(cand)
    return out


def uniform_windows(X3: Any, k: int, L: int, *, rng: np.random.Generator) -> list[Any]:
    """``k`` windows (C, L) of the signals ``X3`` (n, C, T) at uniformly random signals and
    starts (alphacsc's ``"chunk"``).

    Examples
    --------
    >>> import numpy as np
    >>> [w.shape for w in uniform_windows(np.ones((2, 1, 50)), 2, 8, rng=np.random.default_rng(0))]
    [(1, 8), (1, 8)]
    """
    n, T = int(X3.shape[0]), int(X3.shape[2])
    rows = rng.integers(0, n, size=k)
    starts = rng.integers(0, T - L + 1, size=k)
    return [X3[int(i), :, int(s):int(s) + L] for i, s in zip(rows, starts, strict=True)]


def replacement_windows(X3: Any, R: Any, live: list[Any], k: int, L: int, *,
                        xp: ModuleType) -> list[Any | None]:
    """``k`` windows (C, L) of the signals ``X3`` (n, C, T) for new atoms: by decreasing
    energy of the residual ``R`` (n, C, T), skipping windows within
    :data:`NEW_ATOM_MAX_COHERENCE` (up to a shift) of an atom in ``live`` (a list of (C, L)
    atoms) or of a window taken before; None where no window qualifies (a silent residual).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((1, 1, 80)); X[0, 0, 10:13] = [1.0, 2.0, 1.0]; X[0, 0, 50:53] = [1, -1, 1]
    >>> known = np.zeros((1, 8)); known[0, 3:6] = [1.0, 2.0, 1.0]
    >>> [w[0].tolist() for w in replacement_windows(X, 3 * X, [known], 1, 8, xp=np)]
    [[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 1.0]]
    """
    err = _window_energy(xp.sum(R * R, axis=1), L, xp)
    n, n_valid = (int(s) for s in err.shape)
    dev = getattr(X3, "device", None)
    shifts = xp.arange(n_valid, device=dev)[None, :]
    signals = xp.arange(n, device=dev)[:, None]
    tiny = float(xp.finfo(X3.dtype).smallest_normal)
    live, out = list(live), []
    for _ in range(k):
        patch = None
        for _ in range(MAX_TRIES):
            i, s = divmod(int(xp.argmax(xp.reshape(err, (-1,)))), n_valid)
            if not float(err[i, s]) > tiny:
                break
            err = xp.where((signals == i) & (shifts > s - L) & (shifts < s + L), -xp.inf, err)
            cand = X3[i, :, s:s + L]
            if float(xp.sum(cand * cand)) <= tiny:
                continue
            if not live or _coherence(cand, live, xp) <= NEW_ATOM_MAX_COHERENCE:
                patch = cand
                break
        out.append(patch)
        if patch is not None:
            live.append(patch)
    return out


def centring_shifts(D: Any, *, xp: ModuleType, min_shift: int | None = None) -> list[int]:
    r"""Per atom the shift ``s_k`` that moves its energy centroid
    :math:`\bar l_k = \sum_l l\, e_k[l] / \sum_l e_k[l]` (``e_k[l] = Σ_c d_{k,c}[l]²``) to the
    middle ``(L − 1)/2``: ``s_k = round(l̄_k − (L − 1)/2)``, or 0 when ``|s_k|`` is below
    ``min_shift`` (default ``max(1, L // 16)``) or the atom is zero.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.zeros((2, 1, 16)); D[0, 0, 1:4] = 1.0; D[1, 0, 7:9] = 1.0
    >>> centring_shifts(D, xp=np)
    [-6, 0]
    """
    K, L = int(D.shape[0]), int(D.shape[2])
    min_shift = max(1, L // 16) if min_shift is None else int(min_shift)
    e = xp.sum(D * D, axis=1)
    tot = xp.sum(e, axis=1)
    pos = xp.arange(L, dtype=D.dtype, device=getattr(D, "device", None))
    cen = xp.sum(e * pos[None, :], axis=1) / xp.where(tot > 0, tot, 1.0)
    out = []
    for k in range(K):
        s = round(float(cen[k]) - (L - 1) / 2) if float(tot[k]) > 0 else 0
        out.append(int(s) if abs(s) >= min_shift else 0)
    return out


def shift_atoms(D: Any, shifts: list[int], *, xp: ModuleType) -> Any:
    """``d'_k[l] = d_k[l + s_k]`` (zero outside) for atoms (K, C, L)."""
    return xp.stack([shift_time(D[k, ...], s, xp=xp) for k, s in enumerate(shifts)])


def shift_codes(Z3: Any, shifts: list[int], *, xp: ModuleType) -> Any:
    """``z'_k[t] = z_k[t − s_k]`` (zero outside) for activations (n, K, T_v): with
    :func:`shift_atoms`, the same reconstruction but for what leaves the windows."""
    return xp.stack([shift_time(Z3[:, k, :], -s, xp=xp) for k, s in enumerate(shifts)],
                    axis=1)
