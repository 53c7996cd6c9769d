"""``cryptobot config``: validate (key and line on error), schema and default."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app

RunCli = Callable[..., subprocess.CompletedProcess[str]]

runner = CliRunner()

# Built-in data source and exchange, plus the test wheel's agent (from PYTHONPATH).
RUN_FILE = """\
mode: backtest
data_sources:
  - plugin: synthetic-market
agents:
  - name: steady
    plugin: cbt-good
    config:
      threshold: {threshold}
exchanges:
  - plugin: paper-exchange
"""


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"CRYPTOBOT_PLUGINS": None})
    return result.exit_code, result.stdout, result.stderr


def test_schema_is_a_json_schema_that_validates_the_default(tmp_path: Path) -> None:
    code, out, _ = _invoke("config", "schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    code, default_text, _ = _invoke("config", "default")
    assert code == 0
    jsonschema.validate(yaml.safe_load(default_text), schema)


def test_validate_schema_only_accepts_the_default(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(_invoke("config", "default")[1])
    code, out, _ = _invoke("config", "validate", str(path), "--schema-only")
    assert code == 0
    assert out.strip() == (
        f"{path}: valid (mode paper; 1 data sources, 3 agents, 3 exchanges, 5 risk rules, "
        "1 reporters, 1 selector, 0 oversight, 0 notifiers; shape checked)"
    )


def test_validate_exits_1_with_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("mode: backtest\nrun:\n  seed: 1\n  sed: 2\n")
    code, out, err = _invoke("config", "validate", str(path), "--schema-only")
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"error: {path}:4:3: run.sed: unknown key (allowed here: duration, end, run_dir, seed, "
        "start); did you mean 'seed'?"
    )


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    code, _, err = _invoke("config", "validate", str(tmp_path / "none.yaml"))
    assert code == 1
    assert "cannot read: No such file or directory" in err


@pytest.mark.slow
def test_validate_checks_plugin_settings_against_installed_wheels(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(RUN_FILE.format(threshold="0.7"))
    result = run_cli("config", "validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "valid (mode backtest; 1 data sources, 1 agents, 1 exchanges" in result.stdout

    path.write_text(RUN_FILE.format(threshold="high"))
    result = run_cli("config", "validate", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {path}:8:7: agents[0].config.threshold: ")
    assert "invalid settings for agent 'constant'" in result.stderr

    result = run_cli(
        "config", "validate", str(path), CRYPTOBOT__AGENTS__STEADY__CONFIG__THRESHOLD="0.2"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_validate_names_a_refused_plugin_and_why(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(RUN_FILE.format(threshold="0.7").replace("cbt-good", "cbt-old-core"))
    result = run_cli("config", "validate", str(path))
    assert result.returncode == 1
    assert f"{path}:6:5: agents[0].plugin: plugin 'cbt-old-core' is not loaded (refused: " in (
        result.stderr
    )
    assert "excludes crypto-bot-core 0.1.0" in result.stderr
