r"""The scaling rule of the coding methods: solve on signals scaled by a power of two.

Every coding problem is homogeneous in the signals. For ``c > 0``,

- l1 (lasso): :math:`z^\star(cX, c\alpha) = c\,z^\star(X, \alpha)`;
- l0 (OMP, IHT): :math:`z^\star(cX) = c\,z^\star(X)` (OMP's ``tol`` on ``‖r‖²`` scales by
  :math:`c^2`);
- Cauchy prior: :math:`z^\star(cX, c^2\alpha, c\sigma) = c\,z^\star(X, \alpha, \sigma)`.

A method solves the problem of ``X / s`` (parameters scaled by the same law) and multiplies the
codes by ``s``, with ``s = 1`` when :math:`2^{-32} \le \max|X| \le 2^{32}` and otherwise the
power of two :math:`2^{\lfloor\log_2 \max|X|\rfloor}`. Dividing by a power of two is exact, so
the result for ``c·X`` is ``c`` times the result for ``X`` (to rounding; bit for bit when ``c``
is a power of two) over the whole floating range. Where the codes themselves are not
representable (``s·z`` overflows, or a non-zero code underflows to zero) the method raises a
``ValueError`` rather than returning zeros or infinities.

Callbacks see the solver's own state: on the scaled problem (codes ``z / s``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SAFE_EXPONENT", "Scale"]

#: ``s = 1`` while ``max|X|`` is within ``2**±SAFE_EXPONENT``.
SAFE_EXPONENT = 32


@dataclass(frozen=True)
class Scale:
    """The power of two ``s`` that a coding method divides the signals by.

    Examples
    --------
    >>> import numpy as np
    >>> sc = Scale.of(np.array([[3e200, -1.0]]), np)
    >>> sc.s == 2.0 ** 666, float(sc.down(3e200)) < 2.0
    (True, True)
    >>> Scale.of(np.array([[3.0]]), np).s
    1.0
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
