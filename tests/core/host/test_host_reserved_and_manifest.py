"""Built-in names are reserved, and a manifest must match its distribution (issue 13, 14-15).

Real wheels, installed next to the core's own distribution: a newcomer named
like a built-in is refused and the built-in still loads; a manifest whose
version is not its distribution's, or that declares a capability nobody
knows, is refused before its code is imported; a capability's method that
only raises ``NotSupportedError`` does not count as implemented.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from plugin_dists import NEVER_IMPORT, PluginProject, build_and_install, manifest_for

from crypto_bot_core.host import Host, PluginRecord, PluginStatus
from crypto_bot_core.host.reserved import RESERVED_PLUGIN_NAMES
from crypto_bot_sdk import PluginKind

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("isolated_sys_path")]

ROOT = Path(__file__).resolve().parents[3]
CRYPTOBOT = Path(sys.executable).with_name("cryptobot")

STUB_SOURCE = '''
from crypto_bot_sdk import DataSource, NotSupportedError, PluginConfig, hookimpl


class StubSource(DataSource[PluginConfig]):
    """Declares history in its manifest, but only copies the SDK's default."""

    name = "stub"
    config_model = PluginConfig

    def instruments(self):
        return ()

    async def stream(self, start=None, end=None):
        for event in ():
            yield event

    async def history(self, symbol, start, end):
        """History, it says."""
        raise NotSupportedError(f"{self.name} keeps no history")


@hookimpl
def cryptobot_components():
    return [StubSource]
