"""A multi-currency run stopped and resumed keeps every currency it started with.

The start record once kept only the base-currency cash, so a resumed run that
started holding USD *and* EUR restarted its EUR at zero plus its fills: its
equity dropped by the EUR balance the moment it resumed. It now records each
venue's starting cash per currency and restores it, so a stopped and resumed
run ends holding, per currency, exactly what an uninterrupted one holds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from currency_bars import wave as _wave
from currency_bars import write_bars as _write

from crypto_bot_core.app import runner
from crypto_bot_core.app.runner import RunResult, resume_session, run_session
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import RecordType

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BARS = 160
STOP_AFTER = 90
D = Decimal


EUR_USD = _wave(1.08, 0.02, 2.0)


def _config(tmp_path: Path) -> str:
    files = [
        (_write(tmp_path / "btc_usd.csv", _wave(40000, 0.05)), "BTC/USD"),
        (_write(tmp_path / "btc_eur.csv", _wave(37000, 0.06, 1.0)), "BTC/EUR"),
        (_write(tmp_path / "eur_usd.csv", EUR_USD), "EUR/USD"),
    ]
    entries = ", ".join(
        f'{{path: "{path}", symbol: "{symbol}", venue: v, timeframe: 1m}}' for path, symbol in files
    )
    return f"""
mode: paper
run: {{run_dir: {(tmp_path / "runs").as_posix()}}}
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
risk_rules:
  - {{plugin: "standard-risk:max_order_notional", config: {{limit: "5000"}}}}
"""


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """The engine of every session run in the test, in order (to read its book at the end)."""
    seen: list[Engine] = []
    execute = runner._execute

    def keep(assembled: Any, **kwargs: Any) -> RunResult:
        seen.append(assembled.engine)
        return execute(assembled, **kwargs)

    monkeypatch.setattr(runner, "_execute", keep)
    return seen


def _stop_after(ticks: int) -> Any:
    """An ``on_progress`` that interrupts the run as Ctrl-C would, after ``ticks`` ticks."""
    done: list[datetime] = []

    def progress(ts: datetime) -> None:
        done.append(ts)
        if len(done) == ticks:
            raise KeyboardInterrupt

    return progress


def _cash(engine: Engine) -> dict[str, Decimal]:
    account = engine.portfolio.accounts["v"]
    return {engine.portfolio.quote_currency: account.cash, **account.other}


def test_a_resumed_run_keeps_every_starting_currency(tmp_path: Path, engines: list[Engine]) -> None:
    host = Host(environ={}).load()
    text = _config(tmp_path)
    whole = run_session(parse_config(text, environ={}), host=host, run_id="whole")
    assert not whole.interrupted
    stopped = run_session(
        parse_config(text, environ={}), host=host, run_id="cut", on_progress=_stop_after(STOP_AFTER)
    )
    assert stopped.interrupted
    before = engines[1]
    equity_before = before.portfolio.equity()
    resumed = resume_session(stopped.run_dir, host=host)
    assert not resumed.interrupted
    uninterrupted, again = engines[0], engines[2]
    # At the tick the run was stopped, the resumed book is worth what it was before.
    at_stop = before.equity_curve[-1][0]
    assert dict(again.equity_curve)[at_stop] == equity_before
    assert dict(uninterrupted.equity_curve)[at_stop] == equity_before
    # Both currencies traded, and at the end each is held exactly as without the stop.
    fills = {row.fill.symbol for row in uninterrupted.trades}
    assert {"BTC/USD", "BTC/EUR"} <= fills
    assert _cash(again) == _cash(uninterrupted)
    assert set(_cash(again)) == {"USD", "EUR"}
    assert again.portfolio.equity() == uninterrupted.portfolio.equity()
    assert resumed.summary.final_equity == whole.summary.final_equity
    # The start record names each currency's starting cash; the resumed start restores it.
    with open_ledger(f"sqlite:///{stopped.run_dir / 'ledger.sqlite'}") as ledger:
        starts = [r.payload for r in ledger.records() if r.type is RecordType.SYSTEM_START]
    assert [s["initial_cash"] for s in starts] == [{"v": "60000"}, {"v": "60000"}]
    assert [s["initial_currencies"] for s in starts] == [
        {"v": {"EUR": "40000", "USD": "60000"}}
    ] * 2


def test_a_resumed_run_values_the_fills_it_loaded_at_their_own_ticks_rates(
    tmp_path: Path, engines: list[Engine]
) -> None:
    """The ledger's fills are booked before the resumed run knows any price: their EUR cash
    moves at once, their fees and P&L in USD once the replay reaches their tick (a resume
    once refused outright: 'cannot value ... EUR/USD has no price yet')."""
    host = Host(environ={}).load()
    text = _config(tmp_path)
    run_session(parse_config(text, environ={}), host=host, run_id="whole")
    stopped = run_session(
        parse_config(text, environ={}), host=host, run_id="cut", on_progress=_stop_after(STOP_AFTER)
    )
    resumed = resume_session(stopped.run_dir, host=host)
    uninterrupted, before, again = engines
    loaded = {row.fill.fill_id for row in before.trades}
    eur = [row for row in again.trades if row.fill.symbol == "BTC/EUR"]
    assert any(row.fill.fill_id in loaded for row in eur)
    assert any(row.fill.fill_id not in loaded for row in eur)
    whole = [row for row in uninterrupted.trades if row.fill.symbol == "BTC/EUR"]
    assert [row.fill.ts for row in whole] == [row.fill.ts for row in eur]
    rates = again.portfolio.fill_rates
    for mine, theirs in zip(eur, whole, strict=True):
        rate = rates[mine.fill.fill_id]
        if mine.fill.fill_id in loaded:
            tick = math.ceil((mine.fill.ts - T0) / timedelta(minutes=1))
            assert rate == D(str(EUR_USD[tick]))  # the EUR/USD close of the fill's tick
        else:
            assert rate == uninterrupted.portfolio.fill_rates[theirs.fill.fill_id]
        # P&L in USD, never the placeholder a loaded fill waits with.
        assert (mine.realised_pnl > 0) == (theirs.realised_pnl > 0)
        assert (mine.realised_pnl == 0) == (theirs.realised_pnl == 0)
    [venue] = resumed.summary.venues
    assert resumed.summary.fees == venue.fees
