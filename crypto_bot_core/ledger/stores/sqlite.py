"""The embedded store: one SQLite file in WAL mode, safe for several writer processes.

Writers serialise on ``BEGIN IMMEDIATE`` (SQLite's single write lock, waited for
up to ``busy_timeout_s``); readers never block them (WAL). Triggers refuse
UPDATE and DELETE on records, checkpoints and metadata, so even a hand-typed
``sqlite3`` session cannot change history without first dropping a trigger,
which verification then exposes. ``secure_delete`` zeroes the pages of erased
vault rows, and erasure truncates the WAL so no copy of them lingers in it.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.records import StoredRecord
from crypto_bot_core.ledger.stores.base import (
    PAGE,
    ChainRow,
    LedgerStore,
    RecordQuery,
    VaultRow,
    WriteTransaction,
)
from crypto_bot_sdk import LedgerError, RecordType

APPEND_ONLY = ("ledger_records", "ledger_checkpoints", "ledger_meta")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_records (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    type TEXT NOT NULL,
    subject_ref TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_records_ts ON ledger_records (ts);
CREATE INDEX IF NOT EXISTS ledger_records_type ON ledger_records (type, seq);
CREATE INDEX IF NOT EXISTS ledger_records_subject ON ledger_records (subject_ref)
    WHERE subject_ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    ledger_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    root BLOB NOT NULL,
    chain_head BLOB NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    compact BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_subject_keys (
    subject_ref TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_vault (
    id TEXT PRIMARY KEY, subject_ref TEXT NOT NULL, sealed BLOB NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_vault_subject ON ledger_vault (subject_ref);
""" + "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;
"""
    for table in APPEND_ONLY
)

_COLUMNS = "seq, ts, type, subject_ref, prev_hash, hash, body"

# The tail of the hashed bytes that the indexed columns must reproduce (see canonical.py).
_MISMATCH = """
SELECT seq FROM (
    SELECT seq, body, subject_ref,
           CAST(',"seq":' || seq || ',"ts":"' || ts || '","type":"' || type || '"}' AS BLOB) AS tail
    FROM ledger_records WHERE seq >= ? AND seq < ?
)
WHERE substr(body, length(body) - length(tail) + 1) IS NOT tail
   OR (subject_ref IS NULL AND instr(body, CAST('"subject_ref":"' AS BLOB)) > 0)
   OR (subject_ref IS NOT NULL
       AND instr(body, CAST('"subject_ref":"' || subject_ref || '"' AS BLOB)) = 0)
