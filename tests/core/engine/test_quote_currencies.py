"""Markets quoted in other currencies than USDT: they trade, and the book is valued in one.

Real venues quote in USD, USDC, EUR or BTC. A run keeps cash per currency per
venue and values the whole book in the portfolio's base currency, converting
each other currency at the latest price of a conversion pair in the data; a
currency that cannot be converted is refused at start, naming it and the pair
it lacks, and stablecoins are only equal where ``portfolio.pegged`` says so.
"""

from __future__ import annotations

import asyncio
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from currency_bars import wave as _wave
from currency_bars import write_bars as _write
from typer.testing import CliRunner

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.app.run_portfolio import portfolio_from_run
from crypto_bot_core.cli.app import app
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.currencies import (
    Conversion,
    CurrencyPlan,
    CurrencySettings,
    cash_of,
    plan_currencies,
)
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.engine.portfolio import Portfolio
from crypto_bot_core.engine.sizing import SizingConfig, full_position
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.risk.exposure import exposures
from crypto_bot_core.risk.stress import venue_equity
from crypto_bot_sdk import (
    Balance,
    ConfigError,
    Fill,
    Instrument,
    OrderIntent,
    PortfolioSnapshot,
    Position,
    RecordType,
    RiskContext,
    ValuationError,
    value_intent,
)
from crypto_bot_sdk.testing import market_view_from

D = Decimal


def _config(files: list[tuple[Path, str]], extra: str = "", balances: str = "") -> str:
    entries = ", ".join(
        f'{{path: "{path}", symbol: "{symbol}", venue: v, timeframe: 1m}}' for path, symbol in files
    )
    return f"""
mode: backtest
data_sources:
  - {{name: replay, plugin: replay, config: {{files: [{entries}]}}}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 3, slow: 8}}}}
exchanges:
  - {{name: v, plugin: paper-exchange, config: {{venue: v, taker_fee: "0.001"{balances}}}}}
policies:
  definitions:
    trend: {{agents: [{{agent: ema}}]}}
  default: trend
sizing: {{mode: discrete, notional_per_symbol: "1000", long_only: true}}
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "5000"}}}}
  - {{plugin: "standard-risk:max_gross_exposure", config: {{max_leverage: "1"}}}}
  - {{plugin: "standard-risk:max_drawdown", config: {{max_drawdown: "0.5"}}}}
{extra}
"""


def _engine(text: str) -> Engine:
    loaded = parse_config(text, source="<test>", environ={})
    return assemble(loaded, Host(environ={}).load(), ledger=MemoryAuditLog(), run_id="ccy").engine


def _run(engine: Engine) -> Engine:
    async def go() -> None:
        await engine.start()
        await engine.run()
        await engine.close()

    asyncio.run(go())
    return engine


def _start(engine: Engine) -> None:
    asyncio.run(engine.start())


def _fills(engine: Engine) -> list[dict[str, object]]:
    ledger = engine.ledger
    assert isinstance(ledger, MemoryAuditLog)
    return [payload for kind, payload, _ts in ledger.records if kind is RecordType.FILL]


# --- the reported case: a BTC/USD file through `cryptobot backtest` -----------------------


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CRYPTOBOT")]:
        monkeypatch.delenv(name)
    return CliRunner()


def test_backtest_of_a_usd_market_trades_with_usd_cash(runner: CliRunner, tmp_path: Path) -> None:
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write(tmp_path / "btc_usd.csv", closes)
    args = ["backtest", "--data", "btc_usd.csv", "--symbol", "BTC/USD", "--run-id", "usd"]
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "runs" / "usd" / "summary.json").read_text())
    ledger = open_ledger(f"sqlite:///{tmp_path / 'runs' / 'usd' / 'ledger.sqlite'}")
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
    fills = [r.payload for r in records if r.type is RecordType.FILL]
    assert [f["side"] for f in fills][:2] == ["buy", "sell"]
    assert {f["symbol"] for f in fills} == {"BTC/USD"}
    start = next(r.payload for r in records if r.type is RecordType.SYSTEM_START)
    assert start["initial_cash"] == {"backtest": "100000"}  # in USD, the market's currency
    assert summary["venues"][0]["initial"] == "100000"


# --- several quote currencies in one book --------------------------------------------------


