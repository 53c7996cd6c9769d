"""Loading the config file: shape, defaults, and errors that name the key and the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto_bot_core.config import (
    ConfigFileError,
    Mode,
    format_key,
    load_config,
    parse_config,
    parse_key,
)

FULL = """\
mode: paper
run:
  start: 2024-01-01
  duration: P7D
  run_dir: /var/lib/cryptobot/runs
  seed: 7
ledger:
  url: postgresql://postgres@127.0.0.1:5432/test
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT]}
agents:
  - plugin: technical-agents:ema_crossover
    config:
      fast: 10
      slow: 20
exchanges:
  - plugin: paper-exchange
risk_rules: []
reporters:
  - name: daily
    plugin: standard-reporters:daily_trades
policies:
  policies_file: policies.yaml
  symbol_policies: {BTC/USDT: trend}
"""


def _error(text: str) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text, source="deploy.yaml", environ={})
    return caught.value


def test_full_file_is_read_into_typed_settings() -> None:
    config = parse_config(FULL, source="deploy.yaml", environ={}).config
    assert config.mode is Mode.PAPER
    assert config.run.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert config.run.duration == timedelta(days=7)
    assert config.run.run_dir == Path("/var/lib/cryptobot/runs")
    assert config.run.seed == 7
    assert config.ledger.url == "postgresql://postgres@127.0.0.1:5432/test"
    assert config.data_sources[0].config == {"symbols": ["BTC/USDT"]}
    agent = config.agents[0]
    assert (agent.name, agent.plugin, agent.config) == (
        "ema_crossover",
        "technical-agents:ema_crossover",
        {"fast": 10, "slow": 20},
    )
    assert config.exchanges[0].name == "paper-exchange"
    assert config.reporters[0].name == "daily"
    assert config.policies.policies_file == Path("policies.yaml")
    assert config.policies.symbol_policies == {"BTC/USDT": "trend"}


def test_empty_file_gives_the_defaults() -> None:
    config = parse_config("", environ={}).config
    assert config.mode is Mode.BACKTEST
    assert config.run.seed == 0
    assert config.ledger.url is None
    assert config.agents == ()


def test_unknown_key_names_path_line_and_the_likely_key() -> None:
    text = FULL.replace("      slow: 20\n", "      slow: 20\n    confg: {}\n")
    error = _error(text)
    (problem,) = error.problems
    assert problem.key == "agents[0].confg"
    assert (problem.line, problem.column) == (18, 5)
    assert str(error) == (
        "deploy.yaml:18:5: agents[0].confg: unknown key (allowed here: config, name, plugin); "
        "did you mean 'config'?"
    )
    assert error.key == "agents[0].confg"


def test_several_problems_are_listed_in_file_order() -> None:
    text = "mode: sideways\nrun:\n  seed: -3\nexchanges:\n  - name: x\n"
    error = _error(text)
    assert [(p.key, p.line) for p in error.problems] == [
        ("mode", 1),
        ("run.seed", 3),
        ("exchanges[0].plugin", 5),
    ]
    assert str(error).splitlines()[0] == "deploy.yaml has 3 problems:"
    assert "exchanges[0].plugin: required key is missing" in str(error)
    assert "mode: Input should be 'backtest', 'paper' or 'live' (got 'sideways')" in str(error)


def test_bad_address_explains_the_format() -> None:
    error = _error("agents:\n  - plugin: Technical Agents\n")
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("agents[0].plugin", 2)
    assert "'Technical Agents' is not a component address; write <plugin> or" in problem.message


def test_duplicate_yaml_keys_are_errors_not_silently_merged() -> None:
    error = _error("run:\n  seed: 1\n  seed: 2\n")
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("run.seed", 3)
    assert problem.message == "duplicate key (first written on line 2); keep one"


def test_duplicate_instance_names_point_at_the_second_one() -> None:
    error = _error("agents:\n  - plugin: a\n  - name: a\n    plugin: b:a\n")
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("agents[1].name", 3)
    assert problem.message == "agents[0] is already named 'a'; give each instance its own name"


def test_yaml_syntax_error_has_line_and_column() -> None:
    error = _error("run:\n  seed: [1\nmode: live\n")
    (problem,) = error.problems
    assert problem.key == "<yaml>"
    assert problem.line == 3
    assert problem.message.startswith("not valid YAML:")


def test_root_must_be_a_mapping() -> None:
    error = _error("- mode: live\n")
    assert str(error) == (
        "deploy.yaml:1: <root>: the file must hold a mapping of settings, not a list"
    )


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ("start: 2024-02-01\n  end: 2024-01-01", "end 2024-01-01T00:00:00+00:00 must be after"),
        ("end: 2024-02-01\n  duration: 3600", "set either end or duration, not both"),
        ("duration: -60", "must be positive"),
        ("start: 2024-01-01T00:00:00", "has no time zone"),
    ],
)
def test_run_window_is_checked(run: str, message: str) -> None:
    error = _error(f"run:\n  {run}\n")
    (problem,) = error.problems
    assert problem.key.startswith("run")
    assert message in problem.message


def test_ledger_url_scheme_is_checked() -> None:
    error = _error("ledger:\n  url: mysql://db/ledger\n")
    (problem,) = error.problems
    assert (problem.key, problem.line) == ("ledger.url", 2)
    assert "use sqlite:///PATH or postgresql://" in problem.message


def test_load_config_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("mode: live\nrun: {seed: x}\n")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(f"{path}:2:")
    path.write_text("mode: live\n")
    assert load_config(path, environ={}).config.mode is Mode.LIVE


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read: No such file or directory"):
        load_config(tmp_path / "absent.yaml", environ={})


def test_keys_format_and_parse_round_trip() -> None:
    loc = ("exchanges", 0, "config", "fees", 2, "rate")
    assert format_key(loc) == "exchanges[0].config.fees[2].rate"
    assert parse_key(format_key(loc)) == loc


def test_empty_instance_config_means_no_settings() -> None:
    config = parse_config("agents:\n  - plugin: a\n    config:\n", environ={}).config
    assert config.agents[0].config == {}
