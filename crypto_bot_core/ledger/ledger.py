"""The audit ledger: append, read, verify, checkpoint; one object over any store.

Appends do the expensive part (normalising and canonicalising payloads) before
taking the writer lock, and only sequence numbers, the record bytes and the
chain hash inside it, so concurrent writers wait on each other as briefly as
possible. ``append_many`` writes a batch in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from crypto_bot_core.ledger.canonical import (
    PayloadError,
    canonical_payload,
    format_ts,
    parse_record,
    record_bytes,
)
from crypto_bot_core.ledger.checkpoints import (
    Checkpoint,
    make_checkpoint,
    read_checkpoint_dir,
    write_checkpoint_file,
)
from crypto_bot_core.ledger.erasure import verify_receipt
from crypto_bot_core.ledger.hashing import GENESIS, chain_hash
from crypto_bot_core.ledger.keys import KeyRing
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_core.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    prove_consistency,
    prove_inclusion,
)
from crypto_bot_core.ledger.records import StoredRecord, column_differences, subject_of
from crypto_bot_core.ledger.settings import LedgerSettings, is_postgres, sqlite_path
from crypto_bot_core.ledger.stores.base import LedgerStore, RecordQuery, WriteTransaction
from crypto_bot_core.ledger.verify import (
    VerifyReport,
    check_checkpoints,
    merge_checkpoints,
    timed,
    walk_chain,
)
from crypto_bot_sdk import LedgerError, LedgerIntegrityError, LedgerRecord, RecordType

Item = (
    tuple[RecordType | str, Mapping[str, Any]]
    | tuple[RecordType | str, Mapping[str, Any], datetime | None]
)
Prepared = tuple[str, bytes, dict[str, Any], str | None, str | None]


def _record_type(value: RecordType | str) -> RecordType:
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
        self._checkpoint_store = checkpoint_store
        self._listeners: list[Callable[[LedgerRecord], None]] = []
        from crypto_bot_core.ledger.subjects import Subjects

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
                type=RecordType(row.type),
                payload=plain,
                prev_hash=row.prev_hash.hex(),
                hash=row.hash.hex(),
            )
            for row, (_, _, plain, _, _) in zip(rows, prepared, strict=True)
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
        for kind, payload_json, _, given_ts, ref in prepared:
            stamp = given_ts or now
            body = record_bytes(payload_json, seq, stamp, kind)
            digest = chain_hash(prev, body)
            rows.append(StoredRecord(seq, stamp, kind, ref, prev, digest, body))
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
        return (
            _record_type(kind).value,
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
        key = self.keys.signing_key()
        last = self.store.last()
        size = last.seq + 1 if last is not None else 0
        if last is None:
            raise LedgerError("the ledger is empty: there is nothing to checkpoint yet")
        existing = self.store.checkpoints()
        latest = existing[-1] if existing else None
        if latest is not None and latest.tree_size == size:
            return latest
        if latest is not None and latest.tree_size > size:
            raise LedgerIntegrityError(
                f"the ledger holds {size} records but its last checkpoint commits to "
                f"{latest.tree_size}: records were removed; run `cryptobot ledger verify`",
                sequence=size,
            )
        compact, prev = CompactRange(), GENESIS
        if latest is not None:
            trusted = self.keys.trusted_keys()
            signer = trusted.get(latest.key_id)
            if signer is None or not latest.signature_ok(signer):
                raise LedgerIntegrityError(
                    f"the last checkpoint (size {latest.tree_size}) does not verify with a "
                    "trusted key; refusing to extend it"
                )
            compact, prev = latest.compact_range(), latest.chain_head
        report = VerifyReport(source=self.url)
        rows = self.store.chain_rows(compact.size, size)
        compact = walk_chain(
            rows, report, start=compact.size, prev=prev, compact=compact, merkle_all=True
        )
        if not report.ok or compact.size != size:
            report.raise_for_problems()
            raise LedgerIntegrityError(f"expected {size} records, read {compact.size}")
        cp = make_checkpoint(
            ledger_id=self.ledger_id,
            compact=compact,
            chain_head=last.hash,
            ts=format_ts(datetime.now(UTC)),
            private_key=key,
        )
        (self._checkpoint_store or self.store).add_checkpoint(cp)
        directory = self.checkpoint_dir()
        if directory is not None:
            write_checkpoint_file(directory, cp)
        return cp

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
    def verify(self, *, require_signatures: bool = True) -> VerifyReport:
        """Check the whole ledger; the report names the first bad record and what differs."""
        started = time.perf_counter()
        report = VerifyReport(source=self.url)
        last = self.store.last()
        end = last.seq + 1 if last is not None else 0
        directory = self.checkpoint_dir()
        published = read_checkpoint_dir(directory) if directory is not None else []
        cps = merge_checkpoints(report, self.store.checkpoints(), published)
        trusted = self.keys.trusted_keys()
        if trusted or require_signatures:
            check_checkpoints(report, cps, trusted, self.ledger_id)
        else:
            report.checkpoints = len(cps)
            report.notes.append("signatures not checked: no public key configured")
        for seq in self.store.column_mismatches(0, end, 20):
            row = self.store.get(seq)
            for difference in column_differences(row) if row is not None else []:
                report.add(seq, "columns", f"record {seq}: {difference}")
        walk_chain(self.store.chain_rows(0, end), report, checkpoints=cps)
        for seq, body in self.store.receipt_rows(end):
            report.receipts_checked += 1
            try:
                verify_receipt(parse_record(body)["payload"], trusted)
            except (LedgerError, KeyError) as exc:
                report.add(seq, "receipt", f"record {seq}: erasure receipt: {exc}")
        return timed(report, started)

    # --- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        self.store.close()
        if self._checkpoint_store is not None:
            self._checkpoint_store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
