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

from dataclasses import dataclass, field, replace
from typing import Any

from ..coding import METHODS, MethodSpec, method_spec, sparse_encode

__all__ = ["CodingStep", "resolve_coding_method"]


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
        raise ValueError(f"coding_method must be one of {sorted(METHODS)}; got {name!r}")
    return name


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
    def spec(self) -> MethodSpec:
        """The method's registry entry (:func:`dictlearn.method_spec`)."""
        return method_spec(self.method)

    @property
    def penalty(self) -> str:
        """``"l0"``, ``"l1"`` or ``"cauchy"``: what the codes minimise."""
        return self.spec.penalty

    def accepts(self, option: str) -> bool:
        """Whether the method takes the keyword ``option``."""
        return self.spec.accepts(option)

    def _options(self, init: Any) -> dict[str, Any]:
        """The method's keyword options: ``options``, the budget, ``positive``, ``init``."""
        opts: dict[str, Any] = dict(self.options)
        budget = self.spec.budget  # "n_nonzero_coefs" (l0 methods) or "alpha"
        value = self.n_nonzero_coefs if budget == "n_nonzero_coefs" else self.alpha
        if value is not None:
            opts[budget] = value
        if self.positive:
            opts["positive"] = True
        if init is not None and self.accepts("init"):
            opts["init"] = init
        return opts

    def __call__(self, X: Any, D: Any, *, init: Any = None) -> Any:
        """Codes (n_samples, n_atoms) of the rows of ``X`` on the atoms of ``D``."""
        return sparse_encode(X, D, method=self.method, **self._options(init))

    def scaled(self, sc: Any) -> CodingStep:
        """The coding step of the signals ``X / s`` (:class:`~dictlearn._scale.Scale`):
        ``alpha / s`` (l1), ``alpha / s²`` and ``sigma / s`` (Cauchy), OMP's ``tol / s²``."""
        if not sc.scaled:
            return self
        opts = dict(self.options)
        alpha = self.alpha
        if self.penalty == "l1":
            alpha = sc.down(alpha)
        elif self.penalty == "cauchy":
            alpha = sc.down(alpha, 2)
            if "sigma" in opts:
                opts["sigma"] = sc.down(opts["sigma"])
        elif self.spec.greedy and opts.get("tol") is not None:
            opts["tol"] = sc.down(opts["tol"], 2)  # a bound on ‖x − zD‖²
        return replace(self, alpha=alpha, options=opts)

    def encode(self, X: Any, D: Any, *, xp: Any, init: Any = None) -> Any:
        """The codes of :meth:`__call__` in a learner's inner loop: ``X`` checked and scaled
        by the learner, ``D`` its own dictionary. A method with a learners' entry
        (:attr:`~dictlearn.coding.MethodSpec.step`) skips its per-call validation, scaling
        and result record; the others are called as by :meth:`__call__`."""
        step = self.spec.step
        if step is None:
            return self(X, D, init=init)
        return step(X, D, xp=xp, **self._options(init))

    def encode_with_objective(self, X: Any, D: Any, *, xp: Any,
                              init: Any = None) -> tuple[Any, Any]:
        """:meth:`encode` and :meth:`objective` in one: ``(Z, objective per sample)``.

        A method whose learners' entry computes the objective as it codes
        (:attr:`~dictlearn.coding.MethodSpec.step_objective`, the lasso) saves the second
        pass over the codes; the values are those of :meth:`objective`."""
        spec = self.spec
        if spec.step_objective and self.penalty == "l1":
            return spec.step(X, D, xp=xp, with_objective=True, **self._options(init))
        Z = self.encode(X, D, xp=xp, init=init)
        return Z, self.objective(X, D, Z, xp=xp)

    def objective(self, X: Any, D: Any, Z: Any, *, xp: Any) -> Any:
        """Per-sample objective the codes minimise, shape (n_samples,)
        (:func:`dictlearn.objectives.sample_objective`; kernel ``sample_objective``)."""
        from ..kernels import call

        return call("sample_objective", "auto", xp, X, D, Z, alpha=float(self.alpha or 0.0),
                    penalty=self.penalty, sigma=float(self.options.get("sigma", 1.0)))


def make_coder(coding_method: str | None, *, default: str, alpha: float | None,
               n_nonzero_coefs: int | None, positive_code: bool,
               coding_options: dict[str, Any] | None, n_atoms: int) -> CodingStep:
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
