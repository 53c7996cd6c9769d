"""Signed checkpoints: "the first N records have this Merkle root and this chain head".

A checkpoint is the trust anchor verification starts from: a signed statement
over (ledger id, tree size, root, chain head, time, key id). With it a removed
tail, a rewritten history or a forked ledger shows up, and inclusion and
consistency proofs have a root to lead to. Each checkpoint also stores the
compact range of its tree (O(log n) hashes, checked against the signed root
before use) so the next checkpoint hashes only the records added since.

Checkpoints live in their own table that the record writer cannot change (see
docs/ledger.md: on PostgreSQL a separate role owns the right to add them) and,
when a directory is configured, as one signed JSON file each.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto_bot_core.ledger.canonical import canonical
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_core.ledger.signing import CHECKPOINT_DOMAIN, key_id, sign, signature_valid
from crypto_bot_sdk import LedgerError

FORMAT = "cryptobot.ledger.checkpoint.v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    ledger_id: str
    tree_size: int
    root: bytes
    chain_head: bytes
    ts: str
    key_id: str
    signature: bytes
    compact: bytes = b""

    def statement(self) -> bytes:
        """The canonical bytes that were signed (the compact range is not: it is checked)."""
        return canonical(
            {
                "chain_head": self.chain_head.hex(),
                "format": FORMAT,
                "key_id": self.key_id,
                "ledger_id": self.ledger_id,
                "root": self.root.hex(),
                "tree_size": self.tree_size,
                "ts": self.ts,
            }
        )

    def signature_ok(self, public_key: Ed25519PublicKey) -> bool:
        return signature_valid(public_key, CHECKPOINT_DOMAIN, self.statement(), self.signature)

    def compact_range(self) -> CompactRange:
        """The stored extension state, refused unless it folds to the signed root."""
        try:
            compact = CompactRange.from_bytes(self.tree_size, self.compact)
        except ValueError as exc:
            raise LedgerError(f"checkpoint {self.tree_size}: {exc}") from exc
        if compact.root() != self.root:
            raise LedgerError(
                f"checkpoint {self.tree_size}: its stored compact range does not fold to "
                "its signed root; extend from records instead"
            )
        return compact

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "ledger_id": self.ledger_id,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "chain_head": self.chain_head.hex(),
            "ts": self.ts,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
            "compact": base64.b64encode(self.compact).decode(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], source: str) -> Checkpoint:
        try:
            if doc.get("format") != FORMAT:
                raise ValueError(f"format is {doc.get('format')!r}, expected {FORMAT!r}")
            return cls(
                ledger_id=str(doc["ledger_id"]),
                tree_size=int(doc["tree_size"]),
                root=bytes.fromhex(doc["root"]),
                chain_head=bytes.fromhex(doc["chain_head"]),
                ts=str(doc["ts"]),
                key_id=str(doc["key_id"]),
                signature=base64.b64decode(doc["signature"], validate=True),
                compact=base64.b64decode(doc.get("compact", ""), validate=True),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise LedgerError(f"{source} is not a ledger checkpoint: {exc}") from exc


def make_checkpoint(
    *,
    ledger_id: str,
    compact: CompactRange,
    chain_head: bytes,
    ts: str,
    private_key: Ed25519PrivateKey,
) -> Checkpoint:
    unsigned = Checkpoint(
        ledger_id=ledger_id,
        tree_size=compact.size,
        root=compact.root(),
        chain_head=chain_head,
        ts=ts,
        key_id=key_id(private_key.public_key()),
        signature=b"",
        compact=compact.to_bytes(),
    )
    signature = sign(private_key, CHECKPOINT_DOMAIN, unsigned.statement())
    return Checkpoint(**{**_fields(unsigned), "signature": signature})


def _fields(cp: Checkpoint) -> dict[str, Any]:
    return {name: getattr(cp, name) for name in Checkpoint.__slots__}


def checkpoint_file(directory: Path, tree_size: int) -> Path:
    return directory / f"checkpoint-{tree_size:012d}.json"


def write_checkpoint_file(directory: Path, cp: Checkpoint) -> Path:
    """Write once: an existing file for the same size is never replaced."""
    directory.mkdir(parents=True, exist_ok=True)
    path = checkpoint_file(directory, cp.tree_size)
    text = json.dumps(cp.to_json(), indent=2, sort_keys=True) + "\n"
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        existing = read_checkpoint_file(path)
        if existing.root != cp.root or existing.chain_head != cp.chain_head:
            raise LedgerError(
                f"{path} already holds a different checkpoint of size {cp.tree_size}; "
                "the ledger has forked from its published history"
            ) from None
    return path


def read_checkpoint_file(path: Path) -> Checkpoint:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerError(f"cannot read checkpoint file {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise LedgerError(f"{path} is not a ledger checkpoint: it holds no JSON object")
    return Checkpoint.from_json(doc, str(path))


def read_checkpoint_dir(directory: Path) -> list[Checkpoint]:
    if not directory.is_dir():
        return []
    return [read_checkpoint_file(p) for p in sorted(directory.glob("checkpoint-*.json"))]


LATEST_FILE = "checkpoint.json"
"""The name of the latest checkpoint published in a run folder."""


def publish_latest(path: Path, cp: Checkpoint) -> Path:
    """Replace ``path`` with ``cp`` atomically, never with an older checkpoint.

    A run keeps its latest checkpoint here (``runs/<id>/checkpoint.json``) so a
    copy of the trust anchor lives outside the database: a reader always sees a
    whole file (written aside, fsynced, renamed), and a checkpoint smaller than the
    one already published is refused, since that is a rolled-back ledger.
    """
    if path.exists():
        try:
            current = read_checkpoint_file(path)
        except LedgerError:
            current = None  # a damaged file is replaced by a good one
        if current is not None and current.ledger_id == cp.ledger_id:
            if current.tree_size > cp.tree_size:
                raise LedgerError(
                    f"{path} already holds a checkpoint of size {current.tree_size}, later than "
                    f"this one ({cp.tree_size}): the ledger was rolled back"
                )
            if current.tree_size == cp.tree_size and current.root != cp.root:
                raise LedgerError(
                    f"{path} holds a different checkpoint of size {cp.tree_size}; the ledger "
                    "has forked from its published history"
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(cp.to_json(), indent=2, sort_keys=True) + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def read_published(paths: Iterable[Path]) -> tuple[list[tuple[str, Checkpoint]], list[str]]:
    """Checkpoints published as files: each a file, or a directory of them.

    A directory contributes its ``checkpoint-*.json`` history and its
    ``checkpoint.json`` (a run folder's latest). Returns (source file, checkpoint)
    pairs and, for each file that could not be read, why: an unreadable published
    checkpoint is a verification problem, not a reason to stop checking.
    """
    found: list[tuple[str, Checkpoint]] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            files = sorted(path.glob("checkpoint-*.json"))
            if (path / LATEST_FILE).is_file():
                files.append(path / LATEST_FILE)
        elif path.exists():
            files = [path]
        else:
            errors.append(f"the published checkpoint {path} does not exist")
            continue
        for file in files:
            try:
                found.append((str(file), read_checkpoint_file(file)))
            except LedgerError as exc:
                errors.append(str(exc))
    return found, errors
