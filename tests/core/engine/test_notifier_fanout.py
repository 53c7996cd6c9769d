"""Notifiers: every alert the ledger records reaches every notifier, through its fence with a
time budget, off the tick; a failing, hanging or backlogged notifier is recorded once and never
stops trading.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fence_parts import Momentum, market, run, sqlite_ledger, venue

from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.observers import AlertFanout, NotifierSlot, notifier_failure_record
from crypto_bot_core.engine.oversight import Oversight
from crypto_bot_core.engine.policy import PolicyRegistry
from crypto_bot_core.engine.risk import RiskPipeline
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.ledger import Ledger
from crypto_bot_sdk import Alert, AlertSeverity, Notifier, PluginConfig, RecordType

TS = datetime(2024, 1, 1, tzinfo=UTC)


class Inbox(Notifier[PluginConfig]):
    """Keeps what it is sent; ``mode`` makes it fail or hang instead."""

    name = "inbox"

    def __init__(self, mode: str = "ok") -> None:
        super().__init__(PluginConfig())
        self.mode = mode
        self.alerts: list[Alert] = []
        self.started = self.closed = 0

    async def start(self) -> None:
        self.started += 1

    async def close(self) -> None:
        self.closed += 1

    async def notify(self, alert: Alert) -> None:
        if self.mode == "fail":
            raise ConnectionRefusedError("chat service down")
        if self.mode == "hang":
            await asyncio.Event().wait()
        self.alerts.append(alert)


def fanout(
    ledger: Ledger, *notifiers: tuple[str, Inbox], budget: float | None = 1.0
) -> AlertFanout:
    slots = [NotifierSlot(name, inbox, Fence(f"{name}-plugin")) for name, inbox in notifiers]
    result = AlertFanout(
        slots,
        budget=budget,
        record_failure=lambda slot, kind, detail: ledger.append(
            *notifier_failure_record(slot, kind, detail)
        ),
    )
    ledger.subscribe(result.record)
    return result


def alert_payload(title: str, **extra: Any) -> dict[str, Any]:
    return {"source": "risk_monitor", "severity": "high", "title": title, **extra}


def test_alert_records_reach_every_notifier_once_and_nothing_else_does(tmp_path: Path) -> None:
    ledger = sqlite_ledger(tmp_path)
    first, second = Inbox(), Inbox()

    async def scenario() -> AlertFanout:
        out = fanout(ledger, ("chat", first), ("pager", second))
        ledger.append(RecordType.DECISION, {"symbol": "X", "outcome": "rejected"}, ts=TS)
        ledger.append(
            RecordType.ALERT,
            alert_payload("var above its limit", figures={"value": "61"}, event="oversight_alert"),
            ts=TS,
        )
        ledger.append(RecordType.KILL_SWITCH, {"run_id": "r", "reason": "operator"}, ts=TS)
        ledger.append(RecordType.SYSTEM_STOP, {"run_id": "r", "reason": "kill", "problems": []})
        await out.close()
        return out

    out = asyncio.run(scenario())
    ledger.close()
    for inbox in (first, second):
        assert [(a.severity, a.source, a.title) for a in inbox.alerts] == [
            (AlertSeverity.HIGH, "risk_monitor", "var above its limit"),
            (
                AlertSeverity.CRITICAL,
                "kill-switch",
                "kill switch: trading stopped, open orders cancelled, positions flattened",
            ),
        ]
        var, kill = inbox.alerts
        assert var.figures == {"value": "61", "event": "oversight_alert", "ledger_sequence": "1"}
        assert kill.detail == "operator"
        assert (inbox.started, inbox.closed) == (1, 1)
    assert (out.delivered, out.dropped, out.pending) == (4, 0, 0)


def test_a_failing_notifier_is_recorded_once_and_the_others_hear_of_it(tmp_path: Path) -> None:
    ledger = sqlite_ledger(tmp_path)
    broken, fine = Inbox("fail"), Inbox()

    async def scenario() -> None:
        out = fanout(ledger, ("chat", broken), ("pager", fine))
        for n in range(3):
            ledger.append(RecordType.ALERT, alert_payload(f"alert {n}"), ts=TS)
            await out.pump()
        await out.close()

    asyncio.run(scenario())
    records = list(ledger.records())
    ledger.close()
    failures = [r.payload for r in records if r.payload.get("event") == "notifier_failed"]
    assert len(failures) == 1
    assert failures[0]["source"] == "chat"
    assert "ConnectionRefusedError: chat service down" in failures[0]["detail"]
    assert "plugin chat-plugin" in failures[0]["detail"]
    titles = [a.title for a in fine.alerts]
    assert titles[:2] == ["alert 0", "notifier failed to deliver an alert"]
    assert titles[2:] == ["alert 1", "alert 2"]
    assert broken.alerts == []


def test_a_hanging_notifier_is_cut_off_at_its_budget(tmp_path: Path) -> None:
    ledger = sqlite_ledger(tmp_path)
    hanging, fine = Inbox("hang"), Inbox()

    async def scenario() -> None:
        out = fanout(ledger, ("slow", hanging), ("pager", fine), budget=0.01)
        ledger.append(RecordType.ALERT, alert_payload("first"), ts=TS)
        # the append returned at once: the deliveries run as tasks, none was awaited here
        assert out.pending == 2
        await asyncio.sleep(0.05)
        ledger.append(RecordType.ALERT, alert_payload("second"), ts=TS)
        await out.close()

    asyncio.run(scenario())
    records = list(ledger.records())
    ledger.close()
    (failure,) = [r.payload for r in records if r.payload.get("event") == "notifier_failed"]
    assert failure["title"] == "notifier over its time budget"
    assert "did not finish within its 0.01 s budget" in failure["detail"]
    assert [a.title for a in fine.alerts] == ["first", "notifier over its time budget", "second"]


def test_a_notifier_that_falls_behind_has_alerts_dropped_and_that_recorded(
    tmp_path: Path,
) -> None:
    ledger = sqlite_ledger(tmp_path)
    stuck = Inbox("hang")

    async def scenario() -> AlertFanout:
        out = fanout(ledger, ("stuck", stuck), budget=None)
        for n in range(105):
            ledger.append(RecordType.ALERT, alert_payload(f"alert {n}"), ts=TS)
        for task in list(out._tasks):
            task.cancel()
        await asyncio.sleep(0)
        return out

    out = asyncio.run(scenario())
    records = list(ledger.records())
    ledger.close()
    assert out.dropped == 5
    (failure,) = [r.payload for r in records if r.payload.get("event") == "notifier_failed"]
    assert failure["title"] == "notifier fell behind; alerts to it are being dropped"


def test_alerts_recorded_outside_the_event_loop_wait_for_the_next_pump(tmp_path: Path) -> None:
    ledger = sqlite_ledger(tmp_path)
    inbox = Inbox()
    out = fanout(ledger, ("chat", inbox))
    ledger.append(RecordType.ALERT, alert_payload("before the loop"), ts=TS)
    assert out.pending == 1
    asyncio.run(out.close())
    ledger.close()
    assert [a.title for a in inbox.alerts] == ["before the loop"]


def test_the_kill_switch_and_failing_parts_reach_notifiers_while_the_session_trades_on(
    tmp_path: Path,
) -> None:
    """A paper session: a hanging notifier never holds up a tick (the session settles and
    stops while its delivery is still waiting), and the working one hears of the kill switch."""
    ledger = sqlite_ledger(tmp_path)
    hanging, inbox = Inbox("hang"), Inbox()
    engine: Engine

    def kill_at_bar_40() -> str | None:
        return "operator stop" if engine.stats.bars == 40 else None

    notifiers = AlertFanout(
        [
            NotifierSlot("slow", hanging, Fence("slow-plugin")),
            NotifierSlot("chat", inbox, Fence("chat-plugin")),
        ],
        budget=0.01,
        record_failure=lambda slot, kind, detail: engine.ledger.append(
            *notifier_failure_record(slot, kind, detail)
        ),
    )
    ledger.subscribe(notifiers.record)
    engine = Engine(
        run_id="notify-test",
        data_sources=[market(bars=80)],
        agents={"momentum": Momentum(PluginConfig())},
        exchanges={"sim": venue()},
        policies=PolicyRegistry.from_mapping(
            {"policies": {"trend": {"agents": [{"agent": "momentum"}]}}, "default": "trend"}
        ),
        risk=RiskPipeline(),
        ledger=ledger,
        sizing=SizingConfig(notional_per_symbol=Decimal(1000)),
        mode="paper",
        kill_requested=kill_at_bar_40,
        oversight=Oversight(notifiers=notifiers),
    )
    asyncio.run(run(engine))
    records = list(ledger.records())
    ledger.close()

    assert any(r.type is RecordType.KILL_SWITCH for r in records)
    assert engine.stats.fills > 0
    assert records[-1].type is RecordType.SYSTEM_STOP
    assert records[-1].payload["reason"] == "settled after the kill switch"
    assert hanging.alerts == []
    # The hanging notifier's overrun is recorded at close, before the stop record, and the
    # working notifier hears of that too.
    (kill,) = [a for a in inbox.alerts if a.source == "kill-switch"]
    others = [a.title for a in inbox.alerts if a.source != "kill-switch"]
    assert others == ["notifier over its time budget"]
    assert (kill.source, kill.figures["event"]) == ("kill-switch", "kill_switch")
    assert kill.detail == "operator stop"
    assert kill.severity is AlertSeverity.CRITICAL
