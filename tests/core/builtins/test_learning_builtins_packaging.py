"""The built-in selector and oversight plugins register like third-party ones (API 1.1 kinds),
import only what a plugin may, and their docs name every setting."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from builtin_plugins import builtin_components, core_imports_outside

from crypto_bot_core import __version__ as core_version
from crypto_bot_core.host import Host
from crypto_bot_sdk import (
    ENTRY_POINT_GROUP,
    Manifest,
    PluginConfig,
    PluginKind,
    compatibility_problems,
)

REPO = Path(__file__).resolve().parents[3]
PLUGINS = {
    "fixed-selector": ("fixed_selector", {PluginKind.SELECTOR}),
    "standard-oversight": ("standard_oversight", {PluginKind.OVERSIGHT}),
}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_entry_point_and_manifest_fit_this_core_and_the_1_1_kinds(name: str) -> None:
    module, kinds = PLUGINS[name]
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found.get(name) == f"crypto_bot_core.builtins.{module}.plugin"
    manifest = Manifest.from_path(
        REPO / "crypto_bot_core" / "builtins" / module / "manifest.json"
    )
    assert manifest.name == name
    assert (manifest.api_version, manifest.license) == ("1.1.0", "Apache-2.0")
    assert compatibility_problems(manifest, core_version=core_version) == []
    assert set(manifest.kinds) == kinds == {c.kind for c in builtin_components(module)}


def test_the_host_loads_both_and_resolves_their_addresses() -> None:
    host = Host(environ={}).load()
    assert host.resolve(PluginKind.SELECTOR, "fixed-selector").cls.name == "fixed"
    monitor = host.resolve(PluginKind.OVERSIGHT, "standard-oversight:risk_monitor")
    arbitrage = host.resolve(PluginKind.OVERSIGHT, "standard-oversight:arbitrage")
    assert (monitor.cls.name, arbitrage.cls.name) == ("risk_monitor", "arbitrage")


def _settings(model: type[PluginConfig]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_docs_describe_every_setting(name: str) -> None:
    module, _ = PLUGINS[name]
    doc = (REPO / "docs" / "builtins" / f"{module}.md").read_text()
    for component in builtin_components(module):
        assert f"`{component.name}`" in doc or f":{component.name}`" in doc
        missing = sorted(s for s in _settings(component.config_model) if f"`{s}`" not in doc)
        assert not missing, f"docs/builtins/{module}.md does not describe {missing}"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_imports_only_the_sdk_support_risk_and_itself(name: str) -> None:
    module, _ = PLUGINS[name]
    strays = core_imports_outside(module, ("crypto_bot_core.support", "crypto_bot_core.risk"))
    assert not strays, f"{name} imports core modules outside itself: {strays}"
