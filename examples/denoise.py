"""Image denoising with a learned dictionary (patch-based, as in Elad & Aharon 2006).

A grayscale photograph (shipped with matplotlib) gets white Gaussian noise; a dictionary of
8x8 atoms is learned online from the noisy image's own patches (means removed); every
overlapping patch is then coded with the lasso at ``alpha = 3 sigma`` (about the largest
correlation of pure noise with one of the unit-norm atoms, ``sigma sqrt(2 ln n_atoms)``), and
the overlapping reconstructions are averaged. The PSNR table compares the noisy input, the
starting dictionary (random noisy patches) and the learned one::

    PYTHONPATH=. python examples/denoise.py           # about a minute
    PYTHONPATH=. python examples/denoise.py --quick   # seconds (CI)

Saves ``examples/out/denoise.png`` (clean, noisy, denoised).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def psnr(estimate: np.ndarray, clean: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB."""
    mse = float(np.mean((estimate - clean) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak**2 / mse)


def denoise(noisy: np.ndarray, D: np.ndarray, alpha: float, patch: int) -> np.ndarray:
    """Code every overlapping patch on ``D`` (lasso), put it back, average the overlaps."""
    from dictlearn import sparse_encode

    win = np.lib.stride_tricks.sliding_window_view(noisy, (patch, patch))
    H, W = win.shape[:2]
    P = win.reshape(H * W, patch * patch)
    mean = P.mean(axis=1, keepdims=True)
    Z = sparse_encode(P - mean, D, method="lasso" if _has("lasso") else "fista",
                      alpha=alpha, max_iter=500, tol=1e-4)
    R = (Z @ D + mean).reshape(H, W, patch, patch)
    out = np.zeros_like(noisy)
    cnt = np.zeros_like(noisy)
    for i in range(patch):
        for j in range(patch):
            out[i:i + H, j:j + W] += R[:, :, i, j]
            cnt[i:i + H, j:j + W] += 1
    return out / cnt


def _has(method: str) -> bool:
    from dictlearn.coding import METHODS

    return method in METHODS


def main(argv=None) -> dict:
    from dictlearn.datasets import image_patches, natural_images
    from dictlearn.learning import init_dictionary, online_dictionary_learning

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=160, help="side of the image crop")
    p.add_argument("--sigma", type=float, default=0.1, help="noise std (image in [0, 1])")
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--n-atoms", type=int, default=256)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out", "denoise.png"))
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.n_atoms, args.steps = 48, 64, 20
    img = natural_images()[0]
    r0, c0 = (img.shape[0] - args.size) // 3, (img.shape[1] - args.size) // 2
    clean = img[r0:r0 + args.size, c0:c0 + args.size]
    rng = np.random.default_rng(args.seed)
    noisy = clean + args.sigma * rng.standard_normal(clean.shape)
    alpha = 3.0 * args.sigma
    X = image_patches(noisy, args.patch, 20 * args.n_atoms, normalize="center",
                      random_state=args.seed)
    t0 = time.perf_counter()
    res = online_dictionary_learning(X, args.n_atoms, alpha=alpha, batch_size=256,
                                     max_iter=args.steps, coding_options={"tol": 1e-4},
                                     random_state=args.seed)
    secs = time.perf_counter() - t0
    D0 = init_dictionary(X, args.n_atoms, random_state=args.seed, xp=np)
    rows = [("noisy input", noisy), ("random noisy patches (no learning)",
                                     denoise(noisy, D0, alpha, args.patch)),
            ("learned dictionary (online)", denoise(noisy, res.dictionary, alpha, args.patch))]
    print(f"{args.size}x{args.size} crop, sigma={args.sigma}, {args.n_atoms} atoms of "
          f"{args.patch}x{args.patch}, alpha={alpha:.2f}, learning {secs:.1f}s "
          f"({res.n_iter} mini-batches)")
    print(f"{'image':>36}  PSNR (dB)")
    table = {}
    for name, im in rows:
        table[name] = psnr(np.clip(im, 0, 1), clean)
        print(f"{name:>36}  {table[name]:9.2f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    for ax, (title, im) in zip(axes, [("clean", clean), ("noisy", noisy),
                                      ("denoised", rows[-1][1])], strict=True):
        ax.imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{title} ({psnr(np.clip(im, 0, 1), clean):.1f} dB)" if title != "clean"
                     else title, fontsize=9)
        ax.set_axis_off()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"saved {args.out}")
    return {"psnr": table, "path": args.out}


if __name__ == "__main__":
    main()
