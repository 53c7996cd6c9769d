"""Agents behind the fence: a hanging one is cut off at its budget, a lying one is dropped.

Either way the agent leaves the tick, the fallback is counted (stats and the
``agent_fallback_total`` metric), the ledger gets one alert, and the other
agent keeps deciding and trading. Nothing the bad agent returned reaches a
decision record or the ledger.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fence_parts import (
    Hanging,
    Momentum,
    Returns,
    build_engine,
    finite_everywhere,
    flush,
    memory_records,
    run,
    sqlite_ledger,
)

from crypto_bot_core.host.fence import Fence
from crypto_bot_core.observability import EngineMetrics
from crypto_bot_sdk import MarketView, PluginConfig, RecordType, Signal


def test_a_hanging_agent_is_cut_off_at_its_budget_and_the_session_trades_on() -> None:
    hanging = Hanging(PluginConfig())
    engine = build_engine(
        {"momentum": Momentum(PluginConfig()), "slow": hanging},
        fences={"slow": Fence("slow-plugin", "slow-dist").with_budget(0.01)},
    )
    metrics = EngineMetrics()
    engine.metrics = metrics
    asyncio.run(run(engine))

    # every call was cancelled at the budget, none hung the run
    assert hanging.calls == engine.stats.bars  # asked on every bar, never waited for
    assert hanging.cancelled == hanging.calls > 0
    assert engine.stats.agent_fallbacks == hanging.calls
    exposition = metrics.exposition().decode()
    assert f'cryptobot_agent_fallback_total{{agent="slow"}} {float(hanging.calls)}' in exposition
    assert 'cryptobot_agent_fallback_total{agent="momentum"}' not in exposition

    records = memory_records(engine)
    alerts = [p for t, p in records if t is RecordType.ALERT]
    assert len(alerts) == 1  # once per outage, not once per tick
    (alert,) = alerts
    assert alert["source"] == "slow"
    assert alert["event"] == "agent_fallback"
    assert alert["title"] == "agent over its time budget; dropped from aggregation"
    assert "plugin slow-plugin (distribution slow-dist)" in alert["detail"]
    assert "did not finish within its 0.01 s budget" in alert["detail"]

    # the session went on deciding on the other agent's signals
    assert engine.stats.signals > 0
    assert engine.stats.fills > 0
    intents = [p for t, p in records if t is RecordType.ORDER_INTENT]
    assert intents
    assert all(set(p["signals"]) == {"momentum"} for p in intents)


def _construct(**fields: Any) -> Callable[[str, MarketView], Signal]:
    """A Signal built without validation (``model_construct``), as a careless agent might."""

    def make(symbol: str, market: MarketView) -> Signal:
        values: dict[str, Any] = {
            "agent": "bad",
            "symbol": symbol,
            "ts": market.now,
            "score": 0.5,
            "confidence": 0.5,
            "rationale": "",
            "features": {},
            "model_version": None,
        }
        values.update(fields)
        return Signal.model_construct(**values)

    return make


BAD_RESULTS: dict[str, tuple[Callable[[str, MarketView], Any], str]] = {
    "nan score": (_construct(score=math.nan), "returned score nan"),
    "score out of range": (_construct(score=3.0), "returned score 3.0"),
    "infinite confidence": (_construct(confidence=math.inf), "returned confidence inf"),
    "nan feature": (_construct(features={"rsi": math.nan}), "returned feature 'rsi' = nan"),
    "wrong symbol": (_construct(symbol="ETH/USDT"), "signal for 'ETH/USDT'"),
    "wrong type": (lambda symbol, market: {"score": 1.0}, "returned dict"),
    "a bare number": (lambda symbol, market: 0.7, "returned float"),
}


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_an_unsound_result_is_dropped_recorded_once_and_never_reaches_the_ledger(
    case: str, tmp_path: Path
) -> None:
    make, expected = BAD_RESULTS[case]
    bad = Returns(make)
    ledger = sqlite_ledger(tmp_path)
    engine = build_engine(
        {"momentum": Momentum(PluginConfig()), "bad": bad},
        fences={"bad": Fence("bad-plugin").with_budget(1.0)},
        ledger=ledger,
    )
    asyncio.run(run(engine))

    assert bad.calls == engine.stats.bars > 0
    assert engine.stats.agent_fallbacks == bad.calls
    assert engine.stats.fills > 0  # the good agent traded throughout

    flush(engine)
    records = list(ledger.records())
    assert ledger.verify().ok
    alerts = [r.payload for r in records if r.type is RecordType.ALERT]
    assert len(alerts) == 1
    (alert,) = alerts
    assert (alert["source"], alert["event"], alert["severity"]) == ("bad", "agent_failed", "high")
    assert expected in alert["detail"]
    assert "agent 'bad'" in alert["detail"]
    # Scan every record: no decision carries the bad agent's signal, no number is broken.
    for record in records:
        assert finite_everywhere(record.payload), record
        signals = record.payload.get("signals")
        if signals is not None:
            assert set(signals) == {"momentum"}, record
    assert any(r.type is RecordType.ORDER_INTENT for r in records)
    ledger.close()


def test_an_agent_without_a_host_fence_is_still_fenced_and_named() -> None:
    def crash(symbol: str, market: MarketView) -> Signal:
        raise KeyError("close_price")

    crashing = Returns(crash)
    engine = build_engine({"momentum": Momentum(PluginConfig()), "crashing": crashing})
    asyncio.run(run(engine))
    assert engine.stats.agent_fallbacks == crashing.calls > 0
    alerts = [p for t, p in memory_records(engine) if t is RecordType.ALERT]
    assert [a["source"] for a in alerts] == ["crashing"]
    assert "plugin crashing: " in alerts[0]["detail"]
    assert "raised KeyError: 'close_price'" in alerts[0]["detail"]


def test_a_timed_out_agent_that_answers_again_is_recorded_as_recovered() -> None:
    class Sometimes(Hanging):
        """Hangs on calls 10..19, answers otherwise."""

        async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
            if 10 <= self.calls + 1 < 20:
                return await super().evaluate(symbol, market)
            self.calls += 1
            return Signal(agent="s", symbol=symbol, ts=market.now, score=0.2, confidence=0.5)

    sometimes = Sometimes(PluginConfig())
    engine = build_engine(
        {"momentum": Momentum(PluginConfig()), "sometimes": sometimes},
        fences={"sometimes": Fence("sometimes").with_budget(0.01)},
    )
    asyncio.run(run(engine))
    assert engine.stats.agent_fallbacks == sometimes.cancelled == 10
    alerts = [
        (p["event"], ts)
        for t, p, ts in engine.ledger.records  # type: ignore[attr-defined]
        if t is RecordType.ALERT
    ]
    assert [event for event, _ in alerts] == ["agent_fallback", "agent_recovered"]
    started: datetime = alerts[0][1]
    recovered: datetime = alerts[1][1]
    assert recovered > started
