"""The one loop: ``step()`` driven by hand, read-ahead and precomputed scores against evaluate.

Precomputation and reading ahead are speed-ups of the one loop, so each is
checked the way a user would notice a difference: the same ledger records
(types, payloads, times, in order), the same fills and the same equity curve
as the plain bar-by-bar ``evaluate`` run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.builtins.technical_agents.ema_crossover import EmaCrossoverAgent
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine, StepResult
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.streams import merged
from crypto_bot_core.host import Host
from crypto_bot_sdk import Agent, Bar, BarBlock, MarketEvent, RecordType, ScoreBlock, Signal

CONFIG = """
mode: backtest
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 1m,
             bars: {bars}, seed: 11, venue_spread_bps: 10}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 5, slow: 12}}}}
  - {{name: slow, plugin: "technical-agents:ema_crossover", config: {{fast: 8, slow: 30}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange, config: {{venue: alpha, taker_fee: "0.0004",
     balances: {{USDT: "1000000"}}}}}}
  - {{name: beta, plugin: paper-exchange, config: {{venue: beta, taker_fee: "0.0003",
     balances: {{USDT: "1000000"}}}}}}
policies:
  definitions:
    trend: {{agents: [{{agent: ema, weight: 1.0}}]}}
    blend: {{agents: [{{agent: ema, weight: 0.6}}, {{agent: slow, weight: 0.4}}]}}
  symbol_policies: {{BTC/USDT: trend, ETH/USDT: blend}}
  default: trend
sizing: {{mode: discrete, {size}, long_only: {long_only}}}
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "50000"}}}}
  - {{plugin: "standard-risk:max_gross_exposure", config: {{max_leverage: "1"}}}}
