"""Fast construction of SDK models the venue built itself from already-valid parts.

A backtest books tens of thousands of fills, and pydantic's ``model_construct``
spends most of its ~5 µs walking field metadata this venue never uses. The
shortcut, and the conditions under which it is exactly what ``model_construct``
would build, live in :mod:`crypto_bot_core.support.trusted`, shared with the
engine's order path; ``tests/.../test_paper_shortcuts.py`` compares both on
every model the venue builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from crypto_bot_core.support import trusted

M = TypeVar("M", bound=BaseModel)

_MAKERS: dict[type[BaseModel], tuple[frozenset[str] | None, Callable[[dict[str, Any]], Any]]] = {}


def build(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``values`` (every field, already valid), unvalidated.

    ``values`` becomes the instance's ``__dict__`` (the callers pass a fresh dict), through
    the model's :func:`~crypto_bot_core.support.trusted.maker`: no keyword arguments to
    repack, twice an order. Values missing a field go to ``model_construct``.
    """
    entry = _MAKERS.get(cls)
    if entry is None:
        entry = _MAKERS[cls] = (trusted.shortcut_fields(cls), trusted.maker(cls))
    names, make = entry
    if names is not None and values.keys() == names:
        made: M = make(values)
        return made
    return cls.model_construct(**values)
