"""Appending, reading and verifying the chain on SQLite and PostgreSQL, including tampering."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ledger_tamper import as_admin

from crypto_bot_core.ledger import Ledger, LedgerSettings, PayloadError, open_ledger
from crypto_bot_core.ledger.hashing import CHAIN_TAG, GENESIS
from crypto_bot_sdk import LedgerError, LedgerIntegrityError, RecordType

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _fill(i: int) -> dict[str, object]:
    return {"fill_id": f"f-{i}", "price": Decimal("43000.10"), "qty": Decimal("0.010"), "i": i}


def _populate(ledger: Ledger, count: int) -> None:
    ledger.append_many(
        [(RecordType.FILL, _fill(i), T0 + timedelta(seconds=i)) for i in range(count)]
    )


def test_appended_records_link_and_read_back(ledger: Ledger) -> None:
    first = ledger.append(RecordType.SYSTEM_START, {"run_id": "r1"}, ts=T0)
    batch = ledger.append_many(
        [
            (RecordType.ORDER_INTENT, {"client_order_id": "c1", "qty": Decimal("1.50")}),
            (RecordType.ORDER_SUBMITTED, {"client_order_id": "c1"}),
            (RecordType.FILL, _fill(0)),
        ],
        ts=T0 + timedelta(minutes=1),
    )
    assert first.sequence == 0
    assert first.prev_hash == GENESIS.hex()
    assert [r.sequence for r in batch] == [1, 2, 3]
    assert batch[0].prev_hash == first.hash
    assert batch[0].payload == {"client_order_id": "c1", "qty": "1.50"}
    read = list(ledger.records())
    assert [r.hash for r in read] == [first.hash] + [r.hash for r in batch]
    assert [r.prev_hash for r in read[1:]] == [r.hash for r in read[:-1]]
    assert read[1].ts == T0 + timedelta(minutes=1)
    assert ledger.head() == read[-1]
    assert len(ledger) == 4
    assert ledger.get(2).type is RecordType.ORDER_SUBMITTED
    # The stored hash is the documented rule over the canonical record bytes.
    body = (
        b'{"payload":{"run_id":"r1"},"seq":0,"ts":"2025-03-01T12:00:00.000000Z",'
        b'"type":"system.start"}'
    )
    assert first.hash == hashlib.sha256(CHAIN_TAG + GENESIS + body).hexdigest()


def test_filters_select_by_type_time_range_and_sequence(ledger: Ledger) -> None:
    _populate(ledger, 10)
    ledger.append(RecordType.KILL_SWITCH, {"reason": "test"}, ts=T0 + timedelta(seconds=5))
    fills = list(ledger.records(types=[RecordType.FILL], start=3, end=6))
    assert [r.payload["i"] for r in fills] == [3, 4, 5]
    window = list(ledger.records(since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=5)))
    assert [r.sequence for r in window] == [2, 3, 4]
    kills = list(ledger.records(types=["system.kill_switch"]))
    assert [(r.sequence, r.prev_hash) for r in kills] == [(10, ledger.get(9).hash)]


def test_bad_input_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    with pytest.raises(PayloadError, match="not a ledger record type"):
        ledger.append("order.teleported", {})
    with pytest.raises(PayloadError, match=r"payload\.px is nan"):
        ledger.append_many([(RecordType.FILL, {"px": 1}), (RecordType.FILL, {"px": float("nan")})])
    with pytest.raises(PayloadError, match="subject_ref"):
        ledger.append(RecordType.DECISION, {"subject_ref": "alice@example.com"})
    assert len(ledger) == 0


def test_the_database_refuses_update_and_delete(ledger: Ledger) -> None:
    _populate(ledger, 3)
    ledger.checkpoint()
    with pytest.raises(Exception, match="append-only"):
        as_admin(
            ledger.url,
            "UPDATE {t}ledger_records SET hash = ? WHERE seq = 1",
            (b"x",),
            triggers=True,
        )
    with pytest.raises(Exception, match="append-only"):
        as_admin(ledger.url, "DELETE FROM {t}ledger_records WHERE seq = 2", triggers=True)
    with pytest.raises(Exception, match="append-only"):
        as_admin(ledger.url, "DELETE FROM {t}ledger_checkpoints", triggers=True)
    assert [r.sequence for r in ledger.records()] == [0, 1, 2]
    assert ledger.verify().ok


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_the_table_and_of_a_partition(pg_url: str) -> None:
    with open_ledger(settings=LedgerSettings(url=pg_url)) as ledger:
        ledger.append(RecordType.SYSTEM_START, {}, ts=T0)
    with pytest.raises(Exception, match="append-only: TRUNCATE refused"):
        as_admin(pg_url, "TRUNCATE {t}ledger_records", triggers=True)
    with pytest.raises(Exception, match="append-only: TRUNCATE refused"):
        as_admin(pg_url, "TRUNCATE {t}ledger_records_default", triggers=True)


def test_an_edit_with_triggers_disabled_is_caught_and_named(ledger: Ledger) -> None:
    _populate(ledger, 12)
    ledger.checkpoint()
    changed = as_admin(
        ledger.url,
        "UPDATE {t}ledger_records SET body = CAST(REPLACE(CAST(body AS TEXT), "
        '\'"qty":"0.010"\', \'"qty":"9.010"\') AS BLOB) WHERE seq = 7'
        if ledger.url.startswith("sqlite")
        else "UPDATE {t}ledger_records SET body = convert_to(replace(convert_from(body, 'UTF8'), "
        '\'"qty":"0.010"\', \'"qty":"9.010"\'), \'UTF8\') WHERE seq = 7',
    )
    assert changed == 1
    assert ledger.get(7).payload["qty"] == "9.010"
    report = ledger.verify()
    assert not report.ok
    assert report.first_bad == 7
    assert {p.kind for p in report.problems} == {"content", "checkpoint"}
    first = report.first_problem()
    assert first is not None
    assert first.message.startswith("record 7: its bytes")
    with pytest.raises(LedgerIntegrityError, match="record 7") as caught:
        report.raise_for_problems()
    assert caught.value.sequence == 7


def test_a_rewritten_hash_is_caught_at_that_record(ledger: Ledger) -> None:
    _populate(ledger, 6)
    as_admin(ledger.url, "UPDATE {t}ledger_records SET hash = ? WHERE seq = 3", (bytes(32),))
    report = ledger.verify()
    assert report.first_bad == 3
    assert [p.sequence for p in report.problems] == [3, 4]


def test_a_removed_tail_is_caught_against_the_last_checkpoint(ledger: Ledger) -> None:
    _populate(ledger, 20)
    cp = ledger.checkpoint()
    assert cp.tree_size == 20
    assert as_admin(ledger.url, "DELETE FROM {t}ledger_records WHERE seq >= 15") == 5
    report = ledger.verify()
    assert report.records == 15
    assert report.first_bad == 15
    problem = report.first_problem()
    assert problem is not None
    assert problem.kind == "tail"
    assert "records 15..19 were removed" in problem.message
    with pytest.raises(LedgerIntegrityError, match="records were removed"):
        ledger.checkpoint()


def test_a_replaced_tail_does_not_match_the_checkpoint(ledger: Ledger) -> None:
    _populate(ledger, 10)
    ledger.checkpoint()
    as_admin(ledger.url, "DELETE FROM {t}ledger_records WHERE seq >= 8")
    ledger.append_many([(RecordType.FILL, {"forged": i}) for i in range(2)])
    report = ledger.verify()
    assert not report.ok
    assert [p.kind for p in report.problems] == ["checkpoint", "checkpoint"]
    assert "records 0..9 differ from what was checkpointed" in report.problems[0].message


def test_a_gap_in_the_sequence_is_named(ledger: Ledger) -> None:
    _populate(ledger, 8)
    as_admin(ledger.url, "DELETE FROM {t}ledger_records WHERE seq = 4")
    report = ledger.verify()
    assert report.first_bad == 4
    assert report.problems[0].kind == "gap"
    assert "records 4..4 are missing" in report.problems[0].message


def test_a_forged_checkpoint_is_caught(ledger: Ledger) -> None:
    _populate(ledger, 5)
    cp = ledger.checkpoint()
    as_admin(ledger.url, "UPDATE {t}ledger_checkpoints SET root = ?", (bytes(32),))
    messages = [p.message for p in ledger.verify().problems]
    if ledger.url.startswith("sqlite"):
        # The published copy beside the file still holds the signed original.
        assert messages == [
            "the database's checkpoint of size 5 differs from the published one: the ledger "
            "has forked"
        ]
    else:
        assert messages == [
            f"checkpoint 5 (signed at {cp.ts}) has an invalid signature: its size, root or "
            "chain head was altered"
        ]


def test_checkpoints_extend_and_reuse(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="empty"):
        ledger.checkpoint()
    _populate(ledger, 5)
    first = ledger.checkpoint()
    assert ledger.checkpoint() == first  # nothing new: the same checkpoint
    _populate(ledger, 9)
    second = ledger.checkpoint()
    assert (first.tree_size, second.tree_size) == (5, 14)
    assert second.chain_head.hex() == ledger.get(13).hash
    report = ledger.verify()
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.signatures_checked) == (14, 2, 2)


def test_column_edits_cannot_hide_a_record(
    backend_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    with open_ledger(settings=settings_for(backend_url)) as ledger:
        _populate(ledger, 6)
        if backend_url.startswith("sqlite"):
            # Derived columns: SQLite itself refuses to change them.
            with pytest.raises(Exception, match="cannot UPDATE generated column"):
                as_admin(backend_url, "UPDATE ledger_records SET type = 'alert' WHERE seq = 2")
            as_admin(backend_url, "DROP TRIGGER ledger_records_no_delete", triggers=True)
            report = ledger.verify()
            assert [p.kind for p in report.problems] == ["protection"]
            assert "ledger_records_no_delete is missing" in report.problems[0].message
        else:
            as_admin(
                backend_url, "UPDATE {t}ledger_records SET type = 'system.alert' WHERE seq = 2"
            )
            assert [r.sequence for r in ledger.records(types=[RecordType.FILL])] == [0, 1, 3, 4, 5]
            report = ledger.verify()
            assert report.first_bad == 2
            assert report.problems[0].message == (
                "record 2: column type is 'system.alert' but the hashed record says 'fill'"
            )