'''

PROJECTS = (
    PluginProject(
        "cbt-impostor-agents",
        "cbt_impostor_agents",
        "technical-agents",
        manifest_for("technical-agents"),
    ),
    PluginProject(
        "cbt-version-skew",
        "cbt_version_skew",
        "cbt-version-skew",
        manifest_for("cbt-version-skew", version="2.0.0"),
        module_source=NEVER_IMPORT,
    ),
    PluginProject(
        "cbt-unknown-capability",
        "cbt_unknown_capability",
        "cbt-unknown-capability",
        manifest_for("cbt-unknown-capability", capabilities=["deterministic", "teleport"]),
        module_source=NEVER_IMPORT,
    ),
    PluginProject(
        "cbt-stub-history",
        "cbt_stub_history",
        "cbt-stub-history",
        manifest_for("cbt-stub-history", kinds=["datasource"], capabilities=["history"]),
        module_source=STUB_SOURCE,
    ),
)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_and_install(PROJECTS, tmp_path_factory.mktemp("reserved-dists"))


def _start(target: Path, environ: dict[str, str] | None = None) -> Host:
    """A host seeing ``target`` and everything installed, the core's built-ins included."""
    return Host(paths=[target, *(p for p in sys.path if p)], environ=environ or {}).load()


def _one(host: Host, name: str, distribution: str) -> PluginRecord:
    (record,) = [r for r in host.records_named(name) if r.distribution == distribution]
    return record


def test_reserved_names_are_the_core_entry_points() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = pyproject["project"]["entry-points"]["crypto_bot.plugins"]
    assert set(entry_points) == RESERVED_PLUGIN_NAMES


def test_a_newcomer_with_a_builtin_name_is_refused_and_the_builtin_kept(target: Path) -> None:
    host = _start(target)
    builtin = _one(host, "technical-agents", "crypto-bot-core")
    impostor = _one(host, "technical-agents", "cbt-impostor-agents")
    assert builtin.status is PluginStatus.LOADED
    assert impostor.status is PluginStatus.REFUSED
    assert impostor.reason == (
        "the name 'technical-agents' is reserved for the built-in plugin of crypto-bot-core, "
        "which stays loaded; this plugin is not loaded"
    )
    assert (impostor.message or "").startswith(
        "plugin technical-agents (distribution cbt-impostor-agents): the name"
    )
    assert "built-in plugin names are reserved" in (impostor.remedy or "")
    # The built-in's components answer to their addresses, as with no newcomer at all.
    info = host.resolve(PluginKind.AGENT, "technical-agents:ema_crossover")
    assert info.cls.__module__.startswith("crypto_bot_core.builtins.technical_agents")
    assert "cbt_impostor_agents.plugin" not in sys.modules


def test_the_newcomer_is_refused_even_when_the_selection_names_it(target: Path) -> None:
    host = _start(target, {"CRYPTOBOT_PLUGINS": "technical-agents"})
    assert _one(host, "technical-agents", "crypto-bot-core").status is PluginStatus.LOADED
    assert _one(host, "technical-agents", "cbt-impostor-agents").status is PluginStatus.REFUSED


def test_registering_a_builtin_name_in_code_from_another_distribution_is_refused() -> None:
    host = Host(environ={"CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD": "1"}).load()
    with pytest.raises(Exception, match="reserved for the built-in plugin") as caught:
        host.register_plugin(object(), manifest_for("replay"), distribution="acme")
    assert type(caught.value).__name__ == "ReservedPluginNameError"


def test_plugins_doctor_and_list_say_the_name_is_reserved(target: Path) -> None:
    inherited = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(target), inherited) if p)}
    env.pop("CRYPTOBOT_PLUGINS", None)
    env.pop("CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD", None)
    doctor = subprocess.run(
        [str(CRYPTOBOT), "plugins", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    assert "ok        technical-agents 0.1.0 (crypto-bot-core)" in lines
    assert (
        "REFUSED   plugin technical-agents (distribution cbt-impostor-agents): the name "
        "'technical-agents' is reserved for the built-in plugin of crypto-bot-core, which "
        "stays loaded; this plugin is not loaded"
    ) in lines
    listing = subprocess.run(
        [str(CRYPTOBOT), "plugins", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    rows = [line.split() for line in listing.stdout.splitlines()]
    loaded = ["technical-agents", "0.1.0", "agent", ">=1.1,<2", "loaded", "crypto-bot-core"]
    assert [*loaded, "0.1.0"] in rows
    refused = [r for r in rows if r[:1] == ["technical-agents"] and "refused" in r]
    assert [r[-2:] for r in refused] == [["cbt-impostor-agents", "1.2.0"]]
    assert "is reserved for the built-in plugin of crypto-bot-core" in listing.stdout


def test_a_manifest_version_other_than_the_distributions_is_refused_unimported(
    target: Path,
) -> None:
    record = _one(_start(target), "cbt-version-skew", "cbt-version-skew")
    assert record.status is PluginStatus.REFUSED
    assert (record.message or "").startswith(
        "plugin cbt-version-skew (distribution cbt-version-skew): manifest.json declares "
        "version 2.0.0, but the installed distribution is version 1.2.0; the two must be equal"
    )
    assert "cbt_version_skew.plugin" not in sys.modules


def test_an_unknown_capability_is_refused_unimported(target: Path) -> None:
    record = _one(_start(target), "cbt-unknown-capability", "cbt-unknown-capability")
    assert record.status is PluginStatus.REFUSED
    assert "manifest.json declares unknown capabilities 'teleport'; this host knows" in (
        record.reason or ""
    )
    assert "'deterministic'" not in (record.reason or "")
    assert "cbt_unknown_capability.plugin" not in sys.modules


def test_a_capability_method_that_only_raises_not_supported_is_refused(target: Path) -> None:
    record = _one(_start(target), "cbt-stub-history", "cbt-stub-history")
    assert record.status is PluginStatus.REFUSED
    assert record.reason == (
        "cbt_stub_history.plugin.StubSource does not override history(), which capability "
        "'history' declared in the manifest promises (history() only raises NotSupportedError)"
    )


def test_every_builtin_still_loads_under_the_stricter_checks() -> None:
    host = Host(environ={}).load()
    statuses = {r.name: r.status for r in host.records if r.distribution == "crypto-bot-core"}
    assert statuses == dict.fromkeys(RESERVED_PLUGIN_NAMES, PluginStatus.LOADED)


def test_the_default_config_still_resolves_with_the_impostor_installed(
    target: Path, tmp_path: Path
) -> None:
    """What `cryptobot run` without options resolves: before, exit 2 (both refused)."""
    inherited = os.environ.get("PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), inherited) if p)
    default = subprocess.run(
        [str(CRYPTOBOT), "config", "default"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert default.returncode == 0, default.stderr
    assert "technical-agents" in default.stdout
    path = tmp_path / "default.yaml"
    path.write_text(default.stdout)
    validate = subprocess.run(
        [str(CRYPTOBOT), "config", "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
