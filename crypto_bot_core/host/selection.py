"""Which discovered plugins the host loads: the two environment switches.

``CRYPTOBOT_PLUGINS=a,b``
    Load only the entry-point plugins named (comma-separated, spaces ignored;
    set but empty loads none). Every other discovered plugin is listed with
    status ``disabled``. A name that
    no installed distribution provides is reported as a refused plugin, so a
    typo is visible in ``cryptobot plugins doctor`` instead of silently ignored.

``CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD=1``
    Turn entry-point autoloading off: discovered plugins are listed as
    ``disabled`` unless named in ``CRYPTOBOT_PLUGINS``. With both unset nothing
    changes; with autoload off and no list, no entry-point plugin loads.
    Plugins registered in code (:meth:`Host.register_plugin`) always load:
    registering one is already an explicit choice.

Manifests of disabled plugins are still read (no code runs) so listings show
their versions and kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crypto_bot_sdk import ConfigError

PLUGINS_ENV = "CRYPTOBOT_PLUGINS"
AUTOLOAD_ENV = "CRYPTOBOT_DISABLE_PLUGIN_AUTOLOAD"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Selection:
    """The decision rule; build it with :func:`selection_from_env` or directly."""

    only: frozenset[str] | None = None
    """Names to load from entry points; ``None`` means all of them."""
    autoload: bool = True

    def disabled_reason(self, name: str) -> str | None:
        """Why entry-point plugin ``name`` is not loaded, or ``None`` if it is."""
        if self.only is not None and name in self.only:
            return None
        if not self.autoload:
            return (
                f"plugin autoload is off ({AUTOLOAD_ENV}=1) and {name!r} is not named in "
                f"{PLUGINS_ENV}"
            )
        if self.only is not None:
            listed = ",".join(sorted(self.only)) or "<empty>"
            return f"not named in {PLUGINS_ENV}={listed}"
        return None

    def wanted(self) -> frozenset[str]:
        """Names explicitly asked for, which must exist."""
        return self.only or frozenset()


def parse_names(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def parse_switch(value: str, *, variable: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(
        f"{value!r} is not a switch value; use 1 (on) or 0 (off)",
        key=variable,
    )


def selection_from_env(
    environ: Mapping[str, str],
    *,
    only: Iterable[str] | None = None,
    autoload: bool | None = None,
) -> Selection:
    """The selection the environment asks for; explicit arguments win over the environment."""
    if only is None and PLUGINS_ENV in environ:
        only = parse_names(environ[PLUGINS_ENV])
    if autoload is None:
        autoload = not parse_switch(environ.get(AUTOLOAD_ENV, ""), variable=AUTOLOAD_ENV)
    return Selection(only=frozenset(only) if only is not None else None, autoload=autoload)
