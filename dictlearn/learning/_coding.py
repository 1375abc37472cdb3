r"""The coding step of the learners: any :func:`dictlearn.sparse_encode` method, and its
objective.

A :class:`CodingStep` holds the method name and its options and knows which penalty its codes
minimise, so that the driver reports the matching objective per sample:

- ``"l1"``: :math:`\tfrac12\|x - zD\|^2 + \alpha\|z\|_1` (lasso methods: ``"lasso"``,
  ``"fista"``, ``"ista"``);
- ``"l0"``: :math:`\tfrac12\|x - zD\|^2` under ``‖z‖₀ ≤ k`` (greedy methods: ``"omp"``, …);
- ``"cauchy"``: :math:`\tfrac12\|x - zD\|^2 + \alpha\sum_j \log(1 + (z_j/\sigma)^2)`
  (the prior of Olshausen & Field 1996).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any

from ..coding import sparse_encode
from ..coding._registry import METHODS

__all__ = ["SPARSITY_METHODS", "CodingStep", "resolve_coding_method"]

#: Methods that take ``n_nonzero_coefs`` (an l0 budget) instead of ``alpha``.
SPARSITY_METHODS = frozenset({"omp", "batch_omp", "mp", "iht", "htp", "cosamp", "sp"})


def resolve_coding_method(method: str | None, *, default: str) -> str:
    """The coding method to use: ``default`` when ``method`` is None; ``"lasso"`` falls back to
    ``"fista"`` when no exact lasso solver is registered.

    Raises
    ------
    ValueError
        When the method is not registered in :data:`dictlearn.METHODS`.
    """
    name = default if method is None else method
    if not isinstance(name, str):
        raise TypeError(f"coding_method must be a str; got {type(name).__name__}")
    if name == "lasso" and "lasso" not in METHODS:
        name = "fista"
    if name not in METHODS:
        hint = ""
        if name in SPARSITY_METHODS:
            hint = (f" ({name!r} is the default coding step of K-SVD and MOD; it is provided by "
                    "dictlearn.coding when installed, or choose an alpha-based method such as "
                    "'fista')")
        raise ValueError(
            f"coding_method must be one of {sorted(METHODS)}; got {name!r}{hint}"
        )
    return name


@functools.lru_cache(maxsize=64)
def _explicit_params(fn) -> tuple[frozenset[str], bool]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return frozenset(), True
    names = frozenset(n for n, p in params.items() if p.kind is not p.VAR_KEYWORD)
    return names, any(p.kind is p.VAR_KEYWORD for p in params.values())


@dataclass(frozen=True)
class CodingStep:
    """A configured coding step ``Z = sparse_encode(X, D, method=..., **options)``.

    Parameters
    ----------
    method : str
        A registered method name (already resolved).
    alpha : float or None
        l1 (or prior) weight, for the penalised methods.
    n_nonzero_coefs : int or None
        l0 budget, for the greedy methods.
    positive : bool
        Non-negative codes.
    options : dict
        Extra options passed to the method (``max_iter``, ``tol``, ``sigma``, …).
    """

    method: str
    alpha: float | None = None
    n_nonzero_coefs: int | None = None
    positive: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def penalty(self) -> str:
        """``"l0"``, ``"l1"`` or ``"cauchy"``: what the codes minimise."""
        if self.method == "cauchy":
            return "cauchy"
        names, _ = _explicit_params(METHODS[self.method])
        if self.method in SPARSITY_METHODS or ("n_nonzero_coefs" in names
                                               and "alpha" not in names):
            return "l0"
        return "l1"

    def accepts(self, option: str) -> bool:
        """Whether the method takes ``option`` (methods with ``**options`` take the lasso ones)."""
        names, var = _explicit_params(METHODS[self.method])
        return option in names or (var and option in {"alpha", "init", "positive", "max_iter",
                                                      "tol", "check_every", "lipschitz"})

    def __call__(self, X: Any, D: Any, *, init: Any = None) -> Any:
        """Codes (n_samples, n_atoms) of the rows of ``X`` on the atoms of ``D``."""
        opts: dict[str, Any] = dict(self.options)
        if self.penalty == "l0":
            if self.n_nonzero_coefs is not None:
                opts["n_nonzero_coefs"] = self.n_nonzero_coefs
        elif self.alpha is not None:
            opts["alpha"] = self.alpha
        if self.positive:
            opts["positive"] = True
        if init is not None and self.accepts("init"):
            opts["init"] = init
        return sparse_encode(X, D, method=self.method, **opts)

    def objective(self, X: Any, D: Any, Z: Any, *, xp: Any) -> Any:
        """Per-sample objective the codes minimise, shape (n_samples,)."""
        from ..kernels import call

        R = X - call("codes_times_dictionary", "auto", xp, Z, D)
        f = 0.5 * xp.sum(R * R, axis=1)
        pen = self.penalty
        if pen == "l1":
            return f + float(self.alpha or 0.0) * xp.sum(xp.abs(Z), axis=1)
        if pen == "cauchy":
            sigma = float(self.options.get("sigma", 1.0))
            return f + float(self.alpha or 0.0) * xp.sum(xp.log1p((Z / sigma) ** 2), axis=1)
        return f


def make_coder(
    coding_method: str | None,
    *,
    default: str,
    alpha: float | None,
    n_nonzero_coefs: int | None,
    positive_code: bool,
    coding_options: dict[str, Any] | None,
    n_atoms: int,
) -> CodingStep:
    """Validate the coding parameters of a learner and build its :class:`CodingStep`."""
    from .._validation import check_nonneg_scalar, check_positive_int

    check_positive_int(n_atoms, "n_atoms")
    method = resolve_coding_method(coding_method, default=default)
    if alpha is not None:
        alpha = check_nonneg_scalar(alpha, "alpha")
    if n_nonzero_coefs is not None:
        n_nonzero_coefs = check_positive_int(n_nonzero_coefs, "n_nonzero_coefs", upper=n_atoms,
                                             upper_name="n_atoms")
    if coding_options is not None and not isinstance(coding_options, dict):
        raise TypeError(
            f"coding_options must be a dict; got {type(coding_options).__name__}"
        )
    coder = CodingStep(method, alpha, n_nonzero_coefs, bool(positive_code),
                       dict(coding_options or {}))
    if coder.penalty == "l0" and n_nonzero_coefs is None:
        raise ValueError(
            f"coding_method={method!r} needs n_nonzero_coefs (an int in [1, n_atoms={n_atoms}]);"
            " got None"
        )
    if coder.penalty != "l0" and alpha is None:
        raise ValueError(f"coding_method={method!r} needs alpha (a float >= 0); got None")
    return coder
