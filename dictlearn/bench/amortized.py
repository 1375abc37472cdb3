"""``python -m dictlearn.bench amortized``: amortized against iterative inference.

On the standard problem of ``bench encode`` (256 unit-norm Gaussian atoms of dimension 64,
5-sparse N(0, 1) codes, 30 dB SNR, alpha = 0.1), train each LISTA variant (supervised on the
true codes; ``step`` unsupervised on the lasso objective) and a top-k sparse autoencoder on
``--n-train`` signals, then compare them on ``--n-test`` held-out signals with ISTA and FISTA
at 1..K iterations, OMP and the exact lasso solver: NMSE in dB, lasso objective, L0, support F1,
time per sample and whether the error still falls. ``--batch-sizes 1 100 1000`` adds the table
of error against time per signal at those batch sizes; ``--untrained`` lists every variant's
initialisation too; ``--plot FILE`` saves the code-NMSE-vs-layers, reconstruction-NMSE-vs-layers
and NMSE-vs-time figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ..amortized import LISTA, SparseAutoencoder, compare_inference
from ..datasets import make_sparse_problem
from . import add_options

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, n_train=4000, n_test=1000, n_features=64, n_atoms=256, n_nonzero=5, snr_db=30.0,
                alpha=0.1, layers=(8, "LISTA layers = ISTA/FISTA iterations"), epochs=20, lr=1e-3,
                batch_size=64)
    p.add_argument("--variants", nargs="*", default=["lista", "cp", "ss", "alista", "step"])
    add_options(p, sae_k=(5, "top-k autoencoder's k (0: none)"),
                repeat=(3, "timed runs per entry (median, after one warm-up run)"))
    p.add_argument("--batch-sizes", nargs="*", type=int, default=[],
                   help="also time every method at these batch sizes (error vs time per signal)")
    for name in ("support-fraction", "support-max"):
        p.add_argument(f"--{name}", default="auto",
                       help="support selection of ss and alista: a share, or 'auto'")
    p.add_argument("--untrained", action="store_true",
                   help="also list every variant untrained (its initialisation) per layer")
    p.add_argument("--plot", default=None, help="save the figures to this file")
    add_options(p, seed=0)


def run(args: argparse.Namespace) -> int:
    n = args.n_train + args.n_test
    prob = make_sparse_problem(n, args.n_features, args.n_atoms, args.n_nonzero,
                               snr_db=args.snr_db, random_state=args.seed)
    X, Z, D = prob.X, prob.codes, prob.dictionary
    Xtr, Ztr, Xte, Zte = X[:args.n_train], Z[:args.n_train], X[args.n_train:], Z[args.n_train:]
    print(f"problem: D {D.shape[0]} atoms x {D.shape[1]} features, {args.n_train} training / "
          f"{args.n_test} test signals, {args.n_nonzero}-sparse, {args.snr_db:g} dB SNR, "
          f"alpha={args.alpha:g}, K={args.layers}")
    support = {k: (v if v == "auto" else float(v)) for k, v in (
        ("support_fraction", args.support_fraction), ("support_max", args.support_max))}
    methods: list = ["ista", "fista", "omp", "lasso"]
    if args.untrained:
        methods += [(f"lista-{v} (untrained)", LISTA(D, args.layers, variant=v, alpha=args.alpha)
                     .initialize(Xtr)) for v in args.variants]
    for v in args.variants:
        t0 = time.perf_counter()
        net = LISTA(D, args.layers, variant=v, alpha=args.alpha, max_epochs=args.epochs,
                    learning_rate=args.lr, batch_size=args.batch_size, random_state=args.seed,
                    **support)
        net.fit(Xtr, None if v == "step" else Ztr)
        print(f"  trained lista-{v}: {net.n_epochs_} epochs, {net.status_.value}, "
              f"{time.perf_counter() - t0:.1f} s")
        print("    validation loss per layer: " + " ".join(
            f"{x:.3g}" for x in net.layer_losses_["trained"]))
        methods.append(net)
    if args.sae_k:
        t0 = time.perf_counter()
        sae = SparseAutoencoder(args.n_atoms, sparsity="topk", k=args.sae_k,
                                max_epochs=args.epochs, learning_rate=args.lr,
                                batch_size=args.batch_size, random_state=args.seed).fit(Xtr)
        print(f"  trained sae-topk: {sae.n_epochs_} epochs, {time.perf_counter() - t0:.1f} s")
        methods.append(sae)
    table = compare_inference(Xte, D, methods, alpha=args.alpha, Z_true=Zte,
                              iterations=args.layers, repeat=args.repeat,
                              batch_sizes=args.batch_sizes or None)
    print(table.to_string())
    print("nmse_db: code NMSE against the true codes; time_per_sample_s: median wall clock; "
          "improving: the error fell from the previous step count.")
    if table.timings:
        print("\nerror against time per signal, each method at its last step count:")
        print(table.timings_string())
    last = {}
    for r in table.rows:
        last[r["method"]] = r
    print("\nat the last step:")
    for name, r in last.items():
        print(f"  {name:14s} steps={r['steps']:3d}  NMSE {r['nmse_db']:7.2f} dB  "
              f"recon {r['recon_nmse_db']:7.2f} dB")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..plotting import plot_nmse_vs_steps, plot_nmse_vs_time

        fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
        plot_nmse_vs_steps(table, ax=axes[0])
        plot_nmse_vs_steps(table, metric="recon_nmse_db", ax=axes[1])
        plot_nmse_vs_time(table, ax=axes[2])
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"saved {args.plot}")
    return 0 if np.isfinite([r["objective"] for r in table.rows]).all() else 1
