"""Fixtures of the CLI tests: the scenario plugin distributions and a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_dists import scenario_target

CRYPTOBOT = Path(sys.executable).with_name("cryptobot")

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario_target(tmp_path_factory)


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without any crypto-bot switches, plus ``extra``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    environ.update(extra)
    return environ


@pytest.fixture
def run_cli(scenarios: Path) -> RunCli:
    """Run ``cryptobot ARGS`` in a subprocess that sees the scenario plugins on PYTHONPATH."""

    def run(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CRYPTOBOT), *args],
            capture_output=True,
            text=True,
            check=False,
            env=clean_environ(PYTHONPATH=str(scenarios), **environ),
            timeout=60,
        )

    return run
