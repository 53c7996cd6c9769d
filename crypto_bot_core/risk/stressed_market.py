"""A market view with a scenario's shocks applied: the paper sandbox of a stress test.

Wrap the engine's (or a test's) view and hand the wrapper to risk rules,
agents or the paper exchange's decisions, and they see the market of the
scenario:

* last prices and order books moved by the scenario's price factor;
* order books thinned by its liquidity shocks (``remove`` of every level);
* a halted venue, and a market banned on a venue, have no price and no book,
  and their instruments are gone from :meth:`instruments`.

Bars are history (what happened before the shock) and pass through, as do
metrics. Volatility, correlation and funding shocks change no quote; they act
through the models (:mod:`.stress`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from crypto_bot_core.risk.liquidity import thinned
from crypto_bot_core.risk.scenario import (
    ALL,
    BanShock,
    ExchangeHaltShock,
    LiquidityShock,
    Scenario,
)
from crypto_bot_sdk import Bar, Instrument, MarketView, MetricPoint, OrderBook


class StressedMarketView:
    """A read-only :class:`~crypto_bot_sdk.MarketView` of ``market`` under ``scenario``.

    ``largest`` exchange halts need to know where the equity is; pass the
    venue it means as ``largest_venue`` (the stress result names it).
    """

    def __init__(
        self, market: MarketView, scenario: Scenario, *, largest_venue: str | None = None
    ) -> None:
        self._market = market
        self._scenario = scenario
        self._halted = {
            shock.venue if shock.venue is not None else largest_venue
            for shock in scenario.of_kind(ExchangeHaltShock)
        } - {None}

    @property
    def now(self) -> datetime:
        return self._market.now

    def _closed(self, symbol: str, venue: str | None) -> bool:
        if venue is None:
            return False
        if venue in self._halted:
            return True
        return any(
            ban.hits(symbol, self._scenario.groups) and (ban.venues == ALL or venue in ban.venues)
            for ban in self._scenario.of_kind(BanShock)
        )

    def instruments(self) -> Sequence[Instrument]:
        return tuple(i for i in self._market.instruments() if not self._closed(i.symbol, i.venue))

    def bars(
        self, symbol: str, venue: str | None = None, limit: int | None = None
    ) -> Sequence[Bar]:
        return self._market.bars(symbol, venue, limit)

    def last_price(self, symbol: str, venue: str | None = None) -> Decimal | None:
        if self._closed(symbol, venue):
            return None
        price = self._market.last_price(symbol, venue)
        return None if price is None else price * self._scenario.price_factor(symbol)

    def depth_kept(self, symbol: str, venue: str) -> Decimal:
        """The share of ``symbol``'s depth on ``venue`` the liquidity shocks leave."""
        keep = Decimal(1)
        for shock in self._scenario.of_kind(LiquidityShock):
            if shock.hits(symbol, self._scenario.groups) and (
                shock.venues == ALL or venue in shock.venues
            ):
                keep *= 1 - shock.remove
        return keep

    def order_book(self, symbol: str, venue: str) -> OrderBook | None:
        if self._closed(symbol, venue):
            return None
        book = self._market.order_book(symbol, venue)
        if book is None:
            return None
        return thinned(
            book, 1 - self.depth_kept(symbol, venue), self._scenario.price_factor(symbol)
        )

    def metrics(
        self, name: str, symbol: str | None = None, limit: int | None = None
    ) -> Sequence[MetricPoint]:
        return self._market.metrics(name, symbol, limit)
