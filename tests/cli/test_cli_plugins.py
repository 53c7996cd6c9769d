"""``cryptobot plugins`` in a subprocess that sees real installed plugin wheels."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.slow


def _by_key(records: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(r["name"], r["distribution"]): r for r in records}


def test_list_json_shows_the_good_plugin_and_every_refusal(run_cli: RunCli) -> None:
    result = run_cli("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    records = _by_key(json.loads(result.stdout))
    good = records[("cbt-good", "cbt-good-plugin")]
    assert good["status"] == "loaded"
    assert good["kinds"] == ["agent"]
    assert good["version"] == "1.2.0"
    assert good["api_range"] == ">=1.0,<2"
    assert good["reason"] is None
    assert good["components"] == [
        {
            "kind": "agent",
            "name": "constant",
            "address": "cbt-good",
            "class": "cbt_good.plugin.ConstantAgent",
        }
    ]
    expected = {
        ("cbt-future-api", "cbt-future-api-plugin"): "api_version 2.0.0 has major 2",
        ("cbt-old-core", "cbt-old-core-plugin"): "excludes crypto-bot-core 0.1.0",
        ("cbt-broken-import", "cbt-broken-import-plugin"): "ModuleNotFoundError",
        ("cbt-bad-manifest", "cbt-bad-manifest-plugin"): "manifest.json is invalid",
        ("cbt-twin", "cbt-twin-alpha"): "2 installed distributions provide",
        ("cbt-twin", "cbt-twin-beta"): "2 installed distributions provide",
    }
    for (name, distribution), reason in expected.items():
        record = records[(name, distribution)]
        assert record["status"] == "refused"
        assert reason in record["reason"]
        assert record["message"].startswith(f"plugin {name} (distribution {distribution}): ")


def test_list_prints_a_table_and_the_refusals(run_cli: RunCli) -> None:
    result = run_cli("plugins", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "KINDS", "API", "STATUS", "DISTRIBUTION"]
    good = next(line for line in lines if line.startswith("cbt-good "))
    assert good.split() == [
        "cbt-good",
        "1.2.0",
        "agent",
        ">=1.0,<2",
        "loaded",
        "cbt-good-plugin",
        "1.2.0",
    ]
    assert (
        "refused: plugin cbt-old-core (distribution cbt-old-core-plugin): compatible_core_version"
        in result.stdout
    )


def test_doctor_fails_listing_each_reason_and_what_to_do(run_cli: RunCli) -> None:
    result = run_cli("plugins", "doctor")
    assert result.returncode == 1
    out = result.stdout
    assert "ok        cbt-good 1.2.0 (cbt-good-plugin)" in out
    assert (
        "REFUSED   plugin cbt-broken-import (distribution cbt-broken-import-plugin): importing "
        "cbt_broken_import.plugin failed" in out
    )
    assert "python -c 'import cbt_broken_import.plugin'" in out
    assert out.count("REFUSED") == 6
    assert out.count("what to do:") == 6


def test_doctor_passes_when_only_good_plugins_are_selected(run_cli: RunCli) -> None:
    result = run_cli("plugins", "doctor", CRYPTOBOT_PLUGINS="cbt-good")
    assert result.returncode == 0, result.stdout
    assert "selection: CRYPTOBOT_PLUGINS=cbt-good, autoload on" in result.stdout
    assert "disabled  cbt-old-core (cbt-old-core-plugin): not named in CRYPTOBOT_PLUGINS" in (
        result.stdout
    )


def test_autoload_off_is_listed_as_disabled(run_cli: RunCli) -> None:
    result = run_cli("plugins", "list", "--json", CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD="1")
    records = json.loads(result.stdout)
    assert {r["status"] for r in records} == {"disabled"}


def test_bad_switch_value_exits_2_with_the_reason(run_cli: RunCli) -> None:
    result = run_cli("plugins", "list", CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD="perhaps")
    assert result.returncode == 2
    assert "CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD: 'perhaps' is not a switch value" in result.stderr


def test_inspect_shows_components_and_their_config_schema(run_cli: RunCli) -> None:
    result = run_cli("plugins", "inspect", "cbt-good", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "loaded"
    assert data["manifest"]["license"] == "MIT"
    (component,) = data["components"]
    assert component["config_schema"]["properties"]["threshold"]["default"] == 0.5
    assert component["config_schema"]["additionalProperties"] is False
    text = run_cli("plugins", "inspect", "cbt-good").stdout
    assert "  status:       loaded" in text
    assert "agent constant  (address: cbt-good, class cbt_good.plugin.ConstantAgent)" in text


def test_inspect_of_a_refused_plugin_shows_why(run_cli: RunCli) -> None:
    data = json.loads(run_cli("plugins", "inspect", "cbt-future-api", "--json").stdout)
    assert data["status"] == "refused"
    assert data["components"] == []
    assert data["manifest"]["api_version"] == "2.0.0"


def test_inspect_unknown_plugin_exits_1_listing_installed_ones(run_cli: RunCli) -> None:
    result = run_cli("plugins", "inspect", "cbt-nothing")
    assert result.returncode == 1
    assert "no plugin named 'cbt-nothing' is installed; installed: " in result.stderr
    installed = result.stderr.split("installed: ", 1)[1].strip().split(", ")
    assert installed == sorted(installed)
    assert {"cbt-bad-manifest", "cbt-good", "paper-exchange"} <= set(installed)
