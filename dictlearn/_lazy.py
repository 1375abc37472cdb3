"""Lazy package namespaces (PEP 562): a name is imported from its module on first access.

A package's ``__init__`` lists what it exports as ordinary imports inside an
``if TYPE_CHECKING:`` block, the one list read by type checkers, linters and the docs
(mkdocstrings reads the source statically), and then calls :func:`attach`, which reads that
same block with :mod:`ast` and installs a module ``__getattr__`` and ``__dir__``. So
``import dictlearn`` imports none of scikit-learn, matplotlib, numba or scipy; each loads
when the first name that needs it is used (``dictlearn.DictionaryLearning`` imports
scikit-learn's ``BaseEstimator``; ``dictlearn.sparse_encode`` does not). A module that fills
a registry when imported must still be imported eagerly by its package (``dictlearn``
imports the coding methods and learners; ``dictlearn.signal`` is not lazy).

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
from collections.abc import Callable
from typing import Any

__all__ = ["attach", "lazy_names"]


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
    # ``learning.mod``) is bound now: importing that submodule any other way would set the
    # package attribute to the module, and ``__getattr__`` would never run for it.
    for name, (module, attr) in _table().items():
        if module == "." + name and attr == name:
            setattr(sys.modules[package], name,
                    getattr(importlib.import_module(module, package), attr))
    return __getattr__, __dir__
