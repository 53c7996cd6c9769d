"""``cryptobot plugin new``: names, files, manifest and refusals (the generated projects'
own tests run in ``test_generated_projects.py``)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core import __version__ as core_version
from crypto_bot_core.cli.app import app
from crypto_bot_core.cli.plugin import Kind
from crypto_bot_core.scaffold import (
    CAPABILITIES,
    KINDS,
    ScaffoldError,
    derive_names,
    new_plugin,
    render_files,
)
from crypto_bot_core.scaffold.generate import LINE_LENGTH, build_manifest, release_range
from crypto_bot_sdk import (
    API_VERSION,
    CAPABILITY_METHODS,
    CONTRACTS,
    Manifest,
    PluginKind,
    compatibility_problems,
)

runner = CliRunner()
LEFT_PLACEHOLDER = re.compile(r"\$\{[a-z_]+\}")


def test_cli_kinds_are_the_sdk_kinds() -> None:
    assert [k.value for k in Kind] == [k.value for k in PluginKind]
    assert set(KINDS) == set(PluginKind) == set(CAPABILITIES)


@pytest.mark.parametrize(
    ("name", "kind", "package", "distribution", "component"),
    [
        ("my-agent", PluginKind.AGENT, "cryptobot_my_agent", "cryptobot-my-agent", "MyAgent"),
        ("kraken", PluginKind.EXCHANGE, "cryptobot_kraken", "cryptobot-kraken", "KrakenExchange"),
        ("cryptobot-tvl", PluginKind.DATASOURCE, "cryptobot_tvl", "cryptobot-tvl",
         "CryptobotTvlSource"),
        ("max-loss2", PluginKind.RISKRULE, "cryptobot_max_loss2", "cryptobot-max-loss2",
         "MaxLoss2Rule"),
        ("pnl", PluginKind.REPORTER, "cryptobot_pnl", "cryptobot-pnl", "PnlReporter"),
    ],
)
def test_names_derive_from_the_plugin_name(
    name: str, kind: PluginKind, package: str, distribution: str, component: str
) -> None:
    names = derive_names(name, kind)
    assert (names.plugin, names.package, names.distribution) == (name, package, distribution)
    assert (names.component_class, names.config_class) == (component, f"{component}Config")
    assert names.entry_point == f"{package}.plugin"


def test_package_can_be_chosen() -> None:
    names = derive_names("my-agent", PluginKind.AGENT, package="acme_signals")
    assert (names.package, names.distribution) == ("acme_signals", "acme-signals")


@pytest.mark.parametrize(
    ("name", "hint"),
    [("My_Agent", "'my-agent'"), ("9lives", "'plugin-9lives'"), ("a" * 64, "")],
)
def test_invalid_plugin_names_are_refused_with_a_suggestion(name: str, hint: str) -> None:
    with pytest.raises(ScaffoldError, match="lower-case letters, digits and '-'") as caught:
        derive_names(name, PluginKind.AGENT)
    assert repr(name) in str(caught.value)
    assert hint in str(caught.value)


@pytest.mark.parametrize("package", ["class", "My_pkg", "crypto_bot_sdk", "tests", "a-b"])
def test_invalid_packages_are_refused(package: str) -> None:
    with pytest.raises(ScaffoldError, match=re.escape(repr(package))):
        derive_names("x", PluginKind.AGENT, package=package)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", ">=0.1,<0.2"),
        ("0.12.3", ">=0.12,<0.13"),
        ("1.4.0", ">=1.4,<2"),
        ("2.0", ">=2.0,<3"),
    ],
)
def test_release_range_covers_one_api_line(version: str, expected: str) -> None:
    assert release_range(version) == expected


@pytest.mark.parametrize("kind", list(PluginKind))
def test_every_kind_renders_a_complete_project(kind: PluginKind) -> None:
    names = derive_names(f"demo-{kind.value}", kind)
    manifest = Manifest.from_mapping(
        {
            "name": names.plugin,
            "version": "0.1.0",
            "kinds": [kind.value],
            "api_version": API_VERSION,
            "compatible_core_version": ">=0.1,<0.2",
            "capabilities": list(CAPABILITIES[kind]),
            "license": "MIT",
        }
    )
    files = render_files(names, manifest)
    paths = {"/".join(parts) for parts in files}
    package, module = names.package, names.kind.module
    expected = {
        "pyproject.toml", "README.md", "Dockerfile", ".dockerignore", ".gitignore",
        f"{package}/__init__.py", f"{package}/py.typed", f"{package}/manifest.json",
        f"{package}/config.py", f"{package}/{module}.py", f"{package}/plugin.py",
        "tests/test_conformance.py", "tests/test_packaging.py", f"tests/test_{module}.py",
    }
    assert expected <= paths
    leftovers = {path: LEFT_PLACEHOLDER.findall(text) for path, text in files.items()}
    assert not {p: found for p, found in leftovers.items() if found}
    assert not [p for p in paths if p.endswith((".tmpl", ".part"))]
    component = files[(package, f"{module}.py")]
    declaration = f"class {names.component_class}({names.kind.contract}[{names.config_class}])"
    assert declaration in component
    assert f'name = "{names.plugin}"' in component
    assert "REQUIRED" in component
    assert "OPTIONAL" in component
    conformance = files[("tests", "test_conformance.py")]
    kit_class = f"{CONTRACTS[kind].__name__}Conformance"
    assert f"class Test{names.component_class}Conformance({kit_class}):" in conformance


@pytest.mark.parametrize("kind", list(PluginKind))
def test_generated_lines_fit_ruff_line_length_for_names_up_to_20_characters(
    kind: PluginKind,
) -> None:
    names = derive_names("abcdefghij-klmnopqrs", kind)  # 20 characters
    files = render_files(names, build_manifest(names, "Apache-2.0"))
    long_lines = [
        f"{'/'.join(parts)}:{number}: {len(line)}"
        for parts, text in files.items()
        if parts[-1].endswith(".py")
        for number, line in enumerate(text.splitlines(), start=1)
        if len(line) > LINE_LENGTH
    ]
    assert not long_lines


def test_capabilities_promising_methods_are_implemented_by_the_templates() -> None:
    """A declared capability whose method the component lacks would make the host refuse it."""
    for kind, capabilities in CAPABILITIES.items():
        names = derive_names("demo", kind)
        files = render_files(
            names,
            Manifest.from_mapping(
                {
                    "name": "demo", "version": "0.1.0", "kinds": [kind.value],
                    "api_version": API_VERSION, "compatible_core_version": ">=0.1",
                    "license": "MIT",
                }
            ),
        )
        source = files[(names.package, f"{names.kind.module}.py")]
        for capability in capabilities:
            if capability in CAPABILITY_METHODS:
                method = CAPABILITY_METHODS[capability][1]
                assert re.search(rf"\n    (async )?def {method}\(", source), (kind, capability)


def test_new_plugin_writes_a_valid_manifest_for_this_sdk_and_core(tmp_path: Path) -> None:
    result = new_plugin("exchange", "acme-venue", tmp_path, license_id="MIT")
    manifest_path = tmp_path / "acme-venue" / "cryptobot_acme_venue" / "manifest.json"
    manifest = Manifest.from_path(manifest_path)
    assert manifest == result.manifest
    assert manifest.name == "acme-venue"
    assert manifest.kinds == (PluginKind.EXCHANGE,)
    assert manifest.api_version == API_VERSION
    assert manifest.capabilities == ("order.market", "order.limit", "simulated", "fees")
    assert manifest.license == "MIT"
    assert compatibility_problems(manifest, core_version=core_version) == []
    pyproject = tomllib.loads((tmp_path / "acme-venue" / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["name"] == "cryptobot-acme-venue"
    assert project["version"] == manifest.version
    assert project["license"] == "MIT"
    assert project["dependencies"] == ["crypto-bot-sdk>=0.1,<0.2"]
    assert project["entry-points"]["crypto_bot.plugins"] == {
        "acme-venue": "cryptobot_acme_venue.plugin"
    }
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    assert pyproject["tool"]["pytest"]["ini_options"]["filterwarnings"] == ["error"]
    assert pyproject["tool"]["mypy"]["strict"] is True
    assert all(path.is_file() for path in result.files)
    assert json.loads(manifest_path.read_text())["kinds"] == ["exchange"]


def test_an_existing_project_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "my-agent").mkdir()
    keep = tmp_path / "my-agent" / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists"):
        new_plugin("agent", "my-agent", tmp_path)
    assert [p.name for p in (tmp_path / "my-agent").iterdir()] == ["notes.txt"]
    assert keep.read_text() == "mine"


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    (tmp_path / "my-agent").mkdir()
    result = new_plugin("agent", "my-agent", tmp_path)
    assert (tmp_path / "my-agent" / "pyproject.toml") in result.files


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ScaffoldError, match="kind 'strategy' is not one of datasource, agent"):
        new_plugin("strategy", "x", Path("unused"))


def test_cli_writes_the_project_and_says_what_next(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plugin", "new", "--kind", "riskrule", "max-loss", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    root = tmp_path / "max-loss"
    assert (root / "cryptobot_max_loss" / "rule.py").is_file()
    assert "riskrule plugin 'max-loss'" in result.stdout
    assert "class MaxLossRule" in result.stdout
    assert f"pip install -e {root}" in result.stdout
    assert "cryptobot plugins list" in result.stdout


def test_cli_refuses_a_bad_name_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plugin", "new", "--kind", "agent", "Bad_Name", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "plugin name 'Bad_Name' is not valid" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_an_unknown_kind(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plugin", "new", "--kind", "strategy", "x", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "'strategy' is not one of" in result.stderr
