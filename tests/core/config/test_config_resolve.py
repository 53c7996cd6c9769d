"""Resolving config instances against loaded plugins: addresses, settings and mode."""

from __future__ import annotations

from decimal import Decimal

import pytest
from config_components import (
    OfflineVenue,
    Provides,
    SilentSource,
    SimulatedVenue,
    TrendAgent,
    manifest,
)

from crypto_bot_core.config import ConfigFileError, parse_config, resolve_instances
from crypto_bot_core.host import Host
from crypto_bot_sdk import PluginKind

RUN = """\
mode: {mode}
data_sources:
  - plugin: feeds
agents:
  - name: fast
    plugin: signals
    config:
      fast: 5
      slow: 15
  - name: default
    plugin: signals
exchanges:
  - name: venue
    plugin: {exchange}
    config:
      taker_fee: "0.0004"
"""


@pytest.fixture(scope="module")
def host() -> Host:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    host.register_plugin(Provides(SilentSource), manifest("feeds", ["datasource"]))
    host.register_plugin(Provides(TrendAgent), manifest("signals", ["agent"]))
    host.register_plugin(
        Provides(SimulatedVenue), manifest("sim-venue", ["exchange"], capabilities=["simulated"])
    )
    host.register_plugin(Provides(OfflineVenue), manifest("real-venue", ["exchange"]))
    return host


def _text(mode: str = "backtest", exchange: str = "sim-venue") -> str:
    return RUN.format(mode=mode, exchange=exchange)


def _problems(host: Host, text: str, **environ: str) -> ConfigFileError:
    loaded = parse_config(text, source="run.yaml", environ=environ)
    with pytest.raises(ConfigFileError) as caught:
        resolve_instances(loaded, host)
    return caught.value


def test_instances_are_built_with_their_validated_settings(host: Host) -> None:
    resolved = resolve_instances(parse_config(_text(), environ={}), host)
    agents = resolved.by_name("agents")
    assert list(agents) == ["fast", "default"]
    assert isinstance(agents["fast"], TrendAgent)
    assert (agents["fast"].config.fast, agents["fast"].config.slow) == (5, 15)
    assert (agents["default"].config.fast, agents["default"].config.slow) == (10, 20)
    (venue,) = resolved.section("exchanges")
    assert venue.key == "exchanges[0]"
    assert venue.kind is PluginKind.EXCHANGE
    assert venue.component.plugin == "sim-venue"
    assert venue.instance.config.taker_fee == Decimal("0.0004")
    assert [i.section for i in resolved.instances] == [
        "data_sources",
        "agents",
        "agents",
        "exchanges",
    ]


def test_component_settings_error_names_the_nested_key_and_its_line(host: Host) -> None:
    error = _problems(host, _text().replace("slow: 15", "slow: -15"))
    (problem,) = error.problems
    assert problem.key == "agents[0].config.slow"
    assert (problem.line, problem.column) == (9, 7)
    assert "invalid settings for agent 'trend'" in problem.message
    assert "greater than 0" in problem.message
    assert str(error).startswith("run.yaml:9:7: agents[0].config.slow: ")


def test_unknown_setting_of_a_component_is_refused_with_its_line(host: Host) -> None:
    error = _problems(host, _text().replace("      slow: 15\n", "      slow: 15\n      sloww: 1\n"))
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("agents[0].config.sloww", 10)


def test_component_settings_set_by_the_environment_name_the_variable(host: Host) -> None:
    error = _problems(host, _text(), CRYPTOBOT__AGENTS__DEFAULT__CONFIG__FAST="0")
    (problem,) = error.problems
    assert problem.key == "agents[1].config.fast"
    assert problem.env_var == "CRYPTOBOT__AGENTS__DEFAULT__CONFIG__FAST"


def test_unknown_address_lists_the_available_ones(host: Host) -> None:
    error = _problems(host, _text().replace("plugin: feeds", "plugin: feeds-v2"))
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("data_sources[0].plugin", 3)
    assert problem.message == (
        "no installed plugin is named 'feeds-v2'; available datasource addresses: feeds"
    )


def test_address_of_the_wrong_kind_says_what_the_plugin_offers(host: Host) -> None:
    error = _problems(host, _text().replace("plugin: feeds", "plugin: signals"))
    (problem,) = error.problems
    assert problem.message == (
        "plugin 'signals' offers no datasource (it offers: agent); "
        "available datasource addresses: feeds"
    )


def test_backtest_on_a_real_venue_is_refused_with_what_to_use(host: Host) -> None:
    error = _problems(host, _text(exchange="real-venue"))
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("exchanges[0].plugin", 14)
    assert "mode backtest replays history against a simulated venue" in problem.message
    assert "use mode paper or live for it" in problem.message


def test_live_on_a_simulated_venue_is_refused_with_use_paper(host: Host) -> None:
    error = _problems(host, _text(mode="live"))
    (problem,) = error.problems
    assert "mode live trades real money, but 'sim-venue' is a simulated venue; use mode paper" in (
        problem.message
    )


def test_paper_and_live_accept_the_fitting_venues(host: Host) -> None:
    assert resolve_instances(parse_config(_text(mode="paper"), environ={}), host).instances
    paper = parse_config(_text(mode="paper", exchange="real-venue"), environ={})
    assert resolve_instances(paper, host)
    live = parse_config(_text(mode="live", exchange="real-venue"), environ={})
    assert resolve_instances(live, host)


def test_a_run_needs_data_agents_and_an_exchange(host: Host) -> None:
    error = _problems(host, "mode: backtest\nagents: []\n")
    assert [(p.key, p.line) for p in error.problems] == [
        ("data_sources", 1),
        ("agents", 2),
        ("exchanges", 1),
    ]
    assert "a run needs at least one exchange; add an entry {plugin: ADDRESS} (available: " in (
        error.problems[2].message
    )
    resolved = resolve_instances(parse_config("", environ={}), host, require_run_parts=False)
    assert resolved.instances == ()
