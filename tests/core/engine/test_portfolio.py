from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from crypto_bot_core.engine.portfolio import Portfolio
from crypto_bot_sdk import Fill, Instrument

TS = datetime(2024, 1, 1, tzinfo=UTC)
SPOT = Instrument(symbol="BTC/USDT", venue="a", kind="spot", tick_size="0.1", lot_size="0.001")
PERP = Instrument(
    symbol="BTC/USDT:USDT", venue="a", kind="perpetual", tick_size="0.1", lot_size="0.001"
)


def fill(
    n: int, side: str, qty: str, price: str, *, fee: str = "0", symbol: str = "BTC/USDT"
) -> Fill:
    return Fill(
        fill_id=f"f{n}",
        client_order_id=f"o{n}",
        symbol=symbol,
        venue="a",
        side=side,
        quantity=qty,
        price=price,
        fee=fee,
        ts=TS,
    )


def test_spot_round_trip_realises_pnl_and_pays_fees() -> None:
    p = Portfolio()
    p.open_account("a", D("10000"))
    assert p.apply_fill(fill(1, "buy", "1", "100", fee="0.1"), SPOT) == 0
    assert p.accounts["a"].cash == D("9899.9")
    p.mark("a", "BTC/USDT", D("110"))
    assert p.equity() == D("10009.9")
    realised = p.apply_fill(fill(2, "sell", "0.4", "120", fee="0.048"), SPOT)
    assert realised == D("8.0")
    assert p.position_quantity("a", "BTC/USDT") == D("0.6")
    assert p.accounts["a"].cash == D("9899.9") + D("48") - D("0.048")
    assert p.accounts["a"].fees == D("0.148")


def test_perpetual_flip_realises_closed_part_and_reopens_at_fill_price() -> None:
    p = Portfolio()
    p.open_account("a", D("1000"))
    sym = "BTC/USDT:USDT"
    p.apply_fill(fill(1, "buy", "2", "100", symbol=sym), PERP)
    p.apply_fill(fill(2, "buy", "2", "110", symbol=sym), PERP)
    assert p.books[("a", sym)].entry == D("105")
    realised = p.apply_fill(fill(3, "sell", "5", "120", symbol=sym), PERP)
    assert realised == D("60")  # 4 closed at +15
    book = p.books[("a", sym)]
    assert book.quantity == D("-1")
    assert book.entry == D("120")
    assert p.accounts["a"].cash == D("1060")  # perps move cash only by realised P&L
    p.mark("a", sym, D("125"))
    assert p.equity() == D("1055")


def test_funding_charges_longs_and_pays_shorts() -> None:
    p = Portfolio()
    p.open_account("a", D("1000"))
    sym = "BTC/USDT:USDT"
    p.apply_fill(fill(1, "buy", "2", "100", symbol=sym), PERP)
    assert p.apply_funding("a", sym, D("0.0001"), D("100")) == D("0.0200")
    assert p.accounts["a"].cash == D("999.98")
    p.apply_fill(fill(2, "sell", "4", "100", symbol=sym), PERP)
    assert p.apply_funding("a", sym, D("0.0001"), D("100")) == D("-0.0200")


def test_fill_on_unknown_venue_is_refused() -> None:
    p = Portfolio()
    with pytest.raises(KeyError, match="venue 'a'"):
        p.apply_fill(fill(1, "buy", "1", "100"), SPOT)


def test_snapshot_reports_positions_and_drawdown() -> None:
    p = Portfolio()
    p.open_account("a", D("10000"))
    p.apply_fill(fill(1, "buy", "1", "100"), SPOT)
    p.mark("a", "BTC/USDT", D("150"))
    p.update_peak()
    p.mark("a", "BTC/USDT", D("50"))
    snap = p.snapshot(TS)
    assert snap.equity == D("9950")
    assert snap.peak_equity == D("10050")
    assert snap.drawdown == D("100") / D("10050")
    assert snap.net_quantity("BTC/USDT") == D("1")
