"""Every kind of broken replay file is refused with the file and the row named."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.builtins.replay import ReplaySource
from crypto_bot_sdk import ConfigError, DataSourceError

HEADER = "timestamp,open,high,low,close,volume"
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
M = 60_000


def _bar(
    ts: int, *, o: str = "100", h: str = "101", lo: str = "99", c: str = "100.5", v: str = "2"
) -> str:
    return f"{ts},{o},{h},{lo},{c},{v}"


def _replay(source: ReplaySource) -> int:
    """Start the source and stream it to the end: rows are checked as the stream reaches them."""

    async def run() -> int:
        await source.start()
        return len([event async for event in source.stream()])

    return asyncio.run(run())


def _load(path: Path, **spec: Any) -> None:
    settings = {"path": str(path), "symbol": "BTC/USDT", "venue": "binance", **spec}
    if settings.get("kind", "ohlcv") == "ohlcv":
        settings.setdefault("timeframe", "1m")
    _replay(ReplaySource.from_config({"files": [settings]}))


def _write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        (
            [_bar(T0), _bar(T0 + M), _bar(T0)],
            "line 4 (data row 3)",
            r"timestamp 1704067200000 \(2024-01-01T00:00:00Z\) is earlier than the previous "
            r"row's 1704067260000 .*rows must be sorted oldest first",
        ),
        (
            [_bar(T0), _bar(T0 + M), _bar(T0 + M)],
            "line 4 (data row 3)",
            r"timestamp 1704067260000 \(2024-01-01T00:01:00Z\) duplicates the previous row's",
        ),
        (
            [_bar(T0), _bar(T0 + 4 * M)],
            "line 3 (data row 2)",
            r"gap: 3 1m bar\(s\) missing between 2024-01-01T00:00:00Z and "
            r"2024-01-01T00:04:00Z; fill them in, or set the replay's gaps: skip .* or "
            r"gaps: carry-forward",
        ),
        (
            [_bar(T0), _bar(T0 + 90_000)],
            "line 3 (data row 2)",
            r"timestamp 1704067290000 \(2024-01-01T00:01:30Z\) is 90000 ms after the previous "
            r"row's 1704067200000 .*; 1m bars must be a multiple of 60000 ms apart",
        ),
        ([_bar(T0), _bar(T0 + M, c="NaN")], "line 3 (data row 2)", r"close is NaN"),
        ([_bar(T0, c="nan")], "line 2 (data row 1)", r"close is NaN"),
        ([_bar(T0, h="")], "line 2 (data row 1)", r"high is empty"),
        ([_bar(T0, o="abc")], "line 2 (data row 1)", r"open 'abc' is not a number"),
        ([_bar(T0, o="Infinity")], "line 2 (data row 1)", r"open is infinite"),
        (
            [_bar(T0, lo="0")],
            "line 2 (data row 1)",
            r"low 0 is not positive; prices and amounts must be > 0",
        ),
        ([_bar(T0, o="-5")], "line 2 (data row 1)", r"open -5 is not positive"),
        ([_bar(T0, v="-0.1")], "line 2 (data row 1)", r"volume -0.1 is negative"),
        (
            [_bar(T0, h="100.2")],
            "line 2 (data row 1)",
            r"low 99 and high 100.2 must bracket open 100 and close 100.5",
        ),
        (
            [_bar(T0, lo="100.2")],
            "line 2 (data row 1)",
            r"low 100.2 and high 101 must bracket open 100",
        ),
        (
            [_bar(1_704_067_200)],
            "line 2 (data row 1)",
            r"timestamp 1704067200 is before 2000-01-01; ccxt timestamps are milliseconds",
        ),
        (
            [_bar(T0), "2024-01-01T00:01:00Z,1,1,1,1,1"],
            "line 3 (data row 2)",
            r"timestamp '2024-01-01T00:01:00Z' is not a whole number of milliseconds",
        ),
        (
            [_bar(T0), "1704067260000,1,1,1"],
            "line 3 (data row 2)",
            r"has 4 fields, the header has 6",
        ),
    ],
)
def test_bad_ohlcv_rows_name_file_and_row(
    tmp_path: Path, rows: list[str], where: str, message: str
) -> None:
    path = _write(tmp_path, "bars.csv", HEADER, *rows)
    prefix = re.escape(f"{path}: {where}: ")
    with pytest.raises(DataSourceError, match=rf"^{prefix}{message}"):
        _load(path)


def test_line_and_data_row_differ_after_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "bars.csv", HEADER, _bar(T0), "", "", _bar(T0 + M, c="NaN"))
    with pytest.raises(DataSourceError, match=r"bars.csv: line 5 \(data row 2\): close is NaN"):
        _load(path)


def test_gaps_pass_when_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, "bars.csv", HEADER, _bar(T0), _bar(T0 + 4 * M))
    source = ReplaySource.from_config(
        {
            "files": [{"path": str(path), "symbol": "BTC/USDT", "venue": "x", "timeframe": "1m"}],
            "allow_gaps": True,
        }
    )
    asyncio.run(source.start())
    (instrument,) = source.instruments()
    assert instrument.symbol == "BTC/USDT"


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, "bars.csv", "timestamp,open,high,low,close", "1,1,1,1,1")
    with pytest.raises(
        DataSourceError,
        match=r"bars.csv: the header \(line 1\) lacks column\(s\) \['volume'\]; found "
        r"\['timestamp', 'open', 'high', 'low', 'close'\]\. Use ccxt's column names",
    ):
        _load(path)


def test_empty_and_missing_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataSourceError, match=r"empty.csv: the file is empty; expected a header"):
        _load(empty)
    with pytest.raises(DataSourceError, match=r"nowhere.csv: cannot open: No such file"):
        _load(tmp_path / "nowhere.csv")


def test_the_boundary_between_two_files_of_one_series_is_checked(tmp_path: Path) -> None:
    january = _write(tmp_path, "jan.csv", HEADER, _bar(T0), _bar(T0 + M))
    february = _write(tmp_path, "feb.csv", HEADER, _bar(T0 + M), _bar(T0 + 2 * M))
    spec = {"symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"}
    source = ReplaySource.from_config(
        {"files": [{"path": str(january), **spec}, {"path": str(february), **spec}]}
    )
    with pytest.raises(
        DataSourceError,
        match=r"feb.csv: line 2 \(data row 1\): timestamp 1704067260000 \(2024-01-01T00:01:00Z\) "
        r"duplicates the previous row's 1704067260000 \(2024-01-01T00:01:00Z, line 3 \(data "
        r"row 2\) of .*jan.csv\)",
    ):
        _replay(source)


TRADE_HEADER = "timestamp,id,side,price,amount,symbol"


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        (
            [
                f"{T0},1,buy,100,1,BTC/USDT",
                f"{T0 + 5},2,sell,100,1,BTC/USDT",
                f"{T0 + 9},1,buy,100,1,BTC/USDT",
            ],
            "line 4 (data row 3)",
            r"trade id '1' duplicates the trade at data row 1 of .*trades.csv",
        ),
        (
            [f"{T0 + 5},1,buy,100,1,BTC/USDT", f"{T0},2,buy,100,1,BTC/USDT"],
            "line 3 (data row 2)",
            r"timestamp 1704067200000 \(2024-01-01T00:00:00Z\) is earlier than the previous",
        ),
        ([f"{T0},1,long,100,1,BTC/USDT"], "line 2 (data row 1)", r"side 'long' must be 'buy' or"),
        ([f"{T0},1,buy,100,0,BTC/USDT"], "line 2 (data row 1)", r"amount 0 is not positive"),
        ([f"{T0},1,buy,NaN,1,BTC/USDT"], "line 2 (data row 1)", r"price is NaN"),
        ([f"{T0},,buy,100,1,BTC/USDT"], "line 2 (data row 1)", r"id is empty"),
        (
            [f"{T0},1,buy,100,1,ETH/USDT"],
            "line 2 (data row 1)",
            r"symbol 'ETH/USDT' differs from the file's configured symbol 'BTC/USDT'",
        ),
    ],
)
def test_bad_trade_rows_name_file_and_row(
    tmp_path: Path, rows: list[str], where: str, message: str
) -> None:
    path = _write(tmp_path, "trades.csv", TRADE_HEADER, *rows)
    prefix = re.escape(f"{path}: {where}: ")
    with pytest.raises(DataSourceError, match=rf"^{prefix}{message}"):
        _load(path, kind="trades")


def test_trades_at_the_same_millisecond_are_fine(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "trades.csv",
        "timestamp,id,side,price,amount",
        f"{T0},7,buy,100,1",
        f"{T0},8,sell,99.5,0.25",
    )
    _load(path, kind="trades")


def test_parquet_rows_are_numbered_as_data_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "bars.parquet"
    table = pa.table(
        {
            "timestamp": [T0, T0 + M, T0 + 2 * M],
            "open": [100.0, 100.0, 100.0],
            "high": [101.0, 101.0, 101.0],
            "low": [99.0, 99.0, 99.0],
            "close": [100.0, float("nan"), 100.0],
            "volume": [1.0, 1.0, 1.0],
        }
    )
    pq.write_table(table, path)
    with pytest.raises(DataSourceError, match=r"bars.parquet: data row 2: close is NaN"):
        _load(path)


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = _write(tmp_path, "bars.parquet", HEADER, _bar(T0))
    with pytest.raises(DataSourceError, match=r"bars.parquet: cannot read as Parquet"):
        _load(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "a.csv"}, r"an OHLCV file needs 'timeframe'"),
        (
            {"path": "a.csv", "kind": "trades", "timeframe": "1m"},
            r"a trades file takes no timeframe",
        ),
        ({"path": "a.txt", "timeframe": "1m"}, r"cannot tell the format from the suffix '.txt'"),
        ({"path": "a.csv", "timeframe": "1M"}, r"timeframe '1M' is not a fixed bar interval"),
        ({"path": "a.csv", "timeframe": "1m", "symbol": "BTCUSDT"}, r"not a ccxt unified symbol"),
    ],
)
def test_bad_file_settings_are_refused(spec: dict[str, str], message: str) -> None:
    settings = {"symbol": "BTC/USDT", "venue": "binance", **spec}
    with pytest.raises(ConfigError, match=message):
        ReplaySource.from_config({"files": [settings]})


def test_a_file_listed_twice_is_refused() -> None:
    spec = {"path": "a.csv", "symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"}
    with pytest.raises(ConfigError, match=r"file a.csv is listed twice"):
        ReplaySource.from_config({"files": [spec, spec]})
