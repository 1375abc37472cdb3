"""Time of one LISTA training step against the time of its matrix products (the floor).

    OPENBLAS_NUM_THREADS=1 python docs/dev/scripts/lista_step_timing.py [--repeat 20]

The problem of Chen et al. (2018): 500 atoms of dimension 250, 16 layers, mini-batches of 64.
For each variant and dtype, one step is ``LISTA._loss_and_grads`` (forward, loss, backward
through every layer, gradients of every weight); the floor is the same number of matrix
products of the same shapes run back to back (coupled layer: ``Z D``, ``R W`` forward,
``Rᵀ V̄``, ``V̄ Wᵀ``, ``(V̄ Wᵀ) Dᵀ`` backward; explicit layer: ``X W``, ``Z S`` forward,
``Xᵀ V̄``, ``Zᵀ V̄``, ``V̄ Sᵀ`` backward). Prints medians (ms), their ratio and steps per second.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import dictlearn
from dictlearn.datasets import make_sparse_problem


def _median_ms(fn, repeat):
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(out)


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--repeat", type=int, default=20)
    a.add_argument("--layers", type=int, default=16)
    args = a.parse_args(argv)
    m, n, b, K = 250, 500, 64, args.layers
    print(f"{'variant':8s} {'dtype':8s} {'step ms':>8s} {'floor ms':>9s} {'ratio':>6s} "
          f"{'steps/s':>8s}")
    for dt in (np.float32, np.float64):
        p = make_sparse_problem(b, m, n, None, sparsity=0.1, random_state=0, dtype=dt)
        X, T, D = p.X, p.codes, p.dictionary
        rng = np.random.default_rng(0)
        for variant in ("cp", "lista", "alista"):
            net = dictlearn.LISTA(D, K, variant=variant, alpha=0.4,
                                  support_fraction=0.012, support_max=0.13).initialize(X)
            w = net.params_
            step = _median_ms(lambda net=net, w=w, X=X, T=T: net._loss_and_grads(
                w, X, T, "mse", K, np), args.repeat)
            Z = rng.standard_normal((b, n)).astype(dt)
            V = rng.standard_normal((b, n)).astype(dt)
            W = rng.standard_normal((m, n)).astype(dt)
            S = rng.standard_normal((n, n)).astype(dt)
            if variant == "lista":
                def floor(X=X, Z=Z, V=V, W=W, S=S):
                    for _ in range(K):
                        X @ W, Z @ S, X.T @ V, Z.T @ V, V @ S.T
            else:
                def floor(X=X, Z=Z, V=V, W=W, D=D):
                    for _ in range(K):
                        R = X - Z @ D
                        R @ W, R.T @ V, (V @ W.T) @ D.T
            fl = _median_ms(floor, args.repeat)
            print(f"{variant:8s} {np.dtype(dt).name:8s} {step:8.2f} {fl:9.2f} {step / fl:6.2f} "
                  f"{1e3 / step:8.1f}")


if __name__ == "__main__":
    main()
