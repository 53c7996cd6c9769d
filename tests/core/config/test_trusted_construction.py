"""Building SDK models without validation (the engine's hot path) gives exactly what
validation would have given, including defaults, and falls back to pydantic's own
construction wherever the shortcut would not be exact (aliases, extra keys allowed).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from crypto_bot_core.support.trusted import build, maker, replace, shortcut_fields
from crypto_bot_sdk import Signal

TS = datetime(2024, 10, 1, tzinfo=UTC)


class Aliased(BaseModel):
    """A model the shortcut cannot build exactly: a field read under another name."""

    model_config = ConfigDict(frozen=True)

    price: float = Field(alias="px")
    venue: str = "alpha"


def test_a_model_built_from_some_fields_gets_its_defaults_for_the_rest() -> None:
    built = build(Signal, agent="ema", symbol="BTC/USDT", ts=TS, score=0.5, confidence=0.9)
    assert built == Signal(agent="ema", symbol="BTC/USDT", ts=TS, score=0.5, confidence=0.9)
    assert (built.rationale, built.features, built.model_version) == ("", {}, None)


def test_a_model_with_an_alias_is_never_built_by_the_shortcut() -> None:
    assert shortcut_fields(Aliased) is None
    assert shortcut_fields(Signal) == frozenset(Signal.model_fields)
    make = maker(Aliased)
    made = make({"price": 10.0, "venue": "beta"})
    assert made == Aliased.model_construct(price=10.0, venue="beta")
    assert (made.price, made.venue) == (10.0, "beta")
    moved = replace(made, venue="gamma")
    assert (moved.price, moved.venue) == (10.0, "gamma")
    assert made.venue == "beta"  # a copy: the original is unchanged
