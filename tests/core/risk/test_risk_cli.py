"""``cryptobot risk var|stress|scenarios`` on portfolio files, run folders and replays."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_bot_core.app.runner import run_session
from crypto_bot_core.cli.app import app
from crypto_bot_core.config import load_config

PORTFOLIO = """\
quote_currency: USDT
ts: 2024-06-01T00:00:00Z
balances:
  - {asset: USDT, venue: alpha, free: "40000"}
positions:
  - {symbol: BTC/USDT, venue: alpha, quantity: "0.75", average_entry_price: "58000",
     mark_price: "61234.56"}
  - {symbol: ETH/USDT:USDT, venue: beta, quantity: "-12.5", average_entry_price: "3300",
     mark_price: "3210.98"}
"""

SESSION = """\
mode: paper
run: {{seed: 1, run_dir: {run_dir}}}
data_sources:
  - name: market
    plugin: synthetic-market
    config: {{symbols: [BTC/USDT, ETH/USDT], venues: [alpha, beta], timeframe: 1h, bars: 400,
             seed: 3}}
agents:
  - {{name: ema, plugin: "technical-agents:ema_crossover", config: {{fast: 5, slow: 20}}}}
exchanges:
  - {{name: alpha, plugin: paper-exchange,
     config: {{venue: alpha, data_venue: alpha, balances: {{USDT: "100000"}}}}}}
  - {{name: beta, plugin: paper-exchange,
     config: {{venue: beta, data_venue: beta, balances: {{USDT: "100000"}}}}}}
sizing: {{mode: discrete, notional_per_symbol: "20000", entry_threshold: 0.1}}
"""


Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def invoke() -> Invoke:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["risk", *args])
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def portfolio_file(tmp_path: Path) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(PORTFOLIO)
    return path


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("session")
    path = folder / "session.yaml"
    path.write_text(SESSION.format(run_dir=(folder / "runs").as_posix()))
    return path


def test_scenarios_lists_the_shipped_set(invoke: Invoke) -> None:
    code, out, _ = invoke("scenarios")
    assert code == 0
    assert "market-crash-30" in out
    assert "price, volatility, correlation" in out
    code, out, _ = invoke("scenarios", "--format", "json")
    names = {s["name"] for s in json.loads(out)}
    assert names == {
        "market-crash-30",
        "btc-crash-50",
        "exchange-outage",
        "regulatory-ban",
        "liquidity-removal-90",
        "funding-spike",
    }


def test_stress_of_a_portfolio_file_in_three_formats(invoke: Invoke, portfolio_file: Path) -> None:
    code, out, _ = invoke("stress", "market-crash-30", "-p", str(portfolio_file), "--no-var")
    assert code == 0
    # -30% of 45,925.92 long BTC and of 40,137.25 short ETH: -13,777.776 + 12,041.175.
    assert "projected P&L -1,736.60 USDT (loss 1,736.60 USDT)" in out
    code, out, _ = invoke(
        "stress", "market-crash-30", "-p", str(portfolio_file), "--no-var", "-f", "json"
    )
    result = json.loads(out)
    assert Decimal(result["total_pnl"]) == Decimal("-1736.601")
    assert [v["venue"] for v in result["venues"]] == ["alpha", "beta"]
    code, out, _ = invoke(
        "stress", "market-crash-30", "-p", str(portfolio_file), "--no-var", "-f", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["level"] for r in rows] == ["position", "position", "venue", "venue", "total"]
    assert Decimal(rows[0]["price_pnl"]) == Decimal("-13777.776")
    assert Decimal(rows[-1]["total_pnl"]) == Decimal("-1736.601")


def test_var_of_a_portfolio_file_on_synthetic_returns(invoke: Invoke, portfolio_file: Path) -> None:
    code, out, _ = invoke("var", "-p", str(portfolio_file), "-f", "json", "--paths", "5000")
    assert code == 0
    report = json.loads(out)
    assert report["returns_source"].startswith("synthetic market (seed 0")
    methods = {m["method"]: m for m in report["methods"]}
    mc = methods["monte-carlo (t copula)"]
    assert 0 < mc["var"] < mc["es"]
    assert report["exposures"] == {"BTC/USDT": 45925.92, "ETH/USDT:USDT": -40137.25}
    code, out, _ = invoke("var", "-p", str(portfolio_file), "--paths", "5000")
    for method in ("monte-carlo (t copula)", "historical", "parametric (normal)"):
        assert method in out


def test_malformed_scenario_file_exits_2_naming_key_and_line(
    invoke: Invoke, tmp_path: Path, portfolio_file: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nshocks:\n  - price: {move: -0.3, symbols: '*'}\n"
        "  - funding: {rate: 2, symbols: '*'}\n"
    )
    code, _, err = invoke("stress", str(bad), "-p", str(portfolio_file))
    assert code == 2
    assert f"{bad}:4:" in err
    assert "shocks[1].funding.rate: Input should be less than or equal to 1" in err


def test_usage_errors_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    code, _, err = invoke("var")
    assert (code, "say what to measure") == (2, err.split("error: ")[1][:19])
    broken = tmp_path / "broken.yaml"
    broken.write_text("positions:\n  - {symbol: BTC/USDT, venue: alpha, quantity: '1'}\n")
    code, _, err = invoke("stress", "btc-crash-50", "-p", str(broken))
    assert code == 2
    assert f"{broken}:2:" in err
    assert "needs an average entry price" in err
    code, _, err = invoke("scenarios", "--format", "xml")
    assert code == 2
    assert "table, json, csv" in err


def test_var_and_stress_of_a_run_folder(invoke: Invoke, session: Path) -> None:
    result = run_session(load_config(session), run_id="risk-cli")
    assert result.summary.fills > 0
    code, out, err = invoke(
        "stress", "market-crash-30", "--run", str(result.run_dir), "-f", "json", "--no-var"
    )
    assert code == 0, err
    stressed = json.loads(out)
    exposure = sum(Decimal(p["exposure"]) for p in stressed["positions"])
    assert Decimal(stressed["total_pnl"]) == Decimal("-0.3") * exposure
    code, out, err = invoke("var", "--run", str(result.run_dir), "-f", "json", "--paths", "2000")
    assert code == 0, err
    report = json.loads(out)
    assert report["returns_source"] == "the run's data sources"
    assert set(report["exposures"]) <= {"BTC/USDT", "ETH/USDT"}
    assert report["model"]["observations"] == 250


def test_stress_replayed_through_the_engine(invoke: Invoke, session: Path) -> None:
    code, out, err = invoke("stress", "exchange-outage", "--replay", str(session), "-f", "json")
    assert code == 0, err
    replay = json.loads(out)
    venues = {v["venue"]: v for v in replay["venues"]}
    halted = [v for v in venues.values() if Decimal(v["halt_writedown"]) > 0]
    assert len(halted) == 1
    # A quarter of the halted venue's final equity in the shocked run is written off.
    assert Decimal(halted[0]["halt_writedown"]) == Decimal("0.25") * Decimal(
        halted[0]["shocked_equity"]
    )
    assert Decimal(replay["total_pnl"]) < 0


def test_importing_the_risk_commands_loads_no_numerics() -> None:
    probe = (
        "import sys, crypto_bot_core.cli.risk, crypto_bot_core.builtins.risk_engine.plugin\n"
        "print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
