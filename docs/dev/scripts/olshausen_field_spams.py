"""SPAMS ``trainDL`` on the Olshausen–Field example's patches, scored like the example.

    PYTHONPATH=. python docs/dev/scripts/olshausen_field_spams.py            # 8x8, 64 atoms
    PYTHONPATH=. python docs/dev/scripts/olshausen_field_spams.py --patch 12 --downsample 2

The same patches as ``examples/olshausen_field.py`` (the photographs averaged over blocks,
whitened, borders left out), ``trainDL`` with batches of 100 for ``--iters`` steps on one
thread for each ``lambda1``, and the fraction of atoms that a 2-D Gabor fits with R² ≥ 0.8
(:func:`dictlearn.metrics.gabor_r2`). Needs SPAMS (``pip install spams``).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> list[dict]:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "examples"))
    import spams
    from olshausen_field import whitened_patches

    from dictlearn.metrics import gabor_r2

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--overcomplete", type=float, default=1.0)
    p.add_argument("--downsample", type=int, default=3)
    p.add_argument("--n-patches", type=int, default=100_000)
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    X = whitened_patches(args.patch, args.n_patches, downsample_by=args.downsample,
                         seed=args.seed)
    k = round(args.overcomplete * args.patch**2)
    rows = []
    for lam in args.lambdas:
        t = time.perf_counter()
        D = spams.trainDL(np.asfortranarray(X.T), K=k, lambda1=lam, iter=args.iters,
                          batchsize=100, numThreads=1, verbose=False).T
        secs = time.perf_counter() - t
        D = D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-300)
        r2 = gabor_r2(D, (args.patch, args.patch))
        rows.append({"lambda1": lam, "seconds": secs, "fraction": float(np.mean(r2 >= 0.8)),
                     "median_r2": float(np.median(r2))})
        print(f"SPAMS trainDL, {k} atoms of {args.patch}x{args.patch}, lambda1={lam:g}: "
              f"{secs:.1f}s, R^2 >= 0.8 for {np.mean(r2 >= 0.8):.1%} of the atoms "
              f"(median R^2 {np.median(r2):.2f})", flush=True)
    return rows


if __name__ == "__main__":
    main()
