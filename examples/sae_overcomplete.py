"""Tutorial exercise: an overcomplete (d = 2D) sparse autoencoder against a complete one.

On the 8x8 digits (D = 64), a top-k autoencoder with d = 64 and one with d = 128 units are
trained with the same k; the overcomplete code reconstructs better at the same number of
active units, and its decoder is a 128-atom dictionary usable by every iterative solver (the
script re-encodes with FISTA on it to show that).

Usage::

    python examples/sae_overcomplete.py [--quick] [--k 8]

Saves ``examples/out/sae_overcomplete.png`` (the decoder rows of both models).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import dictlearn


def run(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--out", default=os.path.join("examples", "out", "sae_overcomplete.png"))
    a = p.parse_args(argv)
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    epochs = 10 if a.quick else 60
    out = {}
    for d in (X.shape[1], 2 * X.shape[1]):
        sae = dictlearn.SparseAutoencoder(d, sparsity="topk", k=a.k, unit_norm_decoder=True,
                                          learning_rate=3e-3, max_epochs=epochs,
                                          random_state=0).fit(X)
        Z = sae.transform(X)
        err = float(np.sum((X - sae.inverse_transform(Z)) ** 2) / np.sum((X - X.mean(0)) ** 2))
        Xc = X - sae.params_["b"]
        Zf = dictlearn.fista(Xc, sae.components_, alpha=0.05, max_iter=200).codes
        err_f = float(np.sum((Xc - Zf @ sae.components_) ** 2) / np.sum((X - X.mean(0)) ** 2))
        print(f"d = {d:3d}: top-{a.k} encoder relative error {err:.3f}; FISTA (alpha=0.05) on "
              f"its decoder {err_f:.3f} with mean L0 {float((Zf != 0).sum(1).mean()):.1f}")
        out[d] = {"rel_error": err, "fista_rel_error": err_f, "atoms": sae.components_}
    from dictlearn.plotting import new_figure, plot_atoms, save_figure

    fig = new_figure(figsize=(10, 4.5))
    for ax, (d, r) in zip(fig.subplots(1, 2), out.items(), strict=True):
        plot_atoms(r["atoms"], (8, 8), ax=ax)
        ax.set_title(f"d = {d}, top-{a.k}: relative error {r['rel_error']:.3f}")
    print(f"saved {save_figure(fig, a.out)}")
    return out


if __name__ == "__main__":
    run()
