"""The standard rules' verdicts, over a seeded grid of intents and contexts, are exactly those
the rules gave before they built verdicts without validation and kept their constant texts.

The digests below were taken from the rules as they were (validated ``RiskVerdict``
construction, every figure formatted on every call): each is the SHA-256 of the canonical
JSON of every verdict a rule configuration gives over the grid, with the Python types of
its action and quantity. A rule that answers differently in any case, a figure or a word
of a reason included, changes its digest; ``python -m`` this module prints the digests of
the current rules, and the first cases, to compare.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_core.builtins.standard_risk import (
    MaxDrawdown,
    MaxGrossExposure,
    MaxOrderNotional,
    MaxPosition,
    PriceBand,
)
from crypto_bot_sdk import (
    Bar,
    InMemoryMarketView,
    Instrument,
    InstrumentKind,
    Order,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    OrderType,
    PortfolioSnapshot,
    Position,
    RiskContext,
    RiskRule,
    RiskVerdict,
    Side,
)

TS = datetime(2024, 6, 1, tzinfo=UTC)
INSTRUMENTS = (
    Instrument(
        symbol="BTC/USDT",
        venue="binance",
        kind=InstrumentKind.SPOT,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.0001"),
        min_notional=Decimal(5),
    ),
    Instrument(
        symbol="ETH/BTC",
        venue="binance",
        kind=InstrumentKind.SPOT,
        tick_size=Decimal("0.00001"),
        lot_size=Decimal("0.001"),
    ),
    Instrument(
        symbol="BTC/USDT:USDT",
        venue="binance",
        kind=InstrumentKind.PERPETUAL,
        tick_size=Decimal("0.1"),
        lot_size=Decimal(1),
        contract_size=Decimal("0.001"),
    ),
)
SYMBOLS = ("BTC/USDT", "ETH/BTC", "BTC/USDT:USDT", "SOL/USDT")
"""SOL/USDT has no instrument and, in some contexts, no price."""

RULES: dict[str, RiskRule[Any]] = {
    "notional": MaxOrderNotional.from_config({"limit": "10000"}),
    "notional-per-symbol": MaxOrderNotional.from_config(
        {"limit": "5000", "per_symbol": {"BTC/USDT:USDT": "800", "ETH/BTC": "2500.5"}}
    ),
    "position-notional": MaxPosition.from_config({"max_notional": "20000"}),
    "position-quantity": MaxPosition.from_config(
        {"max_quantity": {"BTC/USDT": "0.3", "BTC/USDT:USDT": "40"}, "count_open_orders": False}
    ),
    "position-both": MaxPosition.from_config(
        {"max_notional": "15000", "max_quantity": {"BTC/USDT": "0.2"}}
    ),
    "exposure-notional": MaxGrossExposure.from_config({"max_gross_notional": "30000"}),
    "exposure-leverage": MaxGrossExposure.from_config({"max_leverage": "0.5"}),
    "exposure-both": MaxGrossExposure.from_config(
        {"max_gross_notional": "50000", "max_leverage": "2"}
    ),
    "drawdown": MaxDrawdown.from_config({"max_drawdown": "0.2"}),
    "drawdown-tight": MaxDrawdown.from_config({"max_drawdown": "0.015"}),
    "band": PriceBand.from_config({"max_deviation_bps": "150"}),
    "band-approve-missing": PriceBand.from_config(
        {"max_deviation_bps": "25.5", "missing_reference": "approve"}
    ),
}

DIGESTS = {
    "notional": "e1f864636486a64925f74431be400d6bd20fee53a54a8d0a9eb43b6738ab24b3",
    "notional-per-symbol": "42b0492a4155d018632a22414914fb7baf42327edca88d5f5752cc2ae6ae847b",
    "position-notional": "34b9b3ee03b28f5bea593479d29befa33f0ae6607a025e78ae6ad458683d96c6",
    "position-quantity": "234ab99fd39951a4da57ad5fae54fa9d10c43e0705a1d29dfec4c8d393d6a008",
    "position-both": "6e921238d2fe4189e5caca86cc80ea2e36f459ba748d615d0be4745c16ca64b6",
    "exposure-notional": "c7af3162f3b4574a9e9d80c8d496037ba1df5854bcf3cd613048105b9df76cb5",
    "exposure-leverage": "e5990f0645f9cb90fd3f6493775715dae90388f9d94c887af0b35ee63c99ed89",
    "exposure-both": "7db34e35f675872016ac85736f405b3d7fc240fa515896df59e5c59ea804f724",
    "drawdown": "b6c92383e1af4f6f05989774ee7740eabbe2a17f047f0ffb52c092eed2e4e8b2",
    "drawdown-tight": "1a20cfab5f36fe8a0197e5ccafdbdf004e2297bc801d88fea9e24dd37dc29e30",
    "band": "7aff286b7d6bf6a392d6ea1a658c9dfee397c165cb202955174efc8095640ab9",
    "band-approve-missing": "93790260536a0dd76f220b3b45e9eb026cca24d4d38058f14429068cb67a39f0",
}

CASES = 300


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _context(rng: random.Random) -> RiskContext:
    view = InMemoryMarketView(list(INSTRUMENTS), now=TS)
    prices = {
        "BTC/USDT": _price(rng, 20000, 70000),
        "ETH/BTC": Decimal(rng.randint(3000, 9000)) / 100000,
        "BTC/USDT:USDT": _price(rng, 20000, 70000),
    }
    if rng.random() < 0.6:
        prices["SOL/USDT"] = _price(rng, 10, 300)
    for symbol, close in prices.items():
        if rng.random() < 0.9:
            view.update(
                Bar(
                    symbol=symbol,
                    venue="binance",
                    ts=TS - timedelta(minutes=1),
                    open=close,
                    high=close,
                    low=close,
                    close=close,
                    volume=Decimal(1),
                )
            )
    positions = []
    for symbol in SYMBOLS:
        if rng.random() < 0.4:
            quantity = Decimal(rng.randint(-300, 300)) / 1000 or Decimal("0.001")
            mark = prices.get(symbol, Decimal(100))
            positions.append(
                Position(
                    symbol=symbol,
                    venue="binance",
                    quantity=quantity * (100 if symbol == "BTC/USDT:USDT" else 1),
                    average_entry_price=mark,
                    mark_price=mark if rng.random() < 0.8 else None,
                )
            )
    equity = _price(rng, 1000, 120000)
    peak = None if rng.random() < 0.2 else equity + _price(rng, 0, 40000)
    orders = []
    for number in range(rng.randint(0, 3)):
        symbol = rng.choice(SYMBOLS[:2])
        request = OrderRequest(
            client_order_id=f"o{number}",
            venue="binance",
            symbol=symbol,
            side=rng.choice((Side.BUY, Side.SELL)),
            order_type=OrderType.LIMIT,
            price=prices[symbol],
            quantity=Decimal(rng.randint(1, 200)) / 1000,
        )
        order = Order(request=request, created_at=TS, updated_at=TS)
        orders.append(order.transition(OrderStatus.SUBMITTED, ts=TS))
    reference = None
    if rng.random() < 0.7:
        reference = _price(rng, 20000, 70000)
    return RiskContext(
        ts=TS,
        portfolio=PortfolioSnapshot(
            ts=TS, equity=equity, peak_equity=peak, positions=tuple(positions)
        ),
        market=view,
        open_orders=tuple(orders),
        reference_price=reference,
    )


def _intent(rng: random.Random, number: int, context: RiskContext) -> OrderIntent:
    symbol = rng.choice(SYMBOLS)
    side = rng.choice((Side.BUY, Side.SELL))
    scale = {"BTC/USDT": 1000, "ETH/BTC": 100, "BTC/USDT:USDT": 10, "SOL/USDT": 10}[symbol]
    quantity = Decimal(rng.randint(1, 800)) / scale
    kind = rng.random()
    values: dict[str, Any] = {}
    last = context.market.last_price(symbol) or Decimal(100)
    if kind < 0.4:
        values = {
            "order_type": OrderType.LIMIT,
            "price": last * Decimal(rng.randint(90, 110)) / 100,
        }
    elif kind < 0.5:
        values = {"order_type": OrderType.STOP, "stop_price": last * Decimal("1.02")}
    if rng.random() < 0.15:
        values["reduce_only"] = True
    return OrderIntent(
        intent_id=f"i{number}",
        symbol=symbol,
        side=side,
        quantity=quantity,
        ts=TS,
        **values,
    )


def cases() -> Iterator[tuple[OrderIntent, RiskContext]]:
    rng = random.Random(20240601)
    for number in range(CASES):
        context = _context(rng)
        yield _intent(rng, number, context), context


def answers(rule: RiskRule[Any]) -> list[Any]:
    answered: list[Any] = []
    for intent, context in cases():
        verdict = rule.check(intent, context)
        assert type(verdict) is RiskVerdict
        answered.append(
            [
                verdict.model_dump(mode="json"),
                type(verdict.action).__name__,
                type(verdict.quantity).__name__,
                verdict.figures == {k: str(v) for k, v in verdict.figures.items()},
            ]
        )
    return answered


def digest(rule: RiskRule[Any]) -> str:
    text = json.dumps(answers(rule), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(RULES))
def test_verdicts_are_those_of_the_validated_rules(name: str) -> None:
    assert digest(RULES[name]) == DIGESTS[name], name


def test_the_grid_reaches_every_kind_of_answer() -> None:
    actions: set[tuple[str, str]] = set()
    for name, rule in RULES.items():
        for verdict, *_ in answers(rule):
            actions.add((name.split("-")[0], verdict["action"]))
    for rule in ("notional", "position", "exposure"):
        assert {(rule, "approve"), (rule, "resize"), (rule, "reject")} <= actions
    assert {("drawdown", "approve"), ("drawdown", "reject")} <= actions
    assert {("band", "approve"), ("band", "reject")} <= actions


if __name__ == "__main__":
    for name in sorted(RULES):
        print(f'    "{name}": "{digest(RULES[name])}",')
