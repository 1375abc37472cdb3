"""Amortized against iterative inference on one dictionary, one loss and one set of metrics.

:func:`compare_inference` runs registered coding methods (the iterative ones such as ISTA and
FISTA for 1..N iterations, the greedy ones such as OMP at their sparsity), every LISTA network
at 1..K layers and every autoencoder, on the same signals, and returns one table: NMSE in dB
against the true codes (when known), reconstruction NMSE, mean lasso objective, mean L0,
support F1, wall-clock time per sample and whether the error still falls with more steps;
with ``batch_sizes``, a second table of error against time per signal at each batch size.

Timing: every entry is run once untimed first (numba compilation, caches), then ``repeat``
times, the step counts of one method interleaved so that a change of load hits all of them,
each timed run lasting at least :data:`MIN_RUN_S` (short calls are looped); the median is
reported. Every metric is computed in float64 where ``X`` lives (its array library and device);
only scalars come back to the host.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._report import format_table
from .._validation import as_array, check_nonneg_scalar, check_positive_int
from .._xp import device_of, get_namespace, to_namespace
from ..coding import SPECS, MethodSpec, sparse_encode
from ..metrics import support_recovery
from ..objectives import sample_objective
from .autoencoder import SparseAutoencoder
from .lista import LISTA

__all__ = ["AMORTIZED", "COLUMNS", "TIMING_COLUMNS", "AmortizedSpec", "ComparisonTable",
           "compare_inference"]

COLUMNS = ("method", "family", "steps", "nmse_db", "recon_nmse_db", "objective", "l0",
           "support_f1", "time_per_sample_s", "improving")
TIMING_COLUMNS = ("method", "steps", "batch_size", "nmse_db", "recon_nmse_db",
                  "time_per_sample_s")

#: Shortest timed run (s): calls shorter than this are repeated in a loop and averaged.
MIN_RUN_S = 0.02
#: A row is ``improving`` when its error is below the previous step count's by this (dB).
IMPROVING_DB = 0.05


@dataclass
class ComparisonTable:
    """Rows of :func:`compare_inference`, one per (method, steps).

    Attributes
    ----------
    rows : list of dict
        Keys in :data:`COLUMNS`; ``nan`` where a metric does not apply. ``improving`` is
        ``"yes"`` when the row's error (code NMSE, else reconstruction NMSE) is below the
        previous step count's by more than :data:`IMPROVING_DB`, ``"no"`` otherwise, ``""``
        for a method's first (or only) row: at a method's last row it says whether more
        steps would still help.
    timings : list of dict
        Keys in :data:`TIMING_COLUMNS`: each method at its largest step count, timed on
        batches of each of ``batch_sizes`` signals (empty without ``batch_sizes``).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)

    def methods(self) -> list[str]:
        """Method names in order of first appearance."""
        return list(dict.fromkeys(r["method"] for r in self.rows))

    def select(self, method: str) -> list[dict[str, Any]]:
        """The rows of one method, by increasing steps."""
        return sorted((r for r in self.rows if r["method"] == method), key=lambda r: r["steps"])

    def to_string(self) -> str:
        return format_table(self.rows, COLUMNS)

    def timings_string(self) -> str:
        """The error-against-time table at each batch size (see ``batch_sizes``)."""
        return format_table(self.timings, TIMING_COLUMNS)

    def __str__(self) -> str:
        return self.to_string()


def _db(num: float, den: float) -> float:
    if den == 0:
        return math.nan
    return -math.inf if num == 0 else 10.0 * math.log10(num / den)


