"""Olshausen & Field (1996) on whitened natural-image patches: Gabor-like atoms emerge.

The setup of Olshausen's ``sparsenet``: photographs (those shipped with matplotlib and
scikit-learn) are averaged over 3x3 pixel blocks, which removes their JPEG and sensor noise and
brings their detail up to the Nyquist frequency as in the paper's 512x512 images, then
whitened with ``R(f) = f exp(-(f/f0)^4)`` (f0 = 0.4 cycles/pixel) and scaled to variance 0.1;
8x8 patches are drawn away from the 4-pixel border that the FFT's wrap-around spoils; a
complete basis of 64 atoms is learned with the paper's rule: the Cauchy prior
``log(1 + (z/sigma)^2)`` with inference started from each atom's projection (sparsenet's
``cgf_fitS``), the gradient step with eta = 1 on batches of 100 and the gain rule that keeps
every coefficient's variance at 0.1. After 3000 updates at eta = 1 the example lowers eta to
0.3 then 0.1 for 1000 updates each (``--anneal``; the rule is unchanged, only its step): the
atoms' last noise averages out. It prints the fraction of atoms that a 2-D Gabor fits with
R^2 >= 0.8 (:func:`dictlearn.metrics.gabor_r2`; the numbers are in docs/learning.md). Run::

    PYTHONPATH=. python examples/olshausen_field.py            # a minute or two
    PYTHONPATH=. python examples/olshausen_field.py --quick    # seconds (CI)

``--patch 12`` learns 144 atoms of 12x12, ``--overcomplete 2`` twice as many; 288 atoms of
12x12 (``--downsample 2 --patch 12 --overcomplete 2 --anneal 2000:0.3,2000:0.1``) reached 95%
in 7000 updates.
The atom grid is saved as PNG (``--out``, default ``examples/out/olshausen_field_atoms.png``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def atom_grid(D: np.ndarray, patch_shape: tuple[int, int], path: str, title: str = "") -> str:
    """Save the atoms (rows of ``D``) as a grid of image tiles, each scaled to its own range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = D.shape[0]
    cols = int(np.ceil(np.sqrt(k * 1.5)))
    rows = int(np.ceil(k / cols))
    ph, pw = patch_shape
    canvas = np.full((rows * (ph + 1) + 1, cols * (pw + 1) + 1), np.nan)
    for j in range(k):
        a = D[j].reshape(ph, pw)
        m = np.abs(a).max() or 1.0
        r, c = divmod(j, cols)
        canvas[1 + r * (ph + 1): 1 + r * (ph + 1) + ph, 1 + c * (pw + 1): 1 + c * (pw + 1) + pw] \
            = a / m
    fig, ax = plt.subplots(figsize=(cols * 0.35 + 0.5, rows * 0.35 + 0.8))
    ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def localization_and_orientation(D: np.ndarray, patch_shape: tuple[int, int]) -> dict:
    """Simple numbers for "localized, oriented, band-pass": the fraction of an atom's energy
    within 3 pixels of its energy centroid, the orientation concentration of its spectrum
    (``|E[exp(2i angle)]|`` weighted by power; 1 = a single orientation) and the fraction of
    its power at DC (0 = band-pass)."""
    ph, pw = patch_shape
    loc, ori, dc = [], [], []
    fy = np.fft.fftfreq(ph)[:, None]
    fx = np.fft.fftfreq(pw)[None, :]
    theta = np.arctan2(fy, fx)
    for d in D:
        a = d.reshape(ph, pw)
        e = a**2
        # spatial concentration: energy within a radius of 3 pixels of the energy centroid
        yy, xx = np.mgrid[:ph, :pw]
        cy, cx = (e * yy).sum() / e.sum(), (e * xx).sum() / e.sum()
        loc.append(e[(yy - cy) ** 2 + (xx - cx) ** 2 <= 9].sum() / e.sum())
        P = np.abs(np.fft.fft2(a)) ** 2
        dc.append(P[0, 0] / P.sum())
        # orientation concentration: |mean of exp(2i theta)| weighted by power (1 = one angle)
        w = P.copy()
        w[0, 0] = 0
        ori.append(abs((w * np.exp(2j * theta)).sum()) / w.sum())
    return {"localized": float(np.median(loc)), "oriented": float(np.median(ori)),
            "dc_fraction": float(np.median(dc))}


