"""Numbering, linking and inserting records: the write path every appender shares.

An append has two halves. :func:`prepare` validates and canonicalises an item
*outside* the writer lock (the expensive part: RFC 8785 bytes of the payload).
:func:`link`, inside the writer transaction, reads the head, gives each record
its sequence number, builds its bytes, chains its hash and inserts the rows;
nothing in it parses, walks or builds an object per record beyond one tuple.

This module holds what :class:`~crypto_bot_core.ledger.ledger.Ledger`,
:mod:`.audit` and :mod:`.subjects` share -- the prepared form, the linking, and
:class:`LedgerCore`, the part of a ledger those modules use -- so that none of
them imports another's module (the ledger imports them, never the reverse).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from crypto_bot_core.ledger.canonical import (
    RECORD_FORMAT,
    SUBJECT_KEY,
    PayloadError,
    canonical_json,
    format_ts,
    loads_json,
)
from crypto_bot_core.ledger.hashing import CHAIN_TAG, GENESIS
from crypto_bot_core.ledger.records import StoredRecord, subject_of
from crypto_bot_sdk import LedgerRecord, RecordType

if TYPE_CHECKING:
    from pathlib import Path

    from crypto_bot_core.ledger.keys import KeyRing
    from crypto_bot_core.ledger.settings import LedgerSettings
    from crypto_bot_core.ledger.stores.base import LedgerStore, RawRow, WriteTransaction

Item = (
    tuple[RecordType | str, Mapping[str, Any]]
    | tuple[RecordType | str, Mapping[str, Any], datetime | None]
)
"""What an append takes: (type, payload) or (type, payload, ts)."""


class Prepared(NamedTuple):
    """A record canonicalised outside the writer lock, waiting for its sequence number.

    A tuple rather than a frozen dataclass: a backtest prepares hundreds of
    thousands, and a frozen dataclass's ``__init__`` costs a microsecond.
    """

    kind: RecordType
    payload_json: bytes
    ts: str | None
    ref: str | None


class LedgerCore(Protocol):
    """What :mod:`.audit`, :mod:`.subjects` and :mod:`.bundle` use of a ledger."""

    store: LedgerStore
    settings: LedgerSettings
    keys: KeyRing
    checkpoint_store: LedgerStore | None

    @property
    def url(self) -> str: ...

    @property
    def ledger_id(self) -> str: ...

    def checkpoint_dir(self) -> Path | None: ...

    def append(
        self, type: RecordType | str, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> LedgerRecord: ...


def record_type(value: RecordType | str) -> RecordType:
    if type(value) is RecordType:
        return value
    try:
        return RecordType(value)
    except ValueError:
        known = ", ".join(t.value for t in RecordType)
        raise PayloadError(f"{value!r} is not a ledger record type; use one of: {known}") from None


_LAST_TS = [(datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00.000000Z")]
"""The last time formatted: an order's records share one. The pair is replaced whole, so
threads see either the old pair or the new one; aware datetimes are equal exactly when
they are the same instant, which is all :func:`format_ts` writes."""


def _ts_text(stamp: datetime) -> str:
    last = _LAST_TS[0]
    if stamp == last[0]:  # a naive stamp is never equal to the aware one kept here
        return last[1]
    text = format_ts(stamp)
    _LAST_TS[0] = (stamp, text)
    return text


def prepare(item: Item, default_ts: datetime | None = None) -> Prepared:
    """Validate and canonicalise one item outside the writer lock."""
    if len(item) == 3:
        kind, payload, stamp = item
    else:
        kind, payload = item
        stamp = None
    stamp = stamp or default_ts
    payload_json = canonical_json(payload)
    ref = None
    if SUBJECT_KEY in payload:
        # Read back from the hashed bytes, which is what the stores index (rare: GDPR records).
        ref = subject_of(parse_payload(payload_json))
    return Prepared(
        kind if type(kind) is RecordType else record_type(kind),
        payload_json,
        _ts_text(stamp) if stamp is not None else None,
        ref,
    )


_TYPES = {kind: (kind.value, kind.value.encode()) for kind in RecordType}
"""Each type's text and bytes: ``RecordType.X.value`` goes through an enum descriptor."""
_sha256 = hashlib.sha256


def link(tx: WriteTransaction, prepared: Sequence[Prepared]) -> tuple[bytes, list[RawRow]]:
    """Number, link and insert prepared records inside the open writer transaction.

    Returns the hash the first record links to and the inserted rows
    ``(seq, ts, type, subject_ref, hash, body)``; every later row links to the one
    before it. The bytes are :func:`~.canonical.record_bytes` and the hash
    :func:`~.hashing.chain_hash`, written out here because this loop runs once
    per record of every backtest (the tests compare them).
    """
    head = tx.head()
    seq, prev = (head[0] + 1, head[1]) if head is not None else (0, GENESIS)
    first_prev = prev
    now: str | None = None
    rows: list[RawRow] = []
    append = rows.append
    for kind, payload_json, given_ts, ref in prepared:
        stamp = given_ts
        if stamp is None:
            if now is None:
                now = format_ts(datetime.now(UTC))
            stamp = now
        type_text, type_bytes = _TYPES[kind]
        body = RECORD_FORMAT % (payload_json, seq, stamp.encode(), type_bytes)
        prev = _sha256(CHAIN_TAG + prev + body).digest()
        append((seq, stamp, type_text, ref, prev, body))
        seq += 1
    tx.insert_raw(rows)
    return first_prev, rows


def chain_rows(tx: WriteTransaction, prepared: Sequence[Prepared]) -> list[StoredRecord]:
    """:func:`link`, returning the rows as :class:`StoredRecord` (with their previous hash)."""
    prev, rows = link(tx, prepared)
    out = []
    for seq, ts, kind, ref, digest, body in rows:
        out.append(StoredRecord(seq, ts, kind, ref, prev, digest, body))
        prev = digest
    return out


def parse_payload(payload_json: bytes) -> dict[str, Any]:
    """The payload as a reader of the ledger gets it back: parsed from the hashed bytes."""
    value: dict[str, Any] = loads_json(payload_json)
    return value


def records_of(
    prev: bytes, rows: Sequence[RawRow], prepared: Sequence[Prepared]
) -> list[LedgerRecord]:
    """The :class:`LedgerRecord` of each linked row, equal to what reading it back gives.

    The payload is parsed from the canonical bytes (keys sorted, decimals as text,
    integral floats as ints) rather than taken from the caller's objects, so a
    record handed to a caller or a listener is the one :meth:`Ledger.get` returns.
    """
    records = []
    for (seq, ts, _, _, digest, _), item in zip(rows, prepared, strict=True):
        records.append(
            LedgerRecord.model_construct(
                sequence=seq,
                ts=datetime.fromisoformat(ts),
                type=item.kind,
                payload=parse_payload(item.payload_json),
                prev_hash=prev.hex(),
                hash=digest.hex(),
            )
        )
        prev = digest
    return records
