"""A paper session whose sentiment service dies half-way: trading goes on without it.

The session is the real thing: the synthetic market, the paper exchange, the
EMA-crossover agent and the Azure sentiment agent blended in one policy,
assembled from a config by the host and the engine, with a SQLite ledger.
The sentiment agent talks through the official Azure client to a loopback
fake of the Language service; the fake is stopped (port closed, open
connections dropped) when the session reaches its twelfth hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.observability import EngineMetrics
from crypto_bot_sdk import RecordType
from cryptobot_azure_sentiment import AzureSentimentAgent
from cryptobot_azure_sentiment.testing import FakeFeeds, FakeLanguageService, Item, rss

START = datetime(2024, 1, 1, tzinfo=UTC)
OUTAGE = START + timedelta(hours=12)
BARS = 288  # one day of 5-minute bars


def _headlines() -> list[Item]:
    """A headline every 30 minutes for the whole day, BTC and ETH in turn, good and bad news."""
    words = ["rally gains record", "hack fears plunge", "approval boost", "lawsuit outflows"]
    items = []
    for i in range(48):
        asset = "Bitcoin" if i % 2 == 0 else "Ethereum"
        published = START + timedelta(minutes=30 * i)
        items.append(Item(f"h{i}", f"{asset} {words[i % 4]} (#{i})", published))
    return items


def _config(tmp_path: Path, endpoint: str, feed: str) -> str:
    config: dict[str, Any] = {
        "mode": "paper",
        "run": {"seed": 7, "run_dir": str(tmp_path / "runs")},
        "data_sources": [{"name": "market", "plugin": "synthetic-market", "config": {
            "symbols": ["BTC/USDT", "ETH/USDT"], "venues": ["alpha"], "timeframe": "5m",
            "bars": BARS, "seed": 7, "start": START.isoformat()}}],
        "agents": [
            {"name": "ema", "plugin": "technical-agents:ema_crossover",
             "config": {"fast": 6, "slow": 18}},
            {"name": "news", "plugin": "azure-sentiment:sentiment", "config": {
                "endpoint": endpoint, "api_key": "test-key", "feeds": [feed],
                "latency_budget": 5, "cooldown": 600, "max_cooldown": 600}},
        ],
        "exchanges": [{"name": "alpha", "plugin": "paper-exchange", "config": {
            "venue": "alpha", "data_venue": "alpha", "balances": {"USDT": "100000"}}}],
        "policies": {"definitions": {"blend": {"agents": [
            {"agent": "ema", "weight": 0.6}, {"agent": "news", "weight": 0.4}]}},
            "default": "blend"},
        "sizing": {"mode": "discrete", "notional_per_symbol": "10000", "entry_threshold": 0.1},
        "risk_rules": [{"plugin": "standard-risk:max_order_notional",
                        "config": {"limit": "25000"}}],
    }  # fmt: skip
    return yaml.safe_dump(config)


@pytest.fixture
def language() -> Iterator[FakeLanguageService]:
    fake = FakeLanguageService(key="test-key").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def feeds() -> Iterator[FakeFeeds]:
    fake = FakeFeeds().start()
    try:
        yield fake
    finally:
        fake.stop()


def test_session_continues_when_the_sentiment_service_stops(
    tmp_path: Path, language: FakeLanguageService, feeds: FakeFeeds
) -> None:
    feed = feeds.serve("/news.xml", rss(_headlines()))
    loaded = parse_config(_config(tmp_path, language.endpoint, feed), source="e2e.yaml")
    opened: list[Any] = []

    def ledger_factory(url: str) -> Any:
        opened.append(open_ledger(url))
        return opened[-1]

    metrics = EngineMetrics()  # the Prometheus registry `cryptobot run --serve` exposes
    stopped_at: list[datetime] = []
    scored_before_outage: list[int] = []

    def progress(ts: datetime) -> None:
        if ts >= OUTAGE and not stopped_at:
            stopped_at.append(ts)
            scored_before_outage.append(language.documents_scored())
            language.stop()

    # The metrics and the progress hook are assembly options: the engine is built whole.
    assembled = assemble(
        loaded,
        Host(environ={}).load(),
        ledger_factory=ledger_factory,
        run_id="sentiment-outage",
        metrics=metrics,
        on_progress=progress,
    )
    engine = assembled.engine

    async def drive() -> None:
        await engine.start()
        try:
            await engine.run(assembled.start, assembled.end)
        finally:
            await engine.close("completed")

    try:
        asyncio.run(drive())
    finally:
        opened[0].close()

    # The service answered until the outage, and was stopped at the twelfth hour.
    assert stopped_at == [OUTAGE]
    assert scored_before_outage[0] == 25  # the headlines published up to 12:00
    agent = engine.agents["news"]
    assert isinstance(agent, AzureSentimentAgent)

    # The session ran to its end on every bar of both symbols.
    assert engine.stats.events == BARS * 2
    # Every tick after the outage that needed a new headline scored fell back; only the
    # sentiment agent ever did, and it counted each time it said it was unavailable.
    assert engine.stats.agent_fallbacks == agent.unavailable
    # ETH's 12:30 headline could not be scored, so every ETH tick from 12:30 on fell back
    # (138 ticks); BTC's scored headlines lasted until its 13:00 one (132 ticks from then).
    assert engine.stats.agent_fallbacks == 138 + 132
    exposition = metrics.exposition().decode()
    assert 'cryptobot_agent_fallback_total{agent="news"} 270.0' in exposition
    assert 'cryptobot_agent_fallback_total{agent="ema"}' not in exposition
    # After the first failure the breaker kept the agent off the dead service: of all
    # those fallbacks, only the first attempt per outage reached the network.
    assert agent.breaker.failures == 1

    ledger = open_ledger(f"sqlite:///{assembled.run_dir / 'ledger.sqlite'}")
    try:
        assert ledger.verify().ok
        records = list(ledger.records())
    finally:
        ledger.close()
    # The ledger records the fallback. Between 12:30 and 13:00 the agent was unavailable
    # for ETH but still gave BTC signals from scores it had, and the engine records each
    # change of the agent's availability; from 13:00 it was down for both symbols.
    alerts = [r for r in records if r.type is RecordType.ALERT]
    assert {r.payload["source"] for r in alerts} == {"news"}
    assert [r.payload["event"] for r in alerts] == (
        ["agent_fallback", "agent_recovered"] * 5 + ["agent_fallback"]
    )
    event = alerts[0]
    assert event.ts == OUTAGE + timedelta(minutes=30)
    assert "sentiment service failed: ServiceRequestError" in event.payload["detail"]
    assert "backed off after a failure" in alerts[-1].payload["detail"]
    assert alerts[-1].ts == OUTAGE + timedelta(minutes=55)

    # Trading went on: orders were still decided after the outage, on the EMA agent alone,
    # while before it the blend used both agents.
    decided = [r for r in records if r.type is RecordType.ORDER_INTENT]
    before = [r for r in decided if r.ts < OUTAGE]
    after = [r for r in decided if r.ts > alerts[-1].ts]
    assert before
    assert after
    assert any("news" in _signals(r.payload) for r in before)
    assert all(set(_signals(r.payload)) == {"ema"} for r in after)
    assert records[-1].type is RecordType.SYSTEM_STOP
    assert records[-1].payload["reason"] == "completed"


def _signals(payload: dict[str, Any]) -> dict[str, Any]:
    decision = payload.get("decision", payload)
    signals: dict[str, Any] = decision.get("signals", {})
    return signals
