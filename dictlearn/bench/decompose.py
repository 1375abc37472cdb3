"""``python -m dictlearn.bench decompose``: the time of ``dictlearn decompose`` on a sound.

The issue's target case by default: 10 s of 16 kHz mono audio (``make_sound``: plucks, clicks
and chirps), 32 atoms of 32 ms. Times ``decompose`` end to end (learning on the loudest windows,
then block-wise coding) and coding alone with the learned atoms given, median of ``--repeat``
runs after one warm-up run (numba compilation), with the SNR and density reached.
"""

from __future__ import annotations

import argparse

from .._report import format_table, median_time
from . import add_options

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, seconds=(10.0, "signal length (s)"), sample_rate=16000, atoms=32,
                atom_length=(0.032, "atom length (s)"), method="cbpdn", repeat=3, seed=0)
    p.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")


def run(args: argparse.Namespace) -> int:
    from ..signal import decompose, make_sound

    if args.quick:
        args.seconds, args.sample_rate, args.atoms, args.atom_length, args.repeat = (
            1.0, 8000, 4, 0.01, 1)
    sound = make_sound(args.seconds, args.sample_rate, random_state=args.seed)
    kw = {"method": args.method, "random_state": args.seed}

    t_full, full = median_time(
        lambda: decompose(sound.x, sound.sample_rate, n_atoms=args.atoms,
                          atom_length_s=args.atom_length, **kw),
        repeat=args.repeat, warmup=1)  # the warm-up run compiles the numba kernels
    t_code, coded = median_time(
        lambda: decompose(sound.x, sound.sample_rate, dictionary=full.atoms, **kw),
        repeat=args.repeat)
    rows = [{"run": name, "time_s": t, "snr_db": d.summary["snr_db"],
             "nnz_per_second": d.summary["nnz_per_second"]}
            for name, t, d in (("decompose (learn + code)", t_full, full),
                               ("coding with the learned atoms", t_code, coded))]
    print(f"{args.seconds:g} s at {args.sample_rate} Hz, {args.atoms} atoms of "
          f"{args.atom_length * 1e3:g} ms, method {args.method}, median of {args.repeat}")
    print(format_table(rows, ["run", "time_s", "snr_db", "nnz_per_second"]))
    return 0
