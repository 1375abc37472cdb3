"""Multichannel EEG decomposed into recurring waveforms with spatial patterns (rank-1 CDL).

matplotlib ships four EEG channels (``eeg.dat``: 800 samples per channel over 10 s, 80 Hz; the
data of its "MRI with EEG" example). Each channel's mean is removed and the channels are scaled
to unit variance; a convolutional dictionary with rank-1 atoms ``d_k = u_k v_kᵀ`` (a spatial
pattern over the 4 channels times a 0.5 s waveform, alphacsc's model) is learned on the
recording, and the recording is coded on it. Prints the SNR and the activations per second and
saves the atoms (waveform and spatial pattern) and the activations::

    PYTHONPATH=. python examples/signal_eeg.py
    PYTHONPATH=. python examples/signal_eeg.py --quick   # CI

Saves ``examples/out/signal_eeg.png``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np


def main(argv=None) -> dict:
    from dictlearn.plotting import new_figure
    from dictlearn.signal import ConvolutionalDictionaryLearning, eeg_sample, reconstruct

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atoms", type=int, default=4)
    p.add_argument("--atom-length", type=float, default=0.5, help="seconds")
    p.add_argument("--alpha-scale", type=float, default=0.1)
    p.add_argument("--max-iter", type=int, default=40)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("examples", "out", "signal_eeg.png"))
    args = p.parse_args(argv)
    if args.quick:
        args.max_iter = 10
    x, rate = eeg_sample()
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    L = round(args.atom_length * rate)
    cdl = ConvolutionalDictionaryLearning(args.atoms, L, alpha_scale=args.alpha_scale,
                                          rank1=True, max_iter=args.max_iter,
                                          random_state=args.seed, sample_rate=rate)
    cdl.fit(x)
    Z = np.asarray(cdl.transform(x))
    rec = np.asarray(reconstruct(Z, cdl.components_))
    snr = 10 * np.log10(np.sum(x ** 2) / np.sum((x - rec) ** 2))
    nnz = int(np.count_nonzero(Z))
    print(f"EEG 4 x {x.shape[1]} at {rate} Hz, {args.atoms} rank-1 atoms of {L} samples: "
          f"SNR {snr:.1f} dB, {nnz / (x.shape[1] / rate):.1f} activations/s, "
          f"{cdl.n_iter_} iterations")
    D = np.asarray(cdl.components_)
    fig = new_figure(figsize=(10, 2.2 * args.atoms), layout="constrained")
    axes = fig.subplots(args.atoms, 3, gridspec_kw={"width_ratios": [2, 1, 4]}, squeeze=False)
    t_atom = np.arange(L) / rate
    t = np.arange(Z.shape[-1]) / rate
    for k in range(args.atoms):
        u, s_, vt = np.linalg.svd(D[k], full_matrices=False)
        sign = np.sign(u[np.argmax(np.abs(u[:, 0])), 0])
        axes[k, 0].plot(t_atom, sign * s_[0] * vt[0])
        axes[k, 0].set_title(f"atom {k}: waveform", fontsize=8)
        axes[k, 1].bar(range(D.shape[1]), sign * u[:, 0])
        axes[k, 1].set_title("spatial pattern", fontsize=8)
        axes[k, 1].set_xticks(range(D.shape[1]))
        axes[k, 2].stem(t, Z[k], markerfmt=" ", basefmt=" ")
        axes[k, 2].set_title("activations", fontsize=8)
    axes[-1, 0].set_xlabel("s")
    axes[-1, 1].set_xlabel("channel")
    axes[-1, 2].set_xlabel("time (s)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"saved {args.out}")
    return {"snr_db": float(snr), "nnz": nnz, "path": args.out}


if __name__ == "__main__":
    main()
