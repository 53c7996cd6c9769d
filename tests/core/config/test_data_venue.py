"""A paper venue told to match the events of a venue no data source has would never trade:
refused at validation and at the start of a run, naming the key and the venues there are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app

CONFIG = """\
mode: backtest
data_sources:
  - plugin: synthetic-market
    config: {{symbols: [BTC/USDT], venues: [alpha, beta], bars: 50}}
agents:
  - name: ema
    plugin: technical-agents:ema_crossover
exchanges:
  - name: alpha
    plugin: paper-exchange
    config: {{venue: alpha, data_venue: alpha}}
  - name: beta
    plugin: paper-exchange
    config: {{venue: beta, data_venue: {data_venue}}}
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(name)
    return CliRunner()


def test_an_unknown_data_venue_is_refused_by_validate_and_by_run(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(CONFIG.format(data_venue="betta"))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "bot.yaml:14:" in result.output
    assert "exchanges[1].config.data_venue" in result.output
    assert "data_venue 'betta' is no venue of the data (its venues: alpha, beta)" in (
        result.output
    )
    result = runner.invoke(app, ["run", "-c", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "exchanges[1].config.data_venue" in result.output
    assert not list(tmp_path.glob("runs/*/ledger.sqlite"))  # refused before anything ran


def test_a_known_data_venue_is_valid(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(CONFIG.format(data_venue="beta"))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
