"""``cryptobot backtest``: recorded OHLCV files through the same engine, on a paper venue.

Only typer and the standard library load at import; the engine, the plugins
and the replay's readers load inside the command. What the files hold is
looked at before the run (:mod:`crypto_bot_core.app.backtest_data`): the
timeframe comes from the files unless given, and missing bars are refused,
skipped or carried forward as ``--gaps`` says, with the gaps reported.

Exit status: 0 completed; 1 an error of the run; 2 options or a config that
cannot be used as given; 5 and 6 as ``run`` (the run is held, its id used);
7 the data refused, before the run (gaps under ``--gaps refuse``, a file with
a header and no rows, a file that cannot be read) or at a row while it is
replayed (file and row named); 130 interrupted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from crypto_bot_core.cli.run import _execute


def backtest(
    *,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="OHLCV file (CSV or Parquet, ccxt columns); repeatable. Left out: the files "
            "of the --config's replay source.",
        ),
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="ccxt unified symbol the files hold [default: BTC/USDT].")
    ] = None,
    venue: Annotated[
        str | None,
        typer.Option(help="Venue name the data and the paper venue use [default: backtest]."),
    ] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            help="Bar interval of the files (1m, 30m, 1h...); left out, the most common spacing "
            "of their timestamps."
        ),
    ] = None,
    gaps: Annotated[
        str | None,
        typer.Option(
            help="Missing bars: refuse (the default, with a report of the gaps), skip (replay "
            "the bars there are) or carry-forward (a flat bar at the last close, volume 0, in "
            "every missing slot)."
        ),
    ] = None,
    start: Annotated[datetime | None, typer.Option("--from", help="First bar time (UTC).")] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", help="Stop before this time (UTC).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Take agents, policies, sizing and risk rules from this file, and its replay "
            "source's settings (gaps, tick sizes...) for the files.",
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

    from crypto_bot_core.app.backtest_data import (
        BacktestDataError,
        Options,
        data_refusal,
        prepare,
    )
    from crypto_bot_core.app.runner import RunResult, run_session
    from crypto_bot_core.config import ConfigFileError, default_config, load_config, parse_config
    from crypto_bot_sdk import CryptoBotError

    try:
        base = load_config(config) if config is not None else default_config()
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    document = base.config.model_dump(mode="json", exclude_none=True)
    options = Options(tuple(data or ()), symbol, venue, timeframe, gaps, config)
    try:
        prepared = prepare(document, options)
    except BacktestDataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    except CryptoBotError as exc:  # a file that cannot be opened or read at all
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(7) from exc
    for note in prepared.notes:
        typer.echo(note)
    document["data_sources"] = [prepared.data_source]
    _on_one_paper_venue(document, prepared.venue, (start, end), fill_at, quantity)
    try:
        loaded = parse_config(json.dumps(document), source="backtest", environ={})
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    def replay(on_progress: Any) -> RunResult:
        try:
            return run_session(loaded, run_id=run_id, on_progress=on_progress)
        except CryptoBotError as exc:
            refused = None if hasattr(exc, "exit_code") else data_refusal(exc)
            if refused is not None:
                raise refused from exc  # a row of the files: its own exit status
            raise

    _execute(replay, progress=progress)


def _on_one_paper_venue(
    document: dict[str, Any],
    venue: str,
    window: tuple[datetime | None, datetime | None],
    fill_at: str | None,
    quantity: str | None,
) -> None:
    """Make ``document`` a backtest over ``window`` on one paper venue named ``venue`` (the
    config's first paper exchange's settings kept), every symbol under the default policy."""
    document["mode"] = "backtest"
    run = document.setdefault("run", {})
    for key, value in zip(("start", "end"), window, strict=True):
        if value is not None:
            run[key] = value.replace(tzinfo=value.tzinfo or UTC).isoformat()
    run.pop("duration", None)
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
