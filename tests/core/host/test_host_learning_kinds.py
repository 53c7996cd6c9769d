"""The host loads the kinds and capabilities of API 1.1 like the first five, and keeps
loading what was built for API 1.0."""

from __future__ import annotations

import pytest
from bare_exchange import BareExchange
from host_components import (
    ApproveAll,
    FirstPolicy,
    ListNotifier,
    Provides,
    QuietAgent,
    QuietOversight,
    SnapshotOnlyExchange,
    SnapshottingExchange,
    manifest,
)

from crypto_bot_core.host import Host, PluginStatus
from crypto_bot_sdk import (
    API_VERSION,
    Alert,
    AlertSeverity,
    Component,
    ManifestError,
    Notifier,
    PluginConfig,
    PluginContractError,
    PluginError,
    PluginKind,
    hookimpl,
)
from crypto_bot_sdk.testing import FIXED_NOW, run_async


@pytest.fixture
def host() -> Host:
    return Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()


def test_selector_oversight_and_notifier_components_load_and_resolve(host: Host) -> None:
    record = host.register_plugin(
        Provides(FirstPolicy, QuietOversight, ListNotifier),
        manifest("learning", ["selector", "oversight", "notifier"], api_version=API_VERSION),
    )
    assert record.status is PluginStatus.LOADED
    assert record.kinds == (PluginKind.SELECTOR, PluginKind.OVERSIGHT, PluginKind.NOTIFIER)
    assert host.resolve(PluginKind.SELECTOR, "learning").cls is FirstPolicy
    assert host.resolve(PluginKind.OVERSIGHT, "learning:quiet_watch").cls is QuietOversight
    info = host.resolve(PluginKind.NOTIFIER, "learning")
    assert info.cls is ListNotifier
    assert issubclass(info.cls, Notifier)
    assert host.registry.addresses(PluginKind.SELECTOR) == ("learning",)
    assert record.to_dict()["kinds"] == ["selector", "oversight", "notifier"]

    notifier = host.fence("learning").call(info.cls.from_config, {})
    alert = Alert(ts=FIXED_NOW, severity=AlertSeverity.HIGH, source="test", title="VaR high")
    assert isinstance(notifier, ListNotifier)
    run_async(lambda: notifier.notify(alert))
    assert notifier.sent == [alert]


def test_a_new_kind_in_a_manifest_claiming_api_1_0_is_refused_with_the_reason(
    host: Host,
) -> None:
    with pytest.raises(ManifestError) as caught:
        host.register_plugin(
            Provides(FirstPolicy), manifest("old-claim", ["selector"], api_version="1.0.0")
        )
    assert "kinds selector (API 1.1) are newer than api_version 1.0.0" in str(caught.value)


def test_plugins_built_for_api_1_0_still_load(host: Host) -> None:
    record = host.register_plugin(
        Provides(QuietAgent, ApproveAll), manifest("veteran", ["agent", "riskrule"])
    )
    assert record.manifest is not None
    assert record.manifest.api_version == "1.0.0"
    assert record.status is PluginStatus.LOADED
    assert record.api_range == ">=1.0,<2"


def test_a_component_of_a_new_kind_must_be_declared(host: Host) -> None:
    with pytest.raises(PluginContractError) as caught:
        host.register_plugin(
            Provides(QuietAgent, QuietOversight), manifest("sneaky", api_version=API_VERSION)
        )
    assert "QuietOversight is of kind oversight, which the manifest does not declare" in str(
        caught.value
    )


def test_every_method_a_capability_promises_must_be_overridden(host: Host) -> None:
    declared = manifest(
        "half-venue", ["exchange"], api_version=API_VERSION, capabilities=["state_snapshot"]
    )
    with pytest.raises(PluginContractError) as caught:
        host.register_plugin(Provides(SnapshotOnlyExchange), declared)
    message = str(caught.value)
    assert "SnapshotOnlyExchange does not override restore_state()" in message
    assert "capability 'state_snapshot'" in message
    assert "override snapshot_state()" not in message

    with pytest.raises(PluginContractError) as bare:
        host.register_plugin(Provides(BareExchange), {**declared, "name": "bare-venue"})
    assert "does not override snapshot_state() and restore_state()" in str(bare.value)

    whole = host.register_plugin(Provides(SnapshottingExchange), {**declared, "name": "venue"})
    assert whole.status is PluginStatus.LOADED


@pytest.mark.parametrize(
    ("capability", "method"),
    [("precompute", "precompute"), ("explain", "explain")],
)
def test_agent_capabilities_need_their_method(host: Host, capability: str, method: str) -> None:
    data = manifest("claims", api_version=API_VERSION, capabilities=[capability])
    with pytest.raises(PluginError) as caught:
        host.register_plugin(Provides(QuietAgent), data)
    assert f"does not override {method}(), which capability {capability!r}" in str(caught.value)


def test_observer_only_alert_plugins_keep_loading_beside_notifiers(host: Host) -> None:
    received: list[Alert] = []

    class AlertObserver:
        @hookimpl
        def cryptobot_alert(self, alert: Alert) -> None:
            received.append(alert)

    observer = host.register_plugin(AlertObserver(), manifest("pager", []))
    notifiers = host.register_plugin(
        Provides(ListNotifier), manifest("chat", ["notifier"], api_version=API_VERSION)
    )
    assert observer.status is notifiers.status is PluginStatus.LOADED
    alert = Alert(ts=FIXED_NOW, severity=AlertSeverity.CRITICAL, source="kill", title="stop")
    assert host.notify("cryptobot_alert", alert=alert) == []
    assert received == [alert]


def test_the_contract_error_lists_every_contract(host: Host) -> None:
    class Freelance(Component[PluginConfig]):
        """A component of no contract at all."""

        name = "freelance"

    with pytest.raises(PluginContractError) as caught:
        host.register_plugin(Provides(Freelance), manifest("odd"))
    assert (
        "has no contract kind; subclass one of DataSource, Agent, ExchangeAdapter, RiskRule, "
        "Reporter, PolicySelector, Oversight, Notifier"
    ) in str(caught.value)
