"""What a whole run leaves for an auditor: checkpoints published, and the plugins that decided.

A small synthetic backtest through :func:`run_session` (the code ``cryptobot
run`` and ``backtest`` call), with the run folder's own SQLite ledger:

* the run signs checkpoints while it runs and at its end, and publishes the
  latest in its folder (``checkpoint.json``) and the configured directory; a
  history rewritten with recomputed hashes is then reported by ``ledger verify``;
* the start record and ``plugins.json`` name every loaded plugin with its
  distribution, versions and manifest digest, and ``ledger show`` prints them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from ledger_tamper import as_admin
from typer.testing import CliRunner

from crypto_bot_core.app.runner import RunResult, run_session
from crypto_bot_core.cli.app import app
from crypto_bot_core.config import parse_config
from crypto_bot_core.host import Host, PluginStatus
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.ledger.hashing import CHAIN_TAG
from crypto_bot_core.ledger.stores.sqlite import SCHEMA, TRIGGERS
from crypto_bot_sdk import ConfigError, RecordType

runner = CliRunner()

SESSION = """
mode: backtest
run: {{run_dir: "{run_dir}"}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT], venues: [alpha], timeframe: 5m, bars: 400, seed: 5}}
agents:
  - {{name: fast, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, balances: {{USDT: "50000"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
ledger: {{checkpoint_every_records: 100, checkpoint_every_seconds: null,
          checkpoint_publish: "{publish}"}}
"""


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(environ={}).load()


@pytest.fixture
def result(tmp_path: Path, host: Host, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(key)
    text = SESSION.format(
        run_dir=(tmp_path / "runs").as_posix(), publish=(tmp_path / "published").as_posix()
    )
    return run_session(parse_config(text, source="session.yaml", environ={}), host=host)


def _cli(*args: str) -> tuple[int, str]:
    outcome = runner.invoke(app, ["ledger", *args], env={})
    assert "Traceback" not in outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    return outcome.exit_code, outcome.stdout + outcome.stderr


def test_a_run_publishes_its_checkpoints_and_a_rewrite_is_caught(
    result: RunResult, tmp_path: Path
) -> None:
    with open_ledger(result.ledger_url, read_only=True) as ledger:
        records = len(ledger)
        sizes = [cp.tree_size for cp in ledger.checkpoints()]
        ledger_id = ledger.ledger_id
    # A backtest commits in batches, so its checkpoints fall on batch boundaries: here the
    # run's records before the stop record, then the whole run when the ledger is closed.
    assert records > 200
    assert sizes == [records - 1, records]
    latest = json.loads((result.run_dir / "checkpoint.json").read_text())
    assert latest["tree_size"] == records
    assert (tmp_path / "published" / ledger_id / "checkpoint.json").is_file()
    assert _cli("verify", "--url", result.ledger_url)[0] == 0

    # Rewrite record 10 and every hash after it, and remove the database's checkpoints and
    # the file copies beside it: the chain is whole again, the run folder's anchor is not.
    with open_ledger(result.ledger_url, read_only=True) as ledger:
        rows = [row for page in ledger.store.chain_pages(0, records) for row in page]
    prev = bytes(rows[9][1])
    updates = []
    for seq, _, stored in rows[10:]:
        body = bytes(stored)
        if seq == 10:
            body = body.replace(b"}", b',"x":1}', 1)
        prev = hashlib.sha256(CHAIN_TAG + prev + body).digest()
        updates.append((prev, body, seq))
    conn = sqlite3.connect(result.run_dir / "ledger.sqlite", isolation_level=None)
    for name in TRIGGERS:  # one admin session for the whole rewrite, triggers put back after
        conn.execute(f"DROP TRIGGER {name}")
    conn.executemany("UPDATE ledger_records SET hash = ?, body = ? WHERE seq = ?", updates)
    conn.executescript(SCHEMA)
    conn.close()
    as_admin(result.ledger_url, "DELETE FROM {t}ledger_checkpoints")
    shutil.rmtree(result.run_dir / "ledger.sqlite.checkpoints")
    code, out = _cli("verify", "--url", result.ledger_url)
    assert code == 1
    assert f"the Merkle root of the first {records} records is" in out


def test_the_start_record_and_the_run_folder_name_the_loaded_plugins(
    result: RunResult, host: Host
) -> None:
    loaded = {r.name: r for r in host.records if r.status is PluginStatus.LOADED}
    with open_ledger(result.ledger_url, read_only=True) as ledger:
        (start,) = ledger.records(types=[RecordType.SYSTEM_START])
    recorded = {p["name"]: p for p in start.payload["plugins"]}
    assert set(recorded) == set(loaded)
    agents = recorded["technical-agents"]
    manifest = loaded["technical-agents"].manifest_path
    assert manifest is not None
    assert agents == {
        "name": "technical-agents",
        "distribution": loaded["technical-agents"].distribution,
        "distribution_version": loaded["technical-agents"].distribution_version,
        "version": loaded["technical-agents"].version,
        "manifest_sha256": hashlib.sha256(Path(manifest).read_bytes()).hexdigest(),
    }
    folder = json.loads((result.run_dir / "plugins.json").read_text())
    assert folder == {"run_id": result.run_id, "plugins": start.payload["plugins"]}

    code, out = _cli("show", "--url", result.ledger_url, "--type", "system.start")
    assert code == 0
    assert f"plugins of run {result.run_id} (record {start.sequence}):" in out
    assert "technical-agents" in out
    assert agents["manifest_sha256"] in out


PAPER = """
mode: paper
run: {{run_dir: "{run_dir}"}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT], venues: [alpha], timeframe: 5m, bars: 60, seed: 5}}
agents:
  - {{name: fast, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, balances: {{USDT: "50000"}}}}}}
