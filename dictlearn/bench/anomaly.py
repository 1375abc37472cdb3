"""``python -m dictlearn.bench anomaly``: outliers found from sparse codes, side by side.

Two problems, each with the same detectors fitted on normal data only and scored by ROC AUC on
held-out normal samples mixed with anomalies:

- **digits**: scikit-learn's 8x8 digits scaled to [0, 1]; for each class ``c`` the other nine
  classes are normal (70% of them train, 30% test) and every image of ``c`` is an anomaly.
- **patches**: 8x8 patches of the photographs of :func:`dictlearn.datasets.natural_images`
  (pixel values in [0, 1]), each patch's mean removed and all divided by the training set's
  pixel standard deviation; the test patches are clean ones and, per corruption, as many
  corrupted ones: ``impulse`` (2 pixels set to 0 or 1), ``noise`` (Gaussian, std 0.05),
  ``scratch`` (one row or column set to 1) and ``blur`` (a 3x3 box filter).

Detectors: :class:`~dictlearn.anomaly.SparseOutlierDetector` on an online-learned lasso
dictionary (``--n-atoms`` atoms, ``alpha``) with its default rule and with one statistic at a
time (residual; code size = l0 and l1; rarity), the same on a top-k
:class:`~dictlearn.SparseAutoencoder` (``k = --sae-k``), and scikit-learn's
``IsolationForest``, ``LocalOutlierFactor(novelty=True)`` and a PCA reconstruction error
(components for 90% of the variance).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._report import format_table
from . import add_options

__all__ = ["add_arguments", "corrupt", "run"]

CORRUPTIONS = ("impulse", "noise", "scratch", "blur")
_ABLATIONS = {"": None, " [residual]": {"residual": 1.0}, " [code size]": {"l0": 1.0, "l1": 1.0},
              " [rarity]": {"rarity": 1.0}}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, n_atoms=(128, "atoms of the lasso dictionary and latents of the SAE"),
                digits_alpha=(0.1, "lasso weight on the digits"),
                patch_alpha=(1.0, "lasso weight on the standardised patches"),
                steps=(300, "mini-batch steps of the online learner"),
                sae_k=(8, "active latents of the top-k autoencoder"),
                sae_epochs=30, n_patches=(6000, "training patches"),
                n_test_patches=(1000, "clean test patches (and as many per corruption)"))
    p.add_argument("--classes", type=int, nargs="*", default=list(range(10)),
                   help="digit classes taken in turn as the anomaly")
    add_options(p, seed=0)
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds; for tests)")


def corrupt(P: np.ndarray, kind: str, rng: np.random.Generator, side: int) -> np.ndarray:
    """A corrupted copy of raw patches ``P`` (n, side²) with pixel values in [0, 1]."""
    Q = P.reshape(-1, side, side).copy()
    n = Q.shape[0]
    if kind == "impulse":
        for i in range(n):
            r, c = rng.integers(0, side, 2), rng.integers(0, side, 2)
            Q[i, r, c] = rng.integers(0, 2, 2)
    elif kind == "noise":
        Q += 0.05 * rng.standard_normal(Q.shape)
    elif kind == "scratch":
        for i in range(n):
            j = rng.integers(side)
            if rng.random() < 0.5:
                Q[i, j, :] = 1.0
            else:
                Q[i, :, j] = 1.0
    elif kind == "blur":
        pad = np.pad(Q, ((0, 0), (1, 1), (1, 1)), mode="edge")
        Q = sum(pad[:, a:a + side, b:b + side] for a in range(3) for b in range(3)) / 9.0
    else:
        raise ValueError(f"kind must be one of {CORRUPTIONS}; got {kind!r}")
    return Q.reshape(n, side * side)


def _detectors(args: argparse.Namespace, alpha: float) -> dict[str, Callable[[], Any]]:
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    from ..amortized import SparseAutoencoder
    from ..anomaly import SparseOutlierDetector
    from ..learning import DictionaryLearning

    s = args.seed
    return {
        "sparse lasso": lambda: SparseOutlierDetector(
            DictionaryLearning(args.n_atoms, alpha=alpha, max_iter=args.steps, batch_size=64),
            random_state=s),
        "sparse top-k SAE": lambda: SparseOutlierDetector(
            SparseAutoencoder(args.n_atoms, sparsity="topk", k=args.sae_k,
                              unit_norm_decoder=True, learning_rate=3e-3,
                              max_epochs=args.sae_epochs), random_state=s),
        "IsolationForest": lambda: IsolationForest(random_state=s),
        "LocalOutlierFactor": lambda: LocalOutlierFactor(novelty=True),
        "PCA residual": lambda: _PCAResidual(PCA(0.9, random_state=s)),
    }


class _PCAResidual:
    """Score = minus the squared PCA reconstruction error (the classical baseline)."""

    def __init__(self, pca: Any) -> None:
        self.pca = pca

    def fit(self, X: np.ndarray) -> _PCAResidual:
        self.pca.fit(X)
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        R = X - self.pca.inverse_transform(self.pca.transform(X))
        return -np.sum(R * R, axis=1)


def _aucs(detectors: dict[str, Callable[[], Any]], train: np.ndarray,
          tests: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict[str, dict], dict]:
    """AUC of every detector (and of each statistic of the sparse ones) on every test set."""
    from sklearn.metrics import roc_auc_score

    out: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    for name, make in detectors.items():
        t0 = time.perf_counter()
        det = make().fit(train)
        seconds[name] = time.perf_counter() - t0
        variants = _ABLATIONS if name.startswith("sparse") else {"": None}
        for suffix, w in variants.items():
            if name.startswith("sparse"):
                det.set_params(weights=w)  # centres and scales do not depend on the weights
            row = out.setdefault(name + suffix, {})
            for test, (X, y) in tests.items():
                row[test] = float(roc_auc_score(y, -np.asarray(det.score_samples(X))))
    return out, seconds


def _digits(args: argparse.Namespace, rng: np.random.Generator) -> tuple[list, dict]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data / 16.0, d.target
    per_class: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    for c in args.classes:
        idx = np.flatnonzero(y != c)
        rng.shuffle(idx)
        n_tr = int(0.7 * idx.size)
        tr, te, odd = idx[:n_tr], idx[n_tr:], np.flatnonzero(y == c)
        test = (np.vstack([X[te], X[odd]]), np.r_[np.zeros(te.size), np.ones(odd.size)])
        aucs, secs = _aucs(_detectors(args, args.digits_alpha), X[tr], {f"{c}": test})
        for name, row in aucs.items():
            per_class.setdefault(name, {}).update(row)
        for name, t in secs.items():
            seconds[name] = seconds.get(name, 0.0) + t
    rows = [{"detector": name, **{f"digit {k}": v for k, v in row.items()},
             "mean": float(np.mean(list(row.values())))} for name, row in per_class.items()]
    return rows, seconds


def _patches(args: argparse.Namespace, rng: np.random.Generator) -> tuple[list, dict]:
    from ..datasets import image_patches, natural_images

    side = 8
    raw = image_patches(natural_images(), side, args.n_patches + 2 * args.n_test_patches,
                        random_state=rng)
    train_raw = raw[:args.n_patches]
    std = float((train_raw - train_raw.mean(axis=1, keepdims=True)).std())

    def prep(P: np.ndarray) -> np.ndarray:
        return (P - P.mean(axis=1, keepdims=True)) / std

    clean = raw[args.n_patches:args.n_patches + args.n_test_patches]
    pool = raw[args.n_patches + args.n_test_patches:]
    tests = {}
    for kind in CORRUPTIONS:
        bad = corrupt(pool, kind, rng, side)
        tests[kind] = (prep(np.vstack([clean, bad])),
                       np.r_[np.zeros(len(clean)), np.ones(len(bad))])
    aucs, seconds = _aucs(_detectors(args, args.patch_alpha), prep(train_raw), tests)
    rows = [{"detector": name, **row, "mean": float(np.mean(list(row.values())))}
            for name, row in aucs.items()]
    return rows, seconds


def run(args: argparse.Namespace) -> int:
    if args.quick:
        args.classes, args.steps, args.sae_epochs = args.classes[:2], 30, 3
        args.n_atoms, args.n_patches, args.n_test_patches = 32, 400, 80
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    digit_rows, digit_s = _digits(args, rng)
    print(f"digits: one class as anomalies, the nine others normal (70% train / 30% test); "
          f"ROC AUC ({args.n_atoms} atoms, alpha={args.digits_alpha:g}, SAE k={args.sae_k})")
    cols = ["detector", *(f"digit {c}" for c in args.classes), "mean"]
    print(format_table(digit_rows, cols))
    patch_rows, patch_s = _patches(args, rng)
    print(f"\npatches: 8x8 natural-image patches, {args.n_patches} clean for training; "
          f"{args.n_test_patches} clean + {args.n_test_patches} corrupted per column; ROC AUC "
          f"(alpha={args.patch_alpha:g})")
    print(format_table(patch_rows, ["detector", *CORRUPTIONS, "mean"]))
    print("\nfit time (s), all digit classes + patches: " + ", ".join(
        f"{k} {digit_s[k] + patch_s[k]:.1f}" for k in digit_s))
    print(f"total {time.perf_counter() - t0:.1f} s")
    aucs = [r["mean"] for r in digit_rows + patch_rows]
    return 0 if np.all(np.isfinite(aucs)) else 1
