"""Tutorial exercise: an L1 sparse autoencoder's filters on scikit-learn's 8x8 digits.

Trains ``SparseAutoencoder(sparsity="l1")`` (ReLU encoder, unit-norm decoder rows) on the
1,797 digits scaled to [0, 1], prints the reconstruction error and the mean number of active
units, and saves the decoder rows (the learned dictionary) as an 8x8 image grid: with the
penalty the atoms become localised strokes instead of the global blobs of a plain autoencoder.

Usage::

    python examples/sae_digits.py [--quick] [--out FILE.png]

Saves ``examples/out/sae_digits.png`` (the decoder rows without and with the penalty).
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
    p.add_argument("--n-atoms", type=int, default=64)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--out", default=os.path.join("examples", "out", "sae_digits.png"))
    a = p.parse_args(argv)
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    epochs = a.epochs or (5 if a.quick else 60)
    out = {}
    for alpha in (0.0, a.alpha):
        sae = dictlearn.SparseAutoencoder(a.n_atoms, sparsity="l1", alpha=alpha,
                                          unit_norm_decoder=True, learning_rate=3e-3,
                                          max_epochs=epochs, random_state=0).fit(X)
        Z = sae.transform(X)
        err = float(np.sum((X - sae.inverse_transform(Z)) ** 2) / np.sum((X - X.mean(0)) ** 2))
        l0 = float((Z > 0).sum(axis=1).mean())
        print(f"alpha={alpha:<5g} relative reconstruction error {err:.3f}, "
              f"mean active units {l0:.1f} / {a.n_atoms}")
        out[alpha] = {"rel_error": err, "mean_l0": l0, "model": sae}
    from dictlearn.plotting import new_figure, plot_atoms, save_figure

    fig = new_figure(figsize=(9, 4.5))
    for ax, (alpha, r) in zip(fig.subplots(1, 2), out.items(), strict=True):
        plot_atoms(r["model"].components_, (8, 8), ax=ax)
        ax.set_title(f"alpha = {alpha:g}: L0 = {r['mean_l0']:.1f}")
    print(f"saved {save_figure(fig, a.out)}")
    return out


if __name__ == "__main__":
    run()
