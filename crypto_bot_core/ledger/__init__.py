"""The audit ledger: append-only, hash-linked, Merkle-checkpointed, GDPR-safe.

Open one by URL: ``open_ledger("sqlite:///path/ledger.sqlite")`` (the default)
or ``open_ledger("postgresql://writer@host/db")``. The operator's guide is
``docs/ledger.md``; the design is in the modules' docstrings:

* :mod:`.canonical` -- RFC 8785 bytes of payloads and records
* :mod:`.chain` -- the write path: prepare outside the lock, number, link, insert
* :mod:`.hashing` -- the domain-separated chain, whose links are RFC 6962 leaves
* :mod:`.merkle` -- trees, inclusion and consistency proofs (RFC 6962/9162)
* :mod:`.checkpoints`, :mod:`.signing` -- signed checkpoints, Ed25519
* :mod:`.stores` -- SQLite and PostgreSQL, append-only in the database itself
* :mod:`.vault`, :mod:`.subjects`, :mod:`.erasure` -- personal data off-chain
* :mod:`.verify`, :mod:`.proofs`, :mod:`.bundle` -- checking, online and offline
"""

from __future__ import annotations

from crypto_bot_core.ledger.bundle import export_bundle, verify_bundle
from crypto_bot_core.ledger.canonical import PayloadError
from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.erasure import verify_receipt
from crypto_bot_core.ledger.errors import NotALedgerError
from crypto_bot_core.ledger.ledger import CheckpointPolicy, Ledger
from crypto_bot_core.ledger.merkle import ProofError
from crypto_bot_core.ledger.proofs import ConsistencyProof, InclusionProof
from crypto_bot_core.ledger.settings import LedgerSettings, RetentionRule
from crypto_bot_core.ledger.stores import open_store
from crypto_bot_core.ledger.subjects import ErasureResult
from crypto_bot_core.ledger.verify import Problem, VerifyReport


def open_ledger(
    url: str | None = None, settings: LedgerSettings | None = None, *, read_only: bool = False
) -> Ledger:
    """Open (creating if needed) the ledger at ``url``.

    Without ``settings`` they are read from ``CRYPTOBOT_LEDGER_*`` environment
    variables; ``url`` overrides the settings' URL. ``read_only`` (verifiers and
    readers) opens an existing ledger without creating, repairing or writing
    anything, and refuses (:class:`NotALedgerError`) what is not a ledger.
    """
    if settings is None:
        settings = LedgerSettings.from_env(url=url)
    elif url is not None and url != settings.url:
        settings = settings.model_copy(update={"url": url})
    store = open_store(settings.url, settings, read_only=read_only)
    checkpoint_store = None
    if (
        not read_only
        and settings.checkpoint_url is not None
        and settings.checkpoint_url != settings.url
    ):
        checkpoint_store = open_store(settings.checkpoint_url, settings)
    return Ledger(store, settings, checkpoint_store=checkpoint_store)


__all__ = [
    "Checkpoint",
    "CheckpointPolicy",
    "ConsistencyProof",
    "ErasureResult",
    "InclusionProof",
    "Ledger",
    "LedgerSettings",
    "NotALedgerError",
    "PayloadError",
    "Problem",
    "ProofError",
    "RetentionRule",
    "VerifyReport",
    "export_bundle",
    "open_ledger",
    "verify_bundle",
    "verify_receipt",
]
