"""Figures: atom grids and amortized-against-iterative curves (matplotlib, imported lazily).

Every function draws on ``ax`` (a new figure when None) and returns the axes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._xp import optional_import, to_host

__all__ = ["new_figure", "plot_activations", "plot_atoms", "plot_conv_atoms", "plot_nmse_vs_steps",
           "plot_nmse_vs_time", "save_figure"]


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


def _curve(ax: Any, rows: list, xs: list, metric: str, style: str, name: str,
           color: Any) -> None:
    """One method's curve (dotted for an untrained network); a method without this metric (an
    autoencoder's codes on its own dictionary have no code NMSE) still gets a legend entry
    saying so."""
    ys = [r[metric] for r in rows]
    if name.endswith("(untrained)") and len(rows) > 1:
        style = ":"
    if not any(math.isfinite(y) for y in ys):
        ax.plot([], [], style, color=color, label=f"{name} (no {_LABEL.get(metric, metric)})")
        return
    ax.plot(xs, ys, style, color=color, label=name)


def _colors(table: Any) -> list:
    """One colour per method: tab10, or tab20 beyond ten methods."""
    n = len(table.methods())
    cmap = optional_import("matplotlib.pyplot").get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


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
    for name, color in zip(table.methods(), _colors(table), strict=True):
        rows = table.select(name)
        style = "o" if len(rows) == 1 else ("-" if rows[0]["family"] == "lista" else "--")
        _curve(ax, rows, [r["steps"] for r in rows], metric, style, name, color)
    ax.xaxis.set_major_locator(optional_import("matplotlib.ticker").MaxNLocator(integer=True))
    ax.set_xlabel("iterations / layers")
    ax.set_ylabel(_LABEL.get(metric, metric))
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def plot_nmse_vs_time(table: Any, *, metric: str = "auto", ax: Any = None) -> Any:
    """NMSE against wall-clock time per sample (log scale), one curve per method."""
    ax = _axes(ax)
    metric = _metric(table, metric)
    for name, color in zip(table.methods(), _colors(table), strict=True):
        rows = table.select(name)
        _curve(ax, rows, [r["time_per_sample_s"] for r in rows], metric,
               "o" if len(rows) == 1 else ".-", name, color)
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
    D = to_host(dictionary).astype(np.float64)
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


def new_figure(**kwargs: Any) -> Any:
    """A matplotlib ``Figure`` not attached to pyplot (safe in scripts and servers: nothing
    to close, no display needed)."""
    return optional_import("matplotlib.figure").Figure(**kwargs)


def save_figure(fig: Any, path: str, *, dpi: int = 120) -> str:
    """Write ``fig`` to ``path`` (its folder created when missing) and return the path: how
    every example saves its figure.

    Examples
    --------
    >>> import os, tempfile
    >>> fig = new_figure(figsize=(2, 2))
    >>> _ = fig.add_subplot().plot([0, 1])
    >>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "sub", "line.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    import os

    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def plot_conv_atoms(atoms: Any, *, sample_rate: float | None = None, n_cols: int | None = None,
                    fig: Any = None) -> Any:
    """Draw convolutional atoms (n_atoms, [n_channels,] atom_length) as small waveforms, one
    panel per atom (channels stacked), time in ms when ``sample_rate`` is given.

    Returns the figure.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_conv_atoms(np.random.default_rng(0).standard_normal((5, 2, 30)),
    ...                       sample_rate=1000)
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (5, 'ms')
    """
    D = to_host(atoms).astype(np.float64)
    if D.ndim == 2:
        D = D[:, None, :]
    if D.ndim != 3:
        raise ValueError(f"atoms must have shape (n_atoms, [n_channels,] atom_length); got "
                         f"{D.shape}")
    K, C, L = D.shape
    cols = n_cols or min(K, 8)
    rows = math.ceil(K / cols)
    fig = fig or new_figure(figsize=(1.6 * cols, 1.1 * rows * (1 + 0.3 * (C - 1))))
    axes = fig.subplots(rows, cols, squeeze=False)
    t = np.arange(L) * (1e3 / sample_rate if sample_rate else 1.0)
    for i, ax in enumerate(axes.flat):
        if i >= K:
            ax.set_axis_off()
            continue
        span = float(np.max(np.abs(D[i]))) or 1.0
        for c in range(C):
            ax.plot(t, D[i, c] / span - 2.2 * c, lw=0.8)
        ax.set_title(f"atom {i}", fontsize=7)
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
        ax.set_xlabel("ms" if sample_rate else "samples", fontsize=6)
    if hasattr(fig, "tight_layout"):
        fig.tight_layout()
    return fig


def plot_activations(decomposition: Any, *, signal: Any = None, max_events: int = 20000,
                     fig: Any = None) -> Any:
    """Activations over time, one row per atom (a dot per event, its size the amplitude's
    magnitude, its colour the sign), under the signal and its reconstruction.

    ``decomposition`` has ``events`` (``atom``, ``time``, ``amplitude``), ``atoms``,
    ``reconstruction``, ``residual`` and ``sample_rate`` (a
    :class:`~dictlearn.signal.Decomposition`). Returns the figure.
    """
    ev = decomposition.events
    rate = float(decomposition.sample_rate)
    recon = to_host(decomposition.reconstruction)
    x = recon + to_host(decomposition.residual) if signal is None else to_host(signal)
    x = x.reshape(-1, x.shape[-1])
    K = int(decomposition.atoms.shape[0])
    fig = fig or new_figure(figsize=(10, 2.0 + 0.22 * K))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2.5]})
    t = np.arange(x.shape[1]) / rate
    step = max(1, x.shape[1] // 20000)
    top.plot(t[::step], x[0, ::step], lw=0.5, color="0.5", label="signal")
    top.plot(t[::step], recon.reshape(x.shape)[0, ::step], lw=0.5, color="C0", alpha=0.8,
             label="reconstruction")
    top.legend(fontsize=7, loc="upper right")
    top.set_yticks([])
    amp = np.asarray(ev["amplitude"], dtype=np.float64)
    keep = np.argsort(np.abs(amp))[::-1][:max_events]
    if amp.size:
        size = 2 + 40 * np.abs(amp[keep]) / np.max(np.abs(amp))
        bottom.scatter(np.asarray(ev["time"])[keep] / rate, np.asarray(ev["atom"])[keep],
                       s=size, c=np.sign(amp[keep]), cmap="coolwarm", vmin=-1, vmax=1,
                       linewidths=0)
    bottom.set_ylim(K - 0.5, -0.5)
    bottom.set_yticks(range(K))
    bottom.tick_params(labelsize=6)
    bottom.set_ylabel("atom")
    bottom.set_xlabel("time (s)")
    bottom.grid(True, axis="y", alpha=0.2)
    if hasattr(fig, "tight_layout"):
        fig.tight_layout()
    return fig
