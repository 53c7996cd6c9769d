"""The execution router: which venue gets an order, and the recorded reason why.

An order that opens or adds risk goes where the price after fees is best
(buy: lowest ``price x (1 + taker)``; sell: highest ``price x (1 - taker)``).
An order that reduces a position goes where that position is held, capped at
its size, so reduce-only never hits a venue with nothing to reduce. The
quotes of every venue at routing time are kept with the decision: they are the
best-execution evidence compliance reports are built from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crypto_bot_sdk import FeeSchedule, Instrument, MarketView, OrderIntent, Side

ZERO = Decimal(0)


@dataclass(frozen=True)
class VenueQuote:
    venue: str
    price: Decimal
    taker_fee: Decimal
    effective_price: Decimal


@dataclass(frozen=True)
class RoutingDecision:
    venue: str
    instrument: Instrument
    quantity: Decimal
    reason: str
    quotes: tuple[VenueQuote, ...]

    def quotes_payload(self) -> dict[str, dict[str, str]]:
        return {
            q.venue: {
                "price": str(q.price),
                "taker_fee": str(q.taker_fee),
                "effective_price": str(q.effective_price),
            }
            for q in self.quotes
        }


class NoRouteError(LookupError):
    """No venue can take the order (no instrument, no price, nothing to reduce)."""


@dataclass
class ExecutionRouter:
    """Chooses among venues listing the intent's symbol."""

    instruments: Mapping[tuple[str, str], Instrument]  # (venue, symbol) -> instrument
    fees: Mapping[str, FeeSchedule]  # venue -> fees

    _by_symbol: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _listed: int = field(default=-1, init=False, repr=False)

    def _venues(self, symbol: str) -> list[str]:
        """Venues listing ``symbol``, sorted; cached (instruments are loaded once, at start)."""
        if self._listed != len(self.instruments):
            self._by_symbol.clear()
            self._listed = len(self.instruments)
        venues = self._by_symbol.get(symbol)
        if venues is None:
            venues = self._by_symbol[symbol] = sorted(v for v, s in self.instruments if s == symbol)
        return venues

    def quotes(self, intent: OrderIntent, market: MarketView) -> list[VenueQuote]:
        quotes: list[VenueQuote] = []
        symbol = intent.symbol
        for venue in self._venues(symbol):
            if intent.venue and venue != intent.venue:
                continue
            price = market.last_price(symbol, venue)
            if price is None:
                continue
            schedule = self.fees.get(venue)
            fee = ZERO if schedule is None else schedule.taker
            effective = price * (1 + fee) if intent.side is Side.BUY else price * (1 - fee)
            quotes.append(VenueQuote(venue, price, fee, effective))
        return quotes

    def route(
        self,
        intent: OrderIntent,
        market: MarketView,
        positions: Mapping[str, Decimal],
    ) -> RoutingDecision:
        """``positions`` maps venue -> signed position in ``intent.symbol``."""
        quotes = self.quotes(intent, market)
        if not quotes:
            raise NoRouteError(
                f"no venue quotes {intent.symbol}"
                + (f" on {intent.venue}" if intent.venue else "")
                + "; check the exchanges' instruments and the data sources' venues"
            )
        if intent.reduce_only:
            # Reduce where the position is: a buy reduces shorts, a sell reduces longs.
            held = {
                venue: -qty if intent.side is Side.BUY else qty
                for venue, qty in positions.items()
                if (qty < 0 if intent.side is Side.BUY else qty > 0)
            }
            candidates = [q for q in quotes if q.venue in held]
            if not candidates:
                raise NoRouteError(
                    f"reduce-only {intent.side.value} {intent.symbol}: "
                    "no venue holds a position to reduce"
                )
            best = max(candidates, key=lambda q: (held[q.venue], q.venue))
            quantity = min(intent.quantity, held[best.venue])
            reason = (
                f"reduce-only: {best.venue} holds {held[best.venue]} of the position; "
                f"sending {quantity}"
            )
        else:
            if intent.side is Side.BUY:
                best = min(quotes, key=lambda q: (q.effective_price, q.venue))
            else:
                best = max(quotes, key=lambda q: (q.effective_price, q.venue))
            quantity = intent.quantity
            others = ", ".join(
                f"{q.venue} {q.effective_price}" for q in quotes if q.venue != best.venue
            )
            reason = (
                f"best {intent.side.value} price after taker fees: {best.venue} "
                f"{best.effective_price}" + (f" (others: {others})" if others else "")
            )
        instrument = self.instruments[(best.venue, intent.symbol)]
        return RoutingDecision(best.venue, instrument, quantity, reason, tuple(quotes))
