"""Frame-based against convolutional coding at equal sparsity: SNR against nonzeros per second.

One synthetic sound (``make_sound``), the same number of atoms of the same length for both
models. Frame-based: a dictionary of Hann-windowed frames (hop = half a frame) learned by
``FrameDecomposition`` and OMP with ``m`` nonzeros per frame. Convolutional: atoms learned by
``decompose`` and the recording coded by convolutional matching pursuit (``mp``) and by the
convolutional lasso with its least-squares refit (``cbpdn``), each at a given number of
activations per second. The figure is the one to look at when choosing a model::

    PYTHONPATH=. python examples/signal_frames_vs_conv.py
    PYTHONPATH=. python examples/signal_frames_vs_conv.py --quick   # CI

Saves ``examples/out/signal_frames_vs_conv.png`` and prints the table behind it.
"""

from __future__ import annotations

import argparse
import os

import numpy as np


def snr_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    x = x - x.mean()
    return float(10 * np.log10(np.sum(x ** 2) / np.sum((x - (x_hat - x_hat.mean())) ** 2)))


def main(argv=None) -> dict:
    from dictlearn.plotting import new_figure
    from dictlearn.signal import FrameDecomposition, decompose, make_sound

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rate", type=int, default=8000)
    p.add_argument("--atoms", type=int, default=16)
    p.add_argument("--atom-length", type=float, default=0.02)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out",
                                                 "signal_frames_vs_conv.png"))
    args = p.parse_args(argv)
    budgets = [100, 200, 400, 800, 1600]
    if args.quick:
        args.seconds, args.atoms, budgets = 1.0, 8, [200, 800]
    sound = make_sound(args.seconds, args.rate, random_state=args.seed)
    x, rate = sound.x, sound.sample_rate
    L = round(args.atom_length * rate)
    hop = L // 2
    rows = []
    frames = FrameDecomposition(L, hop=hop, n_atoms=args.atoms, n_nonzero_coefs=2,
                                random_state=args.seed).fit(x)
    for m in sorted({max(1, round(b * hop / rate)) for b in budgets}):
        if m > args.atoms:
            continue
        frames.set_params(n_nonzero_coefs=m)
        codes = frames.transform(x)
        nnz = int(np.count_nonzero(np.asarray(codes.codes)))
        rows.append(("frames (OMP)", nnz / args.seconds,
                     snr_db(x, np.asarray(frames.inverse_transform(codes)))))
    learned = decompose(x, rate, n_atoms=args.atoms, atom_length_s=args.atom_length,
                        max_iter=10 if args.quick else 30, random_state=args.seed)
    for method in ("mp", "cbpdn"):
        for b in budgets:
            d = decompose(x, rate, method=method, dictionary=learned.atoms, nnz_per_second=b)
            rows.append((f"convolutional ({method})", d.summary["nnz_per_second"],
                         snr_db(x, d.reconstruction[0])))
    print(f"{args.seconds:g} s at {rate} Hz, {args.atoms} atoms of {L} samples")
    print(f"{'model':>26}  {'nonzeros/s':>10}  {'SNR (dB)':>8}")
    for name, nnz, snr in rows:
        print(f"{name:>26}  {nnz:10.0f}  {snr:8.2f}")
    fig = new_figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for name in dict.fromkeys(r[0] for r in rows):
        pts = sorted((r[1], r[2]) for r in rows if r[0] == name)
        ax.plot(*zip(*pts, strict=True), "o-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("nonzeros per second")
    ax.set_ylabel("SNR (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"saved {args.out}")
    return {"rows": rows, "path": args.out}


if __name__ == "__main__":
    main()