"""


class EvaluateOnly(EmaCrossoverAgent):
    """The same agent without the precompute capability: asked ``evaluate`` on every bar."""

    precompute = Agent.precompute  # type: ignore[assignment]


class BrokenPrecompute(EmaCrossoverAgent):
    """Precomputes nonsense (scores out of range): the engine must fall back to evaluate."""

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock | None:
        size = len(block.close)
        return ScoreBlock.of([7.0] * size, [1.0] * size)


class CrashingSignal(EmaCrossoverAgent):
    """Precomputes fine, but building the full signal of a decision crashes."""

    def signal_from_score(
        self, symbol: str, ts: datetime, score: float, confidence: float
    ) -> Signal:
        raise RuntimeError("rationale template missing")


def build(
    *,
    bars: int = 1500,
    agent_class: type[EmaCrossoverAgent] | None = None,
    read_ahead: int | None = None,
    size: str = 'notional_per_symbol: "20000"',
    long_only: bool = False,
) -> Engine:
    text = CONFIG.format(bars=bars, size=size, long_only=str(long_only).lower())
    loaded = parse_config(text, source="<test>", environ={})
    engine = assemble(loaded, Host(environ={}).load(), ledger=MemoryAuditLog(), run_id="step1")
    engine = engine.engine
    if agent_class is not None:
        for agent in engine.agents.values():
            agent.__class__ = agent_class  # same state and config, other capabilities
    if read_ahead is not None:
        engine.read_ahead = read_ahead
    return engine


def run(engine: Engine) -> Engine:
    async def go() -> None:
        await engine.start()
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


def records(engine: Engine) -> list[tuple[RecordType, dict[str, Any], datetime | None]]:
    ledger = engine.ledger
    assert isinstance(ledger, MemoryAuditLog)
    return ledger.records


def same_run(a: Engine, b: Engine) -> None:
    assert a.stats.fills > 20  # the comparison means something only if both traded
    assert records(a) == records(b)
    assert [row.fill for row in a.trades] == [row.fill for row in b.trades]
    assert list(a.equity_curve) == list(b.equity_curve)
    assert a.stats == b.stats


@pytest.mark.parametrize("long_only", [True, False])
def test_precomputed_scores_trade_exactly_as_evaluate(long_only: bool) -> None:
    fast = run(build(long_only=long_only))
    slow = run(build(agent_class=EvaluateOnly, long_only=long_only))
    assert fast.precomputed.track("ema", "BTC/USDT") is not None
    assert slow.precomputed.track("ema", "BTC/USDT") is None
    same_run(fast, slow)


@pytest.mark.parametrize("read_ahead", [1, 7, 100_000])
def test_reading_ahead_changes_nothing(read_ahead: int) -> None:
    same_run(run(build(read_ahead=read_ahead)), run(build(agent_class=EvaluateOnly)))


def test_fixed_quantity_sizing_trades_whole_units() -> None:
    engine = run(build(size='quantity_per_symbol: "0.5"', long_only=True))
    quantities = {row.fill.quantity for row in engine.trades}
    assert quantities == {Decimal("0.5")}
    assert engine.stats.fills > 20


def test_a_precompute_answering_nonsense_falls_back_to_evaluate_and_is_recorded() -> None:
    broken = run(build(agent_class=BrokenPrecompute))
    plain = run(build(agent_class=EvaluateOnly))
    alerts = [p for t, p, _ in records(broken) if t is RecordType.ALERT]
    assert [a["source"] for a in alerts] == ["ema", "slow"]
    assert all(a["event"] == "precompute_fallback" for a in alerts)
    assert "score 7.0" in alerts[0]["detail"]
    rest = [r for r in records(broken) if r[0] is not RecordType.ALERT]
    assert rest == records(plain)


def test_step_by_hand_reports_each_tick_and_equals_run() -> None:
    driven = build(bars=600)
    reference = run(build(bars=600))

    async def by_hand() -> list[StepResult]:
        await driven.start()
        results: list[StepResult] = []
        batch: list[MarketEvent] = []
        async for event in merged(driven.data_sources, None, None):
            if batch and event.ts != batch[0].ts:
                results.append(await driven.step(batch))
                batch = []
            batch.append(event)
        results.append(await driven.step(batch))
        await driven.close()
        return results

    results = asyncio.run(by_hand())
    assert len(results) == 600
    assert [r.equity for r in results] == [v for _, v in reference.equity_curve]
    assert [f for r in results for f in r.fills] == [row.fill for row in reference.trades]
    orders = [o for r in results for o in r.orders]
    assert len(orders) == reference.stats.orders > 10
    # Signals are built only where an order may be due: most ticks carry none, and a tick
    # without a signal makes no intent and no order (a resting order may still fill in it).
    quiet = [r for r in results if not r.signals]
    assert len(quiet) > len(results) / 2
    assert all(not (r.intents or r.orders) for r in quiet)
    busy = next(r for r in results if r.orders)
    assert busy.intents
    assert busy.verdicts
    assert busy.signals
    assert busy.intents[0].symbol == busy.orders[0].symbol
    # Driven by hand, each tick is its own precompute block: the same trades as a run.
    assert driven.precomputed.track("ema", "BTC/USDT") is not None
    assert records(driven) == records(reference)


def test_step_refuses_events_of_two_times() -> None:
    engine = build(bars=50)

    async def go() -> str:
        await engine.start()
        events: list[Bar] = []
        async for event in merged(engine.data_sources, None, None):
            if isinstance(event, Bar):
                events.append(event)
            if len({e.ts for e in events}) == 2:
                break
        with pytest.raises(ValueError, match="one timestamp") as info:
            await engine.step(events)
        await engine.close()
        return str(info.value)

    assert "after" in asyncio.run(go())


def test_close_commits_a_backtests_last_ledger_batch(tmp_path: Path) -> None:
    """After ``close()`` the ledger holds the whole run, before anyone closes the store."""
    from crypto_bot_core.ledger import open_ledger

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    text = CONFIG.format(bars=300, size='notional_per_symbol: "20000"', long_only="false")
    loaded = parse_config(text, source="<test>", environ={})
    ledger = open_ledger(url)
    engine = assemble(loaded, Host(environ={}).load(), ledger=ledger, run_id="close1").engine
    run(engine)
    reader = open_ledger(url)
    try:
        types = [record.type for record in reader.records()]
    finally:
        reader.close()
        ledger.close()
    assert types[0] is RecordType.SYSTEM_START
    assert types[-1] is RecordType.SYSTEM_STOP
    assert types.count(RecordType.FILL) == engine.stats.fills > 0


def test_a_crashing_signal_from_score_is_fenced_recorded_once_and_trading_goes_on() -> None:
    engine = run(build(agent_class=CrashingSignal))
    alerts = [p for t, p, _ in records(engine) if t is RecordType.ALERT]
    assert sorted(a["source"] for a in alerts) == ["ema", "slow"]  # once per agent
    assert all(a["event"] == "agent_failed" for a in alerts)
    assert "RuntimeError: rationale template missing" in alerts[0]["detail"]
    assert engine.stats.agent_fallbacks > 2  # every decision that needed one dropped it
    assert engine.stats.orders == 0  # no agent left to blend: no order, and no crash
    assert records(engine)[-1][0] is RecordType.SYSTEM_STOP
