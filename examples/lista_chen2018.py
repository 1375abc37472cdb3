"""Reproduce the LISTA / LISTA-CP / LISTA-CPSS / ALISTA protocol of Chen et al. (2018) and
Liu et al. (2019) with dictlearn's array-API training code.

The protocol: a 250 x 500 Gaussian matrix with entries N(0, 1/m) and unit-norm columns (our
atoms are its columns, so ``D`` is 500 x 250 with unit-norm rows), codes Bernoulli(0.1) x N(0, 1),
noiseless or with noise at 40 dB SNR, K = 16 layers, and the NMSE in dB of the codes over a
held-out test set, layer by layer. Training follows the papers' progressive scheme: stage k
trains the first k layers on the code MSE at layer k (``LISTA(layerwise=True)``), with Adam at
learning rate 5e-4 and mini-batches of 64. The papers train on fresh batches (hundreds of
thousands of samples) on a GPU; here a fixed training set and a few epochs per stage keep the
whole run on 2 CPU cores under 30 minutes (see ``docs/amortized.md`` for what was measured).

Usage::

    python examples/lista_chen2018.py                 # full budget (estimated 20-30 min, 2 cores)
    python examples/lista_chen2018.py --snr 40        # the 40 dB setting
    python examples/lista_chen2018.py --quick         # scaled down, under a minute (CI)

Set ``OPENBLAS_NUM_THREADS=1`` on a loaded machine: multi-threaded BLAS on small matrices
slows down sharply when cores are contended.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import dictlearn
from dictlearn.datasets import make_sparse_problem
from dictlearn.metrics import nmse_db


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled-down run for CI (< 1 minute)")
    p.add_argument("--snr", default="inf", help="'inf' (noiseless) or an SNR in dB, e.g. 40")
    p.add_argument("--variants", nargs="*", default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--epochs-per-stage", type=int, default=None)
    p.add_argument("--alpha", type=float, default=0.1, help="lasso weight of ISTA/FISTA and "
                   "of the networks' initial thresholds")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for results.json and nmse.png")
    a = p.parse_args(argv)
    if a.quick:
        a.m, a.n = 64, 128
        a.layers = a.layers or 6
        a.n_train = a.n_train or 3000
        a.n_test = min(a.n_test, 500)
        a.epochs_per_stage = a.epochs_per_stage or 2
        a.variants = a.variants or ["cp", "alista"]
    else:
        a.m, a.n = 250, 500
        a.layers = a.layers or 16
        a.n_train = a.n_train or 6000
        a.epochs_per_stage = a.epochs_per_stage or 3
        a.variants = a.variants or ["lista", "cp", "ss", "alista"]
    return a


def run(argv=None) -> dict:
    a = parse(argv)
    snr = None if str(a.snr).lower() in ("inf", "none") else float(a.snr)
    prob = make_sparse_problem(a.n_train + a.n_test, a.m, a.n, None, sparsity=0.1, snr_db=snr,
                               random_state=a.seed)
    D = prob.dictionary
    Xtr, Ztr = prob.X[:a.n_train], prob.codes[:a.n_train]
    Xte, Zte = prob.X[a.n_train:], prob.codes[a.n_train:]
    K = a.layers
    print(f"problem: m={a.m}, n={a.n}, Bernoulli(0.1) x N(0,1) codes, SNR={a.snr}, K={K}, "
          f"{a.n_train} training / {a.n_test} test samples")
    curves: dict[str, list[float]] = {}
    for name in ("ista", "fista"):
        curves[name] = [nmse_db(dictlearn.sparse_encode(Xte, D, method=name, alpha=a.alpha,
                                                        max_iter=k, tol=0.0), Zte)
                        for k in range(1, K + 1)]
    lasso = dictlearn.fista(Xte, D, alpha=a.alpha, max_iter=5000, tol=1e-8).codes
    curves["lasso (converged)"] = [nmse_db(lasso, Zte)] * K
    timing = {}
    for v in a.variants:
        t0 = time.perf_counter()
        net = dictlearn.LISTA(D, K, variant=v, alpha=a.alpha, learning_rate=a.lr,
                              batch_size=64, max_epochs=a.epochs_per_stage, layerwise=True,
                              n_iter_no_change=None, validation_fraction=0.05,
                              divergence_retries=3,
                              random_state=a.seed)
        net.fit(Xtr, Ztr)
        timing[v] = time.perf_counter() - t0
        curves[f"lista-{v}"] = [nmse_db(Z, Zte) for Z in net.transform_layers(Xte)]
        print(f"  lista-{v}: trained in {timing[v]:.0f} s ({net.status_.value}); "
              f"NMSE at layer {K}: {curves[f'lista-{v}'][-1]:.2f} dB", flush=True)
    names = list(curves)
    print("\nNMSE (dB) on the test set, per layer / iteration:")
    print("layer " + " ".join(f"{n[:16]:>16s}" for n in names))
    for k in range(K):
        print(f"{k + 1:5d} " + " ".join(f"{curves[n][k]:16.2f}" for n in names))
    out = {"args": {k: v for k, v in vars(a).items()}, "curves": curves, "train_s": timing}
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "results.json"), "w") as fh:
            json.dump(out, fh, indent=1, default=lambda x: None if not math.isfinite(x) else x)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 4))
            for n in names:
                ax.plot(range(1, K + 1), curves[n], "--" if n in ("ista", "fista") else "-",
                        label=n)
            ax.set_xlabel("layer / iteration")
            ax.set_ylabel("NMSE (dB)")
            ax.legend(fontsize="small")
            ax.grid(True, alpha=0.3)
            fig.tight_layout()
            fig.savefig(os.path.join(a.out, "nmse.png"), dpi=120)
        except ImportError:
            pass
    return out


if __name__ == "__main__":
    run()
