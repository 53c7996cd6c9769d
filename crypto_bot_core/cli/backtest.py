"""``cryptobot backtest``: recorded OHLCV files through the same engine, on a paper venue.

Only typer and the standard library load at import; the engine, the plugins
and the replay's readers load inside the command.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from crypto_bot_core.cli.run import _execute


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
