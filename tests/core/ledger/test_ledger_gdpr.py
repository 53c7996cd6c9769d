"""Personal data stays out of the chain; erasure destroys it and leaves a verifiable receipt."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto_bot_core.ledger import (
    LedgerSettings,
    RetentionRule,
    open_ledger,
    verify_receipt,
)
from crypto_bot_core.ledger.settings import sqlite_path
from crypto_bot_core.ledger.signing import load_public_key
from crypto_bot_core.ledger.stores.postgres_schema import split_url
from crypto_bot_sdk import ErasureRefusedError, LedgerError, LedgerIntegrityError, RecordType

EMAIL = "alice.example@mail.test"
NAME = "Alice Wonderland-Smith"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _database_bytes(url: str) -> bytes:
    """Every byte the database keeps on disk for the ledger (files, WAL, relation files)."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        assert path is not None
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    import psycopg

    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        files = conn.execute(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 't') "
            "UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.reltoastrelid <> 0",
            (schema, schema),
        ).fetchall()
        return b"".join(
            conn.execute("SELECT pg_read_binary_file(%s)", (f,)).fetchone()[0]  # type: ignore[index]
            for (f,) in files
            if f
        )


def test_subject_references_are_keyed_pseudonyms(
    backend_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(backend_url)) as ledger:
        ref = ledger.subjects.ref(EMAIL)
        assert ref.startswith("sr_")
        assert len(ref) == 67
        assert ledger.subjects.ref(EMAIL) == ref
        assert ledger.subjects.ref(ref) == ref
        assert ledger.subjects.ref("bob@mail.test") != ref
    other = settings_for(backend_url, subject_secret="another-secret-0123456789abcdef")
    with open_ledger(settings=other) as ledger:
        assert ledger.subjects.ref(EMAIL) != ref


def test_erasure_destroys_the_data_and_the_chain_still_verifies(
    backend_url: str, settings_for: Callable[..., LedgerSettings], public_key: Path
) -> None:
    with open_ledger(settings=settings_for(backend_url)) as ledger:
        ref = ledger.subjects.put(EMAIL, {"email": EMAIL, "name": NAME})
        ledger.subjects.put(EMAIL, {"address": "1 Rabbit Hole Lane"})
        ledger.subjects.put("bob@mail.test", {"name": "Bob Keeps-His-Data"})
        ledger.append(RecordType.ORDER_INTENT, {"subject_ref": ref, "qty": "1"})
        ledger.append(RecordType.FILL, {"subject_ref": ref, "qty": "1"})
        ledger.checkpoint()
        assert ledger.subjects.get(EMAIL) == [
            {"email": EMAIL, "name": NAME},
            {"address": "1 Rabbit Hole Lane"},
        ]
        on_disk = _database_bytes(backend_url)
        assert NAME.encode() not in on_disk  # sealed from the start
        sealed = [row.sealed for row in ledger.store.vault_rows(ref)]
        wrapped = ledger.store.subject_key(ref)
        assert wrapped is not None
        assert all(s in on_disk for s in sealed)
        assert wrapped in on_disk

        result = ledger.subjects.erase(EMAIL, reason="gdpr-art17", request_id="DSR-2026-17")

        assert (result.vault_rows_deleted, result.key_destroyed) == (2, True)
        assert ledger.subjects.get(EMAIL) == []
        assert ledger.subjects.get("bob@mail.test") == [{"name": "Bob Keeps-His-Data"}]
        on_disk = _database_bytes(backend_url)
        for secret in [NAME.encode(), EMAIL.encode(), wrapped, *sealed]:
            assert secret not in on_disk
        receipt = result.receipt
        assert receipt.type is RecordType.ERASURE_RECEIPT
        assert EMAIL not in json.dumps(receipt.payload)
        assert NAME not in json.dumps(receipt.payload)
        report = ledger.verify()
        assert report.ok, report.problems
        assert report.receipts_checked == 1
        assert [r.sequence for r in ledger.records(subject=EMAIL)] == [0, 1, 2]

    key = load_public_key(str(public_key), "test")
    signed = verify_receipt(receipt.payload, key)
    assert signed["subject"] == ref
    assert signed["vault_rows_deleted"] == 2
    assert signed["request_id"] == "DSR-2026-17"
    forged = json.loads(json.dumps(receipt.payload))
    forged["receipt"]["vault_rows_deleted"] = 0
    with pytest.raises(LedgerIntegrityError, match="invalid signature"):
        verify_receipt(forged, key)


