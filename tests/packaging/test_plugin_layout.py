"""Every package under plugins/ has the shape of a third-party plugin.

The plugins in this repository are the examples plugin authors copy, and the
proof that the SDK suffices: each is its own distribution that depends on the
SDK and never on the core (DESIGN rule 1), with the layout of CONVENTIONS 11
and the manifest where the host looks for it without importing plugin code.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from crypto_bot_sdk import Manifest, ManifestError

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_DIR = REPO_ROOT / "plugins"
ENTRY_POINT_GROUP = "crypto_bot.plugins"


def _requirement_names(lines: list[str], where: str, problems: list[str]) -> set[str]:
    names: set[str] = set()
    for line in lines:
        try:
            names.add(str(canonicalize_name(Requirement(line).name)))
        except InvalidRequirement as exc:
            problems.append(f"{where}: {line!r} is not a valid requirement ({exc})")
    return names


def _imports_core(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] == "crypto_bot_core" for name in names):
            return True
    return False


def _entry_point_problems(plugin: Path, name: str, value: str) -> list[str]:
    module_path, _, attr = value.partition(":")
    if attr or not all(part.isidentifier() for part in module_path.split(".")):
        return [f"entry point {name!r} = {value!r} must be a plain module path (pkg.plugin)"]
    parts = module_path.split(".")
    module_file = plugin.joinpath(*parts).with_suffix(".py")
    if not (module_file.is_file() or plugin.joinpath(*parts, "__init__.py").is_file()):
        return [f"entry point {name!r} names {module_path}, which has no module in {plugin}"]
    package_dir = plugin.joinpath(*parts[:-1]) if len(parts) > 1 else plugin / parts[0]
    manifest_file = package_dir / "manifest.json"
    if not manifest_file.is_file():
        return [f"entry point {name!r}: no manifest.json in {package_dir} (it ships in the wheel)"]
    try:
        manifest = Manifest.from_path(manifest_file)
    except ManifestError as exc:
        return [str(exc)]
    if manifest.name != name:
        return [f"entry point name {name!r} differs from manifest name {manifest.name!r}"]
    return []


def plugin_layout_problems(plugin: Path) -> list[str]:
    """Every way ``plugin`` departs from the convention in plugins/README.md."""
    pyproject_file = plugin / "pyproject.toml"
    if not pyproject_file.is_file():
        return [f"{plugin.name}: no pyproject.toml (each plugin is its own distribution)"]
    project: dict[str, Any] = tomllib.loads(pyproject_file.read_text("utf-8")).get("project", {})
    problems: list[str] = []

    runtime = _requirement_names(project.get("dependencies", []), "dependencies", problems)
    if "crypto-bot-sdk" not in runtime:
        problems.append("dependencies must include crypto-bot-sdk")
    every = set(runtime)
    for extra, lines in project.get("optional-dependencies", {}).items():
        every |= _requirement_names(lines, f"optional-dependencies.{extra}", problems)
    if "crypto-bot-core" in every:
        problems.append("a plugin must not depend on crypto-bot-core, only on crypto-bot-sdk")

    entry_points: dict[str, str] = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if not entry_points:
        problems.append(f'no [project.entry-points."{ENTRY_POINT_GROUP}"] entry')
    packages = set()
    for name, value in entry_points.items():
        problems += _entry_point_problems(plugin, name, value)
        packages.add(value.split(".")[0])
    for package in sorted(packages):
        for required in ("__init__.py", "py.typed", "config.py"):
            if not (plugin / package / required).is_file():
                problems.append(f"{package}/{required} is missing")
        problems += [
            f"{source.relative_to(plugin)} imports crypto_bot_core; use the SDK instead"
            for source in sorted((plugin / package).rglob("*.py"))
            if _imports_core(source)
        ]
    if not any((plugin / "tests").glob("test_*.py")):
        problems.append("no tests/test_*.py (CI runs every plugin's own suite)")
    return problems


def write_plugin(root: Path, *, dependencies: list[str], manifest_name: str = "demo") -> Path:
    """A minimal plugin following the convention, for testing the checker itself."""
    plugin = root / "demo"
    package = plugin / "cryptobot_demo"
    (plugin / "tests").mkdir(parents=True)
    package.mkdir()
    (plugin / "pyproject.toml").write_text(
        "[project]\nname = 'crypto-bot-demo'\nversion = '0.1.0'\n"
        f"dependencies = {json.dumps(dependencies)}\n"
        '[project.entry-points."crypto_bot.plugins"]\ndemo = "cryptobot_demo.plugin"\n',
        encoding="utf-8",
    )
    for name in ("__init__.py", "py.typed", "config.py", "plugin.py"):
        (package / name).write_text("", encoding="utf-8")
    manifest = {
        "name": manifest_name, "version": "0.1.0", "kinds": ["agent"], "api_version": "1.0.0",
        "compatible_core_version": ">=0.1,<0.2", "license": "Apache-2.0",
    }  # fmt: skip
    (package / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (plugin / "tests" / "test_demo.py").write_text("", encoding="utf-8")
    return plugin


def test_checker_accepts_a_plugin_that_follows_the_convention(tmp_path: Path) -> None:
    assert (
        plugin_layout_problems(write_plugin(tmp_path, dependencies=["crypto-bot-sdk>=0.1"])) == []
    )


@pytest.mark.parametrize(
    ("dependencies", "expected"),
    [
        (["pydantic"], "dependencies must include crypto-bot-sdk"),
        (["crypto-bot-sdk", "crypto_bot_core>=0.1"], "must not depend on crypto-bot-core"),
    ],
)
def test_checker_rejects_wrong_dependencies(
    tmp_path: Path, dependencies: list[str], expected: str
) -> None:
    problems = plugin_layout_problems(write_plugin(tmp_path, dependencies=dependencies))
    assert [p for p in problems if expected in p] != [], problems


def test_checker_rejects_core_imports_manifest_mismatch_and_missing_tests(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, dependencies=["crypto-bot-sdk"], manifest_name="other")
    (plugin / "cryptobot_demo" / "agent.py").write_text(
        "from crypto_bot_core.engine import x\n", encoding="utf-8"
    )
    (plugin / "tests" / "test_demo.py").unlink()
    assert plugin_layout_problems(plugin) == [
        "entry point name 'demo' differs from manifest name 'other'",
        "cryptobot_demo/agent.py imports crypto_bot_core; use the SDK instead",
        "no tests/test_*.py (CI runs every plugin's own suite)",
    ]


def test_checker_rejects_a_missing_manifest(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, dependencies=["crypto-bot-sdk"])
    (plugin / "cryptobot_demo" / "manifest.json").unlink()
    (problem,) = plugin_layout_problems(plugin)
    assert problem.startswith("entry point 'demo': no manifest.json in")


def _plugin_dirs() -> list[Path]:
    return sorted(
        p for p in PLUGINS_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))
    )


def test_plugins_directory_holds_only_plugin_projects() -> None:
    stray = [
        p.name
        for p in PLUGINS_DIR.iterdir()
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    ]
    assert stray == [], "plugins/ holds one directory per plugin and its README.md"


@pytest.mark.parametrize("plugin", _plugin_dirs(), ids=lambda p: p.name)
def test_repository_plugin_follows_the_convention(plugin: Path) -> None:
    assert plugin_layout_problems(plugin) == []
