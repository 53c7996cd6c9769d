"""Resume and kill act only on a ledger that verifies, on venues that kept their state, on the
run's own records; reconciliation compares spot balances as well as positions."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from run_sessions import Invoke, Session

from crypto_bot_core.app.runner import resume_session, run_session
from crypto_bot_core.engine.resume import client_id_prefix
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import LedgerRecord, RecordType


def _records(url: str) -> list[LedgerRecord]:
    with open_ledger(url) as ledger:
        return list(ledger.records())


def _url(folder: Path, ledger_url: str | None) -> str:
    return ledger_url or f"sqlite:///{folder / 'ledger.sqlite'}"


def _rewrite_body(url: str, seq: int, old: bytes, new: bytes) -> None:
    """Change one stored record the way an admin can: protections off, bytes edited, back on."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()
            for name, _ in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
            (body,) = conn.execute(
                "SELECT body FROM ledger_records WHERE seq = ?", (seq,)
            ).fetchone()
            assert old in bytes(body)
            conn.execute(
                "UPDATE ledger_records SET body = ? WHERE seq = ?",
                (bytes(body).replace(old, new), seq),
            )
            for _, sql in triggers:
                conn.execute(sql)
        finally:
            conn.close()
        return
    import psycopg

    conninfo, _, _ = url.partition("?")
    with psycopg.connect(conninfo, autocommit=True) as pg:
        pg.execute("SET session_replication_role = replica")
        row = pg.execute("SELECT body FROM audit.ledger_records WHERE seq = %s", (seq,)).fetchone()
        assert row is not None
        assert old in bytes(row[0])
        pg.execute(
            "UPDATE audit.ledger_records SET body = %s WHERE seq = %s",
            (bytes(row[0]).replace(old, new), seq),
        )


# --- 4: the ledger is verified before a resume or a kill acts ---------------------------


def test_resume_and_kill_refuse_a_ledger_with_a_flipped_fill(
    session: Session, host: Host, invoke: Invoke, ledger_url: str | None, tmp_path: Path
) -> None:
    result = run_session(session(ledger_url=ledger_url), host=host, run_id="flip")
    url = _url(result.run_dir, ledger_url)
    before = _records(url)
    fill = next(r for r in before if r.type is RecordType.FILL and r.payload["side"] == "buy")
    _rewrite_body(url, fill.sequence, b'"side":"buy"', b'"side":"sell"')

    code, _, err = invoke("run", "--resume", str(result.run_dir), "--no-progress")
    assert code == 3, err
    assert "refusing to resume" in err
    assert "fails verification" in err
    assert f"at record {fill.sequence}" in err
    code, _, err = invoke("kill", str(result.run_dir))
    assert code == 3, err
    assert "refusing to kill" in err
    # nothing was recorded (no start, no order) by either refusal
    assert len(_records(url)) == len(before)


# --- 6: a venue's lost or damaged saved state is detected -------------------------------


