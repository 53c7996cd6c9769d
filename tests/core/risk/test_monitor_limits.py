"""The risk monitor's limits: an ES limit read beside VaR, a stress limit without any
scenario refused, and a book the monitor cannot model reported as one warning.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from crypto_bot_core.risk.monitor import MonitorLimits, RiskMonitor
from crypto_bot_sdk import AlertSeverity, InMemoryMarketView, PortfolioSnapshot, Position

from .risk_helpers import NOW
from .rule_markets import returns_market


def _book(quantity: str, symbol: str = "BTC/USDT") -> PortfolioSnapshot:
    position = Position(
        symbol=symbol,
        venue="alpha",
        quantity=Decimal(quantity),
        average_entry_price=Decimal(60000),
    )
    return PortfolioSnapshot(ts=NOW, positions=(position,), equity=Decimal("100000"))


def test_a_stress_loss_limit_without_scenarios_is_refused() -> None:
    with pytest.raises(ValidationError, match="a stress loss limit needs `scenarios`"):
        MonitorLimits.model_validate({"stress_loss_fraction": "0.1"})


def test_the_es_limit_is_read_beside_var_and_is_the_larger_of_the_two() -> None:
    limits = MonitorLimits.model_validate(
        {"var_limit": "1000000", "es_limit": "1", "var": {"paths": 2000}}
    )
    readings = RiskMonitor(limits).readings(_book("0.5"), returns_market())
    by_metric = {r.metric: r for r in readings}
    assert list(by_metric) == ["var", "es"]
    es, var = by_metric["es"], by_metric["var"]
    assert es.detail == "99.0% 1d Monte-Carlo ES"
    assert es.limit == Decimal(1)
    assert es.breached is True
    assert var.breached is False
    assert es.value >= var.value > 0  # the shortfall beyond VaR is at least VaR
    assert es.value == es.value.quantize(Decimal("0.01"))  # read in cents


def test_a_book_the_monitor_cannot_model_is_one_warning_not_a_crash() -> None:
    limits = MonitorLimits.model_validate({"var_limit": "1000"})
    empty = InMemoryMarketView(now=NOW)  # no bars of BTC: no returns to model
    alerts = RiskMonitor(limits, source="desk-monitor").evaluate(_book("1"), empty)
    assert [(a.severity, a.source, a.title) for a in alerts] == [
        (AlertSeverity.WARNING, "desk-monitor", "risk metrics unavailable")
    ]
    assert alerts[0].detail == "the market view has no bars of ['BTC/USDT']"
    assert alerts[0].ts == NOW