def _btc_and_eth_btc(tmp_path: Path) -> list[tuple[Path, str]]:
    return [
        (_write(tmp_path / "btc_usdt.csv", _wave(40000, 0.05)), "BTC/USDT"),
        (_write(tmp_path / "eth_btc.csv", _wave(0.05, 0.08)), "ETH/BTC"),
    ]


def test_markets_in_two_currencies_need_a_base_currency(tmp_path: Path) -> None:
    engine = _engine(_config(_btc_and_eth_btc(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        _start(engine)
    message = str(caught.value)
    assert message.startswith("portfolio.base_currency:")
    assert "settle in BTC, USDT" in message


def test_a_btc_quoted_market_trades_and_is_valued_in_usdt(tmp_path: Path) -> None:
    files = _btc_and_eth_btc(tmp_path)
    engine = _run(_engine(_config(files, extra="portfolio: {base_currency: USDT}")))
    fills = _fills(engine)
    eth = [f for f in fills if f["symbol"] == "ETH/BTC"]
    assert eth, "the BTC-quoted market must trade"
    # Sizing: a full position is the 1000 USDT notional, converted through BTC/USDT.
    first = eth[0]
    assert D(str(first["quantity"])) * D(str(first["price"])) < D("0.05")  # ~0.025 BTC
    account = engine.portfolio.accounts["v"]
    assert engine.portfolio.quote_currency == "USDT"
    assert set(account.other) == {"BTC"}
    # Equity = USDT cash + BTC cash x BTC/USDT + positions at their marks (x BTC/USDT).
    btc_rate = engine.market.last_price("BTC/USDT")
    assert btc_rate is not None
    expected = account.cash + account.other["BTC"] * btc_rate
    for (venue, symbol), book in engine.portfolio.books.items():
        assert venue == "v"
        value = book.quantity * (book.mark or D(0))
        expected += value * btc_rate if symbol == "ETH/BTC" else value
    assert engine.portfolio.equity() == expected
    assert engine.equity_curve[-1][1] == expected
    # The BTC spent on ETH is cash the book owes or holds in BTC, not a USDT amount.
    spent = sum(
        (
            D(str(f["quantity"])) * D(str(f["price"])) * (1 if f["side"] == "sell" else -1)
            - D(str(f["fee"]))
            for f in eth
        ),
        D(0),
    )
    assert account.other["BTC"] == spent


def test_a_currency_without_a_conversion_pair_is_refused_at_start(tmp_path: Path) -> None:
    files = [(_write(tmp_path / "btc_usd.csv", _wave(40000, 0.05)), "BTC/USD")]
    text = _config(files, balances=', balances: {USDT: "100000"}')
    engine = _engine(text)
    with pytest.raises(ConfigError) as caught:
        _start(engine)
    message = str(caught.value)
    assert "cannot value USDT in the portfolio currency USD" in message
    assert "add USDT/USD or USD/USDT" in message
    assert "portfolio.pegged" in message


def test_pegged_stablecoins_are_equal_only_when_the_config_says_so(tmp_path: Path) -> None:
    files = [(_write(tmp_path / "btc_usd.csv", _wave(40000, 0.05)), "BTC/USD")]
    balances = ', balances: {USD: "50000", USDT: "50000"}'
    with pytest.raises(ConfigError, match="cannot value USDT in the portfolio currency USD"):
        _start(_engine(_config(files, balances=balances)))
    text = _config(files, extra="portfolio: {pegged: {USDT: USD}}", balances=balances)
    engine = _run(_engine(text))
    assert _fills(engine)
    portfolio = engine.portfolio
    assert portfolio.quote_currency == "USD"
    account = portfolio.accounts["v"]
    assert account.initial == D(100000)  # the USDT valued 1:1 once the run started
    assert account.other["USDT"] == D(50000)  # the venue trades BTC/USD with its USD
    assert portfolio.rates() == {"USDT": D(1)}
    book = portfolio.books[("v", "BTC/USD")]
    value = book.quantity * (book.mark or D(0))
    assert portfolio.equity() == account.cash + account.other["USDT"] + value


def test_a_conversion_pair_without_a_price_yet_is_named_not_valued_at_zero() -> None:
    plan = plan_currencies(CurrencySettings(), {"EUR"}, [("v", "EUR/USDT")], base="USDT")
    portfolio = Portfolio()
    portfolio.use_currencies(plan)
    portfolio.open_account("v", D(1000), {"EUR": D(500)})
    with pytest.raises(ValuationError, match=r"500 EUR held on venue 'v'.*EUR/USDT on venue 'v'"):
        portfolio.equity()
    portfolio.mark("v", "EUR/USDT", D("1.1"))
    assert portfolio.update_peak() == D("1550.0")
    assert portfolio.accounts["v"].initial == D("1550.0")


# --- conversion: direct, inverse, pegged either side ---------------------------------------


@pytest.mark.parametrize(
    ("pair", "price", "rate"),
    [("EUR/USDT", "1.25", "1.25"), ("USDT/EUR", "0.8", "1.25")],
)
def test_conversion_uses_the_direct_or_the_inverse_pair(pair: str, price: str, rate: str) -> None:
    plan = plan_currencies(
        CurrencySettings(), {"EUR"}, [("v", pair), ("v", "BTC/EUR")], base="USDT"
    )
    assert plan.conversions["EUR"] == Conversion("EUR", "v", pair, inverse=pair.startswith("USDT"))
    portfolio = Portfolio()
    portfolio.use_currencies(plan)
    portfolio.open_account("v", D(0), {"EUR": D(0)})
    portfolio.mark("v", pair, D(price))
    assert portfolio.rate_of("EUR") == D(rate)
    instrument = Instrument(
        symbol="BTC/EUR", venue="v", kind="spot", tick_size="0.01", lot_size="0.0001"
    )
    fill = Fill(
        fill_id="f1",
        client_order_id="o1",
        symbol="BTC/EUR",
        venue="v",
        side="buy",
        quantity="0.5",
        price="40000",
        fee="20",
        ts="2024-01-01T00:00:00Z",
    )
    portfolio.apply_fill(fill, instrument)
    portfolio.mark("v", "BTC/EUR", D(42000))
    assert portfolio.accounts["v"].other["EUR"] == D(-20020)
    assert portfolio.accounts["v"].fees == D(20) * D(rate)
    assert portfolio.equity() == (D(-20020) + D(21000)) * D(rate)
    snapshot = portfolio.snapshot(fill.ts)
    assert snapshot.rates == {"EUR": D(rate)}
    assert {(b.asset, b.free) for b in snapshot.balances} == {("USDT", D(0)), ("EUR", D(-20020))}


def test_a_pair_through_a_pegged_currency_converts() -> None:
    settings = CurrencySettings(base_currency="USD", pegged={"USDT": "USD"})
    plan = plan_currencies(settings, {"EUR", "USDT"}, [("v", "EUR/USDT")], base="USD")
    assert plan.fixed == frozenset({"USDT"})
    assert plan.conversions["EUR"].symbol == "EUR/USDT"
    assert not plan.single


def test_stablecoins_are_not_equal_without_a_peg() -> None:
    with pytest.raises(ConfigError, match=r"cannot value USDC, USDT in the portfolio currency USD"):
        plan_currencies(CurrencySettings(), {"USDT", "USDC"}, [("v", "BTC/USD")], base="USD")


def test_one_currency_plans_no_conversion() -> None:
    plan = plan_currencies(CurrencySettings(), set(), [("v", "BTC/USDT")], base="USDT")
    assert plan == CurrencyPlan("USDT")
    assert plan.single


def test_cash_counts_settlement_currencies_and_stray_balances_not_traded_assets() -> None:
    instruments = [
        Instrument(symbol=s, venue="v", kind="spot", tick_size="0.01", lot_size="0.001")
        for s in ("BTC/USDT", "ETH/BTC")
    ]
    balances = {"USDT": D(5), "BTC": D(2), "ETH": D(3), "EUR": D(7), "XRP": D(0)}
    cash, other = cash_of(balances, instruments, "USDT")
    # BTC is a quote (cash); ETH is only ever a traded base (a holding); EUR is stray cash.
    assert (cash, other) == (D(5), {"BTC": D(2), "EUR": D(7)})


# --- sizing and risk in the right currency --------------------------------------------------


def test_sizing_notional_is_in_the_portfolio_currency() -> None:
    instrument = Instrument(
        symbol="ETH/BTC", venue="v", kind="spot", tick_size="0.00001", lot_size="0.001"
    )
    config = SizingConfig(notional_per_symbol=D(1000))
    # 1000 USDT at 0.05 BTC per ETH and 40000 USDT per BTC: 0.5 ETH (not 20000 ETH).
    assert full_position(config, D("0.05"), instrument, D(40000)) == D("0.5")
    assert full_position(config, D("0.05"), instrument) == D(20000)


def test_risk_valuation_converts_with_the_portfolio_rates() -> None:
    intent = OrderIntent(
        intent_id="i1",
        symbol="BTC/USDT",
        side="buy",
        order_type="limit",
        quantity="1",
        price="40000",
        ts="2024-01-01T00:00:00Z",
    )

    def context(rates: dict[str, Decimal]) -> RiskContext:
        snapshot = PortfolioSnapshot(
            ts="2024-01-01T00:00:00Z", quote_currency="USD", equity="100000", rates=rates
        )
        return RiskContext(ts=snapshot.ts, portfolio=snapshot, market=market_view_from([]))

    with pytest.raises(ValuationError, match="USDT/USD"):
        value_intent(intent, context({}))
    assert value_intent(intent, context({"USDT": D(1)})).value(D(1)) == D(40000)


def test_risk_analytics_value_with_the_portfolio_rates() -> None:
    snapshot = PortfolioSnapshot(
        ts="2024-01-01T00:00:00Z",
        quote_currency="USD",
        equity="41150",
        rates={"USDT": D(1)},
        balances=(
            Balance(asset="USD", venue="v", free="100"),
            Balance(asset="USDT", venue="v", free="50"),
        ),
        positions=(
            Position(
                symbol="BTC/USDT",
                venue="v",
                quantity="1",
                average_entry_price="40000",
                mark_price="41000",
            ),
        ),
    )
    market = market_view_from([])
    assert exposures(snapshot, market) == {"BTC/USDT": D(41000)}
    assert venue_equity(snapshot, market) == {"v": D(41150)}


def test_an_ignored_asset_is_left_out_of_cash() -> None:
    instruments = [
        Instrument(symbol="BTC/USDT", venue="v", kind="spot", tick_size="0.01", lot_size="0.001")
    ]
    balances = {"USDT": D(5), "BNB": D(2)}
    assert cash_of(balances, instruments, "USDT") == (D(5), {"BNB": D(2)})
    assert cash_of(balances, instruments, "USDT", ignore=["BNB"]) == (D(5), {})


def test_markets_a_venue_lists_but_the_data_does_not_price_add_no_currency(
    tmp_path: Path,
) -> None:
    files = [(_write(tmp_path / "btc_usdt.csv", _wave(40000, 0.05)), "BTC/USDT")]
    listed = ', instruments: [{symbol: BTC/EUR, tick_size: "0.01", lot_size: "0.001"}]'
    engine = _run(_engine(_config(files, balances=listed)))
    assert engine.portfolio.quote_currency == "USDT"
    assert engine.portfolio.rates() == {}
    assert ("v", "BTC/EUR") in engine.instruments
    assert _fills(engine)


def test_a_run_folder_book_starts_from_the_cash_the_run_recorded(
    runner: CliRunner, tmp_path: Path
) -> None:
    # The default paper venue has no configured balances: its start is in the ledger only.
    closes = [100.0 + i for i in range(60)] + [159.0 - i for i in range(60)]
    _write(tmp_path / "btc.csv", closes)
    args = ["backtest", "--data", "btc.csv", "--run-id", "rb", "--no-progress"]
    assert runner.invoke(app, args).exit_code == 0
    folder = tmp_path / "runs" / "rb"
    ledger = open_ledger(f"sqlite:///{folder / 'ledger.sqlite'}")
    try:
        fills = [r.payload for r in ledger.records() if r.type is RecordType.FILL]
    finally:
        ledger.close()
    assert fills
    flows = sum(
        (
            D(str(f["quantity"])) * D(str(f["price"])) * (1 if f["side"] == "sell" else -1)
            - D(str(f["fee"]))
            for f in fills
        ),
        D(0),
    )
    book = portfolio_from_run(folder)
    [balance] = book.portfolio.balances
    assert (balance.asset, balance.venue) == ("USDT", "backtest")
    assert balance.free == D(100000) + flows
