"""``cryptobot run`` and ``cryptobot kill``: the main job (``backtest`` is in ``backtest.py``).

Only typer and the standard library load at import; the engine, the plugins
and the ledger load inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.app.runner import RunResult


def _print_summary(result: RunResult) -> None:
    from crypto_bot_core.cli.summary_output import print_summary

    print_summary(result)


def _progress() -> tuple[Any, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("simulated time {task.fields[now]}"),
        BarColumn(),
        TextColumn("{task.completed:,} ticks"),
        TimeElapsedColumn(),
        transient=True,
    )
    task = bar.add_task("run", total=None, now="-")

    def callback(ts: datetime) -> None:
        bar.update(task, advance=1, now=f"{ts:%Y-%m-%d %H:%M}")

    return bar, callback


def _execute(action: Callable[[Any], RunResult], *, progress: bool) -> RunResult:
    """Run ``action(on_progress)`` with a progress bar, turning our errors into exit codes."""
    from crypto_bot_core.config import ConfigFileError
    from crypto_bot_sdk import ConfigError, CryptoBotError

    bar, callback = _progress() if progress else (None, None)
    if bar is not None:
        bar.start()
    try:
        result = action(callback)
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except CryptoBotError as exc:
        # A refusal carries its own code (3 ledger fails verification, 4 venue state lost,
        # 5 run in use, 6 run id taken); a configuration error found while the run is built
        # (an unconvertible currency, an uncreatable run folder) is 2, like an invalid file;
        # any other error of ours is 1.
        code = getattr(exc, "exit_code", None)
        if not isinstance(code, int):
            code = 2 if isinstance(exc, ConfigError) else 1
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code) from exc
    finally:
        if bar is not None:
            bar.stop()
    if result.reconciliation is not None:
        rec = result.reconciliation.to_payload()
        typer.echo(
            "reconciled with the venues: "
            + ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in rec.items())
        )
        for where, diff in sorted(result.reconciliation.differences.items()):
            typer.echo(
                f"difference at {where}: the ledger says {diff['ledger']}, the venue holds "
                f"{diff['venue']}",
                err=True,
            )
    _print_summary(result)
    if result.interrupted:
        raise typer.Exit(130)
    return result


def run(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config; the embedded default when omitted."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of the run folder (default: generated).")
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Continue a run (its folder, or its id under runs/) after a crash or stop; "
            "its orders are reconciled with the venues first.",
        ),
    ] = None,
    serve: Annotated[
        str | None,
        typer.Option(
            "--serve",
            help="Serve the HTTP API (health, readiness, metrics, status, kill switch) on "
            "HOST:PORT while the session runs; needs the 'service' extra.",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a trading session: with no options, paper trading on the embedded defaults."""
    import signal

    from crypto_bot_core.app.runner import find_run, resume_session, run_session
    from crypto_bot_core.config import ConfigFileError, default_config, load_config
    from crypto_bot_sdk import ConfigError

    # SIGTERM (Kubernetes stopping the pod, `kill PID`) stops the session as Ctrl-C
    # does: the run folder and summary are written, exit 130; resume continues it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    if resume is not None:
        if config is not None or run_id is not None:
            typer.echo(
                "error: --resume continues a run as it was configured; drop --config and --run-id",
                err=True,
            )
            raise typer.Exit(2)
        try:
            folder = find_run(resume)
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        resumed = _execute(
            lambda cb: resume_session(folder, on_progress=cb, serve=serve), progress=progress
        )
        _refuse_unsettled(resumed)
        return
    try:
        loaded = load_config(config) if config is not None else default_config()
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    ran = _execute(
        lambda cb: run_session(loaded, run_id=run_id, on_progress=cb, serve=serve),
        progress=progress,
    )
    _refuse_unsettled(ran)


def kill(
    run: Annotated[str, typer.Argument(help="The run folder, or its id under runs/.")],
    reason: Annotated[str, typer.Option(help="Why; recorded in the ledger.")] = "operator kill",
) -> None:
    """The kill switch: cancel open orders, flatten every position, write a final record.

    A running session is asked to do it at its next tick; a stopped or crashed
    one is settled here: reconciled with its venues first, then cancelled and
    flattened, and checked flat by the venues' own state before the final
    record. Exit 0 when every venue is flat; 9, naming what is left where, when not.
    The kill is recorded as a manual decision of the user running this command.
    """
    from crypto_bot_core.app.runner import find_run, request_kill, resume_session
    from crypto_bot_sdk import ConfigError

    try:
        folder = find_run(run)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    user = _cli_user()
    if request_kill(folder, reason, user):
        typer.echo(f"kill requested; the running session in {folder} stops at its next tick")
        return
    result = _execute(
        lambda cb: resume_session(folder, on_progress=cb, kill_reason=reason, decided_by=user),
        progress=False,
    )
    _refuse_unsettled(result)
    typer.echo(f"killed: every venue of run {result.run_id} is flat by its own state")


def _refuse_unsettled(result: RunResult) -> None:
    """A killed run (by ``cryptobot kill``, the service, a risk rule) that its venues do not
    show flat ends the command with :data:`NOT_FLAT_EXIT`, naming what is left where."""
    if not result.kill_left:
        return
    typer.echo(
        f"error: the kill switch did not leave run {result.run_id} flat; by the venues' "
        "own state this is left (finish it by hand, or run `cryptobot kill` again):",
        err=True,
    )
    for line in result.kill_left:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(NOT_FLAT_EXIT)


NOT_FLAT_EXIT = 9
"""A killed run's venues still show orders or positions of it (``cryptobot kill``, and
``run``/``run --resume`` of a run the kill switch stopped)."""


def _cli_user() -> str:
    """Who runs the command, for the kill record (a manual decision names its person)."""
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}"
