"""Stored rows and the reader-facing :class:`~crypto_bot_sdk.LedgerRecord` built from them.

A row keeps the canonical record bytes exactly as they were hashed (``body``);
``seq``, ``ts``, ``type`` and ``subject_ref`` are copies kept as columns so the
database can index and filter them. Verification checks that every column still
says what the hashed bytes say, so editing a column to hide a record from a
query is caught like any other edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crypto_bot_core.ledger.canonical import SUBJECT_KEY, PayloadError, parse_record, parse_ts
from crypto_bot_sdk import LedgerError, LedgerIntegrityError, LedgerRecord, RecordType

SUBJECT_REF_PATTERN = re.compile(r"^sr_[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq: int
    ts: str
    type: str
    subject_ref: str | None
    prev_hash: bytes
    hash: bytes
    body: bytes

    def to_record(self) -> LedgerRecord:
        try:
            doc = parse_record(self.body)
        except LedgerError as exc:
            raise LedgerIntegrityError(
                f"record {self.seq} cannot be read back ({exc}); run `cryptobot ledger verify`",
                sequence=self.seq,
            ) from exc
        try:
            payload = doc["payload"]
            kind = RecordType(doc["type"])
            ts = parse_ts(doc["ts"])
        except (KeyError, ValueError) as exc:
            raise LedgerIntegrityError(
                f"record {self.seq} cannot be read back ({exc}); run `cryptobot ledger verify`",
                sequence=self.seq,
            ) from exc
        return LedgerRecord(
            sequence=doc.get("seq", self.seq),
            ts=ts,
            type=kind,
            payload=payload,
            prev_hash=self.prev_hash.hex(),
            hash=self.hash.hex(),
        )


def subject_of(plain_payload: dict[str, Any]) -> str | None:
    """The payload's subject reference, checked to be one the ledger produced."""
    ref = plain_payload.get(SUBJECT_KEY)
    if ref is None:
        return None
    if not isinstance(ref, str) or not SUBJECT_REF_PATTERN.match(ref):
        raise PayloadError(
            f"payload.{SUBJECT_KEY} is {ref!r}; it must be a pseudonymous reference made by "
            "Ledger.subject_ref(...) ('sr_' and 64 hex digits), never personal data itself"
        )
    return ref


def column_differences(row: StoredRecord) -> list[str]:
    """How the indexed columns of a row disagree with its hashed bytes (empty when they agree)."""
    doc = parse_record(row.body)
    found = []
    if doc.get("seq") != row.seq:
        found.append(f"column seq is {row.seq} but the hashed record says {doc.get('seq')!r}")
    if doc.get("ts") != row.ts:
        found.append(f"column ts is {row.ts!r} but the hashed record says {doc.get('ts')!r}")
    if doc.get("type") != row.type:
        found.append(f"column type is {row.type!r} but the hashed record says {doc.get('type')!r}")
    payload = doc.get("payload")
    subject = payload.get(SUBJECT_KEY) if isinstance(payload, dict) else None
    if subject != row.subject_ref:
        found.append(
            f"column subject_ref is {row.subject_ref!r} but the hashed record says {subject!r}"
        )
    return found
