"""Time of one LISTA training step against the time of its matrix products (the floor).

    OPENBLAS_NUM_THREADS=1 python docs/dev/scripts/lista_step_timing.py [--repeat 15]
        [--variants lista cp ss alista] [--float64] [--profile cp] [--extras]

The problem of Chen et al. (2018): 500 atoms of dimension 250, 16 layers, mini-batches of 64,
float32. One training step of the refining phases (every layer trained, loss at layer 16) is
three parts, timed separately: the fresh mini-batch (``sparse_problem_sampler``), the loss and
its gradients (``LISTA._loss_and_grads``: forward, loss, backward through every layer) and the
optimiser update (``Adam.update`` over the 16 layers' weights, its state carried from step to
step). The floor is the matrix products of the fused step (the table of
:mod:`dictlearn.amortized.unrolled`) run back to back on arrays of the same shapes. Prints
medians (ms) over ``--repeat`` interleaved rounds, the step / floor ratio and steps per second;
``--profile VARIANT`` adds a cProfile of 20 steps of that variant; ``--extras`` times the
alternatives that were not adopted: the 16 layers' ``X W_k`` (and ``Xᵀ V̄_k``) as one batched
product, and an Adam step over weights laid out column-major against row-major gradients.
Run it with ``PYTHONPATH=<another checkout>`` to time another version of the code (the
products of the floor are the same).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
import warnings

import numpy as np

import dictlearn
from dictlearn.amortized.optim import Adam
from dictlearn.amortized.variants import flatten
from dictlearn.datasets import make_sparse_problem, sparse_problem_sampler


def _floor(variant, X, D, K, rng, dt):
    """The products of one fused step (forward and backward of K layers, loss at the last)."""
    n, m = X.shape
    k = D.shape[0]

    def r(*shape):
        return rng.standard_normal(shape).astype(dt)

    Z, G, W, S, R = r(n, k), r(n, k), r(m, k), r(k, k), r(n, m)
    Wt, St, Dt = W.T, S.T, D.T

    def explicit():
        for i in range(K):
            X @ W
            if i:
                Z @ S, Z.T @ G, G @ St
            X.T @ G

    def coupled(with_gamma):
        def run():
            for i in range(K):
                if i:
                    Z @ D
                R @ W
                if not with_gamma:
                    R.T @ G
                if i:
                    (G @ Wt) @ Dt
        return run

    return explicit if variant == "lista" else coupled(variant == "alista")


def _extras(repeat, dt):
    """Batched products and a mixed-layout optimiser step (medians, ms)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 250)).astype(dt)
    Ws = [rng.standard_normal((250, 500)).astype(dt) for _ in range(16)]
    Vs = [rng.standard_normal((64, 500)).astype(dt) for _ in range(16)]
    Wc, Vc = np.concatenate(Ws, axis=1), np.concatenate(Vs, axis=1)
    opt, g = Adam(5e-4), {i: X.T @ V for i, V in enumerate(Vs)}  # row-major gradients
    row = {i: W.copy() for i, W in enumerate(Ws)}
    col = {i: np.asfortranarray(W) for i, W in enumerate(Ws)}
    st_row = opt.update(row, g, opt.init(row))[1]
    st_col = opt.update(col, g, opt.init(col))[1]
    cases = {
        "16 products X W_k": lambda: [X @ W for W in Ws],
        "one product X [W_1 .. W_16]": lambda: X @ Wc,
        "16 products X^T V_k": lambda: [X.T @ V for V in Vs],
        "one product X^T [V_1 .. V_16]": lambda: X.T @ Vc,
        "Adam, row-major weights": lambda: opt.update(row, g, st_row),
        "Adam, column-major weights": lambda: opt.update(col, g, st_col),
    }
    times = {k: [] for k in cases}
    for _ in range(repeat + 1):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    for k, x in times.items():
        print(f"{k:32s} {1e3 * statistics.median(x[1:]):8.2f} ms")


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--repeat", type=int, default=15)
    a.add_argument("--layers", type=int, default=16)
    a.add_argument("--variants", nargs="*", default=["lista", "cp", "ss", "alista"])
    a.add_argument("--float64", action="store_true")
    a.add_argument("--profile", default=None)
    a.add_argument("--extras", action="store_true")
    args = a.parse_args(argv)
    warnings.simplefilter("ignore")
    m, n, b, K = 250, 500, 64, args.layers
    dt = np.float64 if args.float64 else np.float32
    p = make_sparse_problem(b, m, n, None, sparsity=0.1, random_state=0, dtype=dt)
    D = p.dictionary
    draw = sparse_problem_sampler(D, n_nonzero_coefs=None, sparsity=0.1, dtype=dt)
    rng = np.random.default_rng(0)
    parts = {}
    for v in args.variants:
        net = dictlearn.LISTA(D, K, variant=v, alpha=0.4, support_fraction=0.012,
                              support_max=0.13).initialize(p.X)
        w, opt = net.params_, Adam(learning_rate=5e-4)
        flat = flatten(w)
        _, g = net._loss_and_grads(w, p.X, p.codes, "mse", K, np)
        state = opt.update(flat, g, opt.init(flat))[1]  # a carried state, as in training
        dtypes = {str(x.dtype) for x in (*g.values(), *state.mu.values(), *state.nu.values())}
        parts[v] = {
            "draw": lambda: draw(b, rng),
            "loss+grad": lambda net=net, w=w: net._loss_and_grads(w, p.X, p.codes, "mse", K, np),
            "adam": lambda opt=opt, flat=flat, g=g, state=state: opt.update(flat, g, state),
            "floor": _floor(v, p.X, D, K, rng, dt),
        }
        print(f"{v}: gradient and optimiser-state dtypes {sorted(dtypes)}", flush=True)
    times = {v: {k: [] for k in parts[v]} for v in parts}
    for _ in range(args.repeat + 1):  # the first round warms up
        for v, fns in parts.items():
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[v][k].append(time.perf_counter() - t0)
    print(f"{'variant':8s} {'draw':>7s} {'loss+grad':>10s} {'adam':>7s} {'step':>7s} "
          f"{'floor':>7s} {'ratio':>6s} {'steps/s':>8s}   (ms, medians of {args.repeat})")
    for v in parts:
        med = {k: 1e3 * statistics.median(x[1:]) for k, x in times[v].items()}
        step = med["draw"] + med["loss+grad"] + med["adam"]
        print(f"{v:8s} {med['draw']:7.2f} {med['loss+grad']:10.2f} {med['adam']:7.2f} "
              f"{step:7.2f} {med['floor']:7.2f} {step / med['floor']:6.2f} {1e3 / step:8.2f}")
    if args.extras:
        _extras(args.repeat, dt)
    if args.profile:
        fns = parts[args.profile]
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20):
            fns["draw"](), fns["loss+grad"](), fns["adam"]()
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
