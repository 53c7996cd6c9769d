"""A run's final book rebuilt from its ledger: what ``cryptobot risk --run RUN_DIR`` stresses.

The fills recorded in ``runs/<id>/ledger.sqlite`` are booked again, in
ledger order, by the engine's own :class:`~crypto_bot_core.engine.portfolio.Portfolio`
(the same average-price and realised-P&L accounting the run used). Starting
cash per venue comes from the ``balances`` of the run's ``config.json``
exchanges (the paper exchange's setting; 0 where absent), and the equity
from the run's ``system.stop`` record when it has one. Positions are marked
at their last fill until :func:`remark` moves them to the market's last
prices. The run's config is returned too: its data sources are the market
the run traded, which is where the returns for VaR come from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crypto_bot_sdk import (
    Fill,
    Instrument,
    InstrumentKind,
    MarketView,
    PortfolioSnapshot,
    RecordType,
    RiskError,
    parse_symbol,
)

_STEP = Decimal("0.00000001")


@dataclass(frozen=True)
class RunBook:
    portfolio: PortfolioSnapshot
    config: dict[str, Any] | None
    fills: int


def _instrument(fill: Fill) -> Instrument:
    perpetual = parse_symbol(fill.symbol)[2] is not None
    return Instrument(
        symbol=fill.symbol,
        venue=fill.venue,
        kind=InstrumentKind.PERPETUAL if perpetual else InstrumentKind.SPOT,
        tick_size=_STEP,
        lot_size=_STEP,
    )


def _starting_cash(config: dict[str, Any] | None, currency: str) -> dict[str, Decimal]:
    cash: dict[str, Decimal] = {}
    for exchange in (config or {}).get("exchanges", []):
        settings = exchange.get("config") or {}
        venue = settings.get("venue") or exchange.get("name")
        amount = (settings.get("balances") or {}).get(currency)
        if venue and amount is not None:
            cash[str(venue)] = Decimal(str(amount))
    return cash


def portfolio_from_run(run_dir: str | Path, *, currency: str = "USDT") -> RunBook:
    """The book at the end of the run in ``run_dir``, rebuilt from its ledger's fills."""
    from crypto_bot_core.engine.portfolio import Portfolio
    from crypto_bot_core.ledger import open_ledger

    folder = Path(run_dir)
    ledger_path = folder / "ledger.sqlite"
    if not ledger_path.is_file():
        raise RiskError(f"{folder} has no ledger.sqlite; pass the folder of a run (runs/<id>)")
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    book = Portfolio(quote_currency=currency)
    last_ts: datetime | None = None
    equity: Decimal | None = None
    count = 0
    with open_ledger(f"sqlite:///{ledger_path.as_posix()}") as ledger:
        # The run's own start record says what each venue started with (a paper venue
        # without configured balances was funded by the engine); the config is the
        # fallback of a ledger without one.
        starting = _starting_cash(config, currency)
        for start in ledger.records(types=[RecordType.SYSTEM_START]):
            recorded = start.payload.get("initial_cash") or {}
            starting.update({str(v): Decimal(str(c)) for v, c in recorded.items()})
            break
        for venue, cash in starting.items():
            book.open_account(venue, cash)
        for record in ledger.records(types=[RecordType.FILL, RecordType.SYSTEM_STOP]):
            last_ts = record.ts
            if record.type is RecordType.SYSTEM_STOP:
                if "equity" in record.payload:
                    equity = Decimal(str(record.payload["equity"]))
                continue
            fields = {k: v for k, v in record.payload.items() if k in Fill.model_fields}
            fill = Fill.model_validate(fields)
            if fill.venue not in book.accounts:
                book.open_account(fill.venue, Decimal(0))
            book.apply_fill(fill, _instrument(fill))
            count += 1
    if last_ts is None:
        raise RiskError(f"the ledger of {folder} holds no fills and no stop record")
    snapshot = book.snapshot(last_ts)
    if equity is not None:
        snapshot = snapshot.model_copy(update={"equity": equity})
    return RunBook(snapshot, config, count)


def remark(portfolio: PortfolioSnapshot, market: MarketView) -> PortfolioSnapshot:
    """Positions marked at the market's last price of their symbol (where it has one)."""
    positions = []
    for position in portfolio.positions:
        price = market.last_price(position.symbol)
        positions.append(
            position.model_copy(update={"mark_price": price}) if price is not None else position
        )
    return portfolio.model_copy(update={"positions": tuple(positions)})
