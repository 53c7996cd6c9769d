"""What a wheel declares, read from the archive itself: nothing is installed or imported.

The init step must refuse a plugin *before* anything lands on the host's path,
so everything it decides on comes from the zip: the distribution's name and
version (``METADATA``), its requirements (``Requires-Dist``), its compatibility
tags (file name), the ``crypto_bot.plugins`` entry points (``entry_points.txt``)
and, for each entry point, the ``manifest.json`` at the place the host will
look for it once installed (the directory of the entry-point module's package).
"""

from __future__ import annotations

import configparser
import posixpath
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from crypto_bot_sdk import ENTRY_POINT_GROUP, MANIFEST_FILENAME, Manifest, ManifestError


class WheelError(ValueError):
    """A file is not a wheel this host can read; the message names the file."""


@dataclass(frozen=True, slots=True)
class PluginEntry:
    """One ``crypto_bot.plugins`` entry point of a wheel and the manifest found for it."""

    name: str
    value: str
    manifest_path: str
    """Path of the manifest inside the wheel (``pkg/manifest.json``)."""
    manifest: Manifest | None
    manifest_error: str | None
    """Why the manifest could not be used; set exactly when ``manifest`` is None."""


@dataclass(frozen=True, slots=True)
class WheelInfo:
    """The facts about one wheel the install step checks before installing it."""

    path: Path
    distribution: NormalizedName
    display_name: str
    version: str
    tags: frozenset[Tag]
    requires: tuple[Requirement, ...]
    plugins: tuple[PluginEntry, ...]

    @property
    def filename(self) -> str:
        return self.path.name

    def runs_here(self, supported: frozenset[Tag] | None = None) -> bool:
        """Whether one of the wheel's tags is supported by this interpreter and platform."""
        return not self.tags.isdisjoint(supported if supported is not None else _SUPPORTED)


_SUPPORTED: frozenset[Tag] = frozenset(sys_tags())


def _dist_info_dir(archive: zipfile.ZipFile, path: Path) -> str:
    tops = {name.split("/", 1)[0] for name in archive.namelist()}
    dist_infos = sorted(top for top in tops if top.endswith(".dist-info"))
    if len(dist_infos) != 1:
        raise WheelError(
            f"{path.name}: a wheel holds exactly one .dist-info directory, found {dist_infos}"
        )
    return dist_infos[0]


def _entry_points(text: str, source: str) -> list[tuple[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise WheelError(f"{source} is not a valid entry_points.txt: {exc}") from exc
    if not parser.has_section(ENTRY_POINT_GROUP):
        return []
    return [(name.strip(), value.strip()) for name, value in parser.items(ENTRY_POINT_GROUP)]


def manifest_location(entry_point_value: str) -> str:
    """Where the host looks for the manifest of ``pkg.sub.module``: ``pkg/sub/manifest.json``.

    The same rule as :func:`crypto_bot_core.host.discovery.locate_manifest`, applied to
    paths inside the wheel (its root is the install target's root).
    """
    module = entry_point_value.partition(":")[0].strip()
    parts = [part for part in module.split(".") if part]
    package = parts[:-1] if len(parts) > 1 else parts
    return posixpath.join(*package, MANIFEST_FILENAME) if package else MANIFEST_FILENAME


def _read_manifest(archive: zipfile.ZipFile, where: str, path: Path) -> Manifest | str:
    """The manifest at ``where``, or why there is none usable."""
    try:
        raw = archive.read(where)
    except KeyError:
        return f"the wheel has no {where}, where the host will look for the manifest"
    try:
        return Manifest.from_json(raw, source=f"{path.name}:{where}")
    except ManifestError as exc:
        return exc.reason


def _plugin_entries(archive: zipfile.ZipFile, dist_info: str, path: Path) -> list[PluginEntry]:
    ep_path = f"{dist_info}/entry_points.txt"
    if ep_path not in archive.namelist():
        return []
    text = archive.read(ep_path).decode("utf-8")
    entries: list[PluginEntry] = []
    for name, value in _entry_points(text, f"{path.name}:{ep_path}"):
        where = manifest_location(value)
        found = _read_manifest(archive, where, path)
        if isinstance(found, str):
            entries.append(PluginEntry(name, value, where, None, found))
        else:
            entries.append(PluginEntry(name, value, where, found, None))
    return entries


def read_wheel(path: Path) -> WheelInfo:
    """Read ``path``'s metadata, entry points and manifests; :class:`WheelError` if unreadable."""
    try:
        name, version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{path.name} is not a wheel file name: {exc}") from exc
    try:
        with zipfile.ZipFile(path) as archive:
            dist_info = _dist_info_dir(archive, path)
            try:
                metadata = HeaderParser().parsestr(
                    archive.read(f"{dist_info}/METADATA").decode("utf-8")
                )
            except KeyError as exc:
                raise WheelError(f"{path.name} has no {dist_info}/METADATA") from exc
            plugins = _plugin_entries(archive, dist_info, path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WheelError(f"{path.name} is not a readable zip archive: {exc}") from exc
    meta_name = metadata.get("Name", "")
    if canonicalize_name(meta_name) != name:
        raise WheelError(
            f"{path.name}: METADATA names distribution {meta_name!r}, the file name says {name}"
        )
    requires: list[Requirement] = []
    for line in metadata.get_all("Requires-Dist") or ():
        try:
            requires.append(Requirement(line))
        except InvalidRequirement as exc:
            raise WheelError(f"{path.name}: Requires-Dist {line!r} is invalid: {exc}") from exc
    return WheelInfo(
        path=path,
        distribution=name,
        display_name=meta_name,
        version=str(version),
        tags=frozenset(tags),
        requires=tuple(requires),
        plugins=tuple(plugins),
    )
