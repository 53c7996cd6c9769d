"""The plugin guide's tutorial, run as a newcomer would: every marked command, verbatim and
in order, in a fresh virtual environment, ending with a plugin that ``cryptobot plugins
list`` shows and that a paper session uses.

The tutorial's first step builds the SDK's and the core's wheels from a clone of the
repository (``../crypto-bot`` beside the working folder: here a link to this tree) and
installs them; it runs verbatim too, except its two lines that create and activate a
virtual environment. The test's own new environment stands in for those: it sees the
dependencies already installed in the repository's ``.venv`` through a ``.pth`` file,
so nothing is downloaded and the shared ``.venv`` is left untouched, and the wheels
installed into it shadow the repository's editable copies. pip runs offline
(``PIP_NO_INDEX``) and without build isolation (``PIP_NO_BUILD_ISOLATION=0``, which
disables it), the way an offline machine with a pip configuration would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import site
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from crypto_bot_sdk import API_VERSION, parse_api_version

from .tutorial_steps import ROOT, VENV_LINES, Step, tutorial_steps

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Ran:
    command: str
    output: str


DELIMITER = "@@tutorial-command@@"


def instrumented(commands: list[str]) -> str:
    """The block's script with a line before each command, to split the output by command.

    The commands themselves run verbatim, in order, in one shell, so a ``cd`` carries
    over to the next command as it does in the reader's terminal.
    """
    lines = []
    for command in commands:
        lines += [f"echo {DELIMITER}", command]
    return "\n".join(lines) + "\n"


def make_environment(base: Path) -> dict[str, str]:
    """A new virtual environment that sees the dev dependencies (see the module doc)."""
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    purelib = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    purelib = purelib / "site-packages"
    shared = site.getsitepackages()[0]
    (purelib / "_cryptobot_dev_dependencies.pth").write_text(
        f"import site; site.addsitedir({shared!r})\n"
    )
    pip = venv / "bin" / "pip"  # pip itself comes from the shared site-packages, too
    pip.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\n"
        "from pip._internal.cli.main import main\nsys.exit(main())\n"
    )
    pip.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CRYPTOBOT", "PIP_", "PYTHON", "VIRTUAL_ENV"))
    }
    shared_bin = Path(sys.executable).parent
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != shared_bin]
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), *path]),
        VIRTUAL_ENV=str(venv),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_CACHE_DIR=str(base / "pip-cache"),
    )
    return env


def commands_to_run(step: Step) -> list[str]:
    """The step's commands as the test runs them: an install step less its venv lines."""
    if step.kind != "install":
        return step.commands
    skipped = [c for c in step.commands if c.split("#")[0].strip() in VENV_LINES]
    assert [c.split("#")[0].strip() for c in skipped] == list(VENV_LINES), (
        f"tutorial.md:{step.line}: the install step must create and activate the virtual "
        f"environment with {VENV_LINES}, which the test stands in for"
    )
    return [c for c in step.commands if c not in skipped]


Tutorial = tuple[Path, dict[str, str], list[Ran]]
"""The working folder, the environment, and each command run with its output."""


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Tutorial:
    base = tmp_path_factory.mktemp("tutorial")
    env = make_environment(base)
    work = base / "work"
    work.mkdir()
    (base / "crypto-bot").symlink_to(ROOT)  # the reader's clone, beside the working folder
    done: list[Ran] = []
    for step in tutorial_steps():
        if step.kind == "file":
            assert step.argument, f"tutorial.md:{step.line}: a file step needs a name"
            (work / step.argument).write_text(step.text, encoding="utf-8")
        elif step.kind in {"install", "run"}:
            commands = commands_to_run(step)
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", instrumented(commands)],
                cwd=work,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
                timeout=600,
            )
            outputs = result.stdout.split(f"{DELIMITER}\n")[1:]
            assert result.returncode == 0, (
                f"tutorial.md:{step.line}: `{commands[len(outputs) - 1]}` failed "
                f"(exit {result.returncode}):\n{outputs[-1][-5000:]}"
            )
            done += [Ran(c, o) for c, o in zip(commands, outputs, strict=True)]
    return work, env, done


def output_of(done: list[Ran], command: str) -> str:
    found = [ran.output for ran in done if ran.command.startswith(command)]
    assert found, f"the tutorial has no command starting with {command!r}"
    return found[0]


