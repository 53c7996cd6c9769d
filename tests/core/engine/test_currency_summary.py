"""The run summary's fees, round trips and win rate are in the portfolio's base currency.

A USD+EUR run once summed each fill's fee in its market's own currency for the
total (142.60 "fees" beside per-venue lines summing to 143.49 USD) and matched
round trips in mixed currencies. Each fill's fee and P&L is now converted at
the rate the portfolio booked it at.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from currency_bars import wave as _wave
from currency_bars import write_bars as _write

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.summary import TradeRow, VenueResult, round_trips, summarise
from crypto_bot_core.host import Host
from crypto_bot_sdk import Fill, Side

T0 = datetime(2024, 1, 1, tzinfo=UTC)
D = Decimal


def _fill(  # noqa: PLR0917 - a fill per line reads like a blotter
    n: int, side: str, price: str, fee: str, symbol: str = "BTC/EUR", quantity: str = "1"
) -> Fill:
    return Fill(
        fill_id=f"f{n}",
        client_order_id=f"o{n}",
        symbol=symbol,
        venue="v",
        side=Side(side),
        quantity=D(quantity),
        price=D(price),
        fee=D(fee),
        fee_currency=symbol.split("/")[1],
        ts=T0 + timedelta(minutes=n),
    )


def test_a_round_trip_in_another_currency_is_valued_at_its_fills_rates() -> None:
    # In EUR: +1.00 gross, 0.90 fees: a win. In USD: the entry fee was paid at 2.0 USD/EUR,
    # the exit at 1.0: 1.00 gross against 1.35 of fees, a loss.
    fills = [_fill(1, "buy", "100", "0.45"), _fill(2, "sell", "101", "0.45")]
    [own] = round_trips(fills)
    assert own.net_pnl == D("0.10")
    [trip] = round_trips(fills, rates={"f1": D(2), "f2": D(1)})
    assert (trip.gross_pnl, trip.fees, trip.net_pnl) == (D("1.00"), D("1.35"), D("-0.35"))


def test_summary_totals_fees_and_win_rate_in_the_base_currency() -> None:
    fills = [
        _fill(1, "buy", "100", "0.45"),
        _fill(2, "sell", "101", "0.45"),
        _fill(3, "buy", "200", "0.1", symbol="BTC/USD"),
        _fill(4, "sell", "201", "0.1", symbol="BTC/USD"),
    ]
    summary = summarise(
        run_id="r",
        mode="backtest",
        curve=[(T0, D(1000)), (T0 + timedelta(minutes=4), D(1000))],
        trades=[TradeRow(f, D(0)) for f in fills],
        venues=[VenueResult("v", D(1000), D(1000), D("1.55"), 4)],
        events=4,
        fill_rates={"f1": D(2), "f2": D(1)},
    )
    assert summary.fees == D("1.55")  # 0.90 + 0.45 USD for the EUR fills, 0.2 USD
    assert summary.round_trips == 2
    assert summary.win_rate == 0.5  # the USD trip wins, the EUR one loses in USD


def _run(tmp_path: Path) -> Engine:
    files = [
        (_write(tmp_path / "btc_usd.csv", _wave(40000, 0.05)), "BTC/USD"),
        (_write(tmp_path / "btc_eur.csv", _wave(37000, 0.06, 1.0)), "BTC/EUR"),
        (_write(tmp_path / "eur_usd.csv", _wave(1.08, 0.05, 2.0)), "EUR/USD"),
    ]
    entries = ", ".join(
        f'{{path: "{path}", symbol: "{symbol}", venue: v, timeframe: 1m}}' for path, symbol in files
    )
    text = f"""
mode: backtest
portfolio: {{base_currency: USD}}
data_sources:
  - {{name: replay, plugin: replay, config: {{files: [{entries}]}}}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: v, plugin: paper-exchange, config: {{venue: v, taker_fee: "0.001",
     balances: {{USD: "60000", EUR: "40000"}}}}}}
policies:
  definitions:
    trend: {{agents: [{{agent: ema}}]}}
  default: trend
sizing: {{mode: discrete, notional_per_symbol: "1000", long_only: true}}
"""
    loaded = parse_config(text, source="<test>", environ={})
    engine = assemble(loaded, Host(environ={}).load(), ledger=MemoryAuditLog(), run_id="s").engine

    async def go() -> None:
        await engine.start()
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


def test_a_usd_and_eur_run_sums_its_fees_in_usd(tmp_path: Path) -> None:
    engine = _run(tmp_path)
    summary = engine.summary()
    eur = [row.fill for row in engine.trades if row.fill.symbol == "BTC/EUR"]
    assert eur
    assert {row.fill.symbol for row in engine.trades} >= {"BTC/USD", "BTC/EUR"}
    # Each EUR fee at the rate it was booked at: the total is the venues' own fee lines.
    assert set(engine.portfolio.fill_rates) == {f.fill_id for f in eur}
    assert all(D("1.02") < rate < D("1.14") for rate in engine.portfolio.fill_rates.values())
    [venue] = summary.venues
    assert summary.fees == venue.fees
    raw = sum((row.fill.fee for row in engine.trades), D(0))
    assert summary.fees > raw  # a EUR is worth more than a USD throughout
    assert summary.to_json()["fees"] == str(venue.fees)
