"""Settings of the oversight components: the analytics' own settings models, made plugin
configs (frozen, unknown keys refused), so the deprecated ``risk_monitor:`` and
``arbitrage:`` sections translate into them key for key."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from crypto_bot_core.risk.arbitrage import ArbitrageSettings
from crypto_bot_core.risk.monitor import MonitorLimits
from crypto_bot_sdk import PluginConfig


class RiskMonitorConfig(PluginConfig, MonitorLimits):
    """The monitor's limits (see ``docs/risk.md``) and how often the book is checked."""

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


class ArbitrageConfig(PluginConfig, ArbitrageSettings):
    """What counts as an opportunity and how large a pair may be (``docs/risk.md``)."""
