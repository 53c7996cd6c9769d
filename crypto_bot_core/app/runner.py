"""Running a session end to end: config -> plugins -> engine -> run folder.

This is what ``cryptobot run``, ``run --resume`` and ``cryptobot kill`` call.
The run folder holds everything needed to audit and to continue the session:
the ledger, the config it ran with (``config.json``), the saved state of its
simulated venues (``venues/``), a trades CSV, a summary JSON and an
equity-curve PNG. Ctrl-C stops between ticks and closes the ledger with a stop
record, so an interrupted run is as consistent as a finished one; a crashed
one is continued with ``--resume``.

Everything the run needs of its engine (the progress callback, the venue state
store and kill file of a paper or live run, the service's telemetry) is decided
before the engine is built and handed to :func:`assemble`; the runner only
drives the engine it gets.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crypto_bot_core.app.assembly import (
    Assembled,
    assemble,
    default_run_dir,
    ledger_url_for,
    new_run_id,
)
from crypto_bot_core.app.run_folder import write_run_folder
from crypto_bot_core.config import LoadedConfig, Mode, parse_config
from crypto_bot_core.engine.durability import write_atomically
from crypto_bot_core.engine.kernel import EngineStats
from crypto_bot_core.engine.reconcile import LedgerState, ReconciliationReport, rebuild
from crypto_bot_core.engine.summary import RunSummary
from crypto_bot_core.host import Host
from crypto_bot_sdk import ConfigError

if TYPE_CHECKING:
    from crypto_bot_core.app.attach import AttachedService

CONFIG_FILE = "config.json"
KILL_FILE = "KILL"
PID_FILE = "RUNNING"


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    ledger_url: str
    summary: RunSummary
    interrupted: bool
    reconciliation: ReconciliationReport | None = None
    stats: EngineStats | None = None


def _open_ledger(url: str) -> Any:
    from crypto_bot_core.ledger import open_ledger

    return open_ledger(url)


def kill_file_poller(run_dir: Path, every: float = 0.25) -> Callable[[], str | None]:
    """A cheap per-tick check for a kill request file, looked at most every ``every`` s."""
    path = run_dir / KILL_FILE
    last = 0.0

    def requested() -> str | None:
        nonlocal last
        now = time.monotonic()
        if now - last < every:
            return None
        last = now
        if not path.exists():
            return None
        return path.read_text(encoding="utf-8").strip() or "kill requested"

    return requested


async def _drive(
    assembled: Assembled,
    resume: LedgerState | None,
    kill_reason: str | None,
    service: AttachedService | None = None,
) -> bool:
    engine = assembled.engine
    await engine.start(resume)
    if service is not None:
        service.running()
    interrupted = False
    reason = "completed"
    try:
        if kill_reason is not None:
            await engine.kill(kill_reason)
        await engine.run(assembled.start, assembled.end)
    except asyncio.CancelledError:
        interrupted = True
        reason = "interrupted"
    except Exception as exc:
        reason = f"failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        if service is not None:
            service.stopped()
        await engine.close(reason)
    return interrupted


def _service(serve: str | None, host: Host) -> AttachedService | None:
    """The API for ``--serve HOST:PORT``, made before the engine so its metrics exist."""
    if serve is None:
        return None
    from crypto_bot_core.app.attach import AttachedService, parse_address

    return AttachedService(parse_address(serve), host)


def _assemble_run(
    loaded: LoadedConfig,
    host: Host,
    *,
    run_id: str,
    run_dir: Path,
    on_progress: Callable[[datetime], None] | None,
    service: AttachedService | None,
    ledger: Any = None,
    ledger_factory: Callable[[str], Any] | None = None,
) -> Assembled:
    """The session's engine built whole, with what a run (not a replay or a test) adds.

    Paper and live runs save their venues' state and poll the run folder's kill file,
    so ``--resume`` and ``cryptobot kill`` work; a served run times its ledger, reports
    to the service's metrics and yields between ticks so the API can reach it.
    """
    durable = loaded.config.mode in (Mode.PAPER, Mode.LIVE)
    return assemble(
        loaded,
        host,
        ledger=ledger,
        ledger_factory=ledger_factory,
        run_id=run_id,
        run_dir=run_dir,
        on_progress=on_progress,
        save_venue_state=durable,
        kill_requested=kill_file_poller(run_dir) if durable else None,
        metrics=service.metrics if service is not None else None,
        wrap_ledger=service.timed_ledger if service is not None else None,
        yield_every_tick=service is not None,
    )


def _execute(
    assembled: Assembled,
    *,
    resume: LedgerState | None = None,
    kill_reason: str | None = None,
    service: AttachedService | None = None,
) -> RunResult:
    engine = assembled.engine
    if service is not None:
        service.attach(
            engine, assembled.ledger_url, loop_budget_s=assembled.resolved.config.budgets.loop
        )
    pid_file = assembled.run_dir / PID_FILE
    pid_file.write_text(str(os.getpid()), encoding="utf-8")
    interrupted = False
    try:
        interrupted = asyncio.run(_drive(assembled, resume, kill_reason, service))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if service is not None:
            service.shutdown()
        pid_file.unlink(missing_ok=True)
        close = getattr(engine.ledger, "close", None)
        if callable(close):
            close()
    summary = engine.summary()
    write_run_folder(assembled.run_dir, summary, engine.trades, engine.equity_curve)
    return RunResult(
        engine.run_id,
        assembled.run_dir,
        assembled.ledger_url,
        summary,
        interrupted,
        engine.reconciliation,
        engine.stats,
    )


def run_session(
    loaded: LoadedConfig,
    *,
    host: Host | None = None,
    run_id: str | None = None,
    on_progress: Callable[[datetime], None] | None = None,
    ledger_factory: Callable[[str], Any] = _open_ledger,
    serve: str | None = None,
) -> RunResult:
    """Run the configured session to its end (or Ctrl-C) and write its run folder.

    With ``serve`` (``HOST:PORT``) the HTTP API runs beside the engine for the run:
    health and readiness probes, metrics, status and the kill switch.
    """
    host = host or Host().load()
    service = _service(serve, host)
    # The run folder is known before assembly: the kill file poller is an engine option.
    run_id = run_id or new_run_id(loaded.config.mode)
    assembled = _assemble_run(
        loaded,
        host,
        run_id=run_id,
        run_dir=default_run_dir(loaded.config, run_id),
        on_progress=on_progress,
        service=service,
        ledger_factory=ledger_factory,
    )
    write_atomically(
        assembled.run_dir / CONFIG_FILE,
        json.dumps(loaded.config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
    )
    return _execute(assembled, service=service)


def find_run(run: str | Path, runs_root: Path = Path("runs")) -> Path:
    """A run folder by path, or by run id under ``runs_root``."""
    for candidate in (Path(run), runs_root / str(run)):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no run folder {str(run)!r} (looked for {Path(run) / CONFIG_FILE} and "
        f"{runs_root / str(run) / CONFIG_FILE}); pass the run folder's path"
    )


def resume_session(
    run_dir: Path,
    *,
    host: Host | None = None,
    on_progress: Callable[[datetime], None] | None = None,
    kill_reason: str | None = None,
    ledger_factory: Callable[[str], Any] = _open_ledger,
    serve: str | None = None,
) -> RunResult:
    """Continue the run in ``run_dir`` from its ledger and venue state.

    With ``kill_reason`` the run is not continued but settled: open orders are
    cancelled and positions flattened (the kill switch), then it stops.
    """
    text = (run_dir / CONFIG_FILE).read_text(encoding="utf-8")
    # The run continues exactly as configured: no environment overrides this time.
    loaded = parse_config(text, source=str(run_dir / CONFIG_FILE), environ={})
    # The ledger is read first: the engine is built with the run id it recorded.
    ledger = ledger_factory(ledger_url_for(loaded.config, run_dir))
    try:
        state = rebuild(ledger.records())
        if state.run_id is None:
            raise ConfigError(f"the ledger of {run_dir} holds no start record; nothing to resume")
        host = host or Host().load()
        service = _service(serve, host)
        assembled = _assemble_run(
            loaded,
            host,
            run_id=state.run_id,
            run_dir=run_dir,
            on_progress=on_progress,
            service=service,
            ledger=ledger,
        )
    except BaseException:
        close = getattr(ledger, "close", None)
        if callable(close):
            close()
        raise
    return _execute(assembled, resume=state, kill_reason=kill_reason, service=service)


def request_kill(run_dir: Path, reason: str) -> bool:
    """Ask a running session to trip its kill switch; False if no process runs it."""
    pid_file = run_dir / PID_FILE
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text(encoding="utf-8"))
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    write_atomically(run_dir / KILL_FILE, reason + "\n")
    return True
