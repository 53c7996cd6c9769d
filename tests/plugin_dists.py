"""Real plugin distributions for host tests: written as projects, built as wheels, installed.

Each project is a hatchling project with a package, its ``manifest.json`` and an
entry point in group ``crypto_bot.plugins``. All wheels are built by one
``pip wheel`` call and installed by one ``pip install --target`` call, because
starting pip dominates the cost. ``bench/host_start.py`` reuses these helpers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

AGENT_MODULE = '''
from crypto_bot_sdk import Agent, PluginConfig, hookimpl


class Settings(PluginConfig):
    threshold: float = 0.5
    symbols: tuple[str, ...] = ("BTC/USDT",)


class ConstantAgent(Agent[Settings]):
    """Always has no opinion; enough to load, configure and call."""

    name = "constant"
    config_model = Settings

    async def evaluate(self, symbol, market):
        return None


@hookimpl
def cryptobot_components():
    return [ConstantAgent]
'''


def manifest_for(name: str, **overrides: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "name": name,
        "version": "1.2.0",
        "description": f"test plugin {name}",
        "kinds": ["agent"],
        "api_version": "1.0.0",
        "compatible_core_version": ">=0.1,<0.2",
        "capabilities": [],
        "license": "MIT",
    }
    manifest.update(overrides)
    return manifest


@dataclass(frozen=True)
class PluginProject:
    """One plugin project; ``manifest`` is a dict (written as JSON) or raw text."""

    distribution: str
    package: str
    plugin_name: str
    manifest: dict[str, Any] | str
    module_source: str = AGENT_MODULE
    module: str = "plugin"
    extra_files: dict[str, str] = field(default_factory=dict)

    @property
    def entry_point(self) -> str:
        return f"{self.package}.{self.module}"


def write_project(root: Path, project: PluginProject) -> Path:
    """The project directory, ready for ``pip wheel``."""
    directory = root / project.distribution
    package = directory / project.package
    package.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{project.distribution}"
            version = "1.2.0"
            requires-python = ">=3.11"
            dependencies = ["crypto-bot-sdk>=0.1,<0.2"]

            [project.entry-points."crypto_bot.plugins"]
            {project.plugin_name} = "{project.entry_point}"

            [tool.hatch.build.targets.wheel]
            packages = ["{project.package}"]
            """
        )
    )
    (package / "__init__.py").write_text('"""A crypto-bot test plugin."""\n')
    (package / f"{project.module}.py").write_text(project.module_source)
    manifest = project.manifest
    text = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2)
    (package / "manifest.json").write_text(text)
    for relative, content in project.extra_files.items():
        (package / relative).write_text(content)
    return directory


def _pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def build_and_install(projects: Sequence[PluginProject], workdir: Path) -> Path:
    """Build every project's wheel, install them all into ``workdir/target``; returns it."""
    sources = workdir / "src"
    wheels = workdir / "wheels"
    target = workdir / "target"
    dirs = [str(write_project(sources, project)) for project in projects]
    _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), *dirs)
    built = sorted(str(path) for path in wheels.glob("*.whl"))
    if len(built) != len(projects):
        raise RuntimeError(f"expected {len(projects)} wheels, got {built}")
    _pip("install", "--quiet", "--no-deps", "--no-index", "--target", str(target), *built)
    return target


# --- the six scenarios of the host's acceptance tests ---------------------------

NEVER_IMPORT = 'raise RuntimeError("this module must never be imported")\n'

SCENARIOS: tuple[PluginProject, ...] = (
    PluginProject("cbt-good-plugin", "cbt_good", "cbt-good", manifest_for("cbt-good")),
    PluginProject(
        "cbt-future-api-plugin",
        "cbt_future_api",
        "cbt-future-api",
        manifest_for("cbt-future-api", api_version="2.0.0"),
        module_source=NEVER_IMPORT,
    ),
    PluginProject(
        "cbt-old-core-plugin",
        "cbt_old_core",
        "cbt-old-core",
        manifest_for("cbt-old-core", compatible_core_version=">=0.0.1,<0.1"),
        module_source=NEVER_IMPORT,
    ),
    PluginProject(
        "cbt-broken-import-plugin",
        "cbt_broken_import",
        "cbt-broken-import",
        manifest_for("cbt-broken-import"),
        module_source="import cbt_dependency_that_is_not_installed  # noqa: F401\n",
    ),
    PluginProject(
        "cbt-bad-manifest-plugin",
        "cbt_bad_manifest",
        "cbt-bad-manifest",
        manifest_for("cbt-bad-manifest", kinds=["teleporter"], api_version="one"),
        module_source=NEVER_IMPORT,
    ),
    PluginProject("cbt-twin-alpha", "cbt_twin_alpha", "cbt-twin", manifest_for("cbt-twin")),
    PluginProject("cbt-twin-beta", "cbt_twin_beta", "cbt-twin", manifest_for("cbt-twin")),
)

_BUILT: dict[str, Path] = {}


def scenario_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenarios installed into one ``--target`` directory, built once per session."""
    if "scenarios" not in _BUILT:
        _BUILT["scenarios"] = build_and_install(SCENARIOS, tmp_path_factory.mktemp("plugin-dists"))
    return _BUILT["scenarios"]
