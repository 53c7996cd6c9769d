"""The one YAML config file: models, loading with env overrides, and resolution to components.

Typical use::

    loaded = load_config("deploy.yaml")        # or default_config()
    resolved = resolve_instances(loaded, Host().load())   # builds every configured component
    exchanges = resolved.by_name("exchanges")  # {instance name: ExchangeAdapter}

Errors are :class:`ConfigFileError`: each problem names the dotted key and the
line of the file (or the ``CRYPTOBOT__...`` variable) that set it.
See ``docs/plugin-guide/host.md``.
"""

from crypto_bot_core.config.env_overrides import ENV_PREFIX, apply_env_overrides
from crypto_bot_core.config.loader import (
    LoadedConfig,
    SourceMap,
    config_json_schema,
    default_config,
    default_config_text,
    load_config,
    parse_config,
)
from crypto_bot_core.config.models import (
    SECTION_KINDS,
    CryptoBotConfig,
    InstanceSpec,
    LedgerSettings,
    Mode,
    PolicySettings,
    RunSettings,
)
from crypto_bot_core.config.resolve import ResolvedConfig, ResolvedInstance, resolve_instances
from crypto_bot_core.support.yaml_errors import (
    ConfigFileError,
    ConfigProblem,
    format_key,
    parse_key,
)

__all__ = [
    "ENV_PREFIX",
    "SECTION_KINDS",
    "ConfigFileError",
    "ConfigProblem",
    "CryptoBotConfig",
    "InstanceSpec",
    "LedgerSettings",
    "LoadedConfig",
    "Mode",
    "PolicySettings",
    "ResolvedConfig",
    "ResolvedInstance",
    "RunSettings",
    "SourceMap",
    "apply_env_overrides",
    "config_json_schema",
    "default_config",
    "default_config_text",
    "format_key",
    "load_config",
    "parse_config",
    "parse_key",
    "resolve_instances",
]
