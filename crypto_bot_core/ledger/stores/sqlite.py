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

APPEND_ONLY = ("ledger_records", "ledger_checkpoints", "ledger_meta")

# ts, type and subject_ref are *derived* from the hashed bytes (virtual generated
# columns, indexed), so they cannot disagree with them: an UPDATE of one is refused by
# SQLite itself, and verification checks that this definition is still in place.
RECORDS_TABLE = """CREATE TABLE IF NOT EXISTS ledger_records (
    seq INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    body BLOB NOT NULL,
    ts TEXT GENERATED ALWAYS AS (json_extract(CAST(body AS TEXT), '$.ts')) VIRTUAL,
    type TEXT GENERATED ALWAYS AS (json_extract(CAST(body AS TEXT), '$.type')) VIRTUAL,
    subject_ref TEXT GENERATED ALWAYS AS
        (json_extract(CAST(body AS TEXT), '$.payload.subject_ref')) VIRTUAL
)"""

_TABLES = (
    "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    RECORDS_TABLE,
    "CREATE INDEX IF NOT EXISTS ledger_records_ts ON ledger_records (ts)",
    "CREATE INDEX IF NOT EXISTS ledger_records_type ON ledger_records (type, seq)",
    "CREATE INDEX IF NOT EXISTS ledger_records_subject ON ledger_records (subject_ref) "
    "WHERE subject_ref IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    ledger_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    root BLOB NOT NULL,
    chain_head BLOB NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    compact BLOB NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS ledger_subject_keys (
    subject_ref TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS ledger_vault (
    id TEXT PRIMARY KEY, subject_ref TEXT NOT NULL, sealed BLOB NOT NULL, created_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS ledger_vault_subject ON ledger_vault (subject_ref)",
)

_KEYS = {"ledger_records": "seq", "ledger_checkpoints": "tree_size", "ledger_meta": "key"}
"""Each append-only table's key: an INSERT that would replace a row of that key is refused."""

# UPDATE and DELETE are refused outright. INSERT OR REPLACE deletes the row it replaces
# without firing a DELETE trigger (unless a connection turns recursive_triggers on), so a
# BEFORE INSERT trigger refuses any insert of a key that is already there, whatever
# conflict clause the statement carries: one primary-key probe per new row.
TRIGGER_SQL = {
    f"{table}_no_{op}": (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op.upper()} refused'); END"
    )
    for table in APPEND_ONLY
    for op in ("update", "delete")
} | {
    f"{table}_no_replace": (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row of that {key} exists, "
        "REPLACE refused'); END"
    )
    for table, key in _KEYS.items()
}
TRIGGERS = tuple(TRIGGER_SQL)
REPLACE_TRIGGERS = tuple(name for name in TRIGGERS if name.endswith("_no_replace"))

SCHEMA = ";\n".join((*_TABLES, *TRIGGER_SQL.values())) + ";\n"
"""The whole layout as one script (every statement idempotent)."""

FORMAT = "cryptobot.ledger.v1"
PROTECTIONS = "2"
"""ledger_meta ``protections``: 2 = REPLACE is refused too (files made before lack the key)."""


def _normal(sql: object) -> str:
    return " ".join(str(sql).replace("IF NOT EXISTS ", "").split())


# Hash and body are cast to BLOB: the writer only stores bytes, but a row edited by hand
# may hold TEXT, which must read as its bytes (and then fail to verify), never crash.
_COLUMNS = (
    "r.seq, r.ts, r.type, r.subject_ref, "
    "(SELECT CAST(p.hash AS BLOB) FROM ledger_records p WHERE p.seq = r.seq - 1), "
    "CAST(r.hash AS BLOB), CAST(r.body AS BLOB)"
)


class _SqliteTransaction(WriteTransaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def head(self) -> tuple[int, bytes] | None:
        row = self.conn.execute(
            "SELECT seq, hash FROM ledger_records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def insert_raw(self, rows: Sequence[RawRow]) -> None:
        # Numbered parameters pick seq, hash and body out of the writer's tuples, so no
        # second tuple is built per row; ts, type and subject_ref are derived columns.
        self.conn.executemany(
            "INSERT INTO ledger_records (seq, hash, body) VALUES (?1, ?5, ?6)", rows
        )

    def delete_subject(self, subject_ref: str) -> tuple[int, int]:
        rows = self.conn.execute("DELETE FROM ledger_vault WHERE subject_ref = ?", (subject_ref,))
        keys = self.conn.execute(
            "DELETE FROM ledger_subject_keys WHERE subject_ref = ?", (subject_ref,)
        )
        return rows.rowcount, keys.rowcount


class SqliteStore(LedgerStore):
    def __init__(
        self,
        url: str,
        path: Path | None,
        *,
        synchronous: str,
        busy_timeout_s: float,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.path = path
        if path is not None and not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path) if path is not None else ":memory:"
        if read_only and path is not None:
            target = f"file:{path.resolve()}?mode=ro"
        try:
            self.conn = sqlite3.connect(
                target,
                timeout=busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
                uri=read_only and path is not None,
            )
        except sqlite3.Error as exc:
            raise NotALedgerError(f"cannot open the SQLite ledger {target}: {exc}") from exc
        self._lock = threading.RLock()
        self._where = str(path) if path is not None else url
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            if read_only:
                self._ledger_id = self._read_ledger_id()
                return
            self._refuse_other_databases()  # before WAL mode rewrites the file's header
            if path is not None:
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute(f"PRAGMA synchronous = {synchronous}")
            self.conn.execute("PRAGMA secure_delete = ON")
            self._create_or_open()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise NotALedgerError(
                f"{self._where} is not a ledger database ({exc}); point the ledger URL at "
                "a ledger file or at a path where a new one may be created"
            ) from exc
        except BaseException:
            self.conn.close()
            raise
        self._ledger_id = self._read_ledger_id()

    def _refuse_other_databases(self) -> set[str]:
        """The file's tables; refused when it holds tables but not a ledger's."""
        tables = {
            str(row[0])
            for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and "ledger_meta" not in tables:
            raise NotALedgerError(
                f"{self._where} is not a ledger database: it is a SQLite database holding "
                f"{', '.join(sorted(tables)[:5])}; refusing to add ledger tables to it: "
                "point the ledger URL at a ledger or at a new file"
            )
        return tables

    def _create_or_open(self) -> None:
        """Create the layout in a new (empty) file; in an existing ledger change nothing.

        Re-running the layout on every open would quietly put back a trigger someone
        dropped, and then verification could never report it; so an existing ledger
        only gets what a newer version adds (the REPLACE guards, once), and a file
        holding other tables is refused rather than turned into a ledger.
        """
        with self._immediate() as conn:
            if "ledger_meta" not in self._refuse_other_databases():
                for statement in (*_TABLES, *TRIGGER_SQL.values()):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO ledger_meta (key, value) VALUES ('ledger_id', ?), "
                    "('format', ?), ('protections', ?)",
                    (str(uuid.uuid4()), FORMAT, PROTECTIONS),
                )
                return
            upgraded = conn.execute(
                "SELECT 1 FROM ledger_meta WHERE key = 'protections'"
            ).fetchone()
            if upgraded is None:
                for name in REPLACE_TRIGGERS:
                    conn.execute(TRIGGER_SQL[name])
                conn.execute(
                    "INSERT INTO ledger_meta (key, value) VALUES ('protections', ?)",
                    (PROTECTIONS,),
                )

    def _read_ledger_id(self) -> str:
        try:
            rows = dict(
                self.conn.execute(
                    "SELECT key, value FROM ledger_meta WHERE key IN ('ledger_id', 'format')"
                ).fetchall()
            )
        except sqlite3.Error as exc:
            raise NotALedgerError(
                f"{self._where} is not a ledger database ({exc}); check the ledger URL"
            ) from exc
        if "ledger_id" not in rows or rows.get("format") != FORMAT:
            raise NotALedgerError(
                f"{self._where} has no ledger id or format {FORMAT!r} in ledger_meta; it is "
                "not a ledger database (or its metadata was removed)"
            )
        return str(rows["ledger_id"])

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
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise NotALedgerError(
                    f"cannot read the ledger {self._where}: {exc}; the file is damaged or "
                    "was changed by hand (`cryptobot ledger verify` says where)"
                ) from exc

    def ledger_id(self) -> str:
        return self._ledger_id

    def last(self) -> StoredRecord | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM ledger_records r ORDER BY r.seq DESC LIMIT 1")
        return _record(rows[0]) if rows else None

    def get(self, seq: int) -> StoredRecord | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM ledger_records r WHERE r.seq = ?", (seq,))
        return _record(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._all("SELECT count(*) FROM ledger_records")[0][0])

    def end(self) -> int:
        top = self._all("SELECT max(seq) FROM ledger_records")[0][0]
        return int(top) + 1 if top is not None else 0

    def query(self, query: RecordQuery) -> Iterator[StoredRecord]:
        where: list[str] = ["r.seq >= ?"]
        params: list[Any] = [query.start]
        if query.end is not None:
            where.append("r.seq < ?")
            params.append(query.end)
        if query.types:
            where.append(f"r.type IN ({', '.join('?' * len(query.types))})")
            params.extend(query.types)
        if query.since is not None:
            where.append("r.ts >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append("r.ts < ?")
            params.append(query.until)
        if query.subject_ref is not None:
            where.append("r.subject_ref = ?")
            params.append(query.subject_ref)
        sql = (
            f"SELECT {_COLUMNS} FROM ledger_records r WHERE {' AND '.join(where)} "
            f"ORDER BY r.seq LIMIT {PAGE}"
        )
        while True:
            page = self._all(sql, params)
            yield from (_record(row) for row in page)
            if len(page) < PAGE:
                return
            params[0] = page[-1][0] + 1

    def chain_pages(self, start: int, end: int) -> Iterator[list[ChainRow]]:
        sql = (
            "SELECT seq, CAST(hash AS BLOB), CAST(body AS BLOB) FROM ledger_records "
            "WHERE seq >= ? AND seq < ? ORDER BY seq"
        )
        for low, high in page_bounds(start, end):
            yield self._all(sql, (low, high))

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = self._all(
            "SELECT CAST(hash AS BLOB) FROM ledger_records WHERE seq >= ? AND seq < ? ORDER BY seq",
            (start, end),
        )
        return [bytes(row[0]) for row in rows]

    def column_mismatches(self, start: int, end: int, limit: int) -> list[int]:
        return []  # the columns are generated from the hashed bytes; see structure_problems

    def structure_problems(self) -> list[str]:
        """Protections missing or altered, and rows stored as something other than bytes.

        Read from ``sqlite_master`` as found: this store never re-creates a trigger in
        an existing file, so a dropped or rewritten one is still missing or different
        here. A trigger is compared by its full text, so one that keeps its name but no
        longer refuses (``BEGIN SELECT 1; END``) is reported too.
        """
        found = []
        rows = self._all("SELECT type, name, sql FROM sqlite_master")
        tables = {name: sql for kind, name, sql in rows if kind == "table"}
        if _normal(tables.get("ledger_records", "")) != _normal(RECORDS_TABLE):
            found.append(
                "the definition of ledger_records was changed: its ts, type and subject_ref "
                "columns may no longer be derived from the hashed records"
            )
        triggers = {name: sql for kind, name, sql in rows if kind == "trigger"}
        legacy = not self._all("SELECT 1 FROM ledger_meta WHERE key = 'protections'")
        for name, sql in TRIGGER_SQL.items():
            if name not in triggers:
                hint = (
                    " (this ledger was written by an older version, which did not refuse "
                    "INSERT OR REPLACE; opening it for writing adds the guard)"
                    if legacy and name in REPLACE_TRIGGERS
                    else ""
                )
                found.append(
                    f"the append-only trigger {name} is missing: history was writable{hint}"
                )
            elif _normal(triggers[name]) != _normal(sql):
                found.append(
                    f"the append-only trigger {name} was altered (it reads "
                    f"{_normal(triggers[name])!r}): history was writable"
                )
        odd = self._all(
            "SELECT seq, typeof(hash), typeof(body) FROM ledger_records "
            "WHERE typeof(hash) != 'blob' OR typeof(body) != 'blob' ORDER BY seq LIMIT 20"
        )
        found += [
            f"record {seq}: its hash is stored as {hash_type} and its body as {body_type}, "
            "but the ledger only writes bytes (blob): the row was rewritten by hand"
            for seq, hash_type, body_type in odd
        ]
        return found

    def receipt_rows(self, end: int) -> list[tuple[int, bytes]]:
        rows = self._all(
            "SELECT seq, CAST(body AS BLOB) FROM ledger_records WHERE type = ? AND seq < ? "
            "ORDER BY seq",
            (RecordType.ERASURE_RECEIPT.value, end),
        )
        return [(int(seq), bytes(body)) for seq, body in rows]

    def add_checkpoint(self, cp: Checkpoint) -> None:
        try:
            self._add_checkpoint(cp)
        except sqlite3.Error as exc:
            raise LedgerError(
                f"the ledger {self._where} refused checkpoint {cp.tree_size}: {exc}"
            ) from exc

    def _add_checkpoint(self, cp: Checkpoint) -> None:
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
    return StoredRecord(
        int(seq),
        str(ts),
        str(kind),
        ref,
        bytes(prev) if prev else GENESIS,
        bytes(digest),
        bytes(body),
    )
