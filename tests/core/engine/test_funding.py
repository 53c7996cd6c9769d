"""Perpetual funding from the data: charged to the book, the venue and the ledger, never twice."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from crypto_bot_core.app.runner import run_session
from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.durability import VenueStateStore
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType

CONFIG = """
mode: paper
run: {{run_dir: {run_dir}}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: ["BTC/USDT:USDT"], venues: [alpha], timeframe: 5m, bars: 864, seed: 21,
             funding_interval: 8h, perp_basis_bps: 8}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 12, slow: 48}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange, config: {{venue: alpha, data_venue: alpha,
     taker_fee: "0.0004", leverage: "2", balances: {{USDT: "100000"}}}}}}
sizing: {{notional_per_symbol: "20000"}}
"""


def _records(url: str) -> list[LedgerRecord]:
    ledger = open_ledger(url)
    try:
        return list(ledger.records())
    finally:
        ledger.close()


def _venue_cash(folder: Path) -> Decimal:
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
    balances = asyncio.run(venue.fetch_balances())
    return next(b.total for b in balances if b.asset == "USDT")


def _check_funding(records: list[LedgerRecord]) -> Decimal:
    funding = [r.payload for r in records if r.type is RecordType.FUNDING]
    assert funding, "no position was held at any funding time"
    keys = [(f["venue"], f["symbol"], f["funding_ts"]) for f in funding]
    assert len(keys) == len(set(keys))  # each settlement once
    for f in funding:
        expected = Decimal(f["quantity"]) * Decimal(f["mark"]) * Decimal(f["rate"])
        assert Decimal(f["payment"]) == expected
        assert f["funding_ts"].endswith(("T00:00:00+00:00", "T08:00:00+00:00", "T16:00:00+00:00"))
    return sum((Decimal(f["payment"]) for f in funding), Decimal(0))


def test_funding_is_charged_to_book_venue_and_ledger_alike(tmp_path: Path) -> None:
    loaded = parse_config(CONFIG.format(run_dir=tmp_path / "runs"), environ={})
    result = run_session(loaded, host=Host(environ={}).load(), run_id="fund")
    paid = _check_funding(_records(result.ledger_url))
    assert paid != 0
    with (result.run_dir / "trades.csv").open() as fh:
        trades = list(csv.DictReader(fh))
    assert trades
    realised = sum((Decimal(t["realised_pnl"]) for t in trades), Decimal(0))
    fees = sum((Decimal(t["fee"]) for t in trades), Decimal(0))
    # The engine's book (from the ledger) and the venue's account agree to the last digit:
    # a perpetual's cash moves by realised P&L, fees and funding only.
    assert _venue_cash(result.run_dir) == Decimal(100000) + realised - fees - paid


@pytest.mark.slow
def test_a_crash_after_funding_never_charges_it_twice(tmp_path: Path) -> None:
    (tmp_path / "bot.yaml").write_text(CONFIG.format(run_dir="runs"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    base = [sys.executable, "-m", "crypto_bot_core.cli", "run", "--no-progress"]
    for spec in ("tick_done:300", "tick_done:290"):
        done = subprocess.run(
            [*base, "--config", "bot.yaml", "--run-id", "f"]
            if spec == "tick_done:300"
            else [*base, "--resume", "f"],
            cwd=tmp_path,
            env={**env, "CRYPTOBOT_CHAOS_KILL_AT": spec},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
    final = subprocess.run(
        [*base, "--resume", "f"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert final.returncode == 0, final.stderr
    folder = tmp_path / "runs" / "f"
    records = _records(f"sqlite:///{folder / 'ledger.sqlite'}")
    _check_funding(records)
    last = [r for r in records if r.type is RecordType.RECONCILIATION][-1]
    assert last.payload["position_differences"] == {}
