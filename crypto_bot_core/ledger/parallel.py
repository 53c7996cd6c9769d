"""The verification pass spread over processes, for ledgers large enough to pay for it.

SHA-256 through hashlib costs about half a microsecond a call on a small input,
and verification needs two calls a record (the chain link, one Merkle node), so
one process tops out well below a million records a second. The range is cut
into chunks of 2**k records starting at multiples of 2**k: each chunk is then a
perfect subtree of the RFC 6962 tree, so a worker can verify its chunk's links
(starting from the stored hash of the record before it) and hash its subtree on
its own, and the parent combines one root per chunk. Each worker opens its own
read-only connection from the URL.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext

from crypto_bot_core.ledger.hashing import GENESIS
from crypto_bot_core.ledger.merkle import CompactRange
from crypto_bot_core.ledger.verify import MAX_PROBLEMS, Problem, VerifyReport, walk_chain

COLUMN_PROBLEMS = 20
MIN_CHUNK = 1 << 16
MIN_PARALLEL = 1 << 18
"""Below this many records starting processes costs more than it saves."""


@dataclass
class ChunkResult:
    start: int
    end: int
    problems: list[Problem]
    tree: list[bytes]
    tree_size: int
    targets: list[int]
    at: dict[int, tuple[list[bytes], bytes]]
    next_seq: int
    last_hash: bytes


@dataclass(frozen=True)
class Chunk:
    url: str
    busy_timeout_s: float
    start: int
    end: int
    targets: list[int]
    limit: int


def _walk_chunk(chunk: Chunk) -> ChunkResult:
    from crypto_bot_core.ledger.settings import LedgerSettings
    from crypto_bot_core.ledger.stores import open_store

    url, start, end = chunk.url, chunk.start, chunk.end
    settings = LedgerSettings(url=url, busy_timeout_s=chunk.busy_timeout_s)
    store = open_store(url, settings, read_only=True)
    try:
        before = [row for page in store.chain_pages(start - 1, start) for row in page]
        prev = bytes(before[0][1]) if before else GENESIS
        report = VerifyReport(source=url)
        state = walk_chain(
            store.chain_pages(start, end),
            report,
            targets=[t - start for t in chunk.targets],
            start=start,
            prev=prev,
            merkle_limit=max(0, min(end, chunk.limit) - start),
            end=end,
        )
    finally:
        store.close()
    return ChunkResult(
        start,
        end,
        report.problems,
        state.tree.hashes,
        state.tree.size,
        chunk.targets,
        {size + start: value for size, value in state.at_checkpoint.items()},
        state.next_seq,
        state.last_hash,
    )


def _combine(prefix: CompactRange, start: int, size: int, local: list[bytes]) -> CompactRange:
    """The compact range of leaves [0, size): whole chunks before ``start``, then a worker's
    compact range of [start, size), whose subtrees have the heights of (size - start)'s bits."""
    tree = CompactRange(start, prefix.hashes)
    heights = [
        bit for bit in range((size - start).bit_length() - 1, -1, -1) if (size - start) >> bit & 1
    ]
    for height, root in zip(heights, local, strict=True):
        tree.append_subtree(root, height)
    return tree


def _context() -> BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _column_mismatches(url: str, busy_timeout_s: float, end: int) -> list[int]:
    from crypto_bot_core.ledger.settings import LedgerSettings
    from crypto_bot_core.ledger.stores import open_store

    settings = LedgerSettings(url=url, busy_timeout_s=busy_timeout_s)
    store = open_store(url, settings, read_only=True)
    try:
        return store.column_mismatches(0, end, COLUMN_PROBLEMS)
    finally:
        store.close()


def chunk_size(records: int, workers: int) -> int:
    """A power of two giving each worker about two chunks (so a slow one holds up less)."""
    wanted = max(1, -(-records // (workers * 2)))
    return max(MIN_CHUNK, 1 << (wanted - 1).bit_length())


def parallel_walk(
    url: str,
    busy_timeout_s: float,
    end: int,
    targets: list[int],
    report: VerifyReport,
    *,
    workers: int,
    chunk: int | None = None,
    column_check: bool = False,
) -> tuple[dict[int, tuple[bytes, bytes] | None], list[int]]:
    """Walk records [0, end) in ``workers`` processes.

    Returns (root, chain head) at each target size, and -- when ``column_check``
    -- the records whose indexed columns disagree with their bytes, checked by
    the database while the workers hash. ``chunk`` (a power of two) overrides
    the chunk size, for tests on small ledgers. Workers come from a fork
    server: forking this process, which may run other threads, could copy a
    lock some thread holds.
    """
    size = chunk or chunk_size(end, workers)
    if size & (size - 1):
        raise ValueError(f"chunk size {size} is not a power of two")
    limit = max(targets, default=0)
    ranges = [(a, min(a + size, end)) for a in range(0, end, size)]
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        columns = (
            pool.submit(_column_mismatches, url, busy_timeout_s, end) if column_check else None
        )
        futures = [
            pool.submit(
                _walk_chunk,
                Chunk(url, busy_timeout_s, a, b, [t for t in targets if a < t <= b], limit),
            )
            for a, b in ranges
        ]
        results = [future.result() for future in futures]
        mismatches = columns.result() if columns is not None else []
    prefix = CompactRange()  # over whole-chunk roots: perfect subtrees of 2**k leaves
    roots: dict[int, tuple[bytes, bytes] | None] = {}
    whole = True  # every chunk so far held all its records
    for result in results:
        for problem in result.problems:
            if len(report.problems) < MAX_PROBLEMS:
                report.problems.append(problem)
        for tree_size, (stack, head) in result.at.items():
            if whole:
                roots[tree_size] = (_combine(prefix, result.start, tree_size, stack).root(), head)
        for tree_size in result.targets:
            roots.setdefault(tree_size, None)
        if result.tree_size == size:
            prefix.append(result.tree[0])
        else:
            whole = False
    last = results[-1] if results else None
    report.records = last.next_seq if last is not None else 0
    report.head_hash = last.last_hash.hex() if last is not None and report.records else None
    return roots, mismatches
