"""Self-contained export bundles and their offline verification.

A bundle is a directory a regulator can check years later with nothing else:

``records.txt``
    one record per line: the record's 64-hex chain hash, one space, its
    canonical JSON (RFC 8785) exactly as hashed. Record *i*'s previous hash is
    line *i-1*'s hash (zeros for the first).
``checkpoints.json``
    every signed checkpoint (database and published files).
``public_key.pem``
    the signing key(s) public half; compare its fingerprint (printed by verify)
    with the one published out of band before trusting it.
``manifest.json``
    format, ledger id, counts, SHA-256 of each file, and the hashing rules.
``README.txt``
    how to check all of this by hand.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto_bot_core.ledger.canonical import format_ts, parse_record
from crypto_bot_core.ledger.checkpoints import Checkpoint, read_checkpoint_dir
from crypto_bot_core.ledger.erasure import verify_receipt
from crypto_bot_core.ledger.errors import NotALedgerError
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_core.ledger.signing import key_id, load_public_key, public_pem
from crypto_bot_core.ledger.stores.base import CHAIN_PAGE
from crypto_bot_core.ledger.verify import (
    VerifyReport,
    check_checkpoints,
    compare_checkpoints,
    merge_checkpoints,
    timed,
    walk_chain,
)
from crypto_bot_sdk import LedgerError, RecordType

if TYPE_CHECKING:
    from crypto_bot_core.ledger.chain import LedgerCore

BUNDLE_FORMAT = "cryptobot.ledger.bundle.v1"
FILES = ("records.txt", "checkpoints.json", "public_key.pem")
_RECEIPT_TAIL = b'"type":"' + RecordType.ERASURE_RECEIPT.value.encode() + b'"}'

README = """This directory is an export of a crypto-bot audit ledger ({ledger_id}).

Check it offline:  cryptobot ledger verify --bundle .  [--public-key KEY.pem]

By hand: each line of records.txt is HASH SPACE RECORD. With PREV the previous
line's HASH (64 zero hex digits for the first line),
    HASH = SHA-256(0x00 || "cryptobot.ledger.v1:" || bytes(PREV) || RECORD)
