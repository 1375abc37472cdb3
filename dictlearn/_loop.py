"""The one iteration driver: :class:`Status`, :class:`Info`, :class:`Result`, the non-finite
rule, the progress display, the status warnings, and the loops built on them: :func:`iterate`
(learning alternations, training epochs) and :func:`run_loop` (per-sample coding)."""

from __future__ import annotations

import enum
import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = ["ConvergenceWarning", "DictlearnWarning", "Info", "NonFiniteWarning", "Progress",
           "Result", "Status", "TrainingDivergedWarning", "finite", "iterate", "run_loop",
           "warn_status"]


class Status(str, enum.Enum):
    """Why an iterative method stopped; ``status.message`` says it in a sentence.

    ``failed`` is True for ``nonfinite`` and ``diverged``: estimators warn once about those.
    :class:`~dictlearn.SparseCoder` also warns about ``max_iter_reached`` (scikit-learn's
    ``ConvergenceWarning`` convention); learners and training treat ``max_iter`` /
    ``max_epochs`` as a budget and do not warn when it is used up.

    Examples
    --------
    >>> from dictlearn import Status
    >>> Status("diverged").failed, Status.converged.value
    (True, 'converged')
    >>> Status.stopped.message
    'the callback returned True and stopped the loop; the current iterate is returned.'
    """

    converged = "converged"
    max_iter_reached = "max_iter_reached"
    nonfinite = "nonfinite"
    diverged = "diverged"
    stopped = "stopped"  # by the callback

    @property
    def message(self) -> str:
        """One sentence: what happened and what to change."""
        return _MESSAGES[self.value]

    @property
    def failed(self) -> bool:
        """True when the result should not be trusted as is (``nonfinite``, ``diverged``)."""
        return self in (Status.nonfinite, Status.diverged)


_MESSAGES = {
    "converged": "the stopping rule held (every sample met the tolerance, the objective stopped "
                 "changing by more than tol, or the monitored loss stopped improving).",
    "max_iter_reached": "the iteration budget (max_iter or max_epochs) ran out before the "
                        "tolerance was met; raise max_iter or loosen tol.",
    "nonfinite": "a NaN or infinity appeared (overflow on badly scaled data or too long a "
                 "step) and the last finite iterate is returned; rescale the data or lower "
                 "the step.",
    "diverged": "the loss became non-finite or exploded and the last good weights are kept; "
                "lower the learning rate or set divergence_retries.",
    "stopped": "the callback returned True and stopped the loop; the current iterate is "
               "returned.",
}


class DictlearnWarning(UserWarning):
    """Base class of the warnings this library issues."""


class ConvergenceWarning(DictlearnWarning):
    """An iterative method stopped before its tolerance held (``max_iter_reached``)."""


class NonFiniteWarning(ConvergenceWarning):
    """A NaN or infinity stopped an iterative method (``nonfinite``)."""


class TrainingDivergedWarning(ConvergenceWarning):
    """Training stopped because the loss diverged (the last good weights were kept)."""


_WARNINGS = {Status.max_iter_reached: ConvergenceWarning, Status.nonfinite: NonFiniteWarning,
             Status.diverged: TrainingDivergedWarning}


def warn_status(owner: str, status: Status, *, detail: str = "", max_iter: bool = False,
                stacklevel: int = 3) -> None:
    """Warn once about ``status`` when it failed (or, with ``max_iter``, ran out of budget)."""
    if status.failed or (max_iter and status is Status.max_iter_reached):
        extra = f" ({detail})" if detail else ""
        warnings.warn(f"{owner}: status_ is {status.value}{extra}: {status.message}",
                      _WARNINGS[status], stacklevel=stacklevel)


def finite(x: Any, *, xp: ModuleType | None = None, axis: int | None = None) -> Any:
    """The non-finite rule's test: is ``x`` (a number or an array) free of NaN and infinity?

    A bool, or with ``axis`` a boolean array (per row with ``axis=1``). ``None`` counts as
    finite (a value that was not computed).
    """
    if x is None:
        return True
    if xp is None or isinstance(x, numbers.Real):
        return math.isfinite(x)
    ok = xp.all(xp.isfinite(x), axis=axis)
    return ok if axis is not None else bool(ok)


class _StateViews:
    """Named views of ``state``, shared by :class:`Info` and :class:`Result`."""

    state: Any

    @property
    def dictionary(self) -> Any:
        """Learning: the current (or learned) dictionary (n_atoms, n_features)."""
        return self.state.dictionary

    @property
    def params(self) -> Any:
        """Training: the current (or trained) parameters: the state."""
        return self.state


