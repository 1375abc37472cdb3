"""``python -m dictlearn.bench dask``: time against the number of Dask workers on this machine.

For each worker count a ``LocalCluster`` (``--processes``: one process per worker, else
threads in this process; one thread each, 127.0.0.1) codes the standard problem (256
unit-norm atoms of dimension 64, 5-sparse signals, 30 dB SNR, ``alpha = 0.1``, FISTA), held as
a Dask array of ``--chunks`` row chunks, and runs ``--mod-iter`` MOD iterations and
``--ksvd-iter`` K-SVD iterations on it (OMP, 5 non-zeros); ``--tasks`` picks among
``encode,mod,ksvd``. The in-memory NumPy times are the reference. Times are medians over
``--repeat`` runs after one warm-up (numba compiled, cluster started). The last column counts
the results the client gathers from the cluster during a K-SVD fit, per iteration (the fit's
set-up, then per iteration the coding step's statistics, one per used atom of the sweep, the
usage and the dead-atom check; :mod:`dictlearn.distributed.ksvd`).
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
                ksvd_iter=1, repeat=3, workers="1,2", seed=0,
                tasks=("encode,mod,ksvd", "what to time, comma-separated"))
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

    def learn(x, method="mod", max_iter=args.mod_iter):
        return dictlearn.DictionaryLearning(args.n_atoms, method=method, max_iter=max_iter,
                                            n_nonzero_coefs=5, tol=0.0,
                                            random_state=args.seed).fit(x)

    trips = []  # gathers from the cluster per K-SVD iteration (the last Dask run's)

    def ksvd(x):
        client = distributed.get_client() if isinstance(x, da.Array) else None
        if client is None:
            return learn(x, "ksvd", args.ksvd_iter)
        real, count = client.gather, [0]

        def gather(*a, **k):  # every result that comes back to the client
            count[0] += 1
            return real(*a, **k)

        client.gather = gather
        try:
            model = learn(x, "ksvd", args.ksvd_iter)
        finally:
            del client.gather
        trips[:] = [count[0] / model.n_iter_]
        return model

    tasks = set(args.tasks.split(","))
    if not tasks or not tasks <= {"encode", "mod", "ksvd"}:
        raise ValueError(f"tasks must be names among encode,mod,ksvd; got {args.tasks!r}")
    names = {encode: "encode", learn: "mod", ksvd: "ksvd"}

    def timed(fn, x):
        return "-" if names[fn] not in tasks else \
            f"{median_time(lambda: fn(x), repeat=args.repeat, warmup=1)[0]:.2f}"

    cols = ["run", "chunks", "encode FISTA s", f"MOD {args.mod_iter} it. s",
            f"K-SVD {args.ksvd_iter} it. s", "K-SVD gathers/it."]
    rows = [dict(zip(cols, ["numpy (in memory)", "-", timed(encode, X), timed(learn, X),
                            timed(ksvd, X), "-"], strict=True))]
    for w in (int(v) for v in args.workers.split(",")):
        with distributed.LocalCluster(n_workers=w, threads_per_worker=1,
                                      processes=args.processes, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            te, tm, tk = timed(encode, Xd), timed(learn, Xd), timed(ksvd, Xd)
        rows.append(dict(zip(cols, [f"dask, {w} worker{'s' if w > 1 else ''}",
                                    str(args.chunks), te, tm, tk,
                                    f"{trips[0]:.0f}" if trips else "-"], strict=True)))
    print(f"n_samples={args.n_samples}, n_features={args.n_features}, n_atoms={args.n_atoms}; "
          f"load average {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")
    print(format_table(rows, cols))
    return 0
