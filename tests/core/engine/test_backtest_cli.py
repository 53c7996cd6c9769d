"""`cryptobot backtest --data`: recorded files through the same engine; bad files refused."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from gapped_bars import write_gapped_bars
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _write_ohlcv(path: Path, closes: list[float]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        previous = closes[0]
        for i, close in enumerate(closes):
            low, high = min(previous, close) - 0.5, max(previous, close) + 0.5
            writer.writerow([START_MS + i * 60_000, previous, high, low, close, 5])
            previous = close


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(name)
    return CliRunner()


def test_backtest_replays_a_file_and_trades_the_trend(runner: CliRunner, tmp_path: Path) -> None:
    # a clean rise then a clean fall: one EMA crossover each way
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write_ohlcv(tmp_path / "btc.csv", closes)
    result = runner.invoke(
        app,
        [
            "backtest",
            "--data",
            "btc.csv",
            "--symbol",
            "BTC/USDT",
            "--run-id",
            "bt",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "bt" / "summary.json").read_text())
    assert summary["mode"] == "backtest"
    assert summary["events"] == 120
    assert [v["venue"] for v in summary["venues"]] == ["backtest"]
    ledger = open_ledger(f"sqlite:///{tmp_path / 'runs' / 'bt' / 'ledger.sqlite'}")
    try:
        fills = [r.payload for r in ledger.records() if r.type is RecordType.FILL]
    finally:
        ledger.close()
    assert [f["side"] for f in fills][:2] == ["buy", "sell"]
    assert summary["fills"] == len(fills)


def test_backtest_trades_a_fixed_quantity_filled_at_the_signal_close(
    runner: CliRunner, tmp_path: Path
) -> None:
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write_ohlcv(tmp_path / "btc.csv", closes)
    args = ["backtest", "--data", "btc.csv", "--run-id", "q", "--no-progress"]
    result = runner.invoke(app, [*args, "--quantity", "2", "--fill-at", "signal_close"])
    assert result.exit_code == 0, result.output
    ledger = open_ledger(f"sqlite:///{tmp_path / 'runs' / 'q' / 'ledger.sqlite'}")
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    fills = [r.payload for r in records if r.type is RecordType.FILL]
    assert [Decimal(f["quantity"]) for f in fills[:2]] == [Decimal(2), Decimal(2)]
    # filled at the close of the bar that decided it
    closes_by_ms = {START_MS + i * 60_000: c for i, c in enumerate(closes)}
    intents = [r for r in records if r.type is RecordType.ORDER_INTENT]
    first_bar_ms = int(intents[0].ts.timestamp() * 1000)
    assert float(fills[0]["price"]) == closes_by_ms[first_bar_ms]


def test_backtest_refuses_a_bad_fill_setting(runner: CliRunner, tmp_path: Path) -> None:
    _write_ohlcv(tmp_path / "btc.csv", [100.0 + i for i in range(30)])
    result = runner.invoke(
        app, ["backtest", "--data", "btc.csv", "--fill-at", "whenever", "--no-progress"]
    )
    assert result.exit_code == 2
    assert "fill_at" in result.output


def test_backtest_window_limits_the_events(runner: CliRunner, tmp_path: Path) -> None:
    _write_ohlcv(tmp_path / "btc.csv", [100.0 + (i % 7) for i in range(100)])
    result = runner.invoke(
        app,
        [
            "backtest",
            "--data",
            "btc.csv",
            "--from",
            "2024-01-01T00:30:00",
            "--to",
            "2024-01-01T01:00:00",
            "--run-id",
            "w",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "w" / "summary.json").read_text())
    assert summary["events"] == 30
    assert summary["start"] == "2024-01-01T00:30:00+00:00"


def test_bad_file_is_refused_naming_file_and_row(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{START_MS},100,101,99,100.5,10\n"
        f"{START_MS + 60_000},100.5,101,99,-3,10\n"
    )
    result = runner.invoke(app, ["backtest", "--data", "bad.csv", "--run-id", "b", "--no-progress"])
    assert result.exit_code == 7  # the data refused: its own exit status
    assert "bad.csv: line 3 (data row 2): close -3 is not positive" in result.output


def _first_intent_ms(tmp_path: Path, run_id: str) -> int:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'runs' / run_id / 'ledger.sqlite'}")
    try:
        intents = [r for r in ledger.records() if r.type is RecordType.ORDER_INTENT]
    finally:
        ledger.close()
    return int(intents[0].ts.timestamp() * 1000)


def test_an_order_and_a_position_left_at_the_end_are_listed(
    runner: CliRunner, tmp_path: Path
) -> None:
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write_ohlcv(tmp_path / "btc.csv", closes)
    args = ["backtest", "--data", "btc.csv", "--no-progress"]
    assert runner.invoke(app, [*args, "--run-id", "full"]).exit_code == 0
    # stop right after the bar that decided the first order: filled at the next open, it
    # is still open when the data ends; filled at the signal's close, the position is held
    decided = _first_intent_ms(tmp_path, "full")
    until = datetime.fromtimestamp((decided + 60_000) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(app, [*args, "--to", until, "--run-id", "cut"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "cut" / "summary.json").read_text())
    [order] = summary["open_orders"]
    assert (order["venue"], order["symbol"], order["side"]) == ("backtest", "BTC/USDT", "buy")
    assert "orders left open at the end: 1" in result.output
    assert order["client_order_id"] in result.output
    assert summary["open_positions"] == []

    result = runner.invoke(
        app, [*args, "--to", until, "--fill-at", "signal_close", "--run-id", "held"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "held" / "summary.json").read_text())
    assert summary["open_orders"] == []
    [position] = summary["open_positions"]
    assert (position["venue"], position["symbol"]) == ("backtest", "BTC/USDT")
    assert Decimal(position["quantity"]) > 0
    assert "positions left at the end: 1" in result.output


def test_a_run_that_rejects_most_decisions_says_so_with_the_reasons(
    runner: CliRunner, tmp_path: Path
) -> None:
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write_ohlcv(tmp_path / "btc.csv", closes)
    (tmp_path / "tight.yaml").write_text(
        "mode: backtest\n"
        "agents:\n  - {name: ema, plugin: 'technical-agents:ema_crossover', "
        "config: {fast: 12, slow: 36}}\n"
        "policies:\n  definitions: {trend: {agents: [{agent: ema}]}}\n  default: trend\n"
        "sizing: {mode: discrete, notional_per_symbol: '1000', entry_threshold: 0.2}\n"
        "risk_rules:\n  - {plugin: 'standard-risk:max_order_notional', config: {limit: '10'}}\n"
    )
    result = runner.invoke(
        app,
        ["backtest", "--data", "btc.csv", "-c", "tight.yaml", "--run-id", "r", "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["fills"] == 0
    assert summary["decisions"] == summary["rejected"] > 0
    assert summary["mostly_rejected"] is True
    [reason] = summary["rejections"]
    assert reason["reason"] == "risk rule max_order_notional"
    assert reason["count"] == summary["rejected"]
    assert reason["example"]
    warning = next(line for line in result.output.splitlines() if line.startswith("WARNING"))
    assert f"{summary['rejected']} of {summary['decisions']} decisions" in warning
    assert "max_order_notional" in warning


def _gapped(tmp_path: Path, name: str = "btc-30m.csv") -> list[int]:
    return write_gapped_bars(tmp_path / name)


def test_gaps_are_refused_with_a_report_and_the_choices_of_the_command(
    runner: CliRunner, tmp_path: Path
) -> None:
    _gapped(tmp_path)
    result = runner.invoke(app, ["backtest", "--data", "btc-30m.csv", "--no-progress"])
    assert result.exit_code == 7, result.output
    assert "btc-30m.csv: 3 gap(s), 12 30m bar(s) missing in 228 rows" in result.output
    assert "the largest: 8 30m bar(s) between 2024-01-04T02:30:00Z and 2024-01-04T07:00:00Z" in (
        result.output
    )
    assert "--gaps skip" in result.output
    assert "--gaps carry-forward" in result.output
    assert "allow_gaps" not in result.output
    assert not (tmp_path / "runs").exists()  # refused before anything ran


@pytest.mark.parametrize(("mode", "extra"), [("skip", 0), ("carry-forward", 12)])
def test_gaps_skipped_or_carried_forward_on_the_files_own_timeframe(
    runner: CliRunner, tmp_path: Path, mode: str, extra: int
) -> None:
    written = _gapped(tmp_path)
    result = runner.invoke(
        app,
        [
            *("backtest", "--data", "btc-30m.csv", "--symbol", "BTC/USD"),
            *("--gaps", mode, "--run-id", mode, "--no-progress"),
        ],
    )
    assert result.exit_code == 0, result.output
    done = "skipped" if mode == "skip" else "carried forward"
    assert f"gaps {done}: btc-30m.csv: 3 gap(s), 12 30m bar(s) missing" in result.output
    summary = json.loads((tmp_path / "runs" / mode / "summary.json").read_text())
    assert summary["events"] == len(written) + extra
    config = json.loads((tmp_path / "runs" / mode / "config.json").read_text())
    [source] = config["data_sources"]
    assert source["config"]["files"][0]["timeframe"] == "30m"  # read from the timestamps
    assert source["config"]["gaps"] == mode


def test_a_timeframe_the_file_contradicts_is_refused_naming_the_right_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    _gapped(tmp_path)
    result = runner.invoke(
        app, ["backtest", "--data", "btc-30m.csv", "--timeframe", "1m", "--no-progress"]
    )
    assert result.exit_code == 2, result.output
    assert "btc-30m.csv: its bars are 30m apart (the most common spacing of its 228 rows)" in (
        result.output
    )
    assert "pass --timeframe 30m" in result.output
    assert "gap" not in result.output  # not reported as 29 missing bars between every two


def test_a_configs_replay_settings_are_kept(runner: CliRunner, tmp_path: Path) -> None:
    written = _gapped(tmp_path)
    (tmp_path / "bt.yaml").write_text(
        "mode: backtest\n"
        "agents:\n  - {name: ema, plugin: 'technical-agents:ema_crossover'}\n"
        "data_sources:\n"
        "  - name: archive\n"
        "    plugin: replay\n"
        "    config:\n"
        "      gaps: carry-forward\n"
        "      files:\n"
        "        - {path: btc-30m.csv, symbol: BTC/USD, venue: kraken, timeframe: 30m,\n"
        "           tick_size: '0.5', min_notional: '5'}\n"
    )
    args = ["backtest", "-c", "bt.yaml", "--no-progress"]
    result = runner.invoke(app, [*args, "--data", "btc-30m.csv", "--run-id", "c"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "runs" / "c" / "config.json").read_text())
    [source] = config["data_sources"]
    assert source["name"] == "archive"
    assert source["config"]["gaps"] == "carry-forward"
    [entry] = source["config"]["files"]
    assert (entry["symbol"], entry["venue"], entry["tick_size"], entry["min_notional"]) == (
        "BTC/USD",
        "kraken",
        "0.5",
        "5",
    )
    assert [e["name"] for e in config["exchanges"]] == ["kraken"]
    summary = json.loads((tmp_path / "runs" / "c" / "summary.json").read_text())
    assert summary["events"] == len(written) + 12
    # --data may be left out: the config's files are replayed
    result = runner.invoke(app, [*args, "--run-id", "d"])
    assert result.exit_code == 0, result.output
    # an option that contradicts the file's entry is refused, not silently applied
    result = runner.invoke(app, [*args, "--venue", "binance"])
    assert result.exit_code == 2
    assert "says venue: kraken, and --venue says binance" in result.output


def test_a_config_with_another_kind_of_data_source_is_set_aside_saying_so(
    runner: CliRunner, tmp_path: Path
) -> None:
    _write_ohlcv(tmp_path / "btc.csv", [100.0 + i for i in range(30)])
    default = runner.invoke(app, ["config", "default"])  # the synthetic market's config
    assert default.exit_code == 0
    assert "plugin: synthetic-market" in default.stdout
    (tmp_path / "synthetic.yaml").write_text(default.stdout)
    result = runner.invoke(
        app,
        ["backtest", "-c", "synthetic.yaml", "--data", "btc.csv", "--no-progress", "--run-id", "s"],
    )
    assert result.exit_code == 0, result.output
    assert (
        "synthetic.yaml: data_sources 'market' (synthetic-market) not used: the backtest "
        "replays the --data files" in result.output
    )
    used = json.loads((tmp_path / "runs" / "s" / "config.json").read_text())
    assert [s["plugin"] for s in used["data_sources"]] == ["replay"]
    # without --data there is nothing to replay: refused, saying what to do
    result = runner.invoke(app, ["backtest", "-c", "synthetic.yaml", "--no-progress"])
    assert result.exit_code == 2
    assert "synthetic.yaml: data_sources lists 'market' (synthetic-market)" in result.output
    assert "cryptobot run -c synthetic.yaml" in result.output


def test_a_header_only_file_is_refused_before_the_run(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "cut.csv").write_text("timestamp,open,high,low,close,volume\n")
    result = runner.invoke(app, ["backtest", "--data", "cut.csv", "--no-progress"])
    assert result.exit_code == 7
    assert "cut.csv: has a header but no data rows" in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ("[{symbol: BTC/USD, venue: kraken}]", "must be a list of entries with a path each"),
        (
            "[{path: btc-30m.csv, venue: kraken}, {path: eth.csv, venue: kraken}]",
            "the replay source also lists eth.csv, which --data does not name",
        ),
        (
            "[{path: btc-30m.csv, venue: kraken}, {path: eth.csv, venue: bitstamp}]",
            "the files are on 2 venues (bitstamp, kraken)",
        ),
    ],
)
def test_a_replay_config_that_cannot_merge_is_refused_naming_why(
    runner: CliRunner, tmp_path: Path, files: str, message: str
) -> None:
    _gapped(tmp_path)
    _write_ohlcv(tmp_path / "eth.csv", [100.0 + i for i in range(30)])
    (tmp_path / "bt.yaml").write_text(
        f"data_sources:\n  - {{plugin: replay, config: {{files: {files}}}}}\n"
    )
    data = ["--data", "btc-30m.csv"] + (["--data", "eth.csv"] if "2 venues" in message else [])
    result = runner.invoke(app, ["backtest", "-c", "bt.yaml", *data, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "runs").exists()


def test_an_absurd_price_is_refused_at_its_row_with_the_data_exit_code(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "big.csv").write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{START_MS},100,101,99,100.5,2\n"
        f"{START_MS + 60_000},100.5,1e400,99,1e400,2\n"
        f"{START_MS + 120_000},100.5,101,99,100.5,2\n"
    )
    result = runner.invoke(app, ["backtest", "--data", "big.csv", "--run-id", "x", "--no-progress"])
    assert result.exit_code == 7, result.output
    assert "big.csv: line 3 (data row 2): high 1e400 is out of range (at most 1e30)" in (
        result.output
    )
