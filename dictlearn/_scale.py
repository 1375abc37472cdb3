r"""The scaling rule of the coding methods: solve on signals scaled by a power of two.

Every coding problem is homogeneous in the signals. For ``c > 0``,

- l1 (lasso): :math:`z^\star(cX, c\alpha) = c\,z^\star(X, \alpha)`;
- l0 (OMP, IHT): :math:`z^\star(cX) = c\,z^\star(X)` (OMP's ``tol`` on ``‖r‖²`` scales by
  :math:`c^2`);
- Cauchy prior: :math:`z^\star(cX, c^2\alpha, c\sigma) = c\,z^\star(X, \alpha, \sigma)`.

A method solves the problem of ``X / s`` (parameters scaled by the same law) and multiplies the
codes by ``s``: ``s = 1`` while :math:`2^{-32} \le \max|X| \le 2^{32}` (:data:`SAFE_EXPONENT`;
results there are those of the method as written), and otherwise the power of two
:math:`2^{\lfloor\log_2 \max|X|\rfloor}` (so that :math:`1 \le \max|X / s| < 2`). Dividing by a
power of two is exact, so outside the safe range the result for ``c·X`` is ``c`` times the
result for ``X`` (to rounding, bit for bit when ``c`` is a power of two) up to the ends of the
floating range. Where the codes themselves are not
representable (``s·z`` overflows, or a non-zero code underflows to zero) the method raises a
``ValueError`` rather than returning zeros or infinities.

Callbacks see the solver's own state: on the scaled problem (codes ``z / s``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SAFE_EXPONENT", "Scale", "scale_invariant"]

#: ``s = 1`` while ``max|X|`` is within ``2**±SAFE_EXPONENT``: there the results are those of
#: the methods as written, bit for bit (ADMM's iterates identical to SPORCO's, for one).
SAFE_EXPONENT = 32


@dataclass(frozen=True)
class Scale:
    """The power of two ``s`` that a coding method divides the signals by.

    Examples
    --------
    >>> import numpy as np
    >>> sc = Scale.of(np.array([[3e200, -1.0]]), np)
    >>> sc.s == 2.0 ** 665, 1.0 <= float(sc.down(3e200)) < 2.0
    (True, True)
    >>> Scale.of(np.array([[3.0]]), np).s, Scale.of(np.array([[3e-9]]), np).s
    (1.0, 1.0)
    """

    s: float = 1.0
    xp: Any = None

    @classmethod
    def of(cls, X: Any, xp: Any) -> Scale:
        """The scale of the (finite, validated) signals ``X``."""
        m = float(xp.max(xp.abs(X))) if X.size else 0.0
        if m == 0.0 or 2.0 ** -SAFE_EXPONENT <= m <= 2.0 ** SAFE_EXPONENT:
            return cls(1.0, xp)
        return cls(math.ldexp(1.0, math.frexp(m)[1] - 1), xp)

    @staticmethod
    def saved(meta: dict[str, Any]) -> float:
        """The scale ``meta["scale"]`` of a model file (1 when absent), checked to be a
        power of two."""
        scale = meta.get("scale", 1.0)
        ok = isinstance(scale, (int, float)) and not isinstance(scale, bool)
        if not (ok and math.isfinite(scale) and scale > 0 and math.frexp(scale)[0] == 0.5):
            raise ValueError(f"its scale {scale!r} is not a power of two")
        return float(scale)

    @property
    def scaled(self) -> bool:
        return self.s != 1.0

    def down(self, value: Any, power: int = 1) -> Any:
        """``value / s**power`` (signals, codes, ``alpha``; ``None`` stays ``None``)."""
        if value is None or not self.scaled:
            return value
        for _ in range(power):  # one exact division at a time (s**2 may overflow)
            value = value / self.s
        return value

    def up(self, value: Any, power: int = 1) -> Any:
        """``value * s**power`` (``None`` stays ``None``)."""
        if value is None or not self.scaled:
            return value
        for _ in range(power):
            value = value * self.s
        return value

    def result(self, res: Any, *, owner: str, criterion_power: int = 0) -> Any:
        """The method's :class:`~dictlearn.Result` in the caller's units: codes times ``s``
        (and the criterion times ``s**criterion_power``).

        Raises
        ------
        ValueError
            When codes that are finite and non-zero on the scaled problem overflow or
            underflow to zero in the caller's units.
        """
        if not self.scaled:
            return res
        xp, Z = self.xp, res.codes
        with np.errstate(over="ignore", invalid="ignore"):  # checked here, named below
            codes = Z * self.s
            crit = self.up(res.criterion, criterion_power)
        ok = xp.isfinite(Z)
        lost = (ok & ~xp.isfinite(codes)) | ((Z != 0) & (codes == 0))
        if bool(xp.any(lost)):
            big = bool(xp.any(ok & ~xp.isfinite(codes)))
            raise ValueError(
                f"{owner}: the codes of X (max |X| about {self.s:.3g}) are not representable "
                f"in {codes.dtype}: they {'overflow' if big else 'underflow to zero'}; "
                "rescale X (and alpha) before coding")
        return dataclasses.replace(res, codes=codes, criterion=crit)


def scale_invariant(powers: dict[str, int]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a coding method ``fn(X, atoms, **options) -> Result`` with the scaling rule:
    outside the safe range it runs on ``X / s`` with each option in ``powers`` divided by
    ``s**power`` (its default too) and returns the codes times ``s``; inside it, and for any
    ``X`` that fails validation, it calls ``fn`` unchanged (which then raises its own error).

    For methods whose inputs go through a shared preamble that cannot return the scale (the
    convolutional methods of :mod:`dictlearn.signal`); the dictionary methods apply
    :class:`Scale` inline.
    """
    from ._validation import as_array, check_array
    from ._xp import get_namespace

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        defaults = {name: p.default for name, p in inspect.signature(fn).parameters.items()
                    if name in powers and p.default is not inspect.Parameter.empty}

        @functools.wraps(fn)
        def wrapper(X: Any, atoms: Any, **options: Any) -> Any:
            try:
                Xc = check_array(X, "X", ndim=(1, 2, 3))
            except (TypeError, ValueError):
                return fn(X, atoms, **options)
            sc = Scale.of(Xc, get_namespace(Xc))
            if not sc.scaled:
                return fn(X, atoms, **options)
            opts = {**defaults, **options}
            for name, power in powers.items():
                value = opts.get(name)
                if value is not None and not isinstance(value, bool):
                    opts[name] = sc.down(as_array(value, name) if name == "init" else value,
                                         power)
            return sc.result(fn(sc.down(Xc), atoms, **opts), owner=fn.__name__)

        return wrapper

    return deco
