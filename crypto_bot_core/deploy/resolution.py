"""Checks across bundles: which wheels to install, and whether their requirements are met.

The install step uses no resolver: the wheels the images carried are the whole
set. So it checks what a resolver would have refused. Two plugins bringing
different builds of one library conflict; a plugin may not bring another
version of a library the host image already has (its directory is on the
host's path, so the host's own libraries would be shadowed or the plugin's
ignored); and every ``Requires-Dist`` of every wheel to install must be met
by the host's distributions or by another staged wheel.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from crypto_bot_core.deploy.wheels import WheelInfo

if TYPE_CHECKING:
    from crypto_bot_core.deploy.staged import StagedPlugin


def host_distributions(paths: Iterable[str]) -> dict[NormalizedName, str]:
    """``{canonical name: version}`` of what is installed on ``paths`` (first one wins)."""
    found: dict[NormalizedName, str] = {}
    for dist in importlib.metadata.distributions(path=list(paths)):
        found.setdefault(canonicalize_name(dist.name), dist.version)
    return found


def _requirement_met(req: Requirement, available: Mapping[NormalizedName, str]) -> bool:
    version = available.get(canonicalize_name(req.name))
    return version is not None and req.specifier.contains(version, prereleases=True)


Problems = dict[str, list[str]]
"""Messages per plugin name, each starting ``plugin <name>:``."""


def _fail(problems: Problems, plugin: StagedPlugin, message: str) -> None:
    problems.setdefault(plugin.name, []).append(f"plugin {plugin.name}: {message}")


def _host_overlap(plugin: StagedPlugin, wheel: WheelInfo, have: str, problems: Problems) -> None:
    """``wheel``'s distribution is in the host image: skipped if the same version, else refused."""
    if any(entry.name == plugin.name for entry in wheel.plugins):
        _fail(
            problems,
            plugin,
            f"distribution {wheel.display_name} {have} is already installed in the host "
            "image; remove it from plugins: or use a host image without it",
        )
    elif have != wheel.version:
        _fail(
            problems,
            plugin,
            f"brings {wheel.filename}, but the host image has {wheel.display_name} {have}; a "
            "plugin may not replace the host's libraries: build it against the host's version",
        )


def _one_build_each(
    brought: Mapping[NormalizedName, list[tuple[StagedPlugin, WheelInfo]]], problems: Problems
) -> dict[NormalizedName, WheelInfo]:
    """One wheel per distribution; every plugin bringing a differing build is refused."""
    chosen: dict[NormalizedName, WheelInfo] = {}
    for dist, bringers in brought.items():
        builds = {(wheel.version, plugin.digests[wheel.filename]) for plugin, wheel in bringers}
        if len(builds) == 1:
            chosen[dist] = bringers[0][1]
            continue
        # Like two plugins of one name: which build would win is arbitrary, so none does.
        for plugin, wheel in bringers:
            others = ", ".join(
                f"{w.filename} from plugin {p.name}" for p, w in bringers if p is not plugin
            )
            _fail(
                problems,
                plugin,
                f"brings {wheel.filename}, which conflicts with {others}; align their versions",
            )
    return chosen


def _unmet_requirements(
    staged: list[StagedPlugin], available: Mapping[NormalizedName, str], problems: Problems
) -> None:
    for plugin in staged:
        for wheel in plugin.wheels:
            for req in wheel.requires:
                if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                    continue
                if _requirement_met(req, available):
                    continue
                present = available.get(canonicalize_name(req.name))
                state = f"found {present}" if present else "not installed"
                _fail(
                    problems,
                    plugin,
                    f"{wheel.filename} requires {req} ({state}); add the dependency's wheel to "
                    "the plugin image, or use a host image that has it",
                )


def cross_checks(
    staged: list[StagedPlugin], host: Mapping[NormalizedName, str]
) -> tuple[list[WheelInfo], Problems]:
    """The wheels to install (deduplicated, host-provided ones dropped) and problems per plugin."""
    problems: Problems = {}
    brought: dict[NormalizedName, list[tuple[StagedPlugin, WheelInfo]]] = {}
    for plugin in staged:
        for wheel in plugin.wheels:
            if wheel.distribution in host:
                _host_overlap(plugin, wheel, host[wheel.distribution], problems)
            else:
                brought.setdefault(wheel.distribution, []).append((plugin, wheel))
    chosen = _one_build_each(brought, problems)
    available = dict(host)
    available.update({dist: wheel.version for dist, wheel in chosen.items()})
    _unmet_requirements(staged, available, problems)
    return list(chosen.values()), problems
