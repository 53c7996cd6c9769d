"""Which markets a stress scenario's shocks hit, and the scenario mistakes refused at
their line.

A shock selects markets by symbol, by base asset (so a perpetual moves with its spot)
or by a named group; shocks that hit the same market compound in file order. The
figures below are the products of the shocks by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_core.risk.scenario_file import ScenarioError, parse_scenario

SCENARIO = """\
name: selective
groups: {majors: [BTC, ETH/USDT]}
shocks:
  - price: {symbols: [SOL/USDT], move: -0.5}
  - price: {assets: [BTC], move: -0.2}
  - price: {groups: [majors], move: -0.1}
  - volatility: {symbols: [SOL/USDT, ETH/USDT], multiplier: 2}
  - volatility: {groups: [majors], multiplier: 1.5}
"""


@pytest.mark.parametrize(
    ("symbol", "price", "volatility"),
    [
        ("BTC/USDT", Decimal("0.72"), 1.5),  # asset BTC (x0.8) and group majors (x0.9)
        ("BTC/USDT:USDT", Decimal("0.72"), 1.5),  # the perpetual shares the base asset
        ("ETH/USDT", Decimal("0.9"), 3.0),  # in majors by symbol; volatility 2 x 1.5
        ("SOL/USDT", Decimal("0.5"), 2.0),  # by symbol only
        ("XRP/USDT", Decimal(1), 1.0),  # hit by nothing
    ],
)
def test_shocks_hit_by_symbol_asset_or_group_and_compound(
    symbol: str, price: Decimal, volatility: float
) -> None:
    scenario = parse_scenario(SCENARIO, source="selective.yaml")
    assert scenario.price_factor(symbol) == price
    assert scenario.volatility_factor(symbol) == pytest.approx(volatility)


@pytest.mark.parametrize(
    ("shock", "message"),
    [
        (
            "exchange_halt: {venue: alpha, largest: true}",
            "s.yaml:3:5: shocks[0].exchange_halt: name the halted venue with `venue`, or set "
            "`largest: true`; not both",
        ),
        (
            "exchange_halt: {haircut: 0.5}",
            "s.yaml:3:5: shocks[0].exchange_halt: name the halted venue with `venue`, or set "
            "`largest: true`; not both",
        ),
        (
            "price: {symbols: [BTCUSDT], move: -0.3}",
            "s.yaml:3:13: shocks[0].price.symbols: symbol 'BTCUSDT' is not a ccxt unified "
            "symbol; write BASE/QUOTE for spot or BASE/QUOTE:SETTLE for a perpetual, upper "
            "case (e.g. 'BTC/USDT:USDT')",
        ),
        (
            "price: {move: -0.3}",
            's.yaml:3:5: shocks[0].price: say which markets the shock hits: symbols (a list, '
            'or "*" for all), assets or groups',
        ),
    ],
)
def test_a_shock_that_cannot_be_applied_is_refused_at_its_line(shock: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"name: s\nshocks:\n  - {shock}\n", source="s.yaml")
    assert str(caught.value) == message
