"""The manifest: what a valid one holds, how each bad field is named, and the rule that
decides whether a plugin may run on this host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_sdk import (
    API_VERSION,
    Manifest,
    ManifestError,
    PluginKind,
    compatibility_problems,
    parse_api_version,
)

GOOD: dict[str, Any] = {
    "name": "binance-futures",
    "version": "1.2.0",
    "description": "Binance USD-M futures",
    "kinds": ["exchange"],
    "api_version": "1.0.0",
    "compatible_core_version": ">=0.1,<0.2",
    "capabilities": ["positions", "leverage", "order.stop"],
    "license": "Apache-2.0",
    "homepage": "https://example.org/binance-futures",
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_valid_manifest_round_trips_through_json() -> None:
    manifest = Manifest.from_json(json.dumps(GOOD))
    assert manifest.name == "binance-futures"
    assert manifest.kinds == (PluginKind.EXCHANGE,)
    assert manifest.capabilities == ("positions", "leverage", "order.stop")
    assert Manifest.from_json(manifest.model_dump_json()) == manifest


def test_optional_fields_default() -> None:
    data = {k: v for k, v in GOOD.items() if k not in {"description", "capabilities", "homepage"}}
    manifest = Manifest.from_mapping(data)
    assert (manifest.description, manifest.capabilities, manifest.homepage) == ("", (), None)
    assert manifest.config_schema is None


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"name": "Binance Futures"}, "name", "should match pattern"),
        ({"name": "x" * 64}, "name", "should match pattern"),
        ({"version": "one"}, "version", "version 'one' is not a PEP 440 version"),
        ({"api_version": "1.0"}, "api_version", "api_version '1.0' is not MAJOR.MINOR.PATCH"),
        ({"api_version": "01.0.0"}, "api_version", "api_version '01.0.0' is not MAJOR.MINOR"),
        (
            {"compatible_core_version": "=>0.1"},
            "compatible_core_version",
            "compatible_core_version '=>0.1' is not a PEP 440 specifier",
        ),
        ({"kinds": ["broker"]}, "kinds.0", "'datasource', 'agent', 'exchange'"),
        ({"kinds": ["agent", "agent"]}, "kinds", "entries must be unique; got"),
        ({"capabilities": ["fees", "fees"]}, "capabilities", "['fees', 'fees']"),
        ({"license": ""}, "license", "at least 1 character"),
        ({"homepage": "ftp://example.org"}, "homepage", "should match pattern"),
        ({"entry_point": "x.y"}, "entry_point", "Extra inputs are not permitted"),
    ],
)
def test_each_invalid_field_is_named(changes: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(ManifestError) as caught:
        Manifest.from_mapping(with_(**changes), source="plugins/x/manifest.json")
    message = str(caught.value)
    assert "plugins/x/manifest.json is invalid" in message
    assert f"{field}: " in message
    assert says in message


def test_every_missing_field_is_listed() -> None:
    with pytest.raises(ManifestError) as caught:
        Manifest.from_mapping({"name": "lonely"})
    message = str(caught.value)
    for field in ("version", "kinds", "api_version", "compatible_core_version", "license"):
        assert f"{field}: Field required" in message


def test_not_json_and_not_an_object_are_refused() -> None:
    with pytest.raises(ManifestError, match=r"m\.json is not valid JSON"):
        Manifest.from_json("{name: 1}", source="m.json")
    with pytest.raises(ManifestError, match="must hold a JSON object, not list"):
        Manifest.from_json("[]", source="m.json")


def test_from_path_reads_a_file_and_names_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert Manifest.from_path(path).version == "1.2.0"
    with pytest.raises(ManifestError, match=r"cannot read .*absent\.json"):
        Manifest.from_path(tmp_path / "absent.json")


def test_parse_api_version() -> None:
    assert parse_api_version("1.12.3") == (1, 12, 3)
    with pytest.raises(ValueError, match=r"'v1\.0\.0' is not MAJOR\.MINOR\.PATCH"):
        parse_api_version("v1.0.0")


# --- the compatibility rule ---------------------------------------------------------


def manifest(api_version: str, core: str = ">=0.1,<0.2") -> Manifest:
    return Manifest.from_mapping(with_(api_version=api_version, compatible_core_version=core))


def test_same_version_is_compatible() -> None:
    assert compatibility_problems(manifest(API_VERSION), core_version="0.1.0") == []


def test_major_mismatch_is_refused_with_remedy() -> None:
    problems = compatibility_problems(manifest("2.0.0"), core_version="0.1.0", api_version="1.4.0")
    assert problems == [
        "api_version 2.0.0 has major 2, but this host's SDK API is 1.4.0; rebuild the plugin "
        "against crypto-bot-sdk API 1.x"
    ]
    older = compatibility_problems(manifest("0.9.0"), core_version="0.1.0", api_version="1.4.0")
    assert len(older) == 1
    assert "has major 0" in older[0]


def test_newer_minor_is_refused() -> None:
    problems = compatibility_problems(manifest("1.3.0"), core_version="0.1.0", api_version="1.2.9")
    assert problems == [
        "api_version 1.3.0 is newer than this host's SDK API 1.2.9; upgrade crypto-bot-sdk "
        "and crypto-bot-core"
    ]


@pytest.mark.parametrize("plugin_api", ["1.0.0", "1.1.0", "1.3.0", "1.3.99", "1.0.5"])
def test_older_or_equal_minor_runs_and_patch_never_matters(plugin_api: str) -> None:
    plugin = manifest(plugin_api)
    assert compatibility_problems(plugin, core_version="0.1.0", api_version="1.3.0") == []


def test_core_specifier_that_excludes_the_host_is_refused() -> None:
    problems = compatibility_problems(manifest("1.0.0", core=">=0.2"), core_version="0.1.0")
    assert problems == [
        "compatible_core_version '>=0.2' excludes crypto-bot-core 0.1.0; install a plugin "
        "release made for it"
    ]


def test_core_prerelease_counts_as_inside_the_range() -> None:
    in_range = manifest("1.0.0", core=">=0.1,<0.3")
    assert compatibility_problems(in_range, core_version="0.2.0rc1") == []


def test_api_and_core_problems_are_reported_together() -> None:
    problems = compatibility_problems(manifest("2.0.0", core="<0.1"), core_version="0.1.0")
    assert len(problems) == 2
    assert problems[0].startswith("api_version 2.0.0 has major 2")
    assert problems[1].startswith("compatible_core_version '<0.1' excludes")


# --- API 1.1 ------------------------------------------------------------------------


def test_api_is_1_1_and_1_0_manifests_still_run() -> None:
    assert parse_api_version(API_VERSION)[:2] == (1, 1)
    veteran = manifest("1.0.0")
    assert compatibility_problems(veteran, core_version="0.1.0") == []


@pytest.mark.parametrize("kind", ["selector", "oversight", "notifier"])
def test_a_kind_of_api_1_1_needs_api_version_1_1(kind: str) -> None:
    with pytest.raises(ManifestError) as caught:
        Manifest.from_mapping(with_(kinds=["agent", kind], api_version="1.0.7"))
    assert f"kinds {kind} (API 1.1) are newer than api_version 1.0.7" in str(caught.value)
    for api in ("1.1.0", "1.4.2"):
        declared = Manifest.from_mapping(with_(kinds=["agent", kind], api_version=api))
        assert PluginKind(kind) in declared.kinds


def test_a_1_1_plugin_is_refused_by_a_1_0_host_for_the_right_reason() -> None:
    plugin = Manifest.from_mapping(with_(kinds=["selector"], api_version="1.1.0"))
    problems = compatibility_problems(plugin, core_version="0.1.0", api_version="1.0.0")
    assert problems == [
        "api_version 1.1.0 is newer than this host's SDK API 1.0.0; upgrade crypto-bot-sdk "
        "and crypto-bot-core"
    ]
