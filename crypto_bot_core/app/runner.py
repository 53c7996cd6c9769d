"""Running a session end to end: config -> plugins -> engine -> run folder.

This is what ``cryptobot run``, ``run --resume`` and ``cryptobot kill`` call.
The run folder holds everything needed to audit and to continue the session:
the ledger, the config it ran with (``config.json``), the saved state of its
simulated venues (``venues/``), a trades CSV, a summary JSON and an
equity-curve PNG. Ctrl-C stops between ticks and closes the ledger with a stop
record, so an interrupted run is as consistent as a finished one; a crashed
one is continued with ``--resume``.

One process at a time drives a run: :class:`~.run_lock.RunLock` holds the run
folder (and, with a PostgreSQL ledger, the run's advisory lock in it) from
before the ledger is opened until the run folder is written, and a run id an
earlier run used is refused for a new run. A resume or a kill first verifies
the ledger, reads only its own run's records (:mod:`.run_scope`), and checks
the saved venue state the ledger relies on; each refusal names what is wrong.

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
from crypto_bot_core.app.kill_run import remember_last_tick, settle_stopped_run
from crypto_bot_core.app.run_folder import write_run_folder
from crypto_bot_core.app.run_lock import RunIdTakenError, RunLock
from crypto_bot_core.app.run_scope import (
    RUN_FILE,
    RunStampedLog,
    check_venue_files,
    run_id_of,
    verify_before_acting,
    write_run_file,
)
from crypto_bot_core.config import LoadedConfig, Mode, parse_config
from crypto_bot_core.engine.durability import write_atomically
from crypto_bot_core.engine.kernel import EngineStats
from crypto_bot_core.engine.kill import conclude_kill, kill_request_text
from crypto_bot_core.engine.reconcile import (
    LedgerState,
    ReconciliationReport,
    rebuild,
    run_ids,
    run_records,
)
from crypto_bot_core.engine.resume import client_id_prefix
from crypto_bot_core.engine.summary import RunSummary
from crypto_bot_core.host import Host
from crypto_bot_sdk import ConfigError, RecordType

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
    kill_left: tuple[str, ...] | None = None
    """After the kill switch: what the venues' own state still showed (empty: flat)."""


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
    decided_by: str | None = None,
) -> bool:
    """Start (reconciling a resumed run), run or kill, and close with the final record.

    A kill of a stopped run (and the resume of a run killed before) never replays the
    run's past: it only settles, after the run's last recorded moment. Any killed run
    is verified by its venues' own state before its final record (see :mod:`.kill_run`).
    """
    engine = assembled.engine
    await engine.start(resume)
    if service is not None:
        service.running()
    interrupted = False
    reason = "completed"
    try:
        if kill_reason is not None or engine.killed:
            await settle_stopped_run(
                engine,
                resume,
                run_dir=assembled.run_dir,
                reason=kill_reason,
                decided_by=decided_by,
                start=assembled.start,
                end=assembled.end,
            )
        else:
            await engine.run(assembled.start, assembled.end)
            remember_last_tick(engine)
        if engine.killed:
            reason = await conclude_kill(engine)
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

    def wrap(raw: Any) -> Any:
        # A resumable run names itself in every record, so a ledger shared by several
        # runs can be read run by run (a backtest is never resumed: its records stay bare).
        wrapped = RunStampedLog(raw, run_id) if durable else raw
        return service.timed_ledger(wrapped) if service is not None else wrapped

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
        wrap_ledger=wrap if durable or service is not None else None,
        yield_every_tick=service is not None,
    )


def _execute(
    assembled: Assembled,
    *,
    resume: LedgerState | None = None,
    kill_reason: str | None = None,
    service: AttachedService | None = None,
    decided_by: str | None = None,
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
        interrupted = asyncio.run(
            _drive(assembled, resume, kill_reason, service, decided_by)
        )
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
        engine.kill_left,
    )


def _close_ledger(ledger: Any) -> None:
    close = getattr(ledger, "close", None)
    if callable(close):
        close()


def _started_runs(ledger: Any) -> list[str]:
    """The run ids with a start record in ``ledger`` (none for a log that cannot be read)."""
    records = getattr(ledger, "records", None)
    if not callable(records):
        return []
    return run_ids(records(types=[RecordType.SYSTEM_START]))


