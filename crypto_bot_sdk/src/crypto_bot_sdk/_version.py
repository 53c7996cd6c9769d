"""Versions of the SDK distribution and of the plugin contract it defines.

``__version__`` is the distribution's release. ``API_VERSION`` is the semver of
the plugin contract (models, contracts, hooks, manifest): a plugin built for
API ``X.Y.Z`` runs on a host whose API has the same major version ``X`` and a
minor version of at least ``Y``. See ``docs/plugin-guide/versioning.md``.
"""

__version__ = "0.1.0"
API_VERSION = "1.1.0"
