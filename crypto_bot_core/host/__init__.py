"""The plugin host: discovery, checks, loading, registry and the fence around plugin calls.

Typical use::

    host = Host().load()                      # reads CRYPTOBOT_PLUGINS & co.
    for record in host.records: ...           # loaded / refused / disabled, with reasons
    info = host.resolve(PluginKind.EXCHANGE, "paper-exchange")
    adapter = host.fence(info.plugin).call(info.cls.from_config, raw, key="exchanges[0].config")

See ``docs/plugin-guide/host.md``.
"""

from crypto_bot_core.host.discovery import PluginCandidate, discover, locate_manifest
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.host.host import Host
from crypto_bot_core.host.records import ComponentInfo, PluginRecord, PluginStatus, api_range
from crypto_bot_core.host.registry import ComponentRegistry, UnknownComponentError
from crypto_bot_core.host.selection import AUTOLOAD_ENV, PLUGINS_ENV, Selection

__all__ = [
    "AUTOLOAD_ENV",
    "PLUGINS_ENV",
    "ComponentInfo",
    "ComponentRegistry",
    "Fence",
    "Host",
    "PluginCandidate",
    "PluginRecord",
    "PluginStatus",
    "Selection",
    "UnknownComponentError",
    "api_range",
    "discover",
    "locate_manifest",
]
