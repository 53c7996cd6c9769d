"""Drawdown (kill switch) and price-band guards: verdicts with exact figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from crypto_bot_core.builtins.standard_risk import MaxDrawdown, PriceBand
from crypto_bot_sdk import (
    Bar,
    ConfigError,
    InMemoryMarketView,
    OrderIntent,
    OrderType,
    PortfolioSnapshot,
    Position,
    RiskContext,
    Side,
    VerdictAction,
)

TS = datetime(2024, 6, 1, tzinfo=UTC)


def _context(
    equity: str,
    peak: str | None,
    *,
    long: str = "0",
    reference: str | None = None,
    last: str | None = None,
) -> RiskContext:
    view = InMemoryMarketView(now=TS)
    if last is not None:
        price = D(last)
        view.update(
            Bar(
                symbol="BTC/USDT",
                venue="binance",
                ts=TS - timedelta(minutes=1),
                open=price,
                high=price,
                low=price,
                close=price,
                volume=D(1),
            )
        )
    positions: tuple[Position, ...] = ()
    if long != "0":
        positions = (
            Position(
                symbol="BTC/USDT",
                venue="binance",
                quantity=D(long),
                average_entry_price=D(50000),
                mark_price=D(50000),
            ),
        )
    return RiskContext(
        ts=TS,
        portfolio=PortfolioSnapshot(
            ts=TS,
            equity=D(equity),
            peak_equity=None if peak is None else D(peak),
            positions=positions,
        ),
        market=view,
        reference_price=None if reference is None else D(reference),
    )


def _intent(side: str, quantity: str = "0.1", **extra: object) -> OrderIntent:
    return OrderIntent(
        intent_id="i-1", symbol="BTC/USDT", side=Side(side), quantity=D(quantity), ts=TS, **extra
    )


RULE = MaxDrawdown.from_config({"max_drawdown": "0.2"})


def test_drawdown_beyond_the_limit_rejects_and_trips_the_kill_switch() -> None:
    verdict = RULE.check(_intent("buy"), _context("7900", "10000"))
    drawdown = (D(10000) - D(7900)) / D(10000)
    assert verdict.action is VerdictAction.REJECT
    assert verdict.figures == {
        "drawdown": format(drawdown, "f"),
        "limit": "0.2",
        "equity": "7900",
        "peak_equity": "10000",
        "kill_switch": "trip",
    }
    assert verdict.reason == (
        "drawdown 21.00% (equity 7,900 USDT, peak 10,000 USDT) has reached the limit 20.00%; "
        "the kill switch should trip; no new risk"
    )


def test_at_the_limit_exactly_the_switch_trips_but_closing_orders_pass() -> None:
    closing = RULE.check(_intent("sell", "0.1"), _context("8000", "10000", long="0.5"))
    assert closing.action is VerdictAction.APPROVE
    assert closing.figures["kill_switch"] == "trip"
    assert closing.figures["drawdown"] == "0.2"
    assert closing.reason.endswith("this order only reduces a position")
    flagged = RULE.check(_intent("buy", reduce_only=True), _context("8000", "10000"))
    assert (flagged.action, flagged.figures["kill_switch"]) == (VerdictAction.APPROVE, "trip")


def test_below_the_limit_is_approved_without_the_kill_switch() -> None:
    verdict = RULE.check(_intent("buy"), _context("8500", "10000"))
    assert verdict.action is VerdictAction.APPROVE
    assert "kill_switch" not in verdict.figures
    assert verdict.figures["drawdown"] == format(D(1500) / D(10000), "f")
    assert verdict.reason == (
        "drawdown 15.00% (equity 8,500 USDT, peak 10,000 USDT) is below the limit 20.00%"
    )


def test_peak_defaults_to_equity_and_never_sits_below_it() -> None:
    assert RULE.check(_intent("buy"), _context("9000", None)).figures["drawdown"] == "0"
    stale = RULE.check(_intent("buy"), _context("12000", "10000"))
    assert (stale.figures["peak_equity"], stale.figures["drawdown"]) == ("12000", "0")


def test_wiped_out_equity_counts_as_total_drawdown() -> None:
    verdict = RULE.check(_intent("buy"), _context("0", "0"))
    assert (verdict.action, verdict.figures["drawdown"]) == (VerdictAction.REJECT, "1")


BAND = PriceBand.from_config({"max_deviation_bps": "500"})


def _limit(side: str, price: str) -> OrderIntent:
    return _intent(side, order_type=OrderType.LIMIT, price=D(price))


def test_limit_price_outside_the_band_is_rejected_with_the_deviation() -> None:
    verdict = BAND.check(_limit("buy", "63500"), _context("1", None, reference="60000"))
    deviation = (D(63500) - D(60000)) / D(60000) * 10_000
    assert verdict.action is VerdictAction.REJECT
    assert verdict.figures == {
        "price": "63500",
        "reference": "60000",
        "reference_source": "reference price",
        "deviation_bps": format(deviation.quantize(D("0.01")), "f"),
        "band_bps": "500",
    }
    assert verdict.figures["deviation_bps"] == "583.33"
    assert verdict.reason == (
        "limit price 63,500 is 5.83% above the reference price 60,000, outside the band of ±5.00%"
    )


def test_limit_price_inside_the_band_passes_and_the_last_price_is_the_fallback() -> None:
    inside = BAND.check(_limit("sell", "57500"), _context("1", None, last="60000"))
    assert inside.action is VerdictAction.APPROVE
    assert inside.figures["reference_source"] == "last price"
    assert inside.reason == (
        "limit price 57,500 is 4.17% below the last price 60,000, inside the band of ±5.00%"
    )
    edge = BAND.check(_limit("buy", "63000"), _context("1", None, reference="60000"))
    assert (edge.action, edge.figures["deviation_bps"]) == (VerdictAction.APPROVE, "500.00")


def test_orders_without_a_limit_price_and_missing_references() -> None:
    market = BAND.check(_intent("buy"), _context("1", None))
    assert (market.action, market.reason) == (
        VerdictAction.APPROVE,
        "a market order has no limit price",
    )
    blind = BAND.check(_limit("buy", "60000"), _context("1", None))
    assert blind.action is VerdictAction.REJECT
    assert (
        blind.reason == "no reference or last price for BTC/USDT to check the limit price against"
    )
    lenient = PriceBand.from_config({"missing_reference": "approve"})
    assert (
        lenient.check(_limit("buy", "60000"), _context("1", None)).action is VerdictAction.APPROVE
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_drawdown": "1.5"}, r"max_drawdown: Input should be less than 1"),
        ({"max_drawdown": "0"}, r"max_drawdown: Input should be greater than 0"),
        ({}, r"max_drawdown: Field required"),
    ],
)
def test_bad_drawdown_limits_are_refused(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MaxDrawdown.from_config(settings)
