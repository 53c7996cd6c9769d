"""``cryptobot risk``: portfolio VaR, stress scenarios and the shipped scenario set.

What is measured is a portfolio: ``--portfolio FILE`` (YAML/JSON positions,
see ``docs/risk.md``) and/or ``--run RUN_DIR`` (the book at the end of a run,
rebuilt from the fills in its ledger). Returns for VaR come from the data
sources of ``--data-config FILE`` (any config: the replay source reads
recorded files), else from the run's own ``config.json``, else from the
synthetic-market plugin (seeded daily bars of the portfolio's symbols).

Only typer and the standard library load at import; numpy, scipy, the
engine and the ledger load inside the commands. Exit codes: 0 fine, 1 the
figures cannot be computed (too little data...), 2 a bad file or option.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from crypto_bot_core.app.market_data import StaticMarket
    from crypto_bot_sdk import Bar, PortfolioSnapshot

app = typer.Typer(
    name="risk",
    help="Portfolio VaR/ES, stress scenarios and the shipped scenario set.",
    no_args_is_help=True,
)

PortfolioOption = Annotated[
    Path | None,
    typer.Option("--portfolio", "-p", help="YAML or JSON file of positions (docs/risk.md)."),
]
RunOption = Annotated[
    Path | None, typer.Option("--run", help="A run folder (runs/<id>): its book at the end.")
]
DataOption = Annotated[
    Path | None,
    typer.Option("--data-config", help="Config whose data_sources give the returns."),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the paths and synthetic data.")]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    from pydantic import ValidationError

    from crypto_bot_sdk import ConfigError, CryptoBotError

    try:
        yield
    except ConfigError as exc:
        raise _fail(str(exc), 2) from exc
    except ValidationError as exc:
        raise _fail(str(exc), 2) from exc
    except CryptoBotError as exc:
        raise _fail(str(exc), 1) from exc


def _check_format(fmt: str) -> str:
    from crypto_bot_core.app.risk_report import FORMATS

    if fmt not in FORMATS:
        raise _fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}", 2)
    return fmt


@dataclass
class _Book:
    portfolio: PortfolioSnapshot
    market: StaticMarket
    source: str


def _merge(first: PortfolioSnapshot | None, second: PortfolioSnapshot) -> PortfolioSnapshot:
    if first is None:
        return second
    return first.model_copy(
        update={
            "positions": (*first.positions, *second.positions),
            "balances": (*first.balances, *second.balances),
            "equity": first.equity + second.equity,
            "ts": max(first.ts, second.ts),
        }
    )


def _bars(
    symbols: list[str], prices: dict[str, Any], data: Path | None, run_config: Any, seed: int
) -> tuple[list[Bar], str]:
    from crypto_bot_core.app.market_data import bars_from_config, synthetic_bars
    from crypto_bot_core.config import load_config, parse_config
    from crypto_bot_core.host import Host

    host = Host().load()
    if data is not None:
        return bars_from_config(load_config(data), host, symbols), f"data sources of {data}"
    if run_config is not None:
        import json

        loaded = parse_config(json.dumps(run_config), source="run config.json")
        return bars_from_config(loaded, host, symbols), "the run's data sources"
    bars = synthetic_bars(host, symbols, prices, seed=seed)
    return bars, f"synthetic market (seed {seed}, {len(bars) // max(len(symbols), 1)} daily bars)"


def _book(
    portfolio_file: Path | None,
    run: Path | None,
    data: Path | None,
    seed: int,
    *,
    need_returns: bool,
) -> _Book:
    from crypto_bot_core.app.market_data import StaticMarket
    from crypto_bot_core.app.portfolio_file import load_portfolio
    from crypto_bot_core.app.run_portfolio import portfolio_from_run, remark

    if portfolio_file is None and run is None:
        raise _fail("say what to measure: --portfolio FILE, --run RUN_DIR or both", 2)
    portfolio: PortfolioSnapshot | None = None
    prices: dict[str, Any] = {}
    books: tuple[Any, ...] = ()
    run_config = None
    if portfolio_file is not None:
        loaded = load_portfolio(portfolio_file)
        portfolio, prices, books = loaded.portfolio, loaded.prices, loaded.books
    if run is not None:
        rebuilt = portfolio_from_run(
            run, currency=portfolio.quote_currency if portfolio else "USDT"
        )
        portfolio, run_config = _merge(portfolio, rebuilt.portfolio), rebuilt.config
    assert portfolio is not None
    symbols = list(dict.fromkeys(p.symbol for p in portfolio.positions if p.quantity != 0))
    marks = {p.symbol: p.mark_price or p.average_entry_price for p in portfolio.positions}
    bars: list[Bar] = []
    source = "none"
    if need_returns and symbols:
        bars, source = _bars(symbols, {**marks, **prices}, data, run_config, seed)
    market = StaticMarket(portfolio.ts, bars=bars, prices=prices, books=books)
    if run is not None and bars:
        portfolio = remark(portfolio, market)
    return _Book(portfolio, market, source)


@app.command("var")
def var_command(
    *,
    portfolio: PortfolioOption = None,
    run: RunOption = None,
    data_config: DataOption = None,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.99,
    horizon: Annotated[str, typer.Option(help="Horizon: 1d, 4h, 1w...")] = "1d",
    paths: Annotated[int, typer.Option(help="Monte-Carlo paths.")] = 10_000,
    seed: SeedOption = 0,
    copula: Annotated[str, typer.Option(help="t or gaussian.")] = "t",
    dof: Annotated[float, typer.Option(help="Degrees of freedom of the t copula.")] = 5.0,
    marginal: Annotated[str, typer.Option(help="t, empirical or normal.")] = "t",
    lookback: Annotated[int, typer.Option(help="Returns (bars) to estimate from.")] = 250,
    fmt: FormatOption = "table",
) -> None:
    """Monte-Carlo (t copula), historical and parametric VaR and ES of a portfolio."""
    fmt = _check_format(fmt)
    with _errors():
        from crypto_bot_core.app.risk_report import render_var
        from crypto_bot_core.risk.exposure import exposures
        from crypto_bot_core.risk.portfolio_var import VarSettings, portfolio_var
        from crypto_bot_core.risk.returns import returns_from_market

        settings = VarSettings.model_validate(
            {
                "confidence": confidence,
                "horizon": horizon,
                "paths": paths,
                "seed": seed,
                "copula": copula,
                "copula_dof": dof,
                "marginal": marginal,
            }
        )
        book = _book(portfolio, run, data_config, seed, need_returns=True)
        held = exposures(book.portfolio, book.market)
        history = returns_from_market(book.market, list(held), lookback=lookback)
        report = portfolio_var(held, history, settings, currency=book.portfolio.quote_currency)
        typer.echo(render_var(report, fmt, source=book.source), nl=False)


@app.command("stress")
def stress_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file, or a shipped scenario's name.")],
    *,
    portfolio: PortfolioOption = None,
    run: RunOption = None,
    data_config: DataOption = None,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="Replay this config's session plain and shocked."),
    ] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Replay the embedded paper-trading session.")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Replay: shock time (ISO 8601); default mid-run.")
    ] = None,
    with_var: Annotated[
        bool, typer.Option("--var/--no-var", help="Also compute VaR and stressed VaR.")
    ] = True,
    seed: SeedOption = 0,
    fmt: FormatOption = "table",
) -> None:
    """Projected P&L of a scenario per position and per venue, or its replay through the engine."""
    fmt = _check_format(fmt)
    with _errors():
        from crypto_bot_core.app.risk_report import render_replay, render_stress
        from crypto_bot_core.risk.scenario_file import load_scenario

        chosen = load_scenario(scenario)
        if replay is not None or sandbox:
            typer.echo(render_replay(_replay(chosen, replay, at), fmt), nl=False)
            return
        from crypto_bot_core.risk.returns import returns_from_market
        from crypto_bot_core.risk.stress import stress

        book = _book(portfolio, run, data_config, seed, need_returns=with_var)
        history = None
        if with_var and book.portfolio.positions:
            symbols = list(dict.fromkeys(p.symbol for p in book.portfolio.positions))
            history = returns_from_market(book.market, symbols, lookback=250)
        result = stress(book.portfolio, chosen, book.market, history=history)
        typer.echo(render_stress(result, fmt), nl=False)


def _replay(chosen: Any, config: Path | None, at: str | None) -> Any:
    from datetime import UTC, datetime

    from crypto_bot_core.app.risk_replay import replay_scenario
    from crypto_bot_core.config import default_config, load_config

    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError as exc:
            raise _fail(f"--at {at!r} is not an ISO 8601 time (2024-01-03T12:00:00Z)", 2) from exc
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    loaded = load_config(config) if config is not None else default_config()
    return replay_scenario(chosen, loaded, at=when)


@app.command("scenarios")
def scenarios_command(fmt: FormatOption = "table") -> None:
    """The scenarios shipped with the core (use their names with `risk stress`)."""
    fmt = _check_format(fmt)
    with _errors():
        from crypto_bot_core.app.risk_report import render_scenarios
        from crypto_bot_core.risk.scenario_file import shipped_scenarios

        typer.echo(render_scenarios(shipped_scenarios(), fmt), nl=False)
