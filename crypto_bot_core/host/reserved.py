"""The plugin names of crypto-bot-core's built-ins are reserved.

A third-party distribution that declares, say, ``technical-agents`` would
otherwise be a "duplicate" of the built-in, and the duplicate rule refuses
*both*: one ``pip install`` of a careless (or hostile) package would take the
platform's own strategies, venues or risk rules away and the default
``cryptobot run`` would fail. The built-ins are part of the host itself, so
the newcomer is refused and the built-in kept. The Helm chart and the image's
install step (:mod:`crypto_bot_core.deploy`) apply the same rule, so a
deployment refuses such a plugin before it is installed at all.

The names are listed here rather than read from the core's installed metadata:
the host must know them even when the core runs from a source tree or a
``--target`` directory without ``.dist-info``; a test keeps this list equal to
the entry points of ``pyproject.toml``.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from crypto_bot_sdk import DuplicatePluginError

CORE_DISTRIBUTION = "crypto-bot-core"
"""The distribution that ships the built-in plugins."""

RESERVED_PLUGIN_NAMES: frozenset[str] = frozenset(
    {
        "fixed-selector",
        "paper-exchange",
        "replay",
        "risk-engine",
        "standard-oversight",
        "standard-reporters",
        "standard-risk",
        "synthetic-market",
        "technical-agents",
    }
)
"""Entry-point names of the built-in plugins (``[project.entry-points."crypto_bot.plugins"]``)."""


class ReservedPluginNameError(DuplicatePluginError):
    """A plugin from another distribution uses the name of a built-in plugin."""


def is_core_distribution(distribution: str | None) -> bool:
    """Whether ``distribution`` is crypto-bot-core itself (any spelling pip accepts)."""
    return distribution is not None and canonicalize_name(distribution) == CORE_DISTRIBUTION


def reserved_name_problem(name: str, distribution: str | None) -> str | None:
    """Why ``distribution`` may not provide a plugin called ``name``; None when it may."""
    if name not in RESERVED_PLUGIN_NAMES or is_core_distribution(distribution):
        return None
    return (
        f"the name {name!r} is reserved for the built-in plugin of {CORE_DISTRIBUTION}, "
        "which stays loaded; this plugin is not loaded"
    )
