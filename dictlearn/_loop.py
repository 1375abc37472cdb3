"""The one iteration driver shared by every iterative solver.

A solver supplies a pure ``step(state) -> state``, a per-row stopping ``criterion(state)``
(lower is better; a row has converged when it is ``<= 0`` after the solver subtracted its
tolerance), and a ``codes(state)`` accessor. The state must offer ``take(rows)`` to keep
only some rows. The driver

- runs the step, checking every ``check_every`` iterations (never the objective on every
  iteration just to stop);
- removes converged rows from the working set, so they stop costing work (per-sample stopping);
- stops rows that turned non-finite and returns their last finite codes with
  ``Status.nonfinite`` instead of NaN;
- calls ``callback(LoopState)`` at every check; a ``True`` return stops the loop.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = ["LoopState", "Result", "Status", "run_loop"]


class Status(str, enum.Enum):
    """Why an iterative method stopped."""

    converged = "converged"
    max_iter_reached = "max_iter_reached"
    nonfinite = "nonfinite"
    diverged = "diverged"
    stopped = "stopped"  # by the callback


@dataclass(frozen=True)
class Result:
    """What an iterative method returns.

    Attributes
    ----------
    codes : array of shape (n_samples, n_atoms)
        In the caller's array library and on its device.
    status : Status
        ``converged`` when every sample met the tolerance; ``nonfinite`` when any sample met a
        non-finite value (its last finite codes are returned); ``max_iter_reached`` otherwise.
    n_iter : int
        Iterations run (the largest over samples).
    n_iter_per_sample : array of shape (n_samples,)
        Iterations each sample ran before it converged or the loop stopped.
    converged : array of shape (n_samples,), bool
    criterion : array of shape (n_samples,)
        The stopping criterion at each sample's last check (relative duality gap or change).
    history : list of dict or None
        One record per check when ``record_history=True``.
    """

    codes: Any
    status: Status
    n_iter: int
    n_iter_per_sample: Any = None
    converged: Any = None
    criterion: Any = None
    history: list[dict] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LoopState:
    """What a callback sees at a check: the rows still iterating and their criterion."""

    iteration: int
    state: Any
    rows: Any
    criterion: Any
    n_active: int


def run_loop(
    state: Any,
    *,
    step: Callable[[Any], Any],
    criterion: Callable[[Any], Any],
    codes: Callable[[Any], Any],
    n_samples: int,
    max_iter: int,
    check_every: int,
    xp: ModuleType,
    callback: Callable[[LoopState], Any] | None = None,
    check_initial: bool = False,
    record_history: bool = False,
) -> Result:
    """Run ``step`` until every row converges, ``max_iter`` is reached or the callback stops.

    ``criterion(state)`` returns, per row, a value that is ``<= 0`` exactly when the row has
    converged (solvers subtract their tolerance) together with a display value.
    """
    device = getattr(codes(state), "device", None)
    rows = xp.arange(n_samples, device=device)
    done_rows: list[Any] = []
    done_codes: list[Any] = []
    done_iters: list[Any] = []
    done_conv: list[Any] = []
    done_crit: list[Any] = []
    history: list[dict] | None = [] if record_history else None
    nonfinite = stopped = False
    last_good = state
    it = 0

    def finish(sel, st, iters, conv, crit):
        done_rows.append(xp.take(rows, sel, axis=0))
        done_codes.append(xp.take(codes(st), sel, axis=0))
        k = int(sel.shape[0])
        done_iters.append(xp.full((k,), iters, dtype=xp.int64, device=device))
        done_conv.append(xp.full((k,), conv, dtype=xp.bool, device=device))
        done_crit.append(xp.take(crit, sel, axis=0))

    def check(st, it):
        nonlocal rows, last_good, nonfinite, stopped
        Z = codes(st)
        finite = xp.all(xp.isfinite(Z), axis=1)
        excess, shown = criterion(st)
        finite = finite & xp.isfinite(excess)
        if not bool(xp.all(finite)):
            nonfinite = True
            bad = xp.nonzero(~finite)[0]
            finish(bad, last_good, it, False, xp.take(shown, bad, axis=0))
        conv = (excess <= 0) & finite
        if history is not None:
            history.append(
                {
                    "iteration": it,
                    "n_active": int(rows.shape[0]),
                    "max_criterion": float(xp.max(shown)) if shown.shape[0] else 0.0,
                    "mean_criterion": float(xp.mean(shown)) if shown.shape[0] else 0.0,
                }
            )
        if bool(xp.any(conv)):
            finish(xp.nonzero(conv)[0], st, it, True, shown)
        keep = xp.nonzero(finite & ~conv)[0]
        if int(keep.shape[0]) < int(rows.shape[0]):
            st = st.take(keep)
            shown = xp.take(shown, keep, axis=0)
            rows = xp.take(rows, keep, axis=0)
        last_good = st
        if callback is not None and int(rows.shape[0]) > 0:
            info = LoopState(it, st, rows, shown, int(rows.shape[0]))
            if callback(info):
                stopped = True
        return st, shown

    shown = None
    if check_initial:
        state, shown = check(state, 0)
    while int(rows.shape[0]) > 0 and it < max_iter and not stopped:
        state = step(state)
        it += 1
        if it % check_every == 0 or it == max_iter:
            state, shown = check(state, it)

    if int(rows.shape[0]) > 0:  # rows that hit max_iter or were stopped by the callback
        if shown is None or int(shown.shape[0]) != int(rows.shape[0]):
            shown = criterion(state)[1]
        sel = xp.arange(int(rows.shape[0]), device=device)
        finish(sel, state, it, False, shown)

    all_rows = xp.concat(done_rows)
    order = xp.argsort(all_rows)
    out = xp.take(xp.concat(done_codes), order, axis=0)
    iters = xp.take(xp.concat(done_iters), order, axis=0)
    conv = xp.take(xp.concat(done_conv), order, axis=0)
    crit = xp.take(xp.concat(done_crit), order, axis=0)
    if nonfinite:
        status = Status.nonfinite
    elif stopped:
        status = Status.stopped
    elif bool(xp.all(conv)):
        status = Status.converged
    else:
        status = Status.max_iter_reached
    return Result(out, status, it, iters, conv, crit, history)
