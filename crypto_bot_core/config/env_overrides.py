"""Environment-variable overrides of config values: ``CRYPTOBOT__SECTION__KEY=value``.

The rule, exactly:

* a variable whose name starts with ``CRYPTOBOT__`` (two underscores) is an
  override; the rest of the name is split on ``__`` into path segments;
* each segment is lowercased and names a mapping key; inside a list, a segment
  of digits is an index (``CRYPTOBOT__EXCHANGES__0__CONFIG__TAKER_FEE``) and any
  other segment selects the entry whose ``name`` matches case-insensitively
  (``CRYPTOBOT__EXCHANGES__PAPER__CONFIG__TAKER_FEE``);
* missing mapping keys on the way are created; a list index past the end or an
  unknown entry name is an error (overrides change entries, they don't add them);
* the value is parsed as YAML (``0.001`` a number, ``true`` a bool, ``[a, b]`` a
  list, an empty value null); to force a string, quote it: ``'"0001"'``;
* variables are applied in sorted name order, so a longer path set after its
  parent wins over the parent's value.

Config keys written in upper case cannot be reached (segments are lowercased).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from crypto_bot_core.support.yaml_errors import ConfigFileError, ConfigProblem, Loc, format_key

ENV_PREFIX = "CRYPTOBOT__"


class _OverrideError(Exception):
    pass


def _entry_name(entry: object) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    name = entry.get("name")
    if name is None and isinstance(entry.get("plugin"), str):
        # The default instance name (see InstanceSpec): the component part of the address.
        name = str(entry["plugin"]).rpartition(":")[2]
    return str(name) if name is not None else None


def _step(container: Any, segment: str, loc: Loc) -> str | int:
    """The key or index ``segment`` means inside ``container``."""
    if isinstance(container, dict):
        return segment.lower()
    if isinstance(container, list):
        if segment.isdigit():
            index = int(segment)
            if index >= len(container):
                raise _OverrideError(
                    f"index {index} is out of range: {format_key(loc)} has "
                    f"{len(container)} entries (overrides change entries, they don't add them)"
                )
            return index
        names = [_entry_name(entry) for entry in container]
        for index, name in enumerate(names):
            if name is not None and name.lower() == segment.lower():
                return index
        listing = ", ".join(n for n in names if n) or "none"
        raise _OverrideError(
            f"{format_key(loc)} has no entry named {segment.lower()!r} (names: {listing}); "
            "use the entry's name or its index"
        )
    raise _OverrideError(
        f"{format_key(loc)} is {container!r}, not a mapping or list, so it has no key {segment!r}"
    )


def _apply(data: dict[str, Any], segments: list[str], value: Any) -> Loc:
    container: Any = data
    loc: Loc = ()
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        key = _step(container, segment, loc)
        loc = (*loc, key)
        if last:
            container[key] = value
            break
        if isinstance(container, dict) and container.get(key) is None:
            container[key] = {}  # a section or ``config`` mapping not written in the file
        container = container[key]
    return loc


def apply_env_overrides(
    data: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[Loc, str]]:
    """A copy of ``data`` with the overrides applied, and which variable set which path."""
    result: dict[str, Any] = copy.deepcopy(dict(data))
    applied: dict[Loc, str] = {}
    problems: list[ConfigProblem] = []
    for variable in sorted(name for name in environ if name.startswith(ENV_PREFIX)):
        segments = variable[len(ENV_PREFIX) :].split("__")
        if not all(segments):
            problems.append(
                ConfigProblem(
                    key=variable,
                    message="empty path segment; write CRYPTOBOT__SECTION__KEY with single "
                    "underscores only inside names",
                    env_var=variable,
                )
            )
            continue
        try:
            value = yaml.safe_load(environ[variable])
        except yaml.YAMLError as exc:
            problems.append(
                ConfigProblem(
                    key=variable,
                    message=f"value is not valid YAML ({exc}); quote it to pass a string",
                    env_var=variable,
                )
            )
            continue
        try:
            applied[_apply(result, segments, value)] = variable
        except _OverrideError as exc:
            problems.append(ConfigProblem(key=variable, message=str(exc), env_var=variable))
    if problems:
        raise ConfigFileError("environment", problems)
    return result, applied
