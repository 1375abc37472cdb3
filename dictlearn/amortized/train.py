"""The mini-batch training loop shared by LISTA and the sparse autoencoders.

One loop: shuffled mini-batches from ``random_state``, an optimiser step per batch, a
validation loss per epoch with early stopping (the best weights are kept), a callback that may
stop training, a progress line per epoch with ``verbose=True``, and divergence detection: a
non-finite loss or gradient, or a loss that explodes, stops training with
``Status.diverged`` and returns the last good weights: the best of the completed epochs (the
last finite ones before any epoch completed). ``divergence_retries`` restarts from them with
half the learning rate instead.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._loop import Status

__all__ = ["TrainInfo", "TrainResult", "train"]

Params = dict[str, Any]


@dataclass(frozen=True)
class TrainInfo:
    """What a training callback sees after each epoch."""

    epoch: int
    params: Params
    train_loss: float
    val_loss: float | None


@dataclass(frozen=True)
class TrainResult:
    """Trained parameters and why training stopped.

    ``status``: ``converged`` (no improvement of the monitored loss for ``n_iter_no_change``
    epochs: the best weights are returned), ``max_iter_reached``, ``stopped`` (callback) or
    ``diverged`` (the best weights of a completed epoch are returned, or, before the first
    epoch completes, the last weights whose loss was finite and not exploding).
    """

    params: Params
    status: Status
    n_epochs: int
    n_steps: int
    history: list[dict[str, float]] = field(default_factory=list)


def _finite(v: Any, xp: Any) -> bool:
    return bool(xp.all(xp.isfinite(v)))


def train(
    params: Params,
    loss_and_grad: Callable[[Params, np.ndarray], tuple[float, Params]],
    *,
    n_samples: int,
    optimizer: Any,
    xp: Any,
    batch_size: int = 64,
    max_epochs: int = 50,
    rng: np.random.Generator,
    val_loss: Callable[[Params], float] | None = None,
    n_iter_no_change: int | None = 5,
    tol: float = 1e-4,
    post_update: Callable[[Params, Params], Params] | None = None,
    on_epoch: Callable[[int, Params], Params | None] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    callback: Callable[[TrainInfo], Any] | None = None,
    verbose: bool = False,
    divergence_factor: float = 1e4,
    divergence_retries: int = 0,
    name: str = "train",
) -> TrainResult:
    """Minimise ``loss_and_grad`` over mini-batches.

    Parameters
    ----------
    params : dict
        Initial parameters (not modified).
    loss_and_grad : callable ``(params, rows) -> (loss, grads)``
        ``rows`` is a host integer array of sample indices for one batch.
    n_samples : int
        Training set size (batches are drawn from ``range(n_samples)``).
    optimizer : SGD or Adam
    batch_size, max_epochs : int
    rng : numpy Generator
        Shuffles the samples each epoch.
    val_loss : callable ``params -> float``, optional
        Monitored for early stopping (the mean training loss of the epoch otherwise).
    n_iter_no_change : int or None
        Stop when the monitored loss has not improved by ``tol`` (relative) for this many
        epochs; ``None`` trains for ``max_epochs``.
    post_update : callable ``(params, grads) -> params``, optional
        Applied after each optimiser step (projections such as unit-norm decoder rows).
    on_epoch : callable ``(epoch, params) -> params or None``, optional
        Called at the start of each epoch (schedules such as annealing k, resampling dead
        units); a returned dict replaces the parameters.
    lr_schedule : callable ``epoch -> float``, optional
        Multiplies the learning rate.
    callback : callable ``TrainInfo -> bool``, optional
        Called after every epoch; ``True`` stops training.
    verbose : bool
        Print one progress line per epoch on stderr.
    divergence_factor : float
        A batch loss above this multiple of the first one counts as divergence.
    divergence_retries : int
        On divergence, restart this many times from the last good weights (as above) with a fresh
        optimiser state and half the learning rate before giving up with ``diverged``.
    """
    state = optimizer.init(params)
    best_params, best = params, math.inf
    last_good = params
    first_loss: float | None = None
    history: list[dict[str, float]] = []
    status = Status.max_iter_reached
    stall = 0
    steps = 0
    retries_left, backoff = int(divergence_retries), 1.0
    epoch = 0
    t0 = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        if on_epoch is not None:
            new = on_epoch(epoch, params)
            if new is not None:
                params = new
        scale = 1.0 if lr_schedule is None else float(lr_schedule(epoch))
        order = rng.permutation(n_samples)
        total, count, diverged = 0.0, 0, False
        for start in range(0, n_samples, batch_size):
            rows = order[start:start + batch_size]
            loss, grads = loss_and_grad(params, rows)
            if first_loss is None:
                first_loss = abs(loss) if math.isfinite(loss) else None
            bad = (not math.isfinite(loss)) or not all(_finite(g, xp) for g in grads.values())
            if not bad and first_loss is not None and first_loss > 0:
                bad = loss > divergence_factor * first_loss
            if bad and retries_left > 0:  # back off: last good weights, fresh state, lr / 2
                retries_left -= 1
                backoff *= 0.5
                restart = best_params if math.isfinite(best) else last_good
                params, state = restart, optimizer.init(restart)
                if verbose:
                    print(f"[{name}] epoch {epoch}: loss diverged; restarting from the last "
                          f"good weights with the learning rate x{backoff:g}", file=sys.stderr)
                continue
            if bad:
                diverged = True
                break
            last_good = params
            params, state = optimizer.update(params, grads, state, scale * backoff)
            if post_update is not None:
                params = post_update(params, grads)
            total += loss * len(rows)
            count += len(rows)
            steps += 1
        if diverged:
            params = best_params if math.isfinite(best) else last_good
            status = Status.diverged
            history.append({"epoch": epoch, "train_loss": math.nan, "val_loss": math.nan})
            if verbose:
                print(f"[{name}] epoch {epoch}: loss diverged; keeping the last good weights",
                      file=sys.stderr)
            break
        train_loss = total / max(count, 1)
        v = None if val_loss is None else float(val_loss(params))
        if v is not None and not math.isfinite(v):
            params = best_params if math.isfinite(best) else last_good
            status = Status.diverged
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": v})
            break
        history.append({"epoch": epoch, "train_loss": train_loss,
                        "val_loss": math.nan if v is None else v})
        if verbose:
            vs = "" if v is None else f"  val {v:.4e}"
            print(f"[{name}] epoch {epoch}/{max_epochs}  train {train_loss:.4e}{vs}  "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        monitored = train_loss if v is None else v
        improved = (not math.isfinite(best)) or monitored < best - tol * abs(best)
        if improved:
            best, best_params, stall = monitored, params, 0
        else:
            stall += 1
        if callback is not None and callback(TrainInfo(epoch, params, train_loss, v)):
            status = Status.stopped
            break
        if n_iter_no_change is not None and stall >= n_iter_no_change:
            status = Status.converged
            params = best_params
            break
    else:
        if val_loss is not None and n_iter_no_change is not None:
            params = best_params
    return TrainResult(params, status, epoch, steps, history)
