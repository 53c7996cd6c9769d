"""Inclusion and consistency proofs from a live ledger, parallel verification, and bundles."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from crypto_bot_core.ledger import (
    Ledger,
    LedgerSettings,
    ProofError,
    export_bundle,
    merkle,
    open_ledger,
)
from crypto_bot_core.ledger.bundle import verify_bundle
from crypto_bot_core.ledger.signing import load_public_key
from crypto_bot_sdk import LedgerError, RecordType


def _grow(ledger: Ledger, count: int) -> None:
    start = len(ledger)
    ledger.append_many([(RecordType.DECISION, {"n": start + i}) for i in range(count)])


def test_inclusion_and_consistency_proofs_check_against_signed_checkpoints(
    ledger: Ledger,
) -> None:
    _grow(ledger, 7)
    old = ledger.checkpoint()
    _grow(ledger, 13)
    new = ledger.checkpoint()
    _grow(ledger, 1)
    with pytest.raises(LedgerError, match="no checkpoint covers record 20"):
        ledger.inclusion_proof(20)

    proof = ledger.inclusion_proof(5)
    assert proof.checkpoint.tree_size == 20
    doc = proof.to_json()
    # A third party needs only the JSON: recompute the leaf, follow the path to the root.
    leaf = hashlib.sha256(
        b"\x00cryptobot.ledger.v1:" + bytes.fromhex(doc["prev_hash"]) + doc["record"].encode()
    ).digest()
    assert leaf.hex() == doc["leaf_hash"] == ledger.get(5).hash
    path = [bytes.fromhex(h) for h in doc["audit_path"]]
    merkle.verify_inclusion(5, 20, leaf, path, bytes.fromhex(doc["root"]))
    with pytest.raises(ProofError):
        merkle.verify_inclusion(6, 20, leaf, path, bytes.fromhex(doc["root"]))

    early = ledger.inclusion_proof(5, tree_size=7)
    assert early.checkpoint == old
    with pytest.raises(LedgerError, match="not in the checkpoint of size 7"):
        ledger.inclusion_proof(9, tree_size=7)

    consistency = ledger.consistency_proof(7, 20)
    assert (consistency.old, consistency.new) == (old, new)
    c = consistency.to_json()
    merkle.verify_consistency(7, 20, old.root, new.root, [bytes.fromhex(h) for h in c["proof"]])
    with pytest.raises(ProofError):
        merkle.verify_consistency(
            7, 20, old.root, new.root, [bytes.fromhex(h) for h in c["proof"]][::-1]
        )
    with pytest.raises(LedgerError, match="no checkpoint of size 8"):
        ledger.consistency_proof(8, 20)


def test_parallel_verification_agrees_with_one_process(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    from ledger_tamper import as_admin

    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        for size in (700, 1024, 1537, 2900):
            _grow(ledger, size - len(ledger))
            ledger.checkpoint()
        _grow(ledger, 77)
        single = ledger.verify(workers=1)
        split = ledger.verify(workers=2, chunk=256)
        assert single.ok, single.problems
        assert split.ok, split.problems
        assert (split.records, split.head_hash, split.checkpoints) == (
            single.records,
            single.head_hash,
            4,
        )
        as_admin(sqlite_url, "DELETE FROM ledger_records WHERE seq = 1300")
        single = ledger.verify(workers=1)
        split = ledger.verify(workers=2, chunk=256)
        assert single.first_bad == split.first_bad == 1300
        assert {p.kind for p in split.problems} == {p.kind for p in single.problems}
        assert {p.kind for p in split.problems} == {"gap", "content", "checkpoint"}


def test_a_bundle_verifies_offline_and_exposes_tampering(
    sqlite_url: str, settings_for: Callable[..., LedgerSettings], tmp_path: Path, public_key: Path
) -> None:
    with open_ledger(settings=settings_for(sqlite_url)) as ledger:
        ref = ledger.subjects.put("carol@mail.test", {"name": "Carol"})
        ledger.append(RecordType.ORDER_INTENT, {"subject_ref": ref})
        _grow(ledger, 40)
        ledger.checkpoint()
        ledger.subjects.erase("carol@mail.test")
        _grow(ledger, 3)
        ledger.checkpoint()
        manifest = export_bundle(ledger, tmp_path / "bundle")
        with pytest.raises(LedgerError, match="not empty"):
            export_bundle(ledger, tmp_path / "bundle")
    assert manifest["records"] == 45
    bundle = tmp_path / "bundle"
    assert sorted(p.name for p in bundle.iterdir()) == [
        "README.txt",
        "checkpoints.json",
        "manifest.json",
        "public_key.pem",
        "records.txt",
    ]
    report = verify_bundle(bundle, public_key=public_key)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.receipts_checked) == (45, 2, 1)
    assert report.notes == []
    assert verify_bundle(bundle).notes[0].startswith("trusting the key(s) shipped in the bundle")

    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    lines = (tampered / "records.txt").read_bytes().splitlines(keepends=True)
    lines[10] = lines[10].replace(b'"n":10}', b'"n":99}')
    (tampered / "records.txt").write_bytes(b"".join(lines))
    report = verify_bundle(tampered, public_key=public_key)
    assert report.first_bad == 10
    assert {p.kind for p in report.problems} == {"bundle", "content", "checkpoint"}

    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from crypto_bot_core.ledger.signing import public_pem

    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    report = verify_bundle(bundle, public_key=other)
    assert [p.kind for p in report.problems] == ["signature", "signature", "receipt"]
    assert load_public_key(str(public_key), "x") is not None