@dataclass(frozen=True)
class Info(_StateViews):
    """What a step reports and a callback sees: the iteration and the state after it.

    Attributes
    ----------
    iteration : int
        Iterations done (coding steps, learning alternations, training epochs).
    state : object
        The iterate: the coding state of the rows still iterating (``info.state.Z``), the
        :class:`~dictlearn.learning.LearningState`, or the parameter dict being trained.
    objective : float or None
        Learning: the batch's mean objective; training: the epoch's mean training loss.
    history : list of dict or None
        The run's records so far (one per iteration or check).
    val_loss : float or None
        Training: the validation loss of the epoch.
    rows : array of int or None
        Coding: the indices of the samples still iterating.
    criterion : array or None
        Coding: their stopping criterion.
    """

    iteration: int
    state: Any = None
    objective: float | None = None
    history: list[dict[str, Any]] | None = field(default=None, repr=False)
    val_loss: float | None = None
    rows: Any = field(default=None, repr=False)
    criterion: Any = field(default=None, repr=False)

    @property
    def n_active(self) -> int:
        """Coding: how many samples are still iterating."""
        return 0 if self.rows is None else int(self.rows.shape[0])

    @property
    def epoch(self) -> int:
        """Training: the epoch (the iteration)."""
        return self.iteration

    @property
    def train_loss(self) -> float | None:
        """Training: the epoch's mean training loss (the objective)."""
        return self.objective


@dataclass(frozen=True)
class Result(_StateViews):
    """What an iterative method returns (coding, learning and training alike).

    Attributes
    ----------
    codes : array of shape (n_samples, n_atoms) or None
        In the caller's array library and on its device (None for mini-batch learners and
        training; a batch learner's last coding step).
    status : Status
        See :class:`Status` (coding: ``nonfinite`` when any sample met a non-finite value; its
        last finite codes are returned).
    n_iter : int
        Iterations run (coding: the largest over samples; training: epochs).
    n_iter_per_sample : array of shape (n_samples,)
        Iterations each sample ran before it converged or the loop stopped.
    converged : array of shape (n_samples,), bool
    criterion : array of shape (n_samples,)
        The stopping criterion at each sample's last check (relative duality gap or change).
    history : list of dict or None
        One record per check (coding, when ``record_history=True``), iteration (learning) or
        epoch (training).
    state : object
        The final iterate of learning (:class:`~dictlearn.learning.LearningState`, to resume)
        or training (the parameter dict).
    n_steps : int or None
        Training: optimiser steps taken.
    """

    codes: Any
    status: Status
    n_iter: int
    n_iter_per_sample: Any = None
    converged: Any = None
    criterion: Any = None
    history: list[dict] | None = field(default=None, repr=False)
    state: Any = field(default=None, repr=False)
    n_steps: int | None = None

    @property
    def n_epochs(self) -> int:
        """Training: epochs run (the iterations)."""
        return self.n_iter


class Progress:
    """The one progress display: a line on stderr, redrawn at most every 0.5 s, when
    ``enabled`` (``verbose=True``)."""

    def __init__(self, total: int, name: str, enabled: bool, *, unit: str = "iter",
                 label: str = "objective") -> None:
        self.total, self.name, self.enabled, self.unit, self.label = (
            total, name, enabled, unit, label)
        self.t0 = time.perf_counter()
        self.last = -math.inf
        self.pending = ""
        self.open = False

    def update(self, it: int, value: float | None = None, val: float | None = None) -> None:
        """Iteration ``it`` of ``total`` with its value (and validation loss)."""
        if not self.enabled:
            return
        width = 24
        done = int(width * min(it, self.total) / max(self.total, 1))
        now = time.perf_counter()
        text = f"{self.name} [{'#' * done}{'.' * (width - done)}] {self.unit} {it}/{self.total}"
        if value is not None:
            text += f"  {self.label} {value:.6g}"
        if val is not None:
            text += f"  val {val:.6g}"
        self.pending = text + f"  {now - self.t0:.1f}s"
        if now - self.last >= 0.5:
            self._write("\r" + self.pending)
            self.last, self.pending = now, ""

    def note(self, message: str) -> None:
        """A line of its own (e.g. a restart after divergence)."""
        if self.enabled:
            self._write(("\n" if self.open else "") + f"[{self.name}] {message}\n")
            self.open = False

    def close(self) -> None:
        """Draw the last state and end the line."""
        if self.enabled and (self.pending or self.open):
            self._write(("\r" + self.pending if self.pending else "") + "\n")
            self.pending, self.open = "", False

    def _write(self, s: str) -> None:
        sys.stderr.write(s)
        sys.stderr.flush()
        self.open = not s.endswith("\n")


def iterate(state: Any, step: Callable[[Any, int], tuple[Any, Info]], *, max_iter: int,
            stop: Callable[[Info], bool] | None = None,
            callback: Callable[[Info], Any] | None = None, progress: Progress | None = None,
            failure: Status = Status.nonfinite,
            xp: ModuleType | None = None) -> tuple[Any, Status, int, Info | None]:
    """The loop skeleton: step, non-finite rule, progress, callback, stopping rule.

    ``step(state, it)`` (``it`` counts from 1) returns the new state and its :class:`Info`.
    When the info's ``objective`` or ``val_loss`` is not :func:`finite`, the loop ends with
    ``failure`` and the state *before* that step (the last good one). Otherwise the progress
    line is updated, ``callback(info)`` may stop the loop (``Status.stopped``) and
    ``stop(info)`` may end it (``Status.converged``); after ``max_iter`` steps the status is
    ``max_iter_reached``. Returns ``(state, status, iterations run, last info)``.
    """
    status, it, info = Status.max_iter_reached, 0, None
    while it < max_iter:
        it += 1
        new, info = step(state, it)
        if not (finite(info.objective, xp=xp) and finite(info.val_loss, xp=xp)):
            status = failure
            break
        state = new
        if progress is not None:
            progress.update(it, info.objective, info.val_loss)
        if callback is not None and callback(info):
            status = Status.stopped
            break
        if stop is not None and stop(info):
            status = Status.converged
            break
    if progress is not None:
        progress.close()
    return state, status, it, info


