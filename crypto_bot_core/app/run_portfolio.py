"""A run's final book rebuilt from its ledger: what ``cryptobot risk --run RUN_DIR`` stresses.

The run's own fills - in ``runs/<id>/ledger.sqlite``, or in the ledger its
config names, which other runs may share: only the records of the run the
folder names are read (:mod:`.run_scope`) - are booked again, in ledger
order, by the engine's own :class:`~crypto_bot_core.engine.portfolio.Portfolio`
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crypto_bot_core.app.run_scope import RUN_FILE, run_id_of
from crypto_bot_core.engine.reconcile import run_ids, run_records
from crypto_bot_core.engine.resume import client_id_prefix
from crypto_bot_sdk import (
    Fill,
    Instrument,
    InstrumentKind,
    LedgerRecord,
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


def _ledger_url(folder: Path, config: dict[str, Any] | None) -> str:
    """The ledger the run wrote: its config's ``ledger.url`` (which other runs may share),
    else the run folder's own SQLite file."""
    ledger = (config or {}).get("ledger")
    configured = ledger.get("url") if isinstance(ledger, dict) else None
    if isinstance(configured, str) and configured:
        return configured
    path = folder / "ledger.sqlite"
    if not path.is_file():
        raise RiskError(f"{folder} has no ledger.sqlite; pass the folder of a run (runs/<id>)")
    return f"sqlite:///{path.as_posix()}"


def _own_records(ledger: Any, folder: Path, url: str, shared: bool) -> Iterator[LedgerRecord]:
    """The records of the run ``folder`` holds, among those of every run in the ledger.

    The run is named by the folder (``run.json``, else its name: see
    :mod:`.run_scope`), never guessed from the ledger; records are told apart by
    the run's id or its client order id prefix. Only the folder's own SQLite
    ledger holding a single run may stand for a renamed folder.
    """
    run_id = run_id_of(folder)
    started = run_ids(ledger.records(types=[RecordType.SYSTEM_START]))
    if run_id not in started and started:
        if shared or len(started) > 1:
            named = ", ".join(repr(r) for r in started[:5])
            named += " and more" if len(started) > 5 else ""
            raise RiskError(
                f"the ledger {url} holds no start record of run {run_id!r} (the id of {folder}); "
                f"it holds {named}. Check {folder / RUN_FILE} and the config's ledger.url"
            )
        run_id = started[0]
    only = all(r == run_id for r in started)
    return run_records(ledger.records(), run_id, client_id_prefix(run_id), only_run=only)


def portfolio_from_run(run_dir: str | Path, *, currency: str = "USDT") -> RunBook:
    """The book at the end of the run in ``run_dir``, rebuilt from its own ledger records."""
    from crypto_bot_core.engine.portfolio import Portfolio
    from crypto_bot_core.ledger import open_ledger

    folder = Path(run_dir)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    url = _ledger_url(folder, config)
    shared = url != f"sqlite:///{(folder / 'ledger.sqlite').as_posix()}"
    book = Portfolio(quote_currency=currency)
    last_ts: datetime | None = None
    equity: Decimal | None = None
    count = 0
    starting = _starting_cash(config, currency)
    opened = first_start = False
    with open_ledger(url) as ledger:
        for record in _own_records(ledger, folder, url, shared):
            if record.type is RecordType.SYSTEM_START:
                # The run's own (first) start record says what each venue started with (a
                # paper venue without configured balances was funded by the engine); the
                # config is the fallback of a ledger without one.
                if not first_start:
                    first_start = True
                    recorded = record.payload.get("initial_cash") or {}
                    starting.update({str(v): Decimal(str(c)) for v, c in recorded.items()})
                continue
            if record.type not in (RecordType.FILL, RecordType.SYSTEM_STOP):
                continue
            if not opened:
                for venue, cash in starting.items():
                    book.open_account(venue, cash)
                opened = True
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
