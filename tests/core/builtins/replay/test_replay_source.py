"""The ``replay`` data source on good files: exact values, merge order, windows, Parquet."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.builtins.replay import ReplaySource
from crypto_bot_sdk import Bar, DataSourceError, InstrumentKind, MarketEvent, Side, Trade

T0 = 1_704_067_200_000
START = datetime(2024, 1, 1, tzinfo=UTC)
BARS = [
    (T0, "42000.10", "42010.5", "41990", "42005.25", "12.5"),
    (T0 + 60_000, "42005.25", "42100", "42000.00", "42090.7", "8.125"),
    (T0 + 120_000, "42090.7", "42095.3", "42050.05", "42060.1", "0"),
]
TRADES = [
    (T0 + 1_500, "900001", "buy", "42000.11", "0.015"),
    (T0 + 60_000, "900002", "sell", "42005.2", "0.5"),
    (T0 + 60_000, "900003", "buy", "42005.3", "1.25"),
]


def _csv(path: Path, header: str, rows: list[tuple[Any, ...]]) -> Path:
    path.write_text("\n".join([header, *(",".join(map(str, r)) for r in rows)]) + "\n")
    return path


def _events(
    source: ReplaySource, start: datetime | None = None, end: datetime | None = None
) -> list[MarketEvent]:
    async def run() -> list[MarketEvent]:
        return [e async for e in source.stream(start, end)]

    return asyncio.run(run())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "bars": _csv(tmp_path / "btc-1m.csv", "timestamp,open,high,low,close,volume", BARS),
        "trades": _csv(
            tmp_path / "btc-trades.csv",
            "timestamp,id,side,price,amount,symbol,datetime",
            [(*t, "BTC/USDT", "ignored") for t in TRADES],
        ),
        "eth": _csv(
            tmp_path / "eth-perp-1m.csv",
            "timestamp,open,high,low,close,volume",
            [(T0 + 60_000, "2300.5", "2301", "2299.99", "2300.01", "40")],
        ),
    }


@pytest.fixture
def source(files: dict[str, Path]) -> ReplaySource:
    return ReplaySource.from_config(
        {
            "files": [
                {
                    "path": str(files["bars"]),
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "timeframe": "1m",
                },
                {
                    "path": str(files["trades"]),
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "kind": "trades",
                },
                {
                    "path": str(files["eth"]),
                    "symbol": "ETH/USDT:USDT",
                    "venue": "okx",
                    "timeframe": "1m",
                    "tick_size": "0.01",
                    "lot_size": "0.1",
                    "min_notional": "5",
                },
            ]
        }
    )


def _expected_bar(row: tuple[Any, ...], symbol: str = "BTC/USDT", venue: str = "binance") -> Bar:
    ts, o, h, lo, c, v = row
    return Bar(
        symbol=symbol,
        venue=venue,
        ts=START + timedelta(milliseconds=ts - T0),
        timeframe="1m",
        open=Decimal(o),
        high=Decimal(h),
        low=Decimal(lo),
        close=Decimal(c),
        volume=Decimal(v),
    )


def _expected_trade(row: tuple[Any, ...]) -> Trade:
    ts, trade_id, side, price, amount = row
    return Trade(
        symbol="BTC/USDT",
        venue="binance",
        ts=START + timedelta(milliseconds=ts - T0),
        trade_id=trade_id,
        side=Side(side),
        price=Decimal(price),
        amount=Decimal(amount),
    )


def test_events_merge_in_time_order_with_config_order_breaking_ties(source: ReplaySource) -> None:
    bars = [_expected_bar(r) for r in BARS]
    trades = [_expected_trade(r) for r in TRADES]
    eth = _expected_bar(
        (T0 + 60_000, "2300.5", "2301", "2299.99", "2300.01", "40"), "ETH/USDT:USDT", "okx"
    )
    assert _events(source) == [bars[0], trades[0], bars[1], trades[1], trades[2], eth, bars[2]]


def test_decimals_keep_the_text_exactly(source: ReplaySource) -> None:
    first = _events(source)[0]
    assert isinstance(first, Bar)
    assert str(first.open) == "42000.10"
    assert str(first.high) == "42010.5"
    assert first.model_dump(mode="json")["close"] == "42005.25"
    for event in _events(source):
        assert type(event).model_validate(event.model_dump()) == event


def test_window_and_history(source: ReplaySource) -> None:
    minute = START + timedelta(minutes=1)
    window = _events(source, minute, minute + timedelta(minutes=1))
    assert [e.ts for e in window] == [minute] * 4
    history = asyncio.run(source.history("BTC/USDT", START + timedelta(seconds=1), minute))
    assert history == [_expected_trade(TRADES[0])]
    with pytest.raises(DataSourceError, match=r"no data for 'SOL/USDT'; its files hold \["):
        asyncio.run(source.history("SOL/USDT", START, minute))


def test_instruments_infer_increments_unless_given(source: ReplaySource) -> None:
    btc, eth = source.instruments()
    assert (btc.symbol, btc.venue, btc.kind) == ("BTC/USDT", "binance", InstrumentKind.SPOT)
    # Finest price in bars and trades: 42000.11 (0.01); finest size: 8.125 and 0.015 (0.001).
    assert (str(btc.tick_size), str(btc.lot_size), str(btc.min_notional)) == ("0.01", "0.001", "0")
    assert (eth.kind, str(eth.tick_size), str(eth.lot_size)) == (
        InstrumentKind.PERPETUAL,
        "0.01",
        "0.1",
    )
    assert eth.min_notional == 5


def test_consecutive_files_form_one_series(tmp_path: Path) -> None:
    header = "timestamp,open,high,low,close,volume"
    jan = _csv(tmp_path / "jan.csv", header, BARS[:2])
    feb = _csv(tmp_path / "feb.csv", header, BARS[2:])
    spec = {"symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"}
    source = ReplaySource.from_config(
        {"files": [{"path": str(jan), **spec}, {"path": str(feb), **spec}]}
    )
    assert _events(source) == [_expected_bar(r) for r in BARS]


def test_parquet_round_trip_gives_the_csv_events(
    tmp_path: Path, source: ReplaySource, files: dict[str, Path]
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    # Bars as strings (exact), trades with a timestamp column and decimal128 prices.
    bars = pa.table(
        {
            name: [str(r[i]) if i else r[0] for r in BARS]
            for i, name in enumerate(["timestamp", "open", "high", "low", "close", "volume"])
        }
    )
    pq.write_table(bars, tmp_path / "bars.parquet")
    trades = pa.table(
        {
            "timestamp": pa.array(
                [START + timedelta(milliseconds=t[0] - T0) for t in TRADES],
                pa.timestamp("ms", tz="UTC"),
            ),
            "id": [t[1] for t in TRADES],
            "side": [t[2] for t in TRADES],
            "price": pa.array([Decimal(t[3]) for t in TRADES], pa.decimal128(12, 2)),
            "amount": [float(t[4]) for t in TRADES],
        }
    )
    pq.write_table(trades, tmp_path / "trades.pq")
    parquet = ReplaySource.from_config(
        {
            "files": [
                {
                    "path": str(tmp_path / "bars.parquet"),
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "timeframe": "1m",
                },
                {
                    "path": str(tmp_path / "trades.pq"),
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "kind": "trades",
                },
                {
                    "path": str(files["eth"]),
                    "symbol": "ETH/USDT:USDT",
                    "venue": "okx",
                    "timeframe": "1m",
                },
            ]
        }
    )
    assert _events(parquet) == _events(source)


def test_csv_named_otherwise_reads_with_an_explicit_format(tmp_path: Path) -> None:
    path = _csv(tmp_path / "bars.txt", "timestamp,open,high,low,close,volume", BARS)
    source = ReplaySource.from_config(
        {
            "files": [
                {
                    "path": str(path),
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "timeframe": "1m",
                    "format": "csv",
                }
            ]
        }
    )
    assert len(_events(source)) == 3


def test_inferred_increments_follow_the_finest_value_wherever_it_appears(tmp_path: Path) -> None:
    rows = [
        (T0, "100", "101", "99", "100", "5"),
        (T0 + 60_000, "100", "101", "99", "100.5", "5.25"),
        # 30 significant digits: beyond Decimal's default precision, still read exactly.
        (T0 + 120_000, "100.5", "123456789012345678901234567.125", "99", "100.5", "5"),
    ]
    path = _csv(tmp_path / "bars.csv", "timestamp,open,high,low,close,volume", rows)
    source = ReplaySource.from_config(
        {"files": [{"path": str(path), "symbol": "BTC/USDT", "venue": "x", "timeframe": "1m"}]}
    )
    (instrument,) = source.instruments()
    assert (str(instrument.tick_size), str(instrument.lot_size)) == ("0.001", "0.01")
    last = _events(source)[-1]
    assert isinstance(last, Bar)
    assert str(last.high) == "123456789012345678901234567.125"
