"""Statistics of the synthetic market: clustering, regimes, spreads, basis and volume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crypto_bot_core.builtins.synthetic_market.config import SyntheticMarketConfig
from crypto_bot_core.builtins.synthetic_market.recurrence import (
    linear_recurrence,
    ornstein_uhlenbeck,
)
from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket


def _market(**settings: object) -> SyntheticMarket:
    return SyntheticMarket.from_config({"seed": 7, **settings})


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def _autocorrelation(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


def test_linear_recurrence_matches_the_loop_it_replaces() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    a = 0.9 + 0.08 * rng.standard_normal(n) ** 2  # GARCH-like: sometimes above 1
    b = rng.random(n) * 1e-6
    expected = np.empty(n)
    y = 2e-6
    for t in range(n):
        y = a[t] * y + b[t]
        expected[t] = y
    np.testing.assert_allclose(linear_recurrence(a, b, 2e-6), expected, rtol=1e-10)


def test_linear_recurrence_with_tiny_coefficient_cuts_short_blocks() -> None:
    b = np.arange(1.0, 301.0)
    expected = np.empty(300)
    y = 5.0
    for t in range(300):
        y = 1e-3 * y + b[t]
        expected[t] = y
    np.testing.assert_allclose(linear_recurrence(1e-3, b, 5.0), expected, rtol=1e-12)


def test_ornstein_uhlenbeck_has_the_requested_std_and_half_life() -> None:
    path = ornstein_uhlenbeck(np.random.default_rng(11), 400_000, std=2.0, half_life=20.0)
    assert path.std() == pytest.approx(2.0, rel=0.05)
    phi = _autocorrelation(path, 1)
    assert phi == pytest.approx(0.5 ** (1 / 20), abs=0.005)


def test_squared_returns_cluster_under_garch_and_not_without_it() -> None:
    steady = {"range_vol_multiplier": 1.0, "high_vol_multiplier": 1.0, "trend_drift": 0.0}
    settings = {"symbols": ["BTC/USDT"], "venues": ["v"], "bars": 100_000, **steady}
    clustered = _market(**settings).arrays("BTC/USDT", "v")["close"]
    plain = _market(**settings, garch_alpha=0.0).arrays("BTC/USDT", "v")["close"]
    acf_clustered = _autocorrelation(_log_returns(clustered) ** 2, 1)
    acf_plain = _autocorrelation(_log_returns(plain) ** 2, 1)
    assert acf_clustered > 0.05
    assert abs(acf_plain) < 0.02
    # Clustering persists: still visible ten bars later.
    assert _autocorrelation(_log_returns(clustered) ** 2, 10) > 0.03


def test_long_run_volatility_matches_the_annual_setting() -> None:
    steady = {"range_vol_multiplier": 1.0, "high_vol_multiplier": 1.0, "trend_drift": 0.0}
    src = _market(symbols=["ETH/USDT"], venues=["v"], bars=200_000, annual_volatility=0.8, **steady)
    returns = _log_returns(src.arrays("ETH/USDT", "v")["close"])
    per_bar = 0.8 * math.sqrt(60 / (365 * 86400))
    assert returns.std() == pytest.approx(per_bar, rel=0.1)


def test_regimes_drive_drift_and_volatility() -> None:
    src = _market(symbols=["BTC/USDT"], venues=["v"], bars=300_000, regime_mean_bars=2000)
    returns = _log_returns(src.arrays("BTC/USDT", "v")["close"])
    regimes = np.array(src.regimes()[1:])
    assert set(regimes.tolist()) == {"range", "trend_up", "trend_down", "high_vol"}
    up, down = returns[regimes == "trend_up"], returns[regimes == "trend_down"]
    assert up.mean() > 0 > down.mean()
    assert returns[regimes == "high_vol"].std() > 2 * returns[regimes == "range"].std()


def test_range_regime_pulls_prices_back() -> None:
    settings = {"symbols": ["BTC/USDT"], "venues": ["v"], "bars": 20_000, "regime_mean_bars": 10**6}
    # One long range spell: with reversion the log price stays near its start.
    held = np.log(_market(**settings, range_reversion=0.05).arrays("BTC/USDT", "v")["close"])
    free = np.log(_market(**settings, range_reversion=0.0).arrays("BTC/USDT", "v")["close"])
    assert set(_market(**settings).regimes()) == {"range"}
    assert np.abs(held - math.log(60000)).max() < 0.02
    assert np.abs(free - math.log(60000)).max() > 3 * np.abs(held - math.log(60000)).max()


def test_cross_venue_spreads_are_bounded_and_mean_revert() -> None:
    src = _market(
        symbols=["BTC/USDT"],
        venues=["binance", "okx", "bybit"],
        bars=100_000,
        venue_spread_bps=4.0,
        venue_spread_half_life_bars=25.0,
    )
    a = src.arrays("BTC/USDT", "binance")["close"]
    b = src.arrays("BTC/USDT", "okx")["close"]
    spread = np.log(a / b)
    # Two independent offsets of std 4 bps: the spread's std is 4 * sqrt(2) bps.
    assert spread.std() == pytest.approx(4e-4 * math.sqrt(2), rel=0.1)
    assert abs(spread.mean()) < 1e-4
    assert np.abs(spread).max() < 10 * 4e-4 * math.sqrt(2)
    # Deviations decay with the configured half-life: lag-1 autocorrelation is 0.5**(1/25).
    assert _autocorrelation(spread, 1) == pytest.approx(0.5 ** (1 / 25), abs=0.01)
    assert _autocorrelation(spread, 100) < 0.15
    # The spread changes sign often: venues trade through each other, neither is always dearer.
    assert 0.3 < float((spread > 0).mean()) < 0.7


def test_perpetual_trades_at_a_mean_reverting_basis_over_spot() -> None:
    src = _market(
        symbols=["BTC/USDT", "BTC/USDT:USDT"], venues=["v"], bars=50_000, perp_basis_bps=6.0
    )
    spot = src.arrays("BTC/USDT", "v")["close"]
    perp = src.arrays("BTC/USDT:USDT", "v")["close"]
    basis = np.log(perp / spot)
    assert basis.mean() == pytest.approx(6e-4, abs=1.5e-4)
    assert np.abs(basis - 6e-4).max() < 0.003


def test_volume_rises_with_the_size_of_the_move() -> None:
    src = _market(symbols=["SOL/USDT"], venues=["v"], bars=50_000)
    arrays = src.arrays("SOL/USDT", "v")
    moves = np.abs(_log_returns(arrays["close"]))
    volume = arrays["volume"][1:]
    assert np.corrcoef(moves, volume)[0, 1] > 0.2
    notional_per_day = float((arrays["volume"] * arrays["close"]).sum()) / (50_000 / 1440)
    assert notional_per_day == pytest.approx(50_000_000, rel=0.35)


def test_second_venue_has_less_volume_than_the_first() -> None:
    src = _market(symbols=["BTC/USDT"], venues=["a", "b"], bars=20_000)
    first = src.arrays("BTC/USDT", "a")["volume"].sum()
    second = src.arrays("BTC/USDT", "b")["volume"].sum()
    assert second / first == pytest.approx(1 / 1.5, rel=0.05)


def test_defaults_for_price_grids_follow_the_price_level() -> None:
    cfg = SyntheticMarketConfig(
        symbols=("BTC/USDT", "XRP/USDT", "AAA/USDT"), initial_prices={"AAA/USDT": 12}
    )
    assert str(cfg.tick_size("BTC/USDT")) == "0.01"
    assert str(cfg.lot_size("BTC/USDT")) == "0.00001"
    assert str(cfg.tick_size("XRP/USDT")) == "0.00001"
    assert str(cfg.lot_size("XRP/USDT")) == "1"
    assert str(cfg.tick_size("AAA/USDT")) == "0.001"
    assert str(cfg.lot_size("AAA/USDT")) == "0.01"
