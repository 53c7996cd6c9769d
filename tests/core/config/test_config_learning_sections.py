"""The ``selector:``, ``oversight:`` and ``notifiers:`` sections, and the deprecated
``risk_monitor:`` and ``arbitrage:`` sections translated into built-in oversight entries."""

from __future__ import annotations

import pytest

from crypto_bot_core.builtins.fixed_selector import FixedSelector
from crypto_bot_core.builtins.standard_oversight import ArbitragePairs, RiskMonitorWatch
from crypto_bot_core.config import (
    SECTION_KINDS,
    ConfigFileError,
    config_json_schema,
    default_config,
    parse_config,
    resolve_instances,
)
from crypto_bot_core.host import Host
from crypto_bot_sdk import PluginKind

BASE = """\
data_sources: [{plugin: synthetic-market}]
agents: [{name: ema, plugin: "technical-agents:ema_crossover"}]
exchanges: [{plugin: paper-exchange}]
"""


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(environ={}).load()


def problems(host: Host, text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigFileError) as caught:
        resolve_instances(parse_config(BASE + text, source="run.yaml", environ={}), host)
    return [(p.key, p.line, p.message) for p in caught.value.problems]


def test_the_sections_hold_their_kinds() -> None:
    assert SECTION_KINDS["selector"] is PluginKind.SELECTOR
    assert SECTION_KINDS["oversight"] is PluginKind.OVERSIGHT
    assert SECTION_KINDS["notifiers"] is PluginKind.NOTIFIER
    properties = config_json_schema()["properties"]
    assert {"selector", "oversight", "notifiers"} <= set(properties)


def test_without_the_sections_nothing_is_configured(host: Host) -> None:
    config = parse_config(BASE, environ={}).config
    assert (config.selector, config.oversight, config.notifiers) == (None, (), ())
    assert config.section("selector") == ()
    assert config.section("oversight") == ()


def test_the_embedded_default_uses_the_built_in_selector(host: Host) -> None:
    resolved = resolve_instances(default_config(environ={}), host)
    (selector,) = resolved.section("selector")
    assert isinstance(selector.instance, FixedSelector)


def test_instances_are_built_and_validated(host: Host) -> None:
    text = """\
selector: {name: mapping, plugin: fixed-selector, config: {default: trend}}
oversight:
  - {plugin: "standard-oversight:risk_monitor", config: {var_limit: "50", every: PT2H}}
  - {name: arb, plugin: "standard-oversight:arbitrage", config: {max_pair_notional: "500"}}
"""
    resolved = resolve_instances(parse_config(BASE + text, environ={}), host)
    (selector,) = resolved.section("selector")
    assert (selector.name, selector.instance.config.default) == ("mapping", "trend")
    monitor, arbitrage = resolved.section("oversight")
    assert isinstance(monitor.instance, RiskMonitorWatch)
    assert monitor.name == "risk_monitor"
    assert isinstance(arbitrage.instance, ArbitragePairs)
    assert (arbitrage.name, arbitrage.key) == ("arb", "oversight[1]")


def test_the_deprecated_sections_become_built_in_oversight_entries(host: Host) -> None:
    text = """\
oversight: [{name: first, plugin: "standard-oversight:arbitrage",
             config: {max_pair_notional: "100"}}]
risk_monitor: {var_limit: "50", every: PT2H, lookback: 30}
arbitrage: {threshold_bps: "5", max_pair_notional: "2000"}
"""
    config = parse_config(BASE + text, environ={}).config
    entries = [(s.name, s.plugin, s.config) for s in config.section("oversight")]
    assert entries == [
        ("first", "standard-oversight:arbitrage", {"max_pair_notional": "100"}),
        (
            "risk_monitor",
            "standard-oversight:risk_monitor",
            {"var_limit": "50", "every": "PT2H", "lookback": 30},
        ),
        (
            "arbitrage",
            "standard-oversight:arbitrage",
            {"threshold_bps": "5", "max_pair_notional": "2000"},
        ),
    ]
    resolved = resolve_instances(parse_config(BASE + text, environ={}), host)
    watchers = {i.name: i.instance for i in resolved.section("oversight")}
    monitor = watchers["risk_monitor"]
    assert isinstance(monitor, RiskMonitorWatch)
    assert monitor.config.every.total_seconds() == 7200
    assert monitor.config.lookback == 30
    arbitrage = watchers["arbitrage"]
    assert isinstance(arbitrage, ArbitragePairs)
    assert str(arbitrage.config.threshold_bps) == "5"


def test_a_deprecated_section_may_not_shadow_an_entry_of_its_name(host: Host) -> None:
    text = """\
oversight: [{name: arbitrage, plugin: "standard-oversight:arbitrage",
             config: {max_pair_notional: "100"}}]
arbitrage: {max_pair_notional: "2000"}
"""
    ((_key, _line, message),) = problems(host, text)
    assert "`arbitrage:` is deprecated" in message
    assert "oversight[0] already has that name" in message


def test_bad_entries_name_their_key_and_line(host: Host) -> None:
    assert problems(host, "selector: {plugin: nope}\n") == [
        (
            "selector[0].plugin",
            4,
            "no installed plugin is named 'nope'; available selector addresses: fixed-selector",
        )
    ]
    ((key, line, message),) = problems(
        host, 'oversight:\n  - {plugin: "standard-oversight:arbitrage"}\n'
    )
    assert (key, line) == ("oversight[0].config.max_pair_notional", 5)
    assert "Field required" in message
    ((key, line, message),) = problems(host, "notifiers: [{plugin: paper-exchange}]\n")
    assert (key, line) == ("notifiers[0].plugin", 4)
    assert "offers no notifier" in message


def test_the_selector_is_one_entry_not_a_list(host: Host) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(BASE + "selector: [{plugin: fixed-selector}]\n", environ={})
    assert caught.value.problems[0].key == "selector"