def test_the_tutorial_runs_the_whole_path() -> None:
    steps = tutorial_steps()
    assert steps[0].kind == "install"
    assert commands_to_run(steps[0]) == [
        "CRYPTOBOT_SRC=../crypto-bot        # your clone of the crypto-bot repository",
        'pip wheel --no-deps "$CRYPTOBOT_SRC/crypto_bot_sdk" "$CRYPTOBOT_SRC" -w wheels/',
        "pip install wheels/crypto_bot_sdk-*.whl wheels/crypto_bot_core-*.whl",
    ]
    commands = [c for s in steps if s.kind in {"install", "run"} for c in s.commands]
    # Nothing is published yet: no step may install crypto-bot from an index.
    assert not [c for c in commands if re.search(r"pip install .*crypto-bot-(core|sdk)", c)]
    for expected in (
        "cryptobot plugin new --kind agent my-agent",
        "pip install -e ./my-agent",
        "python -m pytest my-agent",
        "cryptobot plugins list",
        "cryptobot run --config my.yaml --run-id first-run",
        "pip wheel --no-deps . -w dist/",
    ):
        assert expected in commands
    assert [s.argument for s in tutorial_steps() if s.kind == "file"] == ["my.yaml"]


def test_the_sdk_and_core_come_from_the_wheels_built_from_the_clone(
    tutorial: Tutorial,
) -> None:
    work, env, done = tutorial
    built = sorted(p.name for p in (work / "wheels").iterdir())
    assert built == [
        "crypto_bot_core-0.1.0-py3-none-any.whl",
        "crypto_bot_sdk-0.1.0-py3-none-any.whl",
    ]
    assert "Successfully installed crypto-bot-core-0.1.0 crypto-bot-sdk-0.1.0" in output_of(
        done, "pip install wheels/"
    )
    where = subprocess.run(
        [
            "python",
            "-c",
            "import crypto_bot_core as c, crypto_bot_sdk as s; print(c.__file__, s.__file__)",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    venv = Path(env["VIRTUAL_ENV"])
    assert [Path(w).is_relative_to(venv) for w in where] == [True, True], where


def test_the_plugins_tests_pass_as_generated(tutorial: Tutorial) -> None:
    output = output_of(tutorial[2], "python -m pytest")
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None, output
    assert int(passed[1]) >= 15
    assert re.search(r"\d+ (failed|errors?)\b", output) is None, output


def test_plugins_list_shows_the_plugin_loaded(tutorial: Tutorial) -> None:
    output = output_of(tutorial[2], "cryptobot plugins list")
    rows = [line.split() for line in output.splitlines() if line.startswith("my-agent ")]
    major, minor = parse_api_version(API_VERSION)[:2]
    api_range = f">={major}.{minor},<{major + 1}"  # the listing shows the SDK API a plugin needs
    expected = ["my-agent", "0.1.0", "agent", api_range, "loaded", "cryptobot-my-agent", "0.1.0"]
    assert rows == [expected]
    inspected = output_of(tutorial[2], "cryptobot plugins inspect my-agent")
    assert "lookback" in inspected


def test_the_paper_session_used_the_plugin(tutorial: Tutorial) -> None:
    work, env, done = tutorial
    summary = json.loads((work / "runs" / "first-run" / "summary.json").read_text())
    assert summary["mode"] == "paper"
    assert summary["fills"] > 0
    shown = output_of(done, "cryptobot ledger show")
    record = json.loads(shown.splitlines()[0])
    signal = record["payload"]["signals"]["my-agent"]
    assert signal["agent"] == "my-agent"
    assert "over 24 bars" in signal["rationale"]
    assert "OK" in output_of(done, "cryptobot ledger verify")
    every = subprocess.run(
        [
            "cryptobot",
            "ledger",
            "show",
            "--url",
            "sqlite:///runs/first-run/ledger.sqlite",
            "--type",
            "order.intent",
            "--limit",
            "1000000",
            "--json",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    intents = [json.loads(line) for line in every.stdout.splitlines()]
    assert intents
    assert all(set(i["payload"]["signals"]) == {"my-agent"} for i in intents)


def test_the_wheel_carries_the_manifest_and_its_digest(
    tutorial: Tutorial,
) -> None:
    dist = tutorial[0] / "my-agent" / "dist"
    wheel = dist / "cryptobot_my_agent-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("cryptobot_my_agent/manifest.json"))
    assert {"cryptobot_my_agent/py.typed", "cryptobot_my_agent/agent.py"} <= names
    assert manifest["name"] == "my-agent"
    assert (dist / "SHA256SUMS").read_text() == (
        f"{hashlib.sha256(wheel.read_bytes()).hexdigest()}  {wheel.name}\n"
    )


def test_the_shared_environment_was_not_touched(
    tutorial: Tutorial,
) -> None:
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("cryptobot-my-agent")
