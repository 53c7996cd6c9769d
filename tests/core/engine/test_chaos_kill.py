"""Chaos: a paper run killed with SIGKILL at 24 points of the order path, then ``cryptobot kill``.

Each case crashes a fresh run at one point (every crash point of
:mod:`crypto_bot_core.engine.chaos`, at four depths) and pulls the kill switch
on what is left instead of resuming. Whatever the crash interrupted - a fill
recorded but not its order's status, an intent the venue never saw, a tick
half done - the kill must end with every venue flat *by the venue's own saved
state* (read back here through fresh adapters), the ledger and the venue
agreeing on every fill, a verified final record, and exit 0. The kill is a
person's (the CLI user's) and is dated after everything the run recorded.
Before the kill reconciled first, ``fill_recorded:8`` ended in "would overfill
order", ``fill_recorded:5`` left an open order at the venue and exited 0, and
``tick_done:1`` raised a ``LookupError`` with no kill record.

The crashes run in subprocesses (SIGKILL needs a process to die), side by side;
each kill runs the real CLI in this process, which keeps the 24 cases under a
minute.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.app import run_folder
from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.cli.app import app
from crypto_bot_core.engine.chaos import POINTS
from crypto_bot_core.engine.durability import VenueStateStore
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType

SYMBOLS = ("BTC/USDT", "ETH/USDT")
CONFIG = """
mode: paper
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 5m,
             bars: 160, seed: 11}
agents:
  - {name: fast, plugin: "technical-agents:ema_crossover", config: {fast: 3, slow: 8}}
exchanges:
  - {name: alpha, plugin: paper-exchange,
     config: {venue: alpha, data_venue: alpha, taker_fee: "0.0005", balances: {USDT: "50000"}}}
  - {name: beta, plugin: paper-exchange,
     config: {venue: beta, data_venue: beta, taker_fee: "0.0004", balances: {USDT: "50000"}}}
sizing: {notional_per_symbol: "5000"}
"""
FEES = {"alpha": "0.0005", "beta": "0.0004"}
MARKET_TIME = {RecordType.FILL, RecordType.FUNDING, RecordType.ORDER_INTENT}

RUN_ARGS = ("--config", "bot.yaml", "--run-id", "k", "--no-progress")
CASES = [f"{point}:{n}" for n in (1, 3, 5, 8) for point in POINTS]


def _crash(
    folder: Path, spec: str, command: tuple[str, ...] = ("run", *RUN_ARGS)
) -> subprocess.CompletedProcess[str]:
    if command[0] == "run":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bot.yaml").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    env["CRYPTOBOT_CHAOS_KILL_AT"] = spec
    return subprocess.run(
        [sys.executable, "-m", "crypto_bot_core.cli", *command],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _venue_state(folder: Path) -> dict[str, tuple[list[str], dict[str, Decimal], list[str]]]:
    """Per venue, as the venue itself saved it: open orders, balances, fill ids."""

    async def read(venue: PaperExchange) -> tuple[list[str], dict[str, Decimal], list[str]]:
        return (
            [o.client_order_id for o in await venue.fetch_open_orders()],
            {b.asset: b.total for b in await venue.fetch_balances()},
            [f.fill_id for f in await venue.fetch_fills()],
        )

    found = {}
    for name, fee in FEES.items():
        venue = PaperExchange(
            PaperExchangeConfig(
                venue=name,
                data_venue=name,
                taker_fee=Decimal(fee),
                balances={"USDT": Decimal(50000)},
            )
        )
        venue.adopt_symbols(list(SYMBOLS))
        VenueStateStore(folder / "venues", {name: venue}).restore_all()
        found[name] = asyncio.run(read(venue))
    return found


def _records(folder: Path) -> list[LedgerRecord]:
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    try:
        assert ledger.verify().ok
        return list(ledger.records())
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def crashed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The selected cases' runs, crashed; the crashes run side by side (each is its own
    process)."""
    selected = [
        item.callspec.params["spec"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and hasattr(item, "callspec")
        and item.originalname == "test_sigkill_then_kill_leaves_every_venue_flat"
    ]
    specs = [spec for spec in CASES if spec in selected] or CASES
    root = tmp_path_factory.mktemp("chaos-kill")
    folders = {spec: root / spec.replace(":", "-") for spec in specs}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(specs, pool.map(lambda s: _crash(folders[s], s), specs), strict=True))
    for spec, result in results.items():
        assert result.returncode == -signal.SIGKILL, (spec, result.stderr[-2000:])
    return folders


