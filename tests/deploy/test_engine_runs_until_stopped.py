"""The engine the chart deploys by default runs until it is told to stop (issue 13, item 17).

Before, the default config paper-traded a finite synthetic market: the engine
container ended after seconds and Kubernetes restarted it in a loop. Now the
market is paced by the wall clock without end and the run has none, so the
engine trades, answers ``/readyz`` with 200 while it does, and ends only on
the kill switch -- cleanly, with its run folder written.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from .chart import RELEASE, config_of, named, pod_spec, render
from .staging import CRYPTOBOT

pytest.importorskip("helm_python", reason="helm-python-sdk has no wheel for this platform")


def _timeframe_seconds(timeframe: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(timeframe[:-1]) * units[timeframe[-1]]


def test_the_default_values_render_an_engine_that_does_not_end() -> None:
    docs = render({})
    config = config_of(docs)
    assert config["mode"] == "paper"
    assert {"end", "duration"}.isdisjoint(config["run"])
    (market,) = config["data_sources"]
    assert market["plugin"] == "synthetic-market"
    settings = market["config"]
    assert settings["pace"] == "wall_clock"
    assert {"bars", "end"}.isdisjoint(settings)
    # The engine waits one bar interval for each bar: its budget for that must be longer.
    assert config["budgets"]["data_source"] > _timeframe_seconds(settings["timeframe"])
    engine = pod_spec(named(docs, "Deployment", f"{RELEASE}-engine"))["containers"][0]
    assert engine["args"][:3] == ["run", "--config", "/etc/cryptobot/config.yaml"]
    assert "--serve" in engine["args"]
    assert engine["readinessProbe"]["httpGet"]["path"] == "/readyz"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return None  # not listening yet


def _engine_config(tmp_path: Path) -> Path:
    """The chart's default config, with the run folder here and one-second bars (faster)."""
    config = config_of(render({}))
    config["run"]["run_dir"] = str(tmp_path / "runs")
    config["data_sources"][0]["config"]["timeframe"] = "1s"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_the_default_engine_trades_until_the_kill_switch_stops_it(tmp_path: Path) -> None:
    args = pod_spec(named(render({}), "Deployment", f"{RELEASE}-engine"))["containers"][0]["args"]
    port = _free_port()
    command = [
        str(CRYPTOBOT),
        *(
            str(_engine_config(tmp_path))
            if arg == "/etc/cryptobot/config.yaml"
            else f"127.0.0.1:{port}"
            if arg.startswith("0.0.0.0:")
            else arg
            for arg in args
        ),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    env["CRYPTOBOT_SERVICE_JWT_SECRET"] = "a-test-secret-of-at-least-32-bytes-long"
    started = datetime.now(UTC)
    engine = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 120
        answer = None
        while time.monotonic() < deadline and engine.poll() is None:
            answer = _ready(port)
            if answer is not None and answer[0] == 200:
                break
            time.sleep(0.2)
        assert engine.poll() is None, engine.communicate()
        assert answer is not None
        assert answer[0] == 200, answer
        assert answer[1]["ready"] is True
        time.sleep(3)  # a few one-second bars
        # Still trading, still ready: the session did not run out of market.
        assert engine.poll() is None
        later = _ready(port)
        assert later is not None
        assert later[0] == 200, later
        (folder,) = (tmp_path / "runs").iterdir()
        kill = subprocess.run(
            [str(CRYPTOBOT), "kill", str(folder)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=60,
        )
        assert kill.returncode == 0, kill.stdout + kill.stderr
        assert "kill requested; the running session" in kill.stdout
        out, err = engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.communicate()
    assert engine.returncode == 0, out + err
    assert "run completed; folder:" in out
    summary = json.loads((folder / "summary.json").read_text())
    first = datetime.fromisoformat(summary["start"])
    last = datetime.fromisoformat(summary["end"])
    # Bars of wall-clock time, from the start of the run on, one second apart.
    assert started - timedelta(seconds=1) <= first
    assert last - first >= timedelta(seconds=2)
    assert summary["events"] == 2 * (int((last - first).total_seconds()) + 1)  # two symbols