def _row(name, family, steps, Z, X, D, alpha, Z_true, t, n, offset=None, codes_comparable=True):
    xp = get_namespace(X)
    Z = xp.astype(to_namespace(Z, xp, X), xp.float64)
    Xc = X if offset is None else X - offset
    ZD = Z @ D
    R = Xc - ZD
    obj = float(xp.mean(sample_objective(Xc, D, Z, alpha=alpha, xp=xp, ZD=ZD)))
    row = {"method": name, "family": family, "steps": int(steps),
           "recon_nmse_db": _db(float(xp.sum(R * R)), float(xp.sum(Xc * Xc))),
           "objective": obj,
           "l0": float(xp.mean(xp.sum(xp.astype(Z != 0, xp.float64), axis=1))),
           "time_per_sample_s": t / n, "nmse_db": math.nan, "support_f1": math.nan}
    if Z_true is not None and codes_comparable:
        E = Z - Z_true
        row["nmse_db"] = _db(float(xp.sum(E * E)), float(xp.sum(Z_true * Z_true)))
        row["support_f1"] = support_recovery(Z, Z_true)["f1"]
    return row


@dataclass(frozen=True)
class AmortizedSpec:
    """How :func:`compare_inference` evaluates one kind of amortized model.

    Any such model also exposes its decoder as ``components_`` (n_atoms, n_features) and
    ``inverse_transform(codes)`` (``Z D + b``; the offset ``b`` is read at ``Z = 0``).

    Attributes
    ----------
    family : str
        The table's ``family`` column.
    label : callable
        ``label(model) -> str``, the default row name.
    steps : callable
        ``steps(model) -> range`` of depths to evaluate.
    encode : callable
        ``encode(model, X, k) -> codes`` at depth ``k``.
    """

    family: str
    label: Callable[[Any], str]
    steps: Callable[[Any], range]
    encode: Callable[[Any, Any, int], Any]


#: Model class → :class:`AmortizedSpec` (looked up along the class's MRO).
AMORTIZED: dict[type, AmortizedSpec] = {
    LISTA: AmortizedSpec("lista", lambda o: f"lista-{o.variant}",
                         lambda o: range(1, o.n_layers + 1),
                         lambda o, X, k: o.transform(X, n_layers=k)),
    SparseAutoencoder: AmortizedSpec("autoencoder", lambda o: f"sae-{o.sparsity}",
                                     lambda o: range(1, 2), lambda o, X, k: o.transform(X)),
}


def _amortized_spec(obj: Any) -> AmortizedSpec | None:
    return next((AMORTIZED[c] for c in type(obj).__mro__ if c in AMORTIZED), None)


def _decoder(obj: Any, D: Any) -> tuple[Any, Any, bool]:
    """The model's decoder ``(atoms, offset, same)``: the given ``D`` (float64, where ``X``
    is) when its atoms are ``D`` (``same``), else its own, moved next to ``D``."""
    xp = get_namespace(D)
    Dd = to_namespace(obj.components_, xp, D)
    zero = xp.zeros((1, Dd.shape[0]), dtype=D.dtype, device=device_of(D))
    b = to_namespace(obj.inverse_transform(zero), xp, D)[0, :]
    same = tuple(Dd.shape) == tuple(D.shape) and bool(
        xp.all(xp.abs(Dd - D) <= 1e-8 + 1e-5 * xp.abs(D)))
    return (D if same else Dd), (b if bool(xp.any(b != 0)) else None), same


def _sync(out: Any) -> Any:
    """Wait for ``out`` (codes or a result holding them): one scalar read, so that the timing
    of an asynchronous library (CuPy) covers the computation, not only its launch."""
    Z = getattr(out, "codes", out)
    if getattr(Z, "ndim", 0) == 2 and Z.shape[0] and Z.shape[1]:
        float(Z[0, 0])
    return out


def _timed(fns: Sequence[Callable[[], Any]], repeat: int) -> list[tuple[float, Any]]:
    """``(median seconds, last result)`` of each of ``fns``: one untimed warm-up call each,
    then ``repeat`` rounds over all of them (interleaved), each call looped to last at least
    :data:`MIN_RUN_S`."""
    outs = [_sync(fn()) for fn in fns]  # warm-up: compilation (numba), caches, first calls
    loops = []
    for fn in fns:
        t0 = time.perf_counter()
        _sync(fn())
        loops.append(max(1, min(1000, math.ceil(MIN_RUN_S / max(time.perf_counter() - t0,
                                                                  1e-9)))))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(loops[i]):
                outs[i] = fn()
            _sync(outs[i])
            times[i].append((time.perf_counter() - t0) / loops[i])
    return [(statistics.median(t), o) for t, o in zip(times, outs, strict=True)]


