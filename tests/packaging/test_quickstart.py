"""The README's two quick-start commands exist and are the ones CI runs.

A newcomer copies these two lines on a fresh machine; a README that names a
script or a command that is not there is the first thing they meet, so the
commands are checked here, and CI is held to running the same test command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from crypto_bot_core.cli.app import app

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP = "./scripts/setup"


def quickstart_commands() -> list[str]:
    """The lines of the README's fenced blocks that set up and then run something."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:sh|bash|console)?\n(.*?)^```", readme, flags=re.M | re.S)
    lines = (line.strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line.startswith(f"{SETUP} && ")]


def test_readme_gives_one_main_command_and_one_test_command() -> None:
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    main, tests = commands
    assert main.startswith(f"{SETUP} && .venv/bin/cryptobot ")
    assert tests == f"{SETUP} && ./scripts/check"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = quickstart_commands()
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    run_lines = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() == tests or line.strip().startswith(f"{tests} ||")
    ]
    assert run_lines != [], f".ci/run does not run `{tests}`"


def test_quickstart_scripts_exist_and_are_executable() -> None:
    scripts = {
        word
        for command in quickstart_commands()
        for word in shlex.split(command)
        if word.startswith("./")
    }
    assert scripts == {"./scripts/setup", "./scripts/check"}
    for script in scripts:
        path = REPO_ROOT / script
        assert path.is_file(), script
        assert os.access(path, os.X_OK), f"{script} is not executable (git update-index --chmod=+x)"


def test_readme_main_command_is_a_real_cli_command() -> None:
    main, _ = quickstart_commands()
    words = shlex.split(main.split("&&", 1)[1])
    assert words[0] == ".venv/bin/cryptobot"
    result = CliRunner().invoke(app, [*words[1:], "--help"])
    assert result.exit_code == 0, f"`{' '.join(words)}` is not a command:\n{result.output}"


def test_ci_installs_the_extras_a_newcomer_gets() -> None:
    setup = (REPO_ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    default = re.search(r'^CRYPTOBOT_EXTRAS="\$\{CRYPTOBOT_EXTRAS-([^}]*)\}"$', setup, re.M)
    in_ci = re.search(r'^export CRYPTOBOT_EXTRAS="([^"]*)"$', ci, re.M)
    assert default is not None, "scripts/setup lost its CRYPTOBOT_EXTRAS default"
    assert in_ci is not None, ".ci/run lost its CRYPTOBOT_EXTRAS line"
    assert default.group(1) == in_ci.group(1)


def _setup_default_extras() -> str:
    setup = (REPO_ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    default = re.search(r'^CRYPTOBOT_EXTRAS="\$\{CRYPTOBOT_EXTRAS-([^}]*)\}"$', setup, re.M)
    assert default is not None, "scripts/setup lost its CRYPTOBOT_EXTRAS default"
    return default.group(1)


def test_readme_and_setup_state_the_default_extras_setup_installs() -> None:
    """The README said the default was `postgres` long after setup installed five extras."""
    default = _setup_default_extras()
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = re.findall(r"`CRYPTOBOT_EXTRAS` \(default `([^`]*)`", readme)
    assert stated == [default]
    # `scripts/setup --help` prints the header comment: it must say the same.
    help_text = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "setup"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert f"(default: {default};" in " ".join(help_text.split())
    # An example that adds "more extras" must not drop any of the default ones.
    for example in re.findall(r"CRYPTOBOT_EXTRAS=(\S+) \./scripts/setup +# more", readme):
        assert set(default.split(",")) <= set(example.split(",")), example
