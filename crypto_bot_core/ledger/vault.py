"""Personal data outside the chain: pseudonymous references and a crypto-shredding vault.

* A subject's *reference* is ``sr_`` + HMAC-SHA256(k_ref, subject id). Records
  carry only the reference; without the secret nobody can tell whose it is.
* The subject's personal data is sealed with AES-256-GCM under a random key of
  its own. That key is stored *wrapped* (AES-GCM under k_wrap), so the database
  alone never yields plaintext; the wrapping key lives in configuration.
* Erasure deletes the subject's key and sealed rows. Whatever bytes may survive
  in backups or write-ahead logs are ciphertext whose key no longer exists.

k_ref and k_wrap are derived from the one configured subject secret with HKDF
under distinct labels, so neither can be computed from the other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto_bot_core.ledger.records import SUBJECT_REF_PATTERN
from crypto_bot_sdk import LedgerError

_NONCE = 12


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


class SubjectCrypto:
    def __init__(self, secret: bytes) -> None:
        self._ref_key = _derive(secret, b"cryptobot.ledger.subject-ref.v1")
        self._wrap = AESGCM(_derive(secret, b"cryptobot.ledger.vault-key-wrap.v1"))

    def ref(self, subject: str) -> str:
        """The pseudonymous reference of ``subject``; a reference is returned unchanged."""
        if SUBJECT_REF_PATTERN.match(subject):
            return subject
        if not subject:
            raise LedgerError("a data subject needs a non-empty identifier")
        digest = hmac.new(self._ref_key, subject.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"sr_{digest}"

    def new_wrapped_key(self, subject_ref: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._wrap.encrypt(nonce, AESGCM.generate_key(256), subject_ref.encode())

    def unwrap(self, subject_ref: str, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], subject_ref.encode())
        except InvalidTag as exc:
            raise LedgerError(
                f"the vault key of {subject_ref} does not open with the configured subject "
                "secret; was CRYPTOBOT_LEDGER_SUBJECT_SECRET changed?"
            ) from exc


def seal(key: bytes, subject_ref: str, row_id: str, data: Mapping[str, Any]) -> bytes:
    """Encrypt one vault entry; the subject and row id are bound as associated data."""
    try:
        plain = json.dumps(dict(data), sort_keys=True, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise LedgerError(
            f"personal data for {subject_ref} is not JSON-serialisable: {exc}"
        ) from exc
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plain, f"{subject_ref}/{row_id}".encode())


def unseal(key: bytes, subject_ref: str, row_id: str, sealed: bytes) -> dict[str, Any]:
    try:
        plain = AESGCM(key).decrypt(
            sealed[:_NONCE], sealed[_NONCE:], f"{subject_ref}/{row_id}".encode()
        )
    except InvalidTag as exc:
        raise LedgerError(f"vault row {row_id} of {subject_ref} fails authentication") from exc
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise LedgerError(f"vault row {row_id} does not hold a JSON object")
    return value