def test_receipt_reasons_cannot_carry_free_text(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ledger.subjects.put(EMAIL, {"email": EMAIL})
        with pytest.raises(LedgerError, match="must be a short code"):
            ledger.subjects.erase(EMAIL, reason=f"asked by {NAME}")
        assert ledger.subjects.get(EMAIL) == [{"email": EMAIL}]


def test_a_legal_hold_refuses_erasure_until_it_expires(
    backend_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    rule = RetentionRule(
        name="mifid2-records",
        description="MiFID II record keeping, 5 years after the last order",
        record_types=(RecordType.ORDER_FILLED, RecordType.FILL),
        years=5,
    )
    with open_ledger(settings=settings_for(backend_url, retention=(rule,))) as ledger:
        ref = ledger.subjects.put(EMAIL, {"email": EMAIL})
        ledger.append(RecordType.FILL, {"subject_ref": ref}, ts=NOW - timedelta(days=30))
        with pytest.raises(ErasureRefusedError) as refused:
            ledger.subjects.erase(EMAIL, now=NOW)
        message = str(refused.value)
        assert "retention rule 'mifid2-records'" in message
        assert "MiFID II record keeping" in message
        assert "until 2031-05-02" in message
        assert "processing of the subject is restricted" in message
        assert ledger.subjects.get(EMAIL) == [{"email": EMAIL}]
        assert ledger.subjects.restricted(EMAIL)
        restriction = ledger.head()
        assert restriction is not None
        assert restriction.type is RecordType.PROCESSING_RESTRICTED
        assert restriction.payload["holds"] == [
            {"rule": "mifid2-records", "until": "2031-05-02T09:00:00.000000Z"}
        ]
        later = ledger.subjects.erase(EMAIL, now=NOW + timedelta(days=5 * 366))
        assert later.vault_rows_deleted == 1
        assert ledger.subjects.get(EMAIL) == []
        assert ledger.verify().ok


def test_refusals_do_not_extend_a_hold_over_all_record_types(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    rule = RetentionRule(name="any-record", days=30)
    with open_ledger(settings=settings_for(sqlite_url, retention=(rule,))) as ledger:
        ref = ledger.subjects.put(EMAIL, {"email": EMAIL})
        ledger.append(RecordType.DECISION, {"subject_ref": ref}, ts=NOW)
        for days in (10, 20):
            with pytest.raises(ErasureRefusedError, match="until 2026-07-01"):
                ledger.subjects.erase(EMAIL, now=NOW + timedelta(days=days))
        assert ledger.subjects.erase(EMAIL, now=NOW + timedelta(days=31)).key_destroyed


def test_a_litigation_hold_names_its_subjects(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    hold = RetentionRule(
        name="case-4711", until=datetime(2030, 1, 1, tzinfo=UTC), subjects=(EMAIL,)
    )
    with open_ledger(settings=settings_for(sqlite_url, retention=(hold,))) as ledger:
        ledger.subjects.put(EMAIL, {"email": EMAIL})
        ledger.subjects.put("bob@mail.test", {"email": "bob@mail.test"})
        assert ledger.subjects.erase("bob@mail.test", now=NOW).key_destroyed
        with pytest.raises(ErasureRefusedError, match=r"'case-4711'.*until 2030-01-01"):
            ledger.subjects.erase(EMAIL, now=NOW)
    with pytest.raises(ValueError, match="exactly one of them"):
        RetentionRule(name="both", years=1, until=NOW)
