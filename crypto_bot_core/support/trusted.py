"""Building and copying SDK models the engine made itself, without pydantic's slow paths.

The order path builds a dozen models per order (request, order, intent,
signals, contexts, snapshots). They are made from values the engine already
holds as validated, so validation is wasted work, and even pydantic's
``model_construct`` and ``model_copy`` spend most of their 5-20 us walking
field metadata. :func:`build` sets exactly what ``model_construct`` sets when
every field is given, and :func:`replace` what ``model_copy(update=...)``
sets; for any model where that shortcut would not be identical (aliases,
private attributes, extra fields, post-init hooks, root models) both fall
back to pydantic. ``tests/core/engine/test_trusted.py`` compares them with
pydantic on every model the engine builds this way, so a pydantic upgrade
that changes the internals fails a test instead of corrupting objects.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_FIELDS: dict[type[BaseModel], frozenset[str] | None] = {}


def shortcut_fields(cls: type[BaseModel]) -> frozenset[str] | None:
    """The model's field names if the shortcuts are exact for it, else None."""
    try:
        return _FIELDS[cls]
    except KeyError:
        pass
    exact = not (
        cls.__pydantic_root_model__
        or cls.__pydantic_post_init__
        or cls.__private_attributes__
        or cls.model_config.get("extra") == "allow"
        or any(
            f.alias is not None or f.validation_alias is not None
            for f in cls.__pydantic_fields__.values()
        )
    )
    names = frozenset(cls.__pydantic_fields__) if exact else None
    _FIELDS[cls] = names
    return names


_SHARED_SETS: dict[type[BaseModel], set[str] | None] = {}


def _fields_set(cls: type[BaseModel], names: frozenset[str]) -> set[str]:
    """The ``__pydantic_fields_set__`` of a new instance of ``cls`` with every field set.

    A frozen model's instances share one set: nothing can add a field to a frozen
    instance, and pydantic's copies copy the set before changing it. A backtest keeps
    a fill per trade for the whole run, and a set per instance was ~0.7 KB of each.
    """
    try:
        shared = _SHARED_SETS[cls]
    except KeyError:
        shared = _SHARED_SETS[cls] = set(names) if cls.model_config.get("frozen") else None
    return shared if shared is not None else set(names)


def build(cls: type[M], **values: Any) -> M:
    """An instance of ``cls`` holding ``values`` (every field, already valid), unvalidated."""
    names = shortcut_fields(cls)
    if names is None or len(values) != len(names) or values.keys() != names:
        return cls.model_construct(**values)
    instance = cls.__new__(cls)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", _fields_set(cls, names))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def replace(model: M, **update: Any) -> M:
    """``model.model_copy(update=update)`` (a shallow copy with ``update`` applied)."""
    cls = type(model)
    names = shortcut_fields(cls)
    if names is None or not update.keys() <= names:
        return model.model_copy(update=update)
    instance = cls.__new__(cls)
    _set(instance, "__dict__", {**model.__dict__, **update})
    _set(instance, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def maker(cls: type[M]) -> Any:
    """A function ``make(values)`` building ``cls`` from a dict holding every field, unvalidated.

    For the few models made per bar (a data source's bars): :func:`build` checks the keys
    on every call, ~1.6 us; a maker checks them once here and then only sets the instance's
    slots, ~0.8 us. ``values`` becomes the instance's ``__dict__``: pass a fresh dict.
    Falls back to ``model_construct`` where the shortcut would not be exact.
    """
    names = shortcut_fields(cls)
    if names is None:
        return lambda values: cls.model_construct(**values)
    new = cls.__new__
    frozen = bool(cls.model_config.get("frozen"))
    shared = _fields_set(cls, names)

    def make(values: dict[str, Any]) -> M:
        instance = new(cls)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", shared if frozen else set(names))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance

    return make
