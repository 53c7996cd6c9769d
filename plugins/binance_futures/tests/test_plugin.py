"""The package as the host sees it: entry point, manifest, lazy imports, `plugins list`."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

import cryptobot_binance_futures
from crypto_bot_sdk import CAPABILITY_METHODS, ExchangeAdapter, Manifest, PluginKind
from cryptobot_binance_futures import plugin
from cryptobot_binance_futures.exchange import BinanceFuturesExchange

PROJECT = Path(__file__).resolve().parents[1]
MANIFEST = Path(cryptobot_binance_futures.__file__).with_name("manifest.json")


def test_entry_point_names_the_plugin_module() -> None:
    group = entry_points(group="crypto_bot.plugins")
    (found,) = [ep for ep in group if ep.name == "binance-futures"]
    assert found.value == "cryptobot_binance_futures.plugin"
    assert found.dist is not None
    assert found.dist.name == "crypto-bot-binance-futures"


def test_manifest_matches_the_distribution_and_the_component() -> None:
    manifest = Manifest.from_path(MANIFEST)
    assert manifest.name == "binance-futures"
    assert manifest.version == distribution("crypto-bot-binance-futures").version
    assert manifest.version == cryptobot_binance_futures.__version__
    assert list(manifest.kinds) == [PluginKind.EXCHANGE]
    promised = [c for c in manifest.capabilities if c in CAPABILITY_METHODS]
    for capability in promised:
        method = CAPABILITY_METHODS[capability][1]
        assert getattr(BinanceFuturesExchange, method) is not getattr(ExchangeAdapter, method)
    assert "simulated" not in manifest.capabilities, "a real venue: the engine polls or streams"


def test_hook_returns_the_adapter() -> None:
    assert list(plugin.cryptobot_components()) == [BinanceFuturesExchange]
    assert BinanceFuturesExchange.name == "binance_futures"


def test_depends_on_the_sdk_and_never_on_the_core() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]
    names = [d.split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]]
    assert "crypto-bot-sdk" in names
    assert "ccxt" in names
    extras = [line for lines in project["optional-dependencies"].values() for line in lines]
    every = " ".join(project["dependencies"] + extras)
    assert "crypto-bot-core" not in every
    for source in (PROJECT / "cryptobot_binance_futures").rglob("*.py"):
        assert "crypto_bot_core" not in source.read_text("utf-8"), source


def test_loading_the_plugin_does_not_import_ccxt() -> None:
    code = (
        "import sys, cryptobot_binance_futures.plugin as p; p.cryptobot_components(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ccxt', 'aiohttp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cryptobot_plugins_list_shows_it_loaded() -> None:
    pytest.importorskip("crypto_bot_core", reason="the CLI belongs to the core")
    cli = Path(sys.executable).with_name("cryptobot")
    out = subprocess.run(
        [str(cli), "plugins", "list", "--json"], capture_output=True, text=True, check=True,
        env={"PATH": str(cli.parent), "CRYPTOBOT_PLUGINS": "binance-futures"},
    )  # fmt: skip
    (entry,) = [p for p in json.loads(out.stdout) if p["name"] == "binance-futures"]
    assert entry["status"] == "loaded", entry
    assert entry["version"] == "0.1.0"