ORDER BY seq LIMIT ?
"""


class _SqliteTransaction(WriteTransaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def head(self) -> tuple[int, bytes] | None:
        row = self.conn.execute(
            "SELECT seq, hash FROM ledger_records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def insert(self, rows: Sequence[StoredRecord]) -> None:
        self.conn.executemany(
            f"INSERT INTO ledger_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.seq, r.ts, r.type, r.subject_ref, r.prev_hash, r.hash, r.body) for r in rows],
        )

    def delete_subject(self, subject_ref: str) -> tuple[int, int]:
        rows = self.conn.execute("DELETE FROM ledger_vault WHERE subject_ref = ?", (subject_ref,))
        keys = self.conn.execute(
            "DELETE FROM ledger_subject_keys WHERE subject_ref = ?", (subject_ref,)
        )
        return rows.rowcount, keys.rowcount


class SqliteStore(LedgerStore):
    def __init__(
        self, url: str, path: Path | None, *, synchronous: str, busy_timeout_s: float
    ) -> None:
        self.url = url
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path) if path is not None else ":memory:"
        try:
            self.conn = sqlite3.connect(
                target, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the SQLite ledger {target}: {exc}") from exc
        self._lock = threading.RLock()
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if path is not None:
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {synchronous}")
        self.conn.execute("PRAGMA secure_delete = ON")
        # Every statement is idempotent, so processes opening the file at once agree.
        self.conn.executescript(SCHEMA)
        self.conn.execute(
            "INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('ledger_id', ?), "
            "('format', 'cryptobot.ledger.v1')",
            (str(uuid.uuid4()),),
        )
        self._ledger_id = str(
            self.conn.execute("SELECT value FROM ledger_meta WHERE key = 'ledger_id'").fetchone()[0]
        )

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise LedgerError(
                    f"the SQLite ledger {self.url} is locked or unwritable: {exc}"
                ) from exc
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        try:
            with self._immediate() as conn:
                yield _SqliteTransaction(conn)
        except sqlite3.IntegrityError as exc:
            raise LedgerError(f"the ledger refused the write: {exc}") from exc

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def ledger_id(self) -> str:
        return self._ledger_id

    def last(self) -> StoredRecord | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM ledger_records ORDER BY seq DESC LIMIT 1")
        return _record(rows[0]) if rows else None

    def get(self, seq: int) -> StoredRecord | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM ledger_records WHERE seq = ?", (seq,))
        return _record(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._all("SELECT count(*) FROM ledger_records")[0][0])

    def query(self, query: RecordQuery) -> Iterator[StoredRecord]:
        where: list[str] = ["seq >= ?"]
        params: list[Any] = [query.start]
        if query.end is not None:
            where.append("seq < ?")
            params.append(query.end)
        if query.types:
            where.append(f"type IN ({', '.join('?' * len(query.types))})")
            params.extend(query.types)
        if query.since is not None:
            where.append("ts >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append("ts < ?")
            params.append(query.until)
        if query.subject_ref is not None:
            where.append("subject_ref = ?")
            params.append(query.subject_ref)
        sql = (
            f"SELECT {_COLUMNS} FROM ledger_records WHERE {' AND '.join(where)} "
            f"ORDER BY seq LIMIT {PAGE}"
        )
        while True:
            page = self._all(sql, params)
            yield from (_record(row) for row in page)
            if len(page) < PAGE:
                return
            params[0] = page[-1][0] + 1

    def chain_rows(self, start: int, end: int) -> Iterator[ChainRow]:
        sql = (
            "SELECT seq, prev_hash, hash, body FROM ledger_records "
            f"WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT {PAGE}"
        )
        while start < end:
            page = self._all(sql, (start, end))
            yield from page
            if len(page) < PAGE:
                return
            start = page[-1][0] + 1

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = self._all(
            "SELECT hash FROM ledger_records WHERE seq >= ? AND seq < ? ORDER BY seq", (start, end)
        )
        return [bytes(row[0]) for row in rows]

    def column_mismatches(self, start: int, end: int, limit: int) -> list[int]:
        return [int(row[0]) for row in self._all(_MISMATCH, (start, end, limit))]

    def receipt_rows(self, end: int) -> list[tuple[int, bytes]]:
        rows = self._all(
            "SELECT seq, body FROM ledger_records WHERE type = ? AND seq < ? ORDER BY seq",
            (RecordType.ERASURE_RECEIPT.value, end),
        )
        return [(int(seq), bytes(body)) for seq, body in rows]

    def add_checkpoint(self, cp: Checkpoint) -> None:
        with self._immediate() as conn:
            conn.execute(
                "INSERT INTO ledger_checkpoints (tree_size, ledger_id, ts, root, chain_head, "
                "key_id, signature, compact) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._all(
            "SELECT ledger_id, tree_size, root, chain_head, ts, key_id, signature, compact "
            "FROM ledger_checkpoints ORDER BY tree_size"
        )
        return [
            Checkpoint(str(a), int(b), bytes(c), bytes(d), str(e), str(f), bytes(g), bytes(h))
            for a, b, c, d, e, f, g, h in rows
        ]

    def subject_key(self, subject_ref: str) -> bytes | None:
        rows = self._all(
            "SELECT wrapped_key FROM ledger_subject_keys WHERE subject_ref = ?", (subject_ref,)
        )
        return bytes(rows[0][0]) if rows else None

    def add_subject_key(self, subject_ref: str, wrapped: bytes, created_at: str) -> bytes:
        with self._immediate() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO ledger_subject_keys (subject_ref, wrapped_key, created_at) "
                "VALUES (?, ?, ?)",
                (subject_ref, wrapped, created_at),
            )
            row = conn.execute(
                "SELECT wrapped_key FROM ledger_subject_keys WHERE subject_ref = ?", (subject_ref,)
            ).fetchone()
        return bytes(row[0])

    def add_vault_row(self, row: VaultRow) -> None:
        with self._immediate() as conn:
            conn.execute(
                "INSERT INTO ledger_vault (id, subject_ref, sealed, created_at) "
                "VALUES (?, ?, ?, ?)",
                (row.id, row.subject_ref, row.sealed, row.created_at),
            )

    def vault_rows(self, subject_ref: str) -> list[VaultRow]:
        rows = self._all(
            "SELECT id, subject_ref, sealed, created_at FROM ledger_vault WHERE subject_ref = ? "
            "ORDER BY created_at, id",
            (subject_ref,),
        )
        return [VaultRow(str(a), str(b), bytes(c), str(d)) for a, b, c, d in rows]

    def subject_records(self, subject_ref: str) -> list[tuple[int, str, str]]:
        rows = self._all(
            "SELECT seq, ts, type FROM ledger_records WHERE subject_ref = ? ORDER BY seq",
            (subject_ref,),
        )
        return [(int(a), str(b), str(c)) for a, b, c in rows]

    def purge(self) -> str:
        if self.path is None:
            return "in-memory database: nothing persists"
        with self._lock:
            # secure_delete already zeroed the freed cells; fold the WAL (which still holds
            # the pre-deletion pages) back into the file and truncate it to zero bytes.
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            return "WAL not truncated: another connection was reading; run erase again later"
        return "freed pages zeroed (secure_delete) and WAL truncated"

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _record(row: Sequence[Any]) -> StoredRecord:
    seq, ts, kind, ref, prev, digest, body = row
    return StoredRecord(int(seq), str(ts), str(kind), ref, bytes(prev), bytes(digest), bytes(body))
