"""Finding plugins and their manifests without running a line of their code.

Discovery reads installed distributions' entry points (group
``crypto_bot.plugins``) and locates each plugin's ``manifest.json`` from the
entry point's module path alone: the manifest sits in the directory of the
module's package, so ``importlib.util.find_spec`` of the *top-level* package
(which imports nothing) plus path joins finds it. Only if that fails do we
fall back to the distribution's file list (``RECORD``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

from packaging.utils import canonicalize_name

from crypto_bot_sdk import ENTRY_POINT_GROUP, MANIFEST_FILENAME, ManifestError


@dataclass(frozen=True, slots=True)
class PluginCandidate:
    """An entry point in our group: a plugin the host may load."""

    name: str
    """The entry point's name, which must equal the manifest's ``name``."""
    value: str
    """``package.module`` or ``package.module:attribute``."""
    distribution: str
    distribution_version: str
    entry_point: importlib.metadata.EntryPoint
    dist: importlib.metadata.Distribution

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()


def discover(paths: Sequence[str] | None = None) -> list[PluginCandidate]:
    """Every entry point of group ``crypto_bot.plugins`` on ``paths`` (default ``sys.path``).

    A distribution found twice (installed in two ``sys.path`` entries) counts
    once, the first one, exactly as ``import`` would pick it.
    """
    search = list(paths) if paths is not None else sys.path
    seen: set[str] = set()
    found: list[PluginCandidate] = []
    for dist in importlib.metadata.distributions(path=search):
        entry_points = dist.entry_points.select(group=ENTRY_POINT_GROUP)
        if not entry_points:
            continue
        dist_name = dist.name
        key = canonicalize_name(dist_name)
        if key in seen:
            continue
        seen.add(key)
        found.extend(
            PluginCandidate(
                name=ep.name,
                value=ep.value,
                distribution=dist_name,
                distribution_version=dist.version,
                entry_point=ep,
                dist=dist,
            )
            for ep in entry_points
        )
    found.sort(key=lambda c: (c.name, c.distribution))
    return found


def _package_parts(module: str) -> list[str]:
    parts = [part for part in module.split(".") if part]
    if not parts:
        raise ManifestError(f"entry point value {module!r} names no module")
    # ``a.b.c.plugin`` -> package ``a.b.c``; a bare ``pkg`` names a top-level package itself.
    return parts[:-1] if len(parts) > 1 else parts


def _top_level_spec(top: str, paths: Sequence[str] | None) -> ModuleSpec | None:
    try:
        if paths is not None:
            return PathFinder.find_spec(top, list(paths))
        return importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None


def _candidate_dirs(package: list[str], paths: Sequence[str] | None) -> Iterator[Path]:
    spec = _top_level_spec(package[0], paths)
    if spec is None or spec.submodule_search_locations is None:
        return
    for location in spec.submodule_search_locations:
        yield Path(location).joinpath(*package[1:])


def _from_record(dist: importlib.metadata.Distribution, package: list[str]) -> Path | None:
    wanted = (*package, MANIFEST_FILENAME)
    for file in dist.files or ():
        if tuple(file.parts[-len(wanted) :]) == wanted:
            located = Path(str(dist.locate_file(file))).resolve()
            if located.is_file():
                return located
    return None


def locate_manifest(candidate: PluginCandidate, paths: Sequence[str] | None = None) -> Path:
    """The path of ``candidate``'s ``manifest.json``; :class:`ManifestError` if there is none."""
    package = _package_parts(candidate.module)
    looked: list[str] = []
    for directory in _candidate_dirs(package, paths):
        path = directory / MANIFEST_FILENAME
        if path.is_file():
            return path
        looked.append(str(path))
    from_record = _from_record(candidate.dist, package)
    if from_record is not None:
        return from_record
    where = f" (looked at {', '.join(looked)})" if looked else ""
    raise ManifestError(
        f"no {MANIFEST_FILENAME} found for package {'.'.join(package)}{where}; a plugin ships "
        f"{MANIFEST_FILENAME} in the directory of the package holding its entry-point module"
    )
