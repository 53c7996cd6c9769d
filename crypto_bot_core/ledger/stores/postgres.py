"""The PostgreSQL store: many writer processes, one gap-free chain.

Every write transaction first takes a transaction-scoped advisory lock keyed by
the schema, then reads the head; the lock is released only after COMMIT has
made the new rows visible, so the next writer's head read (a fresh READ
COMMITTED snapshot) sees them. Batches go in with COPY. ``psycopg`` is imported
here only, so the SQLite default never needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

import crypto_bot_core.ledger.stores.postgres_schema as ddl
from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.errors import NotALedgerError
from crypto_bot_core.ledger.hashing import GENESIS
from crypto_bot_core.ledger.records import StoredRecord
from crypto_bot_core.ledger.stores.base import (
    PAGE,
    ChainRow,
    LedgerStore,
    RawRow,
    RecordQuery,
    VaultRow,
    WriteTransaction,
    page_bounds,
)
from crypto_bot_sdk import LedgerError, RecordType

TS_TEXT = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
_COLUMNS = (
    f"r.seq, {TS_TEXT.replace('(ts', '(r.ts')}, r.type, r.subject_ref, "
    "(SELECT p.hash FROM {s}.ledger_records p WHERE p.seq = r.seq - 1), r.hash, r.body"
)


_INSERT_COLUMNS = "seq, ts, type, subject_ref, hash, body"


class _PgTransaction(WriteTransaction):
    """The open transaction; a single-row insert is held back to travel with the COMMIT."""

    def __init__(
        self, conn: psycopg.Connection[Any], schema: str, head: tuple[int, bytes] | None
    ) -> None:
        self.conn = conn
        self.s = schema
        self._head = head
        self.pending: tuple[Any, ...] | None = None

    def head(self) -> tuple[int, bytes] | None:
        return self._head

    def insert_raw(self, rows: Sequence[RawRow]) -> None:
        # The writer's tuples are already in _INSERT_COLUMNS order.
        if len(rows) == 1 and self.pending is None:
            self.pending = rows[0]
            return
        self.flush()
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {self.s}.ledger_records ({_INSERT_COLUMNS}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def flush(self) -> None:
        if self.pending is not None:
            self.conn.execute(self.insert_sql(), self.pending)
            self.pending = None

    def insert_sql(self) -> str:
        return (
            f"INSERT INTO {self.s}.ledger_records ({_INSERT_COLUMNS}) "
            "VALUES (%s, %s::timestamptz, %s, %s, %s, %s)"
        )

    def delete_subject(self, subject_ref: str) -> tuple[int, int]:
        self.flush()
        rows = self.conn.execute(
            f"DELETE FROM {self.s}.ledger_vault WHERE subject_ref = %s", (subject_ref,)
        ).rowcount
        keys = self.conn.execute(
            f"DELETE FROM {self.s}.ledger_subject_keys WHERE subject_ref = %s", (subject_ref,)
        ).rowcount
        return rows, keys


class PostgresStore(LedgerStore):
    def __init__(
        self, url: str, *, partition_months_ahead: int = 3, read_only: bool = False
    ) -> None:
        self.url = url
        conninfo, self.schema = ddl.split_url(url)
        try:
            self.conn: psycopg.Connection[Any] = psycopg.connect(conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the ledger database {url}: {exc}") from exc
        self._lock = threading.RLock()
        self._key = ddl.lock_key(self.schema)
        self._columns = _COLUMNS.format(s=self.schema)
        self._head_sql = (
            f"SELECT seq, hash FROM {self.schema}.ledger_records ORDER BY seq DESC LIMIT 1"
        )
        try:
            if not read_only:
                self._ensure_schema(partition_months_ahead)
            self._ledger_id = self._read_ledger_id()
        except BaseException:
            self.conn.close()
            raise

    def _read_ledger_id(self) -> str:
        try:
            rows = dict(
                self.conn.execute(
                    f"SELECT key, value FROM {self.schema}.ledger_meta "
                    "WHERE key IN ('ledger_id', 'format')"
                ).fetchall()
            )
        except psycopg.Error as exc:
            raise NotALedgerError(
                f"schema {self.schema!r} of {self.url} holds no ledger ({exc}); check the URL's "
                "?schema=, or create it with `cryptobot ledger init`"
            ) from exc
        if "ledger_id" not in rows:
            raise NotALedgerError(
                f"schema {self.schema!r} of {self.url} has no ledger id in ledger_meta; it is "
                "not a ledger (or its metadata was removed)"
            )
        return str(rows["ledger_id"])

    def _ensure_schema(self, months: int) -> None:
        s = self.schema
        if ddl.scalar(self.conn, "SELECT to_regclass(%s)", (f"{s}.ledger_records",)):
            return
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._key,))
                if ddl.scalar(self.conn, "SELECT to_regclass(%s)", (f"{s}.ledger_records",)):
                    return  # another process created it while we waited
                for statement in ddl.schema_sql(s) + ddl.default_partition_triggers(s):
                    self.conn.execute(statement)
                statements, _ = ddl.partition_sql(s, self.conn, datetime.now(UTC), months)
                for statement in statements:
                    self.conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LedgerError(
                f"the ledger tables do not exist in schema {s!r} and this role may not create "
                "them; run `cryptobot ledger init --url <owner URL>` first"
            ) from exc

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        """BEGIN, lock, read the head: one round trip (pipelined); the lock statement
        finishes before the head query starts, so the head's snapshot sees every
        earlier writer's commit. A single-row append then sends INSERT and COMMIT
        together: two round trips per record in all."""
        conn = self.conn
        with self._lock:
            try:
                with conn.pipeline() as pipeline:
                    conn.execute("BEGIN")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._key,))
                    cursor = conn.execute(self._head_sql)
                    pipeline.sync()
                    row = cursor.fetchone()
                tx = _PgTransaction(
                    conn, self.schema, None if row is None else (int(row[0]), bytes(row[1]))
                )
                yield tx
                with conn.pipeline():
                    if tx.pending is not None:
                        conn.execute(tx.insert_sql(), tx.pending)
                    conn.execute("COMMIT")
            except BaseException as exc:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                if isinstance(
                    exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.IntegrityError
                ):
                    raise LedgerError(f"the ledger refused the write: {exc}") from exc
                raise

    def _all(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Any]:
        with self._lock, self.conn.cursor(binary=binary) as cur:
            try:
                return cur.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise NotALedgerError(
                    f"cannot read the ledger in schema {self.schema!r} of {self.url}: {exc}"
                ) from exc

    def end(self) -> int:
        top = self._all(f"SELECT max(seq) FROM {self.schema}.ledger_records")[0][0]
        return int(top) + 1 if top is not None else 0

    def ledger_id(self) -> str:
        return self._ledger_id

    def last(self) -> StoredRecord | None:
        rows = self._all(
            f"SELECT {self._columns} FROM {self.schema}.ledger_records r "
            "ORDER BY r.seq DESC LIMIT 1"
        )
        return _record(rows[0]) if rows else None

    def get(self, seq: int) -> StoredRecord | None:
        rows = self._all(
            f"SELECT {self._columns} FROM {self.schema}.ledger_records r WHERE r.seq = %s", (seq,)
        )
        return _record(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._all(f"SELECT count(*) FROM {self.schema}.ledger_records")[0][0])

    def query(self, query: RecordQuery) -> Iterator[StoredRecord]:
        where: list[str] = ["r.seq >= %s"]
        params: list[Any] = [query.start]
        if query.end is not None:
            where.append("r.seq < %s")
            params.append(query.end)
        if query.types:
            where.append("r.type = ANY(%s)")
            params.append(list(query.types))
        if query.since is not None:
            where.append("r.ts >= %s::timestamptz")
            params.append(query.since)
        if query.until is not None:
            where.append("r.ts < %s::timestamptz")
            params.append(query.until)
        if query.subject_ref is not None:
            where.append("r.subject_ref = %s")
            params.append(query.subject_ref)
        sql = (
            f"SELECT {self._columns} FROM {self.schema}.ledger_records r "
            f"WHERE {' AND '.join(where)} ORDER BY r.seq LIMIT {PAGE}"
        )
        while True:
            page = self._all(sql, params)
            yield from (_record(row) for row in page)
            if len(page) < PAGE:
                return
            params[0] = page[-1][0] + 1

    def chain_pages(self, start: int, end: int) -> Iterator[list[ChainRow]]:
        sql = (
            f"SELECT seq, hash, body FROM {self.schema}.ledger_records "
            "WHERE seq >= %s AND seq < %s ORDER BY seq"
        )
        for low, high in page_bounds(start, end):
            yield self._all(sql, (low, high), binary=True)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = self._all(
            f"SELECT hash FROM {self.schema}.ledger_records WHERE seq >= %s AND seq < %s "
            "ORDER BY seq",
            (start, end),
            binary=True,
        )
        return [bytes(row[0]) for row in rows]

    def column_mismatches(self, start: int, end: int, limit: int) -> list[int]:
        sql = f"""
            SELECT seq FROM (
                SELECT seq, body, subject_ref,
                       convert_to(',"seq":' || seq || ',"ts":"' || {TS_TEXT} || '","type":"'
                                  || type || '"}}', 'UTF8') AS tail
                FROM {self.schema}.ledger_records WHERE seq >= %s AND seq < %s
            ) r
            WHERE substring(body from octet_length(body) - octet_length(tail) + 1)
                      IS DISTINCT FROM tail
               OR (subject_ref IS NULL
                   AND position(convert_to('"subject_ref":"', 'UTF8') in body) > 0)
               OR (subject_ref IS NOT NULL
                   AND position(convert_to('"subject_ref":"' || subject_ref || '"', 'UTF8')
                                in body) = 0)
            ORDER BY seq LIMIT %s
        """
        return [int(row[0]) for row in self._all(sql, (start, end, limit))]

    def structure_problems(self) -> list[str]:
        """Every append-only trigger present, unchanged and firing in ordinary sessions.

        Presence is not enough: ``ALTER TABLE ... ENABLE REPLICA TRIGGER`` keeps the
        trigger but stops it firing for every normal session, so the firing mode
        (``pg_trigger.tgenabled``) must be 'O'. The definitions (event, level,
        function) and the refusing function's body are compared too, on the tables
        and on every partition of the records.
        """
        s = self.schema
        partitions = [
            str(row[0])
            for row in self._all(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
                (f"{s}.ledger_records",),
            )
        ]
        rows = self._all(
            "SELECT t.tgname, c.relname, t.tgenabled, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal",
            (s,),
        )
        present = {(str(n), str(t)): (str(mode), str(sql)) for n, t, mode, sql in rows}
        found = []
        for (name, table), definition in ddl.expected_triggers(s, partitions).items():
            if (name, table) not in present:
                found.append(f"the append-only trigger {name} is missing on {table}")
                continue
            mode, actual = present[(name, table)]
            if mode != "O":
                why = ddl.TRIGGER_MODES.get(mode, f"in firing mode {mode!r}")
                found.append(
                    f"the append-only trigger {name} on {table} is {why}: history was writable"
                )
            if " ".join(actual.split()) != definition:
                found.append(
                    f"the append-only trigger {name} on {table} was altered: it reads {actual!r}"
                )
        body = self._all(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = 'ledger_refuse_change'",
            (s,),
        )
        if not body:
            found.append(f"the trigger function {s}.ledger_refuse_change is missing")
        elif " ".join(str(body[0][0]).split()) != " ".join(ddl.REFUSE_BODY.split()):
            found.append(
                f"the trigger function {s}.ledger_refuse_change was replaced: it no longer "
                "only refuses the change (history was writable)"
            )
        return found

    def receipt_rows(self, end: int) -> list[tuple[int, bytes]]:
        rows = self._all(
            f"SELECT seq, body FROM {self.schema}.ledger_records WHERE type = %s AND seq < %s "
            "ORDER BY seq",
            (RecordType.ERASURE_RECEIPT.value, end),
        )
        return [(int(seq), bytes(body)) for seq, body in rows]

    def add_checkpoint(self, cp: Checkpoint) -> None:
        try:
            with self._lock:
                self.conn.execute(
                    f"INSERT INTO {self.schema}.ledger_checkpoints (tree_size, ledger_id, ts, "
                    "root, chain_head, key_id, signature, compact) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        cp.tree_size,
                        cp.ledger_id,
                        cp.ts,
                        cp.root,
                        cp.chain_head,
                        cp.key_id,
                        cp.signature,
                        cp.compact,
                    ),
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LedgerError(
                f"this role may not add checkpoints ({exc}); set CRYPTOBOT_LEDGER_CHECKPOINT_URL "
                "to a connection as the checkpointer role"
            ) from exc
        except psycopg.Error as exc:
            raise LedgerError(f"the ledger refused checkpoint {cp.tree_size}: {exc}") from exc

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._all(
            "SELECT ledger_id, tree_size, root, chain_head, ts, key_id, signature, compact "
            f"FROM {self.schema}.ledger_checkpoints ORDER BY tree_size"
        )
        return [
            Checkpoint(str(a), int(b), bytes(c), bytes(d), str(e), str(f), bytes(g), bytes(h))
            for a, b, c, d, e, f, g, h in rows
        ]

    def subject_key(self, subject_ref: str) -> bytes | None:
        rows = self._all(
            f"SELECT wrapped_key FROM {self.schema}.ledger_subject_keys WHERE subject_ref = %s",
            (subject_ref,),
        )
        return bytes(rows[0][0]) if rows else None

    def add_subject_key(self, subject_ref: str, wrapped: bytes, created_at: str) -> bytes:
        with self._lock:
            self.conn.execute(
                f"INSERT INTO {self.schema}.ledger_subject_keys (subject_ref, wrapped_key, "
                "created_at) VALUES (%s, %s, %s) ON CONFLICT (subject_ref) DO NOTHING",
                (subject_ref, wrapped, created_at),
            )
        stored = self.subject_key(subject_ref)
        if stored is None:
            raise LedgerError(f"the vault key of {subject_ref} vanished while it was created")
        return stored

    def add_vault_row(self, row: VaultRow) -> None:
        with self._lock:
            self.conn.execute(
                f"INSERT INTO {self.schema}.ledger_vault (id, subject_ref, sealed, created_at) "
                "VALUES (%s, %s, %s, %s)",
                (row.id, row.subject_ref, row.sealed, row.created_at),
            )

    def vault_rows(self, subject_ref: str) -> list[VaultRow]:
        rows = self._all(
            f"SELECT id, subject_ref, sealed, created_at FROM {self.schema}.ledger_vault "
            "WHERE subject_ref = %s ORDER BY created_at, id",
            (subject_ref,),
        )
        return [VaultRow(str(a), str(b), bytes(c), str(d)) for a, b, c, d in rows]

    def subject_records(self, subject_ref: str) -> list[tuple[int, str, str]]:
        rows = self._all(
            f"SELECT seq, {TS_TEXT}, type FROM {self.schema}.ledger_records "
            "WHERE subject_ref = %s ORDER BY seq",
            (subject_ref,),
        )
        return [(int(a), str(b), str(c)) for a, b, c in rows]

    def purge(self) -> str:
        s = self.schema
        owner = self._all(
            "SELECT bool_and(pg_has_role(current_user, relowner, 'MEMBER')) FROM pg_class "
            "WHERE oid IN (%s::regclass, %s::regclass)",
            (f"{s}.ledger_vault", f"{s}.ledger_subject_keys"),
        )[0][0]
        if not owner:
            return (
                "deleted vault rows await VACUUM; run `cryptobot ledger purge` as the owner "
                "of the vault tables"
            )
        with self._lock:
            self.conn.execute(f"VACUUM (FULL) {s}.ledger_vault, {s}.ledger_subject_keys")
        return "vault tables rewritten (VACUUM FULL): deleted rows are gone from the table files"

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _record(row: Sequence[Any]) -> StoredRecord:
    seq, ts, kind, ref, prev, digest, body = row
    return StoredRecord(
        int(seq),
        str(ts),
        str(kind),
        ref,
        bytes(prev) if prev else GENESIS,
        bytes(digest),
        bytes(body),
    )


def initialise(
    url: str,
    *,
    writer_role: str | None = None,
    checkpointer_role: str | None = None,
    months_ahead: int = 3,
) -> list[str]:
    """Create (or bring up to date) the schema, this and the coming months' partitions and
    the writer and checkpointer roles; run it as the owner. Safe to run again (monthly)."""
    store = PostgresStore(url, partition_months_ahead=months_ahead)
    notes = [f"schema {store.schema} ready (ledger {store.ledger_id()})"]
    try:
        with store.conn.transaction():
            statements, skipped = ddl.partition_sql(
                store.schema, store.conn, datetime.now(UTC), months_ahead
            )
            for statement in statements + ddl.role_sql(
                store.schema, writer_role, checkpointer_role
            ):
                store.conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise LedgerError(f"setting up the ledger needs its owner (and CREATEROLE): {exc}") from exc
    finally:
        store.close()
    notes += [
        f"created partition {s.split()[2]}" for s in statements if s.startswith("CREATE TABLE")
    ]
    notes += [
        f"skipped partition {name}: the default partition already holds rows of that month"
        for name in skipped
    ]
    if writer_role:
        notes.append(f"role {writer_role}: INSERT and SELECT on records, vault access")
    if checkpointer_role:
        notes.append(f"role {checkpointer_role}: SELECT on records, INSERT on checkpoints")
    return notes
