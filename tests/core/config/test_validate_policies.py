"""`config validate` checks what `run` would refuse: policies naming agents or policies that the
config does not define are reported with their key and line, not called valid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app

PARTS = """\
mode: backtest
data_sources:
  - plugin: synthetic-market
agents:
  - name: ema
    plugin: technical-agents:ema_crossover
exchanges:
  - plugin: paper-exchange
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(name)
    return CliRunner()


def _validate(runner: CliRunner, path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["config", "validate", str(path)])
    return result.exit_code, result.output


def test_a_policy_naming_an_unconfigured_agent_is_not_valid(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        PARTS
        + "policies:\n"
        + "  definitions:\n"
        + "    trend:\n"
        + "      agents:\n"
        + "        - {agent: ema}\n"
        + "        - {agent: sentiment, weight: 0.5}\n"
        + "  default: trend\n"
    )
    code, output = _validate(runner, path)
    assert code == 1, output
    assert "valid (" not in output
    assert "policies.definitions.trend.agents[1].agent" in output
    assert "bot.yaml:14:" in output
    assert "agent 'sentiment', which is not configured; configured agents: ['ema']" in output


def test_a_default_or_symbol_policy_that_is_not_defined_is_not_valid(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        PARTS
        + "policies:\n"
        + "  definitions: {trend: {agents: [{agent: ema}]}}\n"
        + "  default: blend\n"
        + "  symbol_policies: {BTC/USDT: reversion}\n"
    )
    code, output = _validate(runner, path)
    assert code == 1, output
    assert "policies.default" in output
    assert "policy 'blend', which is not defined; defined: ['trend']" in output
    assert "policies.symbol_policies.BTC/USDT" in output
    assert "policy 'reversion', which is not defined" in output


def test_a_policy_file_naming_an_unconfigured_agent_is_not_valid(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "policies.yaml").write_text(
        "policies: {trend: {agents: [{agent: lstm}]}}\ndefault: trend\n"
    )
    path = tmp_path / "bot.yaml"
    path.write_text(PARTS + "policies:\n  policies_file: policies.yaml\n")
    code, output = _validate(runner, path)
    assert code == 1, output
    assert "policies.policies_file" in output
    assert "policies.yaml: policy 'trend' uses agent 'lstm', which is not configured" in output


def test_the_same_config_is_valid_once_its_policies_are_sound(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(PARTS + "policies:\n  definitions: {trend: {agents: [{agent: ema}]}}\n")
    code, output = _validate(runner, path)
    assert code == 0, output
    assert f"{path}: valid (" in output
