"""Order-notional, position and gross-exposure limits: verdicts with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from crypto_bot_core.builtins.standard_risk import MaxGrossExposure, MaxOrderNotional, MaxPosition
from crypto_bot_sdk import (
    Bar,
    ConfigError,
    InMemoryMarketView,
    Instrument,
    InstrumentKind,
    Order,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    PortfolioSnapshot,
    Position,
    RiskContext,
    Side,
    VerdictAction,
)

TS = datetime(2024, 6, 1, tzinfo=UTC)
BTC = Instrument(
    symbol="BTC/USDT",
    venue="binance",
    kind=InstrumentKind.SPOT,
    tick_size=D("0.01"),
    lot_size=D("0.0001"),
    min_notional=D(5),
)
ETH_BTC = Instrument(
    symbol="ETH/BTC",
    venue="binance",
    kind=InstrumentKind.SPOT,
    tick_size=D("0.00001"),
    lot_size=D("0.001"),
)
PERP = Instrument(
    symbol="BTC/USDT:USDT",
    venue="binance",
    kind=InstrumentKind.PERPETUAL,
    tick_size=D("0.1"),
    lot_size=D(1),
    contract_size=D("0.001"),
)


def _bar(symbol: str, close: str) -> Bar:
    c = D(close)
    return Bar(
        symbol=symbol,
        venue="binance",
        ts=TS - timedelta(minutes=1),
        open=c,
        high=c,
        low=c,
        close=c,
        volume=D(1),
    )


def _context(
    *,
    positions: tuple[Position, ...] = (),
    equity: str = "100000",
    reference: str | None = "60000",
    orders: tuple[Order, ...] = (),
    last: dict[str, str] | None = None,
) -> RiskContext:
    view = InMemoryMarketView([BTC, ETH_BTC, PERP], now=TS)
    for symbol, close in (last or {}).items():
        view.update(_bar(symbol, close))
    return RiskContext(
        ts=TS,
        portfolio=PortfolioSnapshot(ts=TS, equity=D(equity), positions=positions),
        market=view,
        open_orders=orders,
        reference_price=None if reference is None else D(reference),
    )


def _intent(side: str, quantity: str, symbol: str = "BTC/USDT", **extra: object) -> OrderIntent:
    return OrderIntent(
        intent_id=f"{side}-{quantity}",
        symbol=symbol,
        side=Side(side),
        quantity=D(quantity),
        ts=TS,
        **extra,
    )


def _position(symbol: str, quantity: str, mark: str) -> Position:
    return Position(
        symbol=symbol,
        venue="binance",
        quantity=D(quantity),
        average_entry_price=D(mark),
        mark_price=D(mark),
    )


# --- max_order_notional ---------------------------------------------------------------


def test_order_over_the_notional_limit_is_resized_to_the_lot_grid() -> None:
    verdict = MaxOrderNotional.from_config({"limit": "10000"}).check(
        _intent("buy", "0.2"), _context()
    )
    notional = D("0.2") * D("60000")
    allowed = (D("10000") / D("60000")).quantize(D("0.0001"), rounding="ROUND_DOWN")
    assert verdict.action is VerdictAction.RESIZE
    assert verdict.quantity == allowed == D("0.1666")
    assert verdict.reason == (
        "order notional 12,000 USDT exceeds the limit 10,000 USDT; resized to 0.1666 BTC"
    )
    assert verdict.figures == {
        "notional": format(notional, "f"),
        "limit": "10000",
        "price": "60000",
        "price_source": "reference price",
        "resized_quantity": "0.1666",
    }


def test_order_within_the_limit_is_approved_and_valued_at_its_limit_price() -> None:
    rule = MaxOrderNotional.from_config({"limit": "10000"})
    verdict = rule.check(_intent("buy", "0.2", order_type="limit", price=D("40000")), _context())
    assert verdict.action is VerdictAction.APPROVE
    assert verdict.reason == "order notional 8,000 USDT is within the limit 10,000 USDT"
    assert (verdict.figures["notional"], verdict.figures["price_source"]) == (
        "8000.0",
        "limit price",
    )


def test_per_symbol_limit_and_currency_conversion() -> None:
    rule = MaxOrderNotional.from_config({"limit": "1000000", "per_symbol": {"ETH/BTC": "10000"}})
    # 10 ETH at 0.05 BTC = 0.5 BTC = 30,000 USDT at the BTC/USDT last price of 60,000.
    context = _context(reference="0.05", last={"BTC/USDT": "60000"})
    verdict = rule.check(_intent("sell", "10", symbol="ETH/BTC"), context)
    assert verdict.action is VerdictAction.RESIZE
    assert verdict.quantity == D("3.333")  # 10,000 / (0.05 * 60,000), down to the 0.001 lot
    assert verdict.figures["notional"] == format(D(10) * D("0.05") * D(60000), "f")
    assert verdict.reason.endswith("resized to 3.333 ETH")


def test_a_quote_currency_without_a_rate_is_rejected() -> None:
    verdict = MaxOrderNotional.from_config({"limit": "1000"}).check(
        _intent("buy", "1", symbol="ETH/BTC"), _context(reference="0.05")
    )
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "cannot check the order's value: cannot convert BTC into the portfolio currency USDT: "
        "the market view has no price for BTC/USDT or USDT/BTC"
    )


def test_perpetual_notional_counts_the_contract_size() -> None:
    # 500 contracts of 0.001 BTC at 60,000 = 30,000 USDT; 10,000 allows 166 contracts.
    verdict = MaxOrderNotional.from_config({"limit": "10000"}).check(
        _intent("buy", "500", symbol="BTC/USDT:USDT"), _context()
    )
    assert verdict.quantity == D(166)
    assert verdict.figures["notional"] == format(D(500) * D("60000") * D("0.001"), "f")


def test_a_limit_below_the_venue_minimum_rejects_instead_of_resizing() -> None:
    verdict = MaxOrderNotional.from_config({"limit": "3"}).check(_intent("buy", "1"), _context())
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "order notional 60,000 USDT exceeds the limit 3 USDT; the largest size within it "
        "(0 BTC) is below the venue's lot or minimum order value"
    )


def test_no_price_at_all_is_rejected_with_what_is_missing() -> None:
    verdict = MaxOrderNotional.from_config({"limit": "1000"}).check(
        _intent("buy", "1"), _context(reference=None)
    )
    assert verdict.action is VerdictAction.REJECT
    assert "no price to value BTC/USDT" in verdict.reason


# --- max_position ---------------------------------------------------------------------


def _open_buy(quantity: str, filled: str = "0") -> Order:
    request = OrderRequest(
        client_order_id="c-1",
        venue="binance",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=D(quantity),
        order_type="limit",
        price=D("59000"),
    )
    status = OrderStatus.ACKNOWLEDGED if filled == "0" else OrderStatus.PARTIALLY_FILLED
    return Order(
        request=request,
        status=status,
        filled_quantity=D(filled),
        average_fill_price=D("59000") if filled != "0" else None,
        created_at=TS,
        updated_at=TS,
    )


def test_position_limit_counts_pending_orders_and_resizes() -> None:
    rule = MaxPosition.from_config({"max_quantity": {"BTC/USDT": "1"}})
    context = _context(
        positions=(_position("BTC/USDT", "0.8", "60000"),), orders=(_open_buy("0.3", filled="0.2"),)
    )
    verdict = rule.check(_intent("buy", "0.5"), context)
    # Worst case: 0.8 held + 0.1 still to fill + 0.5 = 1.4 > 1; room left 1 - 0.9 = 0.1.
    assert verdict.action is VerdictAction.RESIZE
    assert verdict.quantity == D("0.1")
    assert verdict.reason == (
        "BTC/USDT position would be 1.4 (now 0.8, 0.1 more pending), beyond the limit 1; "
        "resized to 0.1 BTC"
    )
    assert verdict.figures == {
        "position": "0.8",
        "open_orders_same_side": "0.1",
        "position_after": "1.4",
        "limit_quantity": "1",
        "price": "60000",
        "resized_quantity": "0.1000",
    }


def test_position_flip_counts_the_whole_way() -> None:
    rule = MaxPosition.from_config({"max_quantity": {"BTC/USDT": "1"}})
    context = _context(positions=(_position("BTC/USDT", "0.8", "60000"),))
    verdict = rule.check(_intent("sell", "2.5"), context)
    # From +0.8 a sell may go down to -1: 1.8 in all.
    assert (verdict.action, verdict.quantity) == (VerdictAction.RESIZE, D("1.8"))
    assert verdict.figures["position_after"] == "-1.7"


def test_position_notional_limit_and_reductions() -> None:
    rule = MaxPosition.from_config({"max_notional": "30000"})
    context = _context(positions=(_position("BTC/USDT", "0.5", "60000"),))
    at_limit = rule.check(_intent("buy", "0.01"), context)
    assert at_limit.action is VerdictAction.REJECT
    assert at_limit.reason == (
        "BTC/USDT position would be 0.51 (now 0.5, 0 more pending), beyond the limit 0.5 "
        "(30,000 USDT at 60,000); no size fits"
    )
    assert at_limit.figures["limit_notional"] == "30000"
    reducing = rule.check(_intent("sell", "0.2"), context)
    assert (reducing.action, reducing.reason) == (
        VerdictAction.APPROVE,
        "reduces the BTC/USDT position of 0.5",
    )
    flagged = rule.check(_intent("buy", "5", reduce_only=True), context)
    assert flagged.action is VerdictAction.APPROVE
    unlisted = MaxPosition.from_config({"max_quantity": {"ETH/USDT": "1"}})
    assert unlisted.check(_intent("buy", "50"), context).reason == (
        "no position limit set for BTC/USDT"
    )


# --- max_gross_exposure ---------------------------------------------------------------


def _book() -> tuple[Position, ...]:
    # 0.5 BTC at 60,000 and -10 ETH at 3,000: 30,000 + 30,000 = 60,000 gross.
    return (_position("BTC/USDT", "0.5", "60000"), _position("ETH/USDT", "-10", "3000"))


def test_gross_exposure_resizes_to_the_room_left() -> None:
    rule = MaxGrossExposure.from_config({"max_gross_notional": "80000"})
    verdict = rule.check(_intent("buy", "0.5"), _context(positions=_book()))
    room = (D(20000) / D(60000)).quantize(D("0.0001"), rounding="ROUND_DOWN")
    assert verdict.action is VerdictAction.RESIZE
    assert verdict.quantity == room == D("0.3333")
    assert verdict.reason == (
        "gross exposure would be 90,000 USDT (now 60,000), beyond the limit 80,000 USDT; "
        "resized to 0.3333 BTC"
    )
    assert verdict.figures == {
        "gross_exposure": format(D("0.5") * 60000 + 10 * D(3000), "f"),
        "gross_after": format(D("0.5") * 60000 + 10 * D(3000) + D("0.5") * 60000, "f"),
        "limit": "80000",
        "equity": "100000",
        "price": "60000",
        "resized_quantity": "0.3333",
    }


def test_gross_exposure_lets_flips_that_shrink_it_pass_and_resizes_big_flips() -> None:
    rule = MaxGrossExposure.from_config({"max_gross_notional": "80000"})
    context = _context(positions=_book())
    shrink = rule.check(_intent("sell", "0.8"), context)  # +0.5 -> -0.3: 12,000 less
    assert shrink.action is VerdictAction.APPROVE
    assert shrink.figures["gross_after"] == format(D(60000) - D("0.2") * 60000, "f")
    big = rule.check(_intent("sell", "2"), context)  # +0.5 -> -1.5: may go to -0.8333
    assert (big.action, big.quantity) == (VerdictAction.RESIZE, D("1.3333"))


def test_leverage_limit_on_equity_rejects_when_full() -> None:
    rule = MaxGrossExposure.from_config({"max_leverage": "3", "max_gross_notional": "1000000"})
    verdict = rule.check(_intent("buy", "0.1"), _context(positions=_book(), equity="20000"))
    assert verdict.action is VerdictAction.REJECT
    assert verdict.figures["limit"] == format(D(3) * D(20000), "f")
    assert verdict.reason == (
        "gross exposure would be 66,000 USDT (now 60,000), beyond the limit 60,000 USDT; "
        "no size fits"
    )
    assert rule.check(_intent("sell", "0.5"), _context(positions=_book())).reason == (
        "reduces gross exposure (BTC/USDT)"
    )


@pytest.mark.parametrize(
    ("rule", "settings", "message"),
    [
        (MaxPosition, {}, r"set max_notional, max_quantity or both"),
        (MaxGrossExposure, {}, r"set max_gross_notional, max_leverage or both"),
        (MaxOrderNotional, {"limit": "-5"}, r"limit: Input should be greater than 0"),
        (MaxPosition, {"max_quantity": {"btc": "1"}}, r"not a ccxt unified symbol"),
    ],
)
def test_bad_limits_are_refused(
    rule: type[MaxPosition], settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        rule.from_config(settings)