def _coder(name: str, spec: MethodSpec, dictionary: Any, budget: Any, steps: list[int]):
    """``[(steps, encode(X) -> codes)]`` of a registered method: at every step count when
    iterative, at its sparsity when greedy, else once to convergence (``steps`` 0: filled in
    from ``n_iter``)."""
    opts = {spec.budget: budget}

    def run(X, **extra):
        return sparse_encode(X, dictionary, method=name, return_result=True, **opts, **extra)

    if spec.iterative:
        return [(k, lambda X, k=k: run(X, max_iter=k, tol=0.0)) for k in steps]
    return [(budget if spec.greedy else 0, run)]


def _mark_improving(rows: list[dict[str, Any]]) -> None:
    metric = "nmse_db" if all(math.isfinite(r["nmse_db"]) for r in rows) else "recon_nmse_db"
    prev = None
    for r in sorted(rows, key=lambda r: r["steps"]):
        r["improving"] = "" if prev is None else (
            "yes" if r[metric] < prev - IMPROVING_DB else "no")
        prev = r[metric]


def _batch(X: Any, b: int) -> Any:
    """The first ``b`` rows of ``X`` (``X`` repeated when it has fewer)."""
    n = int(X.shape[0])
    if b <= n:
        return X[:b, ...]
    return get_namespace(X).concat([X] * math.ceil(b / n), axis=0)[:b, ...]


def _steps(iterations: int | Iterable[int]) -> list[int]:
    if isinstance(iterations, (int, np.integer)):
        return list(range(1, check_positive_int(iterations, "iterations") + 1))
    out = sorted({check_positive_int(int(i), "iterations") for i in iterations})
    if not out:
        raise ValueError("iterations must name at least one iteration count")
    return out


