"""``cryptobot run`` and ``cryptobot backtest``: the main job.

Only typer and the standard library load at import; the engine, the plugins
and the ledger load inside the commands.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.config import LoadedConfig
    from crypto_bot_core.engine.runner import RunResult


def _print_summary(result: RunResult) -> None:
    s = result.summary
    rows = [
        ("run", s.run_id),
        ("mode", s.mode),
        (
            "period",
            f"{s.start:%Y-%m-%d %H:%M} -> {s.end:%Y-%m-%d %H:%M} UTC" if s.start and s.end else "-",
        ),
        ("events", f"{s.events:,}"),
        ("P&L", f"{s.pnl:,.2f}"),
        ("ROI", f"{s.roi:.2%}"),
        ("Sharpe", f"{s.sharpe:.2f}"),
        ("Sortino", f"{s.sortino:.2f}"),
        ("max drawdown", f"{s.max_drawdown:.2%}"),
        ("trades", f"{s.trades:,}"),
        ("fees", f"{s.fees:,.2f}"),
        ("hit rate", f"{s.hit_rate:.1%}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    typer.echo("")
    typer.echo(f"{'venue':<16} {'ROI':>9} {'P&L':>14} {'fees':>12} {'trades':>7}")
    for v in s.venues:
        typer.echo(
            f"{v.venue:<16} {v.roi:>9.2%} {v.final - v.initial:>14,.2f} {v.fees:>12,.2f} "
            f"{v.trades:>7,}"
        )
    typer.echo("")
    state = "interrupted (ledger closed cleanly)" if result.interrupted else "completed"
    typer.echo(f"run {state}; folder: {result.run_dir}")
    typer.echo(f"ledger: {result.ledger_url}  (check it: cryptobot ledger verify --url ...)")


def _execute(loaded: LoadedConfig, *, run_id: str | None, progress: bool) -> None:
    from crypto_bot_core.config import ConfigFileError
    from crypto_bot_core.engine.runner import run_session
    from crypto_bot_sdk import CryptoBotError

    callback: Any = None
    bar: Any = None
    if progress:
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

        bar.start()
    try:
        result = run_session(loaded, run_id=run_id, on_progress=callback)
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except CryptoBotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        if bar is not None:
            bar.stop()
    _print_summary(result)
    if result.interrupted:
        raise typer.Exit(130)


def run(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config; the embedded default when omitted."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of the run folder (default: generated).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a trading session: with no options, paper trading on the embedded defaults."""
    from crypto_bot_core.config import ConfigFileError, default_config, load_config

    try:
        loaded = load_config(config) if config is not None else default_config()
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _execute(loaded, run_id=run_id, progress=progress)
