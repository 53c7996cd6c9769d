"""How a scenario replay rewrites the market from its start on: trade prints and order
books as well as bars, and volatility scaled around the last price before the shock.

The replay must shock every kind of event the same way a trader would see the market
move; the figures are worked out by hand from the scenario.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crypto_bot_core.app.risk_replay import ShockedSource
from crypto_bot_core.risk.scenario_file import parse_scenario
from crypto_bot_sdk import (
    Bar,
    BookLevel,
    DataSource,
    Instrument,
    MarketEvent,
    OrderBook,
    PluginConfig,
    Side,
    Trade,
)

AT = datetime(2024, 8, 1, 12, tzinfo=UTC)
CRASH = parse_scenario(
    "name: crash\nshocks:\n"
    "  - price: {assets: [BTC], move: -0.3}\n"
    "  - liquidity: {symbols: '*', remove: 0.5}\n",
    source="crash.yaml",
)
SWINGS = parse_scenario(
    "name: swings\nshocks:\n  - volatility: {symbols: [BTC/USDT], multiplier: 2}\n",
    source="swings.yaml",
)


class Nothing(DataSource[PluginConfig]):
    def instruments(self) -> Sequence[Instrument]:
        return ()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for event in ():
            yield event


def _source(scenario: object) -> ShockedSource:
    return ShockedSource(Nothing(PluginConfig()), scenario, AT, {})  # type: ignore[arg-type]


def _trade(price: str, ts: datetime) -> Trade:
    return Trade(
        symbol="BTC/USDT",
        venue="alpha",
        ts=ts,
        trade_id=f"t{price}",
        price=Decimal(price),
        amount=Decimal(1),
        side=Side.SELL,
    )


def _bar(close: str, ts: datetime) -> Bar:
    price = Decimal(close)
    return Bar(
        symbol="BTC/USDT",
        venue="alpha",
        ts=ts,
        timeframe="1h",
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(10),
    )


def test_events_before_the_shock_pass_unchanged() -> None:
    early = _trade("60000", AT - timedelta(minutes=1))
    assert _source(CRASH).shock(early) is early


def test_a_trade_print_after_the_shock_moves_with_the_price_shock() -> None:
    shocked = _source(CRASH).shock(_trade("60000", AT))
    assert isinstance(shocked, Trade)
    assert shocked.price == Decimal(42000)  # 60,000 x (1 - 0.3)
    assert shocked.amount == Decimal(1)  # a print is not depth: nothing removed


def test_an_order_book_after_the_shock_moves_and_loses_half_its_depth() -> None:
    book = OrderBook(
        symbol="BTC/USDT",
        venue="alpha",
        ts=AT,
        bids=(BookLevel(price=Decimal(59990), amount=Decimal(2)),),
        asks=(BookLevel(price=Decimal(60010), amount=Decimal(4)),),
    )
    shocked = _source(CRASH).shock(book)
    assert isinstance(shocked, OrderBook)
    assert [(lv.price, lv.amount) for lv in shocked.bids] == [(Decimal("41993.0"), Decimal("1.0"))]
    assert [(lv.price, lv.amount) for lv in shocked.asks] == [(Decimal("42007.0"), Decimal("2.0"))]


def test_a_volatility_shock_doubles_moves_away_from_the_last_price_before_it() -> None:
    source = _source(SWINGS)
    source.shock(_bar("100", AT - timedelta(hours=1)))  # the anchor: the last close before
    # A print at 110 (+10% from 100) becomes 100 x 1.1^2 = 121; one at 90 becomes 81.
    up = source.shock(_trade("110", AT))
    down = source.shock(_trade("90", AT + timedelta(minutes=1)))
    assert isinstance(up, Trade)
    assert isinstance(down, Trade)
    assert float(up.price) == pytest.approx(121.0)
    assert float(down.price) == pytest.approx(81.0)


def test_a_one_sided_book_is_moved_around_its_best_price_without_an_anchor() -> None:
    bids_only = OrderBook(
        symbol="BTC/USDT",
        venue="alpha",
        ts=AT,
        bids=(
            BookLevel(price=Decimal(100), amount=Decimal(1)),
            BookLevel(price=Decimal(90), amount=Decimal(1)),
        ),
        asks=(),
    )
    shocked = _source(SWINGS).shock(bids_only)
    assert isinstance(shocked, OrderBook)
    # Around 100 (its best bid): 100 stays, 90 (-10%) becomes 100 x 0.9^2 = 81.
    assert [float(lv.price) for lv in shocked.bids] == pytest.approx([100.0, 81.0])
