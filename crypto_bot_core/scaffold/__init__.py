"""``cryptobot plugin new``: a plugin project that passes the conformance kit as generated.

One project per plugin, in the shape every plugin of this repository has
(``docs/plugin-guide/package.md``): a hatchling ``pyproject.toml`` with the
``crypto_bot.plugins`` entry point, the package with ``manifest.json``, a frozen
config model and the component, tests that run the SDK's conformance kit, a
Dockerfile for the plugin image and a README.
"""

from crypto_bot_core.scaffold.generate import CAPABILITIES, NewPlugin, new_plugin, render_files
from crypto_bot_core.scaffold.naming import KINDS, PluginNames, ScaffoldError, derive_names

__all__ = [
    "CAPABILITIES",
    "KINDS",
    "NewPlugin",
    "PluginNames",
    "ScaffoldError",
    "derive_names",
    "new_plugin",
    "render_files",
]
