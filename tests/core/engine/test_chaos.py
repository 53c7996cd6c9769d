"""Chaos: a paper run killed with SIGKILL at 20+ points of the order path and resumed each time.

After the last resume the ledger and the (durable) paper venues must agree:
no order lost or duplicated, the same fills, the same positions.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_core.engine.chaos import POINTS
from crypto_bot_core.engine.durability import VenueStateStore
from crypto_bot_core.engine.reconcile import rebuild
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import Fill, Order, OrderNotFoundError, OrderStatus, RecordType, parse_symbol

CONFIG = """
mode: paper
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 5m,
             bars: 900, seed: 11}
agents:
  - {name: fast, plugin: "technical-agents:ema_crossover", config: {fast: 3, slow: 8}}
exchanges:
  - {name: alpha, plugin: paper-exchange,
     config: {venue: alpha, data_venue: alpha, taker_fee: "0.0005", balances: {USDT: "50000"}}}
  - {name: beta, plugin: paper-exchange,
     config: {venue: beta, data_venue: beta, taker_fee: "0.0004", balances: {USDT: "50000"}}}
sizing: {notional_per_symbol: "5000"}
"""

# Kill specs: every crash point, at several depths into each (re)started process.
PLAN = [f"{point}:{n}" for n in (1, 3, 2, 5) for point in POINTS]


def _cryptobot(args: list[str], cwd: Path, chaos: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    if chaos is not None:
        env["CRYPTOBOT_CHAOS_KILL_AT"] = chaos
    return subprocess.run(
        [sys.executable, "-m", "crypto_bot_core.cli", *args, "--no-progress"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _venues(folder: Path) -> dict[str, PaperExchange]:
    """The venues as the exchange holds them: fresh adapters restored from their saved state."""
    venues = {
        name: PaperExchange(
            PaperExchangeConfig(
                venue=name,
                data_venue=name,
                taker_fee=Decimal(fee),
                balances={"USDT": Decimal(50000)},
            )
        )
        for name, fee in (("alpha", "0.0005"), ("beta", "0.0004"))
    }
    for venue in venues.values():
        venue.adopt_symbols(["BTC/USDT", "ETH/USDT"])
    VenueStateStore(folder / "venues", venues).restore_all()
    return venues


@pytest.mark.slow
def test_sigkill_at_twenty_points_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    (tmp_path / "bot.yaml").write_text(CONFIG)
    first = _cryptobot(["run", "--config", "bot.yaml", "--run-id", "chaos"], tmp_path, PLAN[0])
    kills = int(first.returncode == -signal.SIGKILL)
    assert kills == 1, first.stderr
    for spec in PLAN[1:]:
        done = _cryptobot(["run", "--resume", "chaos"], tmp_path, spec)
        if done.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert done.returncode == 0, done.stderr
    final = _cryptobot(["run", "--resume", "chaos"], tmp_path, None)
    assert final.returncode == 0, final.stderr
    assert kills >= 20

    folder = tmp_path / "runs" / "chaos"
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    try:
        assert ledger.verify().ok
        records = list(ledger.records())
    finally:
        ledger.close()
    starts = [r for r in records if r.type is RecordType.SYSTEM_START]
    assert len(starts) == len(PLAN) + 1
    state = rebuild(records)
    venues = _venues(folder)

    async def venue_view() -> tuple[
        dict[str, Order | None], list[Fill], dict[str, dict[str, Decimal]]
    ]:
        known: dict[str, Order | None] = {}
        for cid, order in state.orders.items():
            try:
                known[cid] = await venues[order.venue].fetch_order(cid, order.symbol)
            except OrderNotFoundError:
                known[cid] = None
        fills = [f for v in venues.values() for f in await v.fetch_fills()]
        balances = {
            name: {b.asset: b.total for b in await v.fetch_balances()} for name, v in venues.items()
        }
        return known, fills, balances

    known, venue_fills, balances = asyncio.run(venue_view())

    # the same fills, each once
    ledger_fill_ids = [f.fill_id for f in state.fills]
    assert len(ledger_fill_ids) == len(set(ledger_fill_ids))
    assert sorted(ledger_fill_ids) == sorted(f.fill_id for f in venue_fills)
    assert len(ledger_fill_ids) > 20
    # every venue order is in the ledger, with the same state; none lost, none twice
    open_at_venue = [
        o.client_order_id for v in venues.values() for o in asyncio.run(v.fetch_open_orders())
    ]
    assert set(open_at_venue) <= set(state.orders)
    never_reached = 0
    for cid, order in state.orders.items():
        venue_order = known[cid]
        if venue_order is None:
            never_reached += 1
            assert order.status is OrderStatus.REJECTED
            assert "never reached the venue" in order.reason
        else:
            assert order.status is venue_order.status, cid
            assert order.filled_quantity == venue_order.filled_quantity
    assert never_reached >= 1  # the intent_recorded kills left orders the venue never saw
    # positions: what the ledger's fills add up to is what the venue holds
    for venue in venues:
        for symbol in ("BTC/USDT", "ETH/USDT"):
            base = parse_symbol(symbol)[0]
            held = sum(
                (
                    f.quantity * f.side.sign
                    for f in state.fills
                    if f.venue == venue and f.symbol == symbol
                ),
                Decimal(0),
            )
            assert balances[venue].get(base, Decimal(0)) == held, (venue, symbol)
    # and the last resume found nothing left to repair
    last_rec = [r for r in records if r.type is RecordType.RECONCILIATION][-1]
    assert last_rec.payload["position_differences"] == {}
