"""Named venues, determinism, snapshot/restore, configuration and plugin registration."""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import crypto_bot_core
from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_core.builtins.paper_exchange.views import bar_end
from crypto_bot_sdk import (
    CAPABILITY_METHODS,
    ENTRY_POINT_GROUP,
    ConfigError,
    DuplicateOrderError,
    ExchangeAdapter,
    Fill,
    Manifest,
    MarketEvent,
    OrderRequest,
    compatibility_problems,
)

from .helpers import PERP, SPOT, D, at, balances, bar, flat_bar, order, run, venue

MANIFEST = Path(crypto_bot_core.__file__).parent / "builtins" / "paper_exchange" / "manifest.json"


# --- several named venues -------------------------------------------------------------


def test_each_venue_applies_its_own_price_offset_and_fees() -> None:
    alpha = venue(venue="alpha", price_offset_bps="10", taker_fee="0.001")
    beta = venue(venue="beta", price_offset="-0.5", taker_fee="0.0005")
    events = [flat_bar(0, 100), bar(1, 100, 101, 99, 100)]
    fills: dict[str, Fill] = {}
    for ex in (alpha, beta):
        ex.process_event(events[0])
        ex.place_order(order("buy", 2, venue_name=ex.venue, coid=f"{ex.venue}-buy"))
        [fills[ex.venue]] = ex.process_event(events[1])
    assert (fills["alpha"].price, fills["alpha"].fee, fills["alpha"].venue) == (
        D("100.1"), D("0.2002"), "alpha",
    )
    assert (fills["beta"].price, fills["beta"].fee, fills["beta"].venue) == (
        D("99.5"), D("0.0995"), "beta",
    )
    assert fills["alpha"].fill_id == "alpha-fill-1"
    assert balances(beta)["USDT"][0] == D(100000) - D(199) - D("0.0995")


def test_offset_applies_to_limits_triggers_and_marks() -> None:
    ex = venue(price_offset_bps="100")  # every price 1% higher on this venue
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("sell", 1, symbol=PERP, price=101, coid="s"))  # 100 here is 101
    [fill] = ex.process_event(bar(1, 99, 100, 98, 100, symbol=PERP))
    assert fill.price == D(101)
    assert ex.position(PERP).mark_price == D(101)


def test_data_venue_filter_ignores_other_venues_events() -> None:
    ex = venue(data_venue="binance")
    event = flat_bar(0, 100)  # venue "data"
    assert ex.process_event(event) == ()
    assert run(ex.load_instruments()) == []
    ex.process_event(event.model_copy(update={"venue": "binance"}))
    assert [i.symbol for i in run(ex.load_instruments())] == [SPOT]


# --- determinism and snapshots ----------------------------------------------------------


def _events() -> list[MarketEvent]:
    prices = [100, 101, 99, 103, 98, 104, 106, 102, 97, 105]
    events: list[MarketEvent] = [
        bar(i, p, p + 2, p - 2, p + 1, volume=40 + i)
        for i, p in enumerate(prices)
    ]
    return events + [flat_bar(i, p, volume=30, symbol=PERP) for i, p in enumerate(prices)]


def _orders() -> dict[int, list[OrderRequest]]:
    return {
        0: [order("buy", 3, coid="d1"), order("buy", 2, price=99, coid="d2")],
        2: [order("sell", 1, stop=100, coid="d3"), order("buy", 5, symbol=PERP, coid="d4")],
        4: [order("sell", 2, symbol=PERP, price=105, reduce_only=True, coid="d5")],
        6: [order("buy", 1, price=110, tif="IOC", coid="d6")],
    }


