"""A plugin must provide what its manifest declares; the host says exactly what is missing."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from host_components import (
    AbstractAgent,
    ApproveAll,
    HistorySource,
    OtherAgent,
    PlainSource,
    Provides,
    QuietAgent,
    manifest,
)

from crypto_bot_core.host import Host, PluginStatus
from crypto_bot_core.host.contract_checks import KNOWN_CAPABILITIES, only_raises_not_supported
from crypto_bot_sdk import (
    API_VERSION,
    CAPABILITY_METHODS,
    DataSource,
    DuplicatePluginError,
    IncompatiblePluginError,
    ManifestError,
    MarketEvent,
    NotSupportedError,
    PluginContractError,
    PluginError,
    PluginKind,
    PluginLoadError,
    hookimpl,
)


@pytest.fixture
def host() -> Host:
    return Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()


def _refusal(host: Host, plugin: object, data: dict[str, Any]) -> PluginError:
    with pytest.raises(PluginError) as caught:
        host.register_plugin(plugin, data, distribution="acme-plugins")
    (record,) = host.records_named(data["name"])
    assert record.status is PluginStatus.REFUSED
    assert record.message == str(caught.value)
    assert str(caught.value).startswith(f"plugin {data['name']} (distribution acme-plugins): ")
    assert host.registry.of_plugin(data["name"]) == ()
    return caught.value


def test_a_conforming_plugin_loads_with_short_and_full_addresses(host: Host) -> None:
    record = host.register_plugin(
        Provides(QuietAgent, OtherAgent, ApproveAll), manifest("acme", ["agent", "riskrule"])
    )
    assert record.status is PluginStatus.LOADED
    assert {c.address for c in record.components} == {"acme:quiet", "acme:other", "acme"}
    assert host.resolve(PluginKind.RISKRULE, "acme").cls is ApproveAll
    assert host.resolve(PluginKind.RISKRULE, "acme:approve_all").cls is ApproveAll
    assert host.resolve(PluginKind.AGENT, "acme:other").cls is OtherAgent


def test_abstract_component_names_the_missing_methods(host: Host) -> None:
    error = _refusal(host, Provides(AbstractAgent), manifest("acme"))
    assert isinstance(error, PluginContractError)
    assert "AbstractAgent does not implement the required methods: evaluate" in str(error)


def test_component_of_an_undeclared_kind_is_refused(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent, ApproveAll), manifest("acme", ["agent"]))
    assert (
        "ApproveAll is of kind riskrule, which the manifest does not declare (kinds: agent)"
        in str(error)
    )


def test_declared_kind_without_a_component_is_refused(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent), manifest("acme", ["agent", "reporter"]))
    assert "the manifest declares kind reporter but no reporter component is provided" in str(error)


def test_declared_capability_must_be_overridden(host: Host) -> None:
    data = manifest("acme", ["datasource"], capabilities=["history"])
    error = _refusal(host, Provides(PlainSource), data)
    assert "PlainSource does not override history(), which capability 'history'" in str(error)
    ok = host.register_plugin(
        Provides(HistorySource), manifest("acme-two", ["datasource"], capabilities=["history"])
    )
    assert ok.status is PluginStatus.LOADED


def test_capability_of_an_undeclared_kind_is_refused(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent), manifest("acme", capabilities=["fill_stream"]))
    assert "capability 'fill_stream' belongs to kind exchange" in str(error)


def test_non_component_and_bad_name_are_reported_together(host: Host) -> None:
    class Nameless(QuietAgent):
        name = "Not Valid"

    error = _refusal(host, Provides(QuietAgent, dict, Nameless), manifest("acme"))
    assert "dict is not a Component subclass" in str(error)
    assert "has name 'Not Valid'" in str(error)


def test_two_components_of_a_kind_with_one_name_are_refused(host: Host) -> None:
    class Twin(QuietAgent):
        pass  # inherits name "quiet"

    error = _refusal(host, Provides(QuietAgent, Twin), manifest("acme"))
    assert "two agent components are named 'quiet'" in str(error)


def test_components_hook_must_return_a_list(host: Host) -> None:
    error = _refusal(host, Provides(), manifest("acme"))
    assert "no agent component is provided" in str(error)

    class ReturnsText:
        @hookimpl
        def cryptobot_components(self) -> str:
            return "QuietAgent"

    error = _refusal(host, ReturnsText(), manifest("acme-text"))
    assert "cryptobot_components() returned 'QuietAgent'; return a list" in str(error)


def test_components_hook_that_raises_is_a_load_error_naming_the_plugin(host: Host) -> None:
    class Explodes:
        @hookimpl
        def cryptobot_components(self) -> list[type]:
            raise KeyError("settings")

    error = _refusal(host, Explodes(), manifest("acme"))
    assert isinstance(error, PluginLoadError)
    assert "raised KeyError: 'settings'" in str(error)
    assert host.hook.cryptobot_components.get_hookimpls() == []


def test_misspelt_hook_is_refused_and_unregistered(host: Host) -> None:
    class Misspelt(Provides):
        @hookimpl
        def cryptobot_fils(self, fill: object) -> None:
            raise AssertionError("never called")

    error = _refusal(host, Misspelt(QuietAgent), manifest("acme"))
    assert "cryptobot_fils is not a crypto-bot hook (misspelt?)" in str(error)
    assert "known hooks:" in str(error)
    assert "cryptobot_fill" in str(error)
    assert host.hook.cryptobot_components.get_hookimpls() == []


def test_hook_with_arguments_the_spec_lacks_fails_validation(host: Host) -> None:
    class WrongArgs(Provides):
        @hookimpl
        def cryptobot_fill(self, fill: object, portfolio: object) -> None:
            raise AssertionError("never called")

    error = _refusal(host, WrongArgs(QuietAgent), manifest("acme"))
    assert "hook validation failed" in str(error)
    assert "portfolio" in str(error)


def test_plugin_without_components_hook_is_refused(host: Host) -> None:
    class Observer:
        @hookimpl
        def cryptobot_alert(self, alert: object) -> None:
            raise AssertionError("never called")

    error = _refusal(host, Observer(), manifest("acme"))
    assert "implements no cryptobot_components hook" in str(error)


def test_incompatible_manifest_given_in_code_is_refused_before_any_call(host: Host) -> None:
    class MustNotBeCalled:
        @hookimpl
        def cryptobot_components(self) -> list[type]:
            raise AssertionError("an incompatible plugin's hook must not run")

    error = _refusal(host, MustNotBeCalled(), manifest("acme", api_version="1.9.0"))
    assert isinstance(error, IncompatiblePluginError)
    assert f"api_version 1.9.0 is newer than this host's SDK API {API_VERSION}" in str(error)


def test_second_plugin_with_a_taken_name_is_refused(host: Host) -> None:
    host.register_plugin(Provides(QuietAgent), manifest("acme"), distribution="acme-one")
    taken = "already taken by the loaded plugin from acme-one"
    with pytest.raises(DuplicatePluginError, match=taken):
        host.register_plugin(Provides(QuietAgent), manifest("acme"), distribution="acme-two")
    assert [r.status for r in host.records_named("acme")] == [
        PluginStatus.LOADED,
        PluginStatus.REFUSED,
    ]


def test_malformed_manifest_given_in_code_raises_manifest_error(host: Host) -> None:
    with pytest.raises(ManifestError, match="license: Field required"):
        host.register_plugin(
            Provides(QuietAgent),
            {
                "name": "acme",
                "kinds": ["agent"],
                "version": "1",
                "api_version": "1.0.0",
                "compatible_core_version": ">=0.1",
            },
        )


def test_hook_wrappers_are_refused(host: Host) -> None:
    class Wraps(Provides):
        @hookimpl(wrapper=True)
        def cryptobot_fill(self, fill: object) -> object:
            return (yield)

    error = _refusal(host, Wraps(QuietAgent), manifest("acme"))
    assert "cryptobot_fill is a hook wrapper; crypto-bot hooks take none" in str(error)


def test_optional_hooks_of_a_newer_api_are_allowed(host: Host) -> None:
    class Newer(Provides):
        @hookimpl(optionalhook=True)
        def cryptobot_hook_from_the_future(self) -> None:
            raise AssertionError("never called")

    record = host.register_plugin(Newer(QuietAgent), manifest("acme"))
    assert record.status is PluginStatus.LOADED


class AlertNotifier:
    """A notifier: no components, one observation hook."""

    def __init__(self) -> None:
        self.alerts: list[object] = []

    @hookimpl
    def cryptobot_alert(self, alert: object) -> None:
        self.alerts.append(alert)


class Silent:
    """Declares no kinds and implements nothing: nothing to load."""


def test_an_observer_plugin_declares_no_kinds_and_provides_no_components(host: Host) -> None:
    notifier = AlertNotifier()
    record = host.register_plugin(notifier, manifest("pager", kinds=()))
    assert record.status is PluginStatus.LOADED
    assert record.components == ()
    assert host.notify("cryptobot_alert", alert="drawdown 30%") == []
    assert notifier.alerts == ["drawdown 30%"]


def test_a_plugin_with_no_kinds_must_observe_something(host: Host) -> None:
    error = _refusal(host, Silent(), manifest("mute", kinds=()))
    assert isinstance(error, PluginContractError)
    assert "declares no kinds, so it can only observe, yet it implements no observation hook" in (
        str(error)
    )


def test_a_plugin_with_no_kinds_may_not_bring_components(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent), manifest("sneaky", kinds=()))
    assert isinstance(error, PluginContractError)
    assert "QuietAgent is of kind agent, which the manifest does not declare" in str(error)


# --- a capability's method must do something (issue 13, item 15) ------------------------


class StubHistory(PlainSource):
    name = "stub_history"

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        """Declared, never implemented."""
        raise NotSupportedError("no history here")


class AliasedStub(PlainSource):
    name = "aliased_stub"

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        raise Unsupported


class Unsupported(NotSupportedError):
    """A plugin's own subclass: still "not supported"."""


