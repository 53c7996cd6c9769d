"""The five built-in plugins register like third-party ones, and their docs name every setting."""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from builtin_plugins import builtin_components, core_imports_outside

from crypto_bot_core import __version__ as core_version
from crypto_bot_sdk import (
    ENTRY_POINT_GROUP,
    Manifest,
    PluginConfig,
    compatibility_problems,
)

REPO = Path(__file__).resolve().parents[3]
PLUGINS = {
    "synthetic-market": "synthetic_market",
    "replay": "replay",
    "technical-agents": "technical_agents",
    "standard-risk": "standard_risk",
    "standard-reporters": "standard_reporters",
}
API_VERSIONS = {"technical-agents": "1.1.0"}  # declares ``precompute``, an API 1.1 capability


def _settings(model: type[PluginConfig]) -> set[str]:
    """Every field name of ``model`` and of the config models nested in it."""
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        nested = field.annotation
        for candidate in getattr(nested, "__args__", (nested,)):
            if isinstance(candidate, type) and issubclass(candidate, PluginConfig):
                names |= _settings(candidate)
    return names


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_entry_point_names_the_plugin_module(name: str) -> None:
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found.get(name) == f"crypto_bot_core.builtins.{PLUGINS[name]}.plugin"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_manifest_sits_where_the_host_looks_and_fits_this_core(name: str) -> None:
    spec = importlib.util.find_spec("crypto_bot_core")
    assert spec is not None
    assert spec.origin is not None
    path = Path(spec.origin).parent / "builtins" / PLUGINS[name] / "manifest.json"
    manifest = Manifest.from_path(path)
    assert manifest.name == name
    assert (manifest.api_version, manifest.license) == (
        API_VERSIONS.get(name, "1.0.0"),
        "Apache-2.0",
    )
    assert manifest.compatible_core_version == ">=0.1,<0.2"
    assert compatibility_problems(manifest, core_version=core_version) == []
    kinds = {component.kind for component in builtin_components(PLUGINS[name])}
    assert set(manifest.kinds) == kinds


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_docs_describe_every_setting(name: str) -> None:
    doc = (REPO / "docs" / "builtins" / f"{PLUGINS[name]}.md").read_text()
    for component in builtin_components(PLUGINS[name]):
        assert f"`{component.name}`" in doc or f":{component.name}`" in doc
        missing = sorted(s for s in _settings(component.config_model) if f"`{s}`" not in doc)
        assert not missing, f"docs/builtins/{PLUGINS[name]}.md does not describe {missing}"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_imports_only_the_sdk_and_itself(name: str) -> None:
    """DESIGN rule 1 holds for built-ins too: no reaching into the core or another plugin.

    The layers (DESIGN.md) let a built-in use two core packages below the engine: the
    helpers of ``support`` (trusted model construction) and the ``risk`` analytics.
    """
    strays = core_imports_outside(
        PLUGINS[name], ("crypto_bot_core.support", "crypto_bot_core.risk")
    )
    assert not strays, f"{name} imports core modules outside itself: {strays}"
