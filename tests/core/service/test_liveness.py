"""Liveness and readiness of a service attached to an engine in this process.

``/healthz`` stays green while the engine's loop completes ticks - even when
an agent hangs on every one of them, because its fence cuts it off - and goes
red (503, with the reason) when the loop stops advancing for longer than the
loop budget. ``/readyz`` fails when the ledger store takes no writes, and when
the engine's own last call to a venue failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fence_parts import Hanging, Momentum, build_engine, market, sqlite_ledger

from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.streams import GuardedSources
from crypto_bot_core.host import Host
from crypto_bot_core.host.fence import Fence
from crypto_bot_core.service import InProcessEngineControl, ServiceSettings, create_app
from crypto_bot_core.service import control as control_module
from crypto_bot_sdk import Agent, MarketView, PluginConfig, RecordType, Signal
from service.service_fixtures import SECRET


class Blocking(Agent[PluginConfig]):
    """Blocks its thread (and so the engine's loop) inside ``evaluate`` on its 10th call,
    like a plugin doing synchronous I/O; no asyncio budget can interrupt that."""

    name = "blocking"

    def __init__(self) -> None:
        super().__init__(PluginConfig())
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        self.calls += 1
        if self.calls == 10:
            self.entered.set()
            assert self.release.wait(timeout=60), "the test never released the agent"
        return None


def _engine(agents: dict[str, Agent[Any]], fences: dict[str, Fence] | None = None) -> Engine:
    return build_engine(agents, sources=[market(bars=60)], fences=fences, run_id="live-1")


def _service(engine: Engine, host: Host, tmp_path: Path) -> tuple[InProcessEngineControl, FastAPI]:
    """The service attached to ``engine`` in this process, with a 5 s loop budget and a
    SQLite ledger of its own in ``tmp_path``."""
    control = InProcessEngineControl(engine, loop_budget_s=5.0)
    app = create_app(
        ServiceSettings(jwt_secret=SECRET),
        host=host,
        ledger=sqlite_ledger(tmp_path),
        control=control,
    )
    return control, app


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The control's monotonic clock, ``offset`` seconds ahead of the real one: the test
    moves time past a budget instead of sleeping through it."""
    fake = SimpleNamespace(offset=0.0)
    fake.monotonic = lambda: time.monotonic() + fake.offset
    monkeypatch.setattr(control_module, "time", fake)
    return fake


def test_liveness_stays_green_while_a_hanging_agent_is_cut_off_every_tick(
    tmp_path: Path, host: Host
) -> None:
    engine = _engine(
        {"momentum": Momentum(PluginConfig()), "slow": Hanging(PluginConfig())},
        {"slow": Fence("slow-plugin").with_budget(0.01)},
    )
    control, app = _service(engine, host, tmp_path)
    answers: list[tuple[int, Any]] = []
    with TestClient(app) as client:

        def probe(_ts: object) -> None:
            if engine.stats.bars % 10 == 0:  # the service answers while the engine runs
                response = client.get("/healthz")
                answers.append((response.status_code, response.json()))

        engine.on_progress = probe

        async def drive() -> None:
            await engine.start()
            control.mark_running()
            await engine.run()
            await engine.close()
            control.mark_stopped()

        asyncio.run(drive())
    assert len(answers) == 6
    assert all(answer == (200, {"status": "ok"}) for answer in answers)
    # the hanging agent was dropped on every bar and the session still traded
    assert engine.stats.agent_fallbacks == engine.stats.bars == 60
    assert engine.stats.fills > 0
    log = engine.ledger
    assert isinstance(log, MemoryAuditLog)
    alerts = [p for t, p, _ in log.records if t is RecordType.ALERT]
    assert [(a["source"], a["event"]) for a in alerts] == [("slow", "agent_fallback")]


def test_liveness_goes_red_when_the_loop_stops_advancing_past_its_budget(
    tmp_path: Path, host: Host, clock: SimpleNamespace
) -> None:
    blocking = Blocking()
    engine = _engine({"blocking": blocking})
    control, app = _service(engine, host, tmp_path)
    failures: list[BaseException] = []

    def engine_thread() -> None:
        async def drive() -> None:
            await engine.start()
            control.mark_running()
            try:
                await engine.run()
            finally:
                await engine.close()
                control.mark_stopped()

        try:
            asyncio.run(drive())
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # starting: not a stuck loop
        runner = threading.Thread(target=engine_thread, name="engine")
        runner.start()
        try:
            assert blocking.entered.wait(timeout=60), "the engine never reached the 10th bar"
            stamp = engine.last_step_monotonic
            assert stamp > 0  # nine ticks completed before the loop got stuck
            # within the budget: alive
            clock.offset = 1.0
            assert client.get("/healthz").json() == {"status": "ok"}
            # past the budget, the loop still stuck on the same tick: not alive
            clock.offset = 6.0
            response = client.get("/healthz")
            assert engine.last_step_monotonic == stamp
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["title"] == "Engine loop stalled"
            assert "the engine of run live-1 has not completed a tick for 6." in problem["detail"]
            assert "(loop budget 5 s)" in problem["detail"]
        finally:
            blocking.release.set()
            runner.join(timeout=60)
        assert not failures
        # the loop advanced again and finished: alive (and stopped) again
        assert engine.last_step_monotonic > stamp
        assert engine.stats.bars == 60
        assert client.get("/healthz").status_code == 200


def test_readiness_fails_while_the_ledger_store_takes_no_writes(tmp_path: Path, host: Host) -> None:
    ledger = sqlite_ledger(tmp_path, busy_timeout_s=0.05)
    ledger.append(RecordType.SYSTEM_START, {"run_id": "r"})
    app = create_app(ServiceSettings(jwt_secret=SECRET), host=host, ledger=ledger)
    with TestClient(app) as client:
        ready = client.get("/readyz").json()
        (check,) = [c for c in ready["checks"] if c["name"] == "ledger"]
        assert check["ok"]
        assert check["detail"].endswith("; writable")
        # Another process holds the write lock: reads work, appends cannot.
        other = sqlite3.connect(str(tmp_path / "ledger.sqlite"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            response = client.get("/readyz")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert response.status_code == 503
        (check,) = [c for c in response.json()["checks"] if c["name"] == "ledger"]
        assert not check["ok"]
        assert "locked or unwritable" in check["detail"]
        assert client.get("/readyz").status_code == 200


def test_readiness_reports_the_engines_last_failed_venue_call_until_one_succeeds() -> None:
    engine = _engine({"momentum": Momentum(PluginConfig())})
    control = InProcessEngineControl(engine)

    async def scenario() -> tuple[dict[str, str | None], dict[str, str | None]]:
        await engine.start()
        control.mark_running()
        engine.orders.venue_problems["sim"] = (
            time.monotonic(),
            "PaperExchange.submit_order gave no answer within 10 s",
        )
        failing = await control.check_exchanges(1.0)
        await engine.orders.fetch_balances("sim")  # the venue answers the engine again
        healthy = await control.check_exchanges(1.0)
        await engine.close()
        return failing, healthy

    failing, healthy = asyncio.run(scenario())
    problem = failing["sim"]
    assert problem is not None
    assert problem.startswith("the engine's last call failed 0 s ago: ")
    assert problem.endswith("PaperExchange.submit_order gave no answer within 10 s")
    assert healthy == {"sim": None}


def test_waiting_for_a_quiet_feed_is_not_a_stuck_loop_until_its_budget_is_spent(
    clock: SimpleNamespace,
) -> None:
    engine = _engine({"momentum": Momentum(PluginConfig())})
    sources = GuardedSources(engine.data_sources, budget_per_item=60.0)
    engine.data_sources = sources
    control = InProcessEngineControl(engine, loop_budget_s=5.0)

    async def running() -> None:
        control.mark_running()

    asyncio.run(running())
    clock.offset = 6.0
    assert control.liveness() is not None  # no tick for 6 s and not waiting for data
    sources.waiting_since = time.monotonic()  # the merge awaits the feed's next bar
    clock.offset = 30.0
    assert control.liveness() is None  # a quiet feed, within its per-item budget
    clock.offset = 66.0
    problem = control.liveness()  # 60 s per item + 5 s loop budget spent: stuck
    assert problem is not None
    assert "has not completed a tick for 66." in problem
