"""Timing and plain-text tables, shared by the benchmarks, the demo and
:func:`~dictlearn.compare_inference` (library code: nothing here imports ``dictlearn.bench``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["format_table", "median_time"]


def median_time(fn: Callable[[], Any], *, repeat: int = 3, warmup: int = 0) -> tuple[float, Any]:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` runs, and the last result.

    ``warmup`` runs are done first and not timed (for numba compilation and caches).
    """
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Plain-text table with right-aligned numeric columns."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
                return f"{v:.3e}"
            return f"{v:.4f}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)
