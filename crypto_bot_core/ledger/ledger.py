"""The audit ledger: append, read, verify, checkpoint; one object over any store.

Appends do the expensive part (normalising and canonicalising payloads) before
taking the writer lock, and only sequence numbers, the record bytes and the
chain hash inside it, so concurrent writers wait on each other as briefly as
possible (:mod:`.chain`). ``append_many`` writes a batch in one transaction and
returns its records; ``extend`` does the same and returns nothing, which is what
a backtest's batching log wants: it never reads them, and building a
``LedgerRecord`` costs more than linking the record.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto_bot_core.ledger.audit import sign_checkpoint, verify_ledger
from crypto_bot_core.ledger.canonical import format_ts
from crypto_bot_core.ledger.chain import (
    Item,
    Prepared,
    chain_rows,
    link,
    prepare,
    record_type,
    records_of,
)
from crypto_bot_core.ledger.checkpoints import (
    LATEST_FILE,
    Checkpoint,
    publish_latest,
    write_checkpoint_file,
)
from crypto_bot_core.ledger.keys import KeyRing
from crypto_bot_core.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    prove_consistency,
    prove_inclusion,
)
from crypto_bot_core.ledger.records import StoredRecord
from crypto_bot_core.ledger.settings import LedgerSettings, is_postgres, sqlite_path
from crypto_bot_core.ledger.stores.base import LedgerStore, RecordQuery, WriteTransaction
from crypto_bot_core.ledger.subjects import Subjects
from crypto_bot_core.ledger.verify import VerifyReport
from crypto_bot_sdk import CryptoBotError, LedgerError, LedgerRecord, RecordType

__all__ = ["CheckpointPolicy", "Item", "Ledger", "Prepared"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When a run signs checkpoints, and where it publishes them outside the database.

    A checkpoint is signed after ``every_records`` records or ``every_seconds``
    seconds since the last one (whichever comes first; None turns either off) and
    when the ledger is closed. The latest is written to ``latest_file`` (a run
    folder's ``checkpoint.json``) and, when ``publish_dir`` is set, to
    ``publish_dir/<ledger id>/`` (write-once history plus ``checkpoint.json``): a
    copy of the trust anchor that whoever rewrites the database does not also hold.
    """

    every_records: int | None = 10_000
    every_seconds: float | None = 60.0
    latest_file: Path | None = None
    publish_dir: Path | None = None


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
        self._policy: CheckpointPolicy | None = None
        self._since_checkpoint = 0
        self._every = sys.maxsize
        self._due = float("inf")
        self.last_published: Checkpoint | None = None
        self.checkpoint_error: Exception | None = None

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
        """Append one record in its own transaction (committed when this returns)."""
        return self.append_many([(type, payload, ts)])[0]

    def append_many(
        self, items: Sequence[Item], *, ts: datetime | None = None
    ) -> list[LedgerRecord]:
        """Append records in one transaction; ``ts`` applies to items that carry none."""
        prepared = [prepare(item, ts) for item in items]
        if not prepared:
            return []
        with self.store.write() as tx:
            prev, rows = link(tx, prepared)
        records = records_of(prev, rows, prepared)
        for listener in self._listeners:
            for record in records:
                listener(record)
        if self._policy is not None:
            self._written(len(rows))
        return records

    def extend(self, items: Iterable[Item], *, ts: datetime | None = None) -> None:
        """:meth:`append_many` without building the records (unless a listener wants them).

        The same transaction, bytes and chain; what it saves is a parse of every
        payload and a ``LedgerRecord`` per record, which a caller that never reads
        them back (a backtest's batching log) pays for nothing.
        """
        self.extend_prepared([prepare(item, ts) for item in items])

    def extend_prepared(self, prepared: Sequence[Prepared]) -> None:
        """Commit records made by :meth:`prepare`, in order, in one transaction.

        For a writer that keeps records before committing them (a backtest's
        batching log): preparing each one when it is made, while its payload is
        still in the CPU's cache, and keeping only the bytes is faster and smaller
        than keeping the payloads, and a payload with no canonical form is refused
        at the call that made it rather than at a later commit.
        """
        if not prepared:
            return
        with self.store.write() as tx:
            prev, rows = link(tx, prepared)
        if self._listeners:
            records = records_of(prev, rows, prepared)
            for listener in self._listeners:
                for record in records:
                    listener(record)
        if self._policy is not None:
            self._written(len(rows))

    @staticmethod
    def chain_rows(tx: WriteTransaction, prepared: Sequence[Prepared]) -> list[StoredRecord]:
        """Number, link and insert prepared records inside the open writer transaction."""
        return chain_rows(tx, prepared)

    @staticmethod
    def prepare(item: Item, default_ts: datetime | None = None) -> Prepared:
        """Validate and canonicalise one item outside the writer lock (see
        :meth:`extend_prepared`); raises :class:`PayloadError` for a payload with no
        canonical form."""
        return prepare(item, default_ts)

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
            types=tuple(record_type(t).value for t in types or ()),
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

    def checkpoint_during_run(self, policy: CheckpointPolicy) -> None:
        """Sign and publish checkpoints as records are written (see :class:`CheckpointPolicy`).

        The signing key is loaded now, so a run without one fails before it starts
        rather than at its first checkpoint. The write path then only counts records
        (per committed transaction: a backtest's batch is one) and reads the clock.
        """
        self.keys.signing_key()
        self._policy = policy
        self._every = policy.every_records or sys.maxsize
        self._since_checkpoint = 0
        self._schedule()

    def _schedule(self) -> None:
        seconds = self._policy.every_seconds if self._policy is not None else None
        self._due = time.monotonic() + seconds if seconds else float("inf")

    def _written(self, count: int) -> None:
        self._since_checkpoint += count
        if self._since_checkpoint >= self._every or time.monotonic() >= self._due:
            try:
                self.publish_checkpoint()
            except (CryptoBotError, OSError) as exc:
                # The records are committed: a failed checkpoint must not read as a failed
                # append to the order path. It is kept, retried at the next one, and the
                # final checkpoint (at close) raises if it fails too.
                self.checkpoint_error = exc
                self._since_checkpoint = 0
                self._schedule()
                _log.warning("ledger %s: checkpoint failed: %s", self.url, exc)

    def publish_checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint of what is committed now and publish it where the policy says.

        None when the ledger is empty. Without a policy this is :meth:`checkpoint`
        (with its usual file in :meth:`checkpoint_dir`).
        """
        if self.store.end() == 0:
            return None
        cp = self.checkpoint()
        policy = self._policy
        if policy is not None:
            try:
                if policy.latest_file is not None:
                    publish_latest(policy.latest_file, cp)
                if policy.publish_dir is not None:
                    folder = policy.publish_dir / cp.ledger_id
                    write_checkpoint_file(folder, cp)
                    publish_latest(folder / LATEST_FILE, cp)
            except OSError as exc:
                raise LedgerError(
                    f"checkpoint {cp.tree_size} is signed and stored, but could not be "
                    f"published to {exc.filename or policy.publish_dir}: {exc.strerror or exc}"
                ) from exc
        self._since_checkpoint = 0
        self._schedule()
        self.last_published = cp
        self.checkpoint_error = None
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
    def verify(
        self,
        *,
        require_signatures: bool = True,
        workers: int | None = None,
        chunk: int | None = None,
        trusted_keys: Mapping[str, Ed25519PublicKey] | None = None,
        published: Sequence[Path] = (),
    ) -> VerifyReport:
        """Check the whole ledger; the report names the first bad record and what differs.

        ``workers`` processes share the hashing (default: one per CPU for large
        file or server ledgers, else one); ``chunk`` is their unit of work.
        ``trusted_keys`` pins the keys signatures must verify with (nothing found
        beside the data is trusted then); ``published`` adds checkpoint files or
        directories to compare the records with.
        """
        return verify_ledger(
            self,
            require_signatures=require_signatures,
            workers=workers,
            chunk=chunk,
            trusted_keys=trusted_keys,
            published=published,
        )

    # --- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Close the stores; a run's ledger (with a policy) signs its final checkpoint first.

        The stores are closed even when that checkpoint fails, and the failure is
        raised then: a run whose end is not checkpointed must say so.
        """
        try:
            if self._policy is not None:
                try:
                    self.publish_checkpoint()
                finally:
                    self._policy = None  # closing twice signs once
        finally:
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
