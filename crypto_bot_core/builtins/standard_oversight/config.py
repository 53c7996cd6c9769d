"""Settings of the oversight components: the analytics' own settings models, made plugin
configs (frozen, unknown keys refused), so the deprecated ``risk_monitor:`` and
``arbitrage:`` sections translate into them key for key."""

from __future__ import annotations

from crypto_bot_core.risk.arbitrage import ArbitrageSettings
from crypto_bot_core.risk.monitor import RiskMonitorSettings
from crypto_bot_sdk import PluginConfig


class RiskMonitorConfig(PluginConfig, RiskMonitorSettings):
    """The monitor's limits (see ``docs/risk.md``) and how often the book is checked."""


class ArbitrageConfig(PluginConfig, ArbitrageSettings):
    """What counts as an opportunity and how large a pair may be (``docs/risk.md``)."""
