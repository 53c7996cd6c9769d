"""Several writer processes at once still make one valid, gap-free chain."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from multiprocessing.synchronize import Barrier

import pytest

from crypto_bot_core.ledger import LedgerSettings, open_ledger
from crypto_bot_sdk import RecordType

WRITERS = 4
EACH = 2000


def _writer(settings: LedgerSettings, writer: int, start: Barrier) -> None:
    with open_ledger(settings=settings) as ledger:
        start.wait()  # every process appends at the same time
        for i in range(EACH):
            ledger.append(RecordType.ORDER_SUBMITTED, {"writer": writer, "i": i})


def _run_writers(settings: LedgerSettings) -> None:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(WRITERS)
    processes = [context.Process(target=_writer, args=(settings, w, start)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    assert [p.exitcode for p in processes] == [0] * WRITERS


@pytest.mark.slow
def test_four_processes_make_one_gap_free_chain(
    backend_url: str, settings_for: Callable[..., LedgerSettings]
) -> None:
    settings = settings_for(backend_url)
    with open_ledger(settings=settings) as ledger:  # create the schema before the race
        assert len(ledger) == 0
    _run_writers(settings)
    with open_ledger(settings=settings) as ledger:
        records = list(ledger.records())
        assert [r.sequence for r in records] == list(range(WRITERS * EACH))
        written = Counter((r.payload["writer"], r.payload["i"]) for r in records)
        assert set(written.values()) == {1}
        assert len(written) == WRITERS * EACH
        # Each writer's own appends stay in its order; the writers interleave.
        for w in range(WRITERS):
            mine = [r.payload["i"] for r in records if r.payload["writer"] == w]
            assert mine == list(range(EACH))
        owners = [r.payload["writer"] for r in records]
        assert sum(a != b for a, b in pairwise(owners)) > WRITERS
        ledger.checkpoint()
        report = ledger.verify()
        assert report.ok, report.problems
        assert report.records == WRITERS * EACH