def _drive(ex: PaperExchange, events: Sequence[MarketEvent], start: int = 0) -> list[Fill]:
    fills: list[Fill] = []
    orders = _orders()
    by_minute: dict[int, list[MarketEvent]] = {}
    for event in events:
        by_minute.setdefault(int((event.ts - at(0)).total_seconds() // 60), []).append(event)
    for minute in sorted(by_minute):
        if minute < start:
            continue
        for event in by_minute[minute]:
            fills.extend(ex.process_event(event))
        for request in orders.get(minute, []):
            ex.place_order(request)
    return fills


def _settings() -> dict[str, Any]:
    return {"max_participation": "0.1", "impact_coefficient": "0.05", "taker_fee": "0.0004",
            "maker_fee": "0.0002", "leverage": "3"}


def test_same_events_and_orders_give_identical_fills() -> None:
    first = _drive(venue(**_settings()), _events())
    second = _drive(venue(**_settings()), _events())
    assert len(first) == 8  # partial, maker, taker, stop, reduce-only and IOC fills
    assert [f.model_dump() for f in first] == [f.model_dump() for f in second]


def test_snapshot_restore_continues_exactly_like_the_original() -> None:
    events = _events()
    early = [e for e in events if e.ts < at(5)]
    late = [e for e in events if e.ts >= at(5)]
    original = venue(**_settings())
    _drive(original, early)
    data = json.loads(json.dumps(original.snapshot()))  # survives a trip through JSON text

    restored = venue(**_settings())
    restored.restore(data)
    assert restored.snapshot() == original.snapshot()
    assert restored.now == original.now
    assert run(restored.fetch_open_orders()) == run(original.fetch_open_orders())

    tail_original = _drive(original, late, start=5)
    tail_restored = _drive(restored, late, start=5)
    assert tail_original
    assert [f.model_dump() for f in tail_restored] == [
        f.model_dump() for f in tail_original
    ]
    assert run(restored.fetch_balances()) == run(original.fetch_balances())
    assert restored.position(PERP) == original.position(PERP)
    with pytest.raises(DuplicateOrderError):  # the id is still known after the restart
        restored.place_order(order("sell", 9, coid="d1"))


def test_restore_refuses_another_venue_or_a_used_adapter() -> None:
    ex = venue(**_settings())
    _drive(ex, _events())
    data = ex.snapshot()
    with pytest.raises(ConfigError, match="belongs to venue 'paper'"):
        venue(venue="other").restore(data)
    with pytest.raises(ConfigError, match="already traded"):
        ex.restore(data)
    with pytest.raises(ConfigError, match="format"):
        venue().restore({**data, "format": 99})


# --- configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        ({"fill_at": "signal_close", "latency_ms": 5}, "config", "latency_ms 5 contradicts"),
        ({"balances": {"USDT": "-1"}}, "config.balances", "give a finite amount >= 0"),
        ({"maker_fee": "-0.0001"}, "config.maker_fee", "greater than or equal to 0"),
        ({"instruments": [{"symbol": "btc-usdt", "tick_size": "1", "lot_size": "1"}]},
         "config.instruments[0].symbol", "ccxt unified symbol"),
        ({"instruments": [{"symbol": SPOT, "tick_size": "1", "lot_size": "1"}] * 2},
         "config", "more than once"),
        ({"venue": "has space"}, "config.venue", "pattern"),
        ({"fees": "0.1"}, "config.fees", "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(
    settings: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        PaperExchange.from_config(settings)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("timeframe", "opened", "closed"),
    [
        ("1m", datetime(2024, 1, 1, 0, 0, tzinfo=UTC), datetime(2024, 1, 1, 0, 1, tzinfo=UTC)),
        ("4h", datetime(2024, 1, 1, 20, tzinfo=UTC), datetime(2024, 1, 2, 0, tzinfo=UTC)),
        ("1M", datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)),
        ("3M", datetime(2024, 11, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)),
    ],
)
def test_a_bar_becomes_known_at_its_close(timeframe: str, opened: datetime,
                                          closed: datetime) -> None:
    event = flat_bar(0, 100).model_copy(update={"timeframe": timeframe, "ts": opened})
    assert bar_end(event) == closed


# --- plugin registration --------------------------------------------------------------


def test_registered_through_the_entry_point_like_any_plugin() -> None:
    [entry] = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "paper-exchange"]
    module = importlib.import_module(entry.value)
    assert module.cryptobot_components() == [PaperExchange]
    manifest_dir = Path(module.__file__ or "").parent
    assert manifest_dir / "manifest.json" == MANIFEST


def test_manifest_is_valid_compatible_and_honest() -> None:
    manifest = Manifest.from_path(MANIFEST)
    assert manifest.name == "paper-exchange"
    assert compatibility_problems(manifest, core_version=crypto_bot_core.__version__) == []
    for capability in manifest.capabilities:
        if capability in CAPABILITY_METHODS:
            method = CAPABILITY_METHODS[capability][1]
            assert getattr(PaperExchange, method) is not getattr(ExchangeAdapter, method), (
                f"{capability} declared but {method} not overridden"
            )
    assert "fill_stream" not in manifest.capabilities  # not offered: fills come per event
