"""The registry of sparse-coding methods behind :func:`dictlearn.sparse_encode`.

A method is a public function ``method(X, dictionary, **options) -> Result`` that validates
its own inputs, registered with its metadata by ``@register_method("name", penalty=...)``.
Callers (learners, :class:`~dictlearn.SparseCoder`, :func:`~dictlearn.compare_inference`)
choose by the metadata of :func:`method_spec`; nothing branches on a method's name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._lazy import Registry
from ..objectives import PENALTIES

__all__ = ["CODING", "METHODS", "SPECS", "MethodSpec", "MethodTable", "method_spec",
           "register_method"]



@dataclass(frozen=True)
class MethodSpec:
    r"""What a registered coding method is, for callers that choose by data.

    Attributes
    ----------
    name : str
    fn : callable
        ``fn(X, dictionary, **options) -> Result``.
    penalty : {"l1", "l0", "cauchy"}
        What the codes minimise: :math:`\tfrac12\|x - zD\|^2` plus :math:`\alpha\|z\|_1`
        (``"l1"``, option ``alpha``), under :math:`\|z\|_0 \le k` (``"l0"``, option
        ``n_nonzero_coefs``), or plus :math:`\alpha\sum_j\log(1 + (z_j/\sigma)^2)`
        (``"cauchy"``).
    greedy : bool
        Builds the support atom by atom (OMP): its effort is the sparsity, not iterations.
    iterative : bool
        ``max_iter=k`` with ``tol=0`` runs exactly ``k`` steps of the method.
    backends : frozenset of str
        ``"array-api"`` (runs on any array library) and/or ``"numba"`` (a compiled kernel).
    options : frozenset of str
        Keyword options the method takes.
    aliases : tuple of str
        Other names it is registered under.
    step : callable or None
        The method's entry for a learner's inner loop, on inputs the learner has already
        checked and scaled (the arrays of one namespace ``xp``, ``dictionary`` in ``X``'s
        dtype): ``step(X, dictionary, *, xp, **options) -> codes``, the codes of ``fn`` without
        its per-call validation, scaling and :class:`~dictlearn.Result` (None: learners call
        ``fn``).
    step_objective : bool
        ``step`` takes ``with_objective=True`` and then returns ``(codes, objective)``, the
        objective per sample of :func:`dictlearn.objectives.sample_objective` for the method's
        penalty (read from ``step``'s keywords at registration).
    """

    name: str
    fn: Callable[..., Any]
    penalty: str
    greedy: bool = False
    iterative: bool = False
    backends: frozenset[str] = frozenset({"array-api"})
    options: frozenset[str] = frozenset()
    aliases: tuple[str, ...] = ()
    step: Callable[..., Any] | None = None
    step_objective: bool = False

    @property
    def budget(self) -> str:
        """The option that sets how sparse the codes are: ``"n_nonzero_coefs"`` or
        ``"alpha"``."""
        return "n_nonzero_coefs" if self.penalty == "l0" else "alpha"

    def accepts(self, option: str) -> bool:
        """Whether the method takes the keyword ``option``."""
        return option in self.options


def _keyword_options(fn: Callable[..., Any]) -> frozenset[str]:
    params = inspect.signature(fn).parameters.values()
    return frozenset(p.name for p in params if p.kind is p.KEYWORD_ONLY)


class MethodTable:
    """A registry of methods of one kind: name (and alias) → function and :class:`MethodSpec`.

    One table per kind of input: :data:`METHODS` for coding rows on a dictionary,
    :data:`dictlearn.signal.CSC_METHODS` for convolutional (shift-invariant) coding. Both
    mappings are lazy :class:`~dictlearn._lazy.Registry` objects sharing one table of
    providers (:meth:`provide`): a built-in method's module is imported on the first lookup
    of its name, while listing the names imports nothing.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.methods: Registry[Callable[..., Any]] = Registry(kind)
        self.specs: Registry[MethodSpec] = Registry(kind, self.methods.providers)

    def provide(self, name: str, target: str) -> None:
        """Record that importing ``target`` (``"module:function"``) registers ``name``."""
        self.methods.provide(name, target)

    def register(self, name: str, *, penalty: str, greedy: bool = False,
                 iterative: bool = False, backends: Iterable[str] = ("array-api",),
                 options: Iterable[str] | None = None, aliases: Iterable[str] = (),
                 step: Callable[..., Any] | None = None
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator that registers a coding function under ``name`` (and ``aliases``).

        ``options`` defaults to the function's keyword-only parameters, read once here;
        ``step`` is the learners' entry (:attr:`MethodSpec.step`).

        Examples
        --------
        >>> import dictlearn
        >>> spec = dictlearn.method_spec("fista")
        >>> spec.penalty, spec.greedy, spec.iterative, spec.accepts("alpha")
        ('l1', False, True, True)
        """
        if penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {sorted(PENALTIES)}; got {penalty!r}")

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            spec = MethodSpec(name, fn, penalty, bool(greedy), bool(iterative),
                              frozenset(backends),
                              _keyword_options(fn) if options is None else frozenset(options),
                              tuple(aliases), step,
                              step is not None and "with_objective" in _keyword_options(step))
            for key in (name, *spec.aliases):
                old = self.methods.registered(key)
                same = old is not None and (old.__module__, old.__qualname__) == (
                    fn.__module__, fn.__qualname__)
                if old is not None and old is not fn and not same:  # a re-import replaces it
                    raise ValueError(f"a {self.kind} method named {key!r} is already registered")
            for key in (name, *spec.aliases):
                self.methods[key], self.specs[key] = fn, spec
            return fn

        return deco

    def spec(self, name: str) -> MethodSpec:
        """The :class:`MethodSpec` of a registered method, with a clear error listing the
        known ones.

        Raises
        ------
        ValueError
            When ``name`` is not registered.
        """
        if not isinstance(name, str) or name not in self.specs:
            raise ValueError(f"method must be one of {self.specs.names()}; got {name!r}")
        return self.specs[name]


#: The sparse-coding methods of :func:`dictlearn.sparse_encode`.
CODING = MethodTable("sparse-coding")

# The built-in methods and the modules that register them (imported on first lookup);
# tests/test_startup.py checks that importing every provider registers exactly these names.
for _name, _target in {"omp": "dictlearn.coding.omp:omp",
                       "ista": "dictlearn.coding.proximal_gradient:ista",
                       "fista": "dictlearn.coding.proximal_gradient:fista",
                       "iht": "dictlearn.coding.iht:iht",
                       "lasso": "dictlearn.coding.lasso_cd:lasso",
                       "lasso_cd": "dictlearn.coding.lasso_cd:lasso",
                       "cauchy": "dictlearn.learning.olshausen_field:cauchy_encode"}.items():
    CODING.provide(_name, _target)

#: Name (and alias) → :class:`MethodSpec` (a lazy mapping).
SPECS: Registry[MethodSpec] = CODING.specs

#: Name (and alias) → coding function returning a :class:`~dictlearn.Result` (a lazy mapping).
METHODS: Registry[Callable[..., Any]] = CODING.methods

register_method = CODING.register
method_spec = CODING.spec
