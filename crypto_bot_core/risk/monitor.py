"""The risk monitor: VaR, ES and stress losses watched against limits, breaches raised as alerts.

Risk rules are pure and answer one intent at a time; a breach of a portfolio
limit, though, is news whether or not anyone is trading. The engine calls
:meth:`RiskMonitor.evaluate` on its schedule (every bar, every N bars) with
the current portfolio and market; the monitor returns an
:class:`~crypto_bot_sdk.Alert` when a metric *crosses* its limit (high
severity) and when it comes back (info), not on every evaluation in between.
:meth:`RiskMonitor.publish` writes each alert to the ledger as a
``system.alert`` record and hands it to the notifier plugins through the
``cryptobot_alert`` hook (``Host.notify``). Being stateful (it remembers what
is already in breach) is why this is not a rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crypto_bot_core.risk.model_cache import ModelCache
from crypto_bot_core.risk.portfolio_var import VarSettings
from crypto_bot_core.risk.returns import interval_seconds, refit_boundary
from crypto_bot_core.risk.scenario import Scenario
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    MarketView,
    PortfolioSnapshot,
    RecordType,
    RiskError,
)

CENT = Decimal("0.01")


class AlertLedger(Protocol):
    """What publishing needs of the ledger (the engine's ``AuditLog``, a ``Ledger``)."""

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object: ...


class Notifier(Protocol):
    """What publishing needs of the host: ``Host.notify``."""

    def notify(self, hook_name: str, /, **kwargs: Any) -> list[Any]: ...


class MonitorLimits(BaseModel):
    """The portfolio limits the monitor watches; money in the portfolio currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    var_limit: Decimal | None = Field(default=None, gt=0, description="Largest 1-day VaR.")
    var_limit_fraction: Decimal | None = Field(
        default=None, gt=0, lt=1, description="Largest VaR as a fraction of equity."
    )
    es_limit: Decimal | None = Field(default=None, gt=0, description="Largest expected shortfall.")
    stress_loss_limit: Decimal | None = Field(
        default=None, gt=0, description="Largest projected loss of any scenario."
    )
    stress_loss_fraction: Decimal | None = Field(
        default=None, gt=0, le=1, description="Largest scenario loss as a fraction of equity."
    )
    scenarios: tuple[str, ...] = Field(
        default=(), description="Scenario names (shipped) or files to stress the book with."
    )
    lookback: int = Field(default=250, ge=20, description="Bars of returns for VaR.")
    refit_every: str = Field(
        default="1d", description="Refit the VaR model on bars up to the last such boundary."
    )
    var: VarSettings = Field(default_factory=VarSettings)

    @field_validator("refit_every")
    @classmethod
    def _interval(cls, value: str) -> str:
        interval_seconds(value)
        return value

    @field_validator("scenarios")
    @classmethod
    def _loadable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from crypto_bot_core.risk.scenario_file import load_scenario

        for reference in value:
            load_scenario(reference)
        return value

    @model_validator(mode="after")
    def _some_limit(self) -> MonitorLimits:
        stress = self.stress_loss_limit is not None or self.stress_loss_fraction is not None
        if stress and not self.scenarios:
            raise ValueError("a stress loss limit needs `scenarios` to stress the book with")
        return self


class RiskMonitorSettings(MonitorLimits):
    """The monitor's limits and how often the book is checked against them.

    One model for both places a monitor is configured: the deprecated ``risk_monitor:``
    config section, and (made a plugin config) the built-in oversight component
    ``standard-oversight:risk_monitor`` that section translates into key for key.
    """

    every: timedelta = Field(
        default=timedelta(hours=1),
        description="Market time between two checks (seconds or ISO 8601, e.g. PT1H).",
    )

    @field_validator("every")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError(f"every {value} must be positive")
        return value


@dataclass(frozen=True)
class Reading:
    """One metric's value against its limit."""

    metric: str
    value: Decimal
    limit: Decimal
    detail: str

    @property
    def breached(self) -> bool:
        return self.value > self.limit


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _tightest(*limits: Decimal | None) -> Decimal | None:
    given = [x for x in limits if x is not None]
    return min(given) if given else None


@dataclass
class RiskMonitor:
    """Evaluates the limits; remembers which are in breach so each crossing alerts once."""

    limits: MonitorLimits
    source: str = "risk-engine"
    in_breach: set[str] = field(default_factory=set)
    _scenarios: list[Scenario] = field(default_factory=list, init=False)
    _cache: ModelCache = field(default_factory=ModelCache, init=False)

    def __post_init__(self) -> None:
        from crypto_bot_core.risk.scenario_file import load_scenario

        self._scenarios = [load_scenario(ref) for ref in self.limits.scenarios]

    def readings(self, portfolio: PortfolioSnapshot, market: MarketView) -> list[Reading]:
        """Every limited metric's current value (no state involved)."""
        from crypto_bot_core.risk.exposure import exposures
        from crypto_bot_core.risk.portfolio_var import portfolio_var
        from crypto_bot_core.risk.returns import returns_from_market
        from crypto_bot_core.risk.stress import stress

        lim = self.limits
        equity = portfolio.equity
        out: list[Reading] = []
        held = exposures(portfolio, market)
        var_limit = _tightest(
            lim.var_limit, lim.var_limit_fraction * equity if lim.var_limit_fraction else None
        )
        if held and (var_limit is not None or lim.es_limit is not None):
            until = refit_boundary(market.now, interval_seconds(lim.refit_every))
            fitted = returns_from_market(market, list(held), lookback=lim.lookback, until=until)
            history = returns_from_market(market, list(held), lookback=lim.lookback)
            report = portfolio_var(
                held,
                history,
                lim.var,
                currency=portfolio.quote_currency,
                model=self._cache.model(fitted, lim.var),
            )
            mc = report.monte_carlo
            level = f"{lim.var.confidence:.1%} {lim.var.horizon}"
            if var_limit is not None:
                out.append(Reading("var", _money(mc.var), var_limit, f"{level} Monte-Carlo VaR"))
            if lim.es_limit is not None:
                out.append(Reading("es", _money(mc.es), lim.es_limit, f"{level} Monte-Carlo ES"))
        stress_limit = _tightest(
            lim.stress_loss_limit,
            lim.stress_loss_fraction * equity if lim.stress_loss_fraction else None,
        )
        if stress_limit is not None:
            for scenario in self._scenarios:
                result = stress(portfolio, scenario, market)
                out.append(
                    Reading(
                        f"stress:{scenario.name}",
                        _money(result.loss),
                        stress_limit,
                        f"projected loss of scenario {scenario.name!r} ({scenario.description})",
                    )
                )
        return out

    def evaluate(self, portfolio: PortfolioSnapshot, market: MarketView) -> list[Alert]:
        """Alerts for metrics that crossed their limit since the last call, either way."""
        alerts = []
        ccy = portfolio.quote_currency
        try:
            readings = self.readings(portfolio, market)
        except RiskError as exc:
            return [
                Alert(
                    ts=market.now,
                    severity=AlertSeverity.WARNING,
                    source=self.source,
                    title="risk metrics unavailable",
                    detail=str(exc),
                )
            ]
        for reading in readings:
            figures = {
                "metric": reading.metric,
                "value": format(reading.value, "f"),
                "limit": format(reading.limit, "f"),
                "currency": ccy,
                "equity": format(portfolio.equity, "f"),
            }
            if reading.breached and reading.metric not in self.in_breach:
                self.in_breach.add(reading.metric)
                alerts.append(
                    Alert(
                        ts=market.now,
                        severity=AlertSeverity.HIGH,
                        source=self.source,
                        title=f"{reading.metric} above its limit",
                        detail=f"{reading.detail} is {reading.value} {ccy}, above the limit "
                        f"{reading.limit} {ccy}",
                        figures=figures,
                    )
                )
            elif not reading.breached and reading.metric in self.in_breach:
                self.in_breach.discard(reading.metric)
                alerts.append(
                    Alert(
                        ts=market.now,
                        severity=AlertSeverity.INFO,
                        source=self.source,
                        title=f"{reading.metric} back within its limit",
                        detail=f"{reading.detail} is {reading.value} {ccy}, within the limit "
                        f"{reading.limit} {ccy}",
                        figures=figures,
                    )
                )
        return alerts

    @staticmethod
    def publish(
        alerts: Sequence[Alert],
        *,
        ledger: AlertLedger | None = None,
        notifier: Notifier | None = None,
    ) -> list[Any]:
        """Ledger first (the record of what was known), then the notifiers; returns their errors."""
        errors: list[Any] = []
        for alert in alerts:
            if ledger is not None:
                ledger.append(RecordType.ALERT, alert_payload(alert), ts=alert.ts)
            if notifier is not None:
                errors.extend(notifier.notify("cryptobot_alert", alert=alert))
        return errors

    def check(
        self,
        portfolio: PortfolioSnapshot,
        market: MarketView,
        *,
        ledger: AlertLedger | None = None,
        notifier: Notifier | None = None,
    ) -> list[Alert]:
        """:meth:`evaluate` and :meth:`publish` in one call, for the engine's loop."""
        alerts = self.evaluate(portfolio, market)
        self.publish(alerts, ledger=ledger, notifier=notifier)
        return alerts


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The ``system.alert`` payload: the alert itself, JSON-ready (figures are strings)."""
    return alert.model_dump(mode="json", exclude={"ts"})
