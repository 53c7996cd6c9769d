"""The kernel with real built-in parts and a flaky agent: degrade, record, carry on."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from fence_parts import Momentum, build_engine, market, run

from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_sdk import (
    Agent,
    AgentUnavailableError,
    MarketView,
    PluginConfig,
    RecordType,
    Signal,
)


def engine(agents: dict[str, Agent[PluginConfig]]) -> Engine:
    """Every agent blended in one policy, on 400 synthetic bars: long enough for an
    outage in the middle of the run and trading on both sides of it."""
    return build_engine(agents, sources=[market(bars=400)], run_id="k1")


class Flaky(Agent[PluginConfig]):
    """Down for ticks 100..199 of the run, like a hosted model service that fails."""

    name = "flaky"

    def __init__(self, config: PluginConfig) -> None:
        super().__init__(config)
        self.calls = 0

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        self.calls += 1
        if 100 <= self.calls < 200:
            raise AgentUnavailableError("sentiment service timed out after 2.0 s")
        return Signal(agent=self.name, symbol=symbol, ts=market.now, score=0.5, confidence=0.5)


def test_unavailable_agent_is_dropped_recorded_once_and_trading_continues() -> None:
    flaky = Flaky(PluginConfig())
    e = engine({"m": Momentum(PluginConfig()), "f": flaky})
    asyncio.run(run(e))
    assert e.stats.agent_fallbacks == 100
    log = e.ledger
    assert isinstance(log, MemoryAuditLog)
    alerts = [p for t, p, _ in log.records if t is RecordType.ALERT]
    assert [a["event"] for a in alerts] == ["agent_fallback", "agent_recovered"]
    assert alerts[0]["source"] == "f"
    assert "timed out after 2.0 s" in alerts[0]["detail"]
    # the other agent kept trading through the outage
    assert e.stats.fills > 0
    outage_fills = [
        row
        for row in e.trades
        if row.fill.ts >= alerts_ts(log, "agent_fallback")
        and row.fill.ts < alerts_ts(log, "agent_recovered")
    ]
    assert outage_fills


def alerts_ts(log: MemoryAuditLog, event: str) -> datetime:
    found = [ts for t, p, ts in log.records if t is RecordType.ALERT and p["event"] == event]
    assert found
    assert found[0] is not None
    return found[0]


def test_equity_is_cash_plus_marked_positions_at_every_step() -> None:
    e = engine({"m": Momentum(PluginConfig())})
    asyncio.run(run(e))
    assert e.stats.fills >= 2
    account = e.portfolio.accounts["sim"]
    assert account.fees == sum((row.fill.fee for row in e.trades), Decimal(0))
    final = e.equity_curve[-1][1]
    book = e.portfolio.books.get(("sim", "BTC/USDT"))
    held = book.quantity * book.mark if book and book.mark else Decimal(0)
    assert final == account.cash + held
    summary = e.summary()
    assert summary.fills == e.stats.fills == len(e.trades)
    assert summary.final_equity == final


def test_kill_switch_cancels_flattens_and_records_then_stops_trading() -> None:
    e = engine({"m": Momentum(PluginConfig())})
    ticks = 0

    def kill_when_long() -> str | None:
        nonlocal ticks
        ticks += 1
        if ticks > 50 and e.portfolio.position_quantity("sim", "BTC/USDT") > 0:
            return "operator drill"
        return None

    e.kill_requested = kill_when_long
    asyncio.run(run(e))
    assert e.killed
    log = e.ledger
    assert isinstance(log, MemoryAuditLog)
    types = [t for t, _, _ in log.records]
    kill_at = types.index(RecordType.KILL_SWITCH)
    # the flattening order was recorded after the kill, it filled, and nothing traded after
    after = log.records[kill_at:]
    intents = [p for t, p, _ in after if t is RecordType.ORDER_INTENT]
    assert len(intents) == 1
    assert intents[0]["policy"] == "kill-switch"
    assert intents[0]["request"]["side"] == "sell"
    assert any(t is RecordType.FILL for t, _, _ in after)
    assert e.portfolio.position_quantity("sim", "BTC/USDT") == 0
    stops = [p for t, p, _ in after if t is RecordType.SYSTEM_STOP]
    assert stops[0]["reason"] == "kill switch: operator drill"
    assert stops[0]["problems"] == []
    # the run stopped once the flattening order filled, well before the data ran out
    assert e.stats.events < 400
