"""PostgreSQL layout of the ledger: tables, append-only triggers, roles and time partitions.

* ``ledger_records`` is partitioned by month on ``ts`` (a default partition
  catches anything outside the created months), so old months can be moved to
  cheaper storage or detached into archives by the owner without touching the
  live table.
* Triggers refuse UPDATE, DELETE and TRUNCATE on records (every partition),
  checkpoints and metadata, for every role including the owner, unless a
  superuser disables them on purpose.
* Three roles: the owner (runs this setup), a *writer* that may only INSERT and
  SELECT records (and manage the personal-data vault, which must be erasable),
  and a *checkpointer* that may only read records and INSERT checkpoints. The
  writer cannot create, change or remove a checkpoint, so a compromised writer
  cannot hide what it did from the last checkpoint.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crypto_bot_sdk import ConfigError

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY = ("ledger_records", "ledger_checkpoints", "ledger_meta")


def split_url(url: str) -> tuple[str, str]:
    """(connection URL for psycopg, schema): ``?schema=NAME`` is ours, not libpq's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = "public"
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    check_identifier(schema, "schema")
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


def check_identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ConfigError(
            f"{what} {value!r} must be a lower-case SQL identifier (letters, digits, '_')",
            key="ledger.url",
        )
    return value


def scalar(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the first row, or None when there is no row."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def lock_key(schema: str) -> int:
    """The advisory-lock key every writer of this schema serialises on."""
    digest = hashlib.sha256(f"cryptobot.ledger:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


REFUSE_BODY = """
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'the audit ledger never changes history; append a record';
            END """
"""The trigger function's body; verification compares the stored one with it."""

TRIGGER_MODES = {
    "D": "disabled",
    "R": "set to ENABLE REPLICA, so it fires only in replication sessions and every "
    "ordinary session (the owner's included) bypasses it",
    "A": "set to ENABLE ALWAYS, which is not how the ledger set it up (it was altered)",
}
"""pg_trigger.tgenabled values other than 'O' (fires in ordinary sessions), explained."""


def expected_triggers(s: str, partitions: list[str]) -> dict[tuple[str, str], str]:
    """(trigger, table) -> the definition ``pg_get_triggerdef`` must show for it."""
    refuse = f"EXECUTE FUNCTION {s}.ledger_refuse_change()"
    out: dict[tuple[str, str], str] = {}
    for table in (*APPEND_ONLY, *partitions):
        out[(f"{table}_no_truncate", table)] = (
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {s}.{table} "
            f"FOR EACH STATEMENT {refuse}"
        )
    for table in APPEND_ONLY:
        out[(f"{table}_no_change", table)] = (
            f"CREATE TRIGGER {table}_no_change BEFORE DELETE OR UPDATE ON {s}.{table} "
            f"FOR EACH ROW {refuse}"
        )
    for partition in partitions:  # the records' row trigger, cloned onto each partition
        out[("ledger_records_no_change", partition)] = (
            f"CREATE TRIGGER ledger_records_no_change BEFORE DELETE OR UPDATE ON "
            f"{s}.{partition} FOR EACH ROW {refuse}"
        )
    return out


def schema_sql(s: str) -> list[str]:
    statements = [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {s}.ledger_meta (key text PRIMARY KEY, value text NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {s}.ledger_records (
            seq bigint NOT NULL,
            ts timestamptz NOT NULL,
            type text NOT NULL,
            subject_ref text,
            hash bytea NOT NULL,
            body bytea NOT NULL,
            PRIMARY KEY (seq, ts)
        ) PARTITION BY RANGE (ts)""",
        f"CREATE TABLE IF NOT EXISTS {s}.ledger_records_default "
        f"PARTITION OF {s}.ledger_records DEFAULT",
        f"CREATE INDEX IF NOT EXISTS ledger_records_ts ON {s}.ledger_records (ts)",
        f"CREATE INDEX IF NOT EXISTS ledger_records_type ON {s}.ledger_records (type, seq)",
        f"CREATE INDEX IF NOT EXISTS ledger_records_subject ON {s}.ledger_records (subject_ref) "
        "WHERE subject_ref IS NOT NULL",
        f"""CREATE TABLE IF NOT EXISTS {s}.ledger_checkpoints (
            tree_size bigint PRIMARY KEY,
            ledger_id text NOT NULL,
            ts text NOT NULL,
            root bytea NOT NULL,
            chain_head bytea NOT NULL,
            key_id text NOT NULL,
            signature bytea NOT NULL,
            compact bytea NOT NULL
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.ledger_subject_keys (
            subject_ref text PRIMARY KEY, wrapped_key bytea NOT NULL, created_at text NOT NULL
        )""",
        f"""CREATE TABLE IF NOT EXISTS {s}.ledger_vault (
            id text PRIMARY KEY, subject_ref text NOT NULL, sealed bytea NOT NULL,
            created_at text NOT NULL
        )""",
        f"CREATE INDEX IF NOT EXISTS ledger_vault_subject ON {s}.ledger_vault (subject_ref)",
        f"""CREATE OR REPLACE FUNCTION {s}.ledger_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $${REFUSE_BODY}$$""",
    ]
    for table in APPEND_ONLY:
        statements += _trigger_sql(s, table, row=True)
    statements.append(
        f"INSERT INTO {s}.ledger_meta (key, value) VALUES "
        "('ledger_id', gen_random_uuid()::text), ('format', 'cryptobot.ledger.v1') "
        "ON CONFLICT (key) DO NOTHING"
    )
    return statements


def _trigger_sql(s: str, table: str, *, row: bool) -> list[str]:
    out = [
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {s}.{table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {s}.{table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.ledger_refuse_change()",
    ]
    if row:  # row triggers on a partitioned table are cloned onto every partition
        out += [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {s}.{table}",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {s}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.ledger_refuse_change()",
        ]
    return out


def _month(year: int, month: int) -> tuple[int, int]:
    return (year + (month - 1) // 12, (month - 1) % 12 + 1)


def partition_sql(s: str, conn: Any, start: datetime, months: int) -> tuple[list[str], list[str]]:
    """Statements creating monthly partitions from ``start``'s month; and months skipped.

    A month is skipped when the default partition already holds rows of it
    (PostgreSQL refuses the new partition then); those rows stay where they are.
    """
    statements, skipped = [], []
    start = start.astimezone(UTC)
    for offset in range(months + 1):
        year, month = _month(start.year, start.month + offset)
        next_year, next_month = _month(year, month + 1)
        name = f"ledger_records_p{year:04d}{month:02d}"
        low = f"{year:04d}-{month:02d}-01 00:00:00+00"
        high = f"{next_year:04d}-{next_month:02d}-01 00:00:00+00"
        exists = scalar(conn, "SELECT to_regclass(%s)", (f"{s}.{name}",))
        if exists is not None:
            continue
        crowded = scalar(
            conn,
            f"SELECT EXISTS (SELECT 1 FROM {s}.ledger_records_default "
            "WHERE ts >= %s::timestamptz AND ts < %s::timestamptz)",
            (low, high),
        )
        if crowded:
            skipped.append(name)
            continue
        statements.append(
            f"CREATE TABLE {s}.{name} PARTITION OF {s}.ledger_records "
            f"FOR VALUES FROM ('{low}') TO ('{high}')"
        )
        statements += _trigger_sql(s, name, row=False)
    return statements, skipped


def default_partition_triggers(s: str) -> list[str]:
    return _trigger_sql(s, "ledger_records_default", row=False)


def role_sql(s: str, writer: str | None, checkpointer: str | None) -> list[str]:
    out = []
    for role in (writer, checkpointer):
        if role is None:
            continue
        check_identifier(role, "role")
        out += [
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} LOGIN; END IF; END $$",
            f"GRANT USAGE ON SCHEMA {s} TO {role}",
            f"GRANT SELECT ON {s}.ledger_records, {s}.ledger_meta, {s}.ledger_checkpoints "
            f"TO {role}",
        ]
    if writer is not None:
        out += [
            f"GRANT INSERT ON {s}.ledger_records TO {writer}",
            f"GRANT SELECT, INSERT, DELETE ON {s}.ledger_subject_keys, {s}.ledger_vault "
            f"TO {writer}",
        ]
    if checkpointer is not None:
        out.append(f"GRANT INSERT ON {s}.ledger_checkpoints TO {checkpointer}")
    return out
