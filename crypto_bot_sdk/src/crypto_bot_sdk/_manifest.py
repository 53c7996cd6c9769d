"""The ``manifest.json`` every plugin ships, and the rule that decides whether it may run.

The host reads the manifest *before* importing any plugin code, so a plugin
built for another API or core version is refused without running a line of it.

Compatibility rule (API ``MAJOR.MINOR.PATCH``, semver):

* the plugin's ``api_version`` must have the host API's MAJOR: a major bump
  removes or changes contracts;
* its MINOR must not exceed the host's: a plugin built against 1.3 may use
  hooks or fields that a 1.2 host lacks; a plugin built against 1.1 runs on
  1.3 because contracts only grow by adding;
* PATCH never matters;
* ``compatible_core_version``, a PEP 440 specifier set, must contain the
  installed ``crypto-bot-core`` version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from crypto_bot_sdk._base import FrozenModel
from crypto_bot_sdk._component import PluginKind
from crypto_bot_sdk._errors import ManifestError
from crypto_bot_sdk._version import API_VERSION

MANIFEST_FILENAME = "manifest.json"
PLUGIN_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

KIND_ADDED_IN: dict[PluginKind, tuple[int, int]] = {
    PluginKind.SELECTOR: (1, 1),
    PluginKind.OVERSIGHT: (1, 1),
    PluginKind.NOTIFIER: (1, 1),
}
"""The API (major, minor) that added each kind younger than 1.0."""


def parse_api_version(value: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``; ``ValueError`` naming the value otherwise."""
    match = _SEMVER.match(value)
    if match is None:
        raise ValueError(f"api_version {value!r} is not MAJOR.MINOR.PATCH (e.g. '1.0.0')")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class Manifest(FrozenModel):
    """What a plugin declares about itself; validated before its code is imported."""

    name: str = Field(pattern=PLUGIN_NAME_PATTERN, description="Plugin name, unique per host.")
    version: str = Field(description="The plugin's own release, PEP 440.")
    description: str = ""
    # json_schema_extra publishes checks the validators below make, so that the JSON
    # Schema refuses what the model refuses (with the model's clearer messages at run time).
    kinds: tuple[PluginKind, ...] = Field(
        description="Contract kinds the plugin provides components of; empty for a plugin "
        "that only implements observation hooks (a notifier, an exporter).",
        json_schema_extra={"uniqueItems": True},
    )
    api_version: str = Field(
        description="The SDK API version the plugin was built against, MAJOR.MINOR.PATCH.",
        json_schema_extra={"pattern": _SEMVER.pattern},
    )
    compatible_core_version: str = Field(
        description="PEP 440 specifier set of crypto-bot-core releases the plugin runs on."
    )
    capabilities: tuple[str, ...] = Field(default=(), json_schema_extra={"uniqueItems": True})
    config_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the plugin's configuration."
    )
    license: str = Field(min_length=1, description="SPDX licence expression.")
    homepage: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("version")
    @classmethod
    def _pep440(cls, value: str) -> str:
        try:
            Version(value)
        except InvalidVersion as exc:
            raise ValueError(f"version {value!r} is not a PEP 440 version (e.g. '1.0.0')") from exc
        return value

    @field_validator("api_version")
    @classmethod
    def _semver(cls, value: str) -> str:
        parse_api_version(value)
        return value

    @field_validator("compatible_core_version")
    @classmethod
    def _specifier(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(
                f"compatible_core_version {value!r} is not a PEP 440 specifier "
                "(e.g. '>=0.1,<0.2')"
            ) from exc
        return value

    @field_validator("kinds", "capabilities")
    @classmethod
    def _unique(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"entries must be unique; got {list(value)}")
        return value

    @model_validator(mode="after")
    def _kinds_exist_in_api_version(self) -> Manifest:
        # A 1.0 host cannot parse a kind added in 1.1; a manifest claiming 1.0 while using
        # one would be refused there with a confusing enum error instead of "too new".
        declared = parse_api_version(self.api_version)[:2]
        newer = [
            f"{kind.value} (API {'.'.join(map(str, KIND_ADDED_IN[kind]))})"
            for kind in self.kinds
            if KIND_ADDED_IN.get(kind, (0, 0)) > declared
        ]
        if newer:
            raise ValueError(
                f"kinds {', '.join(newer)} are newer than api_version {self.api_version}; "
                "declare the api_version of the SDK the plugin is built against "
                "(crypto_bot_sdk.API_VERSION)"
            )
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "manifest") -> Manifest:
        """Validate parsed JSON; a failure lists every bad field with its path."""
        try:
            return cls.model_validate(dict(data))
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ManifestError(f"{source} is invalid: {problems}") from exc

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "manifest") -> Manifest:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{source} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ManifestError(f"{source} must hold a JSON object, not {type(data).__name__}")
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_path(cls, path: Path) -> Manifest:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return cls.from_json(raw, source=str(path))


def compatibility_problems(
    manifest: Manifest, *, core_version: str, api_version: str = API_VERSION
) -> list[str]:
    """Why ``manifest`` cannot run on this host; an empty list means it can."""
    problems: list[str] = []
    host_major, host_minor, _ = parse_api_version(api_version)
    major, minor, _ = parse_api_version(manifest.api_version)
    if major != host_major:
        problems.append(
            f"api_version {manifest.api_version} has major {major}, but this host's SDK API "
            f"is {api_version}; rebuild the plugin against crypto-bot-sdk API {host_major}.x"
        )
    elif minor > host_minor:
        problems.append(
            f"api_version {manifest.api_version} is newer than this host's SDK API "
            f"{api_version}; upgrade crypto-bot-sdk and crypto-bot-core"
        )
    spec = SpecifierSet(manifest.compatible_core_version)
    if not spec.contains(core_version, prereleases=True):
        problems.append(
            f"compatible_core_version {manifest.compatible_core_version!r} excludes "
            f"crypto-bot-core {core_version}; install a plugin release made for it"
        )
    return problems


def manifest_json_schema() -> dict[str, Any]:
    """The published JSON Schema of ``manifest.json`` (draft 2020-12)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://crypto-bot.dev/schemas/plugin-manifest-1.json"
    schema["title"] = "crypto-bot plugin manifest"
    return schema
