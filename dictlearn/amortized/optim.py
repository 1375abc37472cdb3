r"""First-order optimisers as small pure building blocks (in the spirit of optax).

Parameters are a ``dict`` name → array. ``state = opt.init(params)`` returns a typed, frozen
state (:class:`SGDState`, :class:`AdamState`, as optax's states) and
``params, state = opt.update(params, grads, state)`` returns new parameters and a new state,
never modifying its inputs, in any array library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._validation import check_choice, check_nonneg_scalar
from .._xp import get_namespace
from ..kernels import ENGINES, call

__all__ = ["SGD", "Adam", "AdamState", "SGDState", "get_optimizer"]

Params = dict[str, Any]


@dataclass(frozen=True)
class SGDState:
    """State of :class:`SGD`: the momentum buffer per parameter (None before the first step)."""

    velocity: dict[str, Any]


@dataclass(frozen=True)
class AdamState:
    """State of :class:`Adam`: the step count and the first and second moments per parameter
    (None before the first step)."""

    count: int
    mu: dict[str, Any]
    nu: dict[str, Any]


@dataclass(frozen=True)
class SGD:
    r"""Stochastic gradient descent with (heavy-ball or Nesterov) momentum.

    :math:`v \leftarrow \mu v + g`, :math:`p \leftarrow p - \eta v`
    (Nesterov: :math:`p \leftarrow p - \eta(g + \mu v)`).

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(learning_rate=0.1, momentum=0.0)
    >>> p, s = opt.update({"w": np.array([1.0])}, {"w": np.array([2.0])}, opt.init({}))
    >>> p["w"], s.velocity["w"]
    (array([0.8]), array([2.]))
    """

    learning_rate: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        check_nonneg_scalar(self.learning_rate, "learning_rate", allow_zero=False)
        check_nonneg_scalar(self.momentum, "momentum", upper=1, open_upper=True)

    def init(self, params: Params) -> SGDState:
        return SGDState({k: None for k in params})

    def update(self, params: Params, grads: Params, state: SGDState,
               lr_scale: float = 1.0) -> tuple[Params, SGDState]:
        lr = self.learning_rate * lr_scale
        vel = state.velocity
        new_p, new_v = {}, {}
        for k, p in params.items():
            g = grads[k]
            v = g if vel.get(k) is None else self.momentum * vel[k] + g
            step = g + self.momentum * v if self.nesterov else v
            new_p[k] = p - lr * step
            new_v[k] = v
        return new_p, SGDState(new_v)


@dataclass(frozen=True)
class Adam:
    r"""Adam (Kingma & Ba 2015) with bias correction.

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2)g^2`,
    :math:`p \leftarrow p - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)` with
    :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`.

    Each parameter's step is the kernel ``adam_step`` (:mod:`dictlearn.kernels.adam`):
    ``engine="auto"`` runs its one-pass numba twin on NumPy arrays of 1,024 entries or more
    when numba is installed (the same bits as the reference), the Array-API reference
    otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam(learning_rate=0.1)
    >>> p, s = opt.update({"w": np.array([1.0])}, {"w": np.array([5.0])}, opt.init({}))
    >>> np.round(p["w"], 6)            # the first step moves by the learning rate
    array([0.9])
    >>> s.count, s.mu["w"]
    (1, array([0.5]))
    """

    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    engine: str = "auto"

    def __post_init__(self) -> None:
        check_nonneg_scalar(self.learning_rate, "learning_rate", allow_zero=False)
        for name in ("beta1", "beta2"):
            check_nonneg_scalar(getattr(self, name), name, upper=1, open_upper=True)
        check_choice(self.engine, "engine", set(ENGINES))

    def init(self, params: Params) -> AdamState:
        return AdamState(0, {k: None for k in params}, {k: None for k in params})

    def update(self, params: Params, grads: Params, state: AdamState,
               lr_scale: float = 1.0) -> tuple[Params, AdamState]:
        t = state.count + 1
        b1, b2 = self.beta1, self.beta2
        lr = self.learning_rate * lr_scale * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        new_p, new_m, new_v = {}, {}, {}
        for k, p in params.items():
            new_p[k], new_m[k], new_v[k] = call(
                "adam_step", self.engine, get_namespace(p), p, grads[k], state.mu.get(k),
                state.nu.get(k), lr=lr, b1=b1, b2=b2, eps=self.eps)
        return new_p, AdamState(t, new_m, new_v)


def get_optimizer(optimizer: Any, learning_rate: float) -> SGD | Adam:
    """``"adam"``, ``"sgd"`` (momentum 0.9) or an optimiser object (used as is)."""
    if isinstance(optimizer, (SGD, Adam)):
        return optimizer
    if optimizer == "adam":
        return Adam(learning_rate=learning_rate)
    if optimizer == "sgd":
        return SGD(learning_rate=learning_rate)
    raise ValueError(f"optimizer must be 'adam', 'sgd' or an SGD/Adam object; got {optimizer!r}")
