"""The replay streams its files: same events as reading them whole, block size invisible,
bad rows refused mid-stream with their position, memory flat in the file's length."""

from __future__ import annotations

import asyncio
import csv
import itertools
import random
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.builtins.replay import ReplaySource, reading
from crypto_bot_core.builtins.replay.validation import Precision
from crypto_bot_sdk import Bar, DataSourceError, MarketEvent, Trade

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
M = 60_000
HEADER = "timestamp,open,high,low,close,volume"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def _rows(count: int, *, seed: int = 7, start: int = T0, step: int = M) -> Iterator[str]:
    """One-minute candles in whole cents, open = previous close, volumes with 6 decimals."""
    rng = random.Random(seed)
    close = 5_000_000
    for i in range(count):
        o = close
        close = max(1_000, o + rng.randint(-2_000, 2_000))
        high = max(o, close) + rng.randint(0, 900)
        low = max(1, min(o, close) - rng.randint(0, 900))
        volume = rng.randint(0, 900_000_000)
        yield (
            f"{start + i * step},{_cents(o)},{_cents(high)},{_cents(low)},{_cents(close)},"
            f"{volume // 1_000_000}.{volume % 1_000_000:06d}"
        )


def _write(path: Path, lines: Iterator[str] | list[str], header: str = HEADER) -> Path:
    with path.open("w", newline="") as handle:
        handle.write(header + "\n")
        for line in lines:
            handle.write(line + "\n")
    return path


def _source(*paths: Path, **settings: Any) -> ReplaySource:
    files = [
        {"path": str(p), "symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"} for p in paths
    ]
    return ReplaySource.from_config({"files": files, **settings})


def _stream(
    source: ReplaySource, start: datetime | None = None, end: datetime | None = None
) -> list[MarketEvent]:
    async def run() -> list[MarketEvent]:
        await source.start()
        return [event async for event in source.stream(start, end)]

    return asyncio.run(run())


def _reference(path: Path, symbol: str = "BTC/USDT", venue: str = "binance") -> list[Bar]:
    """The file read whole with the csv module into fully validated bars: what the replay did
    before it streamed (exact Decimals of the text as written, open time from ms)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if r and (len(r) > 1 or r[0].strip())]
    names = [n.strip() for n in rows[0]]
    at = [names.index(c) for c in HEADER.split(",")]
    bars = []
    for row in rows[1:]:
        ts, o, h, low, c, v = (row[i] for i in at)
        bars.append(
            Bar(
                symbol=symbol,
                venue=venue,
                ts=EPOCH + timedelta(milliseconds=int(ts.strip())),
                timeframe="1m",
                open=Decimal(o),
                high=Decimal(h),
                low=Decimal(low),
                close=Decimal(c),
                volume=Decimal(v),
            )
        )
    return bars


def _same(streamed: list[MarketEvent], expected: list[Bar]) -> None:
    assert len(streamed) == len(expected)
    for got, want in zip(streamed, expected, strict=True):
        assert got == want
        # Equal Decimals can differ in exponent (42000.10 == 42000.1): compare the text too.
        assert [str(getattr(got, f)) for f in ("open", "high", "low", "close", "volume")] == [
            str(getattr(want, f)) for f in ("open", "high", "low", "close", "volume")
        ]


@pytest.fixture
def bars_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "bars.csv", _rows(20_000))


def test_streamed_bars_equal_the_file_read_whole(bars_file: Path) -> None:
    events = _stream(_source(bars_file))
    _same(events, _reference(bars_file))
    assert str(events[0].ts) == "2024-01-01 00:00:00+00:00"
    first = events[0]
    assert isinstance(first, Bar)
    assert first.model_fields_set == set(Bar.model_fields)


@pytest.mark.parametrize("block_chars", [1, 7, 61, 64, 1000, 65_536])
def test_block_boundaries_do_not_change_the_events(
    bars_file: Path, block_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", block_chars)
    rows = 2_000 if block_chars < 64 else 20_000
    path = bars_file.with_name("small.csv")
    _write(path, _rows(rows))
    _same(_stream(_source(path)), _reference(path))


def test_rows_the_bulk_path_declines_still_stream_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spaces, exponents, integers, trailing zeros, blank lines, CRLF, an extra text column
    and a gap (allowed): every block takes another path, the events are the same."""
    monkeypatch.setattr(reading, "BLOCK_CHARS", 700)
    lines = []
    for i, row in enumerate(_rows(3_000)):
        ts, o, h, low, c, v = row.split(",")
        if i % 7 == 0:
            o = f" {o}"
        if i % 11 == 0:
            v = f"{Decimal(v):E}"
        if i % 13 == 0:
            h = f"{h}00"
        if i % 17 == 0:
            low = str(int(Decimal(low)))
        if i >= 2_000:
            ts = str(int(ts) + 3 * M)  # a gap of three bars
        lines.append(",".join([ts, o, h, low, c, v, f"2024-x{i}"]))
        if i % 97 == 0:
            lines.append("")
    path = tmp_path / "messy.csv"
    path.write_bytes(("\r\n".join([f"{HEADER},datetime", *lines]) + "\r\n").encode("utf-8-sig"))
    _same(_stream(_source(path, allow_gaps=True)), _reference(path))


