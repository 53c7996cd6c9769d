"""Observation hooks: what plugins hear about a run (signals, orders, fills, ledger records).

The SDK's hook specifications promise plugins these calls; the engine makes
them through the host, each implementation behind its plugin's fence. Only
hooks some plugin implements are called at all, so a run with no observers
pays nothing. A failing observer never stops trading: its error becomes one
alert record per plugin and hook.

Observers are synchronous, so one that is slow cannot be interrupted; the
engine times each hook's round of calls against the observer budget and
records a slow hook once, naming the plugins that implement it, so the
operator can see what costs the loop its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from crypto_bot_core.host.fence import DEFAULT_BUDGETS, PluginTimeoutError
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
        self,
        host: HookHost,
        record_failure: Callable[[str, PluginError], object],
        budget: float | None = DEFAULT_BUDGETS["observer"],
    ) -> None:
        self._host = host
        self._record_failure = record_failure
        self.budget = budget
        """Seconds one hook's calls may take together (``budgets.observer``); None: untimed."""
        self.active = frozenset(name for name in HOOKS if getattr(host.hook, name).get_hookimpls())
        self._reported: set[tuple[str, str | None]] = set()

    def wants(self, hook_name: str) -> bool:
        return hook_name in self.active

    def emit(self, hook_name: str, /, **kwargs: Any) -> None:
        if hook_name not in self.active:
            return
        started = time.perf_counter()
        errors = self._host.notify(hook_name, **kwargs)
        elapsed = time.perf_counter() - started
        if self.budget is not None and elapsed > self.budget:
            errors = [*errors, self._slow(hook_name, elapsed, self.budget)]
        for error in errors:
            key = (hook_name, error.plugin)
            if key not in self._reported:
                self._reported.add(key)
                self._record_failure(hook_name, error)

    def _slow(self, hook_name: str, elapsed: float, budget: float) -> PluginTimeoutError:
        plugins = sorted(
            {impl.plugin_name for impl in getattr(self._host.hook, hook_name).get_hookimpls()}
        )
        return PluginTimeoutError(
            f"{hook_name} took {elapsed:.3f} s, over its {budget:g} s budget (observers are "
            "synchronous: the engine waited for them)",
            plugin=", ".join(plugins),
            budget=budget,
            where=hook_name,
        )


def alert_record(hook_name: str, error: PluginError) -> tuple[RecordType, dict[str, Any]]:
    """The ledger record of an observer's failure or overrun (once per plugin and hook)."""
    slow = isinstance(error, PluginTimeoutError)
    return RecordType.ALERT, {
        "source": error.plugin or "plugin",
        "severity": "warning",
        "title": f"observer {'over its time budget' if slow else 'failed'} in {hook_name}",
        "detail": str(error),
        "event": "observer_slow" if slow else "observer_failed",
    }
