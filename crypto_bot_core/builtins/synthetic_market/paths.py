"""The synthetic market's price and volume paths, generated in one vectorised pass.

Model, per bar ``t`` (all logs natural, ``sigma`` the long-run per-bar volatility):

* a market-wide regime (range, trend up, trend down, high volatility) switches
  after geometrically distributed spells;
* each pair's shock ``z = sqrt(rho) * m + sqrt(1 - rho) * e`` mixes a common
  market shock ``m`` with its own ``e``; its variance follows GARCH(1,1),
  ``s[t] = omega + (alpha * z[t-1]**2 + beta) * s[t-1]`` with
  ``omega = sigma**2 * (1 - alpha - beta)``, which clusters volatility;
* the pair's log mid price moves by ``drift[regime] + k[regime] * sqrt(s) * z``;
  in a range the log price is also pulled back to its level at the range's start;
* every (symbol, venue) quotes the mid times ``exp(basis + offset)``: the
  offset is a venue's own mean-reverting (Ornstein-Uhlenbeck) deviation, so
  cross-venue spreads exist and close again; perpetuals add a mean-reverting basis;
* highs and lows extend past open/close by the maximum of a Brownian bridge
  with the bar's volatility; volume follows volatility, the shock's size and
  the time of day.

Prices are kept as integer ticks and volumes as integer lots, so the
``Decimal`` in a :class:`~crypto_bot_sdk.Bar` and the float in the array fast
path are the same number.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from crypto_bot_core.builtins.synthetic_market.config import SyntheticMarketConfig, pair_of
from crypto_bot_core.builtins.synthetic_market.recurrence import (
    linear_recurrence,
    ornstein_uhlenbeck,
)
from crypto_bot_sdk import parse_symbol

RANGE, TREND_UP, TREND_DOWN, HIGH_VOL = 0, 1, 2, 3
REGIME_NAMES = ("range", "trend_up", "trend_down", "high_vol")
_REGIME_WEIGHTS = np.array([0.4, 0.25, 0.25, 0.1])
_HIGH_VOL_SPELL_SHARE = 0.25  # high-volatility spells last a quarter as long as the others
_VOLUME_NOISE = 0.35  # log-normal std of volume around its expected level
_PERP_VOLUME_FACTOR = 2.5  # perpetuals trade more than spot, as on real venues
_SECONDS_PER_YEAR = 365 * 86400
_MEAN_ABS_NORMAL = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class SeriesTicks:
    """One market's bars as integers: prices in ticks of ``10**price_exponent``, volume in lots."""

    open: NDArray[np.int64]
    high: NDArray[np.int64]
    low: NDArray[np.int64]
    close: NDArray[np.int64]
    volume: NDArray[np.int64]
    price_exponent: int
    volume_exponent: int


@dataclass(frozen=True)
class MarketPaths:
    ts_ms: NDArray[np.int64]
    regimes: NDArray[np.int8]
    series: dict[tuple[str, str], SeriesTicks]
    basis: dict[str, NDArray[np.float64]]
    """Per perpetual: its premium over the pair's mid, at each bar boundary (log units)."""


def rng_for(seed: int, label: str) -> np.random.Generator:
    """A generator per named stream: adding a symbol never changes another symbol's path."""
    digest = hashlib.sha256(label.encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def exponent_of(increment: Decimal) -> int:
    """``Decimal("0.01")`` -> -2: the power of ten an increment is."""
    exponent = increment.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite by config validation
    return exponent


def regime_path(config: SyntheticMarketConfig, n: int) -> NDArray[np.int8]:
    """Market regimes bar by bar: spells of geometric length, each followed by a different one."""
    rng = rng_for(config.seed, "regimes")
    mean = float(config.regime_mean_bars)
    codes: list[int] = []
    lengths: list[int] = []
    covered, current = 0, RANGE
    while covered < n:
        spell_mean = mean * (_HIGH_VOL_SPELL_SHARE if current == HIGH_VOL else 1.0)
        length = int(rng.geometric(1.0 / max(spell_mean, 1.0)))
        codes.append(current)
        lengths.append(length)
        covered += length
        weights = _REGIME_WEIGHTS.copy()
        weights[current] = 0.0
        current = int(rng.choice(4, p=weights / weights.sum()))
    return np.repeat(np.array(codes, dtype=np.int8), lengths)[:n]


def _segments(regimes: NDArray[np.int8]) -> Iterable[tuple[int, int, int]]:
    if regimes.size == 0:
        return
    cuts = np.flatnonzero(np.diff(regimes)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [regimes.size]))
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        yield s, e, int(regimes[s])


