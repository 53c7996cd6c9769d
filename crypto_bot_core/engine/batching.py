"""Batched ledger writes for backtests: many records per transaction, same order, same bytes.

The order path's rule is that an intent is durable before the exchange call
and its outcome after it; that is what lets a paper or live run resume
without losing or duplicating an order. A backtest has no exchange outside
the process: its venues are simulated in memory and die with it, and a
backtest that stops is run again, never resumed. So a backtest may keep its
records in memory and commit them in large batches (one SQLite/PostgreSQL
transaction, one fsync, per batch), which is what makes a hash-linked ledger
affordable at hundreds of thousands of bars a second.

What a crash costs: the records of the unfinished batch. The ledger keeps a
valid chain of everything committed before it (a batch commits whole or not
at all), just without a stop record, which marks the run as incomplete.
Paper and live runs never use this class (see :mod:`.kernel`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from crypto_bot_sdk import RecordType

BATCH_RECORDS = 4096
"""Records per transaction: large enough that commits cost little, small enough to bound memory."""


Pending = tuple[RecordType, Mapping[str, Any], datetime | None]


class BatchLedger(Protocol):
    """A ledger that can append many records in one transaction, in order.

    The batching log never reads the records it writes, so it uses, where the
    ledger has them, ``prepare(item)`` + ``extend_prepared(prepared)`` (records
    canonicalised at append, committed at the flush) or ``extend(items)`` (one
    transaction without a record object per item); see
    :class:`crypto_bot_core.ledger.Ledger`.
    """

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object: ...

    def append_many(self, items: Sequence[Pending]) -> object: ...


def can_batch(ledger: object) -> bool:
    return callable(getattr(ledger, "append_many", None)) and not isinstance(ledger, BatchingLog)


class BatchingLog:
    """Buffers appends and commits them in batches; everything else is the ledger's.

    With the audit ledger (it has ``prepare`` and ``extend_prepared``) each record
    is canonicalised when it is appended, while its payload is fresh in the CPU's
    cache, and only its bytes wait for the commit; a payload the ledger cannot
    record raises at that append, as it would unbatched. Other ledgers get their
    items at the flush, through ``extend`` if they have it (no record objects
    built), else ``append_many``.
    """

    def __init__(self, ledger: BatchLedger, batch: int = BATCH_RECORDS) -> None:
        self.ledger = ledger
        self.batch = batch
        self._pending: list[Any] = []
        self.flushes = 0
        prepare = getattr(ledger, "prepare", None)
        extend_prepared = getattr(ledger, "extend_prepared", None)
        extend = getattr(ledger, "extend", None)
        self._prepare: Callable[[Pending], object] | None = None
        self._write: Callable[[list[Any]], object]
        if callable(prepare) and callable(extend_prepared):
            self._prepare, self._write = prepare, extend_prepared
        else:
            self._write = extend if callable(extend) else ledger.append_many

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object:
        if self._prepare is not None:
            self._pending.append(self._prepare((type, payload, ts)))
        else:
            # The payload is kept by reference until the flush: every engine payload is a
            # fresh dict built for its record and never touched again.
            self._pending.append((type, payload, ts))
        if len(self._pending) >= self.batch:
            self.flush()
        return None

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self._write(pending)
            self.flushes += 1

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Commit what is left, then close the ledger itself."""
        self.flush()
        close = getattr(self.ledger, "close", None)
        if callable(close):
            close()

    def __getattr__(self, name: str) -> Any:
        # Reads (records, verify, head...) go to the ledger, after committing what is
        # buffered so they see every record appended so far.
        if name.startswith("_"):
            raise AttributeError(name)
        self.flush()
        return getattr(self.ledger, name)
