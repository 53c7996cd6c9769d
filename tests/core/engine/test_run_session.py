"""The main job end to end: the embedded defaults, a real ledger and the run folder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from crypto_bot_core.app.runner import run_session
from crypto_bot_core.config import default_config
from crypto_bot_core.engine.resume import client_id_prefix
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

SHORT = {"CRYPTOBOT__DATA_SOURCES__0__CONFIG__BARS": "400"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"CRYPTOBOT__RUN__RUN_DIR": str(tmp_path / "runs"), **SHORT, **extra}


def test_cli_run_writes_a_consistent_run_folder(tmp_path: Path) -> None:
    env = {**os.environ, **_env(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "crypto_bot_core.cli", "run", "--run-id", "e2e", "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "runs" / "e2e"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["mode"] == "paper"
    assert summary["events"] == 400 * 5 * 3
    assert {v["venue"] for v in summary["venues"]} == {"alpha", "beta", "gamma"}
    with (folder / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["fills"] > 0
    assert (folder / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{'fills':<12}  {summary['fills']:,}" in done.stdout
    assert f"{'round trips':<12}  {summary['round_trips']:,}" in done.stdout

    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    try:
        assert ledger.verify().ok
        records = list(ledger.records())
    finally:
        ledger.close()
    fills = [r for r in records if r.type is RecordType.FILL]
    assert sorted(r.payload["fill_id"] for r in fills) == sorted(row["fill_id"] for row in rows)
    intents = {r.payload["client_order_id"] for r in records if r.type is RecordType.ORDER_INTENT}
    # every fill belongs to an order whose intent was recorded first
    for fill in fills:
        cid = fill.payload["client_order_id"]
        assert cid in intents
        first_intent = next(
            r.sequence
            for r in records
            if r.type is RecordType.ORDER_INTENT and r.payload["client_order_id"] == cid
        )
        assert first_intent < fill.sequence
    assert records[0].type is RecordType.SYSTEM_START
    assert records[-1].type is RecordType.SYSTEM_STOP
    assert records[-1].payload["reason"] == "completed"


def test_backtest_and_paper_trade_identically(tmp_path: Path) -> None:
    """One code path: the mode changes nothing about orders and fills on the same data."""
    trades = {}
    for mode in ("backtest", "paper"):
        loaded = default_config(environ={**_env(tmp_path / mode), "CRYPTOBOT__MODE": mode})
        result = run_session(loaded, host=Host(environ={}).load(), run_id=f"cmp-{mode}")
        assert result.summary.mode == mode
        # client order ids carry the run id; everything else must be identical
        text = (result.run_dir / "trades.csv").read_text()
        trades[mode] = text.replace(client_id_prefix(f"cmp-{mode}"), "RUN")
    assert trades["backtest"].count("\n") > 2
    assert trades["backtest"] == trades["paper"]
