"""Features of a trained network: sparse autoencoders on an MLP's hidden activations.

The interpretability use of sparse autoencoders (Bricken et al. 2023, Gao et al. 2024), end to
end on a network trained here: scikit-learn's ``MLPClassifier`` (one ReLU layer of
``--hidden`` units) learns the 8x8 digits; its hidden activations of all 1,797 images, scaled
so that ``mean ‖a‖² = n_hidden``, are the data. Two ``SparseAutoencoder``s with
``--expansion`` x more latents than hidden units are fitted on them:

- L1 (ReLU encoder, penalty ``--alpha``), then
- top-k with the auxiliary dead-latent loss of Gao et al. (``dead_latents="auxk"``), ``k``
  set to the L1 model's mean L0 (rounded), so that both are compared at equal L0; and the same
  top-k model without the auxiliary loss and with resampling of dead latents instead
  (``dead_latents="resample"``), to show what each does to the dead latents.

Printed per model, what that field reports: the fraction of dead latents (never active on any
image), the explained variance of the activations ``1 − Σ‖a − â‖² / Σ‖a − ā‖²``, the L0 per
sample (mean and std), and the class purity of each live latent's 10 top-activating images
(the share of its most frequent digit), against the same purity of the hidden units
themselves. The figure shows, for the top-k model, the top-activating images of the latents::

    PYTHONPATH=. python examples/sae_network_features.py           # about a minute
    PYTHONPATH=. python examples/sae_network_features.py --quick   # seconds (CI)

Saves ``examples/out/sae_network_features.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import dictlearn


def top_purity(codes: np.ndarray, labels: np.ndarray, top: int = 10) -> np.ndarray:
    """For each column that is active on at least ``top`` rows, the share of the most frequent
    label among the ``top`` rows where it is largest."""
    out = []
    for j in range(codes.shape[1]):
        col = codes[:, j]
        if np.count_nonzero(col) < top:
            continue
        rows = np.argsort(col)[::-1][:top]
        out.append(np.bincount(labels[rows]).max() / top)
    return np.asarray(out)


def describe(name: str, sae, A: np.ndarray, y: np.ndarray) -> dict:
    Z = np.asarray(sae.transform(A))
    R = A - np.asarray(sae.inverse_transform(Z))
    l0 = (Z != 0).sum(axis=1)
    pur = top_purity(Z, y)
    out = {"dead_fraction": float(np.mean(~(Z != 0).any(axis=0))),
           "explained_variance": float(1 - np.sum(R ** 2) / np.sum((A - A.mean(0)) ** 2)),
           "l0_mean": float(l0.mean()), "l0_std": float(l0.std()),
           "purity": float(pur.mean()) if pur.size else float("nan"), "codes": Z}
    print(f"  {name:24s} dead {out['dead_fraction']:6.1%}  explained var "
          f"{out['explained_variance']:.3f}  L0 {out['l0_mean']:5.2f} ± {out['l0_std']:4.2f}  "
          f"top-10 purity {out['purity']:.3f} ({pur.size} latents)")
    return out


def figure(Z: np.ndarray, images: np.ndarray, path: str, n_latents: int = 12,
           n_top: int = 8) -> None:
    """Rows: the most often active latents; columns: their top-activating images (one
    mosaic, drawn as a single image)."""
    from dictlearn.plotting import new_figure, save_figure

    order = np.argsort((Z != 0).sum(axis=0))[::-1][:n_latents]
    canvas = np.full((len(order) * 9 + 1, n_top * 9 + 1), np.nan)
    for r, j in enumerate(order):
        for c, i in enumerate(np.argsort(Z[:, j])[::-1][:n_top]):
            canvas[1 + 9 * r:9 * (r + 1), 1 + 9 * c:9 * (c + 1)] = images[i].reshape(8, 8)
    fig = new_figure(figsize=(n_top * 0.6 + 0.8, len(order) * 0.6 + 0.5))
    ax = fig.subplots()
    ax.imshow(canvas, cmap="gray_r", interpolation="nearest")
    ax.set_yticks([4.5 + 9 * r for r in range(len(order))], [f"latent {j}" for j in order],
                  fontsize=7)
    ax.set_xticks([])
    ax.set_title("top-k SAE latents (rows) and their top-activating digits", fontsize=8)
    print(f"saved {save_figure(fig, path, dpi=110)}")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=64, help="hidden units of the MLP")
    p.add_argument("--expansion", type=int, default=4, help="latents per hidden unit")
    p.add_argument("--alpha", type=float, default=1.0, help="L1 weight")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out", "sae_network_features.png"))
    a = p.parse_args(argv)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    t0 = time.perf_counter()
    d = load_digits()
    X, y = d.data / 16.0, d.target
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=a.seed)
    with warnings.catch_warnings():  # the quick run stops the MLP before it converges
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((a.hidden,), max_iter=40 if a.quick else 300,
                            random_state=a.seed).fit(Xtr, ytr)
    acc = float(mlp.score(Xte, yte))
    A = np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)
    A = A / np.sqrt(np.mean(np.sum(A ** 2, axis=1)) / A.shape[1])
    n_lat = (2 if a.quick else a.expansion) * a.hidden
    print(f"MLP {a.hidden} ReLU units: test accuracy {acc:.3f}; activations of {len(X)} images, "
          f"{np.mean(A > 0):.1%} of units active; SAEs with {n_lat} latents")
    epochs = a.epochs or (4 if a.quick else 50)
    common = {"unit_norm_decoder": True, "learning_rate": 3e-3, "max_epochs": epochs,
              "n_iter_no_change": None, "random_state": a.seed}
    l1 = dictlearn.SparseAutoencoder(n_lat, sparsity="l1", alpha=a.alpha, **common).fit(A)
    res = {"accuracy": acc}
    res["l1"] = describe(f"L1 (alpha={a.alpha:g})", l1, A, y)
    k = max(1, round(res["l1"]["l0_mean"]))
    for name, dead in (("topk_auxk", "auxk"), ("topk", None), ("topk_resample", "resample")):
        sae = dictlearn.SparseAutoencoder(n_lat, sparsity="topk", k=k, dead_latents=dead,
                                          dead_after=len(A), **common).fit(A)
        res[name] = describe(f"top-k (k={k}), {dead or 'plain'}", sae, A, y)
    neurons = top_purity(A, y)
    res["neuron_purity"] = float(neurons.mean())
    print(f"  {'hidden units themselves':24s} top-10 purity {res['neuron_purity']:.3f} "
          f"({neurons.size} units)")
    figure(res["topk_auxk"]["codes"], X, a.out)
    print(f"total {time.perf_counter() - t0:.1f} s")
    return res


if __name__ == "__main__":
    main()
