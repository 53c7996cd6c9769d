"""Fast construction of SDK models the venue built itself from already-valid parts.

A backtest books tens of thousands of fills; pydantic's ``model_construct``
spends most of its ~5 µs walking field metadata for aliases and defaults this
venue never uses. :func:`build` sets exactly what ``model_construct`` sets
when every field is given (``__dict__``, ``__pydantic_fields_set__``, no extra,
no private state), and falls back to ``model_construct`` for any model where
that shortcut would not be identical (aliases, private attributes, post-init,
root models). ``tests/.../test_paper_trusted.py`` compares both on every
model used, so a pydantic upgrade that changes the internals fails a test
instead of corrupting objects.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_object_setattr = object.__setattr__
_FIELDS: dict[type[BaseModel], frozenset[str] | None] = {}


def _shortcut_fields(cls: type[BaseModel]) -> frozenset[str] | None:
    """The model's field names if the shortcut is exact for it, else None."""
    if (
        cls.__pydantic_root_model__
        or cls.__pydantic_post_init__
        or cls.__private_attributes__
        or cls.model_config.get("extra") == "allow"
        or any(
            f.alias is not None or f.validation_alias is not None
            for f in cls.__pydantic_fields__.values()
        )
    ):
        return None
    return frozenset(cls.__pydantic_fields__)


def build(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``values`` (every field, already valid), unvalidated."""
    try:
        names = _FIELDS[cls]
    except KeyError:
        names = _FIELDS[cls] = _shortcut_fields(cls)
    if names is None or len(values) != len(names) or values.keys() != names:
        return cls.model_construct(**values)
    instance = cls.__new__(cls)
    _object_setattr(instance, "__dict__", values)
    _object_setattr(instance, "__pydantic_fields_set__", set(names))
    _object_setattr(instance, "__pydantic_extra__", None)
    _object_setattr(instance, "__pydantic_private__", None)
    return instance
