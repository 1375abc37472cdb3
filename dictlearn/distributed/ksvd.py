r"""The K-SVD sweep with the signals and the codes on the Dask workers.

The in-memory learner's sweep (:func:`dictlearn.learning.ksvd.ksvd_sweep`, called through
``KSVDUpdate.sweep``) asks its codes for atom ``j``'s restricted error
:math:`E_j = X_\omega - Z_\omega D + g_0 d_j` and reads it only through the Gram
:math:`E_j^\top E_j`, the vector :math:`E_j^\top g` and the codes :math:`g = E_j d`
(:func:`~dictlearn.learning.ksvd.rank1_update`). :class:`ChunkedCodes` answers with one
:class:`~dictlearn.learning.ksvd.RestrictedResidual` per row chunk that uses the atom, built
and kept on the worker that holds the chunk: the Gram and ``Eᵀg`` are summed over the chunks
(``m×m`` or ``m`` numbers per chunk back to the client), ``g = E d`` and the write of the
codes' column run on the workers. So the client holds the dictionary and ``m×m`` numbers,
never ``X`` or ``Z``; the result is the in-memory sweep's up to the order of the sums.

Each chunk's share of the sweep (its codes, its copy of the dictionary as updated so far and
the current atom's restricted error) is one object on its worker (:class:`_Chunk`). The
steps that need no answer (set the codes ``g = E d``, write them into ``Z``, replace the
atom in the chunk's dictionary, restrict to the next atom) are queued on the client and run
in the one task per chunk that computes the next reduction; the client then fetches that
reduction. Round trips per sweep: one per used atom (exact and approximate K-SVD), one more
per alternation of the non-negative fit, and one for the atoms' usage after the sweep. An
atom involves only the chunks whose codes use it (known from the coding step's per-chunk
usage); the other chunks only queue the atom's new row of the dictionary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ChunkedCodes"]


class _Chunk:
    """A row chunk's share of the sweep, on its worker: the sweep's private copy of the
    chunk's codes ``Z``, the dictionary ``D`` as updated so far, the current atom's
    restricted error ``res`` and the last reduction ``value``."""

    def __init__(self, Z: np.ndarray, D: np.ndarray) -> None:
        self.Z, self.D, self.res, self.value = Z, D, None, None


def _start(Zc: np.ndarray, D: np.ndarray) -> _Chunk:
    return _Chunk(np.array(Zc, copy=True), np.array(D, copy=True))


def _apply(Xc: np.ndarray, chunk: _Chunk, ops: list[tuple]) -> _Chunk:
    """Run the queued steps ``ops`` on ``chunk`` in order and return it. The state is updated
    in place: each state object has exactly one successor (the next ``_apply`` of its chunk),
    so no task reads a state after it was advanced."""
    from ..learning.ksvd import RestrictedResidual

    for op, *args in ops:
        if op == "restrict":  # atom j's restricted error on this chunk's rows
            chunk.res = RestrictedResidual.of(Xc, chunk.Z, chunk.D, args[0], np)
        elif op == "set":  # g = E d (projected)
            chunk.res.set_column(args[0], args[1])
        elif op == "write":  # Z[ω, j] = g
            r = chunk.res
            chunk.Z[r.idx, r.j] = r.g
            chunk.res = None
        elif op == "row":  # the sweep's new atom j
            chunk.D[args[0], :] = args[1]
        elif op == "gram":
            chunk.value = chunk.res.gram()
        elif op == "rmatvec":
            chunk.value = chunk.res.rmatvec()
        elif op == "usage":
            chunk.value = np.sum((chunk.Z != 0).astype(chunk.Z.dtype), axis=0)
        else:  # pragma: no cover - the ops are this module's own
            raise ValueError(f"unknown step {op!r}")
    return chunk


def _value(chunk: _Chunk) -> np.ndarray:
    return chunk.value


def _codes(chunk: _Chunk) -> np.ndarray:
    return chunk.Z


class _ChunkedAtom:
    """Atom ``j``'s restricted error over the chunks that use it: the interface
    :func:`~dictlearn.learning.ksvd.rank1_update` reads."""

    def __init__(self, codes: ChunkedCodes, j: int, chunks: np.ndarray) -> None:
        self.codes, self.j, self.chunks = codes, j, chunks

    def gram(self) -> np.ndarray:
        return self.codes._reduce(self.chunks, "gram")

    def rmatvec(self) -> np.ndarray:
        return self.codes._reduce(self.chunks, "rmatvec")

    def set_column(self, d: Any, positive: bool) -> None:
        self.codes._queue(self.chunks, ("set", np.array(d, copy=True), bool(positive)))


class ChunkedCodes:
    """The codes of a K-SVD sweep as row chunks on the workers (the
    :class:`~dictlearn.learning.ksvd.DenseCodes` interface of
    :func:`~dictlearn.learning.ksvd.ksvd_sweep`).

    Parameters
    ----------
    dask : module
        ``dask``.
    X_blocks, Z_blocks : list of Delayed
        The persisted row chunks of the signals and of their codes (same order).
    usage : ndarray of shape (n_chunks, n_atoms)
        Non-zero codes per chunk and atom, from the coding step.

    Attributes
    ----------
    round_trips : int
        Reductions fetched by the client so far.
    """

    def __init__(self, dask: Any, X_blocks: list, Z_blocks: list, usage: np.ndarray) -> None:
        self.dask, self.X, self._Z = dask, X_blocks, list(Z_blocks)
        self.counts = np.asarray(usage)
        self.used = self.counts > 0
        self.states: list | None = None  # the chunks' _Chunk objects, from the first atom on
        self.pending: list[list[tuple]] = [[] for _ in X_blocks]
        self.round_trips = 0

    def _delayed(self, fn: Any) -> Any:
        """``dask.delayed(fn, pure=True)``: keys from the arguments' tokens (each step's
        arguments include its chunk's previous state, so keys are unique per step)."""
        return self.dask.delayed(fn, pure=True)

    def _queue(self, chunks: Any, op: tuple) -> None:
        for c in chunks:
            self.pending[c].append(op)

    def _reduce(self, chunks: Any, what: str) -> np.ndarray:
        """Run each chunk's queued steps and ``what`` on its worker (one task per chunk) and
        return the sum of the chunks' values: one round trip."""
        d = self._delayed
        new = self.dask.persist(*[d(_apply)(self.X[c], self.states[c],
                                            [*self.pending[c], (what,)]) for c in chunks])
        for c, s in zip(chunks, new, strict=True):
            self.states[c], self.pending[c] = s, []
        self.round_trips += 1
        return sum(self.dask.compute(*[d(_value)(s) for s in new]))

    def atom(self, j: int, D: np.ndarray) -> _ChunkedAtom | None:
        """Atom ``j``'s restricted error on the chunks that use it (None when none does)."""
        if self.states is None:  # the sweep's first atom: its dictionary, sent once
            Dd = self.dask.delayed(np.array(D, copy=True), pure=True)
            self.states = [self._delayed(_start)(z, Dd) for z in self._Z]
        chunks = np.flatnonzero(self.used[:, j])
        if chunks.size == 0:
            return None
        self._queue(chunks, ("restrict", j))
        return _ChunkedAtom(self, j, chunks)

    def commit(self, atom: _ChunkedAtom, d: Any) -> None:
        """Write the atom's new codes into its chunks' codes, and its new row ``d`` into every
        chunk's dictionary (queued)."""
        self._queue(atom.chunks, ("write",))
        self._queue(range(len(self.X)), ("row", atom.j, np.array(d, copy=True)))

    def usage(self) -> np.ndarray:
        """Non-zero codes per atom after the sweep (one round trip; runs what is queued)."""
        if self.states is None:  # no atom swept: the coding step's usage
            return self.counts.sum(axis=0)
        return self._reduce(range(len(self.X)), "usage")

    @property
    def Z(self) -> list:
        """The chunks' codes after the sweep (persisted; after :meth:`usage`, no round trip)."""
        if self.states is None:
            return self._Z
        if any(self.pending):
            self.usage()
        d = self._delayed
        return list(self.dask.persist(*[d(_codes)(s) for s in self.states]))
