"""Observation hooks: what plugins hear about a run (signals, orders, fills, ledger records).

The SDK's hook specifications promise plugins these calls; the engine makes
them through the host, each implementation behind its plugin's fence. Only
hooks some plugin implements are called at all, so a run with no observers
pays nothing. A failing observer never stops trading: its error becomes one
alert record per plugin and hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from crypto_bot_sdk import PluginError, RecordType

HOOKS = (
    "cryptobot_engine_started",
    "cryptobot_engine_stopped",
    "cryptobot_signal",
    "cryptobot_order_update",
    "cryptobot_fill",
    "cryptobot_alert",
    "cryptobot_ledger_record",
)


class HookHost(Protocol):
    """What the engine needs of the host: who implements a hook, and a fenced call."""

    @property
    def hook(self) -> Any: ...

    def notify(self, hook_name: str, /, **kwargs: Any) -> list[PluginError]: ...


class Observers:
    """Calls the observation hooks that loaded plugins implement."""

    def __init__(
        self, host: HookHost, record_failure: Callable[[str, PluginError], object]
    ) -> None:
        self._host = host
        self._record_failure = record_failure
        self.active = frozenset(name for name in HOOKS if getattr(host.hook, name).get_hookimpls())
        self._reported: set[tuple[str, str | None]] = set()

    def wants(self, hook_name: str) -> bool:
        return hook_name in self.active

    def emit(self, hook_name: str, /, **kwargs: Any) -> None:
        if hook_name not in self.active:
            return
        for error in self._host.notify(hook_name, **kwargs):
            key = (hook_name, error.plugin)
            if key not in self._reported:
                self._reported.add(key)
                self._record_failure(hook_name, error)


def alert_record(hook_name: str, error: PluginError) -> tuple[RecordType, dict[str, Any]]:
    """The ledger record of an observer's failure (recorded once per plugin and hook)."""
    return RecordType.ALERT, {
        "source": error.plugin or "plugin",
        "severity": "warning",
        "title": f"observer failed in {hook_name}",
        "detail": str(error),
        "event": "observer_failed",
    }