@pytest.mark.slow
@pytest.mark.parametrize("spec", CASES)
def test_sigkill_then_kill_leaves_every_venue_flat(
    spec: str, crashed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(crashed[spec])
    monkeypatch.delenv("CRYPTOBOT_CHAOS_KILL_AT", raising=False)
    # The run folder's picture is not what is tested, and drawing it is most of a kill's time.
    monkeypatch.setattr(run_folder, "write_equity_png", lambda *args: None)

    done = CliRunner().invoke(app, ["kill", "k", "--reason", "chaos drill"])

    assert done.exit_code == 0, (spec, done.output, done.exception)
    assert "is flat by its own state" in done.output
    folder = crashed[spec] / "runs" / "k"
    records = _records(folder)
    # flat by the venues' own saved state: no open order, nothing but the starting cash
    state = _venue_state(folder)
    for name, (open_orders, balances, _) in state.items():
        assert open_orders == [], (spec, name)
        for asset in ("BTC", "ETH"):
            assert balances.get(asset, Decimal(0)) == 0, (spec, name, asset)
    # the ledger and the venues agree on every fill, each booked once
    booked = [r.payload["fill_id"] for r in records if r.type is RecordType.FILL]
    assert len(booked) == len(set(booked))
    assert sorted(booked) == sorted(f for _, _, fills in state.values() for f in fills)
    # the kill: a person's decision, dated after everything the run had recorded
    kills = [i for i, r in enumerate(records) if r.type is RecordType.KILL_SWITCH]
    assert len(kills) == 1
    kill = records[kills[0]]
    assert kill.payload["origin"] == "manual"
    assert kill.payload["decided_by"] == getpass.getuser()
    for record in records[: kills[0]]:
        if record.type in MARKET_TIME:
            assert record.ts <= kill.ts, (spec, record.type, record.ts, kill.ts)
    for record in records[kills[0] :]:
        if record.type in MARKET_TIME:
            assert record.ts >= kill.ts, (spec, record.type, record.ts, kill.ts)
    # verified, then the final record
    check = [r for r in records if r.type is RecordType.RECONCILIATION][-1]
    assert check.payload["kill_switch_check"] is True
    assert check.payload["flat"] is True, check.payload["left"]
    assert records[-1].type is RecordType.SYSTEM_STOP
    assert records[-1].payload["reason"] == "settled after the kill switch"


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["intent_recorded:1", "exchange_answered:1", "venue_persisted:1"])
def test_a_kill_that_crashes_too_is_finished_by_the_next(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kill's own flattening order is cut short (recorded, never sent; sent, never
    recorded; persisted at the venue, never recorded): the next kill reconciles it and
    still ends flat, each fill booked once."""
    assert _crash(tmp_path, "fill_recorded:5").returncode == -signal.SIGKILL
    first = _crash(tmp_path, spec, ("kill", "k"))
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_folder, "write_equity_png", lambda *args: None)

    done = CliRunner().invoke(app, ["kill", "k", "--reason", "again"])

    assert done.exit_code == 0, (done.output, done.exception)
    folder = tmp_path / "runs" / "k"
    records = _records(folder)
    state = _venue_state(folder)
    for name, (open_orders, balances, _) in state.items():
        assert open_orders == [], name
        assert all(balances.get(asset, Decimal(0)) == 0 for asset in ("BTC", "ETH")), name
    booked = [r.payload["fill_id"] for r in records if r.type is RecordType.FILL]
    assert sorted(booked) == sorted(f for _, _, fills in state.values() for f in fills)
    assert len(booked) == len(set(booked))
    assert [r.payload["decided_by"] for r in records if r.type is RecordType.KILL_SWITCH] == [
        getpass.getuser()
    ] * 2
    assert records[-1].payload["reason"] == "settled after the kill switch"