which is also the RFC 6962 leaf hash of the entry "cryptobot.ledger.v1:" || PREV || RECORD.
The Merkle root of the first N leaves (RFC 6962, node = SHA-256(0x01 || left || right))
and the HASH of line N-1 must equal the root and chain_head of the checkpoint of
size N in checkpoints.json, whose Ed25519 signature covers
"cryptobot.ledger.checkpoint.v1\\n" || RFC 8785 JSON of
{{chain_head, format, key_id, ledger_id, root, tree_size, ts}}.
Public key fingerprint(s) (SHA-256 of the raw key): {key_ids}
"""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_bundle(ledger: LedgerCore, directory: Path) -> dict[str, Any]:
    """Write the whole ledger as a bundle into ``directory`` (which must be empty or new)."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise LedgerError(f"{directory} is not empty; export into a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    last = ledger.store.last()
    end = last.seq + 1 if last is not None else 0
    count = 0
    with (directory / "records.txt").open("wb") as out:
        for page in ledger.store.chain_pages(0, end):
            out.writelines(b"%s %s\n" % (bytes(h).hex().encode(), body) for _, h, body in page)
            count += len(page)
    report = VerifyReport(source=str(directory))
    cp_dir = ledger.checkpoint_dir()
    published = read_checkpoint_dir(cp_dir) if cp_dir is not None else []
    checkpoints = merge_checkpoints(report, ledger.store.checkpoints(), published)
    (directory / "checkpoints.json").write_text(
        json.dumps([cp.to_json() for cp in checkpoints], indent=2) + "\n", encoding="utf-8"
    )
    keys = ledger.keys.trusted_keys()
    (directory / "public_key.pem").write_bytes(b"".join(public_pem(k) for k in keys.values()))
    manifest = {
        "format": BUNDLE_FORMAT,
        "ledger_id": ledger.ledger_id,
        "exported_at": format_ts(datetime.now(UTC)),
        "records": count,
        "head_hash": bytes(last.hash).hex() if last is not None else None,
        "checkpoints": len(checkpoints),
        "key_ids": sorted(keys),
        "files": {name: _sha256_file(directory / name) for name in FILES},
        "chain": "h_i = SHA-256(0x00 || 'cryptobot.ledger.v1:' || h_(i-1) || record_i)",
        "merkle": "RFC 6962 over the chain hashes as leaf hashes",
    }
    (directory / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (directory / "README.txt").write_text(
        README.format(ledger_id=ledger.ledger_id, key_ids=", ".join(sorted(keys)) or "none"),
        encoding="utf-8",
    )
    return manifest


def _bundle_pages(
    path: Path, receipts: list[tuple[int, bytes]]
) -> Iterator[list[tuple[int, bytes, bytes]]]:
    """Pages of (seq, hash, body); a record's sequence number is its line's position."""
    page: list[tuple[int, bytes, bytes]] = []
    with path.open("rb") as handle:
        for seq, line in enumerate(handle):
            try:
                digest = bytes.fromhex(line[:64].decode("ascii"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise LedgerError(f"records.txt line {seq + 1} has no valid hash: {exc}") from exc
            body = line[65:].rstrip(b"\n")
            if body.endswith(_RECEIPT_TAIL):
                receipts.append((seq, body))
            page.append((seq, digest, body))
            if len(page) == CHAIN_PAGE:
                yield page
                page = []
    yield page


def _load_keys(
    directory: Path,
    public_key: Path | None,
    report: VerifyReport,
    pinned: Mapping[str, Ed25519PublicKey] | None = None,
) -> dict[str, Ed25519PublicKey]:
    if pinned is not None:
        return dict(pinned)
    if public_key is not None:
        key = load_public_key(str(public_key), "--public-key")
        return {key_id(key): key}
    try:
        pem = (directory / "public_key.pem").read_bytes()
    except OSError as exc:
        raise NotALedgerError(
            f"{directory} has no readable public_key.pem ({exc.strerror}); pass --public-key"
        ) from exc
    keys: dict[str, Ed25519PublicKey] = {}
    for block in pem.split(b"-----END PUBLIC KEY-----"):
        if b"-----BEGIN PUBLIC KEY-----" in block:
            key = load_public_key(block + b"-----END PUBLIC KEY-----\n", "public_key.pem")
            keys[key_id(key)] = key
    report.notes.append(
        "trusting the key(s) shipped in the bundle, fingerprint(s) "
        + ", ".join(sorted(keys))
        + ": compare with the published fingerprint, or pass --public-key"
    )
    return keys


def _json(path: Path, kind: type) -> Any:
    """A bundle file's JSON, of the expected kind, or :class:`NotALedgerError` naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotALedgerError(f"{path.parent} is not a ledger bundle: {path}: {exc}") from exc
    if not isinstance(value, kind):
        raise NotALedgerError(f"{path} is not what a ledger bundle holds (a JSON {kind.__name__})")
    return value


def verify_bundle(
    directory: Path,
    *,
    public_key: Path | None = None,
    trusted_keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> VerifyReport:
    """Verify an exported bundle offline: files, chain, Merkle roots, signatures, receipts.

    ``public_key`` or ``trusted_keys`` pin the keys signatures must verify with;
    without either the key shipped in the bundle is used (and a note says so).
    """
    started = time.perf_counter()
    directory = Path(directory)
    report = VerifyReport(source=str(directory))
    manifest = _json(directory / "manifest.json", dict)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise NotALedgerError(f"{directory}: unknown bundle format {manifest.get('format')!r}")
    for name, expected in manifest.get("files", {}).items():
        if name in FILES and _sha256_file(directory / name) != expected:
            report.add(None, "bundle", f"{name} differs from the manifest's SHA-256")
    docs = _json(directory / "checkpoints.json", list)
    try:
        checkpoints: list[Checkpoint] = [
            Checkpoint.from_json(doc, f"checkpoints.json[{i}]") for i, doc in enumerate(docs)
        ]
    except (LedgerError, AttributeError) as exc:
        raise NotALedgerError(f"{directory / 'checkpoints.json'}: {exc}") from exc
    checkpoints = merge_checkpoints(report, checkpoints, [])
    trusted = _load_keys(directory, public_key, report, trusted_keys)
    checkpoints = check_checkpoints(report, checkpoints, trusted, str(manifest.get("ledger_id")))
    receipts: list[tuple[int, bytes]] = []
    pages = _bundle_pages(directory / "records.txt", receipts)
    state = walk_chain(pages, report, targets=[cp.tree_size for cp in checkpoints])
    report.records = state.next_seq
    report.head_hash = state.last_hash.hex() if state.next_seq else None
    roots = {
        size: (CompactRange(size, stack).root(), head)
        for size, (stack, head) in state.at_checkpoint.items()
    }
    compare_checkpoints(report, checkpoints, roots, report.records)
    if report.records != manifest.get("records"):
        report.add(
            report.records,
            "bundle",
            f"records.txt holds {report.records} records, "
            f"the manifest says {manifest.get('records')}",
        )
    for seq, body in receipts:
        report.receipts_checked += 1
        try:
            verify_receipt(parse_record(body)["payload"], trusted)
        except (LedgerError, KeyError) as exc:
            report.add(seq, "receipt", f"record {seq}: erasure receipt: {exc}")
    return timed(report, started)
