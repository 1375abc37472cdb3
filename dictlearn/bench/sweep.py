"""``python -m dictlearn.bench sweep``: how encoding time grows with the problem size.

Two sweeps around the standard problem (64 features, 5-sparse signals, 30 dB SNR,
alpha = 0.1): ``n_samples`` over ``--n-samples`` at 256 atoms, and ``n_atoms`` over
``--n-atoms`` at 10,000 signals, for each ``--dtypes``. Every size runs our OMP and exact lasso
(numba engine by default) and SPAMS' ``omp`` and ``lasso`` in the same process, with
scikit-learn's ``omp`` and ``lasso_cd`` up to ``--sklearn-max-samples`` signals. Times are
medians of ``--repeat`` runs after one warm-up run (numba compilation is excluded and printed
separately). The last lines fit ``time ∝ n_samples^p`` per method: ``p ≈ 1`` is linear.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._report import format_table, median_time
from .._xp import has_module
from ..datasets import make_sparse_problem
from . import add_options

__all__ = ["add_arguments", "run"]


def _contenders(engine: str, k: int, alpha: float,
                threads: int = -1) -> dict[str, tuple[str | None, Callable]]:
    from ..coding import lasso, omp

    def spams_omp(X, D):
        import spams

        # eps=0.0 given explicitly: without it SPAMS' float32 omp returns all-zero codes
        # (its wrapper leaves the residual target unset), which the sweep timed as 3-4x faster
        return spams.omp(np.asfortranarray(X.T), np.asfortranarray(D.T), L=k, eps=0.0,
                         numThreads=threads)

    def spams_lasso(X, D):
        import spams

        return spams.lasso(np.asfortranarray(X.T), D=np.asfortranarray(D.T), lambda1=alpha,
                           mode=2, numThreads=threads)

    def sk(algorithm, **kw):
        def fn(X, D):
            from sklearn.decomposition import sparse_encode

            with warnings.catch_warnings():  # lasso_cd's ConvergenceWarning at tiny gaps
                warnings.simplefilter("ignore")
                return sparse_encode(X, D, algorithm=algorithm, **kw)

        return fn

    return {
        f"omp[{engine}]": (None, lambda X, D: omp(X, D, n_nonzero_coefs=k, engine=engine)),
        f"lasso[{engine}]": (None, lambda X, D: lasso(X, D, alpha=alpha, engine=engine)),
        "spams omp": ("spams", spams_omp),
        "spams lasso": ("spams", spams_lasso),
        "sklearn omp": ("sklearn", sk("omp", n_nonzero_coefs=k)),
        "sklearn lasso_cd": ("sklearn", sk("lasso_cd", alpha=alpha, max_iter=10000)),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-samples", type=int, nargs="+",
                   default=[1_000, 3_000, 10_000, 30_000, 100_000])
    p.add_argument("--n-atoms", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    p.add_argument("--dtypes", nargs="+", choices=["float64", "float32"],
                   default=["float64", "float32"])
    p.add_argument("--engine", choices=["auto", "numba", "reference"], default="auto")
    add_options(p, n_nonzero=5, alpha=0.1, repeat=3,
                sklearn_max_samples=(10_000, "skip scikit-learn above this many signals "
                                             "(it is slow)"))
    p.add_argument("--methods", nargs="*", default=None,
                   help="substrings selecting contenders (default: all available)")
    p.add_argument("--spams-threads", type=int, default=-1,
                   help="SPAMS' numThreads (-1: all cores; 1 for a one-thread comparison, "
                        "with NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)")
    add_options(p, seed=0)


def _time_all(args, n, k, dtype, rows, compile_times):
    prob = make_sparse_problem(n, 64, k, min(args.n_nonzero, k), snr_db=30.0,
                               dtype=np.dtype(dtype), random_state=args.seed)
    X, D = prob.X, prob.dictionary
    row: dict[str, Any] = {"dtype": dtype, "n_samples": n, "n_atoms": k}
    for name, (needs, fn) in _contenders(args.engine, min(args.n_nonzero, k),
                                         args.alpha, args.spams_threads).items():
        if args.methods and not any(s in name for s in args.methods):
            continue
        if needs and not has_module(needs):
            continue
        if needs == "sklearn" and n > args.sklearn_max_samples:
            continue
        t0 = time.perf_counter()
        fn(X, D)
        first = time.perf_counter() - t0
        t, _ = median_time(lambda f=fn: f(X, D), repeat=args.repeat)
        row[name] = t
        key = (name, dtype)
        if key not in compile_times:
            compile_times[key] = max(first - t, 0.0)
    for ours, ref in (("omp", "spams omp"), ("lasso", "spams lasso")):
        mine = next((v for c, v in row.items() if c.startswith(ours + "[")), None)
        if mine is not None and ref in row:
            row[f"{ours}/spams"] = mine / row[ref]
        sk = "sklearn omp" if ours == "omp" else "sklearn lasso_cd"
        if mine is not None and sk in row:
            row[f"{ours}/sklearn"] = mine / row[sk]
    rows.append(row)


def _slope(ns: list[int], ts: list[float]) -> float:
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def run(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    compile_times: dict[tuple[str, str], float] = {}
    for dtype in args.dtypes:
        for n in args.n_samples:
            _time_all(args, n, 256, dtype, rows, compile_times)
        for k in args.n_atoms:
            if k != 256 or 10_000 not in args.n_samples:
                _time_all(args, 10_000, k, dtype, rows, compile_times)
    names = sorted({c for r in rows for c in r} - {"dtype", "n_samples", "n_atoms"},
                   key=lambda c: (("/" in c), c))
    rows.sort(key=lambda r: (r["dtype"], r["n_atoms"], r["n_samples"]))
    print("median seconds per call; <ours>/<ref>: time ratio from the same run (below 1 is "
          "faster)")
    print(format_table(rows, ["dtype", "n_samples", "n_atoms", *names]))
    print("\nfirst call minus median (numba compilation or cache load), seconds:")
    for (name, dtype), t in sorted(compile_times.items()):
        print(f"  {name:>18s} {dtype}: {t:.3f}")
    print("\ngrowth with n_samples at 256 atoms: time ∝ n_samples^p")
    for dtype in args.dtypes:
        sub = [r for r in rows if r["dtype"] == dtype and r["n_atoms"] == 256]
        for name in names:
            pts = [(r["n_samples"], r[name]) for r in sub if name in r and "/" not in name]
            if len(pts) >= 2:
                ns, ts = zip(*pts, strict=True)
                print(f"  {name:>18s} {dtype}: p = {_slope(list(ns), list(ts)):.2f}")
    return 0
