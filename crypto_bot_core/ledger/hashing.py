"""The hash chain: ``h_i = SHA-256(TAG || h_(i-1) || canonical(record_i))``.

The tag starts with the byte 0x00, RFC 6962's leaf prefix, followed by a label
naming this ledger format. So ``h_i`` is at the same time

* the link of a hash chain (it commits to the previous hash, so an edit breaks
  every later link up to a head you trust), and
* the RFC 6962 *leaf hash* of the entry ``LABEL || h_(i-1) || canonical(record_i)``,
  so the Merkle tree over the records needs no second hash per record.

Domain separation holds on both sides: interior Merkle nodes start with 0x01 and
can never equal a chain link, and the label keeps these hashes apart from any
other SHA-256 use (signatures sign their own tagged statements).
"""

from __future__ import annotations

import hashlib

ENTRY_LABEL = b"cryptobot.ledger.v1:"
CHAIN_TAG = b"\x00" + ENTRY_LABEL
GENESIS = bytes(32)
"""The "previous hash" of record 0."""

_sha256 = hashlib.sha256


def chain_hash(prev: bytes, record: bytes) -> bytes:
    return _sha256(CHAIN_TAG + prev + record).digest()


def leaf_entry(prev: bytes, record: bytes) -> bytes:
    """The Merkle leaf data of a record: what an RFC 6962 verifier hashes with prefix 0x00."""
    return ENTRY_LABEL + prev + record
