"""Observation hooks: plugins hear about signals, orders, fills, the ledger and the run's life."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crypto_bot_core.app.runner import run_session
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import (
    Agent,
    Component,
    Fill,
    LedgerRecord,
    MarketView,
    Order,
    PluginConfig,
    RecordType,
    Signal,
    hookimpl,
)


class Flipper(Agent[PluginConfig]):
    """Long when the last close rose, flat otherwise: trades often, deterministically."""

    name = "flipper"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        bars = market.bars(symbol, limit=2)
        if len(bars) < 2:
            return None
        score = 1.0 if bars[-1].close > bars[0].close else -1.0
        return Signal(agent=self.name, symbol=symbol, ts=market.now, score=score, confidence=1.0)


class Recorder:
    """A plugin that provides an agent and listens to every observation hook."""

    def __init__(self) -> None:
        self.calls: dict[str, list[Any]] = {}

    def _add(self, name: str, value: Any) -> None:
        self.calls.setdefault(name, []).append(value)

    @hookimpl
    def cryptobot_components(self) -> Sequence[type[Component[Any]]]:
        return [Flipper]

    @hookimpl
    def cryptobot_engine_started(self, run_id: str, mode: str) -> None:
        self._add("started", (run_id, mode))

    @hookimpl
    def cryptobot_engine_stopped(self, run_id: str, reason: str) -> None:
        self._add("stopped", (run_id, reason))

    @hookimpl
    def cryptobot_signal(self, signal: Signal) -> None:
        self._add("signal", signal)

    @hookimpl
    def cryptobot_order_update(self, order: Order) -> None:
        self._add("order", order)

    @hookimpl
    def cryptobot_fill(self, fill: Fill) -> None:
        self._add("fill", fill)

    @hookimpl
    def cryptobot_ledger_record(self, record: LedgerRecord) -> None:
        self._add("record", record)


class Broken:
    """An observer whose fill hook always fails: trading must not notice."""

    def __init__(self) -> None:
        self.fills = 0

    @hookimpl
    def cryptobot_components(self) -> Sequence[type[Component[Any]]]:
        return [Flipper]

    @hookimpl
    def cryptobot_fill(self, fill: Fill) -> None:
        self.fills += 1
        raise RuntimeError("notification service refused the message")


def _manifest(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": "1.0.0",
        "kinds": ["agent"],
        "api_version": "1.0.0",
        "compatible_core_version": ">=0.1,<0.2",
        "license": "Apache-2.0",
    }


CONFIG = """
mode: paper
run: {{run_dir: {run_dir}}}
data_sources:
  - {{name: market, plugin: synthetic-market,
     config: {{symbols: [BTC/USDT], venues: [sim], bars: 200, seed: 9}}}}
agents:
  - {{name: flip, plugin: recorder}}
exchanges:
  - {{name: sim, plugin: paper-exchange, config: {{venue: sim, balances: {{USDT: "100000"}}}}}}
sizing: {{notional_per_symbol: "1000"}}
"""


def test_observers_hear_everything_and_a_failing_one_is_recorded_once(tmp_path: Path) -> None:
    host = Host(environ={}).load()
    recorder, broken = Recorder(), Broken()
    host.register_plugin(recorder, _manifest("recorder"))
    host.register_plugin(broken, _manifest("broken-notifier"))
    loaded = parse_config(CONFIG.format(run_dir=tmp_path / "runs"), environ={})
    result = run_session(loaded, host=host, run_id="obs")

    ledger = open_ledger(result.ledger_url)
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    calls = recorder.calls
    assert calls["started"] == [("obs", "paper")]
    assert calls["stopped"] == [("obs", "completed")]
    fills = [r.payload["fill_id"] for r in records if r.type is RecordType.FILL]
    assert len(fills) > 5
    assert [f.fill_id for f in calls["fill"]] == fills
    statuses = [
        (r.payload["client_order_id"], r.payload["status"])
        for r in records
        if r.type.value.startswith("order.") and r.type is not RecordType.ORDER_INTENT
    ]
    assert [(o.client_order_id, o.status.value) for o in calls["order"]] == statuses
    assert len(calls["signal"]) == 199  # every bar after the first
    assert all(s.agent == "flipper" for s in calls["signal"])
    # every committed record reached the ledger listener, in order
    assert [r.sequence for r in calls["record"]] == [r.sequence for r in records]
    # the failing observer was called for every fill and reported once
    assert broken.fills == len(fills)
    failures = [r.payload for r in records if r.payload.get("event") == "observer_failed"]
    assert len(failures) == 1
    assert failures[0]["source"] == "broken-notifier"
    assert "notification service refused the message" in failures[0]["detail"]
