r"""After training: did any layer get worse? Per-layer validation losses and the warning.

A trained unrolled network is checked on its validation set against two references that need
no extra training: the same network untrained (its initialisation: ISTA, or ALISTA's
convergent step) and its own earlier layers. A layer whose loss is above the untrained
network's at that layer, or above the best of the layers before it (the error grows with
depth), gets a :class:`DepthWarning` that prints the per-layer figures and what to change.

Examples
--------
>>> check_layers([0.5, 0.2, 0.1], [0.6, 0.5, 0.4])
[]
>>> [p.layer for p in check_layers([0.5, 0.2, 0.3], [0.6, 0.5, 0.4])]
[3]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DepthWarning", "LayerProblem", "check_layers", "warn_layers"]

#: Relative margin (10 %, 0.41 dB) below which a layer is not reported: the validation
#: estimate's noise on a few hundred signals and a noise floor's wobble.
MARGIN = 0.10


class DepthWarning(UserWarning):
    """A trained layer is worse than untrained, or worse than an earlier layer."""


@dataclass(frozen=True)
class LayerProblem:
    """Layer ``layer`` (from 1): ``loss`` against ``untrained`` at that layer and ``best_before``
    (the lowest loss of the layers before it; ``inf`` for layer 1)."""

    layer: int
    loss: float
    untrained: float
    best_before: float

    @property
    def worse_than_untrained(self) -> bool:
        return self.loss > self.untrained * (1 + MARGIN) + 1e-300

    @property
    def grows_with_depth(self) -> bool:
        return self.loss > self.best_before * (1 + MARGIN) + 1e-300


def check_layers(trained: Sequence[float], untrained: Sequence[float]) -> list[LayerProblem]:
    """The layers whose (non-negative) loss is above the untrained one's or above the best of
    the layers before it by more than :data:`MARGIN`; a non-finite loss is always reported."""
    out, best = [], math.inf
    for k, (t, u) in enumerate(zip(trained, untrained, strict=True), start=1):
        p = LayerProblem(k, float(t), float(u), best)
        if not math.isfinite(p.loss) or p.worse_than_untrained or p.grows_with_depth:
            out.append(p)
        best = min(best, p.loss) if math.isfinite(p.loss) else best
    return out


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


def warn_layers(owner: str, loss_name: str, trained: Sequence[float],
                untrained: Sequence[float], *, advice: str, only_last: bool = False,
                stacklevel: int = 3) -> None:
    """Warn (:class:`DepthWarning`) with the per-layer figures when :func:`check_layers`
    finds a problem; say nothing otherwise. ``only_last``: only the last layer's problems
    count (a network trained on its last layer's output alone owes nothing to the layers
    before it, but its output must beat the untrained one and every shallower layer)."""
    problems = check_layers(trained, untrained)
    if only_last:
        problems = [p for p in problems if p.layer == len(trained)]
    if not problems:
        return
    what = []
    for p in problems:
        why = []
        if p.worse_than_untrained or not math.isfinite(p.loss):
            why.append(f"worse than untrained ({p.loss:.3g} > {p.untrained:.3g})")
        if p.grows_with_depth:
            why.append(f"worse than an earlier layer ({p.loss:.3g} > {p.best_before:.3g})")
        what.append(f"layer {p.layer}: " + " and ".join(why))
    warnings.warn(
        f"{owner}: after training, {'; '.join(what)}. Validation {loss_name} per layer: trained "
        f"{_fmt(trained)}, untrained {_fmt(untrained)}. {advice}", DepthWarning,
        stacklevel=stacklevel)
