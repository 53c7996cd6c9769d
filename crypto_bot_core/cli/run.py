"""``cryptobot run`` and ``cryptobot backtest``: the main job.

Only typer and the standard library load at import; the engine, the plugins
and the ledger load inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.app.runner import RunResult


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
    from crypto_bot_sdk import CryptoBotError

    bar, callback = _progress() if progress else (None, None)
    if bar is not None:
        bar.start()
    try:
        result = action(callback)
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except CryptoBotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        if bar is not None:
            bar.stop()
    if result.reconciliation is not None:
        rec = result.reconciliation.to_payload()
        typer.echo(
            "reconciled with the venues: "
            + ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in rec.items())
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
    from crypto_bot_core.app.runner import find_run, resume_session, run_session
    from crypto_bot_core.config import ConfigFileError, default_config, load_config
    from crypto_bot_sdk import ConfigError

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
        _execute(lambda cb: resume_session(folder, on_progress=cb, serve=serve), progress=progress)
        return
    try:
        loaded = load_config(config) if config is not None else default_config()
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _execute(
        lambda cb: run_session(loaded, run_id=run_id, on_progress=cb, serve=serve),
        progress=progress,
    )


def kill(
    run: Annotated[str, typer.Argument(help="The run folder, or its id under runs/.")],
    reason: Annotated[str, typer.Option(help="Why; recorded in the ledger.")] = "operator kill",
) -> None:
    """The kill switch: cancel open orders, flatten every position, write a final record.

    A running session is asked to do it at its next tick; a stopped or crashed
    one is settled here (reconciled with its venues first).
    """
    from crypto_bot_core.app.runner import find_run, request_kill, resume_session
    from crypto_bot_sdk import ConfigError

    try:
        folder = find_run(run)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if request_kill(folder, reason):
        typer.echo(f"kill requested; the running session in {folder} stops at its next tick")
        return
    _execute(lambda cb: resume_session(folder, on_progress=cb, kill_reason=reason), progress=False)


def backtest(
    *,
    data: Annotated[
        list[Path],
        typer.Option("--data", help="OHLCV file (CSV or Parquet, ccxt columns); repeatable."),
    ],
    symbol: Annotated[str, typer.Option(help="ccxt unified symbol the files hold.")] = "BTC/USDT",
    venue: Annotated[str, typer.Option(help="Venue name the data and the paper venue use.")] = (
        "backtest"
    ),
    timeframe: Annotated[str, typer.Option(help="Bar interval of the files.")] = "1m",
    start: Annotated[datetime | None, typer.Option("--from", help="First bar time (UTC).")] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", help="Stop before this time (UTC).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Take agents, policies, sizing and risk rules from this file."
        ),
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    quantity: Annotated[
        str | None,
        typer.Option(
            "--quantity",
            help="Trade a fixed size in base units (e.g. 1 for one BTC) instead of the config's "
            "notional: trades then compare unit for unit with other backtesters.",
        ),
    ] = None,
    fill_at: Annotated[
        str | None,
        typer.Option(
            "--fill-at",
            help="When the paper venue fills a market order: signal_close (the close of the "
            "bar that decided it) or next_open.",
        ),
    ] = None,
) -> None:
    """Backtest on recorded OHLCV files through the same engine, on a paper venue."""
    import json

    from crypto_bot_core.app.runner import run_session
    from crypto_bot_core.config import ConfigFileError, default_config, load_config, parse_config

    try:
        base = load_config(config) if config is not None else default_config()
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    document = base.config.model_dump(mode="json", exclude_none=True)
    document["mode"] = "backtest"
    run = document.setdefault("run", {})
    for key, value in (("start", start), ("end", end)):
        if value is not None:
            run[key] = value.replace(tzinfo=value.tzinfo or UTC).isoformat()
    run.pop("duration", None)
    document["data_sources"] = [
        {
            "name": "replay",
            "plugin": "replay",
            "config": {
                "files": [
                    {"path": str(p), "symbol": symbol, "venue": venue, "timeframe": timeframe}
                    for p in data
                ]
            },
        }
    ]
    exchanges = document.get("exchanges") or [{}]
    paper = dict(exchanges[0]) if exchanges[0].get("plugin") == "paper-exchange" else {}
    paper_config = dict(paper.get("config", {}))
    paper_config.update({"venue": venue, "data_venue": venue})
    if fill_at is not None:
        paper_config["fill_at"] = fill_at
    if quantity is not None:
        document.setdefault("sizing", {})["quantity_per_symbol"] = quantity
    document["exchanges"] = [{"name": venue, "plugin": "paper-exchange", "config": paper_config}]
    policies = document.get("policies", {})
    policies.pop("symbol_policies", None)
    try:
        loaded = parse_config(json.dumps(document), source="backtest", environ={})
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _execute(lambda cb: run_session(loaded, run_id=run_id, on_progress=cb), progress=progress)
