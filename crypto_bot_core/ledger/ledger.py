"""The audit ledger: append, read, verify, checkpoint; one object over any store.

Appends do the expensive part (normalising and canonicalising payloads) before
taking the writer lock, and only sequence numbers, the record bytes and the
chain hash inside it, so concurrent writers wait on each other as briefly as
possible. ``append_many`` writes a batch in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from crypto_bot_core.ledger.audit import sign_checkpoint, verify_ledger
from crypto_bot_core.ledger.canonical import (
    PayloadError,
    canonical_payload,
    format_ts,
    record_bytes,
)
from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.hashing import GENESIS, chain_hash
from crypto_bot_core.ledger.keys import KeyRing
from crypto_bot_core.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    prove_consistency,
    prove_inclusion,
)
from crypto_bot_core.ledger.records import StoredRecord, subject_of
from crypto_bot_core.ledger.settings import LedgerSettings, is_postgres, sqlite_path
from crypto_bot_core.ledger.stores.base import LedgerStore, RecordQuery, WriteTransaction
from crypto_bot_core.ledger.subjects import Subjects
from crypto_bot_core.ledger.verify import VerifyReport
from crypto_bot_sdk import LedgerError, LedgerRecord, RecordType

Item = (
    tuple[RecordType | str, Mapping[str, Any]]
    | tuple[RecordType | str, Mapping[str, Any], datetime | None]
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record canonicalised outside the writer lock, waiting for its sequence number."""

    kind: RecordType
    payload_json: bytes
    plain: dict[str, Any]
    ts: str | None
    ref: str | None


def _record_type(value: RecordType | str) -> RecordType:
    if type(value) is RecordType:
        return value
    try:
        return RecordType(value)
    except ValueError:
        known = ", ".join(t.value for t in RecordType)
        raise PayloadError(f"{value!r} is not a ledger record type; use one of: {known}") from None


class Ledger:
    """An append-only, hash-linked, Merkle-checkpointed audit ledger."""

    def __init__(
        self,
        store: LedgerStore,
        settings: LedgerSettings,
        *,
        checkpoint_store: LedgerStore | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.keys = KeyRing(settings)
        self.checkpoint_store = checkpoint_store
        self._listeners: list[Callable[[LedgerRecord], None]] = []
        self.subjects = Subjects(self)

    # --- identity ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.store.url

    @property
    def ledger_id(self) -> str:
        return self.store.ledger_id()

    def subscribe(self, listener: Callable[[LedgerRecord], None]) -> None:
        """Call ``listener`` with every record after it is committed (exporters, hooks)."""
        self._listeners.append(listener)

    # --- writing -------------------------------------------------------------------
    def append(
        self, type: RecordType | str, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> LedgerRecord:
        return self.append_many([(type, payload, ts)])[0]

    def append_many(
        self, items: Sequence[Item], *, ts: datetime | None = None
    ) -> list[LedgerRecord]:
        """Append records in one transaction; ``ts`` applies to items that carry none."""
        prepared = [self.prepare(item, ts) for item in items]
        if not prepared:
            return []
        with self.store.write() as tx:
            rows = self.chain_rows(tx, prepared)
        records = [
            LedgerRecord.model_construct(
                sequence=row.seq,
                ts=datetime.fromisoformat(row.ts),
                type=item.kind,
                payload=item.plain,
                prev_hash=row.prev_hash.hex(),
                hash=row.hash.hex(),
            )
            for row, item in zip(rows, prepared, strict=True)
        ]
        for listener in self._listeners:
            for record in records:
                listener(record)
        return records

    @staticmethod
    def chain_rows(tx: WriteTransaction, prepared: Sequence[Prepared]) -> list[StoredRecord]:
        """Number, link and insert prepared records inside the open writer transaction."""
        head = tx.head()
        seq, prev = (head[0] + 1, head[1]) if head is not None else (0, GENESIS)
        now = format_ts(datetime.now(UTC))
        rows = []
        for item in prepared:
            stamp = item.ts or now
            body = record_bytes(item.payload_json, seq, stamp, item.kind.value)
            digest = chain_hash(prev, body)
            rows.append(StoredRecord(seq, stamp, item.kind.value, item.ref, prev, digest, body))
            prev = digest
            seq += 1
        tx.insert(rows)
        return rows

    def prepare(self, item: Item, default_ts: datetime | None = None) -> Prepared:
        """Validate and canonicalise one item outside the writer lock."""
        if len(item) == 3:
            kind, payload, stamp = item
        else:
            kind, payload = item
            stamp = None
        stamp = stamp or default_ts
        payload_json, plain = canonical_payload(payload)
        return Prepared(
            _record_type(kind),
            payload_json,
            plain,
            format_ts(stamp) if stamp is not None else None,
            subject_of(plain),
        )

    # --- reading -------------------------------------------------------------------
    def records(
        self,
        *,
        start: int = 0,
        end: int | None = None,
        types: Sequence[RecordType | str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        subject: str | None = None,
    ) -> Iterator[LedgerRecord]:
        """Records in sequence order; ``until`` is exclusive, ``subject`` an id or reference."""
        query = RecordQuery(
            start=start,
            end=end,
            types=tuple(_record_type(t).value for t in types or ()),
            since=format_ts(since) if since is not None else None,
            until=format_ts(until) if until is not None else None,
            subject_ref=self.subjects.ref(subject) if subject is not None else None,
        )
        for row in self.store.query(query):
            yield row.to_record()

    def head(self) -> LedgerRecord | None:
        last = self.store.last()
        return last.to_record() if last is not None else None

    def get(self, seq: int) -> LedgerRecord:
        row = self.store.get(seq)
        if row is None:
            raise LedgerError(f"the ledger has no record {seq}")
        return row.to_record()

    def __len__(self) -> int:
        last = self.store.last()
        return last.seq + 1 if last is not None else 0

    # --- checkpoints ---------------------------------------------------------------
    def checkpoint_dir(self) -> Path | None:
        if self.settings.checkpoint_dir is not None:
            return self.settings.checkpoint_dir
        if is_postgres(self.url):
            return None
        db = sqlite_path(self.url)
        return db.with_name(db.name + ".checkpoints") if db is not None else None

    def checkpoints(self) -> list[Checkpoint]:
        return self.store.checkpoints()

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree; the records added since the last checkpoint are checked first."""
        return sign_checkpoint(self)

    # --- proofs --------------------------------------------------------------------
    def inclusion_proof(self, sequence: int, *, tree_size: int | None = None) -> InclusionProof:
        """Record ``sequence``'s audit path under a checkpoint (the latest covering it)."""
        proof = prove_inclusion(self.store, sequence, tree_size)
        proof.verify(self.keys.trusted_keys())
        return proof

    def consistency_proof(self, old_size: int, new_size: int) -> ConsistencyProof:
        """Proof that the checkpoint of ``new_size`` extends the one of ``old_size``."""
        proof = prove_consistency(self.store, old_size, new_size)
        proof.verify(self.keys.trusted_keys())
        return proof

    # --- verification --------------------------------------------------------------
    def verify(
        self,
        *,
        require_signatures: bool = True,
        workers: int | None = None,
        chunk: int | None = None,
    ) -> VerifyReport:
        """Check the whole ledger; the report names the first bad record and what differs.

        ``workers`` processes share the hashing (default: one per CPU for large
        file or server ledgers, else one); ``chunk`` is their unit of work.
        """
        return verify_ledger(
            self, require_signatures=require_signatures, workers=workers, chunk=chunk
        )

    # --- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        self.store.close()
        if self.checkpoint_store is not None:
            self.checkpoint_store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
