"""A backtest keeps only what can still be asked for: its simulated venues forget closed
orders (capability ``forget_closed``) and its order manager can hold open orders only, and
neither changes a record, a fill or the equity curve. Resumable runs keep everything."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.portfolio import Portfolio
from crypto_bot_core.host import Host
from crypto_bot_sdk import RecordType

CONFIG = """
mode: backtest
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 1m,
             bars: 1200, seed: 5, venue_spread_bps: 10}
agents:
  - {name: ema, plugin: "technical-agents:ema_crossover", config: {fast: 5, slow: 12}}
exchanges:
  - {name: alpha, plugin: paper-exchange, config: {venue: alpha, fill_at: signal_close,
     balances: {USDT: "1000000"}}}
  - {name: beta, plugin: paper-exchange, config: {venue: beta, balances: {USDT: "1000000"}}}
sizing: {mode: discrete, notional_per_symbol: "20000", long_only: false}
risk_rules:
  - {plugin: "standard-risk:max_order_notional", config: {limit: "50000"}}
  - {plugin: "standard-risk:max_position", config: {max_notional: "60000"}}
  - {plugin: "standard-risk:max_gross_exposure", config: {max_leverage: "1"}}
  - {plugin: "standard-risk:max_drawdown", config: {max_drawdown: "0.5"}}
  - {plugin: "standard-risk:price_band", config: {max_deviation_bps: "500"}}
"""


def build() -> Engine:
    loaded = parse_config(CONFIG, source="<test>", environ={})
    return assemble(loaded, Host(environ={}).load(), ledger=MemoryAuditLog(), run_id="mem").engine


def run(engine: Engine, *, forget: bool = True, keep_closed: bool = True) -> Engine:
    if not forget:
        for adapter in engine.exchanges.values():
            adapter.forget_closed_orders = lambda: None  # type: ignore[method-assign]

    async def go() -> None:
        await engine.start()
        engine.orders.keep_closed = keep_closed
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


def records(engine: Engine) -> list[tuple[RecordType, dict[str, Any], datetime | None]]:
    assert isinstance(engine.ledger, MemoryAuditLog)
    return engine.ledger.records


def venues(engine: Engine) -> list[PaperExchange]:
    found = [a for a in engine.exchanges.values() if isinstance(a, PaperExchange)]
    assert len(found) == 2
    return found


def test_a_backtest_keeps_only_open_orders_and_records_the_same() -> None:
    plain = run(build(), forget=False)
    lean = run(build(), keep_closed=False)
    assert plain.stats.fills > 20  # the comparison means something only if both traded
    assert records(lean) == records(plain)
    assert [row.fill for row in lean.trades] == [row.fill for row in plain.trades]
    assert list(lean.equity_curve) == list(plain.equity_curve)
    assert lean.stats == plain.stats
    assert len(plain.orders.orders) == plain.stats.orders
    assert all(o.status.is_open for o in lean.orders.orders.values())
    for venue in venues(lean):
        kept = [o for cid, o in venue._orders.items() if cid not in venue._closed]
        assert all(o.is_open for o in kept)
        assert set(venue._settlement.by_order) <= set(venue._orders)
    assert sum(len(v._orders) for v in venues(plain)) == plain.stats.orders


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_a_resumable_run_keeps_every_order_at_its_venues(mode: str) -> None:
    engine = build()
    engine.mode = mode
    engine.portfolio = Portfolio()
    asyncio.run(engine._open_venues(None))
    assert not any(v._forget for v in venues(engine))


def test_a_backtest_tells_its_venues_to_forget() -> None:
    engine = build()
    engine.portfolio = Portfolio()
    asyncio.run(engine._open_venues(None))
    assert all(v._forget for v in venues(engine))
