"""Tutorial exercise: the KL penalty against the L1 penalty at reaching a target activation rate.

Ng's sparse autoencoder (sigmoid units, KL(ρ ‖ ρ̂) penalty with β = 3) is told the rate ρ and
reaches it; an L1-penalised ReLU autoencoder has no rate parameter, so its firing rate is
whatever its weight λ gives — several λ are tried to show the rate moves with λ and must be
tuned by hand. The script prints each model's mean activation (KL) or fraction of active
units (L1) against the target.

Usage::

    python examples/sae_kl_vs_l1.py [--quick] [--rho 0.05]

Saves ``examples/out/sae_kl_vs_l1.png``: the KL model's per-unit mean activation against ρ, and
the L1 models' rate against λ.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import dictlearn


def run(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rho", type=float, default=0.05)
    p.add_argument("--n-atoms", type=int, default=64)
    p.add_argument("--out", default=os.path.join("examples", "out", "sae_kl_vs_l1.png"))
    a = p.parse_args(argv)
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    epochs = 40 if a.quick else 100
    kl = dictlearn.SparseAutoencoder(a.n_atoms, sparsity="kl", rho=a.rho, beta=3.0,
                                     learning_rate=3e-3, max_epochs=epochs,
                                     n_iter_no_change=None, random_state=0).fit(X)
    unit_rates = kl.transform(X).mean(axis=0)
    rate_kl = float(unit_rates.mean())
    print(f"target rate rho = {a.rho}")
    print(f"  KL (sigmoid, beta=3): mean activation {rate_kl:.4f} "
          f"({100 * abs(rate_kl - a.rho) / a.rho:.1f}% off)")
    out = {"kl": rate_kl, "l1": {}}
    for lam in ((0.01, 0.1) if a.quick else (0.003, 0.01, 0.03, 0.1, 0.3)):
        l1 = dictlearn.SparseAutoencoder(a.n_atoms, sparsity="l1", alpha=lam,
                                         unit_norm_decoder=True, learning_rate=3e-3,
                                         max_epochs=epochs // 2, random_state=0).fit(X)
        rate = float((l1.transform(X) > 0).mean())
        out["l1"][lam] = rate
        print(f"  L1 (ReLU, lambda={lam:<5g}): fraction of active units {rate:.4f}")
    from dictlearn.plotting import new_figure, save_figure

    fig = new_figure(figsize=(9, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.hist(unit_rates, bins=20)
    ax1.axvline(a.rho, color="k", ls="--", label=f"target rho = {a.rho:g}")
    ax1.set(xlabel="mean activation of a unit", ylabel="units", title="KL (sigmoid)")
    ax1.legend(fontsize="small")
    lams = list(out["l1"])
    ax2.semilogx(lams, [out["l1"][v] for v in lams], "o-", label="L1: active fraction")
    ax2.axhline(a.rho, color="k", ls="--", label="rho")
    ax2.set(xlabel="lambda", ylabel="fraction of active units", title="L1 (ReLU)")
    ax2.legend(fontsize="small")
    print(f"saved {save_figure(fig, a.out)}")
    return out


if __name__ == "__main__":
    run()
