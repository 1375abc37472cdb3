"""``python -m dictlearn.bench gpu``: dictlearn on a GPU (CuPy) against SPAMS on the CPU.

The standard problem of ``bench encode`` (256 unit-norm Gaussian atoms of dimension 64,
5-sparse signals with N(0, 1) values, 30 dB SNR, ``alpha = 0.1``) drawn once on the host;
the signals move to the device once, before any timing. Workloads, each timed as the median
of ``--repeat`` runs after one untimed warm-up (CUDA kernel compilation, cuBLAS handles), the
device synchronised before every clock read:

- ``lasso``: :func:`dictlearn.fista` (the lasso by FISTA to its default duality-gap
  tolerance) on the device against SPAMS ``lasso`` (LARS, exact) on the CPU, on batches of
  ``--batches`` signals (up to 10⁵);
- ``omp``: :func:`dictlearn.omp` on the device against SPAMS ``omp``;
- ``online``: :func:`dictlearn.learning.online_dictionary_learning` (``--steps`` mini-batches
  of ``--batch``; FISTA codes) against SPAMS ``trainDL`` with the same steps and batch;
- ``lista``: :class:`dictlearn.LISTA` training (``--epochs``) on the device against the same
  training on NumPy on the CPU (SPAMS has no LISTA).

Each row reports the median time, ``speedup`` (the CPU contender's time over ours) and the
mean lasso objective (or residual) of both, so that a faster but worse result shows. SPAMS
uses ``--threads`` CPU threads. ``--backend strict`` runs the same code on array-api-strict's
second device (a logic check without a GPU; its times mean nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._report import format_table
from .._xp import has_module
from ..datasets import make_sparse_problem
from . import add_options

__all__ = ["Backend", "add_arguments", "backend", "run"]


class Backend:
    """An array namespace, a device and how to wait for it."""

    def __init__(self, name: str, xp: Any, device: Any, sync: Callable[[], None]) -> None:
        self.name, self.xp, self.device, self.sync = name, xp, device, sync

    def put(self, a: np.ndarray) -> Any:
        """One host-to-device copy."""
        return self.xp.asarray(a, device=self.device)


def backend(name: str) -> Backend:
    """The ``cupy`` backend (raises ``RuntimeError`` with the reason when CuPy or a GPU is
    missing) or ``strict`` (array-api-strict's ``device1``)."""
    if name == "strict":
        import array_api_strict as xs

        return Backend("array-api-strict device1", xs, xs.Device("device1"), lambda: None)
    if name != "cupy":
        raise ValueError(f"backend must be 'cupy' or 'strict'; got {name!r}")
    if not has_module("cupy"):
        raise RuntimeError("bench gpu needs CuPy and an NVIDIA GPU: CuPy is not installed "
                           "(pip install 'dictlearn[cupy]'); use --backend strict to check the "
                           "benchmark's logic without a GPU")
    import cupy

    try:
        n = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CUDA driver missing or broken
        raise RuntimeError(f"bench gpu needs an NVIDIA GPU: CUDA reports {exc}") from None
    if n == 0:
        raise RuntimeError("bench gpu needs an NVIDIA GPU: CUDA finds no device")
    import array_api_compat.cupy as cxp

    dev = cupy.cuda.Device(0)
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return Backend(f"CuPy {cupy.__version__} on {name}", cxp, dev,
                   lambda: cupy.cuda.get_current_stream().synchronize())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["cupy", "strict"], default="cupy",
                   help="cupy (the GPU) or strict (array-api-strict's device1: a logic check)")
    p.add_argument("--batches", default="1000,10000,100000",
                   help="comma-separated batch sizes (signals) for lasso and OMP")
    p.add_argument("--workloads", default="lasso,omp,online,lista",
                   help="comma-separated subset of lasso,omp,online,lista")
    add_options(p, n_features=64, n_atoms=256, n_nonzero=5, snr_db=30.0, alpha=0.1,
                repeat=(3, "timed runs (median)"), steps=(200, "online mini-batch steps"),
                batch=(1024, "online mini-batch size"), n_train=(20_000, "LISTA/online signals"),
                layers=(16, "LISTA layers"), epochs=(2, "LISTA epochs"),
                threads=(os.cpu_count() or 1, "SPAMS numThreads"), seed=0)


