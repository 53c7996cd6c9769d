"""The embedded default config and the published JSON Schema of the config file."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from crypto_bot_core.config import (
    Mode,
    config_json_schema,
    default_config,
    default_config_text,
    resolve_instances,
)
from crypto_bot_core.host import Host


def test_default_config_is_a_seeded_paper_session_on_builtin_plugins() -> None:
    config = default_config(environ={}).config
    assert config.mode is Mode.PAPER
    assert config.run.seed == 42
    assert [s.plugin for s in config.data_sources] == ["synthetic-market"]
    assert len(config.data_sources[0].config["symbols"]) >= 5
    assert [s.plugin for s in config.exchanges] == ["paper-exchange"] * 3
    assert [s.name for s in config.exchanges] == ["alpha", "beta", "gamma"]
    assert [s.plugin for s in config.agents] == [
        "technical-agents:ema_crossover",
        "technical-agents:rsi_mean_reversion",
        "technical-agents:momentum_breakout",
    ]
    # a policy per symbol
    assert set(config.policies.symbol_policies) == set(config.data_sources[0].config["symbols"])
    assert {s.plugin.partition(":")[0] for s in config.risk_rules} == {"standard-risk"}
    assert [s.plugin for s in config.reporters] == ["standard-reporters:daily_trades"]


def test_default_config_takes_environment_overrides() -> None:
    config = default_config(environ={"CRYPTOBOT__RUN__SEED": "7"}).config
    assert config.run.seed == 7


def test_default_config_resolves_against_the_installed_builtin_plugins() -> None:
    host = Host(environ={}).load()
    resolved = resolve_instances(default_config(environ={}), host)
    assert [i.component.plugin for i in resolved.section("exchanges")] == ["paper-exchange"] * 3
    assert len(resolved.section("risk_rules")) == 5


def test_schema_accepts_the_default_config_and_rejects_unknown_keys() -> None:
    schema = config_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    data = yaml.safe_load(default_config_text())
    # JSON Schema has no date type: YAML timestamps would arrive as strings in JSON.
    assert list(validator.iter_errors(data)) == []
    bad = {**data, "run": {"seed": 1, "sede": 2}}
    (error,) = validator.iter_errors(bad)
    assert list(error.path) == ["run"]
    assert "'sede' was unexpected" in error.message


@pytest.mark.parametrize("address", ["paper-exchange", "technical-agents:ema_crossover"])
def test_schema_address_pattern_matches_the_loader(address: str) -> None:
    schema = config_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    good = {"agents": [{"plugin": address}]}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"agents": [{"plugin": address.upper()}]})) != []