class ReboundDefault(PlainSource):
    name = "rebound"
    history = DataSource.history


def _logged(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await func(*args, **kwargs)

    return wrapper


class DecoratedStub(PlainSource):
    name = "decorated_stub"

    @_logged
    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        pass
        raise NotSupportedError


class SometimesHistory(PlainSource):
    """Raises only on one path: an implementation whose support depends on its settings."""

    name = "sometimes"

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        if symbol.endswith(":USDT"):
            raise NotSupportedError("no history of perpetuals")
        return ()


def _compiled_without_source(body: str) -> type:
    """A class whose method has no source file, as in a plugin shipped as bytecode only."""
    namespace: dict[str, Any] = {"NotSupportedError": NotSupportedError, "PlainSource": PlainSource}
    code = compile(
        "class Compiled(PlainSource):\n"
        "    name = 'compiled'\n"
        "    async def history(self, symbol, start, end):\n"
        f"        {body}\n",
        "<no source>",
        "exec",
    )
    exec(code, namespace)
    cls: type = namespace["Compiled"]
    return cls


@pytest.mark.parametrize(
    "component",
    [StubHistory, AliasedStub, ReboundDefault, DecoratedStub],
    ids=["stub", "own-subclass", "rebound-default", "decorated"],
)
def test_a_method_that_only_raises_not_supported_does_not_back_a_capability(
    host: Host, component: type
) -> None:
    data = manifest("acme", ["datasource"], capabilities=["history"])
    error = _refusal(host, Provides(component), data)
    assert isinstance(error, PluginContractError)
    assert (
        f"{component.__qualname__} does not override history(), which capability 'history' "
        "declared in the manifest promises"
    ) in str(error)


def test_a_method_that_raises_not_supported_only_sometimes_backs_its_capability(
    host: Host,
) -> None:
    data = manifest("acme", ["datasource"], capabilities=["history"])
    assert host.register_plugin(Provides(SometimesHistory), data).status is PluginStatus.LOADED


@pytest.mark.parametrize(
    ("body", "implemented"),
    [
        ("raise NotSupportedError(f'{self.name} keeps none')", False),
        ("return ()", True),
        ("return [] if symbol else None", True),
    ],
)
def test_without_source_the_bytecode_decides(body: str, implemented: bool) -> None:
    cls = _compiled_without_source(body)
    with pytest.raises(OSError, match="could not get source code"):
        inspect.getsource(vars(cls)["history"])
    assert only_raises_not_supported(vars(cls)["history"]) is not implemented


def test_an_unknown_capability_is_refused_before_import(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent), manifest("acme", capabilities=["telepathy"]))
    assert isinstance(error, ManifestError)
    assert "manifest.json declares unknown capabilities 'telepathy'" in str(error)


def test_a_behaviour_capability_of_an_undeclared_kind_is_refused(host: Host) -> None:
    error = _refusal(host, Provides(QuietAgent), manifest("acme", capabilities=["partial_fills"]))
    assert "capability 'partial_fills' belongs to kind exchange" in str(error)


def test_the_known_capabilities_are_the_conformance_kits() -> None:
    from crypto_bot_sdk.testing._capabilities import CAPABILITIES

    assert set(KNOWN_CAPABILITIES) == set(CAPABILITIES) | set(CAPABILITY_METHODS)
    for name, capability in CAPABILITIES.items():
        assert set(KNOWN_CAPABILITIES[name]) == set(capability.kinds), name
