r"""Dask: coding and dictionary learning on signals chunked by rows across a cluster.

Nothing in :mod:`dictlearn` imports Dask; the public entry points send a Dask array here:
``sparse_encode``, ``SparseCoder.transform`` and ``DictionaryLearning.transform`` return a
lazy Dask array (:func:`encode`, :func:`transform`), and ``DictionaryLearning.fit`` learns
from one (:func:`fit`). Install with ``pip install ".[dask]"``.

Design (one machine or many)
----------------------------
- **Coding** is row-parallel: each chunk of rows is coded by the NumPy kernels on the worker
  that holds it (``map_blocks``); the dictionary (or the fitted estimator) enters the task
  graph once, as one ``dask.delayed`` key, so each worker receives it once however many
  chunks it codes.
- **MOD** needs only sufficient statistics: every worker returns ``ZᵀZ`` (k×k), ``ZᵀX``
  (k×m), its atoms' usage and its objective sum; these are added up (a tree reduction) and
  the least-squares step (:func:`dictlearn.learning.mod.mod_solve`) runs on the client. The
  codes stay on the workers (persisted) for the next warm start. Traffic per iteration:
  the dictionary out, ``k(k + m + 2)`` numbers per chunk back.
- **Online** (Mairal et al.): the mini-batch of the in-memory learner (the same rows, drawn
  from the same generator) is split by the chunks holding its rows; each worker codes its
  rows and sends them back with their codes (``η(m + k)`` numbers a step, η the batch size),
  and the learner's own update (``A``, ``B`` and block coordinate descent) runs on the
  client. The statistics are the in-memory learner's, so its results are too; the mini-batch
  steps are sequential, and the parallel work per step is the coding of η rows.
- **K-SVD**'s sweep updates atom after atom from the restricted error ``E_j`` of the
  signals using the atom, which stays on the workers with the codes
  (:mod:`dictlearn.distributed.ksvd`): per atom the workers send back the ``m×m`` Gram
  ``E_jᵀE_j`` (approximate K-SVD: the ``m``-vector ``E_jᵀg``), the client takes the new atom
  from it with the in-memory learner's own rank-1 step
  (:func:`dictlearn.learning.ksvd.rank1_update`), and the workers set the atom's codes
  ``g = E_j d_j``. One round trip per used atom (non-negative fits: one more per
  alternation), one for the usage after the sweep; neither ``X`` nor ``Z`` reach the client.
- **Dead atoms** are replaced from the worst-reconstructed signals: the workers return one
  residual norm per signal, the client ranks them and fetches only the rows it needs.

Results equal those of the in-memory learner on the same data and seed up to the rounding of
sums taken in another order (tests/test_distributed.py).

Examples
--------
>>> import numpy as np, pytest, dictlearn
>>> da = pytest.importorskip("dask.array")  # the dask extra
>>> X = da.from_array(np.array([[1.0, -0.05, 0.3]] * 4), chunks=(2, 3))
>>> Z = dictlearn.sparse_encode(X, np.eye(3), alpha=0.1)
>>> type(Z).__name__, Z.chunks
('Array', ((2, 2), (3,)))
>>> np.round(Z.compute()[0], 6)
array([0.9, 0. , 0.2])
"""

from __future__ import annotations

import dataclasses
import math
import operator
import sys
import time
from typing import Any

import numpy as np

from .._xp import check_random_state, optional_import, to_host

__all__ = ["encode", "fit", "is_dask_array", "transform"]

LEARNERS = ("mod", "ksvd", "online")


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(x, da.Array)


def _by_rows(X: Any, name: str = "X") -> Any:
    """``X`` as one chunk of columns, row chunks with known sizes."""
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D Dask array (n_samples, n_features); "
                         f"got shape {X.shape}")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if any(math.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    return X


def _once(obj: Any) -> Any:
    """``obj`` as one key of the task graph: sent once to each worker that needs it."""
    dask = optional_import("dask")
    return dask.delayed(obj, pure=True)


def _dtype(X: Any) -> np.dtype:
    return X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)


