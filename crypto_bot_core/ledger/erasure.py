"""Erasure without rewriting history: retention checks, signed receipts, restriction notes.

A receipt states *that* a subject's personal data was destroyed, when, why (a
reason code, never free text that could carry personal data) and by which key
it was signed. It names the subject only by its pseudonymous reference, and it
verifies with the public key alone.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto_bot_core.ledger.canonical import canonical, parse_ts
from crypto_bot_core.ledger.settings import RetentionRule
from crypto_bot_core.ledger.signing import RECEIPT_DOMAIN, key_id, sign, signature_valid
from crypto_bot_sdk import LedgerError, LedgerIntegrityError, RecordType

RECEIPT_FORMAT = "cryptobot.ledger.erasure-receipt.v1"
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
_OWN_RECORDS = {RecordType.ERASURE_RECEIPT.value, RecordType.PROCESSING_RESTRICTED.value}


def check_code(name: str, value: str) -> str:
    if not CODE_PATTERN.match(value):
        raise LedgerError(
            f"{name} {value!r} must be a short code (letters, digits, '_.:/-', at most 64), "
            "for example 'gdpr-art17' or a ticket number: receipts hold no free text, "
            "which could carry personal data"
        )
    return value


@dataclass(frozen=True, slots=True)
class Hold:
    rule: RetentionRule
    until: datetime


def holds(
    rules: Sequence[RetentionRule],
    subject_ref: str,
    records: Sequence[tuple[int, str, str]],
    now: datetime,
    to_ref: Callable[[str], str],
) -> list[Hold]:
    """The rules that still hold a subject with these (seq, ts, type) records, longest first.

    A rule's ``subjects`` may list raw identifiers or references; ``to_ref`` maps
    both to references. The ledger's own GDPR records (receipts, restriction
    notes) never count: refusing an erasure must not extend the hold it reports.
    """
    found = []
    for rule in rules:
        if rule.subjects and subject_ref not in {to_ref(s) for s in rule.subjects}:
            continue
        kinds = {t.value for t in rule.record_types}
        stamps = [
            ts for _, ts, kind in records if (kind in kinds if kinds else kind not in _OWN_RECORDS)
        ]
        last = parse_ts(max(stamps)) if stamps else None
        until = rule.expiry(last)
        if until is not None and until > now:
            found.append(Hold(rule, until))
    return sorted(found, key=lambda h: h.until, reverse=True)


def make_receipt(
    *,
    ledger_id: str,
    subject_ref: str,
    erased_at: str,
    vault_rows_deleted: int,
    key_destroyed: bool,
    reason: str,
    request_id: str | None,
    private_key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """The payload of an erasure-receipt record: the signed receipt and its signature."""
    receipt: dict[str, Any] = {
        "erased_at": erased_at,
        "format": RECEIPT_FORMAT,
        "key_id": key_id(private_key.public_key()),
        "ledger_id": ledger_id,
        "reason": check_code("reason", reason),
        "request_id": check_code("request id", request_id) if request_id else None,
        "subject": subject_ref,
        "subject_key_destroyed": key_destroyed,
        "vault_rows_deleted": vault_rows_deleted,
    }
    signature = sign(private_key, RECEIPT_DOMAIN, canonical(receipt))
    return {
        "receipt": receipt,
        "signature": base64.b64encode(signature).decode(),
        "subject_ref": subject_ref,
    }


def verify_receipt(
    payload: Mapping[str, Any],
    public_keys: Ed25519PublicKey | Mapping[str, Ed25519PublicKey],
) -> dict[str, Any]:
    """Check an erasure receipt with nothing but public key(s); return the receipt."""
    try:
        receipt = payload["receipt"]
        signature = base64.b64decode(payload["signature"], validate=True)
        kid = receipt["key_id"]
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerIntegrityError(f"not an erasure receipt: {exc}") from exc
    if receipt.get("format") != RECEIPT_FORMAT:
        raise LedgerIntegrityError(f"receipt format is {receipt.get('format')!r}")
    if payload.get("subject_ref") != receipt.get("subject"):
        raise LedgerIntegrityError("the record's subject differs from the signed receipt's")
    if isinstance(public_keys, Ed25519PublicKey):
        public_keys = {key_id(public_keys): public_keys}
    key = public_keys.get(kid)
    if key is None:
        raise LedgerIntegrityError(f"the receipt is signed by key {kid}, which is not trusted")
    if not signature_valid(key, RECEIPT_DOMAIN, canonical(receipt), signature):
        raise LedgerIntegrityError(
            f"the erasure receipt for {receipt.get('subject')} has an invalid signature"
        )
    return dict(receipt)
