"""The scaffold's promise: every kind of generated project passes its own tests as generated,
is ruff- and mypy-clean, installs as a wheel the host loads, and its plugin image holds
what the deployment's install step accepts.

All five projects are generated once (through the CLI), installed with one ``pip install
--target`` and tested in one pytest run, because starting pip and pytest dominates the cost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.scaffold import derive_names
from crypto_bot_sdk import PluginKind

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEMPLATE_IMAGE = ROOT / "host" / "plugin-image" / "Dockerfile"

KEY_CHECKS = {
    PluginKind.DATASOURCE: [
        "test_no_duplicate_events",
        "test_history_returns_one_symbol_in_window",
    ],
    PluginKind.AGENT: ["test_fresh_instances_agree", "test_market_view_not_mutated"],
    PluginKind.EXCHANGE: [
        "test_submit_is_idempotent_by_client_order_id",
        "test_market_order_fills_after_drive_market",
        "test_optional_method_works[fees]",
    ],
    PluginKind.RISKRULE: ["test_same_verdicts_in_any_order", "test_resize_shrinks_the_order"],
    PluginKind.REPORTER: ["test_records_outside_period_ignored", "test_same_records_same_bytes"],
}
"""Conformance checks that must have run and passed for each kind (not skipped)."""


@dataclass(frozen=True)
class Generated:
    projects: Path
    target: Path
    roots: dict[PluginKind, Path]


def environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRYPTOBOT", "PYTHONPATH"))}
    env.update(extra)
    return env


def run(*args: str | Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=environ(**extra), capture_output=True, text=True,
        check=False, timeout=300,
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    base = tmp_path_factory.mktemp("scaffold")
    projects, target = base / "projects", base / "target"
    projects.mkdir()
    runner = CliRunner()
    roots = {}
    for kind in PluginKind:
        name = f"demo-{kind.value}"
        result = runner.invoke(
            app, ["plugin", "new", "--kind", kind.value, name, "--dir", str(projects)]
        )
        assert result.exit_code == 0, result.output
        roots[kind] = projects / name
    installed = run(
        BIN / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--target", target, *roots.values(), cwd=base,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return Generated(projects, target, roots)


def test_generated_tests_pass_against_the_installed_wheels(generated: Generated) -> None:
    report = generated.projects.parent / "junit.xml"
    result = run(
        BIN / "python", "-m", "pytest", "-p", "no:cacheprovider", "--import-mode=importlib",
        "--rootdir", generated.projects,
        # The five pyprojects configure pytest alike (one template); use one of them.
        "-c", generated.roots[PluginKind.AGENT] / "pyproject.toml",
        f"--junitxml={report}",
        *(root / "tests" for root in generated.roots.values()),
        cwd=generated.projects, PYTHONPATH=str(generated.target),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed: set[str] = set()
    for case in ET.parse(report).getroot().iter("testcase"):
        if not list(case):  # no <failure>, <error> or <skipped> child
            passed.add(f"{case.get('classname')}::{case.get('name')}")
    for kind, checks in KEY_CHECKS.items():
        names = derive_names(f"demo-{kind.value}", kind)
        cls = f"Test{names.component_class}Conformance"
        ran = {p.rsplit("::", 1)[1] for p in passed if f"{cls}::" in p}
        assert set(checks) <= ran, (kind, sorted(ran))
        own = [p for p in passed if f"test_{names.kind.module}" in p]
        assert len(own) >= 3, f"{kind}: the project's own tests did not run: {own}"
    assert len(passed) >= 90, f"only {len(passed)} tests passed"


def test_generated_code_is_ruff_and_mypy_clean(generated: Generated) -> None:
    ruff = run(BIN / "ruff", "check", "--no-cache", ".", cwd=generated.projects)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    cache = generated.projects.parent / "mypy-cache"
    for kind, root in generated.roots.items():
        package = derive_names(f"demo-{kind.value}", kind).package
        mypy = run(BIN / "mypy", "--cache-dir", cache, package, "tests", cwd=root)
        assert mypy.returncode == 0, f"{kind}: {mypy.stdout}{mypy.stderr}"
        assert "Success: no issues found" in mypy.stdout


def test_the_host_loads_every_generated_plugin(generated: Generated) -> None:
    names = [f"demo-{kind.value}" for kind in PluginKind]
    listed = run(
        BIN / "cryptobot", "plugins", "list", "--json", cwd=generated.projects,
        PYTHONPATH=str(generated.target), CRYPTOBOT_PLUGINS=",".join(names),
    )
    assert listed.returncode == 0, listed.stderr
    records = {r["name"]: r for r in json.loads(listed.stdout) if r["name"] in names}
    assert set(records) == set(names)
    for kind in PluginKind:
        record = records[f"demo-{kind.value}"]
        assert record["status"] == "loaded", record
        assert record["kinds"] == [kind.value]
        assert record["version"] == "0.1.0"
        assert record["distribution"] == f"cryptobot-demo-{kind.value}"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    return found


def test_dockerfiles_follow_the_plugin_image_template(generated: Generated) -> None:
    """Same base images, layout, user and copy command as host/plugin-image/Dockerfile,
    and hadolint-clean like it."""
    template = instructions(TEMPLATE_IMAGE)
    for kind, root in generated.roots.items():
        ours = instructions(root / "Dockerfile")
        for keyword in ("FROM", "WORKDIR", "RUN", "USER", "ENTRYPOINT"):
            assert [a for k, a in ours if k == keyword] == [a for k, a in template if k == keyword]
        copies = [a for k, a in ours if k == "COPY"]
        package = derive_names(f"demo-{kind.value}", kind).package
        assert copies == [
            "dist/*.whl /plugin/wheels/",
            "dist/SHA256SUMS* /plugin/",
            f"{package}/manifest.json /plugin/manifest.json",
            "--from=verify /plugin /plugin",
        ]
        labels = " ".join(a for k, a in ours if k == "LABEL")
        assert f'dev.crypto-bot.plugin.name="demo-{kind.value}"' in labels
        assert 'dev.crypto-bot.plugin.layout="1"' in labels
        assert 'dev.crypto-bot.plugin.layout="1"' in " ".join(
            a for k, a in template if k == "LABEL"
        )
        lint = run(BIN / "hadolint", "--failure-threshold", "info", "--no-color", "Dockerfile",
                   cwd=root)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def stage_like_the_image(root: Path, staging: Path) -> None:
    """Do what building the image and running it as an init container would: the COPY
    instructions of the verify stage into /plugin, then ``cp -R /plugin/. /staging/``."""
    image = staging / ".image"
    for keyword, args in instructions(root / "Dockerfile"):
        if keyword != "COPY" or args.startswith("--from"):
            continue
        source, destination = args.split()
        matches = sorted(root.glob(source))
        assert matches, f"COPY {source}: nothing in {root} matches"
        for match in matches:
            dest = image / destination.lstrip("/")
            if destination.endswith("/"):
                dest = dest / match.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(match, dest)
    shutil.copytree(image / "plugin", staging, dirs_exist_ok=True)
    shutil.rmtree(image)


def test_plugin_images_pass_the_install_step(generated: Generated, tmp_path: Path) -> None:
    """The README's publish commands, then the image's files through the deployment's
    install step: every plugin is accepted, installed and found by the host."""
    wheels = tmp_path / "wheels"
    built = run(
        BIN / "python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "-w", wheels, *generated.roots.values(), cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    staging, target = tmp_path / "staging", tmp_path / "target"
    for kind, root in generated.roots.items():
        names = derive_names(f"demo-{kind.value}", kind)
        dist = root / "dist"
        dist.mkdir(exist_ok=True)
        (wheel,) = wheels.glob(f"{names.package}-*.whl")
        shutil.copy2(wheel, dist)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        (dist / "SHA256SUMS").write_text(f"{digest}  {wheel.name}\n")  # sha256sum's format
        stage_like_the_image(root, staging / names.plugin)
        assert (staging / names.plugin / "wheels" / wheel.name).is_file()
        assert (staging / names.plugin / "manifest.json").is_file()
    step = run(
        BIN / "python", "-m", "crypto_bot_core.deploy.install_plugins",
        "--staging", staging, "--target", target, cwd=tmp_path,
    )
    assert step.returncode == 0, step.stdout + step.stderr
    listed = run(
        BIN / "cryptobot", "plugins", "list", "--json", cwd=tmp_path, PYTHONPATH=str(target),
        CRYPTOBOT_PLUGINS=",".join(f"demo-{kind.value}" for kind in PluginKind),
    )
    statuses = {r["name"]: r["status"] for r in json.loads(listed.stdout)}
    assert {f"demo-{k.value}": "loaded" for k in PluginKind}.items() <= statuses.items()
