"""The host against real installed wheels: one good plugin and six ways to be refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crypto_bot_core.host import Host, PluginRecord, PluginStatus
from crypto_bot_sdk import API_VERSION, PluginKind

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("isolated_sys_path")]


def _start(target: Path) -> Host:
    return Host(paths=[target], environ={}).load()


def _only(host: Host, name: str) -> PluginRecord:
    (record,) = host.records_named(name)
    return record


def test_good_plugin_loads_and_its_component_is_addressable(scenarios: Path) -> None:
    host = _start(scenarios)
    record = _only(host, "cbt-good")
    assert record.status is PluginStatus.LOADED
    assert record.distribution == "cbt-good-plugin"
    assert record.distribution_version == "1.2.0"
    assert record.entry_point == "cbt_good.plugin"
    assert record.api_range == ">=1.0,<2"
    assert record.manifest_path == str(scenarios / "cbt_good" / "manifest.json")
    assert [(c.kind, c.name, c.address) for c in record.components] == [
        (PluginKind.AGENT, "constant", "cbt-good")
    ]
    info = host.resolve(PluginKind.AGENT, "cbt-good")
    assert host.resolve(PluginKind.AGENT, "cbt-good:constant") is info
    agent = host.fence("cbt-good").call(info.cls.from_config, {"threshold": 0.25})
    assert agent.config.threshold == 0.25


@pytest.mark.parametrize(
    ("name", "distribution", "error", "reason_part"),
    [
        (
            "cbt-future-api",
            "cbt-future-api-plugin",
            "IncompatiblePluginError",
            f"api_version 2.0.0 has major 2, but this host's SDK API is {API_VERSION}",
        ),
        (
            "cbt-old-core",
            "cbt-old-core-plugin",
            "IncompatiblePluginError",
            "compatible_core_version '>=0.0.1,<0.1' excludes crypto-bot-core 0.1.0",
        ),
        (
            "cbt-broken-import",
            "cbt-broken-import-plugin",
            "PluginLoadError",
            "importing cbt_broken_import.plugin failed: ModuleNotFoundError: "
            "No module named 'cbt_dependency_that_is_not_installed'",
        ),
        (
            "cbt-bad-manifest",
            "cbt-bad-manifest-plugin",
            "ManifestError",
            "manifest.json is invalid: kinds.0: Input should be 'datasource'",
        ),
    ],
)
def test_bad_plugin_is_refused_with_name_distribution_and_reason(
    scenarios: Path, name: str, distribution: str, error: str, reason_part: str
) -> None:
    host = _start(scenarios)
    record = _only(host, name)
    assert record.status is PluginStatus.REFUSED
    assert record.distribution == distribution
    assert reason_part in (record.reason or "")
    assert record.message is not None
    assert record.message.startswith(f"plugin {name} (distribution {distribution}): ")
    assert reason_part in record.message
    assert record.components == ()
    assert record.remedy


def test_bad_manifest_reports_every_invalid_field(scenarios: Path) -> None:
    reason = _only(_start(scenarios), "cbt-bad-manifest").reason or ""
    assert "api_version 'one' is not MAJOR.MINOR.PATCH" in reason
    assert "kinds" in reason


def test_incompatible_and_malformed_plugins_are_never_imported(scenarios: Path) -> None:
    _start(scenarios)
    # Their modules raise at import; the refusals above say "incompatible"/"invalid
    # manifest", and the modules are absent: the host decided before running their code.
    for package in ("cbt_future_api", "cbt_old_core", "cbt_bad_manifest"):
        assert f"{package}.plugin" not in sys.modules


def test_two_distributions_with_one_name_are_both_refused(scenarios: Path) -> None:
    host = _start(scenarios)
    alpha, beta = host.records_named("cbt-twin")
    assert (alpha.distribution, beta.distribution) == ("cbt-twin-alpha", "cbt-twin-beta")
    for record in (alpha, beta):
        assert record.status is PluginStatus.REFUSED
        reason = record.reason or ""
        assert "2 installed distributions provide a plugin named 'cbt-twin'" in reason
        assert "cbt-twin-alpha 1.2.0" in (record.message or "")
        assert "cbt-twin-beta 1.2.0" in (record.message or "")
        assert record.manifest is not None  # read (no code run) to show kinds and version
    assert host.registry.addresses(PluginKind.AGENT) == ("cbt-good",)


def test_host_keeps_running_and_lists_every_refusal(scenarios: Path) -> None:
    host = _start(scenarios)
    statuses = {(r.name, r.distribution): r.status.value for r in host.records}
    assert statuses == {
        ("cbt-bad-manifest", "cbt-bad-manifest-plugin"): "refused",
        ("cbt-broken-import", "cbt-broken-import-plugin"): "refused",
        ("cbt-future-api", "cbt-future-api-plugin"): "refused",
        ("cbt-good", "cbt-good-plugin"): "loaded",
        ("cbt-old-core", "cbt-old-core-plugin"): "refused",
        ("cbt-twin", "cbt-twin-alpha"): "refused",
        ("cbt-twin", "cbt-twin-beta"): "refused",
    }
    assert len(host.refused) == 6


def test_only_named_plugins_load_the_others_are_disabled(scenarios: Path) -> None:
    host = Host(paths=[scenarios], environ={"CRYPTOBOT_PLUGINS": "cbt-good, cbt-missing"}).load()
    assert _only(host, "cbt-good").status is PluginStatus.LOADED
    future = _only(host, "cbt-future-api")
    assert future.status is PluginStatus.DISABLED
    assert future.reason == "not named in CRYPTOBOT_PLUGINS=cbt-good,cbt-missing"
    assert future.manifest is not None
    assert future.manifest.api_version == "2.0.0"
    assert _only(host, "cbt-broken-import").status is PluginStatus.DISABLED
    missing = _only(host, "cbt-missing")
    assert missing.status is PluginStatus.REFUSED
    assert missing.distribution is None
    assert "named in CRYPTOBOT_PLUGINS but no installed distribution provides it" in (
        missing.reason or ""
    )


def test_autoload_off_disables_every_entry_point_plugin(scenarios: Path) -> None:
    host = Host(paths=[scenarios], environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    assert {r.status for r in host.records} == {PluginStatus.DISABLED}
    reason = _only(host, "cbt-good").reason or ""
    assert "autoload is off (CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD=1)" in reason
    assert len(host.registry) == 0


def test_autoload_off_still_loads_plugins_named_in_the_list(scenarios: Path) -> None:
    environ = {"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "true", "CRYPTOBOT_PLUGINS": "cbt-good"}
    host = Host(paths=[scenarios], environ=environ).load()
    assert _only(host, "cbt-good").status is PluginStatus.LOADED
    assert _only(host, "cbt-old-core").status is PluginStatus.DISABLED


def test_explicit_arguments_win_over_the_environment(scenarios: Path) -> None:
    host = Host(
        paths=[scenarios], environ={"CRYPTOBOT_PLUGINS": "cbt-good"}, only=["cbt-old-core"]
    ).load()
    assert _only(host, "cbt-good").status is PluginStatus.DISABLED
    assert _only(host, "cbt-old-core").status is PluginStatus.REFUSED


def test_record_json_view_carries_the_listing_fields(scenarios: Path) -> None:
    data = _only(_start(scenarios), "cbt-future-api").to_dict()
    assert data["name"] == "cbt-future-api"
    assert data["kinds"] == ["agent"]
    assert data["version"] == "1.2.0"
    assert data["api_range"] == ">=2.0,<3"
    assert data["status"] == "refused"
    assert data["distribution"] == "cbt-future-api-plugin"
    assert "api_version 2.0.0 has major 2" in data["reason"]


def test_duplicates_named_in_the_list_are_still_both_refused(scenarios: Path) -> None:
    host = Host(paths=[scenarios], environ={"CRYPTOBOT_PLUGINS": "cbt-twin"}).load()
    assert [r.status for r in host.records_named("cbt-twin")] == [PluginStatus.REFUSED] * 2
    assert _only(host, "cbt-good").status is PluginStatus.DISABLED
