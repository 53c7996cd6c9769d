"""Return histories at their edges: gaps, other venues, mixed timeframes, too little data.

Every VaR and stress figure starts from these returns, so each case is checked with
figures computed by hand: a gap must never become a two-bar return, a second venue's
prices must never be mixed into a symbol's series, and too little data must be refused
with a message that says what is missing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crypto_bot_core.risk.returns import (
    ReturnHistory,
    interval_seconds,
    refit_boundary,
    returns_from_bars,
    returns_from_closes,
    returns_from_market,
)
from crypto_bot_sdk import Bar, InMemoryMarketView, RiskError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _bar(symbol: str, hour: int, close: str, *, venue: str = "alpha", tf: str = "1h") -> Bar:
    price = Decimal(close)
    return Bar(
        symbol=symbol,
        venue=venue,
        ts=T0 + hour * HOUR,
        timeframe=tf,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
    )


def test_a_gap_is_not_turned_into_one_return_across_it() -> None:
    # Hours 0, 1, 2 then 4: returns 0->1 and 1->2 count; 2->4 spans a gap and is dropped.
    closes = {
        "BTC/USDT": [(T0, 100.0), (T0 + HOUR, 110.0), (T0 + 2 * HOUR, 99.0), (T0 + 4 * HOUR, 200.0)]
    }
    history = returns_from_closes(closes, 3600.0)
    assert history.symbols == ("BTC/USDT",)
    assert history.returns[:, 0].tolist() == pytest.approx([0.10, -0.10])
    assert history.end == T0 + 4 * HOUR
    assert history.observations == 2
    assert history.horizon_scale(86_400.0) == pytest.approx(24**0.5)


def test_only_the_timestamps_every_symbol_has_are_used() -> None:
    closes = {
        "BTC/USDT": [(T0, 100.0), (T0 + HOUR, 102.0), (T0 + 2 * HOUR, 51.0)],
        "ETH/USDT": [(T0 + HOUR, 10.0), (T0 + 2 * HOUR, 11.0)],
    }
    history = returns_from_closes(closes, 3600.0)
    assert history.returns == pytest.approx(np.array([[-0.5, 0.1]]))


def test_too_few_shared_timestamps_are_refused_naming_the_symbols() -> None:
    closes = {"BTC/USDT": [(T0, 1.0), (T0 + HOUR, 2.0)], "ETH/USDT": [(T0 + 5 * HOUR, 1.0)]}
    with pytest.raises(RiskError) as caught:
        returns_from_closes(closes, 3600.0)
    assert str(caught.value) == (
        "the price histories of ['BTC/USDT', 'ETH/USDT'] share 0 timestamp(s); "
        "returns need at least two consecutive ones"
    )


def test_a_symbol_without_prices_is_refused() -> None:
    with pytest.raises(RiskError, match=r"^no prices for \['SOL/USDT'\]: cannot estimate"):
        returns_from_closes({"BTC/USDT": [(T0, 1.0)]}, 3600.0, symbols=["SOL/USDT"])


def test_selecting_columns_keeps_their_order_and_names_what_is_missing() -> None:
    closes = {
        "BTC/USDT": [(T0, 100.0), (T0 + HOUR, 110.0)],
        "ETH/USDT": [(T0, 10.0), (T0 + HOUR, 8.0)],
    }
    history = returns_from_closes(closes, 3600.0)
    swapped = history.select(["ETH/USDT", "BTC/USDT"])
    assert isinstance(swapped, ReturnHistory)
    assert swapped.returns == pytest.approx(np.array([[-0.2, 0.1]]))
    with pytest.raises(RiskError) as caught:
        history.select(["BTC/USDT", "XRP/USDT"])
    assert str(caught.value) == (
        "no return history for ['XRP/USDT']; the history covers ['BTC/USDT', 'ETH/USDT']"
    )


def test_bars_of_a_second_venue_and_unwanted_symbols_are_left_out() -> None:
    bars = [
        _bar("BTC/USDT", 0, "100"),
        _bar("BTC/USDT", 0, "500", venue="beta"),  # the first venue seen supplies BTC
        _bar("ETH/USDT", 0, "10"),
        _bar("BTC/USDT", 1, "125"),
        _bar("BTC/USDT", 1, "900", venue="beta"),
        _bar("ETH/USDT", 1, "20"),
    ]
    history = returns_from_bars(bars, symbols=["BTC/USDT"])
    assert history.symbols == ("BTC/USDT",)
    assert history.returns == pytest.approx(np.array([[0.25]]))
    assert history.bar_seconds == 3600.0


def test_a_limit_keeps_only_the_most_recent_returns() -> None:
    bars = [_bar("BTC/USDT", h, close) for h, close in enumerate(["100", "200", "100", "150"])]
    history = returns_from_bars(bars, limit=2)
    assert history.returns[:, 0].tolist() == pytest.approx([-0.5, 0.5])


def test_bars_of_several_timeframes_or_none_at_all_are_refused() -> None:
    mixed = [_bar("BTC/USDT", 0, "1"), _bar("BTC/USDT", 1, "1", tf="1d")]
    with pytest.raises(RiskError) as caught:
        returns_from_bars(mixed)
    assert str(caught.value) == "bars of several timeframes ['1d', '1h']; use one"
    with pytest.raises(RiskError) as caught:
        returns_from_bars([])
    assert str(caught.value) == "no bars to estimate returns from"


def test_the_market_views_window_ends_at_until() -> None:
    view = InMemoryMarketView()
    for hour, close in enumerate(["100", "110", "121", "60.5"]):
        view.update(_bar("BTC/USDT", hour, close))
    latest = returns_from_market(view, ["BTC/USDT"], lookback=2)
    assert latest.returns[:, 0].tolist() == pytest.approx([0.1, -0.5])
    as_of = returns_from_market(view, ["BTC/USDT"], lookback=2, until=T0 + 2 * HOUR)
    assert as_of.returns[:, 0].tolist() == pytest.approx([0.1, 0.1])
    assert as_of.end == T0 + 2 * HOUR


def test_a_market_view_with_mixed_or_no_bars_is_refused() -> None:
    view = InMemoryMarketView()
    view.update(_bar("BTC/USDT", 0, "1"))
    view.update(_bar("ETH/USDT", 0, "1", tf="1d"))
    with pytest.raises(RiskError) as caught:
        returns_from_market(view, ["BTC/USDT", "ETH/USDT"], lookback=5)
    assert str(caught.value) == "bars of several timeframes ['1d', '1h'] in the market view"
    with pytest.raises(RiskError) as caught:
        returns_from_market(view, ["SOL/USDT"], lookback=5)
    assert str(caught.value) == "the market view has no bars of ['SOL/USDT']"


def test_timeframes_are_counts_of_fixed_units_and_months_are_refused() -> None:
    assert interval_seconds("5m") == 300.0
    assert interval_seconds("2w") == 1_209_600.0
    for text in ("1M", "0h", "m5"):
        with pytest.raises(ValueError, match="is not a count and a unit") as caught:
            interval_seconds(text)
        assert str(caught.value) == (
            f"interval {text!r} is not a count and a unit s, m, h, d or w (e.g. '5m', '1d')"
        )


def test_a_refit_boundary_is_the_last_whole_interval_since_the_epoch() -> None:
    now = datetime(2024, 1, 1, 13, 45, 10, tzinfo=UTC)
    assert refit_boundary(now, 86_400.0) == datetime(2024, 1, 1, tzinfo=UTC)
    assert refit_boundary(now, 3600.0) == datetime(2024, 1, 1, 13, tzinfo=UTC)
    assert refit_boundary(datetime(2024, 1, 1, tzinfo=UTC), 86_400.0) == datetime(
        2024, 1, 1, tzinfo=UTC
    )
