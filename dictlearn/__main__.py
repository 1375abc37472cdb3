"""Command line: ``python -m dictlearn demo`` and ``python -m dictlearn bench ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        from .bench import main as bench_main

        return bench_main(argv[1:], prog="dictlearn bench")
    parser = argparse.ArgumentParser(prog="dictlearn", description="dictlearn command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="encode synthetic sparse signals, side by side")
    demo.add_argument("--n-samples", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    sub.add_parser("bench", help="benchmarks: dictlearn bench {encode,...} --help")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(n_samples=args.n_samples, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
