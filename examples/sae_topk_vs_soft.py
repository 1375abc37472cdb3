"""Tutorial exercise: top-k sparsity against soft (L1) sparsity at a matched number of active
units.

A top-k autoencoder (k annealed down as in Makhzani & Frey 2013) fixes the L0 of every code
exactly; an L1 (soft-threshold) autoencoder only controls it on average through λ. The script
trains the L1 model, reads its mean L0, trains a top-k model with k equal to it, and compares
reconstruction error and the spread of L0 across samples.

Usage::

    python examples/sae_topk_vs_soft.py [--quick] [--alpha 0.05]

Saves ``examples/out/sae_topk_vs_soft.png`` (the L0 per sample of both models).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import dictlearn


def _report(name, sae, X):
    Z = sae.transform(X)
    l0 = (Z != 0).sum(axis=1)
    err = float(np.sum((X - sae.inverse_transform(Z)) ** 2) / np.sum((X - X.mean(0)) ** 2))
    print(f"  {name:10s} relative error {err:.3f}, L0 mean {l0.mean():.1f}, std {l0.std():.2f}")
    return {"rel_error": err, "l0_mean": float(l0.mean()), "l0_std": float(l0.std()), "l0": l0}


def run(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--n-atoms", type=int, default=128)
    p.add_argument("--out", default=os.path.join("examples", "out", "sae_topk_vs_soft.png"))
    a = p.parse_args(argv)
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    epochs = 10 if a.quick else 60
    soft = dictlearn.SparseAutoencoder(a.n_atoms, sparsity="l1", alpha=a.alpha,
                                       unit_norm_decoder=True, learning_rate=3e-3,
                                       max_epochs=epochs, random_state=0).fit(X)
    out = {"soft": _report("soft (L1)", soft, X)}
    k = max(1, round(out["soft"]["l0_mean"]))
    topk = dictlearn.SparseAutoencoder(a.n_atoms, sparsity="topk", k=k, unit_norm_decoder=True,
                                       learning_rate=3e-3, max_epochs=epochs,
                                       random_state=0).fit(X)
    out["topk"] = _report(f"top-{k}", topk, X)
    from dictlearn.plotting import new_figure, save_figure

    fig = new_figure(figsize=(6, 3.5))
    ax = fig.subplots()
    top = int(max(out["soft"]["l0"].max(), k)) + 1
    for name, label in (("soft", "soft (L1)"), ("topk", f"top-{k}")):
        r = out[name]
        ax.hist(r["l0"], bins=np.arange(top + 1) - 0.5, alpha=0.6,
                label=f"{label}: relative error {r['rel_error']:.3f}")
    ax.set(xlabel="active units per sample (L0)", ylabel="samples")
    ax.legend(fontsize="small")
    print(f"saved {save_figure(fig, a.out)}")
    return out


if __name__ == "__main__":
    run()
