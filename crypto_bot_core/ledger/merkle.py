"""RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs.

Leaves are given by their leaf hashes (for the ledger: the chain links, see
:mod:`.hashing`). Proof *generation* follows RFC 9162 §2.1.3.1 and §2.1.4.1
(split at the largest power of two below n); proof *verification* follows the
iterative algorithms of §2.1.3.2 and §2.1.4.2, plus the checks the reference
test vectors demand (empty trees, hash lengths, trailing proof elements).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from crypto_bot_sdk import LedgerIntegrityError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


class ProofError(LedgerIntegrityError):
    """A Merkle proof does not verify against the given root(s)."""


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, bottom-up in O(n) hashes without recursion."""
    if not leaves:
        return EMPTY_ROOT
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` (RFC 9162 §2.1.3.1)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of size {n}")
    path: list[bytes] = []
    lo, hi, m = 0, n, index
    # Walk down from the root, remembering the sibling subtree at each split.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root(leaves[lo : lo + k]))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """PROOF(m, D[n]) between the first ``size1`` leaves and all of them (RFC 9162 §2.1.4.1)."""
    n = len(leaves)
    if not 0 < size1 <= n:
        raise ValueError(f"cannot prove consistency of size {size1} with a tree of size {n}")
    proof: list[bytes] = []
    lo, hi, m, whole = 0, n, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root(leaves[lo : lo + k]))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(root(leaves[lo:hi]))
    proof.reverse()
    return proof


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes long; a SHA-256 hash has {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2)."""
    if size <= 0:
        raise ProofError(f"tree size {size}: an empty tree includes no leaf")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash("leaf hash", leaf)
    fn, sn, r = index, size - 1, leaf
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element)
        if sn == 0:
            raise ProofError(f"the proof has {len(proof) - position} element(s) too many")
        if fn & 1 or fn == sn:
            r = node_hash(element, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short for this leaf index and tree size")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is leaf ``index`` of the tree with this root."""
    _check_hash("root", expected_root)
    got = root_from_inclusion(index, size, leaf, proof)
    if got != expected_root:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} leads to root {got.hex()}, "
            f"not {expected_root.hex()}",
            sequence=index,
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless tree ``size2`` extends tree ``size1``.

    RFC 9162 §2.1.4.2, with the edge cases of the reference vectors: an empty
    first tree proves nothing, and equal sizes need an empty proof and equal roots.
    """
    if size1 <= 0:
        raise ProofError(
            f"size1 is {size1}: consistency with an empty tree proves nothing; "
            "compare two non-empty checkpoints"
        )
    if size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == size2:
        if proof:
            raise ProofError("the trees have the same size, so the proof must be empty")
        if root1 != root2:
            raise ProofError(f"same size {size1} but different roots")
        return
    if not proof:
        raise ProofError(f"an empty proof cannot show that size {size1} extends to {size2}")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for position, element in enumerate(proof):
        _check_hash(f"proof element {position}", element)
    fr, sr = _consistency_roots(size1, size2, root1, proof)
    if fr != root1:
        raise ProofError(f"the proof does not lead to the old root of size {size1}")
    if sr != root2:
        raise ProofError(f"the proof does not lead to the new root of size {size2}")


def _consistency_roots(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The (old, new) roots a consistency proof leads to (steps 2-6 of RFC 9162 §2.1.4.2)."""
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof has elements past the root")
        if fn & 1 or fn == sn:
            fr = node_hash(element, fr)
            sr = node_hash(element, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    return fr, sr


_BULK_HEIGHT = 16


def perfect_root(leaves: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of leaf hashes."""
    level = list(leaves)
    sha = _sha256
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=True)
        level = [sha(b"\x01" + left + right).digest() for left, right in pairs]
    return level[0]


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, n): O(log n) state.

    Appending a leaf costs one hash amortised, so a root can be produced at any
    size while streaming the ledger once, and a checkpoint can store this state
    to extend the tree later without rereading old records.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a compact range of size {size} holds {size.bit_count()} hashes, not {len(hashes)}"
            )
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        hashes = self.hashes
        hashes.append(leaf)
        self.size += 1
        bits = self.size
        while not bits & 1:
            right = hashes.pop()
            hashes[-1] = _sha256(b"\x01" + hashes[-1] + right).digest()
            bits >>= 1

    def append_subtree(self, root: bytes, height: int) -> None:
        """Append the root of 2**height leaves; the size must be a multiple of 2**height."""
        hashes = self.hashes
        hashes.append(root)
        self.size += 1 << height
        bits = self.size >> height
        while not bits & 1:
            right = hashes.pop()
            hashes[-1] = _sha256(b"\x01" + hashes[-1] + right).digest()
            bits >>= 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append many leaves, hashing aligned power-of-two blocks level by level.

        Same result as appending one at a time, with the per-node work done in
        list comprehensions instead of an interpreted loop per leaf.
        """
        i, n = 0, len(leaves)
        while i < n:
            size = self.size
            height = min(
                _BULK_HEIGHT,
                (n - i).bit_length() - 1,
                (size & -size).bit_length() - 1 if size else _BULK_HEIGHT,
            )
            if height == 0:
                self.append(leaves[i])
                i += 1
                continue
            width = 1 << height
            self.append_subtree(perfect_root(leaves[i : i + width]), height)
            i += width

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            acc = node_hash(left, acc)
        return acc

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        count = size.bit_count()
        if len(blob) != count * HASH_SIZE:
            raise ValueError(f"compact range of size {size} needs {count * HASH_SIZE} bytes")
        return cls(size, [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)])
