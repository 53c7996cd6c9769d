"""Verification: one pass over the stored bytes, then checkpoints, signatures and receipts.

The pass hashes each record's stored canonical bytes exactly as they were
written (no re-serialisation), checks every link and sequence number, and
builds the Merkle tree as a compact range up to the last checkpoint, comparing
root and chain head at every checkpoint size on the way. The same code checks a
live database and an exported bundle.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto_bot_core.ledger.checkpoints import Checkpoint
from crypto_bot_core.ledger.hashing import CHAIN_TAG, GENESIS
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_sdk import LedgerError, LedgerIntegrityError

MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class Problem:
    sequence: int | None
    kind: str
    message: str


@dataclass
class VerifyReport:
    source: str
    records: int = 0
    checkpoints: int = 0
    signatures_checked: int = 0
    receipts_checked: int = 0
    published_checked: int = 0
    """Published checkpoint files whose signature was checked (besides the database's)."""
    head_hash: str | None = None
    elapsed_s: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> int | None:
        known = [p.sequence for p in self.problems if p.sequence is not None]
        return min(known) if known else None

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def add(self, sequence: int | None, kind: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(sequence, kind, message))

    def first_problem(self) -> Problem | None:
        if not self.problems:
            return None
        first = self.first_bad
        for problem in self.problems:
            if problem.sequence == first:
                return problem
        return self.problems[0]

    def raise_for_problems(self) -> None:
        problem = self.first_problem()
        if problem is not None:
            raise LedgerIntegrityError(
                f"{self.source}: {problem.message}"
                + (
                    f" (and {len(self.problems) - 1} more problem(s))"
                    if len(self.problems) > 1
                    else ""
                ),
                sequence=problem.sequence,
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "records": self.records,
            "checkpoints": self.checkpoints,
            "signatures_checked": self.signatures_checked,
            "receipts_checked": self.receipts_checked,
            "published_checked": self.published_checked,
            "head_hash": self.head_hash,
            "first_bad_record": self.first_bad,
            "elapsed_s": round(self.elapsed_s, 6),
            "records_per_s": round(self.rate),
            "problems": [
                {"sequence": p.sequence, "kind": p.kind, "message": p.message}
                for p in self.problems
            ],
            "notes": self.notes,
        }


def walk_chain(
    pages: Iterable[Sequence[tuple[int, bytes, bytes]]],
    report: VerifyReport,
    *,
    targets: Iterable[int] = (),
    start: int = 0,
    prev: bytes = GENESIS,
    compact: CompactRange | None = None,
    merkle_limit: int | None = None,
    end: int | None = None,
) -> WalkState:
    """Check content hashes, links and sequence numbers, and Merkle roots, in one pass.

    Rows come in pages of (seq, hash, body). Record *i* is hashed with the
    *stored* hash of record *i-1*, so an edited record is reported once, not
    again at its successor; an edited hash column shows at that record and the
    next. Merkle leaves are the recomputed hashes (what the bytes really are).
    The tree extends ``compact``, is built only up to ``merkle_limit`` (default:
    the largest target), and its state is kept at every size in ``targets``.
    ``end``, when given, is where the rows should stop (records missing at the
    end of a range are reported). The work per page is done in comprehensions
    and C-level comparisons: this loop bounds ``cryptobot ledger verify``.
    """
    tree = compact if compact is not None else CompactRange()
    sizes = sorted({size for size in targets if size > tree.size})
    limit = merkle_limit if merkle_limit is not None else (sizes[-1] if sizes else 0)
    sha = hashlib.sha256
    tag = CHAIN_TAG
    expected = start
    state = WalkState(tree)
    for page in pages:
        if not page:
            continue
        seqs, hashes, bodies = zip(*page, strict=True)
        if seqs != tuple(range(expected, expected + len(seqs))):
            _sequence_problems(report, expected, seqs)
        computed = [
            sha(tag + p + b).digest() for p, b in zip((prev, *hashes[:-1]), bodies, strict=True)
        ]
        if computed != list(hashes):
            _content_problems(report, seqs, computed, hashes)
        if tree.size < limit:
            _grow(tree, computed[: limit - tree.size], sizes, hashes, state)
        prev = hashes[-1]
        expected = seqs[-1] + 1
    state.next_seq = expected
    state.last_hash = bytes(prev)
    if end is not None and expected < end:
        report.add(expected, "gap", f"records {expected}..{end - 1} are missing")
    return state


def _grow(
    tree: CompactRange,
    leaves: list[bytes],
    sizes: list[int],
    hashes: Sequence[bytes],
    state: WalkState,
) -> None:
    """Add a page's leaves, stopping at each target size to keep the tree's state there."""
    first = tree.size
    done = 0
    for size in sizes:
        if not first < size <= first + len(leaves):
            continue
        tree.extend(leaves[done : size - first])
        done = size - first
        state.at_checkpoint[size] = (list(tree.hashes), bytes(hashes[done - 1]))
    tree.extend(leaves[done:])


def _sequence_problems(report: VerifyReport, expected: int, seqs: Sequence[int]) -> None:
    for seq in seqs:
        if seq != expected:
            _gap(report, expected, seq)
        expected = seq + 1


def _content_problems(
    report: VerifyReport, seqs: Sequence[int], computed: list[bytes], stored: Sequence[bytes]
) -> None:
    for seq, c, h in zip(seqs, computed, stored, strict=True):
        if c != h:
            report.add(
                seq,
                "content",
                f"record {seq}: its bytes, linked to the stored hash of the record before it, "
                f"hash to {c.hex()} but its stored hash is {bytes(h).hex()}: the record (or the "
                "one before it) was changed, removed or inserted after it was written",
            )


@dataclass
class WalkState:
    """What a walk leaves behind: the tree so far, and its state at each checkpoint size."""

    tree: CompactRange
    at_checkpoint: dict[int, tuple[list[bytes], bytes]] = field(default_factory=dict)
    next_seq: int = 0
    last_hash: bytes = GENESIS


def compare_checkpoints(
    report: VerifyReport,
    checkpoints: Sequence[Checkpoint],
    roots: Mapping[int, tuple[bytes, bytes] | None],
    records: int,
) -> None:
    """Compare the recomputed (root, chain head) at each checkpoint size; flag a removed tail.

    A size missing from ``roots`` (or None) means the tree there could not be
    rebuilt because records before it are missing: reported, not compared.
    """
    last_ok = 0
    for cp in sorted(checkpoints, key=lambda c: c.tree_size):
        if cp.tree_size > records:
            report.add(
                records,
                "tail",
                f"the ledger ends after {records} record(s) but the checkpoint of size "
                f"{cp.tree_size} signed at {cp.ts} commits to {cp.tree_size}: records "
                f"{records}..{cp.tree_size - 1} were removed",
            )
            return
        found = roots.get(cp.tree_size)
        if found is None:
            report.add(
                None,
                "checkpoint",
                f"the records up to the checkpoint of size {cp.tree_size} cannot match it: "
                "records before it are missing",
            )
        elif _check_root(report, cp, found[0], found[1], last_ok):
            last_ok = cp.tree_size


def _gap(report: VerifyReport, expected: int, seq: int) -> None:
    if seq > expected:
        report.add(
            expected,
            "gap",
            f"records {expected}..{seq - 1} are missing: the sequence jumps from "
            f"{expected - 1} to {seq}",
        )
    else:
        report.add(seq, "duplicate", f"record {seq} appears again after record {expected - 1}")


def _check_root(
    report: VerifyReport, cp: Checkpoint, root: bytes, head: bytes, last_ok: int
) -> bool:
    good = True
    if root != cp.root:
        good = False
        report.add(
            None,
            "checkpoint",
            f"the Merkle root of the first {cp.tree_size} records is {root.hex()} but the "
            f"checkpoint signed at {cp.ts} says {cp.root.hex()}: records {last_ok}.."
            f"{cp.tree_size - 1} differ from what was checkpointed",
        )
    if bytes(head) != cp.chain_head:
        good = False
        report.add(
            None,
            "checkpoint",
            f"the chain head at size {cp.tree_size} is {bytes(head).hex()} but the checkpoint "
            f"signed at {cp.ts} says {cp.chain_head.hex()}: history up to record "
            f"{cp.tree_size - 1} was rewritten after record {last_ok - 1}",
        )
    return good


def merge_checkpoints(
    report: VerifyReport, stored: Sequence[Checkpoint], published: Sequence[Checkpoint]
) -> list[Checkpoint]:
    """Checkpoints from the database and from published files; a disagreement is a problem."""
    merged = {cp.tree_size: cp for cp in stored}
    for cp in published:
        mine = merged.get(cp.tree_size)
        if mine is None:
            report.add(
                None,
                "checkpoint",
                f"the published checkpoint of size {cp.tree_size} (signed at {cp.ts}) is "
                "missing from the database: it was rolled back or replaced",
            )
            merged[cp.tree_size] = cp
        elif (mine.root, mine.chain_head) != (cp.root, cp.chain_head):
            report.add(
                None,
                "checkpoint",
                f"the database's checkpoint of size {cp.tree_size} differs from the published "
                "one: the ledger has forked",
            )
            merged[cp.tree_size] = cp
    return [merged[size] for size in sorted(merged)]


def check_checkpoints(
    report: VerifyReport,
    checkpoints: Sequence[Checkpoint],
    trusted: Mapping[str, Ed25519PublicKey] | None,
    ledger_id: str,
) -> list[Checkpoint]:
    """Check each checkpoint's ledger and signature; return those fit to compare records with.

    ``trusted=None`` means signatures are deliberately not checked (every
    checkpoint is used). A checkpoint that fails is reported and left out, so
    the records are not also reported as differing from a forgery.
    """
    report.checkpoints = len(checkpoints)
    if trusted is None:
        return list(checkpoints)
    if checkpoints and not trusted:
        report.add(
            None,
            "signature",
            "no public key is configured, so checkpoint signatures cannot be checked; set "
            "CRYPTOBOT_LEDGER_PUBLIC_KEY",
        )
        return []
    usable = []
    for cp in checkpoints:
        if cp.ledger_id != ledger_id:
            report.add(
                None,
                "checkpoint",
                f"checkpoint {cp.tree_size} belongs to ledger {cp.ledger_id}, not {ledger_id}",
            )
            continue
        key = trusted.get(cp.key_id)
        if key is None:
            report.add(
                None,
                "signature",
                f"checkpoint {cp.tree_size} is signed by key {cp.key_id}, which is not trusted",
            )
            continue
        report.signatures_checked += 1
        if not cp.signature_ok(key):
            report.add(
                None,
                "signature",
                f"checkpoint {cp.tree_size} (signed at {cp.ts}) has an invalid signature: its "
                "size, root or chain head was altered",
            )
            continue
        if cp.compact:
            try:
                cp.compact_range()
            except LedgerError as exc:
                report.notes.append(str(exc))
        usable.append(cp)
    return usable


def timed(report: VerifyReport, started: float) -> VerifyReport:
    report.elapsed_s = time.perf_counter() - started
    return report


def check_published(
    report: VerifyReport,
    published: Sequence[tuple[str, Checkpoint]],
    trusted: Mapping[str, Ed25519PublicKey] | None,
    ledger_id: str,
) -> list[Checkpoint]:
    """Check each published checkpoint file's ledger and signature; return the good ones.

    A published file is a second copy of the trust anchor, so it gets the same
    checks as the database's checkpoints, named by file: a signature changed only
    in the file, a file signed by a key that is not trusted, or one of another
    ledger is a problem, and only checkpoints that pass are compared with records.
    """
    usable = []
    for source, cp in published:
        if cp.ledger_id != ledger_id:
            report.add(
                None,
                "published",
                f"{source}: the checkpoint belongs to ledger {cp.ledger_id}, not {ledger_id}",
            )
            continue
        if trusted is None:
            usable.append(cp)
            continue
        key = trusted.get(cp.key_id)
        if key is None:
            report.add(
                None,
                "published",
                f"{source}: the checkpoint of size {cp.tree_size} is signed by key "
                f"{cp.key_id}, which is not trusted",
            )
            continue
        report.published_checked += 1
        if not cp.signature_ok(key):
            report.add(
                None,
                "published",
                f"{source}: the checkpoint of size {cp.tree_size} has an invalid signature: "
                "the file was altered after it was signed",
            )
            continue
        usable.append(cp)
    return usable
