"""The kill switch on a run that already stopped: nothing is booked for the past.

On the run folder's SQLite ledger and on a PostgreSQL one (``kill_ledger``).

A finished perpetual run holding a position is killed afterwards. The kill
must not replay the run (funding charged for intervals before the position
existed, closing fills matched against bars the run already processed); its
records are dated at or after everything the run recorded, so a daily report
rendered before the kill renders the same after it. The finite data set has
ended, so the flattening order cannot fill: the kill says so, venue by venue,
and ``cryptobot kill`` exits non-zero naming it. Every kill names who decided.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.app import run_folder
from crypto_bot_core.app.runner import KILL_FILE, resume_session, run_session
from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.cli.app import app
from crypto_bot_core.cli.run import NOT_FLAT_EXIT
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.durability import VenueStateStore
from crypto_bot_core.engine.kill import kill_request_text, read_kill_request
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType

CONFIG = """
mode: paper
run: {{run_dir: {run_dir}}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: ["BTC/USDT:USDT"], venues: [alpha], timeframe: 5m, bars: 400, seed: 21,
             funding_interval: 8h, perp_basis_bps: 8}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 12, slow: 48}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange, config: {{venue: alpha, data_venue: alpha,
     taker_fee: "0.0004", leverage: "2", balances: {{USDT: "100000"}}}}}}
sizing: {{notional_per_symbol: "20000"}}
{ledger}
"""

MARKET_TIME = {RecordType.FILL, RecordType.FUNDING, RecordType.ORDER_INTENT}
"""Records stamped with the market's time (system records carry the wall clock)."""


def _records(url: str) -> list[LedgerRecord]:
    ledger = open_ledger(url)
    try:
        return list(ledger.records())
    finally:
        ledger.close()


