"""Writing a new plugin project from the templates shipped inside this package.

Templates live in ``templates/common`` (every kind) and ``templates/<kind>``; a
file ending in ``.tmpl`` is filled in with :class:`string.Template` (``${name}``
placeholders; an unknown placeholder is an error, so a template cannot silently
leave one behind), other files are copied as they are. A path part ``PACKAGE``
becomes the project's package, and ``gitignore``/``dockerignore`` become dot files
(a dot file inside a package's data is easy to lose when building wheels).
A file ending in ``.part.tmpl`` is a fragment that fills a placeholder of another
template (``README.part.tmpl`` of a kind becomes ``${kind_readme}`` in the README).

``manifest.json`` is not a template: it is built here from the SDK's own version
numbers and validated with ``crypto_bot_sdk.Manifest`` before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from crypto_bot_core import __version__ as core_version
from crypto_bot_core.scaffold.naming import PluginNames, ScaffoldError, derive_names
from crypto_bot_sdk import API_VERSION, Manifest, PluginKind
from crypto_bot_sdk import __version__ as sdk_version

LINE_LENGTH = 100
"""The generated projects' ruff line length; names up to :data:`COMFORTABLE_NAME_LENGTH`
characters keep every generated line within it (a test checks)."""
COMFORTABLE_NAME_LENGTH = 20

_PART = ".part.tmpl"
_DOT_FILES = {"gitignore": ".gitignore", "dockerignore": ".dockerignore"}

CAPABILITIES: dict[PluginKind, tuple[str, ...]] = {
    PluginKind.DATASOURCE: ("history", "deterministic"),
    PluginKind.AGENT: ("deterministic",),
    PluginKind.EXCHANGE: ("order.market", "order.limit", "simulated", "fees"),
    PluginKind.RISKRULE: (),
    PluginKind.REPORTER: (),
    PluginKind.SELECTOR: ("deterministic",),
    PluginKind.OVERSIGHT: ("deterministic",),
    PluginKind.NOTIFIER: (),
}
"""What each generated component implements beyond its contract's required methods."""


def release_range(version: str) -> str:
    """``0.1.3`` -> ``>=0.1,<0.2``; ``1.4.0`` -> ``>=1.4,<2``: the releases of one API line.

    Before 1.0 a minor release may break things, so the range stops at the next minor.
    """
    parts = [int(p) for p in version.split(".")[:2]]
    major, minor = parts[0], parts[1] if len(parts) > 1 else 0
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


@dataclass(frozen=True)
class NewPlugin:
    """What :func:`new_plugin` wrote."""

    names: PluginNames
    root: Path
    files: tuple[Path, ...]
    manifest: Manifest


def build_manifest(names: PluginNames, license_id: str) -> Manifest:
    """The manifest of a new project, made for the installed SDK API and core line."""
    return Manifest.from_mapping(
        {
            "name": names.plugin,
            "version": "0.1.0",
            "description": f"{names.kind.summary[0].upper()}{names.kind.summary[1:]}.",
            "kinds": [names.kind.kind.value],
            "api_version": API_VERSION,
            "compatible_core_version": release_range(core_version),
            "capabilities": list(CAPABILITIES[names.kind.kind]),
            "license": license_id,
        },
        source=f"the manifest of {names.plugin}",
    )


def _variables(names: PluginNames, manifest: Manifest) -> dict[str, str]:
    return {
        "plugin": names.plugin,
        "package": names.package,
        "distribution": names.distribution,
        "component_class": names.component_class,
        "config_class": names.config_class,
        "module": names.kind.module,
        "kind": names.kind.kind.value,
        "contract": names.kind.contract,
        "summary": names.kind.summary,
        "description": manifest.description,
        "license": manifest.license,
        "api_version": API_VERSION,
        "core_version": core_version,
        "core_range": manifest.compatible_core_version,
        "sdk_requirement": f"crypto-bot-sdk{release_range(sdk_version)}",
        "capabilities": ", ".join(f"`{c}`" for c in manifest.capabilities) or "none",
    }


def _walk(folder: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """(relative path parts, text) of every template file under ``folder``."""
    found: list[tuple[tuple[str, ...], str]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _walk(entry, (*prefix, entry.name))
        else:
            found.append(((*prefix, entry.name), entry.read_text(encoding="utf-8")))
    return found


def _target(parts: tuple[str, ...], package: str) -> tuple[str, ...]:
    renamed = [package if part == "PACKAGE" else part for part in parts]
    last = renamed[-1].removesuffix(".tmpl")
    renamed[-1] = _DOT_FILES.get(last, last)
    return tuple(renamed)


def _fill_text(text: str, variables: dict[str, str], where: str) -> str:
    try:
        return Template(text).substitute(variables)
    except (KeyError, ValueError) as exc:
        raise ScaffoldError(f"template {where} is broken: {exc!r}") from exc


def _fill(template: Traversable, variables: dict[str, str]) -> str:
    return _fill_text(template.read_text(encoding="utf-8"), variables, template.name)


def render_files(names: PluginNames, manifest: Manifest) -> dict[tuple[str, ...], str]:
    """Every file of the project, by relative path, without touching the disk."""
    templates = resources.files("crypto_bot_core.scaffold") / "templates"
    variables = _variables(names, manifest)
    kind_folder = templates / names.kind.kind.value
    variables["kind_readme"] = _fill(kind_folder / f"README{_PART}", variables)
    files: dict[tuple[str, ...], str] = {}
    for folder in ("common", names.kind.kind.value):
        for parts, text in _walk(templates / folder):
            if parts[-1].endswith(_PART):
                continue  # a fragment, filled into another template
            where = f"{folder}/{'/'.join(parts)}"
            filled = _fill_text(text, variables, where) if parts[-1].endswith(".tmpl") else text
            files[_target(parts, names.package)] = filled
    manifest_json = manifest.model_dump(mode="json", exclude_none=True)
    files[(names.package, "manifest.json")] = json.dumps(manifest_json, indent=2) + "\n"
    return files


def new_plugin(
    kind: PluginKind | str,
    name: str,
    directory: Path,
    *,
    package: str | None = None,
    license_id: str = "Apache-2.0",
) -> NewPlugin:
    """Write a plugin project for ``name`` of ``kind`` into ``directory/name``.

    Refuses to write into an existing non-empty folder, so it never overwrites work.
    """
    try:
        plugin_kind = PluginKind(kind)
    except ValueError as exc:
        choices = ", ".join(k.value for k in PluginKind)
        raise ScaffoldError(f"kind {kind!r} is not one of {choices}") from exc
    names = derive_names(name, plugin_kind, package)
    manifest = build_manifest(names, license_id)
    root = directory / names.plugin
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(
            f"{root} already exists and is not an empty folder; choose another name or "
            "--dir, or move it away"
        )
    files = render_files(names, manifest)
    written: list[Path] = []
    for parts, content in sorted(files.items()):
        path = root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return NewPlugin(names=names, root=root, files=tuple(written), manifest=manifest)
