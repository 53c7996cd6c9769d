"""The run summary as a trader reads it: fills and round trips named apart, win rate net of fees,
and what a run left open or refused."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.cli.app import app
from crypto_bot_core.engine.summary import (
    RunSummary,
    TradeRow,
    VenueResult,
    round_trips,
    summarise,
)
from crypto_bot_sdk import Fill, Side

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _fill(  # noqa: PLR0917 - a fill per line reads like a blotter
    n: int, side: str, quantity: str, price: str, fee: str = "0", venue: str = "v"
) -> Fill:
    return Fill(
        fill_id=f"f{n}",
        client_order_id=f"o{n}",
        symbol="BTC/USDT",
        venue=venue,
        side=Side(side),
        quantity=Decimal(quantity),
        price=Decimal(price),
        fee=Decimal(fee),
        fee_currency="USDT",
        ts=T0 + timedelta(minutes=n),
    )


def _summary(*fills: Fill, venues: tuple[str, ...] = ("v",)) -> RunSummary:
    rows = [TradeRow(f, Decimal(0)) for f in fills]
    return summarise(
        run_id="r",
        mode="backtest",
        curve=[(T0, Decimal(1000)), (T0 + timedelta(minutes=1), Decimal(1000))],
        trades=rows,
        venues=[VenueResult(v, Decimal(1000), Decimal(1000), Decimal(0), 0) for v in venues],
        events=2,
    )


def test_a_gross_win_eaten_by_fees_is_a_losing_round_trip() -> None:
    # +1.00 gross, 1.20 of fees: a loss on any trader's blotter
    summary = _summary(_fill(1, "buy", "1", "100", "0.6"), _fill(2, "sell", "1", "101", "0.6"))
    assert summary.fills == 2
    assert summary.round_trips == 1
    assert summary.win_rate == 0.0
    assert summary.to_json()["fills"] == 2
    assert summary.to_json()["round_trips"] == 1


def test_round_trips_match_the_oldest_lot_first() -> None:
    # Average cost says the first sell broke even (105 vs 105); FIFO closes the 100 lot: a win,
    # then the 110 lot at 108: a loss.
    summary = _summary(
        _fill(1, "buy", "1", "100"),
        _fill(2, "buy", "1", "110"),
        _fill(3, "sell", "1", "105"),
        _fill(4, "sell", "1", "108"),
    )
    assert summary.fills == 4
    assert summary.round_trips == 2
    assert summary.win_rate == 0.5


def test_a_flip_closes_one_side_and_opens_the_other_with_its_share_of_the_fee() -> None:
    trips = round_trips(
        [
            _fill(1, "buy", "1", "100", "1"),
            _fill(2, "sell", "2", "110", "2"),  # closes the long (+10), opens a short of 1
            _fill(3, "buy", "1", "109", "1"),  # closes the short (+1)
        ]
    )
    assert [(t.direction, t.quantity, t.gross_pnl, t.fees) for t in trips] == [
        (1, Decimal(1), Decimal(10), Decimal(2)),
        (-1, Decimal(1), Decimal(1), Decimal(2)),
    ]
    assert [t.net_pnl for t in trips] == [Decimal(8), Decimal(-1)]


def test_round_trips_are_counted_per_venue_and_symbol() -> None:
    # a buy on one venue and a sell on another are two open positions, not a round trip
    summary = _summary(
        _fill(1, "buy", "1", "100", venue="a"),
        _fill(2, "sell", "1", "120", venue="b"),
        _fill(3, "sell", "1", "120", venue="a"),
        venues=("a", "b"),
    )
    assert summary.round_trips == 1
    assert summary.win_rate == 1.0
    assert [(v.venue, v.round_trips) for v in summary.venues] == [("a", 1), ("b", 0)]


def test_round_trips_of_a_run_that_ends_flat_add_up_to_its_pnl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Net of fees, the round trips of a spot run that ends flat are its whole P&L: the
    # FIFO matching agrees with the portfolio's own (average cost) books, to the cent.
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(name)
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    closes += [100.0 + i for i in range(60)] + [159.0 - 2 * i for i in range(60)]
    lines = ["timestamp,open,high,low,close,volume"]
    previous = closes[0]
    for i, close in enumerate(closes):
        low, high = min(previous, close) - 0.5, max(previous, close) + 0.5
        lines.append(f"{1_704_067_200_000 + i * 60_000},{previous},{high},{low},{close},5")
        previous = close
    (tmp_path / "btc.csv").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        app,
        [
            *("backtest", "--data", "btc.csv", "--fill-at", "signal_close"),
            *("--run-id", "flat", "--no-progress"),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs" / "flat"
    summary = json.loads((folder / "summary.json").read_text())
    with (folder / "trades.csv").open() as fh:
        fills = [
            Fill(
                fill_id=row["fill_id"],
                client_order_id=row["client_order_id"],
                symbol=row["symbol"],
                venue=row["venue"],
                side=Side(row["side"]),
                quantity=Decimal(row["quantity"]),
                price=Decimal(row["price"]),
                fee=Decimal(row["fee"]),
                ts=datetime.fromisoformat(row["timestamp"]),
            )
            for row in csv.DictReader(fh)
        ]
    assert summary["open_positions"] == []
    trips = round_trips(fills)
    assert summary["fills"] == len(fills) > 2
    assert summary["round_trips"] == len(trips) >= 2
    net = sum((t.net_pnl for t in trips), Decimal(0))
    assert net.quantize(Decimal("0.01")) == Decimal(summary["pnl"]).quantize(Decimal("0.01"))
    wins = sum(1 for t in trips if t.net_pnl > 0)
    assert summary["win_rate"] == wins / len(trips)
