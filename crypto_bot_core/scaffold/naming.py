"""The names a new plugin project needs, all derived from the one name its author gives.

A plugin has four names that must agree: the plugin name (the manifest's
``name`` and the entry-point name, what a config file addresses), the
distribution on PyPI, the importable package, and the component's class.
Deriving them in one place keeps a generated project consistent with the
packaging convention in ``docs/plugin-guide/package.md``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from crypto_bot_sdk import PluginKind

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
"""The manifest's ``name`` rule (``crypto_bot_sdk._manifest.PLUGIN_NAME_PATTERN``)."""

PACKAGE_PREFIX = "cryptobot_"
"""Generated packages and distributions carry a prefix: a bare ``my_agent`` would clash
with any other top-level package of that name in the user's environment."""


@dataclass(frozen=True)
class KindInfo:
    """What differs between the kinds of project: module, class suffix, wording."""

    kind: PluginKind
    module: str
    class_suffix: str
    contract: str
    summary: str


KINDS: dict[PluginKind, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo(
            PluginKind.DATASOURCE,
            "source",
            "Source",
            "DataSource",
            "a data source that streams market events",
        ),
        KindInfo(
            PluginKind.AGENT,
            "agent",
            "Agent",
            "Agent",
            "an agent that turns market state into a signal",
        ),
        KindInfo(
            PluginKind.EXCHANGE,
            "exchange",
            "Exchange",
            "ExchangeAdapter",
            "an exchange adapter for one venue",
        ),
        KindInfo(
            PluginKind.RISKRULE,
            "rule",
            "Rule",
            "RiskRule",
            "a risk rule that approves, resizes or rejects order intents",
        ),
        KindInfo(
            PluginKind.REPORTER,
            "reporter",
            "Reporter",
            "Reporter",
            "a reporter that turns ledger records into a file",
        ),
        KindInfo(
            PluginKind.SELECTOR,
            "selector",
            "Selector",
            "PolicySelector",
            "a policy selector that picks which policy trades a symbol",
        ),
        KindInfo(
            PluginKind.OVERSIGHT,
            "oversight",
            "Oversight",
            "Oversight",
            "an oversight component that watches the whole book every tick",
        ),
        KindInfo(
            PluginKind.NOTIFIER,
            "notifier",
            "Notifier",
            "Notifier",
            "a notifier that takes alerts to a channel people read",
        ),
    )
}


class ScaffoldError(ValueError):
    """A name or a destination that cannot become a plugin project; the message says why."""


@dataclass(frozen=True)
class PluginNames:
    """Every name a generated project uses."""

    plugin: str
    """``my-agent``: manifest name, entry-point name, component name and config address."""
    package: str
    """``cryptobot_my_agent``: the importable top-level package."""
    distribution: str
    """``cryptobot-my-agent``: the name on PyPI and in ``pip install``."""
    component_class: str
    """``MyAgent``: the component's class."""
    config_class: str
    """``MyAgentConfig``: its frozen config model."""
    kind: KindInfo

    @property
    def entry_point(self) -> str:
        return f"{self.package}.plugin"


def check_plugin_name(name: str) -> str:
    if PLUGIN_NAME.match(name):
        return name
    suggestion = re.sub(r"[^a-z0-9-]+", "-", name.strip().lower()).strip("-")
    if suggestion and not suggestion[0].isalpha():
        suggestion = f"plugin-{suggestion}"
    hint = f" (e.g. {suggestion!r})" if PLUGIN_NAME.match(suggestion) else ""
    raise ScaffoldError(
        f"plugin name {name!r} is not valid: use 1-63 lower-case letters, digits and '-', "
        f"starting with a letter{hint}; it becomes the manifest name and the config address"
    )


def check_package_name(package: str) -> str:
    if not package.isidentifier() or keyword.iskeyword(package) or package != package.lower():
        raise ScaffoldError(
            f"package name {package!r} is not valid: use a lower-case Python identifier "
            "such as 'cryptobot_my_agent'"
        )
    if package in {"crypto_bot_sdk", "crypto_bot_core", "tests", "test"}:
        raise ScaffoldError(
            f"package name {package!r} is taken (by crypto-bot or by test tooling); "
            "choose a name of your own, e.g. 'cryptobot_my_agent'"
        )
    return package


def camel_case(name: str) -> str:
    """``my-agent`` -> ``MyAgent``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-") if part)


def derive_names(name: str, kind: PluginKind, package: str | None = None) -> PluginNames:
    """All names of a project for plugin ``name`` of ``kind``; ``package`` overrides the default."""
    plugin = check_plugin_name(name)
    info = KINDS[kind]
    snake = plugin.replace("-", "_")
    default_package = snake if snake.startswith(PACKAGE_PREFIX) else PACKAGE_PREFIX + snake
    chosen = check_package_name(package if package is not None else default_package)
    base = camel_case(plugin)
    component = base if base.endswith(info.class_suffix) else base + info.class_suffix
    return PluginNames(
        plugin=plugin,
        package=chosen,
        distribution=chosen.replace("_", "-"),
        component_class=component,
        config_class=f"{component}Config",
        kind=info,
    )
