"""The mini-batch training loop shared by LISTA and the sparse autoencoders.

One loop: shuffled mini-batches from ``random_state``, an optimiser step per batch, a
validation loss per epoch with early stopping (the best weights are kept), a callback that may
stop training, a progress line per epoch with ``verbose=True``, and divergence detection: a
non-finite loss or weight (a non-finite gradient makes the weights it updates non-finite),
or a loss that explodes, stops training with
``Status.diverged`` and returns the last good weights: the best of the completed epochs (the
last finite ones before any epoch completed). ``divergence_retries`` restarts from them with
half the learning rate instead.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .._loop import Info, Progress, Result, Status, finite, iterate
from .._xp import to_host

__all__ = ["train"]

Params = dict[str, Any]


def train(params: Params, loss_and_grad: Callable[[Params, np.ndarray], tuple[float, Params]], *,
          n_samples: int, optimizer: Any, xp: Any, batch_size: int = 64, max_epochs: int = 50,
          rng: np.random.Generator, val_loss: Callable[[Params], float] | None = None,
          n_iter_no_change: int | None = 5, tol: float = 1e-4,
          post_update: Callable[[Params, Params], Params] | None = None,
          on_epoch: Callable[[int, Params], Params | None] | None = None,
          lr_schedule: Callable[[int], float] | None = None,
          callback: Callable[[Info], Any] | None = None, verbose: bool = False,
          divergence_factor: float = 1e4, divergence_retries: int = 0,
          check_every: int = 1, name: str = "train") -> Result:
    """Minimise ``loss_and_grad`` over mini-batches.

    Parameters
    ----------
    params : dict
        Initial parameters (not modified).
    loss_and_grad : callable ``(params, rows) -> (loss, grads)``
        ``rows`` is a host integer array of sample indices for one batch; ``loss`` a float
        or a 0-d array of ``xp`` (read on the host only every ``check_every`` steps).
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
    callback : callable ``Info -> bool``, optional
        Called after every epoch with ``info.epoch``, ``info.params``, ``info.train_loss`` and
        ``info.val_loss``; ``True`` stops training.
    verbose : bool
        Show the progress line (updated every epoch) on stderr.
    divergence_factor : float
        A batch loss above this multiple of the first one counts as divergence.
    divergence_retries : int
        On divergence, restart this many times from the last good weights (as above) with a fresh
        optimiser state and half the learning rate before giving up with ``diverged``.
    check_every : int, default=1
        Read the batch losses and test for divergence (finite losses and weights) every this
        many steps and at the end of each epoch: the only host synchronisations of an epoch
        besides the validation loss. A divergence found returns to the weights of the last
        passing check (the steps since are dropped).

    Returns
    -------
    Result
        ``params`` (the state), ``status``, ``n_epochs`` (``n_iter``), ``n_steps`` and
        ``history`` (per epoch: ``epoch``, ``train_loss``, ``val_loss``). ``status`` is
        ``converged`` (no improvement of the monitored loss for ``n_iter_no_change`` epochs:
        the best weights are returned), ``max_iter_reached`` (a budget, not a failure),
        ``stopped`` (callback) or ``diverged`` (the best weights of a completed epoch, or,
        before the first epoch completes, the last weights whose loss was finite and not
        exploding).
    """
    progress = Progress(max_epochs, name, verbose, unit="epoch", label="train")
    history: list[dict[str, float]] = []
    check_every = int(check_every)
    if check_every < 1:
        raise ValueError(f"check_every must be a positive int; got {check_every}")
    run = {"opt": optimizer.init(params), "best": math.inf, "best_params": params,
           "last_good": params, "first": None, "stall": 0, "steps": 0,
           "retries": int(divergence_retries), "backoff": 1.0}

    def last_good() -> Params:
        return run["best_params"] if math.isfinite(run["best"]) else run["last_good"]

    def read(pending: list[Any]) -> list[float]:
        """The pending batch losses as host floats: one transfer for arrays."""
        if not pending or isinstance(pending[0], numbers.Real):
            return [float(v) for v in pending]
        return [float(v) for v in to_host(xp.stack([xp.reshape(v, ()) for v in pending]))]

    def sound(losses: list[float], p: Params) -> bool:
        """Finite, not exploding losses and finite weights (the divergence test: a non-finite
        gradient makes the weights it updates non-finite)."""
        if run["first"] is None and losses:
            run["first"] = abs(losses[0]) if math.isfinite(losses[0]) else None
        if not (all(map(math.isfinite, losses)) and all(finite(v, xp=xp) for v in p.values())):
            return False
        return not run["first"] or max(losses) <= divergence_factor * run["first"]

    def epoch_step(p: Params, epoch: int) -> tuple[Params, Info]:
        if on_epoch is not None:
            new = on_epoch(epoch, p)
            p = p if new is None else new
        scale = 1.0 if lr_schedule is None else float(lr_schedule(epoch))
        order = rng.permutation(n_samples)
        starts = range(0, n_samples, batch_size)
        total, count, pending, sizes = 0.0, 0, [], []
        for i, start in enumerate(starts):
            rows = order[start:start + batch_size]
            loss, grads = loss_and_grad(p, rows)
            before = p  # its loss is ``loss``
            p, run["opt"] = optimizer.update(p, grads, run["opt"], scale * run["backoff"])
            if post_update is not None:
                p = post_update(p, grads)
            pending.append(loss)
            sizes.append(len(rows))
            if len(pending) < check_every and i < len(starts) - 1:
                continue
            losses, n_pending = read(pending), len(pending)
            pending, batch_sizes, sizes = [], sizes, []
            if sound(losses, p):
                run["last_good"] = before
                run["steps"] += n_pending
                for v, b in zip(losses, batch_sizes, strict=True):
                    total += v * b
                    count += b
                continue
            if run["retries"] > 0:
                run["retries"] -= 1  # back off: last good weights, fresh state, lr / 2
                run["backoff"] *= 0.5
                p = last_good()
                run["opt"] = optimizer.init(p)
                progress.note(f"epoch {epoch}: loss diverged; restarting from the last good "
                              f"weights with the learning rate x{run['backoff']:g}")
                continue
            history.append({"epoch": epoch, "train_loss": math.nan, "val_loss": math.nan})
            progress.note(f"epoch {epoch}: loss diverged; keeping the last good weights")
            return p, Info(epoch, p, math.nan, history)
        train_loss = total / max(count, 1)
        v = None if val_loss is None else float(val_loss(p))
        history.append({"epoch": epoch, "train_loss": train_loss,
                        "val_loss": math.nan if v is None else v})
        monitored = train_loss if v is None else v
        if math.isfinite(monitored):
            best = run["best"]
            if not math.isfinite(best) or monitored < best - tol * abs(best):
                run["best"], run["best_params"], run["stall"] = monitored, p, 0
            else:
                run["stall"] += 1
        return p, Info(epoch, p, train_loss, history, val_loss=v)

    def stop(info: Info) -> bool:
        return n_iter_no_change is not None and run["stall"] >= n_iter_no_change

    params, status, epochs, _ = iterate(params, epoch_step, max_iter=max_epochs, stop=stop,
                                        callback=callback, progress=progress,
                                        failure=Status.diverged, xp=xp)
    if status is Status.diverged:
        params = last_good()
    elif status is Status.converged or (status is Status.max_iter_reached and
                                        val_loss is not None and n_iter_no_change is not None):
        params = run["best_params"]
    return Result(None, status, epochs, history=history, state=params, n_steps=run["steps"])
