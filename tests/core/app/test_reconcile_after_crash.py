"""Reconciliation after a crash reports only differences that exist.

A run SIGKILLed right after a fill was recorded leaves a paper venue whose
saved state is older than the ledger: the fill is booked, the venue's file is
from before it, and the venue reproduces the fill when it catches up on the
market events after its saved tick. Compared before that catch-up, the venue
"holds 50000 USDT while the ledger says 44997" - a difference that is not real
and must not enter the audit record. A difference that is real (a balance the
ledger never booked: see test_resume_safety) is still reported.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from run_sessions import Invoke

from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType

BOT = """
mode: paper
run: {run_dir: "runs"}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: [BTC/USDT, ETH/USDT], venues: [alpha], timeframe: 5m, bars: 120, seed: 11}
agents:
  - {name: fast, plugin: "technical-agents:ema_crossover", config: {fast: 3, slow: 8}}
exchanges:
  - {name: alpha, plugin: paper-exchange,
     config: {venue: alpha, data_venue: alpha, taker_fee: "0.0005", balances: {USDT: "50000"}}}
sizing: {notional_per_symbol: "5000"}
"""

PERP = """
mode: paper
run: {run_dir: "runs"}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {symbols: ["BTC/USDT:USDT"], venues: [alpha], timeframe: 5m, bars: 160, seed: 21,
             funding_interval: 8h, perp_basis_bps: 8}
agents:
  - {name: ema, plugin: "technical-agents:ema_crossover", config: {fast: 3, slow: 8}}
exchanges:
  - {name: alpha, plugin: paper-exchange, config: {venue: alpha, data_venue: alpha,
     taker_fee: "0.0004", leverage: "2", balances: {USDT: "100000"}}}
sizing: {notional_per_symbol: "20000"}
"""


CLI = (sys.executable, "-m", "crypto_bot_core.cli")


def _crash(folder: Path, chaos: str, config: str = BOT) -> Path:
    """A paper run SIGKILLed at ``chaos``; its run folder."""
    (folder / "bot.yaml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOBOT")}
    crashed = subprocess.run(
        [*CLI, "run", "--config", "bot.yaml", "--run-id", "x", "--no-progress"],
        cwd=folder,
        env={**env, "CRYPTOBOT_CHAOS_KILL_AT": chaos},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    return folder / "runs" / "x"


def _reconciliation(run_dir: Path) -> LedgerRecord:
    with open_ledger(f"sqlite:///{run_dir / 'ledger.sqlite'}") as ledger:
        found = [
            r
            for r in ledger.records()
            if r.type is RecordType.RECONCILIATION and not r.payload.get("kill_switch_check")
        ]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("chaos", ["fill_recorded:1", "fill_recorded:3", "fills_matched:2"])
@pytest.mark.parametrize("action", ["resume", "kill"])
def test_a_crash_after_a_fill_leaves_no_false_difference(
    tmp_path: Path, invoke: Invoke, chaos: str, action: str
) -> None:
    run_dir = _crash(tmp_path, chaos)
    with open_ledger(f"sqlite:///{run_dir / 'ledger.sqlite'}") as ledger:
        assert any(r.type is RecordType.FILL for r in ledger.records()), "nothing was traded"

    args = ("run", "--resume", "x") if action == "resume" else ("kill", "x")
    code, out, err = invoke(*args, "--no-progress") if action == "resume" else invoke(*args)

    assert code == 0, (out, err)
    assert "0 position differences, 0 balance differences" in out
    assert "difference at" not in err
    payload = _reconciliation(run_dir).payload
    assert payload["balance_differences"] == {}
    assert payload["position_differences"] == {}
    # the fill the crash cut off from the venue's saved state is named, not hidden
    assert payload["pending_fills"]
    assert f"{len(payload['pending_fills'])} pending fills" in out


@pytest.mark.parametrize("chaos", ["fill_recorded:1", "fill_recorded:2"])
@pytest.mark.parametrize("action", ["resume", "kill"])
def test_a_crashed_perpetual_run_shows_no_false_position_difference(
    tmp_path: Path, invoke: Invoke, chaos: str, action: str
) -> None:
    """Opening (first fill) and closing (second) a position the venue has yet to replay."""
    run_dir = _crash(tmp_path, chaos, PERP)

    code, out, err = invoke("run", "--resume", "x", "--no-progress") if action == "resume" else (
        invoke("kill", "x")
    )

    assert code == 0, (out, err)
    assert "difference at" not in err
    payload = _reconciliation(run_dir).payload
    assert payload["position_differences"] == {}
    assert payload["balance_differences"] == {}
    assert payload["pending_fills"] == [f"alpha-fill-{chaos[-1]}"]


def test_a_fill_the_venue_will_never_see_again_is_still_a_difference(
    tmp_path: Path, invoke: Invoke
) -> None:
    """The venue's saved state moved past the recorded fill without it: a real difference."""
    run_dir = _crash(tmp_path, "fill_recorded:1")
    saved = run_dir / "venues" / "alpha.json"
    backup = tmp_path / "alpha.json"
    shutil.copy(saved, backup)
    document = json.loads(saved.read_text(encoding="utf-8"))
    document["tick"] = "2024-01-01T09:55:00+00:00"  # says it saw every event of the run
    saved.write_text(json.dumps(document), encoding="utf-8")

    code, out, err = invoke("run", "--resume", "x", "--no-progress")

    assert code == 0, (out, err)
    payload = _reconciliation(run_dir).payload
    assert "alpha:USDT" in payload["balance_differences"]
    assert "difference at alpha:USDT: the ledger says" in err


def test_a_position_the_venue_lost_is_a_difference(tmp_path: Path, invoke: Invoke) -> None:
    """Positions are compared both ways: the ledger's short that the venue no longer holds."""
    (tmp_path / "bot.yaml").write_text(PERP, encoding="utf-8")
    code, out, err = invoke("run", "--config", "bot.yaml", "--run-id", "x", "--no-progress")
    assert code == 0, (out, err)
    saved = tmp_path / "runs" / "x" / "venues" / "alpha.json"
    document = json.loads(saved.read_text(encoding="utf-8"))
    held = document["state"]["account"]["positions"].pop("BTC/USDT:USDT")["quantity"]
    assert held != "0"
    saved.write_text(json.dumps(document), encoding="utf-8")

    code, out, err = invoke("run", "--resume", "x", "--no-progress")

    assert code == 0, (out, err)
    payload = _reconciliation(tmp_path / "runs" / "x").payload
    assert payload["position_differences"] == {
        "alpha:BTC/USDT:USDT": {"ledger": held, "venue": "0"}
    }
    assert f"difference at alpha:BTC/USDT:USDT: the ledger says {held}, the venue holds 0" in err
