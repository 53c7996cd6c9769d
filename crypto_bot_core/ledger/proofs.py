"""Proofs a third party can check with a checkpoint and nothing else.

An inclusion proof carries the record's canonical bytes and previous hash, so
the verifier recomputes the leaf itself (``SHA-256(0x00 || "cryptobot.ledger.v1:"
|| prev || record)``) and follows the audit path to the signed root. A
consistency proof shows that a later checkpoint's tree extends an earlier one:
nothing checkpointed was changed or dropped in between.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.errors import NotALedgerError
from crypto_bot_core.ledger.hashing import leaf_entry
from crypto_bot_core.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from crypto_bot_core.ledger.stores.base import LedgerStore
from crypto_bot_sdk import LedgerError


def _checkpoint_ok(cp: Checkpoint, trusted: dict[str, Ed25519PublicKey]) -> None:
    key = trusted.get(cp.key_id)
    if key is None:
        raise ProofError(f"checkpoint {cp.tree_size} is signed by untrusted key {cp.key_id}")
    if not cp.signature_ok(key):
        raise ProofError(f"checkpoint {cp.tree_size} has an invalid signature")


@dataclass(frozen=True)
class InclusionProof:
    sequence: int
    prev_hash: bytes
    record: bytes
    path: list[bytes]
    checkpoint: Checkpoint

    def verify(self, trusted: dict[str, Ed25519PublicKey]) -> None:
        """Raise unless the record is leaf ``sequence`` under the checkpoint's signed root."""
        _checkpoint_ok(self.checkpoint, trusted)
        leaf = leaf_hash(leaf_entry(self.prev_hash, self.record))
        verify_inclusion(
            self.sequence, self.checkpoint.tree_size, leaf, self.path, self.checkpoint.root
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "tree_size": self.checkpoint.tree_size,
            "prev_hash": self.prev_hash.hex(),
            "record": self.record.decode("utf-8"),
            "leaf_hash": leaf_hash(leaf_entry(self.prev_hash, self.record)).hex(),
            "audit_path": [h.hex() for h in self.path],
            "root": self.checkpoint.root.hex(),
            "checkpoint": self.checkpoint.to_json(),
            "leaf_rule": "SHA-256(0x00 || 'cryptobot.ledger.v1:' || prev_hash || record)",
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old: Checkpoint
    new: Checkpoint
    path: list[bytes]

    def verify(self, trusted: dict[str, Ed25519PublicKey]) -> None:
        _checkpoint_ok(self.old, trusted)
        _checkpoint_ok(self.new, trusted)
        verify_consistency(
            self.old.tree_size, self.new.tree_size, self.old.root, self.new.root, self.path
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "size1": self.old.tree_size,
            "size2": self.new.tree_size,
            "root1": self.old.root.hex(),
            "root2": self.new.root.hex(),
            "proof": [h.hex() for h in self.path],
            "proof_base64": [base64.b64encode(h).decode() for h in self.path],
            "old_checkpoint": self.old.to_json(),
            "new_checkpoint": self.new.to_json(),
        }


def _find(checkpoints: list[Checkpoint], size: int) -> Checkpoint:
    for cp in checkpoints:
        if cp.tree_size == size:
            return cp
    sizes = ", ".join(str(cp.tree_size) for cp in checkpoints) or "none yet"
    raise LedgerError(f"there is no checkpoint of size {size}; checkpoint sizes: {sizes}")


def prove_inclusion(
    store: LedgerStore, sequence: int, tree_size: int | None = None
) -> InclusionProof:
    """The audit path of record ``sequence`` under a checkpoint (the latest by default)."""
    checkpoints = store.checkpoints()
    if tree_size is None:
        covering = [cp for cp in checkpoints if cp.tree_size > sequence]
        if not covering:
            raise LedgerError(
                f"no checkpoint covers record {sequence} yet; run `cryptobot ledger checkpoint`"
            )
        cp = covering[-1]
    else:
        cp = _find(checkpoints, tree_size)
        if sequence >= cp.tree_size:
            raise LedgerError(f"record {sequence} is not in the checkpoint of size {tree_size}")
    row = store.get(sequence)
    if row is None:
        raise LedgerError(f"the ledger has no record {sequence}")
    leaves = store.leaf_hashes(0, cp.tree_size)
    if len(leaves) != cp.tree_size:
        raise LedgerError(
            f"only {len(leaves)} of the {cp.tree_size} checkpointed records are stored; "
            "run `cryptobot ledger verify`"
        )
    return InclusionProof(sequence, row.prev_hash, row.body, inclusion_proof(leaves, sequence), cp)


def prove_consistency(store: LedgerStore, old_size: int, new_size: int) -> ConsistencyProof:
    checkpoints = store.checkpoints()
    old, new = _find(checkpoints, old_size), _find(checkpoints, new_size)
    if old_size > new_size:
        raise LedgerError(f"OLD ({old_size}) must not be larger than NEW ({new_size})")
    leaves = store.leaf_hashes(0, new_size)
    if len(leaves) != new_size:
        raise LedgerError(f"only {len(leaves)} of {new_size} checkpointed records are stored")
    path = consistency_proof(leaves, old_size) if old_size < new_size else []
    return ConsistencyProof(old, new, path)


def proof_from_json(doc: object, source: str) -> InclusionProof | ConsistencyProof:
    """Read back what ``cryptobot ledger proof`` or ``ledger consistency`` printed.

    The fields a verifier recomputes (leaf hash, roots) are checked against the
    ones printed, so a proof file edited in one place only is refused as well.
    Raises :class:`ProofError` when its parts disagree, and :class:`NotALedgerError`
    for a file that is not one of the two proofs.
    """
    if not isinstance(doc, dict):
        raise NotALedgerError(f"{source} is not a ledger proof: it holds no JSON object")
    try:
        if "audit_path" in doc:
            cp = Checkpoint.from_json(doc["checkpoint"], f"{source}: checkpoint")
            proof = InclusionProof(
                sequence=int(doc["sequence"]),
                prev_hash=bytes.fromhex(doc["prev_hash"]),
                record=str(doc["record"]).encode("utf-8"),
                path=[bytes.fromhex(h) for h in doc["audit_path"]],
                checkpoint=cp,
            )
            if int(doc["tree_size"]) != cp.tree_size or doc["root"] != cp.root.hex():
                raise ProofError(f"{source}: its tree_size or root differ from its checkpoint's")
            leaf = leaf_hash(leaf_entry(proof.prev_hash, proof.record)).hex()
            if doc.get("leaf_hash", leaf) != leaf:
                raise ProofError(
                    f"{source}: its leaf_hash {doc['leaf_hash']} is not the hash of its record "
                    f"({leaf}): the record was changed"
                )
            return proof
        if "old_checkpoint" in doc:
            old = Checkpoint.from_json(doc["old_checkpoint"], f"{source}: old_checkpoint")
            new = Checkpoint.from_json(doc["new_checkpoint"], f"{source}: new_checkpoint")
            if (int(doc["size1"]), int(doc["size2"])) != (old.tree_size, new.tree_size) or (
                doc["root1"],
                doc["root2"],
            ) != (old.root.hex(), new.root.hex()):
                raise ProofError(f"{source}: its sizes or roots differ from its checkpoints'")
            return ConsistencyProof(old, new, [bytes.fromhex(h) for h in doc["proof"]])
    except ProofError:
        raise
    except LedgerError as exc:
        raise NotALedgerError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise NotALedgerError(
            f"{source} is not a complete ledger proof: {exc!r} is missing or wrong"
        ) from exc
    raise NotALedgerError(
        f"{source} is neither an inclusion proof (`cryptobot ledger proof`) nor a consistency "
        "proof (`cryptobot ledger consistency`)"
    )
