"""The kill switch over real HTTP: a paper-trading engine in this process, the service on loopback.

The engine runs half a synthetic day and holds positions; ``POST /shutdown``
with the ``ops:kill`` scope goes through uvicorn on 127.0.0.1, the service's
thread hands the kill to the engine's loop, and after the remaining events
fill the flattening orders no venue has an open order or a position left, and
the ledger ends with the kill switch's records.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import default_config_text, parse_config
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.service import InProcessEngineControl, ServiceSettings, create_app
from crypto_bot_sdk import RecordType
from service.service_fixtures import SECRET, bearer

NOON = datetime(2024, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def loopback() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1: clients queue on it until uvicorn accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def test_shutdown_over_http_leaves_every_venue_flat(
    tmp_path: Path, host: Host, loopback: socket.socket
) -> None:
    text = (
        default_config_text()
        .replace("bars: 2016", "bars: 288")
        .replace("run_dir: runs", f"run_dir: {tmp_path.as_posix()}")
    )
    assembled = assemble(parse_config(text, environ={}), host, ledger_factory=open_ledger)
    engine = assembled.engine
    control = InProcessEngineControl(engine)
    app = create_app(
        ServiceSettings(jwt_secret=SECRET),
        host=host,
        ledger=open_ledger(assembled.ledger_url),
        control=control,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [loopback]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{loopback.getsockname()[1]}"

    def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, base + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    async def scenario() -> None:
        await engine.start()
        control.mark_running()
        await engine.run(None, NOON)
        before = (
            await asyncio.to_thread(call, "GET", "/engine", headers=bearer("ops:read"))
        ).json()
        assert before["state"] == "running"
        assert before["positions"], "the scenario needs positions to flatten"
        refused = await asyncio.to_thread(
            call, "POST", "/shutdown", json={"reason": "drill"}, headers=bearer("ops:read")
        )
        assert refused.status_code == 403
        assert engine.killed is False
        response = await asyncio.to_thread(
            call, "POST", "/shutdown", json={"reason": "operator drill"}, headers=bearer("ops:kill")
        )
        assert response.status_code in (200, 202), response.text
        body = response.json()
        assert (body["requested_by"], body["problems"]) == ("alice", [])
        assert body["status"]["killed"] is True
        # market orders fill on the next bar: keep feeding events until they have
        await engine.run(NOON, None)
        control.mark_stopped()
        await engine.close("killed")
        for venue, adapter in engine.exchanges.items():
            assert list(await adapter.fetch_open_orders()) == [], venue
            held = {b.asset: b.total for b in await adapter.fetch_balances() if b.asset != "USDT"}
            assert all(total == Decimal(0) for total in held.values()), (venue, held)
        after = (await asyncio.to_thread(call, "GET", "/engine", headers=bearer("ops:read"))).json()
        assert (after["state"], after["flat"], after["positions"]) == ("stopped", True, [])
        again = await asyncio.to_thread(
            call, "POST", "/shutdown", json={"reason": "again"}, headers=bearer("ops:kill")
        )
        assert again.status_code == 409
        assert again.json()["title"] == "Engine not running"

    try:
        asyncio.run(scenario())
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        engine.ledger.close()  # type: ignore[attr-defined]
    ledger = open_ledger(assembled.ledger_url)
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    kills = [r for r in records if r.type is RecordType.KILL_SWITCH]
    assert len(kills) == 1
    assert kills[0].payload["reason"] == "operator drill (requested by alice through the service)"
    flattening = [
        r for r in records if r.type is RecordType.ORDER_INTENT and r.payload.get("kill_switch")
    ]
    assert flattening
    assert all(r.sequence > kills[0].sequence for r in flattening)
    stops = [r for r in records if r.type is RecordType.SYSTEM_STOP]
    assert stops[0].payload["reason"].startswith("kill switch: operator drill")
    assert records[-1].type is RecordType.SYSTEM_STOP
