"""`cryptobot run --serve`: the API beside a running paper session (probes, metrics, kill)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

SECRET = "test-secret-for-run-serve-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _token(*scopes: str) -> str:
    env = {**os.environ, "CRYPTOBOT_SERVICE_JWT_SECRET": SECRET}
    args = [sys.executable, "-m", "crypto_bot_core.cli", "serve", "token", "--subject", "ops"]
    for scope in scopes:
        args += ["--scope", scope]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
def test_run_serves_probes_metrics_and_takes_the_kill_switch(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")},
        "CRYPTOBOT_SERVICE_JWT_SECRET": SECRET,
        # long enough that the session is still running when the test is done with it
        "CRYPTOBOT__DATA_SOURCES__0__CONFIG__BARS": "200000",
    }
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crypto_bot_core.cli",
            "run",
            "--run-id",
            "served",
            "--serve",
            f"127.0.0.1:{port}",
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {_token('metrics:read', 'ops:read', 'ops:kill')}"}
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service never became ready"
                assert run.poll() is None, run.communicate()
                time.sleep(0.2)
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz").json()
            assert {c["name"] for c in ready["checks"]} == {
                "ledger",
                "exchange:alpha",
                "exchange:beta",
                "exchange:gamma",
            }
            status = client.get("/engine", headers=headers).json()
            assert status["run_id"] == "served"
            assert status["state"] == "running"
            # wait for a few orders so the metrics have something to show
            deadline = time.monotonic() + 60
            while "cryptobot_fills_total{" not in client.get("/metrics", headers=headers).text:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            metrics = client.get("/metrics", headers=headers).text
            for name in (
                'cryptobot_agent_latency_seconds_count{agent="ema"}',
                "cryptobot_orders_total{",
                "cryptobot_fills_total{",
                "cryptobot_equity ",
                "cryptobot_ledger_append_seconds_count ",
                "cryptobot_risk_verdicts_total{",
            ):
                assert name in metrics, name
            assert client.post("/shutdown", json={"reason": "drill"}).status_code == 401
            killed = client.post("/shutdown", headers=headers, json={"reason": "drill"})
            # 200 when the flattening orders filled at once, 202 while one still works (a
            # venue that fills market orders on its next event): then GET /engine until flat.
            assert killed.status_code in (200, 202), killed.text
            body = killed.json()
            assert body["problems"] == []
            assert body["status"]["killed"] is True
            assert body["status"]["flat"] is (killed.status_code == 200)
            # A settled run stops by itself (its service with it): the ledger below shows
            # whether it ended flat.
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    folder = tmp_path / "runs" / "served"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["events"] < 200_000 * 15  # stopped by the kill switch, not by the data
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    kills = [r.payload for r in records if r.type is RecordType.KILL_SWITCH]
    assert len(kills) == 1
    assert kills[0]["reason"].startswith("drill (requested by ops")
    assert "kill switch" in out or records[-1].payload["reason"] == "settled after the kill switch"
    # Flat at the end: every order the ledger opened reached a terminal status, and the
    # fills net every position to zero.
    net: dict[tuple[str, str], Decimal] = {}
    for record in records:
        if record.type is RecordType.FILL:
            fill = record.payload
            sign = 1 if fill["side"] == "buy" else -1
            key = (fill["venue"], fill["symbol"])
            net[key] = net.get(key, Decimal(0)) + sign * Decimal(fill["quantity"])
    assert net
    assert all(quantity == 0 for quantity in net.values()), net
