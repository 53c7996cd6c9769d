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
    rows: Iterable[tuple[int, bytes, bytes, bytes]],
    report: VerifyReport,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    start: int = 0,
    prev: bytes = GENESIS,
    compact: CompactRange | None = None,
    merkle_all: bool = False,
) -> CompactRange:
    """Check links, content hashes, sequence numbers and checkpoint roots in one pass.

    Each record is hashed with its *own* stored prev_hash and compared with its
    stored hash, and the prev_hash is compared with the previous record's hash
    separately; so one edited record is reported once, not again at its
    successor. Merkle leaves are the recomputed hashes (what the bytes really
    are). The tree is built only as far as the last checkpoint unless
    ``merkle_all`` (a new checkpoint is being made), and it extends ``compact``.
    """
    tree = compact if compact is not None else CompactRange()
    sizes = sorted({cp.tree_size for cp in checkpoints if cp.tree_size > tree.size})
    by_size = {cp.tree_size: cp for cp in checkpoints}
    limit = (1 << 62) if merkle_all else (sizes[-1] if sizes else 0)
    targets = iter(sizes)
    target = next(targets, -1)
    sha = hashlib.sha256
    tag = CHAIN_TAG
    stack = tree.hashes
    n = tree.size
    expected = start
    last_ok_cp = n
    for seq, p, h, body in rows:
        if seq != expected:
            _gap(report, expected, seq)
        if p != prev:
            report.add(
                seq,
                "link",
                f"record {seq}: prev_hash {bytes(p).hex()} does not equal the hash of the record "
                f"before it ({bytes(prev).hex()}); a record was removed, inserted or rewritten",
            )
        c = sha(tag + p + body).digest()
        if c != h:
            report.add(
                seq,
                "content",
                f"record {seq}: its stored bytes hash to {c.hex()} but its hash column says "
                f"{bytes(h).hex()}; the record was modified after it was written",
            )
        if n < limit:
            stack.append(c)
            n += 1
            bits = n
            while not bits & 1:
                right = stack.pop()
                stack[-1] = sha(b"\x01" + stack[-1] + right).digest()
                bits >>= 1
            if n == target:
                if _check_root(report, by_size[n], CompactRange(n, stack).root(), h, last_ok_cp):
                    last_ok_cp = n
                target = next(targets, -1)
        prev = h
        expected = seq + 1
    tree.size = n
    report.records = expected
    report.head_hash = bytes(prev).hex() if expected else None
    last_size = sizes[-1] if sizes else 0
    if last_size > expected:
        cp = by_size[last_size]
        report.add(
            expected,
            "tail",
            f"the ledger ends after {expected} record(s) but the checkpoint of size {last_size} "
            f"signed at {cp.ts} commits to {last_size}: records {expected}..{last_size - 1} "
            "were removed",
        )
    return tree


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
    trusted: Mapping[str, Ed25519PublicKey],
    ledger_id: str,
) -> None:
    report.checkpoints = len(checkpoints)
    if checkpoints and not trusted:
        report.add(
            None,
            "signature",
            "no public key is configured, so checkpoint signatures cannot be checked; set "
            "CRYPTOBOT_LEDGER_PUBLIC_KEY",
        )
        return
    for cp in checkpoints:
        key = trusted.get(cp.key_id)
        if cp.ledger_id != ledger_id:
            report.add(
                None,
                "checkpoint",
                f"checkpoint {cp.tree_size} belongs to ledger {cp.ledger_id}, not {ledger_id}",
            )
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
        elif cp.compact:
            try:
                cp.compact_range()
            except LedgerError as exc:
                report.notes.append(str(exc))


def timed(report: VerifyReport, started: float) -> VerifyReport:
    report.elapsed_s = time.perf_counter() - started
    return report
