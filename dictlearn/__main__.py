"""Command line: ``dictlearn demo``, ``dictlearn decompose INPUT.wav --out DIR`` and
``dictlearn bench ...`` (also ``python -m dictlearn ...``).

Each command is a row of :data:`COMMANDS` (its arguments and its run function) and calls the
library's public functions only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(n_samples=args.n_samples, seed=args.seed)


def _decompose_args(p: argparse.ArgumentParser) -> None:
    from .signal.decompose import DECOMPOSE_METHODS

    p.add_argument("input", help="a WAV file (8-bit unsigned, 16/24/32-bit int or float32)")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--atoms", type=int, default=16, help="number of atoms to learn (16)")
    p.add_argument("--atom-length", type=float, default=0.02,
                   help="atom duration in seconds (0.02)")
    p.add_argument("--method", choices=sorted(DECOMPOSE_METHODS), default="cbpdn",
                   help="cbpdn/fista/lgcd: convolutional lasso; mp/omp: convolutional matching "
                        "pursuit; frames: overlapping frames on a frame dictionary (cbpdn)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--alpha", type=float, default=None,
                        help="lasso penalty as a fraction of alpha_max (0.1)")
    budget.add_argument("--nnz-per-second", type=float, default=None,
                        help="nonzero activations per second instead of --alpha")
    p.add_argument("--dictionary", default=None,
                   help="reuse a dictionary saved by an earlier run (DIR/dictionary.npz)")
    p.add_argument("--resample", action="store_true",
                   help="resample the input to the dictionary's sample rate when they differ")
    p.add_argument("--train-seconds", type=float, default=8.0,
                   help="at most this much of the recording trains the atoms (8)")
    p.add_argument("--max-iter", type=int, default=30, help="learning iterations (30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _decompose(args: argparse.Namespace) -> int:
    import json

    from .signal import (
        ConvolutionalDictionaryLearning,
        FrameDecomposition,
        decompose,
        read_wav,
        resample,
        write_decomposition,
    )

    x, rate = read_wav(args.input)
    dictionary = None
    if args.dictionary is not None:
        cls = FrameDecomposition if args.method == "frames" else ConvolutionalDictionaryLearning
        dictionary = cls.load(args.dictionary)
        learned = getattr(dictionary, "sample_rate", None)
        if learned is not None and int(learned) != rate:
            if not args.resample:
                raise ValueError(
                    f"the dictionary {args.dictionary} was learned at {learned} Hz but "
                    f"{args.input} is {rate} Hz; pass --resample to resample the input to "
                    f"{learned} Hz")
            x, rate = resample(x, rate, int(learned)), int(learned)
    result = decompose(
        x, rate, n_atoms=args.atoms, atom_length_s=args.atom_length, method=args.method,
        alpha=args.alpha, nnz_per_second=args.nnz_per_second, dictionary=dictionary,
        train_seconds=args.train_seconds, max_iter=args.max_iter, random_state=args.seed,
        verbose=not args.quiet)
    files = write_decomposition(result, args.out, signal=x,
                                model=result.model if args.dictionary is None else None)
    print(json.dumps(result.summary, indent=2))
    print("wrote " + ", ".join(str(f) for f in files))
    return 0


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("rest", nargs=argparse.REMAINDER)


def _bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main

    return bench_main(args.rest, prog="dictlearn bench")


def _compile_args(p: argparse.ArgumentParser) -> None:
    from .kernels.warmup import WARMUPS

    p.add_argument("--kernels", nargs="+", choices=sorted(WARMUPS), default=None,
                   help="kernel groups to compile (default: all)")
    p.add_argument("--dtypes", nargs="+", choices=["float64", "float32"],
                   default=["float64", "float32"])


def _compile(args: argparse.Namespace) -> int:
    from .kernels.warmup import warm_up

    def report(kernel: str, dtype: str, seconds: float) -> None:
        print(f"{kernel:8} {dtype:8} {seconds:7.2f} s", flush=True)

    print("compiling the numba kernels into numba's on-disk cache (once per environment)")
    times = warm_up(args.kernels, args.dtypes, report=report)
    print(f"done in {sum(times.values()):.1f} s")
    return 0


#: Command → (help, add_arguments, run).
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": ("encode synthetic sparse signals, side by side", _demo_args, _demo),
    "decompose": ("decompose a WAV recording into shift-invariant atoms", _decompose_args,
                  _decompose),
    "bench": ("benchmarks: dictlearn bench {encode,csc,...} --help", _bench_args, _bench),
    "compile": ("compile the numba kernels ahead of their first use (cached on disk)",
                _compile_args, _compile),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":  # the bench has its own parser
        return _bench(argparse.Namespace(rest=argv[1:]))
    parser = argparse.ArgumentParser(prog="dictlearn", description="dictlearn command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, add_arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        add_arguments(p)
        p.set_defaults(_run=run)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        if args.command != "decompose":
            raise
        print(f"dictlearn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
