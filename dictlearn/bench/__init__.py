"""Side-by-side benchmarks against scikit-learn and SPAMS.

Run ``python -m dictlearn.bench encode`` (or ``dictlearn bench encode``). Each sub-command
lives in its own module and registers itself in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "add_options", "main"]

#: Sub-command name → (module path, help). Modules define ``add_arguments(parser)`` and
#: ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "encode": ("dictlearn.bench.encode", "sparse coding on the standard problem"),
    "sweep": ("dictlearn.bench.sweep", "encoding time against n_samples, n_atoms and dtype"),
    "learn": ("dictlearn.bench.learn", "online dictionary learning on natural-image patches"),
    "amortized": ("dictlearn.bench.amortized", "LISTA and autoencoders against ISTA/FISTA/OMP"),
    "decompose": ("dictlearn.bench.decompose", "dictlearn decompose on 10 s of 16 kHz audio"),
    "csc": ("dictlearn.bench.csc", "convolutional sparse coding and CDL against SPORCO, alphacsc"),
    "gpu": ("dictlearn.bench.gpu", "lasso, OMP, online learning and LISTA on CuPy against SPAMS "
            "on the CPU"),
    "anomaly": ("dictlearn.bench.anomaly", "outliers from sparse codes against IsolationForest, "
                "LOF and PCA (ROC AUC)"),
    "dask": ("dictlearn.bench.workers", "coding, MOD and K-SVD on a Dask array: time against the "
             "number of workers (needs the dask extra)"),
}


def add_options(p: argparse.ArgumentParser, **options: object) -> None:
    """Options ``--name`` (``_`` written ``-``) typed by their default; a value
    ``(default, help)`` adds a help text."""
    for name, value in options.items():
        default, help_ = value if isinstance(value, tuple) else (value, None)
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                       help=help_)


def build_parser(prog: str = "python -m dictlearn.bench") -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m dictlearn.bench") -> int:
    args = build_parser(prog).parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args._run
    return int(run(args) or 0)
