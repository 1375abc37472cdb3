"""The registry of sparse-coding methods behind :func:`dictlearn.sparse_encode`.

A method is a public function ``method(X, dictionary, **options) -> Result`` that validates
its own inputs. Later modules add methods with ``@register_method("name")``; nothing here
branches on the name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["METHODS", "register_method"]

#: Name → coding function returning a :class:`~dictlearn.Result`.
METHODS: dict[str, Callable[..., Any]] = {}


def register_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers a coding function under ``name``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        old = METHODS.get(name)
        same = old is not None and (old.__module__, old.__qualname__) == (
            fn.__module__, fn.__qualname__)
        if old is not None and old is not fn and not same:  # a re-import replaces itself
            raise ValueError(f"a sparse-coding method named {name!r} is already registered")
        METHODS[name] = fn
        return fn

    return deco


def get_method(name: str) -> Callable[..., Any]:
    """Look up a coding method, with a clear error listing the known ones."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"method must be one of {sorted(METHODS)}; got {name!r}") from None
