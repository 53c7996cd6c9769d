"""Portfolio files for ``cryptobot risk``: positions, and optionally cash, books and prices.

YAML or JSON::

    quote_currency: USDT              # optional (USDT)
    ts: 2024-06-01T00:00:00Z          # optional: when the book was taken (default: now)
    equity: "100000"                  # optional: default cash + spot value + perp unrealised
    balances:
      - {asset: USDT, venue: binance, free: "50000"}
    positions:
      - {symbol: BTC/USDT, venue: binance, quantity: "0.5", average_entry_price: "58000",
         mark_price: "60000"}
      - {symbol: ETH/USDT:USDT, venue: okx, quantity: "-3", average_entry_price: "3100"}
    prices: {ETH/BTC: "0.05"}         # optional last prices (currency rates, marks)
    books:                            # optional order books, [price, amount] best first
      - {symbol: BTC/USDT, venue: binance, bids: [["59990", "2"]], asks: [["60010", "2"]]}

Money is best written as strings; a number is read through its shortest
decimal form (``0.1`` is one tenth, not the float's binary value). Positions
and balances are the SDK's own models, so a file is checked exactly as the
engine's snapshots are. Every error names the key and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crypto_bot_core.support.yaml_errors import ConfigFileError, ConfigProblem, format_key
from crypto_bot_core.support.yaml_source import parse_yaml
from crypto_bot_sdk import (
    Balance,
    BookLevel,
    Money,
    OrderBook,
    PortfolioSnapshot,
    Position,
    PositiveMoney,
    UtcDatetime,
)


class BookSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    venue: str = Field(min_length=1)
    bids: tuple[tuple[PositiveMoney, PositiveMoney], ...] = ()
    asks: tuple[tuple[PositiveMoney, PositiveMoney], ...] = ()


class PortfolioFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quote_currency: str = "USDT"
    ts: UtcDatetime | None = None
    equity: Money | None = None
    balances: tuple[Balance, ...] = ()
    positions: tuple[Position, ...] = ()
    prices: dict[str, PositiveMoney] = Field(default_factory=dict)
    books: tuple[BookSpec, ...] = ()


@dataclass(frozen=True)
class LoadedPortfolio:
    portfolio: PortfolioSnapshot
    prices: dict[str, Decimal]
    books: tuple[OrderBook, ...]


def _book(spec: BookSpec, ts: datetime) -> OrderBook:
    return OrderBook(
        symbol=spec.symbol,
        venue=spec.venue,
        ts=ts,
        bids=tuple(BookLevel(price=p, amount=a) for p, a in spec.bids),
        asks=tuple(BookLevel(price=p, amount=a) for p, a in spec.asks),
    )


def parse_portfolio(text: str, *, source: str = "<portfolio>") -> LoadedPortfolio:
    """The portfolio in ``text`` (YAML or JSON); errors list each key with its line."""
    from crypto_bot_core.risk.stress import venue_equity

    doc = parse_yaml(text, source=source)
    try:
        spec = PortfolioFile.model_validate(doc.data)
        ts = spec.ts or datetime.now(UTC)
        books = tuple(_book(b, ts) for b in spec.books)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc: tuple[str | int, ...] = tuple(error["loc"])
            position = doc.position_of(loc)
            problems.append(
                ConfigProblem(
                    key=format_key(loc),
                    message=str(error["msg"]).removeprefix("Value error, "),
                    line=position.line if position else None,
                    column=position.column if position else None,
                )
            )
        raise ConfigFileError(source, problems) from exc
    snapshot = PortfolioSnapshot(
        ts=ts,
        quote_currency=spec.quote_currency,
        balances=spec.balances,
        positions=spec.positions,
        equity=spec.equity if spec.equity is not None else Decimal(0),
    )
    if spec.equity is None:
        from crypto_bot_core.app.market_data import StaticMarket

        market = StaticMarket(ts, prices=spec.prices, books=books)
        total = sum(venue_equity(snapshot, market).values(), Decimal(0))
        snapshot = snapshot.model_copy(update={"equity": total})
    return LoadedPortfolio(snapshot, dict(spec.prices), books)


def load_portfolio(path: str | Path) -> LoadedPortfolio:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(
            str(path), [ConfigProblem(key="<file>", message=f"cannot read the file: {exc}")]
        ) from exc
    return parse_portfolio(text, source=str(path))
