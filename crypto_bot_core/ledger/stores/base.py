"""What a ledger store must do, whatever database is behind it.

The store knows tables and transactions, nothing about hashing: the ledger
builds rows inside :meth:`LedgerStore.write`, which holds the database's writer
lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock), so the head read
there is the head the new rows extend, for every process sharing the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.records import StoredRecord

PAGE = 20_000
"""Rows fetched per round trip when streaming; pages are keyed by sequence number."""

CHAIN_PAGE = 1 << 14
"""Verification pages end at multiples of this, so full pages are perfect Merkle subtrees."""

ChainRow = tuple[int, bytes, bytes]
"""(seq, hash, body): what verification streams; a record's previous hash is the row before's."""

RawRow = tuple[int, str, str, str | None, bytes, bytes]
"""(seq, ts, type, subject_ref, hash, body): a new row as the writer builds it, in the
order of the PostgreSQL insert columns; SQLite takes seq, hash and body from it."""


def page_bounds(start: int, end: int) -> Iterator[tuple[int, int]]:
    """[a, b) ranges covering [start, end), cut at multiples of :data:`CHAIN_PAGE`."""
    while start < end:
        stop = min(end, (start // CHAIN_PAGE + 1) * CHAIN_PAGE)
        yield start, stop
        start = stop


@dataclass(frozen=True, slots=True)
class RecordQuery:
    start: int = 0
    end: int | None = None
    types: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    subject_ref: str | None = None


@dataclass(frozen=True, slots=True)
class VaultRow:
    id: str
    subject_ref: str
    sealed: bytes
    created_at: str


class WriteTransaction(ABC):
    """The open writer transaction: read the head, add rows, delete a subject's data."""

    @abstractmethod
    def head(self) -> tuple[int, bytes] | None:
        """(seq, hash) of the last record, or None for an empty ledger."""

    @abstractmethod
    def insert_raw(self, rows: Sequence[RawRow]) -> None:
        """Insert new rows, in sequence order, as plain tuples (the append path)."""

    def insert(self, rows: Sequence[StoredRecord]) -> None:
        self.insert_raw([(r.seq, r.ts, r.type, r.subject_ref, r.hash, r.body) for r in rows])

    @abstractmethod
    def delete_subject(self, subject_ref: str) -> tuple[int, int]:
        """Delete the subject's vault rows and key: (vault rows deleted, keys deleted)."""


class LedgerStore(ABC):
    url: str

    @abstractmethod
    def write(self) -> AbstractContextManager[WriteTransaction]: ...

    @abstractmethod
    def ledger_id(self) -> str: ...

    @abstractmethod
    def last(self) -> StoredRecord | None: ...

    @abstractmethod
    def get(self, seq: int) -> StoredRecord | None: ...

    def end(self) -> int:
        """The head's seq + 1 (0 when empty), read without parsing any record: what
        verification walks to, even when the last record's bytes are not JSON."""
        last = self.last()
        return last.seq + 1 if last is not None else 0

    @abstractmethod
    def count(self) -> int:
        """How many records are stored (not the head's seq + 1: a gap makes them differ)."""

    @abstractmethod
    def query(self, query: RecordQuery) -> Iterator[StoredRecord]: ...

    @abstractmethod
    def chain_pages(self, start: int, end: int) -> Iterator[list[ChainRow]]:
        """Records [start, end) in pages cut by :func:`page_bounds`, in sequence order."""

    @abstractmethod
    def leaf_hashes(self, start: int, end: int) -> list[bytes]: ...

    @abstractmethod
    def column_mismatches(self, start: int, end: int, limit: int) -> list[int]:
        """Seqs in [start, end) whose indexed columns disagree with their hashed bytes."""

    @abstractmethod
    def structure_problems(self) -> list[str]:
        """What is wrong with the database's own protection (triggers, derived columns)."""

    @abstractmethod
    def receipt_rows(self, end: int) -> list[tuple[int, bytes]]:
        """(seq, body) of every erasure receipt before ``end``."""

    # --- checkpoints -------------------------------------------------------------
    @abstractmethod
    def add_checkpoint(self, cp: Checkpoint) -> None: ...

    @abstractmethod
    def checkpoints(self) -> list[Checkpoint]: ...

    # --- personal-data vault -----------------------------------------------------
    @abstractmethod
    def subject_key(self, subject_ref: str) -> bytes | None: ...

    @abstractmethod
    def add_subject_key(self, subject_ref: str, wrapped: bytes, created_at: str) -> bytes:
        """Store a wrapped key unless one exists; return the one that is stored."""

    @abstractmethod
    def add_vault_row(self, row: VaultRow) -> None: ...

    @abstractmethod
    def vault_rows(self, subject_ref: str) -> list[VaultRow]: ...

    @abstractmethod
    def subject_records(self, subject_ref: str) -> list[tuple[int, str, str]]:
        """(seq, ts, type) of the subject's records, oldest first."""

    @abstractmethod
    def purge(self) -> str:
        """Physically remove deleted vault data where the database allows; say what was done."""

    @abstractmethod
    def close(self) -> None: ...