@pytest.mark.parametrize("damage", ["deleted", "cut short", "emptied of its orders"])
def test_resume_refuses_when_a_venue_lost_its_saved_state(
    session: Session, host: Host, invoke: Invoke, damage: str
) -> None:
    result = run_session(session(), host=host, run_id="venue")
    url = _url(result.run_dir, None)
    before = len(_records(url))
    path = result.run_dir / "venues" / "alpha.json"
    text = path.read_text()
    if damage == "deleted":
        path.unlink()
    elif damage == "cut short":
        path.write_text(text[: len(text) // 2])
    else:  # a valid snapshot that no longer holds the orders: an older copy, or an edited one
        document = json.loads(text)
        assert document["state"]["orders"]
        document["state"]["orders"] = []
        document["state"]["fills"] = []
        path.write_text(json.dumps(document))

    code, _, err = invoke("run", "--resume", str(result.run_dir), "--no-progress")
    assert code == 4, err
    assert "refusing to" in err
    assert "'alpha'" in err
    assert "Restore" in err
    code, _, err = invoke("kill", str(result.run_dir))
    assert code == 4, err
    assert "'alpha'" in err
    records = _records(url)
    # no order went out; a refused state check writes at most the attempts' start records
    assert not [r for r in records[before:] if r.type is RecordType.ORDER_INTENT]
    assert not [r for r in records[before:] if r.type is RecordType.RECONCILIATION]
    assert not [r for r in records[before:] if r.type is RecordType.KILL_SWITCH]


def test_a_venue_without_accepted_orders_may_start_afresh(session: Session, host: Host) -> None:
    """A crash before a venue's first save is not a loss: no order of it was ever accepted."""
    result = run_session(session(bars=6), host=host, run_id="early")
    assert result.stats is not None
    assert result.stats.fills == 0
    for path in (result.run_dir / "venues").glob("*.json"):
        path.unlink()
    resumed = resume_session(result.run_dir, host=host)
    assert resumed.reconciliation is not None
    assert resumed.reconciliation.differences == {}


# --- 5: reconciliation compares spot balances -------------------------------------------


def test_reconciliation_reports_a_spot_balance_the_ledger_does_not_have(
    session: Session, host: Host, invoke: Invoke
) -> None:
    result = run_session(session(), host=host, run_id="spot")
    path = result.run_dir / "venues" / "alpha.json"
    document = json.loads(path.read_text())
    cash = document["state"]["account"]["cash"]
    held = Decimal(cash.get("ETH", "0"))
    cash["ETH"] = str(held + Decimal(44412))
    path.write_text(json.dumps(document))

    code, out, err = invoke("run", "--resume", str(result.run_dir), "--no-progress")
    assert code == 0, err
    assert "1 balance differences" in out
    assert "difference at alpha:ETH: the ledger says" in err
    assert f"the venue holds {held + Decimal(44412)}" in err
    last = [r for r in _records(_url(result.run_dir, None)) if r.type is RecordType.RECONCILIATION][
        -1
    ]
    assert set(last.payload["balance_differences"]) == {"alpha:ETH"}
    assert Decimal(last.payload["balance_differences"]["alpha:ETH"]["venue"]) - Decimal(
        last.payload["balance_differences"]["alpha:ETH"]["ledger"]
    ) == Decimal(44412)
    assert last.payload["position_differences"] == {}


def test_reconciliation_finds_nothing_on_an_untouched_run(session: Session, host: Host) -> None:
    result = run_session(session(), host=host, run_id="clean")
    assert result.stats is not None
    assert result.stats.fills > 4
    resumed = resume_session(result.run_dir, host=host)
    assert resumed.reconciliation is not None
    payload = resumed.reconciliation.to_payload()
    assert payload["balance_differences"] == {}
    assert payload["position_differences"] == {}


# --- 8: a ledger shared by two runs is read run by run ----------------------------------


def test_resume_in_a_shared_ledger_reads_and_writes_only_its_own_run(
    session: Session, host: Host, ledger_url: str | None, tmp_path: Path
) -> None:
    shared = ledger_url or f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = run_session(session(ledger_url=shared), host=host, run_id="run-a")
    second = run_session(session(ledger_url=shared, bars=120), host=host, run_id="run-b")
    assert first.stats is not None
    assert second.stats is not None
    before = _records(shared)
    b_prefix = f"{client_id_prefix('run-b')}-"
    b_fills = [
        r
        for r in before
        if r.type is RecordType.FILL and r.payload["client_order_id"].startswith(b_prefix)
    ]
    assert second.stats.fills == len(b_fills) < first.stats.fills + second.stats.fills

    resumed = resume_session(second.run_dir, host=host)

    assert resumed.run_id == "run-b"
    assert resumed.stats is not None
    assert resumed.stats.fills == len(b_fills)
    assert resumed.reconciliation is not None
    assert resumed.reconciliation.differences == {}
    added = _records(shared)[len(before) :]
    assert added
    for record in added:
        payload = record.payload
        owner = payload.get("run_id")
        assert owner == "run-b" or str(payload.get("client_order_id", "")).startswith(b_prefix), (
            record.type,
            payload,
        )
    # every record a paper run writes names its run, so the next resume can tell them apart
    for record in before:
        assert "run_id" in record.payload or "client_order_id" in record.payload, record.type