def _median(fn: Callable[[], Any], be: Backend, repeat: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    be.sync()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        be.sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _objective(X, D, Z, alpha, xp) -> float:
    """Mean lasso objective, computed where the arrays are (scalars come back)."""
    R = X - Z @ D
    return float(xp.mean(0.5 * xp.sum(R * R, axis=1) + alpha * xp.sum(xp.abs(Z), axis=1)))


def _row(work, size, ours, cpu, cpu_name, ours_q, cpu_q):
    return {"workload": work, "size": size, "ours_s": ours, "cpu": cpu_name,
            "cpu_s": cpu, "speedup": cpu / ours if cpu == cpu and ours > 0 else float("nan"),
            "ours_quality": ours_q, "cpu_quality": cpu_q}


def _spams():
    if has_module("spams"):
        import spams

        return spams
    print("  (SPAMS is not installed: pip install spams-bin; CPU columns are NaN)")
    return None


def _encode_rows(be, args, prob, sizes, spams, greedy):
    import dictlearn as dl

    xp, a, k = be.xp, args.alpha, args.n_nonzero
    D = be.put(prob.dictionary)
    rows = []
    for b in sizes:
        Xh = prob.X[:b]
        Xd = be.put(Xh)
        if greedy:
            t, Z = _median(lambda Xd=Xd: dl.omp(Xd, D, n_nonzero_coefs=k).codes, be, args.repeat)
            R = Xd - Z @ D
            q = float(xp.mean(xp.sum(R * R, axis=1)))
        else:
            t, Z = _median(lambda Xd=Xd: dl.fista(Xd, D, alpha=a, max_iter=5000).codes, be,
                           args.repeat)
            q = _objective(Xd, D, Z, a, xp)
        tc = qc = float("nan")
        if spams is not None:
            Xf, Df = np.asfortranarray(Xh.T), np.asfortranarray(prob.dictionary.T)
            if greedy:
                def cpu(Xf=Xf, Df=Df):
                    return spams.omp(Xf, Df, L=k, numThreads=args.threads)
            else:
                def cpu(Xf=Xf, Df=Df):
                    return spams.lasso(Xf, D=Df, lambda1=a, mode=2, numThreads=args.threads)
            tc, Zc = _median(cpu, Backend("cpu", np, None, lambda: None), args.repeat)
            Zc = np.asarray(Zc.todense()).T
            Rc = Xh - Zc @ prob.dictionary
            qc = (float(np.mean(np.sum(Rc * Rc, axis=1))) if greedy else
                  float(np.mean(0.5 * np.sum(Rc * Rc, axis=1) + a * np.abs(Zc).sum(axis=1))))
        rows.append(_row("omp" if greedy else "lasso", b, t, tc,
                         "spams omp" if greedy else "spams lasso", q, qc))
    return rows


def _online_rows(be, args, prob, spams):
    from ..learning import online_dictionary_learning

    X = prob.X[:args.n_train]
    Xd, held = be.put(X), be.put(prob.X[-min(2000, prob.X.shape[0]):])

    def ours():
        return online_dictionary_learning(Xd, args.n_atoms, alpha=args.alpha,
                                          coding_method="fista", batch_size=args.batch,
                                          max_iter=args.steps, random_state=args.seed).dictionary

    t, D = _median(ours, be, args.repeat)
    import dictlearn as dl

    def score(Dd):
        return _objective(held, Dd, dl.fista(held, Dd, alpha=args.alpha).codes, args.alpha,
                          be.xp)

    tc = qc = float("nan")
    if spams is not None:
        rng = np.random.default_rng(args.seed)
        D0 = X[rng.choice(X.shape[0], args.n_atoms, replace=False)].T
        D0 = np.asfortranarray(D0 / np.maximum(np.linalg.norm(D0, axis=0), 1e-12))
        Xf = np.asfortranarray(X.T)
        tc, Dc = _median(lambda: spams.trainDL(Xf, D=D0, lambda1=args.alpha, mode=2, modeD=0,
                                               iter=args.steps, batchsize=args.batch,
                                               numThreads=args.threads, verbose=False),
                         Backend("cpu", np, None, lambda: None), args.repeat)
        qc = score(be.put(np.ascontiguousarray(np.asarray(Dc).T)))
    return [_row("online", f"{args.steps}x{args.batch}", t, tc, "spams trainDL", score(D), qc)]


def _lista_rows(be, args, prob):
    import dictlearn as dl

    n = min(args.n_train, prob.X.shape[0])

    def fit(put, sync_be):
        net = dl.LISTA(put(prob.dictionary), args.layers, max_epochs=args.epochs,
                       batch_size=256, n_iter_no_change=None, random_state=args.seed)
        return _median(lambda: net.fit(put(prob.X[:n]), put(prob.codes[:n])), sync_be, 1)

    t, net = fit(be.put, be)
    Xd = be.put(prob.X[:n])
    q = _objective(Xd, be.put(prob.dictionary), net.transform(Xd), args.alpha, be.xp)
    tc, netc = fit(lambda a: a, Backend("cpu", np, None, lambda: None))
    qc = _objective(prob.X[:n], prob.dictionary, netc.transform(prob.X[:n]), args.alpha, np)
    return [_row("lista", f"{n}x{args.epochs} ep", t, tc, "dictlearn numpy", q, qc)]


def run(args: argparse.Namespace) -> int:
    try:
        be = backend(args.backend)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = sorted({int(s) for s in str(args.batches).split(",") if s.strip()})
    work = {w.strip() for w in str(args.workloads).split(",") if w.strip()}
    bad = work - {"lasso", "omp", "online", "lista"}
    if bad or not sizes or min(sizes) < 1:
        print(f"error: unknown workloads {sorted(bad)} or bad --batches {args.batches!r}",
              file=sys.stderr)
        return 2
    n = max([*sizes, args.n_train + 2000])
    prob = make_sparse_problem(n, args.n_features, args.n_atoms, args.n_nonzero,
                               snr_db=args.snr_db, random_state=args.seed)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend: {be.name}; problem: {args.n_atoms} atoms x {args.n_features} features, "
          f"{args.n_nonzero}-sparse, alpha={args.alpha:g}; median of {args.repeat}; "
          f"SPAMS threads {args.threads}; load {load:.2f}")
    spams = _spams()
    rows = []
    if "lasso" in work:
        rows += _encode_rows(be, args, prob, sizes, spams, greedy=False)
    if "omp" in work:
        rows += _encode_rows(be, args, prob, sizes, spams, greedy=True)
    if "online" in work:
        rows += _online_rows(be, args, prob, spams)
    if "lista" in work:
        rows += _lista_rows(be, args, prob)
    print(format_table(rows, ["workload", "size", "ours_s", "cpu", "cpu_s", "speedup",
                              "ours_quality", "cpu_quality"]))
    print("speedup: CPU time / ours (above 1: the device is faster); quality: mean lasso "
          "objective (omp: mean squared residual; online: held-out objective), lower is better.")
    return 0
