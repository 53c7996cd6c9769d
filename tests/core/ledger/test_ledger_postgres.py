"""PostgreSQL specifics: least-privilege roles and time partitions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest

from crypto_bot_core.ledger import LedgerSettings, open_ledger
from crypto_bot_core.ledger.stores.postgres import initialise
from crypto_bot_sdk import LedgerError, RecordType

pytestmark = pytest.mark.postgres


def _as_role(pg_url: str, role: str) -> str:
    return pg_url.replace("postgres@", f"{role}@", 1)


def test_the_writer_role_may_only_insert_and_read(
    pg_url: str,
    pg_roles: Callable[[str], str],
    settings_for: Callable[..., LedgerSettings],
) -> None:
    writer, checkpointer = pg_roles("writer"), pg_roles("checkpointer")
    notes = initialise(pg_url, writer_role=writer, checkpointer_role=checkpointer)
    assert any(note.startswith(f"role {writer}: INSERT and SELECT") for note in notes)
    writer_url = _as_role(pg_url, writer)

    with open_ledger(settings=settings_for(writer_url)) as ledger:
        ledger.append_many([(RecordType.FILL, {"i": i}) for i in range(5)])
        with pytest.raises(LedgerError, match="CRYPTOBOT_LEDGER_CHECKPOINT_URL"):
            ledger.checkpoint()

    conninfo = writer_url.split("?")[0]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in (
            "UPDATE audit.ledger_records SET type = 'x'",
            "DELETE FROM audit.ledger_records",
            "TRUNCATE audit.ledger_records",
            "INSERT INTO audit.ledger_checkpoints VALUES (1, 'x', 'x', '', '', 'x', '', '')",
            "ALTER TABLE audit.ledger_records DISABLE TRIGGER ALL",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)

    split = settings_for(writer_url, checkpoint_url=_as_role(pg_url, checkpointer))
    with open_ledger(settings=split) as ledger:
        cp = ledger.checkpoint()
        assert cp.tree_size == 5
        report = ledger.verify()
        assert report.ok, report.problems
        assert report.signatures_checked == 1


def test_records_land_in_monthly_partitions(
    pg_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    now = datetime.now(UTC)
    with open_ledger(settings=settings_for(pg_url)) as ledger:
        ledger.append(RecordType.SYSTEM_START, {}, ts=now)
        ledger.append(RecordType.SYSTEM_STOP, {}, ts=datetime(2019, 7, 4, tzinfo=UTC))
        with psycopg.connect(pg_url.split("?", maxsplit=1)[0]) as conn:
            rows = conn.execute(
                "SELECT seq, tableoid::regclass::text FROM audit.ledger_records ORDER BY seq"
            ).fetchall()
        assert rows == [
            (0, f"audit.ledger_records_p{now.year:04d}{now.month:02d}"),
            (1, "audit.ledger_records_default"),
        ]
        notes = initialise(pg_url, months_ahead=1)
        assert not any("skipped" in note for note in notes)
        assert ledger.verify().ok


def test_init_creates_future_partitions_and_skips_crowded_months(pg_url: str) -> None:
    from crypto_bot_core.ledger.stores import postgres_schema as ddl

    with open_ledger(settings=LedgerSettings(url=pg_url, partition_months_ahead=0)) as ledger:
        ledger.append(RecordType.SYSTEM_START, {}, ts=datetime(2031, 2, 10, tzinfo=UTC))
    conninfo, schema = ddl.split_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        statements, skipped = ddl.partition_sql(schema, conn, datetime(2031, 1, 15, tzinfo=UTC), 2)
    assert skipped == ["ledger_records_p203102"]
    assert any("ledger_records_p203101" in s for s in statements)
    assert any("ledger_records_p203103" in s for s in statements)
