"""Deterministic inputs plugin authors test against: instruments, bar series, market
views, intents and risk contexts (ledger records are in ``_ledger``).

Everything here is seeded or fixed, so a conformance failure reproduces on any
machine, and everything is built through the SDK's own validated models, so a
fixture cannot hand a plugin data that the engine would never produce.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from crypto_bot_sdk._contracts import RiskContext
from crypto_bot_sdk._market import Bar, Instrument, InstrumentKind, MarketEvent, Side, parse_symbol
from crypto_bot_sdk._market_view import InMemoryMarketView, MarketView
from crypto_bot_sdk._orders import Order, OrderIntent, OrderType
from crypto_bot_sdk._oversight import OversightContext
from crypto_bot_sdk._portfolio import Balance, PortfolioSnapshot, Position

FIXED_NOW = datetime(2024, 1, 1, tzinfo=UTC)
"""The instant the fakes start at unless told otherwise: tests never read the wall clock."""

DEFAULT_VENUE = "conformance"

_TIMEFRAME = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def timeframe_delta(timeframe: str) -> timedelta:
    """``"15m"`` -> 15 minutes. Months have no fixed length, so ``"1M"`` is refused."""
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValueError(
            f"timeframe {timeframe!r} is not <count><unit> with unit s, m, h, d or w (e.g. '1h')"
        )
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def make_instrument(
    symbol: str = "BTC/USDT",
    venue: str = DEFAULT_VENUE,
    *,
    tick_size: Decimal | str = "0.01",
    lot_size: Decimal | str = "0.001",
    min_notional: Decimal | str = "0",
) -> Instrument:
    """An instrument whose kind follows the symbol: ``BASE/QUOTE:SETTLE`` is a perpetual."""
    kind = InstrumentKind.SPOT if parse_symbol(symbol)[2] is None else InstrumentKind.PERPETUAL
    return Instrument(
        symbol=symbol,
        venue=venue,
        kind=kind,
        tick_size=Decimal(tick_size),
        lot_size=Decimal(lot_size),
        min_notional=Decimal(min_notional),
    )


def bar_series(
    symbol: str = "BTC/USDT",
    venue: str = DEFAULT_VENUE,
    *,
    count: int = 200,
    start: datetime = FIXED_NOW,
    timeframe: str = "1m",
    start_price: Decimal | str = "100",
    volatility: float = 0.01,
    tick_size: Decimal | str = "0.01",
    seed: int = 0,
) -> list[Bar]:
    """A seeded geometric random walk of consistent OHLCV bars on a tick grid.

    Each bar opens at the previous close; high and low are rounded outwards so
    they always bracket open and close after rounding.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    if not (volatility >= 0 and math.isfinite(volatility)):
        raise ValueError(f"volatility must be a finite number >= 0, not {volatility}")
    tick = Decimal(tick_size)
    step = timeframe_delta(timeframe)
    rng = random.Random(seed)

    def on_grid(value: float, rounding: str) -> Decimal:
        rounded = (Decimal(repr(value)) / tick).quantize(Decimal(1), rounding=rounding) * tick
        return max(rounded, tick)

    bars: list[Bar] = []
    close = Decimal(start_price)
    for index in range(count):
        open_ = close
        close = on_grid(float(open_) * math.exp(rng.gauss(0.0, volatility)), ROUND_HALF_EVEN)
        wick_up = 1 + abs(rng.gauss(0.0, volatility)) / 2
        wick_down = 1 - min(abs(rng.gauss(0.0, volatility)) / 2, 0.5)
        bars.append(
            Bar(
                symbol=symbol,
                venue=venue,
                ts=start + index * step,
                timeframe=timeframe,
                open=open_,
                high=on_grid(float(max(open_, close)) * wick_up, ROUND_CEILING),
                low=on_grid(float(min(open_, close)) * wick_down, ROUND_FLOOR),
                close=close,
                volume=Decimal(f"{rng.uniform(1.0, 100.0):.3f}"),
            )
        )
    return bars


def market_view_from(
    events: Iterable[MarketEvent], instruments: Iterable[Instrument] = ()
) -> InMemoryMarketView:
    """An :class:`InMemoryMarketView` that has seen ``events`` in order; ``now`` is the last ts."""
    view = InMemoryMarketView(instruments)
    for event in events:
        view.update(event)
    return view


