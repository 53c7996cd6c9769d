"""Verifying a live ledger and signing its next checkpoint.

Verification = the database's own protection still in place (triggers, derived
columns), indexed columns equal to the hashed bytes, checkpoints merged from
the database and the published directory with valid signatures, one pass over
every record (links, content hashes, Merkle roots and chain heads at each
checkpoint, nothing missing after the last one), and every erasure receipt's
signature.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto_bot_core.ledger.canonical import format_ts, parse_record
from crypto_bot_core.ledger.checkpoints import (
    LATEST_FILE,
    Checkpoint,
    make_checkpoint,
    read_published,
    write_checkpoint_file,
)
from crypto_bot_core.ledger.erasure import verify_receipt
from crypto_bot_core.ledger.hashing import GENESIS
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_core.ledger.parallel import MIN_PARALLEL, parallel_walk
from crypto_bot_core.ledger.records import column_differences
from crypto_bot_core.ledger.settings import is_postgres, sqlite_path
from crypto_bot_core.ledger.stores import open_store
from crypto_bot_core.ledger.verify import (
    VerifyReport,
    check_checkpoints,
    check_published,
    compare_checkpoints,
    merge_checkpoints,
    timed,
    walk_chain,
)
from crypto_bot_sdk import LedgerError, LedgerIntegrityError

if TYPE_CHECKING:
    from crypto_bot_core.ledger.chain import LedgerCore
    from crypto_bot_core.ledger.stores.base import LedgerStore

COLUMN_PROBLEMS = 20


def _shareable(ledger: LedgerCore) -> bool:
    """Whether other processes can open this ledger by its URL."""
    return not ledger.url.startswith("sqlite") or sqlite_path(ledger.url) is not None


def _column_check(ledger: LedgerCore, end: int) -> list[int]:
    # A connection of its own, so the database evaluates this while we hash.
    store = open_store(ledger.url, ledger.settings, read_only=True)
    try:
        return store.column_mismatches(0, end, COLUMN_PROBLEMS)
    finally:
        store.close()


def published_sources(ledger: LedgerCore, extra: Sequence[Path] = ()) -> list[Path]:
    """Where this ledger's checkpoints are published as files, besides the database.

    The configured checkpoint directory (for a SQLite file by default
    ``<db>.checkpoints``), the ``checkpoint.json`` a run publishes in its folder
    (for a SQLite ledger, the folder holding the database), and ``extra``.
    """
    sources: list[Path] = []
    directory = ledger.checkpoint_dir()
    if directory is not None and directory.is_dir():  # none until a checkpoint is written
        sources.append(directory)
    db = sqlite_path(ledger.url) if ledger.url.startswith("sqlite") else None
    if db is not None and (db.parent / LATEST_FILE).is_file():
        sources.append(db.parent / LATEST_FILE)
    for path in extra:
        # A publish directory holds one folder per ledger (``<dir>/<ledger id>/``).
        own = path / ledger.ledger_id
        source = own if own.is_dir() else path
        if source not in sources:
            sources.append(source)
    return sources


def verify_ledger(
    ledger: LedgerCore,
    *,
    require_signatures: bool = True,
    workers: int | None = None,
    chunk: int | None = None,
    trusted_keys: Mapping[str, Ed25519PublicKey] | None = None,
    published: Sequence[Path] = (),
) -> VerifyReport:
    """Verify the ledger (see the module docstring).

    ``trusted_keys``, when given, are the only keys whose signatures count (a
    pinned key: keys configured or found beside the database are ignored).
    ``published`` adds checkpoint files or directories to the ones the ledger
    knows of (:func:`published_sources`); each is checked like the database's.
    """
    started = time.perf_counter()
    store = ledger.store
    report = VerifyReport(source=ledger.url)
    end = store.end()
    for problem in store.structure_problems():
        report.add(None, "protection", problem)
    files, unreadable = read_published(published_sources(ledger, published))
    for message in unreadable:
        report.add(None, "published", message)
    trusted = dict(trusted_keys) if trusted_keys is not None else ledger.keys.trusted_keys()
    if trusted_keys is not None:
        report.notes.append(
            "trusting only the given key(s), fingerprint(s) " + ", ".join(sorted(trusted))
        )
    if not trusted and not require_signatures:
        report.notes.append("signatures not checked: no public key configured")
    checking = trusted if trusted or require_signatures else None
    good_files = check_published(report, files, checking, ledger.ledger_id)
    cps = merge_checkpoints(report, store.checkpoints(), good_files)
    cps = check_checkpoints(report, cps, checking, ledger.ledger_id)
    if good_files:
        report.notes.append(
            f"checked against {len(good_files)} published checkpoint file(s), the latest "
            f"of size {max(cp.tree_size for cp in good_files)}"
        )
    targets = [cp.tree_size for cp in cps if 0 < cp.tree_size <= end]
    if workers is None:
        workers = (os.cpu_count() or 1) if end >= MIN_PARALLEL and _shareable(ledger) else 1
    column_check = is_postgres(ledger.url)  # SQLite derives those columns from the bytes
    if workers > 1:
        timeout = ledger.settings.busy_timeout_s
        roots, mismatches = parallel_walk(
            ledger.url,
            timeout,
            end,
            targets,
            report,
            workers=workers,
            chunk=chunk,
            column_check=column_check,
        )
    else:
        with ThreadPoolExecutor(1) as background:
            columns = background.submit(_column_check, ledger, end) if column_check else None
            state = walk_chain(store.chain_pages(0, end), report, targets=targets, end=end)
            mismatches = columns.result() if columns is not None else []
        report.records = state.next_seq
        report.head_hash = state.last_hash.hex() if state.next_seq else None
        roots = {
            size: (CompactRange(size, stack).root(), head)
            for size, (stack, head) in state.at_checkpoint.items()
        }
    compare_checkpoints(report, cps, roots, report.records)
    _report_columns(report, store, mismatches)
    for seq, body in store.receipt_rows(end):
        report.receipts_checked += 1
        try:
            verify_receipt(parse_record(body)["payload"], trusted)
        except (LedgerError, KeyError) as exc:
            report.add(seq, "receipt", f"record {seq}: erasure receipt: {exc}")
    return timed(report, started)


def _report_columns(report: VerifyReport, store: LedgerStore, mismatches: list[int]) -> None:
    """Say how each record's indexed columns disagree with its hashed bytes (or that those
    bytes are not a record at all)."""
    for seq in mismatches:
        row = store.get(seq)
        try:
            differences = column_differences(row) if row is not None else []
        except LedgerError as exc:
            differences = [str(exc)]
        for difference in differences:
            report.add(seq, "columns", f"record {seq}: {difference}")


def _extension_base(ledger: LedgerCore, latest: Checkpoint | None) -> tuple[CompactRange, bytes]:
    if latest is None:
        return CompactRange(), GENESIS
    signer = (ledger.keys.trusted_keys() | ledger.keys.own_key()).get(latest.key_id)
    if signer is None or not latest.signature_ok(signer):
        raise LedgerIntegrityError(
            f"the last checkpoint (size {latest.tree_size}) does not verify with a trusted "
            "key; refusing to extend it"
        )
    return latest.compact_range(), latest.chain_head


def sign_checkpoint(ledger: LedgerCore) -> Checkpoint:
    """Check the records added since the last checkpoint, extend its tree, sign, store, publish."""
    key = ledger.keys.signing_key()
    store: LedgerStore = ledger.store
    # Checkpoints first, then the head: another process appending and checkpointing in
    # between can only make the head larger than the latest checkpoint read, never smaller.
    existing = store.checkpoints()
    last = store.last()
    if last is None:
        raise LedgerError("the ledger is empty: there is nothing to checkpoint yet")
    size = last.seq + 1
    latest = existing[-1] if existing else None
    if latest is not None and latest.tree_size == size:
        return latest
    if latest is not None and latest.tree_size > size:
        raise LedgerIntegrityError(
            f"the ledger holds {size} records but its last checkpoint commits to "
            f"{latest.tree_size}: records were removed; run `cryptobot ledger verify`",
            sequence=size,
        )
    compact, prev = _extension_base(ledger, latest)
    report = VerifyReport(source=ledger.url)
    state = walk_chain(
        store.chain_pages(compact.size, size),
        report,
        start=compact.size,
        prev=prev,
        compact=compact,
        merkle_limit=size,
        end=size,
    )
    if not report.ok:
        report.raise_for_problems()
    cp = make_checkpoint(
        ledger_id=ledger.ledger_id,
        compact=state.tree,
        chain_head=last.hash,
        ts=format_ts(datetime.now(UTC)),
        private_key=key,
    )
    try:
        (ledger.checkpoint_store or store).add_checkpoint(cp)
    except LedgerError:
        # Another writer of this ledger checkpointed the same size first: that one stands.
        same = [c for c in store.checkpoints() if c.tree_size == size]
        if not same or same[0].root != cp.root:
            raise
        cp = same[0]
    directory = ledger.checkpoint_dir()
    if directory is not None:
        write_checkpoint_file(directory, cp)
    return cp
