"""A backtest of all three technical agents trades the same on precomputed scores as on evaluate.

The unit tests compare scores and signals; this is what a user would notice:
the engine precomputes each agent's scores block by block, decides on them and
records the signals ``signal_from_score`` rebuilds, so the ledger (every
record, payload and time, in order), the fills and the equity curve must equal
those of a run that asks ``evaluate`` on every bar.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.builtins.technical_agents import (
    EmaCrossoverAgent,
    MomentumBreakoutAgent,
    RsiMeanReversionAgent,
)
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.host import Host
from crypto_bot_sdk import Agent

CONFIG = """
mode: backtest
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 1m,
             bars: 1200, seed: 5, venue_spread_bps: 10}
agents:
  - {name: rsi, plugin: "technical-agents:rsi_mean_reversion", config: {period: 6}}
  - {name: breakout, plugin: "technical-agents:momentum_breakout", config: {lookback: 12}}
  - {name: beta_rsi, plugin: "technical-agents:rsi_mean_reversion",
     config: {period: 9, oversold: 40, overbought: 60, venue: beta}}
  - {name: ema, plugin: "technical-agents:ema_crossover", config: {fast: 4, slow: 9}}
exchanges:
  - {name: alpha, plugin: paper-exchange, config: {venue: alpha, taker_fee: "0.0004",
     balances: {USDT: "1000000"}}}
  - {name: beta, plugin: paper-exchange, config: {venue: beta, taker_fee: "0.0003",
     balances: {USDT: "1000000"}}}
policies:
  definitions:
    reversion: {agents: [{agent: rsi, weight: 1.0}]}
    blend: {agents: [{agent: breakout, weight: 0.5}, {agent: beta_rsi, weight: 0.3},
                     {agent: ema, weight: 0.2}]}
  symbol_policies: {BTC/USDT: reversion, ETH/USDT: blend}
  default: reversion
sizing: {mode: discrete, notional_per_symbol: "20000", long_only: false}
risk_rules:
  - {plugin: "standard-risk:max_order_notional", config: {limit: "50000"}}
"""


class _EvaluateOnlyEma(EmaCrossoverAgent):
    precompute = Agent.precompute


class _EvaluateOnlyRsi(RsiMeanReversionAgent):
    precompute = Agent.precompute


class _EvaluateOnlyBreakout(MomentumBreakoutAgent):
    precompute = Agent.precompute


_EVALUATE_ONLY: dict[type[Agent[Any]], type[Agent[Any]]] = {
    EmaCrossoverAgent: _EvaluateOnlyEma,
    RsiMeanReversionAgent: _EvaluateOnlyRsi,
    MomentumBreakoutAgent: _EvaluateOnlyBreakout,
}


def _run(*, evaluate_only: bool, read_ahead: int | None = None) -> Engine:
    loaded = parse_config(CONFIG, source="<test>", environ={})
    assembled = assemble(loaded, Host(environ={}).load(), ledger=MemoryAuditLog(), run_id="ta1")
    engine = assembled.engine
    if evaluate_only:
        for agent in engine.agents.values():
            agent.__class__ = _EVALUATE_ONLY[type(agent)]  # same state, no capability
    if read_ahead is not None:
        engine.read_ahead = read_ahead

    async def go() -> None:
        await engine.start()
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


@pytest.fixture(scope="module")
def on_evaluate() -> Engine:
    return _run(evaluate_only=True)


@pytest.mark.parametrize("read_ahead", [None, 1, 37])
def test_precomputed_run_equals_evaluated_run(on_evaluate: Engine, read_ahead: int | None) -> None:
    fast = _run(evaluate_only=False, read_ahead=read_ahead)
    assert fast.precomputed.track("rsi", "BTC/USDT") is not None
    assert fast.precomputed.track("breakout", "ETH/USDT") is not None
    beta = fast.precomputed.track("beta_rsi", "ETH/USDT")
    assert beta is not None
    assert beta.venue == "beta"  # the pinned venue, not the first one offered
    assert on_evaluate.precomputed.track("rsi", "BTC/USDT") is None
    assert on_evaluate.stats.fills > 20  # the comparison means something only with trades
    assert isinstance(fast.ledger, MemoryAuditLog)
    assert isinstance(on_evaluate.ledger, MemoryAuditLog)
    assert fast.ledger.records == on_evaluate.ledger.records
    assert [row.fill for row in fast.trades] == [row.fill for row in on_evaluate.trades]
    assert list(fast.equity_curve) == list(on_evaluate.equity_curve)
    assert fast.stats == on_evaluate.stats
