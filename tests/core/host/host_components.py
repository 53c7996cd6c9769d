"""Small component classes and manifests for host tests that register plugins in code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from bare_exchange import BareExchange

from crypto_bot_sdk import (
    Agent,
    Alert,
    DataSource,
    Instrument,
    MarketEvent,
    MarketView,
    Notifier,
    OrderIntent,
    Oversight,
    OversightContext,
    OversightOutcome,
    PluginConfig,
    PolicyChoice,
    PolicySelector,
    RiskContext,
    RiskRule,
    RiskVerdict,
    Signal,
    hookimpl,
)


class Threshold(PluginConfig):
    threshold: float = 0.5


class QuietAgent(Agent[Threshold]):
    name = "quiet"
    config_model = Threshold

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return None


class OtherAgent(QuietAgent):
    name = "other"


class AbstractAgent(Agent[PluginConfig]):
    """Forgets to implement ``evaluate``."""

    name = "abstract"


class ApproveAll(RiskRule[PluginConfig]):
    name = "approve_all"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        raise NotImplementedError("not called in these tests")


class PlainSource(DataSource[PluginConfig]):
    name = "plain"

    def instruments(self) -> Sequence[Instrument]:
        return ()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        events: tuple[MarketEvent, ...] = ()
        for event in events:
            yield event


class HistorySource(PlainSource):
    name = "with_history"

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        return ()


def manifest(name: str, kinds: Sequence[str] = ("agent",), **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "version": "0.3.0",
        "kinds": list(kinds),
        "api_version": "1.0.0",
        "compatible_core_version": ">=0.1,<0.2",
        "license": "Apache-2.0",
    }
    data.update(extra)
    return data


class Provides:
    """A plugin object whose ``cryptobot_components`` returns the given value."""

    def __init__(self, *components: Any) -> None:
        self._components = list(components)

    @hookimpl
    def cryptobot_components(self) -> Any:
        return self._components


# --- kinds added in API 1.1 ----------------------------------------------------------


class FirstPolicy(PolicySelector[PluginConfig]):
    name = "first"

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        return PolicyChoice(policies[0])


class QuietOversight(Oversight[PluginConfig]):
    name = "quiet_watch"

    async def review(self, context: OversightContext) -> OversightOutcome:
        return OversightOutcome()


class ListNotifier(Notifier[PluginConfig]):
    name = "list"

    def __init__(self, config: PluginConfig) -> None:
        super().__init__(config)
        self.sent: list[Alert] = []

    async def notify(self, alert: Alert) -> None:
        self.sent.append(alert)


class SnapshotOnlyExchange(BareExchange):
    """Saves its state but cannot load it back: half of ``state_snapshot``."""

    name = "snapshot_only"

    def snapshot_state(self) -> dict[str, Any]:
        return {}


class SnapshottingExchange(SnapshotOnlyExchange):
    name = "snapshotting"

    def restore_state(self, data: dict[str, Any]) -> None:
        return None
