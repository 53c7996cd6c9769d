"""The risk-engine plugin registers like any other built-in and its docs name every setting."""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

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
NAMES = {"portfolio_var", "stress_limit", "liquidity_guard", "dynamic_margin", "arbitrage_guard"}


def test_entry_point_and_manifest_fit_this_core() -> None:
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert found["risk-engine"] == "crypto_bot_core.builtins.risk_engine.plugin"
    spec = importlib.util.find_spec("crypto_bot_core")
    assert spec is not None
    assert spec.origin is not None
    manifest = Manifest.from_path(
        Path(spec.origin).parent / "builtins" / "risk_engine" / "manifest.json"
    )
    assert manifest.name == "risk-engine"
    assert compatibility_problems(manifest, core_version=core_version) == []
    assert {c.kind for c in builtin_components("risk_engine")} == {PluginKind.RISKRULE}
    assert {c.name for c in builtin_components("risk_engine")} == NAMES


def test_the_host_loads_it_and_resolves_every_rule() -> None:
    host = Host(environ={"CRYPTOBOT_PLUGINS": "risk-engine"}).load()
    for name in NAMES:
        assert host.resolve(PluginKind.RISKRULE, f"risk-engine:{name}").name == name


def test_docs_describe_every_rule_and_setting() -> None:
    doc = (REPO / "docs" / "builtins" / "risk_engine.md").read_text(encoding="utf-8")
    for component in builtin_components("risk_engine"):
        assert f"`risk-engine:{component.name}`" in doc
        model: type[PluginConfig] = component.config_model
        missing = sorted(f for f in model.model_fields if f"`{f}`" not in doc)
        assert not missing, f"docs/builtins/risk_engine.md does not describe {missing}"


def test_plugin_reaches_only_the_sdk_itself_and_the_risk_analytics() -> None:
    """DESIGN rule 1 as far as it can go: no engine, host, config or other plugin."""
    strays = core_imports_outside("risk_engine", ("crypto_bot_core.risk",))
    assert not strays, strays