def make_intent(
    symbol: str = "BTC/USDT",
    side: Side = Side.BUY,
    quantity: Decimal | str = "1",
    *,
    order_type: OrderType = OrderType.MARKET,
    price: Decimal | str | None = None,
    venue: str | None = DEFAULT_VENUE,
    ts: datetime = FIXED_NOW,
    intent_id: str | None = None,
    reduce_only: bool = False,
) -> OrderIntent:
    """An order intent; its id is derived from its contents so a fixture stays deterministic."""
    return OrderIntent(
        intent_id=intent_id or f"intent-{side.value}-{symbol}-{quantity}",
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=Decimal(quantity),
        price=None if price is None else Decimal(price),
        venue=venue,
        ts=ts,
        reduce_only=reduce_only,
    )


@dataclass(frozen=True)
class StaticRiskContext:
    """An immutable builder of :class:`RiskContext` (and :class:`OversightContext`) for tests.

    Each ``with_*`` returns a new builder, so one base context can be shared by
    several tests and varied per test without one test leaking into another.
    """

    ts: datetime = FIXED_NOW
    equity: Decimal = Decimal("10000")
    peak_equity: Decimal | None = None
    quote_currency: str = "USDT"
    balances: tuple[Balance, ...] = ()
    positions: tuple[Position, ...] = ()
    open_orders: tuple[Order, ...] = ()
    market: MarketView | None = None
    """``None`` gives an empty view whose clock reads :attr:`ts`."""
    reference_price: Decimal | None = None

    def with_equity(
        self, equity: Decimal | str, peak_equity: Decimal | str | None = None
    ) -> StaticRiskContext:
        peak = None if peak_equity is None else Decimal(peak_equity)
        return replace(self, equity=Decimal(equity), peak_equity=peak)

    def with_balance(
        self, asset: str, free: Decimal | str, used: Decimal | str = "0", venue: str = DEFAULT_VENUE
    ) -> StaticRiskContext:
        balance = Balance(asset=asset, venue=venue, free=Decimal(free), used=Decimal(used))
        return replace(self, balances=(*self.balances, balance))

    def with_position(
        self,
        symbol: str,
        quantity: Decimal | str,
        entry_price: Decimal | str,
        *,
        mark_price: Decimal | str | None = None,
        venue: str = DEFAULT_VENUE,
    ) -> StaticRiskContext:
        position = Position(
            symbol=symbol,
            venue=venue,
            quantity=Decimal(quantity),
            average_entry_price=Decimal(entry_price),
            mark_price=None if mark_price is None else Decimal(mark_price),
        )
        return replace(self, positions=(*self.positions, position))

    def with_open_order(self, order: Order) -> StaticRiskContext:
        return replace(self, open_orders=(*self.open_orders, order))

    def with_market(self, market: MarketView) -> StaticRiskContext:
        return replace(self, market=market)

    def with_reference_price(self, price: Decimal | str) -> StaticRiskContext:
        return replace(self, reference_price=Decimal(price))

    def _portfolio(self) -> PortfolioSnapshot:
        return PortfolioSnapshot(
            ts=self.ts,
            quote_currency=self.quote_currency,
            balances=self.balances,
            positions=self.positions,
            equity=self.equity,
            peak_equity=self.peak_equity,
        )

    def _market(self) -> MarketView:
        return self.market if self.market is not None else InMemoryMarketView(now=self.ts)

    def build(self) -> RiskContext:
        return RiskContext(
            ts=self.ts,
            portfolio=self._portfolio(),
            market=self._market(),
            open_orders=self.open_orders,
            reference_price=self.reference_price,
        )

    def build_oversight(
        self, fees: Mapping[str, Decimal | str] | None = None
    ) -> OversightContext:
        """The same book and market as an :class:`OversightContext`, with taker ``fees`` per
        venue (the reference price plays no part in oversight)."""
        return OversightContext(
            ts=self.ts,
            portfolio=self._portfolio(),
            market=self._market(),
            open_orders=self.open_orders,
            fees={venue: Decimal(rate) for venue, rate in (fees or {}).items()},
        )
