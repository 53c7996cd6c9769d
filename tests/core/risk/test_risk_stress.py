"""Stress P&L on a portfolio: every figure checked against a hand calculation, to the cent."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from crypto_bot_core.app.market_data import StaticMarket
from crypto_bot_core.risk.portfolio_var import VarSettings
from crypto_bot_core.risk.returns import ReturnHistory
from crypto_bot_core.risk.scenario_file import load_scenario, parse_scenario
from crypto_bot_core.risk.stress import stress
from crypto_bot_sdk import Balance, PortfolioSnapshot, Position

from .risk_helpers import NOW, book, equicorrelated

CENT = Decimal("0.01")


def position(symbol: str, venue: str, qty: str, mark: str, entry: str | None = None) -> Position:
    return Position(
        symbol=symbol,
        venue=venue,
        quantity=Decimal(qty),
        average_entry_price=Decimal(entry or mark),
        mark_price=Decimal(mark),
    )


def portfolio(*positions: Position, cash: dict[str, str] | None = None) -> PortfolioSnapshot:
    balances = tuple(
        Balance(asset="USDT", venue=v, free=Decimal(a)) for v, a in (cash or {}).items()
    )
    return PortfolioSnapshot(
        ts=NOW, balances=balances, positions=positions, equity=Decimal("100000")
    )


SYNTHETIC = portfolio(
    position("BTC/USDT", "alpha", "0.75", "61234.56"),
    position("ETH/USDT:USDT", "beta", "-12.5", "3210.98"),
    position("XRP/USDT", "alpha", "1500", "0.5312"),
    position("SOL/USDT:USDT", "gamma", "40", "151.37"),
)


def test_crash_scenario_loss_equals_the_hand_calculation_to_the_cent() -> None:
    result = stress(SYNTHETIC, load_scenario("market-crash-30"))
    # By hand, 30% of each signed exposure:
    #   BTC   0.75 x 61,234.56 = 45,925.92   -> -13,777.776
    #   ETH -12.5  x  3,210.98 = -40,137.25  -> +12,041.175
    #   XRP  1500  x   0.5312  =    796.80   ->    -239.04
    #   SOL    40  x   151.37  =  6,054.80   ->  -1,816.44
    by_hand = Decimal("-13777.776") + Decimal("12041.175") - Decimal("239.04") - Decimal("1816.44")
    assert result.total_pnl == by_hand == Decimal("-3792.081")
    assert result.loss.quantize(CENT) == Decimal("3792.08")
    venues = {v.venue: v.total for v in result.venues}
    assert venues == {
        "alpha": Decimal("-14016.816"),
        "beta": Decimal("12041.175"),
        "gamma": Decimal("-1816.44"),
    }
    btc = result.positions[0]
    assert (btc.shocked_price, btc.price_pnl) == (Decimal("42864.192"), Decimal("-13777.776"))


def test_btc_crash_hits_spot_and_perpetuals_only() -> None:
    book_ = portfolio(
        position("BTC/USDT", "alpha", "1", "60000"),
        position("BTC/USDT:USDT", "beta", "-0.4", "60030"),
        position("ETH/USDT", "alpha", "10", "3000"),
    )
    result = stress(book_, load_scenario("btc-crash-50"))
    assert [p.price_pnl for p in result.positions] == [
        Decimal("-30000"),
        Decimal("12006"),
        Decimal(0),
    ]
    assert result.total_pnl == Decimal("-17994")


def test_exchange_halt_freezes_the_venue_and_writes_off_its_haircut() -> None:
    scenario = parse_scenario(
        "name: halt\nshocks:\n"
        "  - exchange_halt: {venue: alpha, haircut: 0.2}\n"
        "  - price: {move: -0.1, symbols: '*'}\n"
        "  - ban: {assets: [BTC], venues: [alpha], liquidation_discount: 0.5}\n"
    )
    book_ = portfolio(
        position("BTC/USDT", "alpha", "1", "50000", entry="40000"),
        position("ETH/USDT:USDT", "beta", "-10", "2500", entry="3000"),
        cash={"alpha": "10000", "beta": "5000"},
    )
    result = stress(book_, scenario)
    alpha, beta = result.venues
    # alpha: cash 10,000 + BTC 50,000 = 60,000; -10% on BTC -> 55,000; 20% of it written off.
    assert (alpha.equity, alpha.positions_pnl) == (Decimal("60000"), Decimal("-5000"))
    assert alpha.halt_writedown == Decimal("11000")
    assert alpha.total == Decimal("-16000")
    # The frozen BTC cannot be sold, so the ban's forced sale does not apply to it.
    assert result.positions[0].frozen
    assert result.positions[0].ban_pnl == 0
    # beta: cash 5,000 + short perp unrealised (2,500 - 3,000) x -10 = 10,000; short gains 2,500.
    assert (beta.equity, beta.total, beta.halted) == (Decimal("10000"), Decimal("2500"), False)
    assert result.total_pnl == Decimal("-13500")


def test_largest_venue_halts_in_the_shipped_outage() -> None:
    book_ = portfolio(
        position("BTC/USDT", "small", "0.1", "60000"),
        position("BTC/USDT", "big", "1", "60000"),
    )
    result = stress(book_, load_scenario("exchange-outage"))
    halted = [v.venue for v in result.venues if v.halted]
    assert halted == ["big"]
    # big: 60,000 -10% = 54,000, 25% written off = 13,500, plus the move -6,000.
    assert {v.venue: v.total for v in result.venues} == {
        "big": Decimal("-19500.00"),
        "small": Decimal("-600.0"),
    }


def test_regulatory_ban_forces_a_discounted_sale_and_perpetuals_pay_funding() -> None:
    book_ = portfolio(
        position("XRP/USDT", "alpha", "10000", "0.6"),
        position("SOL/USDT:USDT", "beta", "20", "150"),
        position("BTC/USDT", "alpha", "0.1", "60000"),
    )
    result = stress(book_, load_scenario("regulatory-ban"))
    xrp, sol, btc = result.positions
    assert (xrp.price_pnl, xrp.ban_pnl, xrp.funding_pnl) == (
        Decimal("-1500"),
        Decimal("-450"),
        Decimal(0),
    )
    # SOL perp: -25% -> 112.5; funding 20 x 112.5 x 0.005 x 3; forced sale 10% of 2,250.
    assert (sol.price_pnl, sol.funding_pnl, sol.ban_pnl) == (
        Decimal("-750"),
        Decimal("-33.75"),
        Decimal("-225"),
    )
    assert btc.total == 0
    assert result.total_pnl == Decimal("-2958.75")


def test_liquidity_removal_prices_the_exit_through_the_thinned_book() -> None:
    market = StaticMarket(
        NOW,
        books=[
            book(
                "BTC/USDT",
                "alpha",
                bids=[("59990", "0.2"), ("59950", "0.5"), ("59800", "1")],
                asks=[("60010", "0.2"), ("60050", "0.5")],
            )
        ],
    )
    book_ = portfolio(
        position("BTC/USDT", "alpha", "0.5", "60000"), position("ETH/USDT", "alpha", "1", "3000")
    )
    result = stress(book_, load_scenario("liquidity-removal-90"), market)
    btc, eth = result.positions
    # 10% left: 0.02 @ 59,990 + 0.05 @ 59,950 + 0.1 @ 59,800 = 10,177.30 for 0.17 BTC; the
    # other 0.33 at 20% under the worst level left (47,840) = 15,787.20; 30,000 at the mark.
    assert btc.liquidity_pnl == Decimal("-4035.5")
    assert eth.liquidity_pnl is None
    assert any("no order book for ETH/USDT@alpha" in w for w in result.warnings)
    assert any("takes 0.17 of 0.5" in w for w in result.warnings)


def test_volatility_and_correlation_shocks_raise_the_stressed_var() -> None:
    rng = np.random.default_rng(0)
    cov = equicorrelated(2, 0.3) * 0.02**2
    history = ReturnHistory(
        ("BTC/USDT", "ETH/USDT"), rng.multivariate_normal([0, 0], cov, size=500), 86_400.0
    )
    book_ = portfolio(
        position("BTC/USDT", "alpha", "1", "60000"), position("ETH/USDT", "alpha", "10", "3000")
    )
    result = stress(
        book_,
        load_scenario("market-crash-30"),
        history=history,
        var_settings=VarSettings(paths=20_000, marginal="normal"),
    )
    assert result.var is not None
    assert result.stressed_var is not None
    # Volatility x2.5 on exposures x0.7, correlations 0.3 -> 0.9: well above 1.75x.
    assert result.stressed_var.var > 1.9 * result.var.var
    without = stress(book_, load_scenario("market-crash-30"))
    assert without.stressed_var is None
    assert any("need a return history" in w for w in without.warnings)
