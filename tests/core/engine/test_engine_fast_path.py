"""The backtest fast path trades exactly as the event path: same orders, fills, ledger, summary."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

CONFIG = """
mode: {mode}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT, ETH/USDT, SOL/USDT], venues: [alpha, beta], timeframe: 1m,
             bars: {bars}, seed: 5}}
agents:
  - {{name: quick, plugin: "technical-agents:ema_crossover", config: {{fast: 4, slow: 12}}}}
  - {{name: slow, plugin: "technical-agents:ema_crossover",
     config: {{fast: 8, slow: 30, venue: beta}}}}
exchanges:
  - name: alpha
    plugin: paper-exchange
    config: {{venue: alpha, data_venue: alpha, fill_at: {fill_at}, taker_fee: "0.0005",
             balances: {{USDT: "60000"}}}}
  - name: beta
    plugin: paper-exchange
    config: {{venue: beta, data_venue: beta, fill_at: {fill_at}, taker_fee: "0.0003",
             price_offset_bps: "3", balances: {{USDT: "60000"}}}}
policies:
  definitions:
    trend: {{agents: [{{agent: quick}}]}}
    blend: {{agents: [{{agent: quick, weight: 0.7}}, {{agent: slow, weight: 0.3}}],
             min_confidence: 0.1}}
  default: blend
  symbol_policies: {{BTC/USDT: trend}}
sizing: {{mode: discrete, notional_per_symbol: "10000", entry_threshold: 0.05}}
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "25000"}}}}
  - {{plugin: "standard-risk:max_gross_exposure", config: {{max_gross_notional: "{gross}"}}}}
  - {{plugin: "standard-risk:max_drawdown", config: {{max_drawdown: "{drawdown}"}}}}
  - {{plugin: "standard-risk:price_band", config: {{max_deviation_bps: "500"}}}}
"""


def _engine(
    host: Host, tmp_path: Path, ledger: Any, *, fast: bool, mode: str = "backtest", **settings: str
) -> Engine:
    values = {"bars": "1500", "fill_at": "signal_close", "gross": "100000", "drawdown": "0.5"}
    values.update(settings)
    loaded = parse_config(CONFIG.format(mode=mode, **values), environ={})
    run_dir = tmp_path / ("fast" if fast else "event")
    engine = assemble(loaded, host, ledger=ledger, run_id="same-run", run_dir=run_dir).engine
    engine.fast_path = fast
    return engine


def _run(engine: Engine) -> Engine:
    async def go() -> None:
        await engine.start()
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


def _compare(event: Engine, fast: Engine) -> None:
    assert (event.path, fast.path) == ("event", "columnar"), fast.path_notes
    assert fast.stats == event.stats
    assert fast.stats.fills > 10
    assert isinstance(event.ledger, MemoryAuditLog)
    assert isinstance(fast.ledger, MemoryAuditLog)
    assert fast.ledger.records == event.ledger.records  # types, payloads and times, in order
    assert fast.orders.orders == event.orders.orders
    assert [(t.fill, t.realised_pnl) for t in fast.trades] == [
        (t.fill, t.realised_pnl) for t in event.trades
    ]
    assert list(fast.equity_curve) == list(event.equity_curve)
    assert fast.summary().to_json() == event.summary().to_json()
    assert fast.portfolio == event.portfolio
    assert str(fast.portfolio.peak_equity) == str(event.portfolio.peak_equity)
    for venue, adapter in event.exchanges.items():
        other = fast.exchanges[venue]
        assert other.snapshot() == adapter.snapshot()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(environ={}).load()


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="signal-close"),
        pytest.param({"fill_at": "next_open"}, id="next-open"),
        # room for two positions only: the third symbol's entries are cut or rejected and
        # retried on every bar while the signal lasts
        pytest.param({"gross": "20000", "fill_at": "next_open"}, id="exposure-limited"),
        # a drawdown limit that trips the kill switch part-way: flatten, then stop
        pytest.param({"drawdown": "0.0015"}, id="kill-switch"),
    ],
)
def test_fast_path_equals_event_path(host: Host, tmp_path: Path, settings: dict[str, str]) -> None:
    event = _run(_engine(host, tmp_path, MemoryAuditLog(), fast=False, **settings))
    fast = _run(_engine(host, tmp_path, MemoryAuditLog(), fast=True, **settings))
    _compare(event, fast)
    records = event.ledger.records  # type: ignore[attr-defined]
    kinds = {t for t, _, _ in records}
    if settings.get("drawdown"):
        assert event.killed
        assert RecordType.KILL_SWITCH in kinds
        assert event.stats.events < 1500 * 6  # stopped once flat
    if settings.get("gross"):
        decisions = [p for t, p, _ in records if t is RecordType.DECISION]
        assert any(p["outcome"] == "rejected" for p in decisions)


def test_fast_path_writes_the_same_sqlite_ledger(host: Host, tmp_path: Path) -> None:
    payloads = {}
    for fast in (False, True):
        url = f"sqlite:///{tmp_path / f'{fast}.sqlite'}"
        engine = _run(_engine(host, tmp_path, open_ledger(url), fast=fast, bars="800"))
        engine.ledger.close()  # type: ignore[attr-defined]
        ledger = open_ledger(url)
        try:
            assert ledger.verify(require_signatures=False).ok
            payloads[fast] = [
                (r.type, r.payload, r.ts if r.type is not RecordType.SYSTEM_START else None)
                for r in ledger.records()
                if r.type is not RecordType.SYSTEM_STOP
            ]
        finally:
            ledger.close()
    assert payloads[True] == payloads[False]
    assert sum(1 for t, _, _ in payloads[True] if t is RecordType.FILL) > 5


def test_runs_the_fast_path_cannot_take_say_why(host: Host, tmp_path: Path) -> None:
    paper = _run(_engine(host, tmp_path, MemoryAuditLog(), fast=True, mode="paper", bars="60"))
    assert paper.path == "event"
    assert any("only backtests" in note for note in paper.path_notes)
    windowed = _engine(host, tmp_path, MemoryAuditLog(), fast=True, bars="60")

    async def empty_window() -> None:
        await windowed.start()
        start = windowed.data_sources[0].config.start
        await windowed.run(start, start)  # nothing to process
        await windowed.close()

    asyncio.run(empty_window())
    assert windowed.path == "event"
    assert windowed.path_notes == ["no bars in the run's window"]
    assert windowed.stats.events == 0
