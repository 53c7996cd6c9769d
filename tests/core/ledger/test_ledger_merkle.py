"""RFC 6962/9162 Merkle proofs against the official vectors, and our own trees against them.

Vectors: tests/core/ledger/vectors/rfc6962-merkle, copied from transparency-dev/merkle
(commit 417fb0c314750d94e53942e9f92e79b6d35915db, testdata/inclusion and
testdata/consistency; Apache-2.0, see the NOTICE file there), so the suite runs on a
clone with nothing beside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.ledger import merkle
from crypto_bot_core.ledger.merkle import CompactRange, ProofError

VECTORS = Path(__file__).resolve().parent / "vectors" / "rfc6962-merkle"


def _load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [(str(f.relative_to(VECTORS)), json.loads(f.read_text())) for f in files]


INCLUSION = _load("inclusion")
CONSISTENCY = _load("consistency")


def _b(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _proof(values: list[str] | None) -> list[bytes]:
    return [_b(v) for v in values or []]


def test_the_vectors_are_all_there() -> None:
    assert len(INCLUSION) + len(CONSISTENCY) == 196
    assert sum(1 for _, v in INCLUSION + CONSISTENCY if v["wantErr"]) > 150


@pytest.mark.parametrize(("name", "vector"), INCLUSION, ids=[n for n, _ in INCLUSION])
def test_inclusion_vector(name: str, vector: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            vector["leafIdx"],
            vector["treeSize"],
            _b(vector["leafHash"]),
            _proof(vector["proof"]),
            _b(vector["root"]),
        )

    if vector["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize(("name", "vector"), CONSISTENCY, ids=[n for n, _ in CONSISTENCY])
def test_consistency_vector(name: str, vector: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_consistency(
            vector["size1"],
            vector["size2"],
            _b(vector["root1"]),
            _b(vector["root2"]),
            _proof(vector["proof"]),
        )

    if vector["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


REFERENCE_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]


def test_root_of_the_reference_tree() -> None:
    leaves = [merkle.leaf_hash(d) for d in REFERENCE_LEAVES]
    assert merkle.root(leaves).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_generated_proofs_verify_for_every_size_and_fail_when_tampered() -> None:
    rng = random.Random(6962)
    for n in range(1, 40):
        leaves = [merkle.leaf_hash(rng.randbytes(8)) for _ in range(n)]
        root = merkle.root(leaves)
        for index in range(n):
            path = merkle.inclusion_proof(leaves, index)
            merkle.verify_inclusion(index, n, leaves[index], path, root)
            if path:
                broken = list(path)
                broken[rng.randrange(len(broken))] = rng.randbytes(32)
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(index, n, leaves[index], broken, root)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, n, rng.randbytes(32), path, root)
        for size1 in range(1, n + 1):
            proof = merkle.consistency_proof(leaves, size1)
            old_root = merkle.root(leaves[:size1])
            merkle.verify_consistency(size1, n, old_root, root, proof)
            if proof:
                with pytest.raises(ProofError):
                    merkle.verify_consistency(size1, n, old_root, root, proof[:-1])
                with pytest.raises(ProofError):
                    merkle.verify_consistency(size1, n, rng.randbytes(32), root, proof)


def test_compact_range_bulk_extend_matches_one_by_one() -> None:
    rng = random.Random(9162)
    leaves = [rng.randbytes(32) for _ in range(3000)]
    one = CompactRange()
    for leaf in leaves:
        one.append(leaf)
    bulk = CompactRange()
    cuts = sorted(rng.sample(range(1, 3000), 12))
    previous = 0
    for cut in [*cuts, 3000]:
        bulk.extend(leaves[previous:cut])
        assert bulk.size == cut
        assert bulk.root() == merkle.root(leaves[:cut])
        previous = cut
    assert bulk.hashes == one.hashes
    restored = CompactRange.from_bytes(bulk.size, bulk.to_bytes())
    assert restored.root() == merkle.root(leaves)
    with pytest.raises(ValueError, match="needs"):
        CompactRange.from_bytes(3000, bulk.to_bytes()[:-1])
