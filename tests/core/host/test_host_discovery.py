"""Discovery and manifest location on installed layouts written straight to disk.

These layouts are what an installer leaves behind (package + ``.dist-info`` with
``METADATA``, ``entry_points.txt`` and ``RECORD``), written directly so that the
odd cases (a manifest found only through RECORD, a missing one) stay cheap to set up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from host_components import manifest

from crypto_bot_core.host import Host, PluginStatus, discover, locate_manifest
from crypto_bot_sdk import ManifestError, PluginKind

pytestmark = pytest.mark.usefixtures("isolated_sys_path")

MODULE = """
from crypto_bot_sdk import Agent, PluginConfig, hookimpl


class Echo(Agent[PluginConfig]):
    name = "echo"

    async def evaluate(self, symbol, market):
        return None


@hookimpl
def cryptobot_components():
    return [Echo]
"""


def install(
    site: Path,
    dist: str,
    entry_points: dict[str, str],
    files: dict[str, str],
    *,
    package_root: Path | None = None,
) -> None:
    """Write ``files`` under ``package_root`` (default ``site``) and a dist-info for them."""
    root = package_root or site
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    # The version of host_components.manifest(): the host refuses a manifest whose
    # version is not its distribution's.
    info = site / f"{dist.replace('-', '_')}-0.3.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[crypto_bot.plugins]\n{lines}\n")
    prefix = "" if package_root is None else f"{Path('..') / package_root.name}/"
    record = [f"{prefix}{relative},," for relative in files]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_manifest_sits_next_to_the_entry_point_package(tmp_path: Path) -> None:
    install(
        tmp_path,
        "deep-plugin",
        {"deep": "cbt_deep.sub.plugin"},
        {
            "cbt_deep/__init__.py": "",
            "cbt_deep/sub/__init__.py": "",
            "cbt_deep/sub/plugin.py": MODULE,
            "cbt_deep/sub/manifest.json": json.dumps(manifest("deep")),
        },
    )
    (candidate,) = discover([str(tmp_path)])
    assert (candidate.name, candidate.distribution, candidate.module) == (
        "deep",
        "deep-plugin",
        "cbt_deep.sub.plugin",
    )
    assert locate_manifest(candidate, [str(tmp_path)]) == tmp_path / "cbt_deep/sub/manifest.json"
    assert "cbt_deep" not in sys.modules  # located without importing anything


def test_bare_package_entry_point_uses_the_package_directory(tmp_path: Path) -> None:
    install(
        tmp_path,
        "bare-plugin",
        {"bare": "cbt_bare"},
        {"cbt_bare/__init__.py": MODULE, "cbt_bare/manifest.json": json.dumps(manifest("bare"))},
    )
    host = Host(paths=[tmp_path], environ={}).load()
    (record,) = host.records
    assert record.status is PluginStatus.LOADED
    assert host.resolve(PluginKind.AGENT, "bare").name == "echo"


def test_manifest_found_through_record_when_the_package_is_elsewhere(tmp_path: Path) -> None:
    site = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    install(
        site,
        "split-plugin",
        {"split": "cbt_split.plugin"},
        {
            "cbt_split/__init__.py": "",
            "cbt_split/plugin.py": MODULE,
            "cbt_split/manifest.json": json.dumps(manifest("split")),
        },
        package_root=elsewhere,
    )
    (candidate,) = discover([str(site)])
    assert locate_manifest(candidate, [str(site)]) == elsewhere / "cbt_split" / "manifest.json"


def test_missing_manifest_is_refused_naming_where_it_looked(tmp_path: Path) -> None:
    install(
        tmp_path,
        "nomanifest-plugin",
        {"nomanifest": "cbt_nomanifest.plugin"},
        {"cbt_nomanifest/__init__.py": "", "cbt_nomanifest/plugin.py": MODULE},
    )
    (candidate,) = discover([str(tmp_path)])
    with pytest.raises(ManifestError, match=r"no manifest\.json found for package cbt_nomanifest"):
        locate_manifest(candidate, [str(tmp_path)])
    (record,) = Host(paths=[tmp_path], environ={}).load().records
    assert record.status is PluginStatus.REFUSED
    assert str(tmp_path / "cbt_nomanifest" / "manifest.json") in (record.reason or "")
    assert "cbt_nomanifest.plugin" not in sys.modules


def test_entry_point_name_must_equal_manifest_name(tmp_path: Path) -> None:
    install(
        tmp_path,
        "misnamed-plugin",
        {"misnamed": "cbt_misnamed.plugin"},
        {
            "cbt_misnamed/__init__.py": "",
            "cbt_misnamed/plugin.py": MODULE,
            "cbt_misnamed/manifest.json": json.dumps(manifest("other-name")),
        },
    )
    (record,) = Host(paths=[tmp_path], environ={}).load().records
    assert record.status is PluginStatus.REFUSED
    assert record.message == (
        "plugin misnamed (distribution misnamed-plugin): the entry point is named 'misnamed' "
        "but manifest.json names the plugin 'other-name'; the two must be equal"
    )


def test_invalid_json_manifest_is_refused(tmp_path: Path) -> None:
    install(
        tmp_path,
        "badjson-plugin",
        {"badjson": "cbt_badjson.plugin"},
        {
            "cbt_badjson/__init__.py": "",
            "cbt_badjson/plugin.py": MODULE,
            "cbt_badjson/manifest.json": '{"name": "badjson",',
        },
    )
    (record,) = Host(paths=[tmp_path], environ={}).load().records
    assert record.status is PluginStatus.REFUSED
    assert "manifest.json is not valid JSON" in (record.reason or "")


def test_a_distribution_installed_twice_counts_once(tmp_path: Path) -> None:
    files = {"cbt_once/__init__.py": MODULE, "cbt_once/manifest.json": json.dumps(manifest("once"))}
    install(tmp_path / "first", "once-plugin", {"once": "cbt_once"}, files)
    install(tmp_path / "second", "once-plugin", {"once": "cbt_once"}, files)
    found = discover([str(tmp_path / "first"), str(tmp_path / "second")])
    assert [(c.name, c.distribution) for c in found] == [("once", "once-plugin")]


def test_resolve_explains_each_kind_of_miss(tmp_path: Path) -> None:
    install(
        tmp_path,
        "echo-plugin",
        {"echo": "cbt_echo"},
        {"cbt_echo/__init__.py": MODULE, "cbt_echo/manifest.json": json.dumps(manifest("echo"))},
    )
    install(
        tmp_path,
        "gone-plugin",
        {"gone": "cbt_gone"},
        {
            "cbt_gone/__init__.py": "raise ImportError('gone')",
            "cbt_gone/manifest.json": json.dumps(manifest("gone")),
        },
    )
    host = Host(paths=[tmp_path], environ={}).load()
    with pytest.raises(LookupError) as caught:
        host.resolve(PluginKind.EXCHANGE, "echo")
    assert str(caught.value) == (
        "plugin 'echo' offers no exchange (it offers: agent); available exchange addresses: none"
    )
    with pytest.raises(LookupError, match=r"plugin 'gone' is not loaded \(refused: importing"):
        host.resolve(PluginKind.AGENT, "gone")
    with pytest.raises(LookupError, match="no installed plugin is named 'nope'; available agent"):
        host.resolve(PluginKind.AGENT, "nope")
    with pytest.raises(LookupError, match="name one of echo:echo"):
        host.resolve(PluginKind.AGENT, "echo:missing")
