"""Amortized against iterative inference on one dictionary, one loss and one set of metrics.

:func:`compare_inference` runs ISTA and FISTA for 1..N iterations, OMP (when registered),
every LISTA network at 1..K layers and every autoencoder, on the same signals, and returns
one table: NMSE in dB against the true codes (when known), reconstruction NMSE, mean lasso
objective, mean L0, support F1 and wall-clock time per sample.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_nonneg_scalar, check_positive_int
from .._xp import to_numpy
from ..coding import METHODS, sparse_encode
from ..metrics import support_recovery
from ..objectives import sample_objective
from .autoencoder import SparseAutoencoder
from .lista import LISTA

__all__ = ["COLUMNS", "ComparisonTable", "compare_inference"]

COLUMNS = ("method", "family", "steps", "nmse_db", "recon_nmse_db", "objective", "l0",
           "support_f1", "time_per_sample_s")


@dataclass
class ComparisonTable:
    """Rows of :func:`compare_inference`, one per (method, steps).

    Attributes
    ----------
    rows : list of dict
        Keys in :data:`COLUMNS`; ``nan`` where a metric does not apply.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)

    def methods(self) -> list[str]:
        """Method names in order of first appearance."""
        return list(dict.fromkeys(r["method"] for r in self.rows))

    def select(self, method: str) -> list[dict[str, Any]]:
        """The rows of one method, by increasing steps."""
        return sorted((r for r in self.rows if r["method"] == method), key=lambda r: r["steps"])

    def to_string(self) -> str:
        from ..bench._common import format_table

        return format_table(self.rows, COLUMNS)

    def __str__(self) -> str:
        return self.to_string()


def _timed(fn, repeat: int):
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _db(num: float, den: float) -> float:
    if den == 0:
        return math.nan
    return -math.inf if num == 0 else 10.0 * math.log10(num / den)


def _row(name, family, steps, Z, X, D, alpha, Z_true, t, n, offset=None, codes_comparable=True):
    Z = np.asarray(to_numpy(Z), dtype=np.float64)
    Xc = X if offset is None else X - offset
    ZD = Z @ D
    R = Xc - ZD
    obj = float(np.mean(sample_objective(Xc, D, Z, alpha=alpha, xp=np, ZD=ZD)))
    row = {"method": name, "family": family, "steps": int(steps),
           "recon_nmse_db": _db(float(np.sum(R * R)), float(np.sum(Xc * Xc))),
           "objective": obj, "l0": float(np.mean(np.sum(Z != 0, axis=1))),
           "time_per_sample_s": t / n, "nmse_db": math.nan, "support_f1": math.nan}
    if Z_true is not None and codes_comparable:
        E = Z - Z_true
        row["nmse_db"] = _db(float(np.sum(E * E)), float(np.sum(Z_true * Z_true)))
        row["support_f1"] = support_recovery(Z, Z_true)["f1"]
    return row


def _steps(iterations: int | Iterable[int]) -> list[int]:
    if isinstance(iterations, (int, np.integer)):
        return list(range(1, check_positive_int(iterations, "iterations") + 1))
    out = sorted({check_positive_int(int(i), "iterations") for i in iterations})
    if not out:
        raise ValueError("iterations must name at least one iteration count")
    return out


