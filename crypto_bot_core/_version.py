"""The core's release; plugin manifests' ``compatible_core_version`` is checked against it."""

__version__ = "0.1.0"
