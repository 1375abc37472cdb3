"""``python -m dictlearn.bench dask``: time against the number of Dask workers on this machine.

For each worker count a ``LocalCluster`` (``--processes``: one process per worker, else
threads in this process; one thread each, 127.0.0.1) codes the standard problem (256
unit-norm atoms of dimension 64, 5-sparse signals, 30 dB SNR, ``alpha = 0.1``, FISTA), held as
a Dask array of ``--chunks`` row chunks, and runs ``--mod-iter`` MOD iterations on it (OMP,
5 non-zeros). The in-memory NumPy times are the reference. Times are medians over
``--repeat`` runs after one warm-up (numba compiled, cluster started).
"""

from __future__ import annotations

import argparse
import os
import time

from .._report import format_table, median_time
from ..datasets import make_sparse_problem
from . import add_options

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, n_samples=40_000, n_features=64, n_atoms=256, chunks=8, mod_iter=3,
                repeat=3, workers="1,2", seed=0)
    p.add_argument("--processes", action="store_true", help="one process per worker")


def run(args: argparse.Namespace) -> int:
    import dask.array as da
    import distributed

    import dictlearn

    prob = make_sparse_problem(args.n_samples, args.n_features, args.n_atoms, 5, snr_db=30,
                               random_state=args.seed)
    X, D = prob.X, prob.dictionary
    Xd = da.from_array(X, chunks=(-(-args.n_samples // args.chunks), args.n_features))

    def encode(x):
        z = dictlearn.sparse_encode(x, D, method="fista", alpha=0.1)
        return z.compute() if hasattr(z, "compute") else z

    def learn(x):
        return dictlearn.DictionaryLearning(args.n_atoms, method="mod", max_iter=args.mod_iter,
                                            n_nonzero_coefs=5, tol=0.0,
                                            random_state=args.seed).fit(x)

    cols = ["run", "chunks", "encode FISTA s", f"MOD {args.mod_iter} it. s"]
    t_enc = median_time(lambda: encode(X), repeat=args.repeat, warmup=1)[0]
    t_mod = median_time(lambda: learn(X), repeat=args.repeat, warmup=1)[0]
    rows = [dict(zip(cols, ["numpy (in memory)", "-", f"{t_enc:.2f}", f"{t_mod:.2f}"],
                     strict=True))]
    for w in (int(v) for v in args.workers.split(",")):
        with distributed.LocalCluster(n_workers=w, threads_per_worker=1,
                                      processes=args.processes, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            te = median_time(lambda: encode(Xd), repeat=args.repeat, warmup=1)[0]
            tm = median_time(lambda: learn(Xd), repeat=args.repeat, warmup=1)[0]
        rows.append(dict(zip(cols, [f"dask, {w} worker{'s' if w > 1 else ''}",
                                    str(args.chunks), f"{te:.2f}", f"{tm:.2f}"], strict=True)))
    print(f"n_samples={args.n_samples}, n_features={args.n_features}, n_atoms={args.n_atoms}; "
          f"load average {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")
    print(format_table(rows, cols))
    return 0