def downsample(image: np.ndarray, f: int) -> np.ndarray:
    """The mean over ``f x f`` blocks of pixels (the last partial rows and columns dropped)."""
    h, w = image.shape[0] // f * f, image.shape[1] // f * f
    return image[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def whitened_patches(patch: int, n_patches: int, *, downsample_by: int = 3, border: int = 4,
                     cutoff: float = 0.4, seed: int = 0) -> np.ndarray:
    """The example's training set: the shipped photographs averaged over blocks, whitened,
    their borders left out, and ``n_patches`` random ``patch x patch`` patches."""
    from dictlearn.datasets import image_patches, natural_images, whiten_image

    images = []
    for im in natural_images():
        w = whiten_image(downsample(im, downsample_by), cutoff=cutoff)
        images.append(w[border:w.shape[0] - border, border:w.shape[1] - border])
    return image_patches(images, patch, n_patches, random_state=seed)


def main(argv=None) -> dict:
    from dictlearn.learning import olshausen_field
    from dictlearn.metrics import gabor_r2

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--overcomplete", type=float, default=1.0,
                   help="atoms per pixel of a patch (1: a complete basis)")
    p.add_argument("--n-patches", type=int, default=100_000)
    p.add_argument("--iters", type=int, default=3000, help="mini-batch updates at the rate "
                   "--learning-rate")
    p.add_argument("--anneal", default="1000:0.3,1000:0.1",
                   help="then UPDATES:RATE,... at lower rates ('' for none)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--learning-rate", type=float, default=1.0, help="eta (sparsenet: 1)")
    p.add_argument("--cutoff", type=float, default=0.4, help="whitening f0, cycles/pixel")
    p.add_argument("--downsample", type=int, default=3,
                   help="average the photographs over f x f pixel blocks before whitening")
    p.add_argument("--border", type=int, default=4,
                   help="pixels of each whitened image's border left out (sparsenet's BUFF)")
    p.add_argument("--dead-atoms", choices=["resample", "keep"], default="keep",
                   help="atoms whose coefficient variance fell below 1%% of the goal are "
                        "re-drawn from badly reconstructed patches (resample) or left (keep)")
    p.add_argument("--alpha", type=float, default=0.022, help="prior weight (beta * noise_var)")
    p.add_argument("--sigma", type=float, default=0.316, help="Cauchy prior scale")
    p.add_argument("--prior", choices=["cauchy", "l1"], default="cauchy")
    p.add_argument("--coding-init", choices=["projection", "zeros"], default="projection",
                   help="start of the inference (sparsenet: each atom's projection)")
    p.add_argument("--coding-max-iter", type=int, default=60, help="coding iterations")
    p.add_argument("--coding-tol", type=float, default=1e-2, help="coding tolerance")
    p.add_argument("--min-gain", type=float, default=0.0,
                   help="floor on each gain, as a fraction of the mean gain (0: the paper)")
    p.add_argument("--quick", action="store_true", help="tiny run for tests")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out",
                                                  "olshausen_field_atoms.png"))
    args = p.parse_args(argv)
    if args.quick:
        args.patch, args.n_patches, args.iters, args.anneal = 8, 2000, 30, "10:0.3"
    n_atoms = round(args.overcomplete * args.patch**2)
    X = whitened_patches(args.patch, args.n_patches, downsample_by=args.downsample,
                         border=args.border, cutoff=args.cutoff, seed=args.seed)
    phases = [(args.iters, args.learning_rate)]
    phases += [(int(n), float(r)) for n, r in (ph.split(":") for ph in args.anneal.split(",")
                                                 if ph.strip())]
    coding = {"max_iter": args.coding_max_iter, "tol": args.coding_tol}
    if args.prior == "cauchy":
        coding["init"] = args.coding_init
    t0 = time.perf_counter()
    res, state = None, None
    for i, (iters, rate) in enumerate(phases):  # the same rule, resumed at a lower rate
        res = olshausen_field(X, n_atoms, prior=args.prior, min_gain=args.min_gain,
                              alpha=args.alpha, sigma=args.sigma,
                              coding_method=None if args.prior == "cauchy" else "fista",
                              batch_size=args.batch, max_iter=iters, learning_rate=rate,
                              coding_options=coding, random_state=args.seed + i,
                              dead_atoms=args.dead_atoms, state=state,
                              verbose=not args.quick)
        state = res.state
    secs = time.perf_counter() - t0
    var = np.asarray(res.state.aux.var)
    order = np.argsort(-var, kind="stable")  # most used atoms first
    n_active = int((var > 0.01 * 0.1).sum())
    D = res.dictionary[order] / np.linalg.norm(res.dictionary[order], axis=1, keepdims=True)
    stats = localization_and_orientation(D[:max(n_active, 1)], (args.patch, args.patch))
    path = atom_grid(D, (args.patch, args.patch), args.out,
                     f"Olshausen-Field: {n_atoms} atoms, {args.patch}x{args.patch}, "
                     f"{res.state.n_iter} updates")
    gains = res.state.aux.gain
    schedule = ", ".join(f"{n} at eta={r:g}" for n, r in phases)
    print(f"learned {n_atoms} atoms of {args.patch}x{args.patch} in {secs:.1f}s "
          f"({res.state.n_iter} updates of {args.batch} patches: {schedule})")
    print(f"{n_active} atoms active (coefficient variance above 1% of the goal); grid sorted "
          "by variance")
    hist = res.state.history
    print(f"objective: first {hist[0]['objective']:.4f} -> last "
          f"{hist[-1]['objective']:.4f}; gains in [{gains.min():.3f}, {gains.max():.3f}]")
    print("median atom: energy within 3 px of its centre {localized:.2f}, orientation "
          "concentration {oriented:.2f}, DC fraction {dc_fraction:.4f}".format(**stats))
    t1 = time.perf_counter()
    r2 = gabor_r2(D, (args.patch, args.patch))
    gabor = r2 >= 0.8
    print(f"atoms a 2-D Gabor fits with R^2 >= 0.8 (dictlearn.metrics.gabor_r2): "
          f"{int(gabor.sum())} of {n_atoms} ({gabor.mean():.0%}); median R^2 "
          f"{np.median(r2):.2f} (fit in {time.perf_counter() - t1:.1f}s)")
    print(f"saved {path}")
    return {"result": res, "stats": stats, "path": path, "seconds": secs, "n_active": n_active,
            "gabor_fraction": float(gabor.mean()), "gabor_r2": r2}


if __name__ == "__main__":
    main()
