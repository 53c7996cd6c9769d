"""Running a session end to end: config -> plugins -> engine -> run folder.

This is what ``cryptobot run`` and ``cryptobot backtest`` call. The run folder
holds everything needed to audit the session afterwards: the ledger, the
config actually used, a trades CSV, a summary JSON and an equity-curve PNG.
Ctrl-C stops between ticks and still closes the ledger with a stop record,
so an interrupted run is as consistent as a finished one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crypto_bot_core.config import LoadedConfig
from crypto_bot_core.engine.assembly import Assembled, assemble
from crypto_bot_core.engine.summary import RunSummary, write_run_folder
from crypto_bot_core.host import Host


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    ledger_url: str
    summary: RunSummary
    interrupted: bool


def _open_ledger(url: str) -> Any:
    from crypto_bot_core.ledger import open_ledger

    return open_ledger(url)


async def _drive(assembled: Assembled) -> bool:
    engine = assembled.engine
    await engine.start()
    interrupted = False
    try:
        await engine.run(assembled.start, assembled.end)
    except asyncio.CancelledError:
        interrupted = True
    finally:
        await engine.close("interrupted" if interrupted else "completed")
    return interrupted


def run_session(
    loaded: LoadedConfig,
    *,
    host: Host | None = None,
    run_id: str | None = None,
    on_progress: Callable[[datetime], None] | None = None,
    ledger_factory: Callable[[str], Any] = _open_ledger,
) -> RunResult:
    """Run the configured session to its end (or Ctrl-C) and write its run folder."""
    host = host or Host().load()
    assembled = assemble(loaded, host, ledger_factory=ledger_factory, run_id=run_id)
    engine = assembled.engine
    engine.on_progress = on_progress
    (assembled.run_dir / "config.json").write_text(
        json.dumps(loaded.config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    interrupted = False
    try:
        interrupted = asyncio.run(_drive(assembled))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        close = getattr(engine.ledger, "close", None)
        if callable(close):
            close()
    summary = engine.summary()
    write_run_folder(assembled.run_dir, summary, engine.trades, engine.equity_curve)
    return RunResult(engine.run_id, assembled.run_dir, assembled.ledger_url, summary, interrupted)