def run_loop(state: Any, *, step: Callable[[Any], Any], criterion: Callable[[Any], Any],
             codes: Callable[[Any], Any], n_samples: int, max_iter: int, check_every: int,
             xp: ModuleType, callback: Callable[[Info], Any] | None = None,
             check_initial: bool = False, record_history: bool = False) -> Result:
    """Per-sample coding on :func:`iterate`: ``step`` until every row converges, ``max_iter``
    is reached or the callback stops.

    A solver supplies a pure ``step(state) -> state``, ``criterion(state)`` returning per row
    a value that is ``<= 0`` exactly when the row has converged (solvers subtract their
    tolerance) together with a display value, and ``codes(state)``; the state offers
    ``take(rows)`` to keep only some rows. The rows are checked every ``check_every`` steps
    (never the objective on every step just to stop; a ``criterion`` that returns ``None``
    defers the check to a later block, when a check would cost more than the steps since
    the last one, but never at ``max_iter``): converged rows leave the working set,
    rows that met a non-finite value are stopped with their last finite codes and
    ``Status.nonfinite``, and ``callback(Info)`` sees the rows still iterating.
    """
    device = getattr(codes(state), "device", None)
    rows = xp.arange(n_samples, device=device)
    done: list[tuple[Any, ...]] = []  # (rows, codes, iterations, converged, criterion)
    history: list[dict] | None = [] if record_history else None
    nonfinite = False
    shown = None
    n_steps = 0

    def finish(sel, st, iters, conv, crit):
        k = int(sel.shape[0])
        done.append((xp.take(rows, sel, axis=0), xp.take(codes(st), sel, axis=0),
                     xp.full((k,), iters, dtype=xp.int64, device=device),
                     xp.full((k,), conv, dtype=xp.bool, device=device),
                     xp.take(crit, sel, axis=0)))

    def block(st, b):  # ``check_every`` steps (none before an initial check), then a check
        nonlocal rows, nonfinite, shown, n_steps
        last_good = st
        k = 0 if (check_initial and b == 1) else min(check_every, max_iter - n_steps)
        for _ in range(k):
            st = step(st)
        n_steps += k
        checked = criterion(st)
        if checked is None:  # the solver defers this check: nothing is decided this block
            if n_steps >= max_iter:
                raise RuntimeError("a criterion may not defer its check at max_iter")
            return st, Info(n_steps, st, history=history, rows=rows, criterion=shown)
        excess, shown = checked
        ok = finite(codes(st), xp=xp, axis=1) & xp.isfinite(excess)
        if not bool(xp.all(ok)):
            nonfinite = True
            bad = xp.nonzero(~ok)[0]
            finish(bad, last_good, n_steps, False, xp.take(shown, bad, axis=0))
        conv = (excess <= 0) & ok
        if history is not None:
            empty = not shown.shape[0]
            history.append({"iteration": n_steps, "n_active": int(rows.shape[0]),
                            "max_criterion": 0.0 if empty else float(xp.max(shown)),
                            "mean_criterion": 0.0 if empty else float(xp.mean(shown))})
        if bool(xp.any(conv)):
            finish(xp.nonzero(conv)[0], st, n_steps, True, shown)
        keep = xp.nonzero(ok & ~conv)[0]
        if int(keep.shape[0]) < int(rows.shape[0]):
            st = st.take(keep)
            shown = xp.take(shown, keep, axis=0)
            rows = xp.take(rows, keep, axis=0)
        return st, Info(n_steps, st, history=history, rows=rows, criterion=shown)

    n_checks = -(-max_iter // check_every) + int(check_initial)
    state, status, _, _ = iterate(
        state, block, max_iter=n_checks, stop=lambda info: info.n_active == 0,
        callback=None if callback is None else (lambda i: i.n_active > 0 and callback(i)))

    if int(rows.shape[0]) > 0:  # rows that hit max_iter or were stopped by the callback
        if shown is None or int(shown.shape[0]) != int(rows.shape[0]):
            shown = criterion(state)[1]
        finish(xp.arange(int(rows.shape[0]), device=device), state, n_steps, False, shown)

    order = xp.argsort(xp.concat([d[0] for d in done]))
    out, iters, conv, crit = (xp.take(xp.concat([d[j] for d in done]), order, axis=0)
                              for j in range(1, 5))
    if nonfinite:
        status = Status.nonfinite
    elif status is not Status.stopped:
        status = Status.converged if bool(xp.all(conv)) else Status.max_iter_reached
    return Result(out, status, n_steps, iters, conv, crit, history)
