"""What the host knows about each plugin it found: one :class:`PluginRecord` per plugin.

Records are plain frozen data so the CLI, the HTTP service and the engine all
show the same facts (name, distribution, kinds, API range, status, reason)
without touching plugin code again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crypto_bot_core.host.reserved import CORE_DISTRIBUTION, ReservedPluginNameError
from crypto_bot_sdk import (
    Component,
    DuplicatePluginError,
    IncompatiblePluginError,
    Manifest,
    ManifestError,
    PluginContractError,
    PluginError,
    PluginKind,
    PluginLoadError,
    parse_api_version,
)


class PluginStatus(StrEnum):
    LOADED = "loaded"
    """Checked, imported, registered: its components can be configured."""
    REFUSED = "refused"
    """Found but not usable; ``reason`` says why and ``remedy`` what to do."""
    DISABLED = "disabled"
    """Found and left alone on purpose (``CRYPTOBOT_PLUGINS`` / autoload switch)."""


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    """One component class a loaded plugin provides, with the address config files use."""

    plugin: str
    kind: PluginKind
    name: str
    address: str
    """``<plugin>`` when the plugin has one component of this kind, else ``<plugin>:<name>``."""
    cls: type[Component[Any]]

    @property
    def full_address(self) -> str:
        """``<plugin>:<name>``: always accepted, even when the short form exists."""
        return f"{self.plugin}:{self.name}"

    def to_dict(self, *, with_schema: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "name": self.name,
            "address": self.address,
            "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
        }
        if with_schema:
            data["config_schema"] = self.cls.config_model.model_json_schema()
        return data


def api_range(api_version: str) -> str:
    """The host API versions a plugin built for ``api_version`` runs on (same major, minor >=)."""
    major, minor, _ = parse_api_version(api_version)
    return f">={major}.{minor},<{major + 1}"


_REMEDIES: tuple[tuple[type[PluginError], str], ...] = (
    (
        ReservedPluginNameError,
        f"built-in plugin names are reserved: uninstall this distribution, or ask its author "
        f"to rename the plugin (entry point and manifest name); the {CORE_DISTRIBUTION} "
        "built-in of that name is unaffected",
    ),
    (
        DuplicatePluginError,
        "uninstall all but one of the distributions named (pip uninstall ...), "
        "or rename one plugin",
    ),
    (
        IncompatiblePluginError,
        "install a release of the plugin made for this crypto-bot-sdk API and crypto-bot-core",
    ),
    (
        ManifestError,
        "the plugin's manifest.json is missing or invalid: reinstall the plugin or report "
        "it to its author; check it with the schema from crypto_bot_sdk.manifest_json_schema()",
    ),
    (
        PluginLoadError,
        "the plugin's code failed to import or to list its components: run "
        "`python -c 'import {module}'` to see the traceback, install missing dependencies, "
        "or uninstall the plugin",
    ),
    (
        PluginContractError,
        "the plugin does not implement what its manifest declares: upgrade it or report it "
        "to its author",
    ),
)


def remedy_for(error: PluginError, *, module: str | None = None) -> str:
    """What an operator can do about a refusal, by kind of failure."""
    for error_type, remedy in _REMEDIES:
        if isinstance(error, error_type):
            return remedy.format(module=module or "PLUGIN_MODULE")
    return "uninstall the plugin or report the problem to its author"


@dataclass(frozen=True, slots=True)
class PluginRecord:
    """Everything the host found out about one plugin, whatever its fate."""

    name: str
    status: PluginStatus
    distribution: str | None = None
    distribution_version: str | None = None
    entry_point: str | None = None
    """The entry point's value (``package.module``), ``None`` for plugins registered in code."""
    manifest: Manifest | None = None
    manifest_path: str | None = None
    reason: str | None = None
    """Why the plugin is refused or disabled (without the plugin-name prefix)."""
    message: str | None = None
    """The full error message, naming plugin, distribution and reason."""
    remedy: str | None = None
    components: tuple[ComponentInfo, ...] = ()

    @property
    def kinds(self) -> tuple[PluginKind, ...]:
        if self.manifest is not None:
            return self.manifest.kinds
        return tuple(dict.fromkeys(c.kind for c in self.components))

    @property
    def version(self) -> str | None:
        if self.manifest is not None:
            return self.manifest.version
        return self.distribution_version

    @property
    def api_range(self) -> str | None:
        if self.manifest is None:
            return None
        return api_range(self.manifest.api_version)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, shared by ``cryptobot plugins list --json`` and the HTTP service."""
        manifest = self.manifest
        return {
            "name": self.name,
            "status": self.status.value,
            "kinds": [kind.value for kind in self.kinds],
            "version": self.version,
            "distribution": self.distribution,
            "distribution_version": self.distribution_version,
            "entry_point": self.entry_point,
            "api_version": manifest.api_version if manifest else None,
            "api_range": self.api_range,
            "compatible_core_version": manifest.compatible_core_version if manifest else None,
            "capabilities": list(manifest.capabilities) if manifest else [],
            "reason": self.reason,
            "message": self.message,
            "remedy": self.remedy,
            "components": [component.to_dict() for component in self.components],
        }