sizing: {{notional_per_symbol: "5000"}}
"""


@pytest.fixture(scope="module")
def finished_paper_run(tmp_path_factory: pytest.TempPathFactory, host: Host) -> Path:
    """One short paper run, made once; each test damages a copy of its folder."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
            patch.delenv(key)
        root = tmp_path_factory.mktemp("paper")
        config = parse_config(
            PAPER.format(run_dir=(root / "runs").as_posix()), source="paper.yaml", environ={}
        )
        return run_session(config, host=host).run_dir


@pytest.mark.parametrize("damage", ["garbage", "half-written", "empty-tables"])
@pytest.mark.parametrize("command", ["resume", "kill"])
def test_resume_and_kill_name_a_ledger_file_that_is_not_a_ledger(
    tmp_path: Path,
    finished_paper_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    command: str,
) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(key)
    run_dir = tmp_path / finished_paper_run.name
    shutil.copytree(finished_paper_run, run_dir)
    ledger = run_dir / "ledger.sqlite"
    whole = ledger.read_bytes()
    for extra in run_dir.glob("ledger.sqlite-*"):
        extra.unlink()
    if damage == "garbage":
        ledger.write_bytes(b"\x00garbage" * 512)
    elif damage == "half-written":
        ledger.write_bytes(whole[:4096])
    else:
        ledger.unlink()
        other = sqlite3.connect(ledger)
        other.execute("CREATE TABLE notes (text TEXT)")
        other.commit()
        other.close()
    before = ledger.read_bytes()
    args = ["run", "--resume", str(run_dir)] if command == "resume" else ["kill", str(run_dir)]
    outcome = runner.invoke(app, args, env={})
    assert "Traceback" not in outcome.output
    assert isinstance(outcome.exception, SystemExit), outcome.exception
    assert outcome.exit_code == 8, outcome.output
    assert str(ledger) in outcome.stderr
    assert "not a ledger" in outcome.stderr
    assert ledger.read_bytes() == before


def _session(tmp_path: Path, ledger: str) -> str:
    text = SESSION.split("ledger:", maxsplit=1)[0].format(run_dir=(tmp_path / "runs").as_posix())
    return text + ledger


@pytest.mark.postgres
def test_checkpoints_true_refuses_a_run_whose_ledger_has_no_signing_key(
    tmp_path: Path, host: Host, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(key)
    text = _session(tmp_path, f'ledger: {{url: "{pg_url}", checkpoints: true}}\n')
    with pytest.raises(ConfigError, match=r"ledger\.checkpoints") as refused:
        run_session(parse_config(text, source="session.yaml", environ={}), host=host)
    assert "CRYPTOBOT_LEDGER_SIGNING_KEY" in str(refused.value)


def test_checkpoints_false_signs_nothing(
    tmp_path: Path, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(key)
    text = _session(tmp_path, "ledger: {checkpoints: false}\n")
    done = run_session(parse_config(text, source="session.yaml", environ={}), host=host)
    with open_ledger(done.ledger_url, read_only=True) as ledger:
        assert ledger.checkpoints() == []
    assert not (done.run_dir / "checkpoint.json").exists()
