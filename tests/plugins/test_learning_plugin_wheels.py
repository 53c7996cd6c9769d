"""Third-party selector, oversight and notifier plugins, built as wheels and installed like any
plugin, configured in one paper session: the selector replaces the registry's mapping and is
asked every decision tick, the oversight component's alert reaches the ledger and its paired
intents become orders, and the notifier receives the engine's alerts.

The three projects are written, built (one ``pip wheel``) and installed (one ``pip install
--target``) by the host tests' machinery (``tests/plugin_dists.py``); the host discovers them
next to the built-ins and the session is assembled from a config file's text.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugin_dists import PluginProject, build_and_install, manifest_for

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.selection import FencedSelector
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import API_VERSION, LedgerRecord, RecordType

SELECTOR_MODULE = '''
from crypto_bot_sdk import PluginConfig, PolicyChoice, PolicySelector, hookimpl


class Settings(PluginConfig):
    prefer: str
    fail_at: int = 0


class PreferSelector(PolicySelector[Settings]):
    """Always the preferred policy (when offered); raises on call ``fail_at``."""

    name = "prefer"
    config_model = Settings

    def __init__(self, config):
        super().__init__(config)
        self.calls = []
        self.rewards = []

    def select(self, symbol, venue, market, policies):
        self.calls.append((symbol, market.now))
        if len(self.calls) == self.config.fail_at:
            raise RuntimeError("model weights could not be read")
        policy = self.config.prefer if self.config.prefer in policies else policies[0]
        return PolicyChoice(policy, confidence=0.75)

    def reward(self, symbol, venue, policy, reward, ts):
        self.rewards.append((symbol, policy, reward))


@hookimpl
def cryptobot_components():
    return [PreferSelector]
'''

OVERSIGHT_MODULE = '''
from decimal import Decimal

from crypto_bot_sdk import (
    Alert, AlertSeverity, OrderIntent, OrderType, Oversight, OversightOutcome, PairedIntents,
    PluginConfig, Side, hookimpl,
)


class Settings(PluginConfig):
    after: int = 50
    quantity: Decimal = Decimal("0.01")


class Hedger(Oversight[Settings]):
    """On review ``after``: an alert, and a hedge of the first symbol on two venues."""

    name = "hedger"
    config_model = Settings

    def __init__(self, config):
        super().__init__(config)
        self.reviews = 0

    async def review(self, context):
        self.reviews += 1
        if self.reviews != self.config.after:
            return OversightOutcome()
        venues = {}
        for instrument in context.market.instruments():
            venues.setdefault(instrument.symbol, []).append(instrument.venue)
        symbol, listed = sorted(venues.items())[0]
        buy_on, sell_on = sorted(listed)[:2]
        legs = tuple(
            OrderIntent(
                intent_id=f"hedge-{self.reviews}-{side.value}", symbol=symbol, side=side,
                order_type=OrderType.MARKET, quantity=self.config.quantity, venue=venue,
                ts=context.ts, policy="hedge",
            )
            for side, venue in ((Side.BUY, buy_on), (Side.SELL, sell_on))
        )
        alert = Alert(
            ts=context.ts, severity=AlertSeverity.HIGH, source=self.name,
            title=f"basis on {symbol} too wide; hedging", figures={"basis_bps": "31.5"},
        )
        evidence = {"basis_bps": "31.5", "buy_venue": buy_on, "sell_venue": sell_on}
        return OversightOutcome(alerts=(alert,), pairs=(PairedIntents(legs, evidence),))


@hookimpl
def cryptobot_components():
    return [Hedger]
'''

NOTIFIER_MODULE = '''
import json
from pathlib import Path

from crypto_bot_sdk import Notifier, PluginConfig, hookimpl


class Settings(PluginConfig):
    path: Path


class Inbox(Notifier[Settings]):
    """Appends every alert to a JSON-lines file."""

    name = "inbox"
    config_model = Settings

    async def notify(self, alert):
        with self.config.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(alert.model_dump(mode="json"), sort_keys=True) + "\\n")


@hookimpl
def cryptobot_components():
    return [Inbox]
'''

PROJECTS = (
    PluginProject(
        "cbt-bandit-plugin", "cbt_bandit", "cbt-bandit",
        manifest_for("cbt-bandit", kinds=["selector"], api_version=API_VERSION),
        module_source=SELECTOR_MODULE,
    ),
    PluginProject(
        "cbt-hedger-plugin", "cbt_hedger", "cbt-hedger",
        manifest_for("cbt-hedger", kinds=["oversight"], api_version=API_VERSION),
        module_source=OVERSIGHT_MODULE,
    ),
    PluginProject(
        "cbt-inbox-plugin", "cbt_inbox", "cbt-inbox",
        manifest_for("cbt-inbox", kinds=["notifier"], api_version=API_VERSION),
        module_source=NOTIFIER_MODULE,
    ),
)  # fmt: skip

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
KILL_AFTER_TICKS = 120
FAIL_AT = 25


def _config(tmp_path: Path, inbox: Path) -> str:
    venue = {"taker_fee": "0.0004", "leverage": "3", "balances": {"USDT": "100000"}}
    config: dict[str, Any] = {
        "mode": "paper",
        "run": {"seed": 3, "run_dir": str(tmp_path / "runs")},
        "data_sources": [{"name": "market", "plugin": "synthetic-market", "config": {
            "symbols": SYMBOLS, "venues": ["alpha", "beta"], "timeframe": "5m", "bars": 200,
            "seed": 4, "venue_spread_bps": 25}}],
        "agents": [
            {"name": "ema", "plugin": "technical-agents:ema_crossover",
             "config": {"fast": 5, "slow": 15}},
            {"name": "rsi", "plugin": "technical-agents:rsi_mean_reversion",
             "config": {"period": 14}},
        ],
        "exchanges": [
            {"name": name, "plugin": "paper-exchange",
             "config": {"venue": name, "data_venue": name, **venue}}
            for name in ("alpha", "beta")
        ],
        "policies": {"definitions": {"trend": {"agents": [{"agent": "ema"}]},
                                     "reversion": {"agents": [{"agent": "rsi"}]}},
                     "default": "trend"},
        "sizing": {"notional_per_symbol": "5000", "entry_threshold": 0.1},
        "selector": {"name": "bandit", "plugin": "cbt-bandit",
                     "config": {"prefer": "reversion", "fail_at": FAIL_AT}},
        "oversight": [{"name": "hedge", "plugin": "cbt-hedger", "config": {"after": 50}}],
        "notifiers": [{"name": "pager", "plugin": "cbt-inbox", "config": {"path": str(inbox)}}],
    }  # fmt: skip
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_and_install(PROJECTS, tmp_path_factory.mktemp("learning-dists"))


def _run(tmp_path: Path, installed: Path) -> tuple[Engine, list[LedgerRecord], list[Any]]:
    inbox = tmp_path / "alerts.jsonl"
    host = Host(paths=[str(installed), *sys.path], environ={}).load()
    loaded = parse_config(_config(tmp_path, inbox), source="learning.yaml", environ={})
    opened: list[Any] = []

    def ledger_factory(url: str) -> Any:
        opened.append(open_ledger(url))
        return opened[-1]

    engine: Engine

    def kill_requested() -> str | None:
        return "operator drill" if len(engine.equity_curve) == KILL_AFTER_TICKS else None

    assembled = assemble(
        loaded, host, ledger_factory=ledger_factory, run_id="learning",
        kill_requested=kill_requested,
    )  # fmt: skip
    engine = assembled.engine

    async def drive() -> None:
        await engine.start()
        try:
            await engine.run(assembled.start, assembled.end)
        finally:
            await engine.close("completed")

    try:
        asyncio.run(drive())
        records = list(opened[0].records())
    finally:
        opened[0].close()
    alerts = [json.loads(line) for line in inbox.read_text().splitlines()]
    return engine, records, alerts


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory, installed: Path
) -> tuple[Engine, list[LedgerRecord], list[Any]]:
    saved = list(sys.path)
    try:
        return _run(tmp_path_factory.mktemp("learning-run"), installed)
    finally:
        sys.path[:] = saved


def _payloads(records: list[LedgerRecord], kind: RecordType) -> list[dict[str, Any]]:
    return [r.payload for r in records if r.type is kind]


def test_the_selector_replaces_the_mapping_every_decision_tick(
    session: tuple[Engine, list[LedgerRecord], list[Any]],
) -> None:
    engine, records, _ = session
    guard = engine.selector
    assert isinstance(guard, FencedSelector)
    selector: Any = guard.selector
    assert type(selector).__module__ == "cbt_bandit.plugin"  # the installed wheel's class

    # asked once per symbol on every tick before the kill switch, and on no other
    ticks = [ts for ts, _ in engine.equity_curve][:KILL_AFTER_TICKS]
    assert len(selector.calls) == len(ticks) * len(SYMBOLS)
    assert set(selector.calls) == {(symbol, ts) for ts in ticks for symbol in SYMBOLS}
    # it learned from every closed window of its own choices (not the one the mapping made)
    assert len(selector.rewards) == len(selector.calls) - len(SYMBOLS) - 1

    # its choice is in the decision records: the policy of the orders, the selection record
    decided = [p for p in _payloads(records, RecordType.ORDER_INTENT) if "signals" in p]
    assert decided
    assert {p["policy"] for p in decided} <= {"reversion", "trend"}
    assert sum(p["policy"] == "reversion" for p in decided) >= len(decided) - 1
    assert all(set(p["signals"]) == {"rsi"} for p in decided if p["policy"] == "reversion")
    selected = [
        p for p in _payloads(records, RecordType.DECISION) if p["outcome"] == "policy selected"
    ]
    trail = [(p["symbol"], p["policy"], p["evidence"]["fallback"]) for p in selected]
    failed_symbol = selector.calls[FAIL_AT - 1][0]
    assert [t for t in trail if t[0] == failed_symbol] == [
        (failed_symbol, "reversion", "false"),
        (failed_symbol, "trend", "true"),  # the call that raised: the mapping decided
        (failed_symbol, "reversion", "false"),
    ]
    assert all(p["evidence"]["selector"] == "bandit" for p in selected)
    assert {p["evidence"]["confidence"] for p in selected if p["policy"] == "reversion"} == {"0.75"}
    (failure,) = [p for p in _payloads(records, RecordType.ALERT) if p["source"] == "bandit"]
    assert failure["event"] == "selector_fallback"
    assert "RuntimeError: model weights could not be read" in failure["detail"]
    assert "plugin cbt-bandit (distribution cbt-bandit-plugin)" in failure["detail"]


def test_the_oversight_alert_is_recorded_and_its_pair_becomes_orders(
    session: tuple[Engine, list[LedgerRecord], list[Any]],
) -> None:
    _, records, _ = session
    (alert,) = [p for p in _payloads(records, RecordType.ALERT) if p["source"] == "hedger"]
    assert alert["event"] == "oversight_alert"
    assert alert["title"] == "basis on BTC/USDT:USDT too wide; hedging"
    assert alert["severity"] == "high"

    legs = [p for p in _payloads(records, RecordType.ORDER_INTENT) if p.get("oversight")]
    assert [(p["intent_id"], p["request"]["side"], p["request"]["venue"]) for p in legs] == [
        ("hedge-50-buy", "buy", "alpha"),
        ("hedge-50-sell", "sell", "beta"),
    ]
    for leg in legs:
        assert leg["oversight"] == "hedge"
        assert leg["evidence"] == {"basis_bps": "31.5", "buy_venue": "alpha", "sell_venue": "beta"}
        assert leg["request"]["quantity"] == "0.01"
    filled = {p["client_order_id"] for p in _payloads(records, RecordType.ORDER_FILLED)}
    assert {leg["client_order_id"] for leg in legs} <= filled


def test_the_notifier_receives_the_engines_alerts(
    session: tuple[Engine, list[LedgerRecord], list[Any]],
) -> None:
    _, records, alerts = session
    heard = [(a["source"], a["severity"], a["figures"].get("event")) for a in alerts]
    assert heard == [
        ("bandit", "high", "selector_fallback"),
        ("hedger", "high", "oversight_alert"),
        ("kill-switch", "critical", "kill_switch"),
    ]
    kill = alerts[-1]
    assert kill["detail"] == "operator drill"
    # each alert names the ledger record it was raised by, which came first
    by_sequence = {r.sequence: r for r in records}
    for alert in alerts:
        record = by_sequence[int(alert["figures"]["ledger_sequence"])]
        assert record.type in (RecordType.ALERT, RecordType.KILL_SWITCH)
        assert record.ts.isoformat().replace("+00:00", "Z") == alert["ts"]
