"""The arbitrage detector's hedged pairs, and the monitor's alerts to the ledger and notifiers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crypto_bot_core.builtins.risk_engine import ArbitrageGuard, LiquidityGuard
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.host import Host
from crypto_bot_core.risk.arbitrage import ArbitrageDetector, ArbitrageSettings
from crypto_bot_core.risk.monitor import MonitorLimits, RiskMonitor
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    Component,
    OrderIntent,
    OrderType,
    PortfolioSnapshot,
    Position,
    RecordType,
    RiskContext,
    RiskRule,
    RiskVerdict,
    Side,
    TimeInForce,
    hookimpl,
)

from .risk_helpers import NOW
from .rule_markets import arbitrage_market, base_context, returns_market


def detector(**settings: Any) -> ArbitrageDetector:
    return ArbitrageDetector(
        ArbitrageSettings.model_validate(
            {"max_pair_notional": "30000", "default_fee": "0.0005", **settings}
        )
    )


def book_with(*positions: Position) -> PortfolioSnapshot:
    return PortfolioSnapshot(ts=NOW, positions=positions, equity=Decimal("100000"))


def test_a_spread_beyond_fees_and_threshold_gives_a_hedged_pair() -> None:
    pairs = detector().detect(arbitrage_market(), book_with())
    # Spot cannot be sold short with nothing held on beta; the perpetual can.
    [pair] = pairs
    assert pair.symbol == "BTC/USDT:USDT"
    assert (pair.buy.venue, pair.buy.side, pair.buy.price) == ("alpha", Side.BUY, Decimal(60000))
    assert (pair.sell.venue, pair.sell.side, pair.sell.price) == (
        "beta",
        Side.SELL,
        Decimal(60200),
    )
    # Spread 200 / 60,000 = 33.33 bps, fees 10 bps, edge 23.33 bps; size: the 0.3 on the ask.
    assert pair.spread_bps.quantize(Decimal("0.01")) == Decimal("33.33")
    assert pair.edge_bps.quantize(Decimal("0.01")) == Decimal("23.33")
    assert pair.buy.quantity == pair.sell.quantity == Decimal("0.3")
    assert pair.buy.order_type is OrderType.LIMIT
    assert pair.buy.time_in_force is TimeInForce.IOC
    assert pair.buy.policy == "arbitrage"


def test_spot_legs_sell_only_what_is_held_and_fees_can_close_the_spread() -> None:
    held = book_with(
        Position(
            symbol="BTC/USDT",
            venue="beta",
            quantity=Decimal("0.12"),
            average_entry_price=Decimal(59000),
        )
    )
    spot = [p for p in detector().detect(arbitrage_market(), held) if p.symbol == "BTC/USDT"]
    assert [p.sell.quantity for p in spot] == [Decimal("0.12")]
    assert detector(default_fee="0.002").detect(arbitrage_market(), held) == []
    assert detector(threshold_bps="30").detect(arbitrage_market(), held) == []
    capped = detector(max_symbol_notional="12000").detect(arbitrage_market(), book_with())
    assert [p.buy.quantity for p in capped] == [Decimal("0.1")]  # (12,000 / 60,000) / 2 legs


def test_the_engine_sends_both_legs_through_the_pipeline_and_keeps_them_equal() -> None:
    """What the engine does with a pair (docs/risk.md): both legs, one size."""
    guard = ArbitrageGuard.from_config(
        {
            "max_leg_notional": "12000",
            "max_net_notional": "20000",
            "default_fee": "0.0005",
            "min_edge_bps": "5",
        }
    )
    slippage = LiquidityGuard.from_config({"max_slippage_bps": "50"})
    pipeline = RiskPipeline([("arbitrage_guard", guard), ("liquidity_guard", slippage)])
    context = base_context(arbitrage_market(), reference=None).build()
    [pair] = detector().detect(arbitrage_market(), book_with())
    buy = pipeline.evaluate(pair.buy, context).intent
    sell = pipeline.evaluate(pair.sell, context).intent
    assert buy is not None
    assert sell is not None
    hedged = pair.resized(min(buy.quantity, sell.quantity))
    # The leg limit (12,000) allows 0.2 at the 60,000 ask but 0.199 at the 60,200 bid.
    assert (buy.quantity, sell.quantity) == (Decimal("0.2"), Decimal("0.199"))
    assert hedged.buy.quantity == hedged.sell.quantity == Decimal("0.199")


class _Quiet(RiskRule[Any]):
    name = "quiet"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        return RiskVerdict.approve(self.name)


class Notifier:
    """A notifier plugin: it records the alerts the host hands it."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    @hookimpl
    def cryptobot_components(self) -> list[type[Component[Any]]]:
        return [_Quiet]

    @hookimpl
    def cryptobot_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_the_monitor_alerts_once_per_breach_to_the_ledger_and_the_notifiers() -> None:
    market = returns_market()
    limits = MonitorLimits.model_validate(
        {
            "var_limit": "3000",
            "stress_loss_limit": "20000",
            "scenarios": ["market-crash-30"],
            "var": {"paths": 5000},
        }
    )
    monitor = RiskMonitor(limits)
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    notifier = Notifier()
    host.register_plugin(
        notifier,
        {
            "name": "notifier",
            "version": "1.0.0",
            "kinds": ["riskrule"],
            "api_version": "1.0.0",
            "compatible_core_version": ">=0.1,<0.2",
            "license": "MIT",
        },
    )
    ledger = MemoryAuditLog()
    small = book_with(
        Position(
            symbol="BTC/USDT",
            venue="alpha",
            quantity=Decimal("0.1"),
            average_entry_price=Decimal(60000),
        )
    )
    large = book_with(
        Position(
            symbol="BTC/USDT",
            venue="alpha",
            quantity=Decimal("2"),
            average_entry_price=Decimal(60000),
        )
    )
    assert monitor.check(small, market, ledger=ledger, notifier=host) == []
    breached = monitor.check(large, market, ledger=ledger, notifier=host)
    assert [(a.title, a.severity) for a in breached] == [
        ("var above its limit", AlertSeverity.HIGH),
        ("stress:market-crash-30 above its limit", AlertSeverity.HIGH),
    ]
    assert breached[1].figures["value"] == "36000.00"  # 30% of 2 x 60,000
    assert monitor.check(large, market, ledger=ledger, notifier=host) == []  # still in breach
    recovered = monitor.check(small, market, ledger=ledger, notifier=host)
    assert {a.severity for a in recovered} == {AlertSeverity.INFO}
    assert notifier.alerts == [*breached, *recovered]
    types = [record[0] for record in ledger.records]
    assert types == [RecordType.ALERT] * 4
    payload = ledger.records[1][1]
    assert payload["severity"] == "high"
    assert payload["source"] == "risk-engine"
    assert payload["figures"]["limit"] == "20000"
