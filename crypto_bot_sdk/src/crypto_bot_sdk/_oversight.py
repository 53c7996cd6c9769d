"""The Oversight contract (kind ``oversight``, API 1.1.0): components that watch the whole book.

Risk rules judge one intent at a time and are pure. Some duties need the
whole portfolio every tick and a memory instead: a risk monitor compares VaR,
expected shortfall and stress losses with limits and alerts once per crossing;
an arbitrage guard finds cross-venue spreads beyond fees and proposes hedged
pairs. An oversight component reviews an :class:`OversightContext` each tick
and answers with an :class:`OversightOutcome`: alerts (the engine writes them
to the ledger, then hands them to the notifiers) and paired intents (the
engine sends every leg through the risk rules, then all legs or none).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import ConfigDict, Field, PlainValidator

from crypto_bot_sdk._base import FrozenModel, Money, UtcDatetime
from crypto_bot_sdk._component import Component, ConfigT, PluginKind
from crypto_bot_sdk._decisions import Alert
from crypto_bot_sdk._market_view import MarketView, check_market_view
from crypto_bot_sdk._orders import Order, OrderIntent
from crypto_bot_sdk._portfolio import PortfolioSnapshot


class OversightContext(FrozenModel):
    """What an oversight component sees at ``ts``: the book, the market and the venues' fees."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    ts: UtcDatetime
    portfolio: PortfolioSnapshot
    market: Annotated[MarketView, PlainValidator(check_market_view)]
    open_orders: tuple[Order, ...] = ()
    fees: Mapping[str, Money] = Field(
        default_factory=dict,
        description="Taker fee rate per venue (0.001 = 10 bps), as the router charges it.",
    )

    def taker_fee(self, venue: str, default: Decimal) -> Decimal:
        """The venue's taker fee, or ``default`` where the engine knows none."""
        return self.fees.get(venue, default)


@dataclass(frozen=True, slots=True)
class PairedIntents:
    """Intents that must trade together or not at all: the legs of a hedge or an arbitrage.

    Each leg names its venue (the legs exist *because* of their venues, so the
    router does not choose). The engine runs every leg through the risk
    rules; if any leg is refused none is sent, and if a rule shrinks a leg
    every leg is cut to the smallest approved quantity. ``evidence`` (plain
    strings: spreads, fees, edge in bps, the venues) goes into the ledger
    with the orders, or with the refusal.
    """

    legs: tuple[OrderIntent, ...]
    evidence: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        legs = tuple(self.legs)
        if len(legs) < 2:
            raise ValueError(f"PairedIntents needs at least two legs, got {len(legs)}")
        seen: set[str] = set()
        for leg in legs:
            if not isinstance(leg, OrderIntent):
                raise TypeError(f"a leg must be an OrderIntent, not {type(leg).__name__}")
            if not leg.venue:
                raise ValueError(
                    f"leg {leg.intent_id!r} ({leg.side.value} {leg.symbol}) names no venue; "
                    "every leg of a pair trades on the venue it was found on"
                )
            if leg.intent_id in seen:
                raise ValueError(f"two legs share intent_id {leg.intent_id!r}; give each its own")
            seen.add(leg.intent_id)
        bad = {
            k: v
            for k, v in self.evidence.items()
            if not (isinstance(k, str) and isinstance(v, str))
        }
        if bad:
            raise TypeError(f"evidence maps strings to strings (format numbers yourself): {bad}")
        object.__setattr__(self, "legs", legs)
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))


@dataclass(frozen=True, slots=True)
class OversightOutcome:
    """What one review found: alerts to raise and paired intents to trade (both may be empty)."""

    alerts: tuple[Alert, ...] = ()
    pairs: tuple[PairedIntents, ...] = ()

    def __post_init__(self) -> None:
        alerts, pairs = tuple(self.alerts), tuple(self.pairs)
        for alert in alerts:
            if not isinstance(alert, Alert):
                raise TypeError(f"alerts must be crypto_bot_sdk.Alert, not {type(alert).__name__}")
        for pair in pairs:
            if not isinstance(pair, PairedIntents):
                raise TypeError(f"pairs must be PairedIntents, not {type(pair).__name__}")
        object.__setattr__(self, "alerts", alerts)
        object.__setattr__(self, "pairs", pairs)

    def __bool__(self) -> bool:
        return bool(self.alerts or self.pairs)


class Oversight(Component[ConfigT]):
    """Reviews the whole book every tick; may keep state between reviews (what is in breach)."""

    kind = PluginKind.OVERSIGHT

    @abstractmethod
    async def review(self, context: OversightContext) -> OversightOutcome:
        """Required: alerts and paired intents for the book at ``context.ts``.

        Raise an alert when something *changes* (a limit crossed, back within
        it), not on every tick it lasts. Leave the context alone: it is the
        engine's state, lent for the call. Intents and alerts carry times no
        later than ``context.ts``.
        """
