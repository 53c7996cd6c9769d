"""Running a session end to end: config -> plugins -> engine -> run folder.

This is what ``cryptobot run``, ``run --resume`` and ``cryptobot kill`` call.
The run folder holds everything needed to audit and to continue the session:
the ledger, the config it ran with (``config.json``), the saved state of its
simulated venues (``venues/``), a trades CSV, a summary JSON and an
equity-curve PNG. Ctrl-C stops between ticks and closes the ledger with a stop
record, so an interrupted run is as consistent as a finished one; a crashed
one is continued with ``--resume``.
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

from crypto_bot_core.app.assembly import Assembled, assemble
from crypto_bot_core.app.run_folder import write_run_folder
from crypto_bot_core.config import LoadedConfig, Mode, parse_config
from crypto_bot_core.engine.durability import VenueStateStore, write_atomically
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
    if resume is not None and resume.killed:
        engine.killed = True  # a killed run never trades again; it only settles
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


def _execute(
    assembled: Assembled,
    *,
    on_progress: Callable[[datetime], None] | None,
    resume: LedgerState | None = None,
    kill_reason: str | None = None,
    serve: str | None = None,
    host: Host | None = None,
) -> RunResult:
    engine = assembled.engine
    service: AttachedService | None = None
    if serve is not None:
        from crypto_bot_core.app.attach import AttachedService, parse_address

        service = AttachedService(
            engine, parse_address(serve), assembled.ledger_url, host or Host().load()
        )
        service.attach()
    engine.on_progress = on_progress
    durable = engine.mode in (Mode.PAPER.value, Mode.LIVE.value)
    if durable:
        engine.state_store = VenueStateStore(assembled.run_dir / "venues", engine.exchanges)
        engine.kill_requested = kill_file_poller(assembled.run_dir)
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
    assembled = assemble(loaded, host, ledger_factory=ledger_factory, run_id=run_id)
    write_atomically(
        assembled.run_dir / CONFIG_FILE,
        json.dumps(loaded.config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
    )
    return _execute(assembled, on_progress=on_progress, serve=serve, host=host)


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
    host = host or Host().load()
    probe = assemble(
        loaded, host, ledger_factory=ledger_factory, run_id=run_dir.name, run_dir=run_dir
    )
    ledger = probe.engine.ledger
    state = rebuild(ledger.records())  # type: ignore[attr-defined]
    if state.run_id is None:
        raise ConfigError(f"the ledger of {run_dir} holds no start record; nothing to resume")
    probe.engine.run_id = state.run_id
    return _execute(
        probe,
        on_progress=on_progress,
        resume=state,
        kill_reason=kill_reason,
        serve=serve,
        host=host,
    )


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