def _encode_block(block: np.ndarray, D: np.ndarray, method: str, options: dict) -> np.ndarray:
    from ..coding import sparse_encode

    return sparse_encode(block, D, method=method, **options)


def encode(X: Any, dictionary: Any, *, method: str = "fista", **options: Any) -> Any:
    """Lazy codes of a Dask array ``X`` chunked by rows: each chunk coded by
    :func:`dictlearn.sparse_encode` on its worker (see the module's design notes).

    Returns a Dask array of shape (n_samples, n_atoms) with ``X``'s row chunks.
    """
    da = optional_import("dask.array")
    X = _by_rows(X)
    D = np.asarray(dictionary.compute() if is_dask_array(dictionary) else to_host(dictionary))
    if D.ndim != 2 or D.shape[1] != X.shape[1]:
        raise ValueError(f"dictionary must have shape (n_atoms, {X.shape[1]}); "
                         f"got {D.shape}")
    dt = _dtype(X)
    return da.map_blocks(_encode_block, X, _once(D), method, options, dtype=dt,
                         chunks=(X.chunks[0], (D.shape[0],)), meta=np.empty((0, 0), dt))


def _transform_block(block: np.ndarray, estimator: Any) -> np.ndarray:
    return estimator.transform(block)


def transform(estimator: Any, X: Any, n_atoms: int) -> Any:
    """Lazy ``estimator.transform`` of a Dask array chunked by rows (the fitted estimator
    sent once to each worker)."""
    da = optional_import("dask.array")
    X = _by_rows(X)
    dt = _dtype(X)
    return da.map_blocks(_transform_block, X, _once(estimator), dtype=dt,
                         chunks=(X.chunks[0], (n_atoms,)), meta=np.empty((0, 0), dt))


# ----------------------------------------------------------------------------- learning
def _chunk_stats(Xc, D, Z0, coder, want_gram):
    """One chunk's coding step and statistics: (codes, objective sum, usage, ZᵀZ, ZᵀX)."""
    Z = coder(Xc, D, init=Z0)
    obj = float(np.sum(coder.objective(Xc, D, Z, xp=np)))
    usage = np.sum((Z != 0).astype(Xc.dtype), axis=0)
    gram = (Z.T @ Z, Z.T @ Xc, np.sum(np.abs(Z), axis=0)) if want_gram else None
    return Z, obj, usage, gram


def _residual_norms(Xc, Zc, D):
    return np.linalg.norm(Xc - Zc @ D, axis=1)


