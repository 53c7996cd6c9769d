"""Conformance checks of the Notifier contract: every alert taken, asynchronously, without
changing it, and (when the author can observe the receiver) delivered."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._component import Component
from crypto_bot_sdk._decisions import Alert, AlertSeverity
from crypto_bot_sdk._notifier import Notifier
from crypto_bot_sdk.testing._fakes import FIXED_NOW
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    run_async,
    started,
)

DeliveredAlerts = Callable[[], Sequence[Alert]]
"""A zero-argument callable: the alerts the author's test receiver has seen so far."""


def sample_alerts() -> tuple[Alert, ...]:
    """One alert of every severity, as the engine raises them (figures as strings)."""
    return tuple(
        Alert(
            ts=FIXED_NOW + timedelta(minutes=index),
            severity=severity,
            source="conformance",
            title=f"sample {severity.value} alert",
            detail=f"a {severity.value} alert from the notifier conformance kit",
            figures={"metric": "var", "value": f"{1000 + index}.50", "limit": "1000.00"},
        )
        for index, severity in enumerate(AlertSeverity)
    )


def _deliver(factory: ComponentFactory, alerts: Sequence[Alert]) -> None:
    async def scenario() -> None:
        async with started(factory, (Notifier,)) as notifier:
            for alert in alerts:
                pending: object = getattr(notifier, "notify")(alert)  # noqa: B009
                if not inspect.isawaitable(pending):
                    pytest.fail(
                        f"notify returned {pending!r}, not an awaitable: declare it "
                        "'async def notify(self, alert)'",
                        pytrace=False,
                    )
                returned: object = await pending
                assert returned is None, f"notify returned {returned!r}; it returns nothing"

    run_async(scenario)


class NotifierConformance(ContractConformance):
    """Checks of a :class:`~crypto_bot_sdk.Notifier` (kind ``notifier``).

    Override ``manifest`` and ``component_factory`` (pointing the notifier at
    a receiver your test controls: a local HTTP server, a temporary mail
    directory...). ``alerts`` defaults to one alert of every severity; give the
    ones your configuration delivers if it filters by severity. Override
    ``delivered_alerts`` with a callable returning what your receiver got, and
    the kit checks every alert arrived; without it that check is skipped.
    """

    contract: ClassVar[type[Component[Any]]] = Notifier

    @pytest.fixture
    def alerts(self) -> Sequence[Alert]:
        """Override: the alerts to send (ones the configured notifier delivers)."""
        return sample_alerts()

    @pytest.fixture
    def delivered_alerts(self) -> DeliveredAlerts | None:
        """Override: a zero-argument callable returning the alerts your receiver has seen."""
        return None

    def test_every_alert_accepted(
        self, component_factory: ComponentFactory, alerts: Sequence[Alert]
    ) -> None:
        if not alerts:
            pytest.fail("the 'alerts' fixture returned no alerts to send", pytrace=False)
        _deliver(component_factory, alerts)

    def test_alerts_unchanged(
        self, component_factory: ComponentFactory, alerts: Sequence[Alert]
    ) -> None:
        before = [alert.model_dump() for alert in alerts]
        _deliver(component_factory, alerts)
        assert [alert.model_dump() for alert in alerts] == before, (
            "notify changed the alerts it was given"
        )

    def test_alerts_delivered(
        self,
        component_factory: ComponentFactory,
        alerts: Sequence[Alert],
        delivered_alerts: DeliveredAlerts | None,
    ) -> None:
        if delivered_alerts is None:
            pytest.skip(
                "override the 'delivered_alerts' fixture with what your test receiver got to "
                "check delivery"
            )
        seen_before = len(delivered_alerts())
        _deliver(component_factory, alerts)
        arrived = list(delivered_alerts())[seen_before:]
        missing = [alert.title for alert in alerts if alert not in arrived]
        assert not missing, (
            f"the receiver got {len(arrived)} alert(s) but not: {missing}; every alert given "
            "to notify must reach the channel"
        )

