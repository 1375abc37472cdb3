"""Lazy package namespaces (PEP 562): a name is imported from its module on first access.

A package's ``__init__`` lists what it exports as ordinary imports inside an
``if TYPE_CHECKING:`` block, the one list read by type checkers, linters and the docs
(mkdocstrings reads the source statically), and then calls :func:`attach`, which reads that
same block with :mod:`ast` and installs a module ``__getattr__`` and ``__dir__``. So
``import dictlearn`` imports none of scikit-learn, matplotlib, numba or scipy; each loads
when the first name that needs it is used (``dictlearn.DictionaryLearning`` imports
scikit-learn's ``BaseEstimator``; ``dictlearn.sparse_encode`` does not).

A registry (:class:`Registry`) is lazy the same way: it knows each built-in name with the
module that registers it (``provide``), lists and checks names without importing anything,
and imports a provider on the first lookup of one of its names. So ``import dictlearn``
imports no NumPy-using module at all (``tests/test_startup.py``).

Examples
--------
>>> import dictlearn
>>> "sparse_encode" in dir(dictlearn)
True
>>> dictlearn.sparse_encode.__module__
'dictlearn.coding.encode'
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

__all__ = ["Registry", "attach", "lazy_names"]

V = TypeVar("V")


def lazy_names(source: str) -> dict[str, tuple[str, str | None]]:
    """Exported name → (relative module, attribute or ``None`` for a submodule), read from the
    relative imports in the ``if TYPE_CHECKING:`` blocks of a package's source.

    >>> lazy_names("if TYPE_CHECKING:\\n    from . import a\\n    from .b import c as d")
    {'a': ('.a', None), 'd': ('.b', 'c')}
    """
    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            continue
        for imp in node.body:
            if not isinstance(imp, ast.ImportFrom) or imp.level != 1:
                continue
            for alias in imp.names:
                exported = alias.asname or alias.name
                if imp.module is None:  # from . import sub
                    names[exported] = ("." + alias.name, None)
                else:
                    names[exported] = ("." + imp.module, alias.name)
    return names


def attach(package: str, path: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package ``package`` whose ``__init__`` is ``path``.

    Each resolved name is stored in the package's namespace, so ``__getattr__`` runs once per
    name; a missing name raises :class:`AttributeError` as for any module.
    """
    table: dict[str, tuple[str, str | None]] | None = None

    def _table() -> dict[str, tuple[str, str | None]]:
        nonlocal table
        if table is None:
            with open(path, encoding="utf-8") as f:
                table = lazy_names(f.read())
        return table

    def __getattr__(name: str) -> Any:
        entry = _table().get(name)
        if entry is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(entry[0], package)
        value = module if entry[1] is None else getattr(module, entry[1])
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        mod = sys.modules[package]
        return sorted(set(vars(mod)) | set(_table()) | set(getattr(mod, "__all__", ())))

    # A name exported from the submodule of the same name (``amortized.train``,
    # ``learning.mod``): importing that submodule (by ``__getattr__`` or any other way) makes
    # the import system set the package attribute to the module, after which ``__getattr__``
    # would never run for the name. The package's class turns that assignment into the
    # export, so the submodule is still imported only when first used.
    shadowed = frozenset(name for name, (module, attr) in _table().items()
                         if module == "." + name and attr == name)
    mod = sys.modules[package]
    if shadowed:
        mod.__dict__["__lazy_shadowed__"] = shadowed
        mod.__class__ = _Package
    return __getattr__, __dir__


class _Package(types.ModuleType):
    """A lazy package whose exports ``name`` live in submodules ``.name`` (see :func:`attach`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, types.ModuleType) and name in self.__dict__.get(
                "__lazy_shadowed__", ()) and value.__name__ == f"{self.__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)


class Registry(MutableMapping[str, V]):
    """A registry of one kind: name → value, filled by the providers' registration code.

    ``provide(name, "package.module:attribute")`` records that importing that module registers
    ``name`` (``attribute`` is the object it registers, checked once imported). Membership,
    iteration, ``len`` and :meth:`names` read the recorded names and import nothing; looking a
    provided name up (``registry[name]``, ``.get``, ``.values()``, ``.items()``) imports its
    provider first. Names registered directly (``registry[name] = value``, by a decorator of
    a user's module) need no provider.

    Examples
    --------
    >>> reg = Registry("demo")
    >>> reg.provide("dumps", "json:dumps")
    >>> "dumps" in reg, sorted(reg)
    (True, ['dumps'])
    >>> reg["dumps"]  # the provider registers nothing here: a clear error
    Traceback (most recent call last):
    ...
    LookupError: the demo provider 'json' did not register 'dumps'
    """

    def __init__(self, kind: str, providers: dict[str, str] | None = None) -> None:
        self.kind = kind
        self._values: dict[str, V] = {}
        # shared by registries filled by the same decorator (a table's functions and specs)
        self.providers: dict[str, str] = {} if providers is None else providers

    def provide(self, name: str, target: str) -> None:
        """Record that importing the module of ``target`` (``"module:attribute"``) registers
        ``name``."""
        if ":" not in target:
            raise ValueError(f"target must be 'module:attribute'; got {target!r}")
        self.providers[name] = target

    def load(self, name: str) -> None:
        """Import the provider of ``name`` (no-op when it is registered or unknown)."""
        target = self.providers.get(name)
        if target is None or name in self._values:
            return
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        if not hasattr(module, attr) or name not in self._values:
            raise LookupError(f"the {self.kind} provider {module_name!r} did not register "
                              f"{name!r}")

    def names(self) -> list[str]:
        """Every name, registered or provided, sorted (imports nothing)."""
        return sorted(self._values.keys() | self.providers.keys())

    def __getitem__(self, name: str) -> V:
        if isinstance(name, str) and name not in self._values:
            self.load(name)
        return self._values[name]

    def __setitem__(self, name: str, value: V) -> None:
        self._values[name] = value

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.providers.pop(name, None)
        self._values.pop(name, None)

    def registered(self, name: str) -> V | None:
        """The value registered under ``name`` so far, or None (imports nothing)."""
        return self._values.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._values or name in self.providers

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._values.keys() | self.providers.keys())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"
