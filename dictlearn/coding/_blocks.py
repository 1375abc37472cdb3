r"""Row blocks: code a large ``X`` a block of rows at a time, so that the working memory of a
method is bounded by the block, not by ``X``.

Every coding method codes each row on its own (its stopping rule is per sample and converged
samples leave the batch), so coding ``X`` block by block gives the same codes as one call: the
same iterations per sample, and codes equal bit for bit for the compiled kernels (OMP, the
exact lasso) and to the last bit of a BLAS product for the array-API solvers (a BLAS matrix
product may round a row differently with the number of rows in the batch, which also changes
as converged rows leave it; measured differences of 4e-16 on the standard problem). A method
holds a few arrays the size of its batch's codes (FISTA: the codes, the previous codes, the
extrapolated point, the gradient and the gap's residuals, about ten); with blocks of
``r`` rows that working set is :math:`c\,r\,k\,b` bytes (``k`` atoms of ``b`` bytes) instead of
:math:`c\,n\,k\,b`, and the peak is ``X + Z`` plus one block's working set. ``"auto"`` picks
``r`` so that one block's codes take :data:`BLOCK_BYTES` (4,096 rows for 256 float64 atoms).
On NumPy the blocks' codes are written into one output array as they come (no second copy
of ``Z`` when the blocks are joined).

Examples
--------
>>> import numpy as np
>>> from dictlearn.coding._blocks import block_rows
>>> block_rows(100_000, 256, 8, "auto"), block_rows(100_000, 256, 8, None)
(4096, 100000)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from .._loop import Result, Status
from .._xp import get_namespace

__all__ = ["BLOCK_BYTES", "block_rows", "encode_blocks", "join_results"]

#: Bytes of codes in one row block of ``batch_size="auto"`` (8 MiB).
BLOCK_BYTES = 8 * 2**20

#: Options that make a call one block: they observe the whole batch's iterations.
WHOLE_BATCH_OPTIONS = ("callback", "record_history")

#: Worst first: the status of a blocked call is the worst of its blocks' statuses.
_STATUS_ORDER = (Status.nonfinite, Status.diverged, Status.stopped, Status.max_iter_reached,
                 Status.converged)


def block_rows(n_samples: int, n_atoms: int, itemsize: int, batch_size: Any) -> int:
    """Rows per block for ``batch_size`` (``"auto"``, ``None`` or a positive int).

    Raises
    ------
    ValueError
        For any other ``batch_size``.
    """
    if batch_size is None:
        return max(n_samples, 1)
    if isinstance(batch_size, str):
        if batch_size != "auto":
            raise ValueError(f"batch_size must be 'auto', None or a positive int; "
                             f"got {batch_size!r}")
        return max(1, BLOCK_BYTES // max(n_atoms * itemsize, 1))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be 'auto', None or a positive int; "
                         f"got {batch_size!r}")
    return batch_size


def _rows_of(a: Any) -> int | None:
    shape = getattr(a, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) == 2 else None


def encode_blocks(fn: Callable[..., Result], X: Any, dictionary: Any, batch_size: Any,
                  options: dict[str, Any]) -> Result:
    """``fn(X, dictionary, **options)`` run on row blocks of ``X``, its results joined.

    ``options["init"]`` (one row per sample) is cut with ``X``; a call with ``callback`` or
    ``record_history`` and inputs that are not 2-D arrays run as one block (the method then
    validates them).
    """
    n, n_atoms = _rows_of(X), _rows_of(dictionary)
    if n is None or n_atoms is None:
        block_rows(1, 1, 1, batch_size)  # still refuse a bad batch_size
        return fn(X, dictionary, **options)
    itemsize = getattr(getattr(X, "dtype", None), "itemsize", 8)
    rows = block_rows(n, n_atoms, itemsize, batch_size)
    if rows >= n or any(options.get(o) for o in WHOLE_BATCH_OPTIONS):
        return fn(X, dictionary, **options)
    init = options.get("init")
    parts, out = [], None
    for start in range(0, n, rows):
        stop = min(start + rows, n)  # the array API leaves out-of-bounds stops unspecified
        opts = dict(options)
        if init is not None and _rows_of(init) == n:
            opts["init"] = init[start:stop, ...]
        part = fn(X[start:stop, ...], dictionary, **opts)
        if isinstance(part.codes, np.ndarray):  # write in place: no second copy of Z
            if out is None:
                out = np.empty((n, part.codes.shape[1]), dtype=part.codes.dtype)
            out[start:stop] = part.codes
            part = dataclasses.replace(part, codes=None)
        parts.append(part)
    return join_results(parts, codes=out)


def join_results(parts: list[Result], codes: Any = None) -> Result:
    """One :class:`~dictlearn.Result` for consecutive row blocks: codes (``codes`` when
    given) and per-sample arrays stacked, the largest ``n_iter``, the worst status."""
    first = next((p.codes for p in parts if p.codes is not None), codes)
    xp = get_namespace(first)

    def cat(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else xp.concat(values, axis=0)

    status = min((p.status for p in parts), key=_STATUS_ORDER.index)
    return Result(codes=cat("codes") if codes is None else codes, status=status,
                  n_iter=max(int(p.n_iter) for p in parts),
                  n_iter_per_sample=cat("n_iter_per_sample"), converged=cat("converged"),
                  criterion=cat("criterion"))