@dataclass(frozen=True)
class _PairPath:
    log_mid: NDArray[np.float64]  # n + 1 values: the close before bar 0, then each close
    excursion_up: NDArray[np.float64]
    excursion_down: NDArray[np.float64]
    activity: NDArray[np.float64]  # expected-volume multiplier, mean about 1


def _pair_path(
    config: SyntheticMarketConfig,
    pair: str,
    regimes: NDArray[np.int8],
    market: NDArray[np.float64],
    ts_ms: NDArray[np.int64],
) -> _PairPath:
    n = regimes.size
    rho = config.market_correlation
    own = rng_for(config.seed, f"pair:{pair}")
    z = math.sqrt(rho) * market + math.sqrt(1.0 - rho) * own.standard_normal(n)
    sigma = config.volatility(pair) * math.sqrt(config.bar_seconds / _SECONDS_PER_YEAR)
    alpha, beta = config.garch_alpha, config.garch_beta
    omega = sigma * sigma * (1.0 - alpha - beta)
    variance = np.empty(n, dtype=np.float64)
    if n:
        variance[0] = sigma * sigma
        variance[1:] = linear_recurrence(
            beta + alpha * z[:-1] ** 2, np.full(n - 1, omega), sigma**2
        )
    scale = np.array(
        [config.range_vol_multiplier, 1.0, 1.0, config.high_vol_multiplier], dtype=np.float64
    )[regimes]
    bar_vol = scale * np.sqrt(variance)
    shock = bar_vol * z
    drift = config.trend_drift * sigma
    log_mid = np.empty(n + 1, dtype=np.float64)
    log_mid[0] = math.log(float(config.initial_price(pair)))
    kappa = config.range_reversion
    for s, e, regime in _segments(regimes):
        anchor = log_mid[s]
        if regime == RANGE and kappa > 0.0:
            log_mid[s + 1 : e + 1] = anchor + linear_recurrence(1.0 - kappa, shock[s:e], 0.0)
        else:
            step = drift if regime == TREND_UP else (-drift if regime == TREND_DOWN else 0.0)
            log_mid[s + 1 : e + 1] = anchor + np.cumsum(shock[s:e] + step)
    uniforms = rng_for(config.seed, f"range:{pair}").random((2, n))
    # Maximum of a Brownian bridge with std v above its higher end: v * sqrt(-log(U) / 2).
    excursion_up = bar_vol * np.sqrt(-0.5 * np.log1p(-uniforms[0]))
    excursion_down = bar_vol * np.sqrt(-0.5 * np.log1p(-uniforms[1]))
    hour = (ts_ms // 1000 % 86400) / 3600.0
    seasonal = 1.0 + 0.35 * np.cos(2.0 * np.pi * (hour - 14.0) / 24.0)  # busiest 14:00 UTC
    activity = (bar_vol / sigma) * (1.0 + np.abs(z)) / (1.0 + _MEAN_ABS_NORMAL) * seasonal
    return _PairPath(log_mid, excursion_up, excursion_down, activity)


def _to_ticks(values: NDArray[np.float64], exponent: int) -> NDArray[np.int64]:
    return np.maximum(np.rint(values * 10.0 ** (-exponent)), 1.0).astype(np.int64)


def _series(
    config: SyntheticMarketConfig,
    *,
    symbol: str,
    venue_index: int,
    venue: str,
    path: _PairPath,
    basis: NDArray[np.float64],
) -> SeriesTicks:
    n = path.activity.size
    offset = ornstein_uhlenbeck(
        rng_for(config.seed, f"offset:{symbol}@{venue}"),
        n + 1,
        std=config.venue_spread_bps / 1e4,
        half_life=config.venue_spread_half_life_bars,
    )
    prices = np.exp(path.log_mid + basis + offset)
    price_exp = exponent_of(config.tick_size(symbol))
    open_t = _to_ticks(prices[:-1], price_exp)
    close_t = _to_ticks(prices[1:], price_exp)
    top = np.maximum(prices[:-1], prices[1:]) * np.exp(path.excursion_up)
    bottom = np.minimum(prices[:-1], prices[1:]) * np.exp(-path.excursion_down)
    high_t = np.maximum(_to_ticks(top, price_exp), np.maximum(open_t, close_t))
    low_t = np.minimum(_to_ticks(bottom, price_exp), np.minimum(open_t, close_t))
    perp = parse_symbol(symbol)[2] is not None
    quote_per_bar = (
        config.daily_quote_volume
        * config.bar_seconds
        / 86400.0
        / (1.0 + 0.5 * venue_index)
        * (_PERP_VOLUME_FACTOR if perp else 1.0)
    )
    noise = rng_for(config.seed, f"volume:{symbol}@{venue}").lognormal(
        -0.5 * _VOLUME_NOISE**2, _VOLUME_NOISE, n
    )
    volume_exp = exponent_of(config.lot_size(symbol))
    base_volume = quote_per_bar * path.activity * noise / prices[1:]
    volume_l = np.rint(base_volume * 10.0 ** (-volume_exp)).astype(np.int64)
    return SeriesTicks(open_t, high_t, low_t, close_t, volume_l, price_exp, volume_exp)


def generate(config: SyntheticMarketConfig) -> MarketPaths:
    """Every market of ``config``, bar by bar; the same config gives the same integers."""
    n = config.bar_count
    bar_ms = config.bar_seconds * 1000
    start_ms = int(config.start.timestamp() * 1000)
    ts_ms = start_ms + np.arange(n, dtype=np.int64) * bar_ms
    regimes = regime_path(config, n)
    market = rng_for(config.seed, "market").standard_normal(n)
    paths: dict[str, _PairPath] = {}
    series: dict[tuple[str, str], SeriesTicks] = {}
    bases: dict[str, NDArray[np.float64]] = {}
    for symbol in config.symbols:
        pair = pair_of(symbol)
        if pair not in paths:
            paths[pair] = _pair_path(config, pair, regimes, market, ts_ms)
        if parse_symbol(symbol)[2] is None:
            basis = np.zeros(n + 1, dtype=np.float64)
        else:
            basis = config.perp_basis_bps / 1e4 + ornstein_uhlenbeck(
                rng_for(config.seed, f"basis:{symbol}"),
                n + 1,
                std=config.perp_basis_vol_bps / 1e4,
                half_life=config.perp_basis_half_life_bars,
            )
            bases[symbol] = basis
        for index, venue in enumerate(config.venues):
            series[(symbol, venue)] = _series(
                config, symbol=symbol, venue_index=index, venue=venue, path=paths[pair], basis=basis
            )
    return MarketPaths(ts_ms, regimes, series, bases)


def as_float(ticks: NDArray[np.int64], exponent: int) -> NDArray[np.float64]:
    """Integer ticks as floats equal to the decimal ``ticks * 10**exponent`` (correctly rounded)."""
    scale = float(10 ** abs(exponent))
    result = ticks / scale if exponent < 0 else ticks * scale
    return result.astype(np.float64, copy=False)
