"""The kill switch on a run no process drives: ``cryptobot kill`` on a stopped or crashed run.

The runner builds and starts the engine exactly as ``--resume`` does - so the
ledger is first reconciled with every venue (orders the venue moved, fills the
crash lost, orders that never reached it) - and then, instead of continuing the
run, :func:`settle_stopped_run` lets simulated venues catch up to the run's last
recorded moment, trips the kill switch dated at that moment, lets the market
(strictly after it) fill the flattening orders, and the runner verifies
flatness from the venues' own state
(:func:`~crypto_bot_core.engine.kill.conclude_kill`) before the final stop
record. Nothing of the run's past is decided, booked or charged again.

:func:`remember_last_tick` is the other half: a run that ends saves its venues
with the last tick it processed, so a later kill knows where the run's market
time ended even when nothing was traded near the end.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from crypto_bot_core.engine.kill import last_recorded_time, settle_stopped

if TYPE_CHECKING:
    from crypto_bot_core.engine.kernel import Engine
    from crypto_bot_core.engine.reconcile import LedgerState

SUMMARY_FILE = "summary.json"


def summary_end(run_dir: Path) -> datetime | None:
    """The market time a previous process of the run reached, from its ``summary.json``
    (a finished run's end; absent after a crash, and then the ledger tells)."""
    try:
        data = json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        end = data.get("end") if isinstance(data, dict) else None
        return datetime.fromisoformat(end) if isinstance(end, str) else None
    except (OSError, ValueError):
        return None


async def settle_stopped_run(
    engine: Engine,
    resume: LedgerState | None,
    *,
    run_dir: Path,
    reason: str | None,
    decided_by: str | None,
    start: datetime | None,
    end: datetime | None,
) -> None:
    """Kill a started (reconciled) engine of a stopped run, or finish settling a run killed
    before; then save the venues as they are (see the module doc)."""
    known = [t for t in (last_recorded_time(engine, resume), summary_end(run_dir)) if t]
    await settle_stopped(
        engine,
        reason=reason,
        decided_by=decided_by,
        start=start,
        end=end,
        horizon=max(known) if known else None,
    )
    remember_last_tick(engine)


def remember_last_tick(engine: Engine) -> None:
    """Save the simulated venues with the run's last processed tick (a run that ended)."""
    store = engine.state_store
    if store is not None and store.tick is not None:
        store.persist_all()