def test_quoted_csv_switches_to_the_csv_module_without_losing_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", 300)
    rows = list(_rows(400))
    lines = [f"{r},plain" for r in rows[:200]]
    lines.append(f'{rows[200]},"a note ""quoted""\nover two lines"')
    lines += [f'{r},"q"' for r in rows[201:]]
    path = _write(tmp_path / "quoted.csv", lines, f"{HEADER},note")
    _same(_stream(_source(path)), _reference(path))
    # A bad row after the quoted line break is still named by its physical line.
    ts, _open, rest = lines[300].split(",", 2)
    bad = [*lines[:300], f"{ts},abc,{rest}"]
    path = _write(tmp_path / "quoted-bad.csv", bad, f"{HEADER},note")
    with pytest.raises(DataSourceError, match=r"line 303 \(data row 301\): open 'abc' is not"):
        _stream(_source(path))


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_line_endings_give_the_same_bars_and_lines(
    tmp_path: Path, ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", 997)
    rows = list(_rows(3_000))
    path = tmp_path / "bars.csv"
    path.write_bytes(ending.join([HEADER, *rows, ""]).encode())
    _same(_stream(_source(path)), _reference(_write(tmp_path / "unix.csv", rows)))
    rows[2_500] = rows[2_500].rsplit(",", 1)[0] + ",-1"
    path.write_bytes(ending.join([HEADER, *rows, ""]).encode())
    with pytest.raises(DataSourceError, match=r"line 2502 \(data row 2501\): volume -1 is neg"):
        _stream(_source(path))


def _bad(tmp_path: Path, index: int, line: str | None, *, count: int = 20_000) -> Path:
    """A good file whose data row ``index`` (0-based) is replaced by ``line`` (None: cut the
    file there, mid-row)."""
    rows = list(_rows(count))
    if line is None:
        ts, o, rest = rows[index].split(",", 2)
        return _write(tmp_path / "bad.csv", [*rows[:index], f"{ts},{o},{rest[:2]}"])
    rows[index] = line
    return _write(tmp_path / "bad.csv", rows)


def _error_mid_stream(source: ReplaySource) -> tuple[str, int]:
    """The error and how many events came before it; start() itself must pass."""
    delivered = 0

    async def run() -> None:
        nonlocal delivered
        await source.start()
        async for _event in source.stream():
            delivered += 1

    with pytest.raises(DataSourceError) as caught:
        asyncio.run(run())
    return str(caught.value), delivered


def test_bad_rows_mid_file_are_refused_with_file_line_and_value(tmp_path: Path) -> None:
    k = 12_345  # data row k + 1, physical line k + 2
    ts = T0 + k * M
    cases = {
        "nan": (
            f"{ts},50000.00,50010.00,49990.00,NaN,1.5",
            f"line {k + 2} (data row {k + 1}): close is NaN",
        ),
        "backwards": (
            f"{ts - 5 * M},50000.00,50010.00,49990.00,50000.00,1.5",
            f"line {k + 2} (data row {k + 1}): timestamp {ts - 5 * M} "
            f"(2024-01-09T13:40:00Z) is earlier than the previous row's {ts - M} "
            f"(2024-01-09T13:44:00Z, line {k + 1} (data row {k}) of",
        ),
        "bracket": (
            f"{ts},50000.00,49999.00,49990.00,50000.00,1.5",
            f"line {k + 2} (data row {k + 1}): low 49990.00 and high 49999.00 must bracket "
            "open 50000.00 and close 50000.00",
        ),
        "text": (
            f"{ts},50000.00,50010.00,49990.00,50000.00,lots",
            f"line {k + 2} (data row {k + 1}): volume 'lots' is not a number",
        ),
    }
    for name, (line, message) in cases.items():
        path = _bad(tmp_path, k, line)
        text, delivered = _error_mid_stream(_source(path))
        assert text.startswith(f"{path}: {message}"), name
        assert 0 < delivered <= k, name  # refused when reached, after the rows before it
    # A file that ends early, in the middle of its last row.
    path = _bad(tmp_path, k, None)
    text, _ = _error_mid_stream(_source(path))
    assert text == f"{path}: line {k + 2} (data row {k + 1}): has 3 fields, the header has 6"


def test_blocks_refuse_a_bad_row_the_same_way(tmp_path: Path) -> None:
    path = _bad(tmp_path, 5_000, f"{T0 + 5_000 * M},1,1,1,0,1")
    with pytest.raises(DataSourceError, match=r"line 5002 \(data row 5001\): close 0 is not"):
        for _block in _source(path).blocks(size=1_000):
            pass


def test_the_window_stops_reading_at_its_end(tmp_path: Path) -> None:
    path = _bad(tmp_path, 15_000, "garbage")
    start = EPOCH + timedelta(milliseconds=T0 + 100 * M)
    end = start + timedelta(minutes=1_000)
    events = _stream(_source(path), start, end)
    assert [e.ts for e in (events[0], events[-1])] == [start, end - timedelta(minutes=1)]
    assert len(events) == 1_000


def test_memory_stays_flat_for_a_200k_bar_file(tmp_path: Path) -> None:
    """Holding the rows took five Decimals and more per bar (about 0.7 kB); streaming holds
    a block. Counted in allocator blocks (cheap enough for 200,000 bars): holding every row
    needs at least six per bar, 1.2 million here; the stream stays far below one per bar."""
    path = _write(tmp_path / "long.csv", _rows(200_000))
    source = _source(path)

    async def run() -> tuple[int, int]:
        await source.start()
        base = peak = sys.getallocatedblocks()
        count = 0
        async for _event in source.stream():
            count += 1
            if count % 2_048 == 0:
                peak = max(peak, sys.getallocatedblocks())
        return count, peak - base

    count, growth = asyncio.run(run())
    assert count == 200_000
    assert growth < 200_000, growth


def test_traced_peak_is_a_block_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tracemalloc's peak while streaming 40,000 bars in 64 kB blocks: the rows' Decimals
    alone are 40,000 x 5 x 104 bytes = 20.8 MB, which reading the file whole exceeded."""
    monkeypatch.setattr(reading, "BLOCK_CHARS", 65_536)
    path = _write(tmp_path / "bars.csv", _rows(40_000))
    source = _source(path)
    asyncio.run(source.start())

    async def run() -> int:
        return len([1 async for _event in source.stream()])

    tracemalloc.start()
    try:
        assert asyncio.run(run()) == 40_000
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak


def _row_by_row_precision(path: Path) -> Precision:
    """What the replay inferred before: every row's prices and volume noted in order."""
    found = Precision()
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    for row in rows:
        if row:
            found.note([Decimal(x) for x in row[1:5]], Decimal(row[5]))
    return found


@pytest.mark.parametrize("block_chars", [50, 4_096, 0])
def test_inferred_increments_equal_a_row_by_row_pass(
    tmp_path: Path, block_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block_chars:
        monkeypatch.setattr(reading, "BLOCK_CHARS", block_chars)
    rows = list(_rows(3_000))
    # Finer values mid-file, one with trailing zeros that are not finer, a coarse start.
    rows[0] = f"{T0},50000,50010,49990,50000,2"
    ts, o, h, low, c, v = rows[1_700].split(",")
    rows[1_700] = ",".join([ts, o, h + "0000", low, c, v])
    ts, o, h, low, c, v = rows[2_100].split(",")
    rows[2_100] = ",".join([ts, o, h, low + "5", c, v + "7"])
    ts, o, h, low, c, v = rows[2_900].split(",")
    rows[2_900] = ",".join([ts, o, h, low, c, v + "00"])
    path = _write(tmp_path / "grid.csv", rows)
    (instrument,) = _source(path).instruments()
    expected = _row_by_row_precision(path)
    assert (instrument.tick_size, instrument.lot_size) == (
        Decimal(1).scaleb(expected.finest_price),
        Decimal(1).scaleb(expected.finest_size),
    )
    assert (str(instrument.tick_size), str(instrument.lot_size)) == ("0.001", "1E-7")


def test_blocks_give_the_stream_and_its_columns(tmp_path: Path) -> None:
    btc = _write(tmp_path / "btc.csv", _rows(5_000))
    eth = _write(tmp_path / "eth.csv", _rows(3_000, seed=3, start=T0 + 1_000 * M))
    trades = tmp_path / "trades.csv"
    trades.write_text(
        "timestamp,id,side,price,amount\n"
        + "".join(f"{T0 + (i // 3) * 20_000},{i},buy,100.5,0.25\n" for i in range(9_000))
    )
    config = {
        "files": [
            {"path": str(btc), "symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"},
            {"path": str(trades), "symbol": "BTC/USDT", "venue": "binance", "kind": "trades"},
            {"path": str(eth), "symbol": "ETH/USDT", "venue": "okx", "timeframe": "1m"},
        ]
    }
    streamed = _stream(ReplaySource.from_config(config))
    for size in (1, 2, 999, 4_096, 100_000):
        blocks = list(ReplaySource.from_config(config).blocks(size=size))
        joined = [event for block in blocks for event in block.events]
        assert joined == streamed
        for before, after in itertools.pairwise(blocks):
            assert before.events[-1].ts < after.events[0].ts  # no timestamp split
        # At most `size` events, unless a single timestamp holds more (three trades + bars).
        assert all(len(b.events) <= max(size, 5) for b in blocks)
        for block in blocks:
            for (venue, symbol), columns in block.bars.items():
                bars = [
                    e
                    for e in block.events
                    if isinstance(e, Bar) and (e.venue, e.symbol) == (venue, symbol)
                ]
                assert columns.timeframe == "1m"
                assert list(columns.ts_ms) == [
                    (b.ts - EPOCH) // timedelta(milliseconds=1) for b in bars
                ]
                assert list(columns.close) == [float(b.close) for b in bars]
                assert list(columns.open) == [float(b.open) for b in bars]
                assert list(columns.high) == [float(b.high) for b in bars]
                assert list(columns.low) == [float(b.low) for b in bars]
                assert list(columns.volume) == [float(b.volume) for b in bars]
                assert columns.ts_ms.typecode == "q"
                assert columns.close.typecode == "d"
    assert sum(isinstance(e, Trade) for e in streamed) == 9_000


def test_blocks_respect_the_window(bars_file: Path) -> None:
    start = EPOCH + timedelta(milliseconds=T0 + 10 * M)
    end = start + timedelta(minutes=100)
    source = _source(bars_file)
    blocks = list(source.blocks(start, end, size=30))
    assert [len(b.events) for b in blocks] == [30, 30, 30, 10]
    assert [e for b in blocks for e in b.events] == _stream(_source(bars_file), start, end)
    assert len(blocks[0].bars[("binance", "BTC/USDT")]) == 30


def test_built_bars_are_what_pydantic_would_construct(bars_file: Path) -> None:
    event = _stream(_source(bars_file))[3]
    assert isinstance(event, Bar)
    constructed = Bar.model_construct(**event.__dict__)
    assert event == constructed
    assert list(event.__dict__) == list(constructed.__dict__)
    assert event.model_fields_set == constructed.model_fields_set
    assert (event.__pydantic_extra__, event.__pydantic_private__) == (None, None)
    assert Bar.model_validate(event.model_dump()) == event
    # The streamed bars share one fields set; a copy with changes must not touch it.
    copied = event.model_copy(update={"close": Decimal(1)})
    assert copied.close == 1
    assert event.close != 1
    assert event.model_fields_set == set(Bar.model_fields)
    with pytest.raises(ValueError, match="frozen"):
        event.close = Decimal(1)  # type: ignore[misc]


def test_parquet_streams_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(reading, "BATCH_ROWS", 333)
    path = _write(tmp_path / "bars.csv", _rows(2_000))
    columns = list(zip(*(r.split(",") for r in _rows(2_000)), strict=True))
    table = pa.table(
        {
            "timestamp": [int(t) for t in columns[0]],
            **{
                name: list(values)
                for name, values in zip(HEADER.split(",")[1:], columns[1:], strict=True)
            },
        }
    )
    pq.write_table(table, tmp_path / "bars.parquet", row_group_size=500)
    _same(_stream(_source(tmp_path / "bars.parquet")), _reference(path))


def test_parquet_decimals_keep_their_scale(tmp_path: Path) -> None:
    """An open column with one decimal and a close column with two: equal values, different
    text; each bar keeps its own column's exponent."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    count = 50
    table = pa.table(
        {
            "timestamp": [T0 + i * M for i in range(count)],
            "open": pa.array([Decimal("100.0")] * count, pa.decimal128(6, 1)),
            "high": pa.array([Decimal("101.00")] * count, pa.decimal128(7, 2)),
            "low": pa.array([Decimal("99.00")] * count, pa.decimal128(7, 2)),
            "close": pa.array([Decimal("100.00")] * count, pa.decimal128(7, 2)),
            "volume": [1.5] * count,
        }
    )
    pq.write_table(table, tmp_path / "bars.parquet")
    events = _stream(_source(tmp_path / "bars.parquet"))
    assert len(events) == count
    assert {(str(e.open), str(e.close), str(e.volume)) for e in events if isinstance(e, Bar)} == {
        ("100.0", "100.00", "1.5")
    }


def test_parquet_floats_read_as_their_shortest_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(reading, "BATCH_ROWS", 1_000)
    columns = list(zip(*(r.split(",") for r in _rows(3_000)), strict=True))
    floats = {
        name: [float(x) for x in values]
        for name, values in zip(HEADER.split(",")[1:], columns[1:], strict=True)
    }
    pq.write_table(
        pa.table({"timestamp": [int(t) for t in columns[0]], **floats}), tmp_path / "f.parquet"
    )
    # The same values written as their repr: what reading a float cell has always meant.
    as_text = _write(
        tmp_path / "f.csv",
        [
            ",".join([t, *(repr(floats[n][i]) for n in HEADER.split(",")[1:])])
            for i, t in enumerate(columns[0])
        ],
    )
    _same(_stream(_source(tmp_path / "f.parquet")), _reference(as_text))


@pytest.mark.parametrize("as_float", [False, True])
def test_parquet_increments_equal_a_row_by_row_pass(
    tmp_path: Path, as_float: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(reading, "BATCH_ROWS", 256)
    rows = [r.split(",") for r in _rows(2_000)]
    rows[700][2] += "0000"  # trailing zeros: not finer
    rows[1_300][3] += "5"  # a finer low
    rows[1_800][5] += "7"  # a finer volume
    names = HEADER.split(",")
    table: dict[str, list[Any]] = {"timestamp": [int(r[0]) for r in rows]}
    for i, name in enumerate(names[1:], start=1):
        table[name] = [float(r[i]) if as_float else r[i] for r in rows]
    pq.write_table(pa.table(table), tmp_path / "bars.parquet")
    expected = Precision()
    for i in range(len(rows)):
        cells = [
            Decimal(repr(table[n][i])) if as_float else Decimal(table[n][i]) for n in names[1:]
        ]
        expected.note(cells[:4], cells[4])
    (instrument,) = _source(tmp_path / "bars.parquet").instruments()
    assert (instrument.tick_size, instrument.lot_size) == (
        Decimal(1).scaleb(expected.finest_price),
        Decimal(1).scaleb(expected.finest_size),
    )
    assert instrument.tick_size == Decimal("0.001")


def test_the_increments_pass_parses_only_blocks_that_could_refine(
    bars_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "BLOCK_CHARS", 16_384)  # about 280 rows a block, 72 blocks
    noted = 0
    note = Precision.note

    def counting(self: Precision, prices: Any, size: Decimal) -> None:
        nonlocal noted
        noted += 1
        note(self, prices, size)

    monkeypatch.setattr(Precision, "note", counting)
    (instrument,) = _source(bars_file).instruments()
    assert (str(instrument.tick_size), str(instrument.lot_size)) == ("0.01", "0.000001")
    assert 0 < noted <= 600  # the first block or two of 20,000 rows
