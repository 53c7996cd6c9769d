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

Alerts travel further: :func:`publish_alert` writes one to the ledger and calls the
``cryptobot_alert`` hook, and :class:`AlertFanout` takes every alert the ledger
records to the configured ``notifier`` components, in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crypto_bot_core.host.fence import DEFAULT_BUDGETS, Fence, PluginTimeoutError
from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    CryptoBotError,
    LedgerRecord,
    Notifier,
    PluginError,
    RecordType,
)

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


# --- alerts: the ledger first, then the alert hook and the notifiers ---------------------


class AlertLedger(Protocol):
    """What raising an alert needs of the ledger: an append."""

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object: ...


def publish_alert(
    ledger: AlertLedger, observers: Observers | None, alert: Alert, *, event: str
) -> None:
    """Raise ``alert``: a ``system.alert`` record first (the record of what was known), then
    the ``cryptobot_alert`` hook. Notifiers hear of it from the ledger (:class:`AlertFanout`),
    like every other alert record."""
    payload: dict[str, Any] = alert.model_dump(mode="json", exclude={"ts"})
    payload["event"] = event
    ledger.append(RecordType.ALERT, payload, ts=alert.ts)
    if observers is not None:
        observers.emit("cryptobot_alert", alert=alert)


def alert_of(record: LedgerRecord) -> Alert | None:
    """The :class:`Alert` a ledger record raises, or None for a record that is no alert.

    ``system.alert`` records are alerts as written (``event`` and the record's sequence
    join the figures); the kill switch record is a critical alert, and the kill switch's
    stop record is one when something could not be cancelled or flattened.
    """
    payload = record.payload
    figures = {"ledger_sequence": str(record.sequence)}
    if record.type is RecordType.ALERT:
        raw = payload.get("figures")
        if isinstance(raw, Mapping):
            figures.update({str(k): str(v) for k, v in raw.items()})
        if payload.get("event"):
            figures["event"] = str(payload["event"])
        severity = str(payload.get("severity"))
        return Alert(
            ts=record.ts,
            severity=AlertSeverity(severity)
            if severity in AlertSeverity.__members__.values()
            else AlertSeverity.WARNING,
            source=str(payload.get("source") or "engine"),
            title=str(payload.get("title") or "alert"),
            detail=str(payload.get("detail") or ""),
            figures=figures,
        )
    if record.type is RecordType.KILL_SWITCH:
        figures["event"] = "kill_switch"
        return Alert(
            ts=record.ts,
            severity=AlertSeverity.CRITICAL,
            source="kill-switch",
            title="kill switch: trading stopped, open orders cancelled, positions flattened",
            detail=str(payload.get("reason") or ""),
            figures=figures,
        )
    problems = payload.get("problems") if record.type is RecordType.SYSTEM_STOP else None
    if problems:
        figures["event"] = "kill_switch_incomplete"
        return Alert(
            ts=record.ts,
            severity=AlertSeverity.CRITICAL,
            source="kill-switch",
            title="kill switch left work undone; finish it by hand",
            detail="; ".join(str(p) for p in problems),
            figures=figures,
        )
    return None


@dataclass
class NotifierSlot:
    """One configured notifier: its instance name, the component and its plugin's fence."""

    name: str
    notifier: Notifier[Any]
    fence: Fence
    pending: int = 0
    started: bool = False
    failed: bool = False


MAX_PENDING = 100
"""Alerts one notifier may have in flight; more are dropped (and that is recorded once)."""


class AlertFanout:
    """Takes every alert the ledger records to every configured notifier, off the tick.

    It listens to the ledger (``Ledger.subscribe``), so whatever raised the alert - an
    oversight component, a failing agent or selector, the kill switch, a data source -
    and in whichever order, a notifier hears of exactly what was recorded, after it was
    recorded. Each delivery is a task calling ``notify`` through the notifier's fence
    with the ``notifier`` budget, so a slow channel costs the engine nothing: the tick
    only gives the tasks a turn of the event loop (:meth:`pump`). A notifier that fails
    or overruns is recorded once (an alert the other notifiers hear of) and keeps being
    called; one with :data:`MAX_PENDING` deliveries in flight has further alerts dropped.

    A backtest commits its records in batches, so its notifiers hear of alerts when the
    batch is committed. :meth:`close` waits for what is in flight and closes the
    notifiers; deliveries still running when the event loop ends are lost.
    """

    def __init__(
        self,
        slots: Sequence[NotifierSlot],
        *,
        budget: float | None,
        record_failure: Callable[[NotifierSlot, str, str], object],
    ) -> None:
        self.slots = tuple(slots)
        self.budget = budget
        self._record_failure = record_failure
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: list[Alert] = []
        self.delivered = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Deliveries in flight, and alerts waiting for an event loop."""
        return len(self._tasks) + len(self._waiting)

    def record(self, record: LedgerRecord) -> None:
        """The ledger listener: an alert record is offered to every notifier."""
        alert = alert_of(record)
        if alert is not None:
            self.offer(alert)

    def offer(self, alert: Alert) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # recorded outside the engine's loop: delivered at the next pump
            if len(self._waiting) < MAX_PENDING:
                self._waiting.append(alert)
            else:
                self.dropped += 1
            return
        for slot in self.slots:
            if alert.source == slot.name and alert.figures.get("event") == "notifier_failed":
                continue  # its own failure: tell the others, not the one that failed
            if slot.pending >= MAX_PENDING:
                self.dropped += 1
                self._fail(slot, "backlog", f"{slot.pending} alerts in flight; later ones dropped")
                continue
            slot.pending += 1
            task = loop.create_task(self._deliver(slot, alert))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, slot: NotifierSlot, alert: Alert) -> None:
        try:
            if not slot.started:
                slot.started = True
                await slot.fence.call_async(slot.notifier.start, budget=self.budget)
            await slot.fence.call_async(slot.notifier.notify, alert, budget=self.budget)
            self.delivered += 1
        except CryptoBotError as exc:  # a PluginError from the fence, or the SDK error raised
            self._fail(slot, "timeout" if isinstance(exc, PluginTimeoutError) else "failed", exc)
        finally:
            slot.pending -= 1

    def _fail(self, slot: NotifierSlot, kind: str, error: object) -> None:
        if slot.failed:
            return
        slot.failed = True
        self._record_failure(slot, kind, str(error))

    async def pump(self) -> None:
        """Offer alerts recorded outside the loop, and give deliveries a turn of the loop."""
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            for alert in waiting:
                self.offer(alert)
        if self._tasks:
            await asyncio.sleep(0)

    async def close(self) -> None:
        """Wait (at most the budget) for deliveries in flight, then close each notifier that
        was started."""
        await self.pump()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.budget)
        for slot in self.slots:
            if slot.started:
                with contextlib.suppress(CryptoBotError):
                    await slot.fence.call_async(slot.notifier.close, budget=self.budget)


def notifier_failure_record(
    slot: NotifierSlot, kind: str, detail: str
) -> tuple[RecordType, dict[str, Any]]:
    """The ledger record of a notifier that failed, overran or fell behind (once per notifier)."""
    titles = {
        "failed": "notifier failed to deliver an alert",
        "timeout": "notifier over its time budget",
        "backlog": "notifier fell behind; alerts to it are being dropped",
    }
    return RecordType.ALERT, {
        "source": slot.name,
        "severity": "warning",
        "title": titles.get(kind, "notifier failed"),
        "detail": detail,
        "event": "notifier_failed",
    }
