"""Figures: atom grids and amortized-against-iterative curves (matplotlib, imported lazily).

Every function draws on ``ax`` (a new figure when None) and returns the axes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._xp import optional_import, to_numpy

__all__ = ["plot_atoms", "plot_nmse_vs_steps", "plot_nmse_vs_time"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    plt = optional_import("matplotlib.pyplot")
    return plt.subplots(figsize=(6, 4))[1]


def _metric(table: Any, metric: str) -> str:
    if metric != "auto":
        return metric
    has = any(math.isfinite(r["nmse_db"]) for r in table.rows)
    return "nmse_db" if has else "recon_nmse_db"


_LABEL = {"nmse_db": "code NMSE (dB)", "recon_nmse_db": "reconstruction NMSE (dB)",
          "objective": "mean lasso objective"}


def plot_nmse_vs_steps(table: Any, *, metric: str = "auto", ax: Any = None) -> Any:
    """NMSE against iterations (ISTA/FISTA) and layers (LISTA); autoencoders as points.

    Parameters
    ----------
    table : ComparisonTable
        From :func:`dictlearn.compare_inference`.
    metric : {"auto", "nmse_db", "recon_nmse_db", "objective"}
        ``auto``: the code NMSE when true codes were given, else the reconstruction NMSE.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import dictlearn
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(20, 8, 16, 2, random_state=0)
    >>> t = dictlearn.compare_inference(p.X, p.dictionary, ["ista"], Z_true=p.codes,
    ...                                 iterations=4)
    >>> ax = plot_nmse_vs_steps(t)
    >>> ax.get_xlabel()
    'iterations / layers'
    """
    ax = _axes(ax)
    metric = _metric(table, metric)
    for name in table.methods():
        rows = table.select(name)
        xs = [r["steps"] for r in rows]
        ys = [r[metric] for r in rows]
        style = "o" if len(rows) == 1 else ("-" if rows[0]["family"] == "lista" else "--")
        ax.plot(xs, ys, style, label=name)
    ax.set_xlabel("iterations / layers")
    ax.set_ylabel(_LABEL.get(metric, metric))
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def plot_nmse_vs_time(table: Any, *, metric: str = "auto", ax: Any = None) -> Any:
    """NMSE against wall-clock time per sample (log scale), one curve per method."""
    ax = _axes(ax)
    metric = _metric(table, metric)
    for name in table.methods():
        rows = table.select(name)
        ax.plot([r["time_per_sample_s"] for r in rows], [r[metric] for r in rows],
                "o" if len(rows) == 1 else ".-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("time per sample (s)")
    ax.set_ylabel(_LABEL.get(metric, metric))
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def plot_atoms(dictionary: Any, shape: tuple[int, int], *, n_cols: int | None = None,
               ax: Any = None, cmap: str = "gray") -> Any:
    """Draw atoms (rows of ``dictionary``) as a grid of ``shape`` images, each scaled to its
    own range.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np
    >>> ax = plot_atoms(np.random.default_rng(0).standard_normal((6, 4)), (2, 2))
    >>> ax.images[0].get_array().shape
    (5, 8)
    """
    D = np.asarray(to_numpy(dictionary), dtype=np.float64)
    h, w = shape
    if D.ndim != 2 or D.shape[1] != h * w:
        raise ValueError(f"dictionary rows must have {h}*{w} = {h * w} entries; got shape "
                         f"{D.shape}")
    k = D.shape[0]
    cols = n_cols or math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i, a in enumerate(D):
        lo, hi = a.min(), a.max()
        img = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        r, c = divmod(i, cols)
        grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img.reshape(h, w)
    ax = _axes(ax)
    ax.imshow(grid, cmap=cmap, interpolation="nearest")
    ax.set_axis_off()
    return ax