class _Cluster:
    """The row chunks of ``X`` (persisted) and the coding/statistics tasks on them."""

    def __init__(self, X: Any, coder: Any) -> None:
        self.dask = optional_import("dask")
        self.X = X.persist()
        self.blocks = self.X.to_delayed().ravel().tolist()
        self.starts = np.cumsum((0,) + X.chunks[0])
        self.coder = coder

    def code(self, D, Z_blocks, want_gram):
        d = self.dask.delayed
        Dd = _once(D)
        full = self.dask.persist(*[  # each chunk coded once; its codes stay on its worker
            d(_chunk_stats)(x, Dd, z, self.coder, want_gram)
            for x, z in zip(self.blocks, Z_blocks or [None] * len(self.blocks), strict=True)])
        Z = self.dask.persist(*[d(operator.getitem)(f, 0) for f in full])
        stats = self.dask.compute(*[d(operator.getitem)(f, slice(1, None)) for f in full])
        return list(Z), stats

    def rows(self, idx: np.ndarray, Z_blocks) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``idx`` (ascending) of ``X`` and of the codes, on the client."""
        xs, zs = [], []
        for b, (lo, hi) in enumerate(zip(self.starts[:-1], self.starts[1:], strict=True)):
            local = idx[(idx >= lo) & (idx < hi)] - lo
            if local.size:
                xs.append(self.dask.delayed(np.take)(self.blocks[b], local, axis=0))
                zs.append(self.dask.delayed(np.take)(Z_blocks[b], local, axis=0))
        xs, zs = self.dask.compute(xs, zs)
        return np.concatenate(xs), np.concatenate(zs)


def _initial_state(X: Any, est: Any, updater: Any, n_atoms: int, rng: np.random.Generator):
    """:func:`~dictlearn.learning.start_state` with the rows ``init="data"`` picks fetched
    from the cluster (the rule of :func:`~dictlearn.learning.init_dictionary`: Gaussian rows
    drawn first, then a permutation of the non-zero signals)."""
    from ..learning import start_state

    init, m = est.init, X.shape[1]
    first = np.asarray(X[:1].compute())
    if isinstance(init, str) and init == "data":
        G = rng.standard_normal((n_atoms, m))
        if updater.positive:
            G = np.abs(G)
        norms = np.asarray(optional_import("dask.array").linalg.norm(X, axis=1).compute())
        take = rng.permutation(np.flatnonzero(norms > np.finfo(X.dtype).smallest_normal))
        take = take[:n_atoms]
        init = G.astype(X.dtype)
        if take.size:
            init = np.concatenate([np.asarray(X[np.sort(take)].compute())[
                np.argsort(np.argsort(take))], init[take.size:]])
    return start_state(first, n_atoms, updater=updater, init=init, rng=rng, xp=np)


def fit(estimator: Any, X: Any) -> Any:
    """``DictionaryLearning.fit`` on a Dask array chunked by rows (``method`` "mod", "ksvd"
    or "online"); sets the same fitted attributes as the in-memory fit."""
    from .._loop import Info, Progress, Result, iterate, warn_status
    from .._scale import Scale
    from ..learning import (
        alternation_value,
        epoch_stop,
        finish_step,
        learner_spec,
        next_batch,
        unscale_history,
    )
    from ..learning.mod import mod_solve
    from .ksvd import ChunkedCodes

    if estimator.method not in LEARNERS:
        raise ValueError(f"fit on a Dask array supports method in {list(LEARNERS)}; "
                         f"got {estimator.method!r}")
    da = optional_import("dask.array")
    X = _by_rows(X).persist()  # loaded (or sent) once: the set-up's reductions and the fit
    n, m = (int(s) for s in X.shape)
    est = estimator
    n_atoms = est._n_atoms(m)
    upd, coder = est._parts(m)
    upd = upd.for_data(n)  # the online learner's epoch window, as in the in-memory fit
    max_iter = learner_spec(est.method).max_iter if est.max_iter is None else est.max_iter
    rng = check_random_state(est.random_state)
    sc = Scale.of(np.array([[float(da.max(da.abs(X)).compute())]]), np)
    if sc.scaled:
        X, coder, upd = X / sc.s, coder.scaled(sc), upd.scaled(sc)
    state = dataclasses.replace(_initial_state(X, est, upd, n_atoms, rng), scale=sc.s)
    cl = _Cluster(X, coder)
    mean_sq = float(da.mean(da.sum(X * X, axis=1)).compute())
    exact = 1e3 * float(np.finfo(X.dtype).eps) ** 2 * mean_sq
    minibatch = est.method == "online" and n > est.batch_size
    steps = max(1, math.ceil(n / est.batch_size)) if est.method == "online" else 1
    run: dict[str, Any] = {"order": np.empty(0, np.int64), "Z": None, "objs": [],
                           "prev": math.inf}

    def alternate(st):
        D = st.dictionary
        if est.method == "online":
            if minibatch:
                idx = next_batch(run, n, est.batch_size, rng)
            else:
                idx = np.arange(n)
            Xb, Zb = _code_rows(cl, np.sort(idx), D)
            Xb, Zb = _reorder(Xb, Zb, idx)
            obj = float(np.mean(coder.objective(Xb, D, Zb, xp=np)))
            D_new, Zb, aux, usage = upd.update(D, Xb, Zb, st.aux, xp=np)
            return D_new, aux, usage, obj, (Xb, Zb), int(idx.size)
        Z, stats = cl.code(D, run["Z"], want_gram=est.method == "mod")
        obj = sum(s[0] for s in stats) / n
        usage = sum(s[1] for s in stats)
        if est.method == "mod":
            ZtZ = sum(s[2][0] for s in stats)
            ZtX = sum(s[2][1] for s in stats)
            used = sum(s[2][2] for s in stats) > 0
            D_new, ratio = mod_solve(D, ZtZ, ZtX, used, constraint=upd.constraint,
                                     positive=upd.positive, ridge=upd.ridge, xp=np)
            if ratio is not None:
                Z = [cl.dask.delayed(np.multiply)(z, ratio[None, :]) for z in Z]
                Z = list(cl.dask.persist(*Z))
            aux = st.aux
        else:  # K-SVD: the learner's sweep, the codes and residuals on the workers
            codes = ChunkedCodes(cl.dask, cl.blocks, Z, np.stack([s[1] for s in stats]))
            D_new = upd.sweep(D, codes, xp=np)
            usage = codes.usage()  # runs the last queued steps on the workers
            Z, aux = codes.Z, st.aux
        return D_new, aux, usage, obj, Z, n

    def step(st, it):
        t0 = time.perf_counter()
        D_new, aux, usage, obj, codes, nb = alternate(st)

        def rows(k):  # the batch (online), else the k worst-coded rows from the workers
            return codes if isinstance(codes, tuple) else _worst_rows(cl, codes, D_new, k)

        if not isinstance(codes, tuple):
            run["Z"] = codes
        st = finish_step(st, D_new, aux, usage, obj, updater=upd, n_samples=nb, rows=rows,
                         xp=np, dead_atoms=est.dead_atoms, rng=rng, t0=t0)
        value = alternation_value(st, obj, xp=np)
        return st, Info(st.n_iter, st, value, st.history)

    stop = epoch_stop(run, tol=est.tol, exact=exact, steps_per_epoch=steps)
    state, status, _, _ = iterate(state, step, max_iter=max_iter, stop=stop,
                                  callback=est.callback,
                                  progress=Progress(max_iter, upd.name, est.verbose), xp=np)
    unscale_history(state.history, sc)
    est.n_features_in_ = m
    est.result_ = Result(None, status, state.n_iter, history=state.history, state=state)
    est._set_fitted(state)
    est.status_ = status
    warn_status(type(est).__name__, status)
    return est


def _worst_rows(cl: _Cluster, Z_blocks, D, n_dead: int):
    """The rows of ``X`` and the codes that :func:`resample_atoms` would pick among all
    signals: the ``n_dead`` largest residuals (ties by index), in index order."""
    d = cl.dask.delayed
    err = np.concatenate(cl.dask.compute(*[d(_residual_norms)(x, z, D)
                                           for x, z in zip(cl.blocks, Z_blocks, strict=True)]))
    order = np.argsort(-err, kind="stable")[:n_dead]
    return cl.rows(np.sort(order), Z_blocks)


def _code_block_rows(Xc, local, D, coder):
    Xr = np.take(Xc, local, axis=0)
    return Xr, coder(Xr, D)


def _code_rows(cl: _Cluster, idx: np.ndarray, D):
    """Rows ``idx`` (ascending) coded on the workers that hold them: (X rows, codes)."""
    d = cl.dask.delayed
    Dd = _once(D)
    parts = []
    for b, (lo, hi) in enumerate(zip(cl.starts[:-1], cl.starts[1:], strict=True)):
        local = idx[(idx >= lo) & (idx < hi)] - lo
        if local.size:
            parts.append(d(_code_block_rows, nout=2)(cl.blocks[b], local, Dd, cl.coder))
    parts = cl.dask.compute(*parts)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _reorder(Xs, Zs, idx):
    """Rows given in ascending order of ``idx`` put back in the order of ``idx``."""
    pos = np.argsort(np.argsort(idx))
    return Xs[pos], Zs[pos]
