"""Data subjects: references for records, the personal-data vault, and erasure.

``ledger.subjects.ref("customer-42")`` is what goes into a payload's
``subject_ref``; ``put`` seals personal data in the vault; ``erase`` destroys it
(unless a retention rule holds it, in which case processing is restricted and
the refusal says until when) and appends a signed receipt to the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crypto_bot_core.ledger.canonical import format_ts
from crypto_bot_core.ledger.chain import chain_rows, prepare
from crypto_bot_core.ledger.erasure import check_code, holds, make_receipt
from crypto_bot_core.ledger.stores.base import VaultRow
from crypto_bot_core.ledger.vault import SubjectCrypto, seal, unseal
from crypto_bot_sdk import ErasureRefusedError, LedgerRecord, RecordType

if TYPE_CHECKING:
    from crypto_bot_core.ledger.chain import LedgerCore


@dataclass(frozen=True, slots=True)
class ErasureResult:
    receipt: LedgerRecord
    vault_rows_deleted: int
    key_destroyed: bool
    purge: str


class Subjects:
    def __init__(self, ledger: LedgerCore) -> None:
        self._ledger = ledger
        self._crypto: SubjectCrypto | None = None

    @property
    def crypto(self) -> SubjectCrypto:
        if self._crypto is None:
            self._crypto = SubjectCrypto(self._ledger.keys.subject_secret())
        return self._crypto

    def ref(self, subject: str) -> str:
        return self.crypto.ref(subject)

    def put(self, subject: str, data: Mapping[str, Any]) -> str:
        """Seal personal data for ``subject`` in the vault; return the subject's reference."""
        store = self._ledger.store
        ref = self.ref(subject)
        wrapped = store.subject_key(ref)
        if wrapped is None:
            wrapped = store.add_subject_key(
                ref, self.crypto.new_wrapped_key(ref), format_ts(datetime.now(UTC))
            )
        key = self.crypto.unwrap(ref, wrapped)
        row_id = uuid.uuid4().hex
        store.add_vault_row(
            VaultRow(row_id, ref, seal(key, ref, row_id, data), format_ts(datetime.now(UTC)))
        )
        return ref

    def get(self, subject: str) -> list[dict[str, Any]]:
        """The subject's personal data, oldest first; empty after erasure."""
        store = self._ledger.store
        ref = self.ref(subject)
        wrapped = store.subject_key(ref)
        if wrapped is None:
            return []
        key = self.crypto.unwrap(ref, wrapped)
        return [unseal(key, ref, row.id, row.sealed) for row in store.vault_rows(ref)]

    def restricted(self, subject: str) -> bool:
        """Whether an erasure of the subject was refused and processing restricted."""
        ref = self.ref(subject)
        kinds = {kind for _, _, kind in self._ledger.store.subject_records(ref)}
        return RecordType.PROCESSING_RESTRICTED.value in kinds

    def erase(
        self,
        subject: str,
        *,
        reason: str = "gdpr-art17",
        request_id: str | None = None,
        now: datetime | None = None,
    ) -> ErasureResult:
        """Destroy the subject's personal data and append a signed receipt.

        Raises :class:`ErasureRefusedError` while a retention rule holds the
        subject's records; the refusal itself is recorded as a restriction of
        processing, so the decision is as provable as an erasure.
        """
        ledger = self._ledger
        check_code("reason", reason)
        if request_id is not None:
            check_code("request id", request_id)
        moment = now or datetime.now(UTC)
        ref = self.ref(subject)
        private_key = ledger.keys.signing_key()
        active = holds(
            ledger.settings.retention, ref, ledger.store.subject_records(ref), moment, self.ref
        )
        if active:
            longest = active[0]
            restriction = ledger.append(
                RecordType.PROCESSING_RESTRICTED,
                {
                    "subject_ref": ref,
                    "cause": "erasure-refused",
                    "request_id": request_id,
                    "holds": [{"rule": h.rule.name, "until": format_ts(h.until)} for h in active],
                },
                ts=moment,
            )
            what = longest.rule.description or longest.rule.name
            raise ErasureRefusedError(
                f"erasure of {ref} refused: retention rule {longest.rule.name!r} ({what}) holds "
                f"the subject's records until {longest.until.date().isoformat()}; processing "
                f"of the subject is restricted from now on (record {restriction.sequence}). "
                f"Ask again after {longest.until.date().isoformat()}."
            )
        erased_at = format_ts(moment)
        with ledger.store.write() as tx:
            rows_deleted, keys_deleted = tx.delete_subject(ref)
            payload = make_receipt(
                ledger_id=ledger.ledger_id,
                subject_ref=ref,
                erased_at=erased_at,
                vault_rows_deleted=rows_deleted,
                key_destroyed=keys_deleted > 0,
                reason=reason,
                request_id=request_id,
                private_key=private_key,
            )
            prepared = prepare((RecordType.ERASURE_RECEIPT, payload, moment))
            (row,) = chain_rows(tx, [prepared])
        purge = ledger.store.purge()
        return ErasureResult(row.to_record(), rows_deleted, keys_deleted > 0, purge)