def _refuse_used_run_id(run_dir: Path, run_id: str) -> None:
    """A new run never reuses an id: its folder already holding a run is refused."""
    for name in (CONFIG_FILE, RUN_FILE):
        if (run_dir / name).exists():
            raise RunIdTakenError(
                f"run id {run_id!r} is taken: {run_dir} already holds a run ({name}); continue "
                f"it with `cryptobot run --resume {run_id}`, or start a new run with another "
                "--run-id (or none, for a generated one)"
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
    health and readiness probes, metrics, status and the kill switch. The run
    folder is locked for the whole run; a run id that an earlier run used (in
    this folder or, with a shared ledger, in the ledger) is refused.
    """
    # The run folder is known before assembly: the kill file poller is an engine option.
    run_id = run_id or new_run_id(loaded.config.mode)
    run_dir = default_run_dir(loaded.config, run_id)
    ledger_url = ledger_url_for(loaded.config, run_dir)
    lock = RunLock.acquire(run_dir, run_id, ledger_url)
    started = False
    try:
        _refuse_used_run_id(run_dir, run_id)

        def open_new(url: str) -> Any:
            ledger = ledger_factory(url)
            if run_id in _started_runs(ledger):
                _close_ledger(ledger)
                raise RunIdTakenError(
                    f"run id {run_id!r} is taken: the ledger {url} already holds a run of that "
                    "id (another run folder shares this ledger); start this run with another "
                    f"--run-id, or continue that one with `cryptobot run --resume {run_id}`"
                )
            return ledger

        host = host or Host().load()
        service = _service(serve, host)
        assembled = _assemble_run(
            loaded,
            host,
            run_id=run_id,
            run_dir=run_dir,
            on_progress=on_progress,
            service=service,
            ledger_factory=open_new,
        )
        write_atomically(
            assembled.run_dir / CONFIG_FILE,
            json.dumps(loaded.config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
        )
        write_run_file(assembled.run_dir, run_id, assembled.ledger_url)
        started = True
        return _execute(assembled, service=service)
    finally:
        if started:
            lock.release()
        else:
            lock.abandon()  # refused before it ran: no folder left to look like a used id


def find_run(run: str | Path, runs_root: Path = Path("runs")) -> Path:
    """A run folder by path, or by run id under ``runs_root``."""
    for candidate in (Path(run), runs_root / str(run)):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no run folder {str(run)!r} (looked for {Path(run) / CONFIG_FILE} and "
        f"{runs_root / str(run) / CONFIG_FILE}); pass the run folder's path"
    )


def _run_state(ledger: Any, run_id: str, run_dir: Path, url: str, own_ledger: bool) -> LedgerState:
    """This run's story, read from its own records only (a ledger may hold other runs)."""
    started = _started_runs(ledger)
    if run_id not in started:
        if not started:
            raise ConfigError(f"the ledger of {run_dir} holds no start record; nothing to resume")
        if not (own_ledger and len(started) == 1):
            raise ConfigError(
                f"the ledger {url} holds no start record of run {run_id!r} (the id of {run_dir}); "
                f"it holds {', '.join(repr(r) for r in started[:5])}"
                + (" and more" if len(started) > 5 else "")
                + f". Check {run_dir / RUN_FILE} and the config's ledger.url"
            )
        run_id = started[0]  # the folder's own ledger, from before run.json: a renamed folder
    only = started == [run_id]
    state = rebuild(run_records(ledger.records(), run_id, client_id_prefix(run_id), only_run=only))
    state.run_id = run_id
    return state


def resume_session(
    run_dir: Path,
    *,
    host: Host | None = None,
    on_progress: Callable[[datetime], None] | None = None,
    kill_reason: str | None = None,
    ledger_factory: Callable[[str], Any] = _open_ledger,
    serve: str | None = None,
    decided_by: str | None = None,
) -> RunResult:
    """Continue the run in ``run_dir`` from its ledger and venue state.

    With ``kill_reason`` the run is not continued but settled: open orders are
    cancelled and positions flattened (the kill switch, ordered by the person
    ``decided_by``), flatness is verified at the venues, then it stops; the
    result's ``kill_left`` lists what the venues still show.

    Either way, before anything is sent or recorded: the run is locked against
    any other process, its ledger must verify, only its own records are read,
    and every simulated venue that took its orders must still have its saved
    state; otherwise it is refused (see :mod:`.run_scope`, :mod:`.run_lock`).
    """
    text = (run_dir / CONFIG_FILE).read_text(encoding="utf-8")
    # The run continues exactly as configured: no environment overrides this time.
    loaded = parse_config(text, source=str(run_dir / CONFIG_FILE), environ={})
    url = ledger_url_for(loaded.config, run_dir)
    run_id = run_id_of(run_dir)
    lock = RunLock.acquire(run_dir, run_id, url)
    try:
        # The ledger is read first: the engine is built with the run id it recorded.
        ledger = ledger_factory(url)
        try:
            action = "kill" if kill_reason is not None else "resume"
            verify_before_acting(ledger, run_dir, action)
            state = _run_state(ledger, run_id, run_dir, url, loaded.config.ledger.url is None)
            host = host or Host().load()
            service = _service(serve, host)
            assembled = _assemble_run(
                loaded,
                host,
                run_id=state.run_id or run_id,
                run_dir=run_dir,
                on_progress=on_progress,
                service=service,
                ledger=ledger,
            )
            store = assembled.engine.state_store
            check_venue_files(
                run_dir, state, sorted(store.adapters) if store is not None else [], action
            )
        except BaseException:
            _close_ledger(ledger)
            raise
        return _execute(
            assembled,
            resume=state,
            kill_reason=kill_reason,
            service=service,
            decided_by=decided_by,
        )
    finally:
        lock.release()


def request_kill(run_dir: Path, reason: str, decided_by: str) -> bool:
    """Ask a running session to trip its kill switch on behalf of ``decided_by``; False if
    no process runs it."""
    pid_file = run_dir / PID_FILE
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text(encoding="utf-8"))
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        return False
    write_atomically(run_dir / KILL_FILE, kill_request_text(reason, decided_by))
    return True