def compare_inference(X: Any, dictionary: Any, methods: Sequence[Any] = ("ista", "fista", "omp"), *,
                      alpha: float = 0.1, Z_true: Any = None, iterations: int | Iterable[int] = 16,
                      n_nonzero_coefs: int | None = None, repeat: int = 3,
                      batch_sizes: Sequence[int] | None = None) -> ComparisonTable:
    """Compare iterative solvers, LISTA networks and autoencoders on the same signals.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Held-out signals.
    dictionary : array of shape (n_atoms, n_features)
    methods : sequence
        Names in :data:`dictlearn.METHODS` (``"ista"``, ``"fista"``, ``"omp"``, ``"lasso"``, …),
        fitted :class:`~dictlearn.LISTA` or :class:`~dictlearn.SparseAutoencoder` objects (any
        class in :data:`AMORTIZED`), or ``(name, object)`` pairs. Methods marked ``iterative``
        in their :class:`~dictlearn.MethodSpec` run for each iteration count, greedy ones at
        ``n_nonzero_coefs``, the others (the exact lasso) once to convergence.
    alpha : float, default=0.1
        l1 weight of the reported lasso objective and of the l1 (and Cauchy) methods.
    Z_true : array of shape (n_samples, n_atoms), optional
        True codes: enables the code NMSE and the support F1.
    iterations : int or iterable of int, default=16
        Iteration counts of the iterative methods (``N`` means 1..N); LISTA is evaluated at
        1..K layers.
    n_nonzero_coefs : int, optional
        Sparsity of the l0 methods (OMP, IHT; default: the rounded mean support size of
        ``Z_true``, else 5).
    repeat : int, default=3
        Timed runs per entry, after one untimed warm-up run (median reported; see the module
        docstring).
    batch_sizes : sequence of int, optional
        Also time each method at its largest step count on batches of these many signals
        (the first rows of ``X``, repeated when it has fewer): ``ComparisonTable.timings``,
        error against time per signal, shows where each method wins at each batch size.

    Returns
    -------
    ComparisonTable

    Notes
    -----
    Amortized rows use the model's own decoder (``components_`` and the offset of
    ``inverse_transform``) for the reconstruction and the objective unless its atoms are the
    given dictionary; their code NMSE is reported only when they are.

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
    X, dictionary = as_array(X, "X"), as_array(dictionary, "dictionary")
    xp = get_namespace(X)
    Xn = xp.astype(X, xp.float64)  # the metrics' copy, in float64, where X is
    D = to_namespace(dictionary, xp, Xn)
    if D.ndim != 2 or Xn.ndim != 2 or Xn.shape[1] != D.shape[1]:
        raise ValueError(f"X (n_samples, n_features) and dictionary (n_atoms, n_features) must "
                         f"share n_features; got {tuple(Xn.shape)} and {tuple(D.shape)}")
    T = None if Z_true is None else to_namespace(as_array(Z_true, "Z_true"), xp, Xn)
    if T is not None and tuple(T.shape) != (Xn.shape[0], D.shape[0]):
        raise ValueError(f"Z_true must have shape {(Xn.shape[0], D.shape[0])}; "
                         f"got {tuple(T.shape)}")
    n = int(Xn.shape[0])
    steps = _steps(iterations)
    sparsity = n_nonzero_coefs or (
        max(1, round(float(xp.mean(xp.sum(xp.astype(T != 0, xp.float64), axis=1)))))
        if T is not None else 5)
    table = ComparisonTable()
    sizes = [] if batch_sizes is None else [check_positive_int(b, "batch_sizes")
                                            for b in batch_sizes]
    batches = {b: _batch(X, b) for b in sizes}
    for entry in methods:
        name, obj = entry if isinstance(entry, tuple) else (None, entry)
        amortized = None if isinstance(obj, str) else _amortized_spec(obj)
        if isinstance(obj, str):
            spec = SPECS.get(obj)
            if spec is None:
                raise ValueError(f"unknown method {obj!r}: use a name in dictlearn.METHODS "
                                 f"({sorted(SPECS)}), a fitted LISTA or SparseAutoencoder")
            budget = sparsity if spec.budget == "n_nonzero_coefs" else alpha
            coders = _coder(obj, spec, dictionary, budget, steps)
            label, family, decoder = name or obj, "iterative", (D, None, True)
        elif amortized is not None:
            coders = [(k, lambda X, k=k, o=obj, a=amortized: a.encode(o, X, k))
                      for k in amortized.steps(obj)]
            label, family, decoder = name or amortized.label(obj), amortized.family, \
                _decoder(obj, D)
        else:
            raise TypeError(f"methods entries must be strings, fitted LISTA or "
                            f"SparseAutoencoder objects; got {type(obj).__name__}")
        rows = []
        timed = _timed([lambda c=c: c(X) for _, c in coders], repeat)
        for (k, _), (t, out) in zip(coders, timed, strict=True):
            Z = getattr(out, "codes", out)
            k = k or int(getattr(out, "n_iter", 1))
            rows.append(_row(label, family, k, Z, Xn, decoder[0], alpha, T, t, n,
                             offset=decoder[1], codes_comparable=decoder[2]))
        _mark_improving(rows)
        table.rows.extend(rows)
        last = max(rows, key=lambda r: r["steps"])
        code = coders[-1][1]
        for b, (t, _) in zip(sizes, _timed([lambda Xb=batches[b], c=code: c(Xb) for b in sizes],
                                             repeat), strict=True):
            table.timings.append({"method": label, "steps": last["steps"], "batch_size": b,
                                  "nmse_db": last["nmse_db"],
                                  "recon_nmse_db": last["recon_nmse_db"],
                                  "time_per_sample_s": t / b})
    return table
