"""The engine the chart deploys by default runs until it is told to stop (issue 13, item 17).

Before, the default config paper-traded a finite synthetic market: the engine
container ended after seconds and Kubernetes restarted it in a loop. Now the
market is paced by the wall clock without end and the run has none, so the
engine trades, answers ``/readyz`` with 200 while it does, and ends only when
stopped -- by the kill switch, or by SIGTERM as Kubernetes sends it -- cleanly,
with its run folder written.
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


def _ready_within(
    port: int, engine: subprocess.Popen[str], *, seconds: float
) -> tuple[int, dict[str, Any]]:
    """The first 200 of /readyz within ``seconds`` (a loaded machine may answer 503 once:
    the probe asks the venues through the engine's loop with a deadline), else the last."""
    deadline = time.monotonic() + seconds
    answer: tuple[int, dict[str, Any]] | None = None
    while time.monotonic() < deadline:
        assert engine.poll() is None, engine.communicate()
        answer = _ready(port) or answer
        if answer is not None and answer[0] == 200:
            return answer
        time.sleep(0.2)
    assert answer is not None, "the engine never answered on its port"
    return answer


def _engine_config(tmp_path: Path) -> Path:
    """The chart's default config, with the run folder here and one-second bars (faster)."""
    config = config_of(render({}))
    config["run"]["run_dir"] = str(tmp_path / "runs")
    config["data_sources"][0]["config"]["timeframe"] = "1s"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill switch", "SIGTERM"])
def test_the_default_engine_trades_until_it_is_stopped(tmp_path: Path, stop: str) -> None:
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
        answer = _ready_within(port, engine, seconds=120)
        assert answer[0] == 200, answer
        assert answer[1]["ready"] is True
        time.sleep(3)  # a few one-second bars
        # Still trading, still ready: the session did not run out of market.
        assert engine.poll() is None
        assert _ready_within(port, engine, seconds=60)[0] == 200
        (folder,) = (tmp_path / "runs").iterdir()
        if stop == "SIGTERM":  # what Kubernetes sends when it deletes the pod
            engine.terminate()
        else:
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
    # The kill switch completes the run; SIGTERM interrupts it as Ctrl-C does (130), and
    # both write the run folder and leave no "running" marker behind.
    assert engine.returncode == (0 if stop == "kill switch" else 130), out + err
    assert f"folder: {folder}" in out
    assert not (folder / "RUNNING").exists()
    assert "Traceback" not in err
    summary = json.loads((folder / "summary.json").read_text())
    first = datetime.fromisoformat(summary["start"])
    last = datetime.fromisoformat(summary["end"])
    # Bars of wall-clock time, from the start of the run on, one second apart.
    assert started - timedelta(seconds=1) <= first
    assert last - first >= timedelta(seconds=2)
    # Both symbols' bars of every second from the first to the last (the tick that saw
    # the stop may have taken one symbol's bar only).
    seconds = int((last - first).total_seconds()) + 1
    assert 2 * seconds - 1 <= summary["events"] <= 2 * seconds
