"""Fast construction of SDK models the venue built itself from already-valid parts.

A backtest books tens of thousands of fills, and pydantic's ``model_construct``
spends most of its ~5 µs walking field metadata this venue never uses. The
shortcut, and the conditions under which it is exactly what ``model_construct``
would build, live in :mod:`crypto_bot_core.support.trusted`, shared with the
engine's order path; ``tests/.../test_paper_shortcuts.py`` compares both on
every model the venue builds.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from crypto_bot_core.support import trusted

M = TypeVar("M", bound=BaseModel)


def build(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``values`` (every field, already valid), unvalidated."""
    return trusted.build(cls, **values)