def _day_report(records: list[LedgerRecord], day: str) -> list[tuple[str, str]]:
    """What a daily report of ``day`` is made of: the fills and funding dated that day."""
    return sorted(
        (r.type.value, json.dumps(r.payload, sort_keys=True))
        for r in records
        if r.type in (RecordType.FILL, RecordType.FUNDING) and r.ts.date().isoformat() == day
    )


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kill_ledger(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: the run folder's own SQLite ledger; else a fresh PostgreSQL database (dropped
    afterwards) as the ledger."""
    if request.param == "sqlite":
        yield None
        return
    name = f"kill_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_SERVER}/{name}?schema=audit"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _config(run_dir: object, ledger_url: str | None = None) -> str:
    ledger = f'ledger: {{url: "{ledger_url}"}}' if ledger_url else ""
    return CONFIG.format(run_dir=run_dir, ledger=ledger)


def test_killing_a_finished_run_books_nothing_for_the_past(
    tmp_path: Path, kill_ledger: str | None
) -> None:
    host = Host(environ={}).load()
    loaded = parse_config(_config(tmp_path / "runs", kill_ledger), environ={})
    finished = run_session(loaded, host=host, run_id="done")
    before = _records(finished.ledger_url)
    assert [r for r in before if r.type is RecordType.FILL], "the run never traded"
    last_market = max(r.ts for r in before if r.type in MARKET_TIME)
    days = sorted({r.ts.date().isoformat() for r in before if r.type in MARKET_TIME})
    reports = {day: _day_report(before, day) for day in days}

    killed = resume_session(
        finished.run_dir, host=host, kill_reason="desk closes", decided_by="alice"
    )

    after = _records(finished.ledger_url)
    assert after[: len(before)] == before  # appended only
    new = after[len(before) :]
    kill = next(r for r in new if r.type is RecordType.KILL_SWITCH)
    # Dated no earlier than anything the run recorded; nothing booked for the past.
    assert kill.ts >= last_market
    assert [r for r in new if r.type is RecordType.FUNDING] == []
    for record in new:
        if record.type in MARKET_TIME:
            assert record.ts >= kill.ts, (record.type, record.ts, kill.ts)
    assert {day: _day_report(after, day) for day in days} == reports
    # The data ended with the run: the flattening order cannot fill, and the kill says so.
    assert killed.kill_left
    assert any("position" in line and "BTC/USDT:USDT" in line for line in killed.kill_left)
    assert all(line.startswith("alpha: ") for line in killed.kill_left)
    stop = after[-1]
    assert stop.type is RecordType.SYSTEM_STOP
    assert stop.payload["reason"].startswith("kill switch: NOT flat")
    check = [r for r in new if r.type is RecordType.RECONCILIATION][-1]
    assert check.payload["kill_switch_check"] is True
    assert check.payload["flat"] is False
    assert check.payload["left"] == list(killed.kill_left)


def test_cryptobot_kill_exits_non_zero_naming_what_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bot.yaml").write_text(_config("runs"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_folder, "write_equity_png", lambda *args: None)
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "--config", "bot.yaml", "--run-id", "p", "--no-progress"])
    assert ran.exit_code == 0, ran.output

    done = runner.invoke(app, ["kill", "p", "--reason", "end of day"])

    assert done.exit_code == NOT_FLAT_EXIT == 9
    text = done.output + (done.stderr if done.stderr_bytes is not None else "")
    assert "did not leave run p flat" in text
    assert "alpha: position" in text
    assert "BTC/USDT:USDT" in text
    records = _records(f"sqlite:///{tmp_path / 'runs' / 'p' / 'ledger.sqlite'}")
    kill = next(r for r in records if r.type is RecordType.KILL_SWITCH)
    assert (kill.payload["origin"], kill.payload["decided_by"]) == ("manual", getpass.getuser())
    assert records[-1].payload["reason"].startswith("kill switch: NOT flat")
    # resuming the killed run only settles it, and says the same
    resumed = runner.invoke(app, ["run", "--resume", "p", "--no-progress"])
    assert resumed.exit_code == NOT_FLAT_EXIT
    assert "alpha: position" in resumed.output + (
        resumed.stderr if resumed.stderr_bytes is not None else ""
    )


def test_a_kill_requested_of_a_running_session_names_who_asked(tmp_path: Path) -> None:
    loaded = parse_config(_config(tmp_path / "runs"), environ={})
    folder = tmp_path / "runs" / "live"
    folder.mkdir(parents=True)
    # what `cryptobot kill` writes for a running session, polled at its next tick
    (folder / KILL_FILE).write_text(kill_request_text("end of day", "bob"), encoding="utf-8")

    result = run_session(loaded, host=Host(environ={}).load(), run_id="live")

    kill = next(r for r in _records(result.ledger_url) if r.type is RecordType.KILL_SWITCH)
    assert kill.payload["reason"] == "end of day"
    assert (kill.payload["origin"], kill.payload["decided_by"]) == ("manual", "bob")
    assert read_kill_request("drill\n") == ("drill", "unnamed operator (KILL file)")


def test_resuming_a_finished_run_books_no_funding_for_the_past(tmp_path: Path) -> None:
    host = Host(environ={}).load()
    finished = run_session(parse_config(_config(tmp_path / "runs"), environ={}), host=host)
    before = _records(finished.ledger_url)
    assert [r for r in before if r.type is RecordType.FUNDING], "no funding was ever due"

    resume_session(finished.run_dir, host=host)

    new = _records(finished.ledger_url)[len(before) :]
    assert [r for r in new if r.type is RecordType.FUNDING] == []


PERP_RUN = ("--config", "bot.yaml", "--run-id", "perp", "--no-progress")


@pytest.mark.slow
def test_a_crashed_perpetual_run_is_killed_flat_by_the_venue_s_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bot.yaml").write_text(_config("runs"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    crashed = subprocess.run(
        [sys.executable, "-m", "crypto_bot_core.cli", "run", *PERP_RUN],
        cwd=tmp_path,
        env={**env, "CRYPTOBOT_CHAOS_KILL_AT": "tick_done:250"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    folder = tmp_path / "runs" / "perp"
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    before = _records(url)
    assert _venue_position(folder) != 0, "the crash must leave a position to flatten"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_folder, "write_equity_png", lambda *args: None)

    done = CliRunner().invoke(app, ["kill", "perp"])

    assert done.exit_code == 0, (done.output, done.exception)
    assert _venue_position(folder) == 0  # by the venue's own saved state
    records = _records(url)
    kill_at = next(i for i, r in enumerate(records) if r.type is RecordType.KILL_SWITCH)
    kill = records[kill_at]
    assert kill.ts >= max(r.ts for r in before if r.type in MARKET_TIME)
    assert [r for r in records[len(before) : kill_at] if r.type is RecordType.FUNDING] == []
    closing = [r for r in records[kill_at:] if r.type is RecordType.FILL]
    assert closing
    assert all(r.ts > kill.ts for r in closing)
    assert records[-1].payload["reason"] == "settled after the kill switch"


def _venue_position(folder: Path) -> Decimal:
    venue = PaperExchange(
        PaperExchangeConfig(
            venue="alpha",
            data_venue="alpha",
            taker_fee=Decimal("0.0004"),
            leverage=Decimal(2),
            balances={"USDT": Decimal(100000)},
        )
    )
    venue.adopt_symbols(["BTC/USDT:USDT"])
    VenueStateStore(folder / "venues", {"alpha": venue}).restore_all()
    return sum((p.quantity for p in asyncio.run(venue.fetch_positions())), Decimal(0))


SPOT = """
mode: paper
run: {{run_dir: {run_dir}}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT], venues: [alpha], timeframe: 5m, bars: {bars}, seed: 11}}
agents:
  - {{name: fast, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, taker_fee: "0.0005", fill_at: signal_close,
              balances: {{USDT: "50000", BTC: "1"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
"""


def _btc_at_venue(folder: Path) -> Decimal:
    venue = PaperExchange(
        PaperExchangeConfig(
            venue="alpha",
            data_venue="alpha",
            taker_fee=Decimal("0.0005"),
            fill_at="signal_close",
            balances={"USDT": Decimal(50000), "BTC": Decimal(1)},
        )
    )
    venue.adopt_symbols(["BTC/USDT"])
    VenueStateStore(folder / "venues", {"alpha": venue}).restore_all()
    return sum(
        (b.total for b in asyncio.run(venue.fetch_balances()) if b.asset == "BTC"), Decimal(0)
    )


def test_a_kill_sells_what_the_run_bought_and_not_the_account_s_own_holdings(
    tmp_path: Path,
) -> None:
    host = Host(environ={}).load()
    text = SPOT.format(run_dir=tmp_path / "runs", bars=84)  # ends holding what it bought
    finished = run_session(parse_config(text, environ={}), host=host, run_id="spot")
    assert _btc_at_venue(finished.run_dir) > 1, "the run must end holding BTC it bought"
    before = _records(finished.ledger_url)

    killed = resume_session(finished.run_dir, host=host, kill_reason="flat", decided_by="eve")

    assert killed.kill_left == ()
    assert _btc_at_venue(finished.run_dir) == 1  # the account's own BTC is still there
    new = _records(finished.ledger_url)[len(before) :]
    kill = next(r for r in new if r.type is RecordType.KILL_SWITCH)
    closing = [r for r in new if r.type is RecordType.FILL]
    assert [r.payload["side"] for r in closing] == ["sell"]
    assert all(r.ts >= kill.ts for r in closing)
    assert new[-1].payload["reason"] == "settled after the kill switch"