def compare_inference(
    X: Any,
    dictionary: Any,
    methods: Sequence[Any] = ("ista", "fista", "omp"),
    *,
    alpha: float = 0.1,
    Z_true: Any = None,
    iterations: int | Iterable[int] = 16,
    n_nonzero_coefs: int | None = None,
    repeat: int = 1,
) -> ComparisonTable:
    """Compare iterative solvers, LISTA networks and autoencoders on the same signals.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Held-out signals.
    dictionary : array of shape (n_atoms, n_features)
    methods : sequence
        ``"ista"``, ``"fista"``, ``"omp"`` (skipped when no OMP is registered in
        :data:`dictlearn.METHODS`), fitted :class:`~dictlearn.LISTA` or
        :class:`~dictlearn.SparseAutoencoder` objects, or ``(name, object)`` pairs.
    alpha : float, default=0.1
        l1 weight of the reported lasso objective and of ISTA/FISTA.
    Z_true : array of shape (n_samples, n_atoms), optional
        True codes: enables the code NMSE and the support F1.
    iterations : int or iterable of int, default=16
        ISTA/FISTA iteration counts (``N`` means 1..N); LISTA is evaluated at 1..K layers.
    n_nonzero_coefs : int, optional
        OMP's sparsity (default: the rounded mean support size of ``Z_true``, else 5).
    repeat : int, default=1
        Timed runs per entry (median reported).

    Returns
    -------
    ComparisonTable

    Notes
    -----
    Autoencoder rows use the autoencoder's own decoder (and bias) for the reconstruction and
    the objective; their code NMSE is reported only when the decoder is the given dictionary.

    Examples
    --------
    >>> import numpy as np, dictlearn
    >>> from dictlearn.datasets import make_sparse_problem
    >>> p = make_sparse_problem(50, 16, 32, 2, random_state=0)
    >>> t = dictlearn.compare_inference(p.X, p.dictionary, ["ista", "fista"], alpha=0.05,
    ...                                 Z_true=p.codes, iterations=[1, 10])
    >>> [(r["method"], r["steps"]) for r in t.rows]
    [('ista', 1), ('ista', 10), ('fista', 1), ('fista', 10)]
    >>> t.select("fista")[1]["nmse_db"] < t.select("ista")[0]["nmse_db"]
    True
    """
    alpha = check_nonneg_scalar(alpha, "alpha")
    repeat = check_positive_int(repeat, "repeat")
    Xn = np.asarray(to_numpy(X), dtype=np.float64)
    D = np.asarray(to_numpy(dictionary), dtype=np.float64)
    if D.ndim != 2 or Xn.ndim != 2 or Xn.shape[1] != D.shape[1]:
        raise ValueError(f"X (n_samples, n_features) and dictionary (n_atoms, n_features) must "
                         f"share n_features; got {Xn.shape} and {D.shape}")
    T = None if Z_true is None else np.asarray(to_numpy(Z_true), dtype=np.float64)
    if T is not None and T.shape != (Xn.shape[0], D.shape[0]):
        raise ValueError(f"Z_true must have shape {(Xn.shape[0], D.shape[0])}; got {T.shape}")
    n = Xn.shape[0]
    steps = _steps(iterations)
    table = ComparisonTable()
    for spec in methods:
        name, obj = spec if isinstance(spec, tuple) else (None, spec)
        if isinstance(obj, str):
            if obj in ("ista", "fista"):
                for k in steps:
                    t, Z = _timed(lambda k=k, m=obj: sparse_encode(
                        X, dictionary, method=m, alpha=alpha, max_iter=k, tol=0.0), repeat)
                    table.rows.append(_row(name or obj, "iterative", k, Z, Xn, D, alpha, T, t, n))
            elif obj == "omp":
                if "omp" not in METHODS:
                    continue
                k = n_nonzero_coefs or (max(1, round(float(np.mean(np.sum(T != 0, axis=1)))))
                                        if T is not None else 5)
                t, Z = _timed(lambda k=k: sparse_encode(X, dictionary, method="omp",
                                                        n_nonzero_coefs=k), repeat)
                table.rows.append(_row(name or "omp", "iterative", k, Z, Xn, D, alpha, T, t, n))
            else:
                raise ValueError(f"unknown method {obj!r}: use 'ista', 'fista', 'omp', a fitted "
                                 "LISTA or SparseAutoencoder")
        elif isinstance(obj, LISTA):
            label = name or f"lista-{obj.variant}"
            for k in range(1, obj.n_layers + 1):
                t, Z = _timed(lambda k=k, o=obj: o.transform(X, n_layers=k), repeat)
                table.rows.append(_row(label, "lista", k, Z, Xn, D, alpha, T, t, n))
        elif isinstance(obj, SparseAutoencoder):
            label = name or f"sae-{obj.sparsity}"
            t, Z = _timed(lambda o=obj: o.transform(X), repeat)
            Dd = np.asarray(to_numpy(obj.components_), dtype=np.float64)
            b = np.asarray(to_numpy(obj.params_["b"]), dtype=np.float64)
            same = Dd.shape == D.shape and np.allclose(Dd, D)
            table.rows.append(_row(label, "autoencoder", 1, Z, Xn, Dd, alpha, T, t, n,
                                   offset=b, codes_comparable=same))
        else:
            raise TypeError(f"methods entries must be strings, fitted LISTA or "
                            f"SparseAutoencoder objects; got {type(obj).__name__}")
    return table
