"""The ``synthetic`` data source: determinism, valid bars, order, windows, instruments, errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket
from crypto_bot_sdk import Bar, ConfigError, DataSourceError, InstrumentKind, MarketEvent

START = datetime(2024, 3, 1, tzinfo=UTC)
SETTINGS: dict[str, Any] = {
    "symbols": ["BTC/USDT", "ETH/USDT", "XRP/USDT", "BTC/USDT:USDT"],
    "venues": ["binance", "okx", "bybit"],
    "start": START.isoformat(),
    "bars": 600,
    "seed": 42,
}


def _collect(
    source: SyntheticMarket, start: datetime | None = None, end: datetime | None = None
) -> list[MarketEvent]:
    async def run() -> list[MarketEvent]:
        return [event async for event in source.stream(start, end)]

    return asyncio.run(run())


def _bars(source: SyntheticMarket, **window: datetime) -> list[Bar]:
    events = _collect(source, **window)
    assert all(isinstance(e, Bar) for e in events)
    return [e for e in events if isinstance(e, Bar)]


def test_same_seed_gives_identical_bars_and_another_seed_does_not() -> None:
    first = _bars(SyntheticMarket.from_config(SETTINGS))
    again = _bars(SyntheticMarket.from_config(SETTINGS))
    other = _bars(SyntheticMarket.from_config({**SETTINGS, "seed": 43}))
    assert [b.model_dump() for b in first] == [b.model_dump() for b in again]
    assert len(other) == len(first)
    differing = sum(a.close != b.close for a, b in zip(first, other, strict=True))
    assert differing > 0.9 * len(first)


def test_adding_a_symbol_leaves_the_others_unchanged() -> None:
    narrow = SyntheticMarket.from_config({**SETTINGS, "symbols": ["ETH/USDT"]})
    wide = SyntheticMarket.from_config(SETTINGS)
    for venue in SETTINGS["venues"]:
        a, b = narrow.arrays("ETH/USDT", venue), wide.arrays("ETH/USDT", venue)
        for key in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(a[key], b[key])


def test_every_bar_passes_full_validation_and_sits_on_the_instrument_grid() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    grid = {(i.symbol, i.venue): i for i in source.instruments()}
    bars = _bars(source)
    assert len(bars) == 600 * 4 * 3
    for bar in bars:
        assert Bar.model_validate(bar.model_dump()) == bar
        instrument = grid[(bar.symbol, bar.venue)]
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert instrument.is_price_on_tick(price)
        assert instrument.is_quantity_on_lot(bar.volume)
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.timeframe == "1m"


def test_bars_come_in_time_order_symbol_by_symbol_then_venue_by_venue() -> None:
    bars = _bars(SyntheticMarket.from_config(SETTINGS))
    keys = [(s, v) for s in SETTINGS["symbols"] for v in SETTINGS["venues"]]
    for index, bar in enumerate(bars):
        step, position = divmod(index, len(keys))
        assert bar.ts == START + timedelta(minutes=step)
        assert (bar.symbol, bar.venue) == keys[position]


def test_each_venue_opens_at_its_previous_close() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    for venue in SETTINGS["venues"]:
        arrays = source.arrays("ETH/USDT", venue)
        np.testing.assert_array_equal(arrays["open"][1:], arrays["close"][:-1])


def test_window_yields_exactly_the_bars_opened_in_it() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    everything = _bars(source)
    lo, hi = START + timedelta(minutes=10, seconds=30), START + timedelta(minutes=20)
    window = _bars(source, start=lo, end=hi)
    assert [b.model_dump() for b in window] == [
        b.model_dump() for b in everything if lo <= b.ts < hi
    ]
    assert {b.ts for b in window} == {START + timedelta(minutes=m) for m in range(11, 20)}
    assert _bars(source, start=START + timedelta(days=5)) == []
    assert len(_bars(source, end=START)) == 0


def test_end_sets_the_number_of_bars() -> None:
    source = SyntheticMarket.from_config(
        {
            "symbols": ["BTC/USDT"],
            "venues": ["v"],
            "start": START.isoformat(),
            "timeframe": "1h",
            "end": (START + timedelta(hours=5, minutes=1)).isoformat(),
        }
    )
    bars = _bars(source)
    assert [b.ts for b in bars] == [START + timedelta(hours=h) for h in range(6)]
    assert {b.timeframe for b in bars} == {"1h"}


def test_arrays_hold_exactly_the_streamed_numbers() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    bars = [b for b in _bars(source) if (b.symbol, b.venue) == ("XRP/USDT", "okx")]
    arrays = source.arrays("XRP/USDT", "okx")
    assert arrays["ts"].tolist() == [int(b.ts.timestamp() * 1000) for b in bars]
    for key in ("open", "high", "low", "close", "volume"):
        assert [Decimal(repr(x)) for x in arrays[key].tolist()] == [getattr(b, key) for b in bars]


def test_history_returns_one_symbol_on_every_venue() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    lo, hi = START + timedelta(minutes=3), START + timedelta(minutes=6)
    history = asyncio.run(source.history("BTC/USDT:USDT", lo, hi))
    expected = [b for b in _bars(source, start=lo, end=hi) if b.symbol == "BTC/USDT:USDT"]
    assert history == expected
    assert len(history) == 3 * 3
    with pytest.raises(DataSourceError, match=r"no symbol 'DOGE/USDT'"):
        asyncio.run(source.history("DOGE/USDT", lo, hi))


def test_arrays_for_an_unknown_market_name_what_exists() -> None:
    source = SyntheticMarket.from_config(SETTINGS)
    with pytest.raises(DataSourceError, match=r"no 'BTC/USDT' on 'kraken'.*venues \['binance'"):
        source.arrays("BTC/USDT", "kraken")


def test_instruments_cover_every_symbol_on_every_venue() -> None:
    instruments = SyntheticMarket.from_config(SETTINGS).instruments()
    assert [(i.symbol, i.venue) for i in instruments] == [
        (s, v) for s in SETTINGS["symbols"] for v in SETTINGS["venues"]
    ]
    perp = next(i for i in instruments if i.symbol == "BTC/USDT:USDT")
    assert perp.kind is InstrumentKind.PERPETUAL
    assert (str(perp.tick_size), str(perp.lot_size), str(perp.min_notional)) == (
        "0.01",
        "0.00001",
        "5",
    )
    xrp = next(i for i in instruments if i.symbol == "XRP/USDT")
    assert (xrp.kind, str(xrp.tick_size), str(xrp.lot_size)) == (
        InstrumentKind.SPOT,
        "0.00001",
        "1",
    )


def test_overridden_grids_and_prices_are_used() -> None:
    source = SyntheticMarket.from_config(
        {
            "symbols": ["PEPE/EUR"],
            "venues": ["v"],
            "bars": 50,
            "initial_prices": {"PEPE/EUR": "0.5"},
            "tick_sizes": {"PEPE/EUR": "0.001"},
            "lot_sizes": {"PEPE/EUR": "10"},
        }
    )
    (instrument,) = source.instruments()
    assert (str(instrument.tick_size), str(instrument.lot_size)) == ("0.001", "1E+1")
    bars = _bars(source)
    assert all(
        instrument.is_price_on_tick(b.close) and instrument.is_quantity_on_lot(b.volume)
        for b in bars
    )
    assert Decimal("0.45") < bars[0].open < Decimal("0.55")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"symbols": ["FOO/USDT"]}, r"no starting price for FOO/USDT: add it to initial_prices"),
        ({"symbols": ["BTC/EUR"]}, r"no starting price for BTC/EUR"),
        ({"tick_sizes": {"BTC/USDT": "0.05"}}, r"increment 0.05 must be a power of ten"),
        (
            {"garch_alpha": 0.1, "garch_beta": 0.9},
            r"garch_alpha \+ garch_beta = 1.0 must be below 1",
        ),
        ({"bars": 10, "end": "2025-01-01T00:00:00Z"}, r"either 'bars' or 'end', not both"),
        ({"end": "2023-01-01T00:00:00Z"}, r"must be after start"),
        ({"timeframe": "1M"}, r"timeframe '1M' is not a fixed bar interval"),
        ({"venues": ["a", "a"]}, r"venues must be unique"),
        ({"symbols": ["btc/usdt"]}, r"not a ccxt unified symbol"),
        ({"initial_prices": {"DOGE/USDT": 1}}, r"initial_prices names pairs not traded here"),
        ({"colour": "blue"}, r"colour: Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        SyntheticMarket.from_config(settings)
