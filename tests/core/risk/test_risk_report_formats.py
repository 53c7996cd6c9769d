"""The risk reports as files and tables: CSV keeps every digit, tables round to cents.

``cryptobot risk var|replay|scenarios --format csv`` is read by spreadsheets and
scripts, so its columns and exact values are the contract; the table is for people
(cents, thousands separators, ``n/a`` for a figure that does not exist).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from crypto_bot_core.app.risk_replay import ReplayResult, VenueReplay
from crypto_bot_core.app.risk_report import cents, render_replay, render_scenarios, render_var
from crypto_bot_core.risk.portfolio_var import VarSettings, portfolio_var
from crypto_bot_core.risk.returns import ReturnHistory
from crypto_bot_core.risk.scenario_file import shipped_scenarios

AT = datetime(2024, 6, 1, tzinfo=UTC)
REPLAY = ReplayResult(
    scenario="market-crash-30",
    at=AT,
    end=None,
    venues=(
        VenueReplay(
            venue="alpha",
            baseline_equity=Decimal("100000"),
            shocked_equity=Decimal("91234.567"),
            halt_writedown=Decimal(0),
            ban_cost=Decimal("12.5"),
        ),
        VenueReplay(
            venue="beta",
            baseline_equity=Decimal("50000"),
            shocked_equity=Decimal("50000"),
            halt_writedown=Decimal("25000"),
            ban_cost=Decimal(0),
        ),
    ),
    warnings=("beta halted for the rest of the replay",),
)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_cents_round_half_to_even_with_separators_and_say_na_for_nothing() -> None:
    assert cents(Decimal("1234567.125")) == "1,234,567.12"
    assert cents(Decimal("0.135")) == "0.14"
    assert cents(-2.5) == "-2.50"
    assert cents(None) == "n/a"


def test_a_replay_as_csv_keeps_exact_amounts_and_the_pnl_per_venue() -> None:
    rows = _rows(render_replay(REPLAY, "csv"))
    assert rows == [
        ["venue", "plain equity", "shocked equity", "halt write-down", "ban cost", "P&L"],
        # 91,234.567 - 12.5 - 100,000 = -8,777.933
        ["alpha", "100000", "91234.567", "0", "12.5", "-8777.933"],
        ["beta", "50000", "50000", "25000", "0", "-25000"],
    ]


def test_a_replay_as_a_table_rounds_to_cents_and_ends_with_the_total_and_notes() -> None:
    text = render_replay(REPLAY, "table")
    lines = text.splitlines()
    assert lines[0] == (
        "scenario market-crash-30 replayed through the engine from 2024-06-01T00:00:00+00:00"
    )
    assert lines[2].split() == [
        "venue", "plain", "equity", "shocked", "equity", "halt", "write-down", "ban", "cost", "P&L"
    ]
    assert lines[4].split() == ["alpha", "100,000.00", "91,234.57", "0.00", "12.50", "-8,777.93"]
    assert lines[5].split() == ["beta", "50,000.00", "50,000.00", "25,000.00", "0.00", "-25,000.00"]
    assert lines[-2:] == [
        "scenario P&L with the strategy's reaction: -33,777.93",
        "note: beta halted for the rest of the replay",
    ]
    assert text.endswith("\n")


def test_the_shipped_scenarios_as_csv_list_each_with_its_kinds_of_shock() -> None:
    shipped = shipped_scenarios()
    rows = _rows(render_scenarios(shipped, "csv"))
    assert rows[0] == ["name", "shocks", "description"]
    assert [row[0] for row in rows[1:]] == [s.name for s in shipped]
    by_name = {row[0]: row for row in rows[1:]}
    crash = next(s for s in shipped if s.name == "btc-crash-50")
    assert by_name["btc-crash-50"][1] == ", ".join(shock.kind for shock in crash.scenario.shocks)
    assert by_name["btc-crash-50"][2] == crash.scenario.description


def test_var_as_csv_has_one_row_per_method_with_the_reports_own_figures() -> None:
    returns = np.random.default_rng(3).normal(0.0, 0.02, size=(250, 2))
    history = ReturnHistory(("BTC/USDT", "ETH/USDT"), returns, 86_400.0)
    settings = VarSettings(paths=1000, seed=1, copula="gaussian", marginal="normal")
    report = portfolio_var({"BTC/USDT": 60_000.0, "ETH/USDT": -20_000.0}, history, settings)
    rows = _rows(render_var(report, "csv"))
    assert rows[0] == ["method", "confidence", "horizon", "var", "es", "samples", "currency"]
    expected = [
        [m.method, str(m.confidence), "1d", str(m.var), str(m.es), str(m.samples), "USDT"]
        for m in (report.monte_carlo, report.historical, report.parametric)
    ]
    assert rows[1:] == expected
    assert rows[1][5] == "1000"  # the Monte-Carlo paths asked for
