"""Missing bars in real data: refused, skipped or carried forward, and reported; a file's
timeframe read from its timestamps; files that hold nothing or absurd numbers refused."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gapped_bars import HALF_HOUR, OUTAGES, T0, write_gapped_bars

from crypto_bot_core.builtins.replay import ReplaySource
from crypto_bot_sdk import Bar, ConfigError, DataSourceError


def _bars(path: Path, **settings: Any) -> list[Bar]:
    source = ReplaySource.from_config(
        {
            "files": [
                {"path": str(path), "symbol": "BTC/USD", "venue": "kraken", "timeframe": "30m"}
            ],
            **settings,
        }
    )

    async def run() -> list[Bar]:
        await source.start()
        return [e async for e in source.stream() if isinstance(e, Bar)]

    return asyncio.run(run())


def test_gaps_are_refused_by_default_saying_how_to_accept_them(tmp_path: Path) -> None:
    path = tmp_path / "btc-30m.csv"
    write_gapped_bars(path)
    with pytest.raises(DataSourceError) as refused:
        _bars(path)
    message = str(refused.value)
    assert "gap: 3 30m bar(s) missing between 2024-01-01T19:30:00Z and 2024-01-01T21:30:00Z" in (
        message
    )
    assert "gaps: skip" in message
    assert "gaps: carry-forward" in message
    assert "allow_gaps" not in message


def test_skip_replays_the_bars_there_are(tmp_path: Path) -> None:
    path = tmp_path / "btc-30m.csv"
    written = write_gapped_bars(path)
    bars = _bars(path, gaps="skip")
    assert [int(b.ts.timestamp() * 1000) for b in bars] == written
    assert _bars(path, allow_gaps=True) == bars  # the older spelling still works


@pytest.mark.parametrize("block_chars", [None, 300])
def test_carry_forward_fills_every_missing_slot_with_a_flat_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_chars: int | None
) -> None:
    if block_chars is not None:  # gaps across block boundaries, the row-by-row path too
        monkeypatch.setattr("crypto_bot_core.builtins.replay.reading.BLOCK_CHARS", block_chars)
    path = tmp_path / "btc-30m.csv"
    written = write_gapped_bars(path)
    real = {int(b.ts.timestamp() * 1000): b for b in _bars(path, gaps="skip")}
    bars = _bars(path, gaps="carry-forward")
    stamps = [int(b.ts.timestamp() * 1000) for b in bars]
    assert stamps == list(range(T0, written[-1] + HALF_HOUR, HALF_HOUR))
    assert len(bars) == len(written) + sum(count for _, count in OUTAGES)
    previous: Bar | None = None
    for stamp, bar in zip(stamps, bars, strict=True):
        if stamp in real:
            assert bar == real[stamp]
        else:
            assert previous is not None
            close = previous.close
            assert (bar.open, bar.high, bar.low, bar.close) == (close, close, close, close)
            assert bar.volume == Decimal(0)
            assert bar.timeframe == "30m"
        previous = bar


def test_carry_forward_fills_a_gap_between_two_files(tmp_path: Path) -> None:
    whole = tmp_path / "whole.csv"
    write_gapped_bars(whole, bars=20, outages=())
    lines = whole.read_text().splitlines()
    (tmp_path / "jan.csv").write_text("\n".join(lines[:11]) + "\n")  # bars 0-9
    (tmp_path / "feb.csv").write_text("\n".join([lines[0], *lines[13:]]) + "\n")  # 12-19
    files = [
        {"path": str(tmp_path / name), "symbol": "BTC/USD", "venue": "k", "timeframe": "30m"}
        for name in ("jan.csv", "feb.csv")
    ]
    source = ReplaySource.from_config({"files": files, "gaps": "carry-forward"})

    async def run() -> list[Bar]:
        await source.start()
        return [e async for e in source.stream() if isinstance(e, Bar)]

    bars = asyncio.run(run())
    assert len(bars) == 20
    assert bars[10].volume == bars[11].volume == 0
    assert bars[10].close == bars[11].close == bars[9].close


def test_a_contradicting_gap_setting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "btc-30m.csv"
    write_gapped_bars(path)
    with pytest.raises(ConfigError, match="allow_gaps: true says gaps: skip"):
        _bars(path, allow_gaps=True, gaps="refuse")


def test_the_scan_reports_the_spacing_and_every_gap(tmp_path: Path) -> None:
    from crypto_bot_core.builtins.replay.gaps import scan_series

    path = tmp_path / "btc-30m.csv"
    written = write_gapped_bars(path)
    scan = scan_series([(path, "csv")])
    assert scan.rows == len(written)
    assert scan.spacing_ms == HALF_HOUR
    assert scan.timeframe == "30m"
    assert [(g.after_ms, g.before_ms, g.missing) for g in scan.gaps] == [
        (T0 + (start - 1) * HALF_HOUR, T0 + (start + count) * HALF_HOUR, count)
        for start, count in OUTAGES
    ]
    assert scan.missing == 12
    assert scan.largest is not None
    assert scan.largest.missing == 8
    report = scan.report("30m")
    assert report.startswith("3 gap(s), 12 30m bar(s) missing in 228 rows; the largest: 8 30m")
    assert "between 2024-01-04T02:30:00Z and 2024-01-04T07:00:00Z" in report
    # against a finer interval asked for, every 15-minute slot without a row is missing
    finer = scan_series([(path, "csv")], interval_ms=HALF_HOUR // 2)
    assert finer.spacing_ms == HALF_HOUR
    assert finer.missing == (written[-1] - T0) // (HALF_HOUR // 2) + 1 - len(written)


def test_a_header_only_file_is_refused_before_any_event(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("timestamp,open,high,low,close,volume\n\n")
    with pytest.raises(DataSourceError, match=r"cut.csv: has a header but no data rows"):
        _bars(path)


@pytest.mark.parametrize("block_chars", [None, 120])
def test_an_absurd_number_is_refused_at_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_chars: int | None
) -> None:
    if block_chars is not None:
        monkeypatch.setattr("crypto_bot_core.builtins.replay.reading.BLOCK_CHARS", block_chars)
    path = tmp_path / "big.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{T0},100,101,99,100.5,2\n"
        f"{T0 + HALF_HOUR},100.5,1e400,99,1e400,2\n"
    )
    with pytest.raises(
        DataSourceError, match=r"big.csv: line 3 \(data row 2\): high 1e400 is out of range"
    ):
        _bars(path)


def test_the_scan_reads_blank_lines_and_bad_rows_row_by_row(tmp_path: Path) -> None:
    from crypto_bot_core.builtins.replay.gaps import scan_series

    path = tmp_path / "btc-30m.csv"
    written = write_gapped_bars(path)
    clean = scan_series([(path, "csv")])
    lines = path.read_text().splitlines()
    # a blank line and a row whose timestamp does not parse (left to the replay's checks)
    lines[5:5] = ["", "not-a-time,1,1,1,1,1"]
    path.write_text("\n".join(lines) + "\n")
    scan = scan_series([(path, "csv")])
    assert scan.rows == len(written)
    assert [(g.after_ms, g.missing) for g in scan.gaps] == [
        (g.after_ms, g.missing) for g in clean.gaps
    ]
